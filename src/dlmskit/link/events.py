"""What the sans-I/O data links report, and the shape every link has (:class:`Link`).

A link (:class:`~dlmskit.link.hdlc_link.HdlcClientLink`, :class:`~dlmskit.link.hdlc_link.HdlcServerLink`,
:class:`~dlmskit.link.wrapper_link.WrapperLink`, :class:`~dlmskit.link.wrapper_link.WrapperServerLink`)
does no I/O and reads no clock. The caller moves the bytes and runs the timer::

    link.open()
    transport.send(link.data_to_send())
    while True:
        try:
            data = transport.recv(timeout=response_timeout)
        except MeterTimeout:
            events = link.on_timeout() if link.needs_timer else []
        else:
            events = link.receive_data(data)
        transport.send(link.data_to_send())
        for event in events:
            ...  # LinkOpened, ApduReceived, LinkClosed, FrameDiscarded, LinkFailed

The wrapper has no connection of its own (the TCP connection or the UDP socket is the link): it is
connected as soon as :meth:`Link.open` returns. An HDLC client is connected when it reports
:class:`LinkOpened`; a server reports :class:`LinkOpened` when a client connects to it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from dlmskit.errors import LinkError
from dlmskit.link.hdlc_parameters import HdlcParameters

__all__ = [
    "ApduReceived",
    "FrameDiscarded",
    "Link",
    "LinkClosed",
    "LinkEvent",
    "LinkFailed",
    "LinkOpened",
    "LinkState",
    "TraceHook",
]


class LinkState(enum.Enum):
    """Where a link stands."""

    DISCONNECTED = enum.auto()
    """Not connected (the initial state, and after a clean close)."""
    CONNECTING = enum.auto()
    """An HDLC client sent SNRM and waits for the UA."""
    CONNECTED = enum.auto()
    """APDUs can be sent and received."""
    DISCONNECTING = enum.auto()
    """An HDLC client sent DISC and waits for the UA (or DM)."""
    FAILED = enum.auto()
    """The link gave up (:class:`LinkFailed` was reported); :meth:`Link.open` starts over."""


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """The link is connected.

    ``parameters`` are the negotiated HDLC parameters from this station's point of view
    (``max_info_tx``/``window_tx`` = what it sends), ``None`` for the wrapper. A server that reports
    :class:`LinkOpened` again was reset by a new SNRM of its client: anything in progress is lost.
    """

    parameters: HdlcParameters | None


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A complete APDU arrived (reassembled from its segments, LLC header removed)."""

    apdu: bytes


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """The link was closed cleanly; ``reason`` says how, in words."""

    reason: str


@dataclass(frozen=True, slots=True)
class FrameDiscarded:
    """A frame was ignored: damaged, addressed to another station, out of sequence or unexpected in the
    current state. Nothing to do (the protocol recovers); useful for traces and line statistics."""

    reason: str


@dataclass(frozen=True, slots=True)
class LinkFailed:
    """The link is lost and cannot recover by itself (retries exhausted, frame reject, disconnected
    by the peer, unreadable stream). The link is now :attr:`LinkState.FAILED`."""

    error: LinkError


LinkEvent: TypeAlias = LinkOpened | ApduReceived | LinkClosed | FrameDiscarded | LinkFailed
"""Everything :meth:`Link.receive_data` and :meth:`Link.on_timeout` report."""

TraceHook: TypeAlias = Callable[[str, bytes, object], None]
"""Called for every frame a link sends or receives: ``("tx" | "rx", frame bytes, decoded frame)``.

The decoded frame is an :class:`~dlmskit.link.hdlc_frame.HdlcFrame` or a
:class:`~dlmskit.link.wrapper.WrapperFrame`. Damaged frames are not traced (they are reported as
:class:`FrameDiscarded`).
"""


class Link(Protocol):
    """The shape shared by the HDLC and wrapper links, client and server side."""

    @property
    def state(self) -> LinkState:
        """Where the link stands."""
        ...

    @property
    def needs_timer(self) -> bool:
        """True while the link waits for the peer: the caller runs its response timer and calls
        :meth:`on_timeout` when it expires."""
        ...

    def open(self) -> None:
        """Start connecting (an HDLC client queues SNRM; servers wait for their client)."""
        ...

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU for the peer (segmented and windowed as the link needs); raises
        :class:`~dlmskit.errors.LinkError` when the link is not connected."""
        ...

    def close(self) -> None:
        """Start closing (an HDLC client queues DISC)."""
        ...

    def receive_data(self, data: bytes) -> list[LinkEvent]:
        """Take bytes from the line, in any chunking; return what they completed."""
        ...

    def data_to_send(self) -> bytes:
        """Everything queued for the line since the last call (empty when nothing is)."""
        ...

    def on_timeout(self) -> list[LinkEvent]:
        """The response timer expired: retransmit, or give up with :class:`LinkFailed`."""
        ...
