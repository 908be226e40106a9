"""Shared pieces of the simulator tests: a pinned clock, a client session wired to the meter in memory, and a
slowloris peer."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import ABSENT, CosemAttributeDescriptor, CosemMethodDescriptor, GetDataResult
from dlmskit.apdu.results import DataAccessResult
from dlmskit.codec.obis import Obis
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import (
    ActionCompleted,
    Associated,
    GetCompleted,
    SendApdu,
    SessionEvent,
    SetCompleted,
)
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.session.server import ServerSession
from dlmskit.simulator import SimulatedMeter

# The default model's documented demo keys (docs/simulator.md; the Green Book example keys).
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
START = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


class PinnedTime:
    """A ``now()`` the test moves by hand."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.moment = start

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)


CLIENT_COUNTERS = MemoryInvocationCounterStore()
"""The test client's own invocation counters, kept across its associations as a real client keeps them
(a fresh store per association would reuse counters, which the meter rightly refuses)."""


def client_settings(sap: int, *, ek: bytes = EK, ak: bytes = AK, **overrides: Any) -> ClientSettings:
    """How the documented clients of the default model associate."""
    if sap == 32:
        return ClientSettings(
            mechanism=Mechanism.LOW, secret=overrides.pop("secret", b"12345678"), **overrides
        )
    if sap == 1:
        security = SecuritySettings(
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            system_title=CLIENT_TITLE,
            block_cipher_key=SecretBytes(ek),
            authentication_key=SecretBytes(ak),
            invocation_counters=CLIENT_COUNTERS,
        )
        return ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=security, **overrides)
    return ClientSettings(**overrides)


class Client:
    """A client session and the meter's server session, passing APDUs to each other in memory."""

    def __init__(self, meter: SimulatedMeter, sap: int, settings: ClientSettings | None = None) -> None:
        self.meter = meter
        self.session = ClientSession(settings or client_settings(sap), challenge=secrets.token_bytes(16))
        self.server = ServerSession(meter, sap)
        self.replies: list[bytes] = []
        self.associated = self.run(self.session.associate())

    def run(self, apdu: bytes) -> SessionEvent:
        while True:
            replies = self.server.receive(apdu)
            assert len(replies) == 1
            self.replies.append(replies[0])
            event = self.session.receive(replies[0])
            if isinstance(event, SendApdu):
                apdu = event.apdu
                continue
            return event

    def _class(self, logical_name: str, class_id: int | None) -> int:
        if class_id is not None:
            return class_id
        return int(self.meter.object(logical_name).cosem_class.class_id)

    def get(
        self, logical_name: str, attribute: int = 2, *, class_id: int | None = None, access: Any = None
    ) -> GetDataResult:
        descriptor = CosemAttributeDescriptor(
            self._class(logical_name, class_id), Obis.parse(logical_name), attribute
        )
        event = self.run(self.session.get(descriptor, access))
        assert isinstance(event, GetCompleted), event
        return event.results[0]

    def value(self, logical_name: str, attribute: int = 2, **kwargs: Any) -> Any:
        result = self.get(logical_name, attribute, **kwargs)
        assert result.error is None, result.error
        return result.value

    def set(
        self, logical_name: str, attribute: int, value: Any, *, class_id: int | None = None
    ) -> DataAccessResult | int:
        descriptor = CosemAttributeDescriptor(
            self._class(logical_name, class_id), Obis.parse(logical_name), attribute
        )
        event = self.run(self.session.set(descriptor, value))
        assert isinstance(event, SetCompleted), event
        return event.results[0]

    def action(
        self, logical_name: str, method: int, parameters: Any = ABSENT, *, class_id: int | None = None
    ) -> ActionResponseWithOptionalData:
        descriptor = CosemMethodDescriptor(
            self._class(logical_name, class_id), Obis.parse(logical_name), method
        )
        event = self.run(self.session.action(descriptor, parameters))
        assert isinstance(event, ActionCompleted), event
        return event.results[0]


def connect(meter: SimulatedMeter, sap: int, settings: ClientSettings | None = None) -> Client:
    client = Client(meter, sap, settings)
    assert isinstance(client.associated, Associated), client.associated
    return client


async def trickled_until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, most: int
) -> bool:
    """Send the start of an HDLC frame that never ends, a byte every 50 ms, at most ``most`` bytes: True once
    the server closed the connection (a slowloris peer)."""
    for n in range(most):
        try:
            writer.write(b"\x7e" if n == 0 else b"\xa0")
            await writer.drain()
            if await asyncio.wait_for(reader.read(100), 0.05) == b"":
                return True
        except asyncio.TimeoutError:
            continue
        except ConnectionError:
            return True
    return False
