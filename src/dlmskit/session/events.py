"""What a session hands back to its driver after each received APDU.

A driver (sync or asyncio) sends the APDU a request method returned, then feeds every answer to
``session.receive(apdu)`` and acts on the event: :class:`SendApdu` means "send this and keep waiting"
(the next block, HLS pass 3, an acknowledgement); :class:`Notification` means an unsolicited push arrived
(keep waiting); :class:`Discarded` that a late answer to an abandoned request was dropped (keep waiting);
every other event completes the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import GetDataResult
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import DataAccessResult

__all__ = [
    "ActionCompleted",
    "Associated",
    "Discarded",
    "GetCompleted",
    "Negotiated",
    "Notification",
    "Released",
    "SendApdu",
    "SessionEvent",
    "SetCompleted",
]


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the association agreed on."""

    conformance: Conformance
    server_max_receive_pdu_size: int
    client_max_receive_pdu_size: int
    dlms_version: int
    vaa_name: int
    server_system_title: bytes | None
    mechanism: int


@dataclass(frozen=True, slots=True)
class SendApdu:
    """Send ``apdu`` to the peer and wait for the answer.

    ``blocks`` and ``received_bytes`` tell a progress bar how far a block transfer has come.
    """

    apdu: bytes = field(repr=False)
    blocks: int = 0
    received_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Notification:
    """An unsolicited APDU (data-notification, event-notification) that arrived while waiting."""

    apdu: object


@dataclass(frozen=True, slots=True)
class Discarded:
    """An APDU was dropped (a late answer to an abandoned request); keep waiting for the answer."""

    reason: str


@dataclass(frozen=True, slots=True)
class Associated:
    """The association is established (after HLS pass 4 where HLS is used)."""

    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class GetCompleted:
    """The results of a GET, one per requested attribute (block transfers already reassembled)."""

    results: tuple[GetDataResult, ...]
    blocks: int = 0


@dataclass(frozen=True, slots=True)
class SetCompleted:
    """The results of a SET, one per written attribute."""

    results: tuple[DataAccessResult | int, ...]


@dataclass(frozen=True, slots=True)
class ActionCompleted:
    """The results of an ACTION, one per invoked method (with return data where the meter sent some)."""

    results: tuple[ActionResponseWithOptionalData, ...]


@dataclass(frozen=True, slots=True)
class Released:
    """The association is released (RLRE received, or released without RLRQ)."""

    reason: int | None = None


SessionEvent = (
    SendApdu
    | Notification
    | Discarded
    | Associated
    | GetCompleted
    | SetCompleted
    | ActionCompleted
    | Released
)
