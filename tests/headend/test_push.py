"""The push listener over real sockets: a storm of 5,000 notifications, some malformed, some replayed, some from
unknown meters or with other keys: the good ones stored once, the rest quarantined with the reason. Then the
other kinds: event-notifications, general-ded, glo- pushes found by their wPort, general-block-transfer (some out
of order) over wrapper/TCP, and HDLC UI frames (some segmented, some damaged) over TCP."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import CosemAttributeDescriptor, LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.headend import Inventory, KeyStore, Meter, Store
from dlmskit.headend.push import PushListener, PushReceiver
from dlmskit.headend.store import push_counters, pushes, quarantine
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import LLC_RESPONSE, Control, FrameType, HdlcFrame, segment
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

METERS = 20


def _title(index: int) -> bytes:
    return b"MMM" + (1000 + index).to_bytes(5, "big")


def _key(index: int, what: int) -> bytes:
    return bytes((index, what)) * 8


def _push(index: int, counter: int, *, keys: GcmCipher | None = None, title: bytes | None = None) -> bytes:
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))
    body = axdr.Structure([axdr.DoubleLongUnsigned(counter * 10), axdr.OctetString(b"push")])
    plain = DataNotification(LongInvokeIdAndPriority(counter & 0xFFFFFF), stamp, body).encode()
    cipher = keys or GcmCipher(_key(index, 1), _key(index, 2))
    apdu = encrypt_apdu(
        plain, kind="general-glo", sc=0x30, system_title=title or _title(index), ic=counter, keys=cipher
    )
    return WrapperFrame(1, 1, apdu).encode()


def _apdu(index: int, counter: int, kind: str, *, event: bool = False, key: bytes | None = None) -> bytes:
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))
    if event:
        descriptor = CosemAttributeDescriptor(1, Obis.parse("0.0.96.11.0.255"), 2)
        plain = EventNotificationRequest(descriptor, axdr.LongUnsigned(counter), stamp).encode()
    else:
        body = axdr.Structure([axdr.DoubleLongUnsigned(counter * 10), axdr.OctetString(b"push")])
        plain = DataNotification(LongInvokeIdAndPriority(counter & 0xFFFFFF), stamp, body).encode()
    cipher = GcmCipher(key or _key(index, 1), _key(index, 2))
    return encrypt_apdu(plain, kind=kind, sc=0x30, system_title=_title(index), ic=counter, keys=cipher)  # type: ignore[arg-type]


def _blocks(apdu: bytes, size: int = 24) -> list[bytes]:
    pieces = [apdu[i : i + size] for i in range(0, len(apdu), size)]
    return [
        GeneralBlockTransfer(n == len(pieces), False, 1, n, 0, p).encode()
        for n, p in enumerate(pieces, start=1)
    ]


def _other_kinds() -> tuple[list[bytes], bytes, dict[str, int]]:
    """(wrapper frames, an HDLC byte stream, what to expect): counters 201..260 of every meter."""
    wrapper: list[bytes] = []
    expected = {"stored": 0, "events": 0, "ded": 0, "no-ded": 0, "by-address": 0, "gbt": 0, "order": 0}
    for counter in range(201, 231):
        for index in range(METERS):
            turn = counter % 4
            if turn == 0:  # event-notification, general-glo
                wrapper.append(WrapperFrame(1, 1, _apdu(index, counter, "general-glo", event=True)).encode())
                expected["events"] += 1
            elif turn == 1:  # data-notification in general-block-transfer blocks
                wrapper += [
                    WrapperFrame(1, 1, b).encode() for b in _blocks(_apdu(index, counter, "general-glo"))
                ]
                expected["gbt"] += 1
            elif turn == 2:  # general-ded: meters 0..4 have a push dedicated key, the others none
                apdu = _apdu(index, counter, "general-ded", key=_key(index, 3))
                wrapper.append(WrapperFrame(1, 1, apdu).encode())
                expected["ded" if index < 5 else "no-ded"] += 1
            else:  # glo-event-notification-request (no system title) from the meter's wPort
                apdu = _apdu(index, counter, "glo", event=True)
                wrapper.append(WrapperFrame(100 + index, 1, apdu).encode())
                expected["by-address"] += 1
        if counter % 5 == 0:  # a block 2 without its block 1
            wrapper.append(WrapperFrame(1, 1, _blocks(_apdu(0, 1, "general-glo"))[1]).encode())
            expected["order"] += 1
    hdlc = bytearray()
    hdlc_expected = {"hdlc": 0, "fcs": 0, "not-ui": 0}
    for counter in range(231, 261):
        for index in range(METERS):
            information = LLC_RESPONSE + _apdu(index, counter, "general-glo")
            parts = segment(information, 40) if index % 3 == 0 else [information]
            source = HdlcAddress(1, 0x10 + index, 4)
            for n, part in enumerate(parts):
                control = Control(FrameType.UI, poll_final=True)
                hdlc += HdlcFrame(HdlcAddress(1), source, control, part, n < len(parts) - 1).encode()
            hdlc_expected["hdlc"] += 1
        damaged = bytearray(
            HdlcFrame(HdlcAddress(1), HdlcAddress(1, 99, 4), Control(FrameType.UI), b"\x0f" * 9).encode()
        )
        damaged[-2] ^= 0x40  # the FCS
        hdlc += damaged
        hdlc += HdlcFrame(HdlcAddress(1), HdlcAddress(1, 99, 4), Control(FrameType.I), b"\x0f" * 9).encode()
        hdlc_expected.update(fcs=hdlc_expected["fcs"] + 1, **{"not-ui": hdlc_expected["not-ui"] + 1})
    expected.update(hdlc_expected)
    expected["stored"] = (
        expected["events"] + expected["gbt"] + expected["ded"] + expected["by-address"] + expected["hdlc"]
    )
    return wrapper, bytes(hdlc), expected


def _storm() -> tuple[list[bytes], dict[str, int]]:
    frames: list[bytes] = []
    expected = {"stored": 0, "replayed": 0, "unknown": 0, "tag": 0, "malformed": 0, "plain": 0}
    for counter in range(1, 201):
        for index in range(METERS):
            frame = _push(index, counter)
            frames.append(frame)
            expected["stored"] += 1
            if counter % 5 == 0:  # the same push again
                frames.append(frame)
                expected["replayed"] += 1
        if counter % 2 == 0:
            frames.append(_push(99, counter))  # a meter nobody knows
            frames.append(_push(0, 10_000 + counter, keys=GcmCipher(bytes(16), bytes(16))))  # other keys
            frames.append(WrapperFrame(1, 1, bytes.fromhex("DB08") + _title(1) + b"\x05\x30\x00").encode())
            frames.append(WrapperFrame(1, 1, bytes.fromhex("0F0000000100") + b"\x00").encode())
            expected.update(
                unknown=expected["unknown"] + 1,
                tag=expected["tag"] + 1,
                malformed=expected["malformed"] + 1,
                plain=expected["plain"] + 1,
            )
    return frames, expected


async def test_a_push_storm_stores_the_good_ones_once_and_quarantines_the_rest(database_url: str) -> None:
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    for index in range(METERS):
        title = _title(index).hex().upper()
        inventory.put_meter(Meter(f"M{index}", meter_system_title=title, push_source_address=100 + index))
        keystore.put(f"M{index}", "block_cipher_key", _key(index, 1))
        keystore.put(f"M{index}", "authentication_key", _key(index, 2))
        if index < 5:
            keystore.put(f"M{index}", "push_dedicated_key", _key(index, 3))
    frames, expected = _storm()
    wrapper, hdlc, other = _other_kinds()
    assert len(frames) + len(wrapper) >= 5000 + 1000
    listener = PushListener(PushReceiver(store, inventory, keystore), batch=300)
    tcp = await listener.start_tcp("127.0.0.1", 0)
    udp = await listener.start_udp("127.0.0.1", 0)
    hdlc_server = await listener.start_hdlc_tcp("127.0.0.1", 0)
    tcp_port = tcp.sockets[0].getsockname()[1]
    udp_port = udp.get_extra_info("sockname")[1]
    hdlc_port = hdlc_server.sockets[0].getsockname()[1]
    try:
        half = len(frames) // 2
        _reader, writer = await asyncio.open_connection("127.0.0.1", tcp_port)
        writer.write(b"".join(frames[:half]))
        await writer.drain()
        for _ in range(600):  # each meter's counters must arrive in order: the TCP half first
            if listener.stats.received >= half:
                break
            await asyncio.sleep(0.05)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for number, frame in enumerate(frames[half:]):
            sender.sendto(frame, ("127.0.0.1", udp_port))
            if number % 20 == 0:
                await asyncio.sleep(0.002)  # loopback UDP drops what the socket buffer cannot hold
        # A stream that breaks (a wrong wrapper version) ends its own connection only.
        _r2, broken = await asyncio.open_connection("127.0.0.1", tcp_port)
        broken.write(b"\x00\x07garbage-that-is-not-a-wrapper-frame")
        await broken.drain()
        for _ in range(600):
            if listener.stats.received >= len(frames) + 1:
                break
            await asyncio.sleep(0.05)
        await listener.drain()
        writer.close()
        broken.close()
        sender.close()
        first = (listener.stats.received, listener.stats.stored, listener.stats.quarantined)
        # The other kinds: wrapper/TCP first (each meter's counters in order), then HDLC UI frames.
        _r3, more = await asyncio.open_connection("127.0.0.1", tcp_port)
        more.write(b"".join(wrapper))
        await more.drain()
        for _ in range(600):
            if listener.stats.received >= first[0] + len(wrapper):
                break
            await asyncio.sleep(0.05)
        await listener.drain()
        _r4, line = await asyncio.open_connection("127.0.0.1", hdlc_port)
        for start in range(0, len(hdlc), 1000):  # in pieces that cut frames anywhere
            line.write(hdlc[start : start + 1000])
        await line.drain()
        arrivals = other["hdlc"] + other["fcs"] + other["not-ui"]
        for _ in range(600):
            if listener.stats.received >= first[0] + len(wrapper) + arrivals:
                break
            await asyncio.sleep(0.05)
        await listener.drain()
        more.close()
        line.close()
    finally:
        await listener.close()
    assert first[0] == len(frames) + 1
    assert first[1] == expected["stored"]
    assert first[2] == len(frames) + 1 - expected["stored"]
    assert store.count(pushes) == listener.stats.stored == expected["stored"] + other["stored"]
    assert store.count(quarantine) == listener.stats.quarantined
    reasons = listener.stats.reasons
    assert (
        listener.stats.quarantined - first[2]
        == other["no-ded"] + other["order"] + other["fcs"] + other["not-ui"]
    )
    assert reasons["dedicated-key ciphered push, no dedicated key known"] == other["no-ded"]
    assert reasons["general-block-transfer out of order"] == other["order"]
    assert reasons["HDLC frame check failed"] == other["fcs"]
    assert reasons["not a UI frame (I)"] == other["not-ui"]
    with store.engine.connect() as connection:
        kinds: dict[str, int] = dict(
            connection.execute(sa.select(pushes.c.kind, sa.func.count()).group_by(pushes.c.kind)).all()
        )
    assert kinds == {
        "data-notification": expected["stored"] + other["gbt"] + other["ded"] + other["hdlc"],
        "event-notification": other["events"] + other["by-address"],
    }
    assert reasons["replayed"] == expected["replayed"]
    assert reasons["unknown sender system title " + _title(99).hex().upper()] == expected["unknown"]
    assert reasons["the tag does not verify with the meter's keys"] == expected["tag"]
    assert reasons["malformed ciphered APDU"] == expected["malformed"]
    assert reasons["not ciphered (tag 0x0F)"] == expected["plain"]
    with store.engine.connect() as connection:
        last = {(r.meter, r.key_kind): r.last for r in connection.execute(push_counters.select())}
    assert last == {
        **{(f"M{index}", "global-unicast"): 260 for index in range(METERS)},
        **{(f"M{index}", "dedicated"): 230 for index in range(5)},  # one counter per key
    }
    # After a restart the counters come from the database: an old push is still a replay.
    again = PushReceiver(store, inventory, keystore)
    (result,) = again.receive_many([(WrapperFrame.decode(_push(3, 250)).apdu, "udp replay")])
    assert result.outcome == "quarantined" and result.reason.startswith("replayed")
    (result,) = again.receive_many([(WrapperFrame.decode(_push(3, 261)).apdu, "udp new")])
    assert result.outcome == "stored"
    store.close()


async def test_a_pushing_fleet_process_is_stored_and_its_faulty_meters_quarantined(
    tmp_path: Path, database_url: str
) -> None:
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    listener = PushListener(PushReceiver(store, inventory, keystore))
    udp = await listener.start_udp("127.0.0.1", 0)
    port = udp.get_extra_info("sockname")[1]
    file = tmp_path / "fleet.toml"
    fleet = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlmskit",
            "simulate",
            "--fleet",
            "10",
            "--port",
            "0",
            "--faulty",
            "0.2",
            "--inventory",
            str(file),
            "--push",
            f"127.0.0.1:{port}",
            "--push-every",
            "0.3",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        inventory.import_file(file)  # pushes that came before the import are quarantined as unknown senders
        listener.receiver.refresh()
        behaviour = dict(
            zip(
                re.findall(r'^name = "([^"]+)"', file.read_text(encoding="utf-8"), re.M),
                re.findall(r"^# behaviour: (\w+)", file.read_text(encoding="utf-8"), re.M),
                strict=True,
            )
        )
        good = {name for name, kind in behaviour.items() if kind == "ok"}
        while time.monotonic() < deadline:
            await listener.drain()
            with store.engine.connect() as connection:
                pushed = {r.meter for r in connection.execute(pushes.select())}
            if pushed >= good:
                break
            await asyncio.sleep(0.2)
    finally:
        fleet.terminate()
        fleet.wait()
        await listener.close()
    assert pushed == good  # the faulty meters' pushes do not verify: quarantined
    assert listener.stats.reasons.get("the tag does not verify with the meter's keys", 0) >= 1
    store.close()
