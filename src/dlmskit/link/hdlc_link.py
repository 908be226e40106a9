"""The HDLC data link of IEC 62056-46 as sans-I/O state machines: :class:`HdlcClientLink` and
:class:`HdlcServerLink`.

The link runs in normal response mode (NRM), as DLMS/COSEM does on serial lines: the client is the
primary station and the server (the meter) a secondary that transmits only when polled.

- **Connection.** The client sends SNRM (P=1) with its parameter proposal (no information field when it
  proposes the defaults, 128 bytes and a window of 1); the server answers UA (F=1) with the parameters of
  :func:`~dlmskit.link.hdlc_parameters.negotiate`, or DM when it refuses the client. DISC is answered
  with UA, or with DM when the server is not connected. A server answers DM to a poll when it is not
  connected.
- **Information transfer.** The information field of an APDU starts with the LLC header
  (``E6 E6 00`` client to server, ``E6 E7 00`` server to client). When it is longer than the negotiated
  ``max_info_tx`` it is split into I-frames with the segmentation bit set on all but the last; the LLC
  header is only at the start of the first segment. I-frames carry N(S) and N(R) modulo 8. A station
  sends up to its transmit window of I-frames before it waits for an acknowledgement: the client puts
  P=1 on the last I-frame of the window (or of the APDU), the server answers with F=1 on the last frame
  it sends. While the client sends a segmented APDU, the server acknowledges each window with RR; while
  the server sends one, the client asks for the next window with RR (P=1). The last segment of a
  client APDU gives the turn to the server: it answers with the response, carrying F=1 on the last
  frame of each window. A window never spans two APDUs.
- **Recovery.** The client runs the response timer (:attr:`HdlcClientLink.needs_timer`). On
  :meth:`HdlcClientLink.on_timeout` it repeats SNRM or DISC, sends its one unacknowledged I-frame
  again (P=1), or polls with RR (P=1); the answer's N(R) shows which I-frames the server missed and
  the client sends them again from there (go-back-N). An F=1 frame that shows nothing new (a repeated
  or late answer to an earlier poll) does not answer the outstanding poll: the poll and the timer go
  on (the tables of docs/hdlc.md, each cell tested in tests/link/test_hdlc_poll_table.py). An
  I-frame with an unexpected N(S) (a repeat, or one after a lost frame) is not delivered; the
  receiver's next RR or I-frame carries the N(R) it expects and the sender goes back to it: the server
  when it is polled (it has no timer: a poll is the client's), the client as soon as the server passes
  the turn with a loss shown (window > 1) or on its timer. The server answers FRMR (W, X, Y or Z) to
  frames it cannot accept and stays in the frame-reject condition until SNRM or DISC. Damaged frames
  are dropped (reported as :class:`~dlmskit.link.events.FrameDiscarded`) and what they carried is
  recovered by the timer. After ``max_retries`` recovery rounds without progress, and on FRMR or DM
  while connected, the client reports :class:`~dlmskit.link.events.LinkFailed`. The server has no
  response timer: its
  :attr:`HdlcServerLink.needs_timer` only asks for an inter-frame timeout while a frame is incomplete,
  so that a frame whose length field was damaged cannot hold back the frames after it.
- **UI frames** carry information outside the sequence numbering (pushes from the server, in any
  state): they are delivered as :class:`~dlmskit.link.events.ApduReceived`, reassembled when
  segmented. :meth:`HdlcServerLink.send_ui` sends them.

The client expects an answer to every APDU it sends (the DLMS services carried over HDLC are confirmed
requests): until the server's first I-frame arrives it keeps :attr:`HdlcClientLink.needs_timer` set
and polls on each timeout, so a server that acknowledged the request with RR before its response was
ready is asked again, and one that never answers fails after ``max_retries`` polls.

Not implemented: selective reject (SREJ), modulo-128 sequence numbers (extended mode), asynchronous
response or balanced modes, the all-station and no-station addresses, inactivity timers (the caller
owns the clock) and sending RNR (the link always has room for a window). A received RNR is honoured:
the client stops sending I-frames and polls with RR on each timeout until the server is ready.
Like any HDLC counting modulo 8, the link relies on the line keeping frames in order (a serial line
does): a frame overtaken by a whole window of later ones could be taken for a new one.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Final, NamedTuple

from dlmskit.errors import ConfigurationError, DecodeError, LinkError
from dlmskit.link.events import (
    ApduReceived,
    FrameDiscarded,
    LinkClosed,
    LinkEvent,
    LinkFailed,
    LinkOpened,
    LinkState,
    TraceHook,
)
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import NO_STATION, HdlcAddress, encoded_address, remembered_address
from dlmskit.link.hdlc_frame import (
    LLC_REQUEST,
    LLC_RESPONSE,
    Control,
    FrameType,
    HdlcFrame,
    UnknownControlError,
    encode_frame,
    remove_llc,
    segment,
)
from dlmskit.link.hdlc_parameters import MAX_INFO_LENGTH, MAX_WINDOW_SIZE, HdlcParameters, negotiate

__all__ = ["DEFAULT_PARAMETERS", "LARGEST_PARAMETERS", "MAX_APDU_LENGTH", "HdlcClientLink", "HdlcServerLink"]

MAX_APDU_LENGTH: Final = 0x10000 + 0x400
"""Default cap on a reassembled APDU (with its LLC header): the largest xDLMS PDU (65535) plus room for
ciphering. A peer that sends more segments than that is not buffered without bound."""

DEFAULT_PARAMETERS: Final = HdlcParameters()
"""The IEC 62056-46 defaults: 128-byte information fields and a window of 1, both directions. Every
meter accepts them; a client proposing them sends an SNRM without information field."""
LARGEST_PARAMETERS: Final = HdlcParameters(MAX_INFO_LENGTH, MAX_INFO_LENGTH, MAX_WINDOW_SIZE, MAX_WINDOW_SIZE)
"""The largest parameters IEC 62056-46 allows: 2030-byte information fields and a window of 7, both
directions (the fastest transfer, when the meter agrees)."""

_MODULUS: Final = 8
_FRMR_REASONS: Final = (
    (0x01, "invalid or unimplemented control field (W)"),
    (0x02, "information field not permitted (X)"),
    (0x04, "information field too long (Y)"),
    (0x08, "invalid N(R) (Z)"),
)
"""Bits of the third byte of the FRMR information field (ISO/IEC 13239, modulo 8)."""
_FRMR_INVALID_CONTROL: Final = 0x01
_FRMR_INFORMATION_NOT_PERMITTED: Final = 0x02
_FRMR_INFORMATION_TOO_LONG: Final = 0x04
_FRMR_INVALID_NR: Final = 0x08
_POLL_FINAL: Final = 0x10
"""The P/F bit of every control byte."""
_SNRM_POLL: Final = FrameType.SNRM.value | _POLL_FINAL
_DISC_POLL: Final = FrameType.DISC.value | _POLL_FINAL
_RR_POLL_FINAL: Final = FrameType.RR.value | _POLL_FINAL
"""RR with P/F set; N(R) goes in the top three bits."""


class _Segment(NamedTuple):
    """One I-frame's worth of an information field."""

    information: bytes
    more: bool
    """The segmentation bit: more segments of the same information field follow."""


class _Reception(enum.Enum):
    """What became of a received I-frame."""

    OUT_OF_SEQUENCE = enum.auto()
    """Not delivered: its N(S) shows that an earlier I-frame was lost (a window of more than 1)."""
    REPEATED = enum.auto()
    """Not delivered: a copy of an I-frame already received (the line or the peer repeated it)."""
    ACCEPTED = enum.auto()
    DELIVERED = enum.auto()
    """Accepted, and it completed an APDU (reported as ApduReceived)."""


class _HdlcStation(ABC):
    """Sequence numbering, segmentation, windowing and reassembly, common to both stations."""

    _LLC_TX: ClassVar[bytes]
    _LLC_RX: ClassVar[bytes]
    _addresses: bytes
    """The address bytes (destination, source) of the frames :meth:`_send` sends to the peer."""

    def __init__(
        self, trace: TraceHook | None, max_apdu_length: int, own_addresses: tuple[HdlcAddress, ...]
    ) -> None:
        self._trace = trace
        self._max_apdu_length = max_apdu_length
        """Longest reassembled information field accepted; longer ones are dropped (hostile peers)."""
        self._reader = HdlcFrameReader(known_addresses=own_addresses)
        """Gives the link's own addresses as the very objects it holds (compared by identity first)."""
        self._out = bytearray()
        self._state = LinkState.DISCONNECTED
        self._parameters = DEFAULT_PARAMETERS
        self._ui = bytearray()
        """UI segments received so far."""
        self._ui_overflow = False
        self._reset_sequence()

    def _reset_sequence(self) -> None:
        """Forget everything sent and received on the current connection (at SNRM, DISC, failure)."""
        self._vs = 0
        """V(S): N(S) of the next new I-frame."""
        self._vr = 0
        """V(R): N(S) expected in the next I-frame."""
        self._unacked: deque[tuple[int, _Segment]] = deque()
        """I-frames sent and not acknowledged yet, with their N(S), oldest first."""
        self._pending: deque[_Segment] = deque()
        """Segments queued and not sent yet."""
        self._rx = bytearray()
        """Segments of the information field being received."""
        self._rx_more = False
        """The last I-frame received had the segmentation bit: the APDU is incomplete."""
        self._rx_overflow = False
        """The APDU being received grew past ``max_apdu_length``: its segments are dropped."""
        self._peer_busy = False
        """The peer's last supervisory frame was RNR."""

    @property
    def state(self) -> LinkState:
        """Where the link stands."""
        return self._state

    @property
    def parameters(self) -> HdlcParameters | None:
        """The negotiated parameters from this station's point of view, while connected."""
        return self._parameters if self._state is LinkState.CONNECTED else None

    def data_to_send(self) -> bytes:
        """All frames queued for the line since the last call."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[LinkEvent]:
        """Take bytes from the line, in any chunking; return what they completed.

        Poll and final bits are acted upon once all the frames in ``data`` are handled, so a frame
        repeated within the same chunk is answered once.
        """
        events: list[LinkEvent] = []
        for item in self._reader.feed(data):
            if isinstance(item, DecodeError):
                events.append(FrameDiscarded(str(item)))
                if isinstance(item, UnknownControlError) and self._state is not LinkState.FAILED:
                    self._unknown_command(item)
                continue
            if self._trace is not None:
                self._trace("rx", item.encode(), item)
            if self._state is not LinkState.FAILED:
                self._handle(item, events)
        self._end_of_chunk(events)
        return events

    @abstractmethod
    def _handle(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        """Act on one received frame."""

    @abstractmethod
    def _unknown_command(self, error: UnknownControlError) -> None:
        """An intact frame with a control field DLMS/COSEM does not use (already reported)."""

    @abstractmethod
    def _end_of_chunk(self, events: list[LinkEvent]) -> None:
        """Act on the poll or final bits of the frames just received."""

    @abstractmethod
    def _frame(self, control: Control, information: bytes = b"", segmented: bool = False) -> HdlcFrame:
        """A frame to the peer."""

    def _send(self, control: int, information: bytes = b"", segmented: bool = False) -> None:
        """Queue a frame to the peer with control byte ``control``; its address bytes are the link's own."""
        raw = encode_frame(self._addresses, control, information, segmented)
        self._out += raw
        if self._trace is not None:
            self._trace("tx", raw, self._frame(Control.decode(control), information, segmented))

    def _emit(self, frame: HdlcFrame) -> None:
        raw = frame.encode()
        self._out += raw
        if self._trace is not None:
            self._trace("tx", raw, frame)

    def _queue_apdu(self, apdu: bytes) -> None:
        information = self._LLC_TX + apdu
        max_info_tx = self._parameters.max_info_tx
        if len(information) <= max_info_tx:
            self._pending.append(_Segment(information, False))  # the usual case: one I-frame
            return
        pieces = segment(information, max_info_tx)
        last = len(pieces) - 1
        self._pending.extend([_Segment(piece, index < last) for index, piece in enumerate(pieces)])

    def _transmit(self, *, resend: bool) -> bool:
        """Send a window of I-frames, P/F set on the last; return whether anything was sent.

        With ``resend``, first the unacknowledged I-frames again (go-back-N), then new ones as far as
        the transmit window allows, stopping after the last segment of an APDU.
        """
        if self._peer_busy:
            return False
        burst = list(self._unacked) if resend else []
        window = self._parameters.window_tx
        while self._pending and len(self._unacked) < window:
            if burst and not burst[-1][1].more:
                break  # a window never spans two APDUs
            entry = (self._vs, self._pending.popleft())
            self._unacked.append(entry)
            burst.append(entry)
            self._vs = (self._vs + 1) % _MODULUS
        last = len(burst) - 1
        nr = self._vr << 5
        for index, (ns, piece) in enumerate(burst):
            # An I-frame's control byte: N(R), P/F on the last of the window, N(S).
            self._send(nr | (_POLL_FINAL if index == last else 0) | (ns << 1), piece.information, piece.more)
        return bool(burst)

    def _acknowledge(self, nr: int) -> bool | None:
        """Drop the I-frames that N(R) acknowledges; True when it acknowledged any, None when N(R)
        names a frame that was never sent (the frame carrying it is to be ignored)."""
        oldest = self._unacked[0][0] if self._unacked else self._vs
        count = (nr - oldest) % _MODULUS
        if count > len(self._unacked):
            return None
        for _ in range(count):
            self._unacked.popleft()
        return count > 0

    def _receive_information(self, frame: HdlcFrame, events: list[LinkEvent]) -> _Reception:
        ns = frame.control.ns
        information = frame.information
        if (
            ns == self._vr
            and not frame.segmented
            and not self._rx
            and not self._rx_overflow
            and len(information) <= self._max_apdu_length
        ):
            # The usual case: an APDU in one I-frame, nothing to reassemble.
            self._vr = (ns + 1) % _MODULUS
            self._rx_more = False
            return self._deliver(information, "I-frame", events)
        if ns != self._vr:
            if (ns - self._vr) % _MODULUS < self._parameters.window_rx:
                reason = f"I-frame N(S)={ns} out of sequence (a frame was lost), expected N(S)={self._vr}"
                events.append(FrameDiscarded(reason))
                return _Reception.OUT_OF_SEQUENCE
            events.append(FrameDiscarded(f"repeated I-frame N(S)={ns}, already received"))
            return _Reception.REPEATED
        self._vr = (self._vr + 1) % _MODULUS
        self._rx_more = frame.segmented
        self._rx_overflow = self._append_segment(self._rx, frame.information, self._rx_overflow, events)
        if frame.segmented:
            return _Reception.ACCEPTED
        information = bytes(self._rx)
        self._rx.clear()
        if self._rx_overflow:
            self._rx_overflow = False
            return _Reception.ACCEPTED
        return self._deliver(information, "I-frame", events)

    def _append_segment(
        self, buffer: bytearray, segment: bytes, overflow: bool, events: list[LinkEvent]
    ) -> bool:
        """Add a received segment to ``buffer`` unless the APDU grew too long; returns the overflow flag."""
        if overflow:
            return True
        if len(buffer) + len(segment) > self._max_apdu_length:
            buffer.clear()
            events.append(FrameDiscarded(f"APDU longer than {self._max_apdu_length} bytes dropped"))
            return True
        buffer += segment
        return False

    def _receive_ui(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        self._ui_overflow = self._append_segment(self._ui, frame.information, self._ui_overflow, events)
        if frame.segmented:
            return
        information = bytes(self._ui)
        self._ui.clear()
        if self._ui_overflow:
            self._ui_overflow = False
            return
        self._deliver(information, "UI frame", events)

    def _deliver(self, information: bytes, what: str, events: list[LinkEvent]) -> _Reception:
        try:
            events.append(ApduReceived(remove_llc(information, self._LLC_RX)))
        except DecodeError as error:
            events.append(FrameDiscarded(f"{what} information dropped: {error}"))
            return _Reception.ACCEPTED
        return _Reception.DELIVERED


class HdlcClientLink(_HdlcStation):
    """The client (primary station) end of an HDLC link::

        link = HdlcClientLink(0x10, HdlcAddress(1, 17), LARGEST_PARAMETERS)
        link.open()            # SNRM; LinkOpened follows the UA
        link.send_apdu(aarq)   # I-frames; ApduReceived(aare) follows
        link.close()           # DISC; LinkClosed follows the UA

    ``client_address`` is the client SAP (one byte), ``server`` the server address (its size is kept on
    the wire), ``parameters`` the proposal of the SNRM (from the client's point of view, at most
    :data:`LARGEST_PARAMETERS`) and ``max_retries`` how many recovery rounds (on timeouts) it makes
    without progress before it gives up.
    """

    _LLC_TX = LLC_REQUEST
    _LLC_RX = LLC_RESPONSE

    def __init__(
        self,
        client_address: int,
        server: HdlcAddress,
        parameters: HdlcParameters = DEFAULT_PARAMETERS,
        max_retries: int = 3,
        *,
        trace: TraceHook | None = None,
        max_apdu_length: int = MAX_APDU_LENGTH,
    ) -> None:
        if parameters.window_tx > MAX_WINDOW_SIZE or parameters.window_rx > MAX_WINDOW_SIZE:
            raise ConfigurationError(f"HDLC window size must be 1..{MAX_WINDOW_SIZE} (modulo 8)")
        if parameters.max_info_tx > MAX_INFO_LENGTH or parameters.max_info_rx > MAX_INFO_LENGTH:
            raise ConfigurationError(f"HDLC information field length must be 1..{MAX_INFO_LENGTH}")
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, not {max_retries}")
        self._client = _client_address(client_address)
        self._server = server
        self._addresses = encoded_address(self._server) + encoded_address(self._client)
        """The address bytes of every frame the client sends."""
        self._proposal = parameters
        self._max_retries = max_retries
        self._retries = 0
        """Recovery rounds since the last progress."""
        self._poll_outstanding = False
        """A frame with P=1 was sent and no frame with F=1 has answered it yet."""
        self._recovering = False
        """The outstanding poll is a recovery poll sent on a timeout."""
        self._awaiting_response = False
        """An APDU was sent and no I-frame of the server has arrived since."""
        self._final_received = False
        """A frame with F=1 answered the outstanding poll in the current chunk."""
        self._progress = False
        """The current chunk acknowledged I-frames or brought a new one."""
        self._missed = False
        """The current chunk brought an I-frame out of sequence."""
        super().__init__(trace, max_apdu_length, (self._server, self._client))

    @property
    def needs_timer(self) -> bool:
        """True while the client waits for the server: answer to SNRM or DISC, acknowledgement of its
        I-frames, the next segments of a response, or the response to its last APDU."""
        if self._state in (LinkState.CONNECTING, LinkState.DISCONNECTING):
            return True
        if self._state is not LinkState.CONNECTED:
            return False
        return bool(
            self._poll_outstanding
            or self._unacked
            or self._pending
            or self._rx_more
            or self._awaiting_response
        )

    def open(self) -> None:
        """Queue SNRM. Allowed when disconnected or failed."""
        if self._state not in (LinkState.DISCONNECTED, LinkState.FAILED):
            raise LinkError(f"cannot open the HDLC link: it is {self._state.name.lower()}")
        self._reset_sequence()
        self._reader.reset()
        self._parameters = DEFAULT_PARAMETERS
        self._state = LinkState.CONNECTING
        self._retries = 0
        self._send_snrm()

    def close(self) -> None:
        """Queue DISC (anything not yet sent is dropped). Nothing to do when not connected."""
        if self._state not in (LinkState.CONNECTING, LinkState.CONNECTED):
            return
        self._reset_sequence()
        self._poll_outstanding = self._awaiting_response = False
        self._state = LinkState.DISCONNECTING
        self._retries = 0
        self._send(_DISC_POLL)

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU; its first window goes out at once unless the server holds the turn."""
        if self._state is not LinkState.CONNECTED:
            raise LinkError(f"cannot send an APDU: the HDLC link is {self._state.name.lower()}")
        self._queue_apdu(apdu)
        if not self._poll_outstanding:
            self._send_window(resend=False)

    def on_timeout(self) -> list[LinkEvent]:
        """The response timer expired: repeat SNRM or DISC, or poll the server with RR (P=1); after
        ``max_retries`` rounds without progress, report :class:`LinkFailed`."""
        if not self.needs_timer:
            return []
        self._reader.reset()
        self._retries += 1
        if self._retries > self._max_retries:
            return [self._fail(self._timeout_reason())]
        if self._state is LinkState.CONNECTING:
            self._send_snrm()
        elif self._state is LinkState.DISCONNECTING:
            self._send(_DISC_POLL)
        elif len(self._unacked) == 1 and not self._peer_busy:
            # One I-frame unacknowledged (always so with window 1): sending it again (P=1) costs no more
            # than a poll and saves a round trip; a server that already has it answers with its N(R) (C7).
            self._transmit(resend=True)
            self._poll_outstanding, self._recovering = True, True
        else:
            self._poll(recovering=True)
        return []

    def _frame(self, control: Control, information: bytes = b"", segmented: bool = False) -> HdlcFrame:
        return HdlcFrame(self._server, self._client, control, information, segmented)

    def _unknown_command(self, error: UnknownControlError) -> None:
        """A response the client does not know is only reported (a primary sends no FRMR)."""

    def _send_snrm(self) -> None:
        information = b"" if self._proposal == DEFAULT_PARAMETERS else self._proposal.encode()
        self._send(_SNRM_POLL, information)

    def _send_window(self, *, resend: bool) -> None:
        if self._transmit(resend=resend):
            self._poll_outstanding, self._recovering = True, False
            if not self._pending:
                self._awaiting_response = True

    def _poll(self, *, recovering: bool) -> None:
        self._send(_RR_POLL_FINAL | (self._vr << 5))
        self._poll_outstanding, self._recovering = True, recovering

    def _fail(self, reason: str) -> LinkFailed:
        self._state = LinkState.FAILED
        self._reset_sequence()
        self._poll_outstanding = self._awaiting_response = self._final_received = False
        return LinkFailed(LinkError(reason))

    def _timeout_reason(self) -> str:
        retries = f"after {self._max_retries} retries"
        if self._state is LinkState.CONNECTING:
            return f"no answer to SNRM from HDLC server {_describe(self._server)} {retries}"
        if self._state is LinkState.DISCONNECTING:
            return f"no answer to DISC from HDLC server {_describe(self._server)} {retries}"
        if self._peer_busy:
            return f"HDLC server {_describe(self._server)} still busy (RNR) {retries}"
        if self._unacked:
            count = len(self._unacked)
            frames = "an I-frame" if count == 1 else f"{count} I-frames"
            return f"HDLC server {_describe(self._server)} did not acknowledge {frames} {retries}"
        if self._rx_more:
            return (
                f"HDLC server {_describe(self._server)} did not send the rest of a segmented APDU {retries}"
            )
        return f"no response from HDLC server {_describe(self._server)} {retries}"

    def _handle(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        dest, src = frame.dest, frame.src
        if (dest is not self._client and dest != self._client) or (
            src is not self._server and src != self._server
        ):
            events.append(
                FrameDiscarded(
                    f"frame from {_describe(frame.src)} to {_describe(frame.dest)} is not for this link"
                )
            )
            return
        kind = frame.control.kind
        state = self._state
        if kind is FrameType.UI:
            self._receive_ui(frame, events)
        elif state is LinkState.CONNECTED and kind in (FrameType.I, FrameType.RR, FrameType.RNR):
            self._receive_sequenced(frame, events)
        elif kind is FrameType.FRMR and state in (LinkState.CONNECTING, LinkState.CONNECTED):
            events.append(self._fail(_frmr_reason(frame.information)))
        elif state is LinkState.CONNECTING and kind is FrameType.UA:
            self._connected(frame, events)
        elif state is LinkState.CONNECTING and kind is FrameType.DM:
            events.append(self._fail(f"HDLC server {_describe(self._server)} refused the connection (DM)"))
        elif state is LinkState.CONNECTED and kind is FrameType.DM:
            events.append(
                self._fail(
                    f"HDLC server {_describe(self._server)} is disconnected (DM): the link was lost, "
                    "for example after the server's inactivity timeout"
                )
            )
        elif state is LinkState.DISCONNECTING and kind in (FrameType.UA, FrameType.DM):
            self._state = LinkState.DISCONNECTED
            reason = "disconnected" if kind is FrameType.UA else "server was already disconnected (DM)"
            events.append(LinkClosed(reason))
        else:
            events.append(FrameDiscarded(f"unexpected {kind.name} frame: link is {state.name.lower()}"))

    def _connected(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        try:
            answer = HdlcParameters.decode(frame.information)
        except DecodeError as error:
            events.append(self._fail(f"UA with unreadable HDLC parameters: {error}"))
            return
        # The UA states the server's view; each direction gets the smaller of the two offers (and of
        # the IEC 62056-46 limits), which negotiate() computes with the roles exchanged.
        self._parameters = negotiate(answer, self._proposal)
        self._state = LinkState.CONNECTED
        self._retries = 0
        events.append(LinkOpened(self._parameters))

    def _receive_sequenced(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        control = frame.control
        acknowledged = self._acknowledge(control.nr)
        if acknowledged is None:
            events.append(
                FrameDiscarded(f"{control.kind.name} frame N(R)={control.nr} names a frame never sent")
            )
            return
        self._progress |= acknowledged
        if control.kind is FrameType.I:
            reception = self._receive_information(frame, events)
            if reception is _Reception.OUT_OF_SEQUENCE:
                self._missed = True
            elif reception is not _Reception.REPEATED:
                self._progress = True
                self._awaiting_response = False
        else:
            self._peer_busy = control.kind is FrameType.RNR
        if control.poll_final and self._poll_outstanding:
            self._final_received = True

    def _end_of_chunk(self, events: list[LinkEvent]) -> None:
        """A frame with F=1 arrived: decide whether it answers the outstanding poll (table C in
        docs/hdlc.md) and, when it does, send what comes next."""
        progress, missed, final = self._progress, self._missed, self._final_received
        self._progress = self._missed = self._final_received = False
        if progress:
            self._retries = 0
        if not final or self._state is not LinkState.CONNECTED:
            return
        if not (progress or missed or self._recovering or self._peer_busy):
            # Nothing new: the F=1 answers an earlier poll (a repeated or late frame; the line keeps
            # the order, so the answer to the current poll is still to come). The poll stays
            # outstanding and the response timer covers its loss (C5).
            events.append(FrameDiscarded("F=1 frame acknowledges nothing new: taken as a late answer"))
            return
        self._poll_outstanding = False
        if self._peer_busy:
            return  # poll again on the next timeout
        if (self._unacked or missed) and not self._recovering:
            # One side missed I-frames: going back is a recovery round too (a timeout already counted
            # its own), so a server that never gets any further cannot keep the link busy forever.
            self._retries += 1
            if self._retries > self._max_retries:
                what = "acknowledge the I-frames" if self._unacked else "repeat the I-frames it sent"
                reason = (
                    f"HDLC server {_describe(self._server)} did not {what} after {self._max_retries} retries"
                )
                events.append(self._fail(reason))
                return
        if self._unacked:
            self._send_window(resend=True)  # their N(R) also tells the server where to go back to
        elif self._pending:
            self._send_window(resend=False)
        elif self._rx_more or missed:
            self._poll(recovering=False)  # asks for the next window, or from N(R) again
        else:
            self._recovering = False


class HdlcServerLink(_HdlcStation):
    """The server (secondary station, meter) end of an HDLC link.

    ``server`` is the address the server answers to (frames for other addresses, including the same
    values in another address size, are ignored), ``limits`` the parameters it supports (its own point
    of view) and ``accept_client`` decides from the client SAP whether a SNRM is accepted (UA) or
    refused (DM); by default every client is. The server never sends on its own: it answers the
    client's polls, so :meth:`send_apdu` only queues the response, which goes out at once when the
    request's last I-frame polled (the usual case) or else with the answer to the next poll.
    """

    _LLC_TX = LLC_RESPONSE
    _LLC_RX = LLC_REQUEST

    def __init__(
        self,
        server: HdlcAddress,
        limits: HdlcParameters = DEFAULT_PARAMETERS,
        accept_client: Callable[[int], bool] | None = None,
        *,
        trace: TraceHook | None = None,
        max_apdu_length: int = MAX_APDU_LENGTH,
    ) -> None:
        self._server = server
        self._limits = limits
        self._accept_client = accept_client
        self._client = HdlcAddress(NO_STATION)
        """The connected client (the last one, when disconnected)."""
        self._addresses = encoded_address(self._client) + encoded_address(self._server)
        """The address bytes of every frame to ``_client``."""
        self._polled = False
        """A frame of the current chunk had P=1."""
        self._delivered = False
        """An APDU was completed in the current chunk."""
        self._owe_final = False
        """The poll that completed the last APDU is still unanswered: the response will answer it."""
        self._reject: bytes | None = None
        """The FRMR information field while in the frame-reject condition (until SNRM or DISC)."""
        super().__init__(trace, max_apdu_length, (self._server,))

    @property
    def client_address(self) -> int | None:
        """The client SAP of the connected client, None when disconnected."""
        return self._client.logical if self._state is LinkState.CONNECTED else None

    @property
    def needs_timer(self) -> bool:
        """True while the start of a frame waits for the rest of it. The server has no response timer
        (in normal response mode it only answers polls); this inter-frame timer lets it drop the rest
        of a frame whose length field was damaged, which would otherwise hold back the frames after it.
        """
        return self._reader.buffered > 1  # a lone flag after the last frame is not a frame

    def open(self) -> None:
        """Nothing to do: the client connects with SNRM."""

    def close(self) -> None:
        """Drop the connection. A server cannot send DISC (a command): it answers the client's next
        poll with DM."""
        self._disconnect()

    def on_timeout(self) -> list[LinkEvent]:
        """The line was silent in the middle of a frame: drop what arrived of it (the client repeats
        what was lost)."""
        if not self.needs_timer:
            return []
        self._reader.reset()
        return [FrameDiscarded("incomplete frame dropped: the rest did not arrive in time")]

    def send_apdu(self, apdu: bytes) -> None:
        """Queue a response for the connected client."""
        if self._state is not LinkState.CONNECTED:
            raise LinkError(f"cannot send an APDU: the HDLC link is {self._state.name.lower()}")
        self._queue_apdu(apdu)
        if self._owe_final:
            self._owe_final = False
            self._answer_poll()

    def send_ui(self, apdu: bytes, client_address: int | None = None) -> None:
        """Queue an APDU in UI frames (a push), outside the sequence numbering, segmented to the
        negotiated (or default) information field length. ``client_address`` defaults to the
        connected client. UI frames go out at once: the caller picks the moment when the line is free."""
        if client_address is None:
            if self._state is not LinkState.CONNECTED:
                raise LinkError("no client connected: give the client address of the UI frames")
            client_address = self._client.logical
        client = HdlcAddress(client_address)
        pieces = segment(self._LLC_TX + apdu, self._parameters.max_info_tx)
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            frame = HdlcFrame(client, self._server, Control(FrameType.UI), piece, index < last)
            self._emit(frame)

    def _frame(self, control: Control, information: bytes = b"", segmented: bool = False) -> HdlcFrame:
        return HdlcFrame(self._client, self._server, control, information, segmented)

    def _answer(self, client: HdlcAddress, kind: FrameType, information: bytes = b"") -> None:
        """An unnumbered response with F=1 to ``client`` (who may not be the connected client)."""
        if client is self._client or client == self._client:
            self._send(kind.value | _POLL_FINAL, information)
        else:
            self._emit(HdlcFrame(client, self._server, Control(kind, True), information))

    def _disconnect(self) -> None:
        self._state = LinkState.DISCONNECTED
        self._parameters = DEFAULT_PARAMETERS
        self._owe_final = False
        self._reset_sequence()

    def _handle(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        if frame.dest is not self._server and frame.dest != self._server:
            events.append(
                FrameDiscarded(
                    f"frame for {_describe(frame.dest)} ({frame.dest.size}-byte address), "
                    f"not {_describe(self._server)} ({self._server.size}-byte address)"
                )
            )
            return
        control = frame.control
        kind = control.kind
        if frame.src.size != 1:
            events.append(FrameDiscarded(f"{kind.name} frame from a {frame.src.size}-byte client address"))
        elif (
            self._state is LinkState.CONNECTED and frame.src is not self._client and frame.src != self._client
        ):
            if control.poll_final:
                self._answer(frame.src, FrameType.DM)
            busy = f"busy with client {self._client.logical}"
            events.append(FrameDiscarded(f"{kind.name} frame from client {frame.src.logical}: {busy}"))
        elif kind is FrameType.SNRM:
            self._reject = None
            self._snrm(frame, events)
        elif kind is FrameType.DISC:
            self._reject = None
            if self._state is LinkState.CONNECTED:
                self._answer(frame.src, FrameType.UA)
                self._disconnect()
                events.append(LinkClosed("client disconnected (DISC)"))
            else:
                self._answer(frame.src, FrameType.DM)
        elif kind is FrameType.UI:
            self._receive_ui(frame, events)
        elif self._state is not LinkState.CONNECTED:
            if control.poll_final:
                self._answer(frame.src, FrameType.DM)
            events.append(FrameDiscarded(f"{kind.name} frame while disconnected"))
        elif self._reject is not None:
            # ISO/IEC 13239: in the frame-reject condition every poll is answered with the FRMR again.
            if control.poll_final:
                self._answer(frame.src, FrameType.FRMR, self._reject)
            events.append(FrameDiscarded(f"{kind.name} frame ignored: frame rejected until SNRM or DISC"))
        elif kind in (FrameType.I, FrameType.RR, FrameType.RNR):
            self._receive_sequenced(frame, events)
        else:
            events.append(FrameDiscarded(f"unexpected {kind.name} frame from the client"))

    def _snrm(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        client = frame.src.logical
        if self._accept_client is not None and not self._accept_client(client):
            self._answer(frame.src, FrameType.DM)
            events.append(FrameDiscarded(f"SNRM from client {client} refused"))
            return
        try:
            proposal = HdlcParameters.decode(frame.information)
        except DecodeError as error:
            self._answer(frame.src, FrameType.DM)
            events.append(FrameDiscarded(f"SNRM with unreadable HDLC parameters refused: {error}"))
            return
        self._disconnect()
        self._parameters = negotiate(proposal, self._limits)
        self._client = frame.src
        self._addresses = encoded_address(frame.src) + encoded_address(self._server)
        self._state = LinkState.CONNECTED
        self._answer(frame.src, FrameType.UA, self._parameters.encode())
        events.append(LinkOpened(self._parameters))

    def _enter_reject(self, control: int, reason: int, client: HdlcAddress, polled: bool) -> None:
        """The frame-reject condition (ISO/IEC 13239, table S7-S10 in docs/hdlc.md): the FRMR
        information field is the rejected control byte, then ``V(R) C/R V(S) 0`` (C/R = 0: the
        rejected frame was a command), then the reason bits W, X, Y, Z. It answers this poll and every
        later one until SNRM or DISC."""
        self._reject = bytes((control, (self._vr << 5) | (self._vs << 1), reason))
        if polled:
            self._answer(client, FrameType.FRMR, self._reject)

    def _unknown_command(self, error: UnknownControlError) -> None:
        if error.dest != self._server or error.src.size != 1 or error.src.logical == NO_STATION:
            return
        if self._state is not LinkState.CONNECTED or error.src != self._client:
            if error.poll_final:
                self._answer(error.src, FrameType.DM)  # not connected to this client: disconnected mode
            return
        if self._reject is not None:
            if error.poll_final:
                self._answer(error.src, FrameType.FRMR, self._reject)
            return
        # W: invalid or unimplemented control field; X with it when the frame also had an information field.
        reason = _FRMR_INVALID_CONTROL | (_FRMR_INFORMATION_NOT_PERMITTED if error.information else 0)
        self._enter_reject(error.control, reason, error.src, error.poll_final)

    def _receive_sequenced(self, frame: HdlcFrame, events: list[LinkEvent]) -> None:
        control = frame.control
        polled = control.poll_final
        if control.kind is not FrameType.I and frame.information:
            # RR and RNR carry no information field: W and X (X is only ever set with W).
            self._enter_reject(
                control.encode(), _FRMR_INVALID_CONTROL | _FRMR_INFORMATION_NOT_PERMITTED, frame.src, polled
            )
            events.append(FrameDiscarded(f"{control.kind.name} frame with an information field: FRMR"))
            return
        if len(frame.information) > self._parameters.max_info_rx:
            # Y: longer than the negotiated maximum information field length (the frame is not accepted).
            self._enter_reject(control.encode(), _FRMR_INFORMATION_TOO_LONG, frame.src, polled)
            events.append(
                FrameDiscarded(
                    f"I-frame information field of {len(frame.information)} bytes is longer than the "
                    f"negotiated {self._parameters.max_info_rx}: FRMR"
                )
            )
            return
        if self._acknowledge(control.nr) is None:
            # An N(R) naming a frame never sent: Z.
            self._enter_reject(control.encode(), _FRMR_INVALID_NR, frame.src, polled)
            events.append(
                FrameDiscarded(f"{control.kind.name} frame N(R)={control.nr} names a frame never sent: FRMR")
            )
            return
        if control.kind is FrameType.I:
            self._delivered |= self._receive_information(frame, events) is _Reception.DELIVERED
        else:
            self._peer_busy = control.kind is FrameType.RNR
        self._polled |= control.poll_final

    def _end_of_chunk(self, events: list[LinkEvent]) -> None:
        """Answer the client's poll, unless it completed an APDU: then the response answers it."""
        polled, delivered = self._polled, self._delivered
        self._polled = self._delivered = False
        if not polled or self._state is not LinkState.CONNECTED:
            return
        if delivered:
            self._owe_final = True
        else:
            self._owe_final = False
            self._answer_poll()

    def _answer_poll(self) -> None:
        """Send what the poll's N(R) shows missing and what is pending, else RR; F=1 on the last frame."""
        if not self._transmit(resend=True):
            self._send(_RR_POLL_FINAL | (self._vr << 5))


def _client_address(value: int) -> HdlcAddress:
    """``HdlcAddress(value)`` (a 1-byte address), as the frame decoder gives it."""
    if 0 <= value <= 0x7F:
        return remembered_address(_CLIENT_ADDRESS_BYTES[value])
    return HdlcAddress(value)  # raises the error


_CLIENT_ADDRESS_BYTES: Final = tuple(bytes(((value << 1) | 1,)) for value in range(0x80))


def _describe(address: HdlcAddress) -> str:
    """An HDLC address in words."""
    if address.physical is None:
        return f"address {address.logical}"
    return f"logical device {address.logical}, physical device {address.physical}"


def _frmr_reason(information: bytes) -> str:
    """The message for a FRMR frame, with what its information field says was wrong."""
    text = "HDLC server rejected a frame (FRMR)"
    if len(information) >= 3:
        reasons = [reason for bit, reason in _FRMR_REASONS if information[2] & bit]
        text += f": rejected control field 0x{information[0]:02X}"
        if reasons:
            text += ", " + ", ".join(reasons)
    elif information:
        text += f": information {information.hex(' ').upper()}"
    return text
