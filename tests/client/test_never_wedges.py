"""A session never wedges: after any error while an answer is handled, the next request works.

The meter is the real simulator; between it and the client sits a wrapper-level proxy on loopback TCP that
spoils one answer on demand: an APDU that does not decode, an answer of another service, a block out of
order, a GCM tag that does not verify, or an answer held back past the client's timeout (and delivered late,
in front of the next answer, where the client must discard it). Every kind of error is tried on every
service (GET normal, GET in blocks, GET with-list, SET, ACTION, release); afterwards the same association
reads the clock, or, after a failed release, the client reconnects when asked to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.clients import unopened_client

from dlmskit.client import DlmsClient
from dlmskit.errors import DlmsError
from dlmskit.simulator import SimulatedMeter, SimulatorThread

EK = "000102030405060708090A0B0C0D0E0F"  # the default model's demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
PINNED = dt.datetime(2024, 3, 1, 12, 7, 30, tzinfo=dt.timezone.utc)


def _read_pdu(sock: socket.socket) -> bytes:
    data = b""
    need = 8
    while len(data) < need:
        part = sock.recv(need - len(data))
        if not part:
            raise EOFError
        data += part
        if len(data) == 8 and need == 8:
            need = 8 + int.from_bytes(data[6:8], "big")
    return data


def _spoil(kind: str, pdu: bytes) -> bytes:
    header, apdu = pdu[:8], pdu[8:]
    if kind == "decode":
        apdu = apdu[:3] + b"\xff"  # a tag and choice, then nothing that decodes
    elif kind == "unexpected":
        if apdu[0] == 0xC5:  # a Get-Response-Normal to a SET, else a Set-Response-Normal
            apdu = bytes((0xC4, 0x01, apdu[2], 0x00, 0x12, 0x00, 0x00))
        else:
            apdu = bytes((0xC5, 0x01, apdu[2], 0x00))
    elif kind == "tag":
        apdu = apdu[:-1] + bytes((apdu[-1] ^ 0x01,))  # the last byte of the GCM tag
    elif kind == "block":
        apdu = apdu[:4] + (9).to_bytes(4, "big") + apdu[8:]  # Get-Response-With-Datablock: block-number 9
    return header[:6] + len(apdu).to_bytes(2, "big") + apdu


class SpoilingProxy:
    """Forwards wrapper PDUs between client and meter; ``arm(kind, skip)`` spoils the meter's answer after
    ``skip`` untouched ones (``hold`` keeps it back and sends it in front of the next answer)."""

    def __init__(self, meter_port: int) -> None:
        self.meter_port = meter_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._armed: tuple[str, int] | None = None
        self._held = b""
        self.spoiled = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, kind: str, skip: int = 0) -> None:
        self._armed = (kind, skip)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            meter = socket.create_connection(("127.0.0.1", self.meter_port))
            self._held = b""  # a new connection: what was held belongs to the old one
            threading.Thread(target=self._pipe, args=(client, meter, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(meter, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while True:
                pdu = _read_pdu(source)
                if answers and self._armed is not None:
                    kind, skip = self._armed
                    if skip:
                        self._armed = (kind, skip - 1)
                    else:
                        self._armed = None
                        self.spoiled += 1
                        if kind == "hold":
                            self._held = pdu
                            continue
                        if kind == "close":
                            raise EOFError  # the meter hangs up instead of answering
                        pdu = _spoil(kind, pdu)
                if answers and self._held:
                    pdu, self._held = self._held + pdu, b""
                sink.sendall(pdu)
        except (EOFError, OSError):
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(scope="module")
def meter_port() -> Iterator[int]:
    running = SimulatorThread(SimulatedMeter(now=lambda: PINNED), link="wrapper", port=0)
    yield running.port
    running.stop()


@pytest.fixture(scope="module")
def counters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One counter file for the module: the simulator remembers the client's last invocation counter."""
    return tmp_path_factory.mktemp("never-wedges") / "counters.json"


@pytest.fixture
def proxy(meter_port: int) -> Iterator[SpoilingProxy]:
    spoiling = SpoilingProxy(meter_port)
    yield spoiling
    spoiling.close()


# Each service: what to call, and how many good answers come before the one to spoil.
SERVICES: dict[str, tuple[Callable[[DlmsClient], Any], int]] = {
    "get-normal": (lambda meter: meter.clock(), 0),
    "get-blocks": (lambda meter: meter.objects(), 1),
    "get-with-list": (lambda meter: meter.read_many([("0.0.1.0.0.255", 2), ("0.0.1.0.0.255", 3)]), 0),
    "set": (lambda meter: meter.set_clock(PINNED), 0),
    "action": (lambda meter: meter.call("0.0.96.3.10.255", "remote_reconnect", class_id=70), 0),
    "release": (lambda meter: meter.close(), 0),
}
KINDS = ("decode", "unexpected", "block", "tag", "hold")


def _cases() -> Iterator[Any]:
    for service in SERVICES:
        for kind in KINDS:
            if kind == "block" and service != "get-blocks":
                continue
            yield pytest.param(service, kind, id=f"{service}-{kind}")


@pytest.mark.filterwarnings("ignore::dlmskit.deviations.DeviationWarning")
@pytest.mark.parametrize(("service", "kind"), list(_cases()))
def test_an_error_never_wedges_the_session(
    proxy: SpoilingProxy, counters: Path, service: str, kind: str
) -> None:
    client = unopened_client(
        host="127.0.0.1",
        port=proxy.port,
        link="wrapper",
        client_address=1,
        authentication="gmac",
        block_cipher_key=EK,
        authentication_key=AK,
        invocation_counter_path=counters,
        max_pdu_size=256 if service == "get-blocks" else 0xFFFF,
        timeout=0.5 if kind == "hold" else 5.0,
    )
    operation, skip = SERVICES[service]
    if kind in ("decode", "unexpected", "block"):
        # Plain answers to spoil: an association without ciphering (the public client, whose SET and
        # ACTION the meter refuses: the refusal is the answer spoiled here).
        client = unopened_client(
            host="127.0.0.1",
            port=proxy.port,
            link="wrapper",
            max_pdu_size=256 if service == "get-blocks" else 0xFFFF,
        )
    with client as meter:
        proxy.arm(kind, skip)
        if service == "release":
            meter.close()  # never raises; the association is over whatever the meter sent
            assert meter.negotiated is None
            meter.open()  # reconnect when asked to
        else:
            with pytest.raises(DlmsError):
                operation(meter)
        assert proxy.spoiled == 1
        assert isinstance(meter.clock(), dt.datetime)
        assert meter.deviations == []


@pytest.mark.filterwarnings("ignore::dlmskit.deviations.DeviationWarning")
async def test_the_asyncio_client_does_not_wedge_either(proxy: SpoilingProxy) -> None:
    from dlmskit.client import AsyncDlmsClient

    async with AsyncDlmsClient.connect(host="127.0.0.1", port=proxy.port, link="wrapper") as meter:
        proxy.arm("decode")
        with pytest.raises(DlmsError):
            await meter.clock()
        assert isinstance(await meter.clock(), dt.datetime)


def test_a_lost_connection_says_so_and_open_reconnects(proxy: SpoilingProxy) -> None:
    with DlmsClient.connect(host="127.0.0.1", port=proxy.port, link="wrapper") as meter:
        proxy.arm("close")
        with pytest.raises(DlmsError) as lost:
            meter.clock()
        assert "open the client again" in str(lost.value)
        with pytest.raises(DlmsError, match="open the client again"):
            meter.clock()
        meter.open()
        assert isinstance(meter.clock(), dt.datetime)
