"""The wrapper data link of IEC 62056-47 (TCP and UDP) as sans-I/O state machines: :class:`WrapperLink`
for the client and :class:`WrapperServerLink` for the server.

The wrapper adds an 8-byte header (version, source and destination wPort, length) in front of every APDU
and nothing else: no connection handshake, no acknowledgement, no segmentation (an APDU is at most
65535 bytes) and no retransmission (TCP does that; on UDP a lost APDU is the application's business).
So these links are connected as soon as they are opened and never need a timer.

- **TCP** (:meth:`WrapperLink.receive_data`): frames are cut out of the byte stream, in any chunking. A
  header with a wrong version or an impossible length leaves no way to find the next frame: the link
  reports :class:`~dlmskit.link.events.LinkFailed` and the caller closes the connection.
- **UDP** (:meth:`WrapperLink.receive_datagram`, :meth:`WrapperLink.datagrams_to_send`): one datagram
  is one frame; a malformed datagram is discarded and the next one is read normally.

A frame for another pair of wPorts is discarded (:class:`~dlmskit.link.events.FrameDiscarded`).
"""

from __future__ import annotations

from dlmskit.errors import ConfigurationError, DecodeError, LinkError
from dlmskit.link.events import (
    ApduReceived,
    FrameDiscarded,
    LinkEvent,
    LinkFailed,
    LinkOpened,
    LinkState,
    TraceHook,
)
from dlmskit.link.wrapper import MAX_APDU_LENGTH, WrapperFrame, WrapperFrameReader

__all__ = ["WrapperLink", "WrapperServerLink"]


class _WrapperStation:
    """Framing, queueing and tracing common to both ends."""

    def __init__(self, local_wport: int, max_apdu_length: int, trace: TraceHook | None) -> None:
        self._local_wport = local_wport
        self._trace = trace
        self._reader = WrapperFrameReader(max_apdu_length)
        self._datagrams: list[bytes] = []
        self._state = LinkState.DISCONNECTED

    @property
    def state(self) -> LinkState:
        """Where the link stands."""
        return self._state

    @property
    def needs_timer(self) -> bool:
        """Always False: the wrapper does not retransmit."""
        return False

    def on_timeout(self) -> list[LinkEvent]:
        """Nothing to do: the wrapper does not retransmit (TCP does, for a stream)."""
        return []

    def data_to_send(self) -> bytes:
        """All frames queued since the last call, as one piece of the TCP stream."""
        return b"".join(self.datagrams_to_send())

    def datagrams_to_send(self) -> list[bytes]:
        """All frames queued since the last call, one per UDP datagram."""
        datagrams, self._datagrams = self._datagrams, []
        return datagrams

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[LinkEvent]:
        """Take bytes of the TCP stream, in any chunking; return what they completed."""
        if self._state is LinkState.FAILED:
            return []
        events: list[LinkEvent] = []
        for item in self._reader.feed(data):
            if isinstance(item, DecodeError):
                self._state = LinkState.FAILED
                events.append(LinkFailed(LinkError(f"wrapper stream cannot be read any further: {item}")))
                break
            self._receive(item, events)
        return events

    def receive_datagram(self, data: bytes | bytearray | memoryview) -> list[LinkEvent]:
        """Take one UDP datagram (exactly one frame)."""
        if self._state is LinkState.FAILED:
            return []
        try:
            frame = WrapperFrame.decode(data)
        except DecodeError as error:
            return [FrameDiscarded(f"wrapper datagram dropped: {error}")]
        events: list[LinkEvent] = []
        self._receive(frame, events)
        return events

    def _receive(self, frame: WrapperFrame, events: list[LinkEvent]) -> None:
        if self._trace is not None:
            self._trace("rx", frame.encode(), frame)
        if frame.dest_wport != self._local_wport:
            events.append(
                FrameDiscarded(f"wrapper frame for wPort {frame.dest_wport}, not {self._local_wport}")
            )
        else:
            self._accept(frame, events)

    def _accept(self, frame: WrapperFrame, events: list[LinkEvent]) -> None:
        raise NotImplementedError

    def _queue(self, remote_wport: int, apdu: bytes) -> None:
        frame = WrapperFrame(self._local_wport, remote_wport, apdu)
        raw = frame.encode()
        self._datagrams.append(raw)
        if self._trace is not None:
            self._trace("tx", raw, frame)


class WrapperLink(_WrapperStation):
    """The client end: sends from ``source_wport`` (the client SAP, 16 for the public client) to
    ``dest_wport`` (the logical device, 1 for the management logical device) and accepts only frames
    coming back between the same two wPorts. ``max_apdu_length`` bounds the APDUs accepted on TCP
    (a longer announced length fails the link)."""

    def __init__(
        self,
        source_wport: int,
        dest_wport: int,
        *,
        max_apdu_length: int = MAX_APDU_LENGTH,
        trace: TraceHook | None = None,
    ) -> None:
        _check_wport("source wPort", source_wport)
        _check_wport("destination wPort", dest_wport)
        super().__init__(source_wport, max_apdu_length, trace)
        self._dest_wport = dest_wport

    def open(self) -> None:
        """The link is connected at once (the TCP connection or UDP socket is the caller's)."""
        self._reader.reset()
        self._datagrams.clear()
        self._state = LinkState.CONNECTED

    def close(self) -> None:
        """Nothing to send; the caller closes the connection."""
        self._state = LinkState.DISCONNECTED

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU (at most 65535 bytes)."""
        if self._state is not LinkState.CONNECTED:
            raise LinkError(f"cannot send an APDU: the wrapper link is {self._state.name.lower()}")
        self._queue(self._dest_wport, apdu)

    def _accept(self, frame: WrapperFrame, events: list[LinkEvent]) -> None:
        if frame.source_wport != self._dest_wport:
            events.append(
                FrameDiscarded(f"wrapper frame from wPort {frame.source_wport}, not {self._dest_wport}")
            )
        elif self._state is not LinkState.CONNECTED:
            events.append(FrameDiscarded("wrapper frame while the link is not open"))
        else:
            events.append(ApduReceived(frame.apdu))


class WrapperServerLink(_WrapperStation):
    """The server end, for one connection (TCP) or one client (UDP): answers to ``server_wport`` and
    learns the client's wPort from the first frame, reported as :class:`LinkOpened` (with no
    parameters) before its APDU. Later frames from another wPort are discarded."""

    def __init__(
        self,
        server_wport: int,
        *,
        max_apdu_length: int = MAX_APDU_LENGTH,
        trace: TraceHook | None = None,
    ) -> None:
        _check_wport("server wPort", server_wport)
        super().__init__(server_wport, max_apdu_length, trace)
        self._client_wport = 0

    @property
    def client_wport(self) -> int | None:
        """The client's wPort (its client SAP) once known."""
        return self._client_wport if self._state is LinkState.CONNECTED else None

    def open(self) -> None:
        """Nothing to do: the first frame of the client opens the link."""

    def close(self) -> None:
        """Forget the client; the caller closes the connection."""
        self._state = LinkState.DISCONNECTED

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU for the client."""
        if self._state is not LinkState.CONNECTED:
            raise LinkError("cannot send an APDU: no client has sent a wrapper frame yet")
        self._queue(self._client_wport, apdu)

    def _accept(self, frame: WrapperFrame, events: list[LinkEvent]) -> None:
        if self._state is not LinkState.CONNECTED:
            self._client_wport = frame.source_wport
            self._state = LinkState.CONNECTED
            events.append(LinkOpened(None))
        elif frame.source_wport != self._client_wport:
            events.append(
                FrameDiscarded(f"wrapper frame from wPort {frame.source_wport}, not {self._client_wport}")
            )
            return
        events.append(ApduReceived(frame.apdu))


def _check_wport(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise ConfigurationError(f"{name} must be 0..0xFFFF, not {value}")
