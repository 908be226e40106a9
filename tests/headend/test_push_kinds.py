"""The push receiver beyond general-glo data-notifications: event-notifications, glo-/ded-/general-ded ciphering,
senders found by their link address, general-block-transfer, HDLC UI frames, values named by a push object list.

The pushes a meter would send are built by gurux-dlms (GXDLMSNotify, an implementation we did not write) where it
can build them, by our own encoders for the rest (round trips only). Keys and system title are the Green Book
example ones (/work/shared/reference/dlms-facts.md section 3, as reproduced in OpenMUC jDLMS and gosem tests).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import CosemAttributeDescriptor, LongInvokeIdAndPriority
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import Obis
from dlmskit.errors import ConfigurationError
from dlmskit.headend import Inventory, KeyStore, Meter, Store
from dlmskit.headend.engine import Engine, EngineLimits
from dlmskit.headend.plans import BUILTIN_PLANS
from dlmskit.headend.push import Arrival, BlockAssembler, HdlcPushReader, PushListener, PushReceiver
from dlmskit.headend.store import pushes, quarantine
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import LLC_RESPONSE, Control, FrameType, HdlcFrame, segment
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.security.ciphering import encrypt_apdu
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = bytes.fromhex("4D4D4D0000BC614E")
DEDICATED = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
STAMP = CosemDateTime.from_bytes(bytes.fromhex("07EA0101040C0000FF000000"))


@pytest.fixture
def receiver(database_url: str) -> Iterator[PushReceiver]:
    """A receiver over a fresh database: meter G1 (Green Book title and keys, template gx with a fixed push
    dedicated key and a push object list), meter W7 (no system title known to it: pushes from wPort 7), meters
    S1 and S2 sharing wPort 9, meter H5 (HDLC physical address 5 from its settings)."""
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    inventory.put_template(
        "gx",
        {
            "link": "wrapper",
            "push_dedicated_key": DEDICATED.hex(),
            "push_objects": [
                "1/0.0.96.1.0.255/2",
                {"class_id": 3, "logical_name": "1.0.1.8.0.255", "attribute_index": 2},
            ],
        },
    )
    inventory.put_meter(Meter("G1", template="gx", meter_system_title=TITLE.hex()))
    inventory.put_meter(Meter("W7", meter_system_title="4D4D4D0000000007", push_source_address=7))
    inventory.put_meter(Meter("S1", meter_system_title="4D4D4D0000000051", push_source_address=9))
    inventory.put_meter(Meter("S2", meter_system_title="4D4D4D0000000052", push_source_address=9))
    inventory.put_meter(
        Meter("H5", meter_system_title="4D4D4D0000000005", settings={"link": "hdlc", "server_physical": 5})
    )
    for name in ("G1", "W7", "S1", "S2", "H5"):
        keystore.put(name, "block_cipher_key", EK)
        keystore.put(name, "authentication_key", AK)
    yield PushReceiver(store, inventory, keystore)
    store.close()


def _stored(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(pushes).order_by(pushes.c.invocation_counter)).mappings().all()
    return [dict(row) for row in rows]


def _reasons(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return [
            str(r)
            for r in connection.execute(sa.select(quarantine.c.reason).order_by(quarantine.c.id)).scalars()
        ]


# -- pushes built by gurux-dlms ---------------------------------------------------------------------------------


def _gurux_notify(interface: str, counter: int, *, dedicated: bool = False, general: bool = False) -> Any:
    gurux = pytest.importorskip("gurux_dlms")
    from gurux_dlms.ConnectionState import ConnectionState  # type: ignore[import-untyped]
    from gurux_dlms.enums import Conformance, InterfaceType, Security  # type: ignore[import-untyped]
    from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]

    notify = gurux.GXDLMSNotify(True, 1, 1, getattr(InterfaceType, interface))
    notify.setCipher(GXCiphering(TITLE))
    cipher = notify.settings.cipher
    cipher.security = Security.AUTHENTICATION_ENCRYPTION
    cipher.blockCipherKey = EK
    cipher.authenticationKey = AK
    cipher.invocationCounter = counter
    if dedicated:
        cipher.dedicatedKey = DEDICATED
    if general:  # event-notifications: gurux ciphers them only with general ciphering
        notify.settings.negotiatedConformance |= Conformance.GENERAL_PROTECTION
        notify.settings.connected = ConnectionState.DLMS
    return notify


def _gurux_body(count: int) -> Any:
    from gurux_dlms import GXByteBuffer  # type: ignore[import-untyped]
    from gurux_dlms.enums import DataType
    from gurux_dlms.internal._GXCommon import _GXCommon  # type: ignore[import-untyped]

    body = GXByteBuffer()
    body.setUInt8(DataType.STRUCTURE)
    body.setUInt8(count)
    if count == 2:
        _GXCommon.setData(None, body, DataType.OCTET_STRING, b"hello")
        _GXCommon.setData(None, body, DataType.UINT32, 7)
    else:
        for index in range(count):
            _GXCommon.setData(None, body, DataType.OCTET_STRING, bytes([index]) * 20)
    return body


def _wrapped(messages: list[Any]) -> list[Arrival]:
    frames = [WrapperFrame.decode(bytes(message)) for message in messages]
    return [Arrival(f.apdu, "gurux", ("wrapper", f.source_wport)) for f in frames]


def test_pushes_built_by_gurux_are_stored_with_their_kind_and_names(receiver: PushReceiver) -> None:
    pytest.importorskip("gurux_dlms")
    from gurux_dlms.enums import Conformance
    from gurux_dlms.objects import GXDLMSData  # type: ignore[import-untyped]

    when = _dt.datetime(2026, 1, 1, 12, 0, 0)
    event_code = GXDLMSData("0.0.96.11.0.255")
    event_code.value = 16
    arrivals: list[Arrival] = []
    # general-glo-ciphered data-notification (gurux's "glo" data-notification is general-glo: there is no
    # glo-data-notification tag), then general-ded with the template's fixed dedicated key.
    arrivals += _wrapped(_gurux_notify("WRAPPER", 100).generateDataNotificationMessages(when, _gurux_body(2)))
    dedicated = _gurux_notify("WRAPPER", 101, dedicated=True)
    arrivals += _wrapped(dedicated.generateDataNotificationMessages(when, _gurux_body(2)))
    # event-notifications, general-glo and general-ded
    arrivals += _wrapped(_gurux_notify("WRAPPER", 102, general=True).generateReport(when, [(event_code, 2)]))
    ded_event = _gurux_notify("WRAPPER", 103, general=True, dedicated=True)
    arrivals += _wrapped(ded_event.generateReport(when, [(event_code, 2)]))
    # a data-notification too long for one PDU: gurux sends it in general-block-transfer blocks
    long = _gurux_notify("WRAPPER", 104)
    long.settings.negotiatedConformance |= Conformance.GENERAL_BLOCK_TRANSFER
    long.settings.maxPduSize = 128
    blocks = _wrapped(long.generateDataNotificationMessages(when, _gurux_body(20)))
    assert len(blocks) > 2 and all(b.apdu[0] == 0xE0 for b in blocks)
    arrivals += blocks
    # over HDLC: a UI frame (control 0x13) with the LLC header, from server address 1
    hdlc = _gurux_notify("HDLC", 105).generateDataNotificationMessages(when, _gurux_body(2))
    (frame,) = hdlc
    assert bytes(frame)[5] == 0x13
    arrivals += HdlcPushReader("gurux hdlc").feed(bytes(frame))
    # and a plain one: the sender cannot be told
    plain = _gurux_notify("WRAPPER", 0)
    plain.settings.cipher.security = 0
    arrivals += _wrapped(plain.generateDataNotificationMessages(when, _gurux_body(2)))

    results = receiver.receive_many(arrivals)
    assert [r.outcome for r in results] == ["stored"] * 4 + ["held"] * (len(blocks) - 1) + ["stored"] * 2 + [
        "quarantined"
    ]
    assert results[-1].reason.startswith("not ciphered (tag 0x0F)")
    rows = _stored(receiver.store)
    assert [(r["meter"], r["invocation_counter"], r["kind"]) for r in rows] == [
        ("G1", 100, "data-notification"),
        ("G1", 101, "data-notification"),
        ("G1", 102, "event-notification"),
        ("G1", 103, "event-notification"),
        ("G1", 104, "data-notification"),
        ("G1", 105, "data-notification"),
    ]
    named = {r["invocation_counter"]: json.loads(r["named"]) if r["named"] else None for r in rows}
    assert named[100] == named[101] == named[105] == {"0.0.96.1.0.255/2": "68656C6C6F", "1.0.1.8.0.255/2": 7}
    assert named[102] == named[103] == {"0.0.96.11.0.255/2": 16}
    assert named[104] is None  # 20 values: the template's list of 2 does not describe it
    assert json.loads(rows[4]["body"]) == [bytes([i] * 20).hex().upper() for i in range(20)]
    assert rows[2]["date_time"] == "2026-01-01T12:00:00Z"


# -- ciphering, senders by address ------------------------------------------------------------------------------


def _event(counter: int) -> bytes:
    descriptor = CosemAttributeDescriptor(1, Obis.parse("0.0.96.11.0.255"), 2)
    return EventNotificationRequest(descriptor, axdr.LongUnsigned(counter), STAMP).encode()


def _data(counter: int) -> bytes:
    body = axdr.Structure([axdr.OctetString(b"push"), axdr.DoubleLongUnsigned(counter)])
    return DataNotification(LongInvokeIdAndPriority(counter), STAMP, body).encode()


def _cipher(plain: bytes, kind: Any, title: bytes, counter: int, key: bytes = EK) -> bytes:
    return encrypt_apdu(plain, kind=kind, sc=0x30, system_title=title, ic=counter, keys=GcmCipher(key, AK))


def test_senders_without_a_system_title_are_found_by_their_link_address(receiver: PushReceiver) -> None:
    w7 = bytes.fromhex("4D4D4D0000000007")
    h5 = bytes.fromhex("4D4D4D0000000005")
    arrivals = [
        # glo-event-notification-request (CA) from wPort 7: meter W7
        Arrival(_cipher(_event(1), "glo", w7, 1), "udp a", ("wrapper", 7)),
        # general-glo with an empty system title from wPort 7
        Arrival(_general_empty(_data(2), w7, 2), "udp a", ("wrapper", 7)),
        # glo-event from HDLC physical address 5 (the meter's server_physical): meter H5
        Arrival(_cipher(_event(1), "glo", h5, 1), "hdlc a", ("hdlc", 5)),
        # an address nobody has, one shared by two meters, none at all
        Arrival(_cipher(_event(3), "glo", w7, 3), "udp b", ("wrapper", 8)),
        Arrival(_cipher(_event(3), "glo", w7, 3), "udp c", ("wrapper", 9)),
        Arrival(_cipher(_event(3), "glo", w7, 3), "inbound"),
        # a ded-event-notification (D2) from W7, which has no dedicated key
        Arrival(_cipher(_event(4), "ded", w7, 4, DEDICATED), "udp a", ("wrapper", 7)),
        # general-ded from G1 with a key that is not the template's
        Arrival(_cipher(_data(5), "general-ded", TITLE, 5, bytes(16)), "udp g", ("wrapper", 1)),
        # a glo-get-request is no push
        Arrival(_cipher(bytes.fromhex("C0010000080000010000FF0200"), "glo", w7, 6), "udp a", ("wrapper", 7)),
    ]
    results = receiver.receive_many(arrivals)
    assert [(r.outcome, r.meter) for r in results[:3]] == [
        ("stored", "W7"),
        ("stored", "W7"),
        ("stored", "H5"),
    ]
    reasons = [r.reason for r in results[3:]]
    assert reasons == [
        "no system title (a glo-/ded- APDU), and the wrapper source address 8 is no meter's push_source_address",
        "no system title (a glo-/ded- APDU), and the wrapper source address 9 is shared by meters S1, S2",
        "no system title (a glo-/ded- APDU) and no source address to find the sender by",
        "dedicated-key ciphered push, no dedicated key known",
        "the tag does not verify with the meter's keys",
        "not a push: a ciphered APDU with tag 0xC8 (not a notification)",
    ]
    assert _reasons(receiver.store) == reasons
    kinds = [
        (r["meter"], r["kind"], json.loads(r["named"]) if r["named"] else None)
        for r in _stored(receiver.store)
    ]
    assert ("W7", "event-notification", {"0.0.96.11.0.255/2": 1}) in kinds
    assert ("W7", "data-notification", None) in kinds


def _general_empty(plain: bytes, title: bytes, counter: int) -> bytes:
    """general-glo-ciphering with an empty system title (the receiver takes the sender's from the inventory)."""
    body = GcmCipher(EK, AK).encrypt(0x30, title, counter, plain)
    return bytes((0xDB, 0, len(body))) + body


# -- general-block-transfer -------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _blocks(apdu: bytes, size: int) -> list[bytes]:
    pieces = [apdu[i : i + size] for i in range(0, len(apdu), size)]
    return [
        GeneralBlockTransfer(n == len(pieces), False, 1, n, 0, p).encode()
        for n, p in enumerate(pieces, start=1)
    ]


def test_block_transfer_is_joined_per_sender_and_bounded() -> None:
    clock = _Clock()
    blocks = BlockAssembler(max_bytes=100, max_seconds=10.0, max_senders=2, clock=clock)
    apdu = bytes(range(50))
    a, b = _blocks(apdu, 20), _blocks(bytes(reversed(apdu)), 20)
    # two senders interleaved: each joined on its own
    assert blocks.feed("A", Arrival(a[0], "A")) == (None, [])
    assert blocks.feed("B", Arrival(b[0], "B")) == (None, [])
    assert blocks.feed("A", Arrival(a[1], "A")) == (None, [])
    assert blocks.feed("B", Arrival(b[1], "B")) == (None, [])
    whole, refused = blocks.feed("A", Arrival(a[2], "A"))
    assert whole == Arrival(apdu, "A") and refused == []
    whole, refused = blocks.feed("B", Arrival(b[2], "B"))
    assert whole is not None and whole.apdu == bytes(reversed(apdu))
    # out of order: block 3 after block 1; a block without its first
    blocks.feed("A", Arrival(a[0], "A"))
    whole, refused = blocks.feed("A", Arrival(a[2], "A"))
    assert whole is None and [r.refused for r in refused] == [
        "general-block-transfer out of order: block 3 where block 2 was due (1 block(s), 20 bytes dropped)",
        "general-block-transfer out of order: block 3 without block 1",
    ]
    # too long
    long = _blocks(bytes(150), 40)
    for block in long[:2]:
        assert blocks.feed("L", Arrival(block, "L")) == (None, [])
    whole, refused = blocks.feed("L", Arrival(long[2], "L"))
    assert whole is None and refused[0].refused is not None and "longer than 100 bytes" in refused[0].refused
    # a sender that never finishes is given up after max_seconds; the others go on meanwhile
    blocks.feed("slow", Arrival(a[0], "slow"))
    clock.now = 5.0
    blocks.feed("B", Arrival(b[0], "B"))
    clock.now = 11.0
    whole, refused = blocks.feed("B", Arrival(b[1], "B"))
    assert [r.source for r in refused] == ["slow"] and "did not come within 10 s" in str(refused[0].refused)
    assert blocks.feed("B", Arrival(b[2], "B"))[0] is not None
    # a malformed block
    _, refused = blocks.feed("X", Arrival(b"\xe0\x81", "X"))
    assert refused[0].refused is not None and refused[0].refused.startswith(
        "malformed general-block-transfer"
    )
    assert blocks.pending == 0
    # what open sequences hold in all is bounded: the oldest gives way
    small = BlockAssembler(max_held=30, clock=clock)
    assert small.feed("A", Arrival(a[0], "A")) == (None, [])
    whole, refused = small.feed("B", Arrival(b[0], "B"))
    assert (
        whole is None and [r.source for r in refused] == ["A"] and "30 bytes held" in str(refused[0].refused)
    )
    assert small.pending == 1


def test_a_block_transfer_push_through_the_receiver(receiver: PushReceiver) -> None:
    apdu = _cipher(_data(7), "general-glo", TITLE, 7)
    parts = [Arrival(block, "tcp x", ("wrapper", 1)) for block in _blocks(apdu, 16)]
    results = receiver.receive_many(parts[:-1])
    assert {r.outcome for r in results} == {"held"} and receiver.blocks.pending == 1
    (result,) = receiver.receive_many(parts[-1:])
    assert result.outcome == "stored" and result.meter == "G1"
    # an incomplete one is quarantined when the listener stops
    receiver.receive_many(parts[:2])
    (flushed,) = receiver.flush()
    assert flushed.outcome == "quarantined" and "the listener stopped" in flushed.reason
    assert _reasons(receiver.store) == [flushed.reason]


# -- HDLC UI frames -------------------------------------------------------------------------------------------


def _ui(information: bytes, physical: int, *, segmented: bool = False) -> bytes:
    control = Control(FrameType.UI, poll_final=True)
    return HdlcFrame(HdlcAddress(1), HdlcAddress(1, physical, 4), control, information, segmented).encode()


def test_hdlc_ui_frames_are_checked_and_segments_joined(receiver: PushReceiver) -> None:
    apdu = _cipher(_event(11), "glo", bytes.fromhex("4D4D4D0000000005"), 11)
    long = _cipher(_data(12), "general-glo", TITLE, 12)
    parts = segment(LLC_RESPONSE + long, 20)
    stream = _ui(LLC_RESPONSE + apdu, 5)
    stream += b"".join(_ui(p, 77, segmented=n < len(parts) - 1) for n, p in enumerate(parts))
    damaged = bytearray(_ui(LLC_RESPONSE + apdu, 5))
    damaged[-3] ^= 0x01  # one bit of the FCS
    stream += bytes(damaged)
    stream += HdlcFrame(
        HdlcAddress(1), HdlcAddress(1, 5, 4), Control(FrameType.I), LLC_RESPONSE + apdu
    ).encode()
    reader = HdlcPushReader("hdlc tcp 127.0.0.1:1")
    arrivals = [arrival for byte in range(len(stream)) for arrival in reader.feed(stream[byte : byte + 1])]
    assert [(a.address, a.refused is None) for a in arrivals] == [
        (("hdlc", 5), True),
        (("hdlc", 77), True),
        (None, False),
        (("hdlc", 5), False),
    ]
    assert arrivals[1].apdu == long and arrivals[0].apdu == apdu
    assert str(arrivals[2].refused).startswith("HDLC frame check failed")
    assert str(arrivals[3].refused) == "not a UI frame (I): a push comes in UI frames"
    results = receiver.receive_many(arrivals)
    assert [(r.outcome, r.meter) for r in results[:2]] == [("stored", "H5"), ("stored", "G1")]
    assert [r.outcome for r in results[2:]] == ["quarantined"] * 2


# -- a real fleet process pushing the other kinds ---------------------------------------------------------------


async def test_a_fleet_pushing_hdlc_ui_frames_in_block_transfer_named_by_its_push_setup(
    tmp_path: Path, database_url: str
) -> None:
    """``dlmskit simulate --fleet`` pushes data- and event-notifications in general-block-transfer blocks inside
    HDLC UI frames over TCP; the head-end reads each meter's push setup (plan ``push_setup``) and names the values
    of the pushes that follow by it."""
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    listener = PushListener(PushReceiver(store, inventory, keystore))
    server = await listener.start_hdlc_tcp("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    file = tmp_path / "fleet.toml"
    fleet = subprocess.Popen(
        [
            *(sys.executable, "-m", "dlmskit", "simulate", "--fleet", "5", "--port", "0", "--faulty", "0.2"),
            *("--inventory", str(file), "--push", f"127.0.0.1:{port}", "--push-every", "0.3"),
            *("--push-link", "hdlc", "--push-kind", "both", "--push-gbt", "40"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not file.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        inventory.import_file(file)
        text = file.read_text(encoding="utf-8")
        names = re.findall(r'^name = "([^"]+)"', text, re.M)
        behaviour = dict(zip(names, re.findall(r"^# behaviour: (\w+)", text, re.M), strict=True))
        devices = dict(zip(names, re.findall(r'^logical_device_name = "([^"]+)"', text, re.M), strict=True))
        good = {name for name, kind in behaviour.items() if kind == "ok"}
        outcomes = await Engine(inventory, EngineLimits(retries=0, job_timeout=60)).run(
            BUILTIN_PLANS["push_setup"], inventory.meters()
        )
        assert {o.meter for o in outcomes if o.outcome == "ok"} == good
        listener.receiver.refresh()
        named: dict[str, dict[str, Any]] = {}
        events: set[str] = set()
        while time.monotonic() < deadline:
            await listener.drain()
            with store.engine.connect() as connection:
                for row in connection.execute(sa.select(pushes)).mappings():
                    if row["kind"] == "event-notification":
                        events.add(row["meter"])
                    elif row["named"]:
                        named[row["meter"]] = json.loads(row["named"])
            if set(named) >= good and events >= good:
                break
            await asyncio.sleep(0.2)
    finally:
        fleet.terminate()
        fleet.wait()
        await listener.close()
    assert set(named) == good and events == good
    for meter in good:
        assert set(named[meter]) == {"0.0.25.9.0.255/1", "0.0.42.0.0.255/2", "1.0.1.8.0.255/2"}
        assert bytes.fromhex(named[meter]["0.0.42.0.0.255/2"]).decode() == devices[meter]
        assert named[meter]["0.0.25.9.0.255/1"] == "0000190900FF"
    assert listener.stats.held > 0  # the pushes came in blocks
    assert listener.stats.reasons.get("the tag does not verify with the meter's keys", 0) >= 1
    store.close()


def test_a_database_before_the_push_kinds_gets_the_push_columns(database_url: str) -> None:
    """Revision 0006 on a database made before it: ``pushes`` without ``kind`` and ``named`` gains them, rows
    kept; ``push_objects`` is created (and a downgrade takes them away again)."""
    store = Store(database_url, migrate=False)
    store.migrate(to="0005")
    assert not {"kind", "named"} & {c["name"] for c in sa.inspect(store.engine).get_columns("pushes")}
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO pushes (meter, invocation_counter, received_at, date_time, body) "
            "VALUES ('M1', 5, '2026-01-01T00:00:00Z', NULL, '[]')"
        )
    store.migrate()
    assert store.version() >= 6
    with store.engine.connect() as connection:
        (row,) = connection.execute(sa.select(pushes)).mappings().all()
        assert row["meter"] == "M1" and row["kind"] is None and row["named"] is None
        assert sa.inspect(connection).has_table("push_objects")
    store.migrate(to="0005")
    assert not sa.inspect(store.engine).has_table("push_objects")
    store.close()


def test_inventory_files_carry_push_objects_and_source_addresses_never_the_key(
    tmp_path: Path, database_url: str
) -> None:
    store = Store(database_url)
    keystore = KeyStore(store, SecretBytes(bytes(range(32))))
    inventory = Inventory(store, keystore)
    file = tmp_path / "pushers.toml"
    file.write_text(
        "[template.pusher]\n"
        'link = "wrapper"\n'
        f'push_dedicated_key = "{DEDICATED.hex().upper()}"\n'
        'push_objects = ["40/0.0.25.9.0.255/1", { class_id = 3, logical_name = "1.0.1.8.0.255", '
        "attribute_index = 2 }]\n\n"
        "[[meter]]\n"
        'name = "P1"\ntemplate = "pusher"\npush_source_address = "0x11"\n',
        encoding="utf-8",
    )
    inventory.import_file(file)
    assert inventory.meter("P1").push_source_address == 17
    dedicated = keystore.get("template:pusher", "push_dedicated_key")
    assert dedicated is not None and dedicated.reveal() == DEDICATED
    assert "push_dedicated_key" not in inventory.settings_of(inventory.meter("P1"))
    exported = inventory.export_toml()
    assert 'push_objects = ["40/0.0.25.9.0.255/1/0", "3/1.0.1.8.0.255/2/0"]' in exported
    assert "push_source_address = 17" in exported
    assert DEDICATED.hex().upper() not in exported.upper()
    assert "push_source_address" in inventory.export_csv().splitlines()[0]
    again = tmp_path / "again.toml"
    again.write_text(exported, encoding="utf-8")
    inventory.import_file(again)  # an export imports again
    with pytest.raises(ConfigurationError, match="push_objects entry 1"):
        inventory.put_template("bad", {"push_objects": ["1/not-a-name/2"]})
    store.close()


async def test_hdlc_pushes_on_a_serial_port(receiver: PushReceiver) -> None:
    """A real pseudo-terminal as the serial line: UI frames written by the meter's end, one of them damaged."""
    meter_end, listener_end = os.openpty()
    listener = PushListener(receiver)
    try:
        await listener.start_serial(os.ttyname(listener_end), 9600)
        good = _ui(LLC_RESPONSE + _cipher(_event(21), "glo", bytes.fromhex("4D4D4D0000000005"), 21), 5)
        damaged = bytearray(
            _ui(LLC_RESPONSE + _cipher(_event(22), "glo", bytes.fromhex("4D4D4D0000000005"), 22), 5)
        )
        damaged[10] ^= 0x04
        os.write(meter_end, good + bytes(damaged))
        for _ in range(400):
            if listener.stats.received >= 2:
                break
            await asyncio.sleep(0.05)
        await listener.drain()
    finally:
        await listener.close()
        os.close(meter_end)
        os.close(listener_end)
    assert (listener.stats.stored, listener.stats.quarantined) == (1, 1)
    assert [(r["meter"], r["invocation_counter"]) for r in _stored(receiver.store)] == [("H5", 21)]
    assert _reasons(receiver.store)[0].startswith("HDLC frame check failed")
