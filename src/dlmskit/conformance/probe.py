"""The meter under test as the conformance tests see it: raw frames, associations and APDUs, all recorded.

:class:`MeterUnderTest` holds the settings (``dlmskit.client.MeterSettings``) and gives each test what it
needs, on a fresh connection each time:

- :meth:`MeterUnderTest.raw`: a :class:`RawLink`, frames built and read with the frame codec
  (:mod:`dlmskit.link.hdlc_frame`, :mod:`dlmskit.link.wrapper`), for the tests of the link itself;
- :meth:`MeterUnderTest.associate`: an :class:`Association` over the ordinary sans-I/O link and client
  session, whose requests and answers are kept as bytes and decoded strictly by the APDU codec, so that a
  test sees a malformed answer instead of a client error.

Every frame that goes out or comes in lands in the running test's :class:`Transcript`, rendered by the
trace translator (:mod:`dlmskit.translator`): the same grammar as everywhere else, no second parser.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final

from dlmskit.apdu import acse
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.exception import ExceptionResponse
from dlmskit.apdu.get import GetRequestNext, GetRequestNormal, GetResponseNormal, GetResponseWithDatablock
from dlmskit.apdu.initiate import InitiateResponse
from dlmskit.apdu.parse import decode_apdu, decode_apdu_prefix
from dlmskit.client.core import ClientCore
from dlmskit.client.settings import MeterSettings
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis, obis
from dlmskit.errors import DecodeError, DlmsError, LinkError, MeterTimeout, ProtocolError
from dlmskit.link.events import ApduReceived, Link, LinkClosed, LinkFailed, LinkOpened, LinkState
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper import WrapperFrame, WrapperFrameReader
from dlmskit.session.client import ClientSession
from dlmskit.session.events import Associated, Negotiated, SendApdu
from dlmskit.session.protection import ApduProtection
from dlmskit.translator import TraceItem, Translator, to_text
from dlmskit.translator.hexinput import Direction
from dlmskit.translator.translate import Translation
from dlmskit.transport.tcp import TcpTransport

__all__ = ["Association", "GetReply", "MeterUnderTest", "RawLink", "Reply", "Transcript"]

_TRANSCRIPT_LIMIT: Final = 120
"""Frames kept per test (the first ones: how the exchange started is what explains a failure)."""


class Transcript:
    """The frames of one test, in order, with their decoding (done when the report is written)."""

    def __init__(self, render: Callable[[bytes, str], str]) -> None:
        self._render = render
        self.entries: list[tuple[str, bytes, str]] = []
        self.dropped = 0

    def add(self, direction: str, data: bytes, note: str = "") -> None:
        if len(self.entries) >= _TRANSCRIPT_LIMIT:
            self.dropped += 1
            return
        self.entries.append((direction, bytes(data), note))

    def to_list(self) -> list[dict[str, str]]:
        out = [
            {"direction": d, "hex": data.hex().upper(), "decoded": self._render(data, d), "note": note}
            for d, data, note in self.entries
        ]
        if self.dropped:
            out.append({"direction": "", "hex": "", "decoded": "", "note": f"{self.dropped} more frames"})
        return out


class MeterUnderTest:
    """The meter and how to reach it. ``silence`` is how long a test waits to conclude that the meter
    ignored a frame (it must answer within ``settings.timeout`` otherwise); ``challenge`` makes the HLS
    challenge CtoS (fresh random bytes by default: give a fixed one only to replay a recording)."""

    def __init__(
        self,
        settings: MeterSettings,
        *,
        silence: float = 1.0,
        challenge: Callable[[], bytes] | None = None,
    ) -> None:
        self.settings = settings
        self.silence = silence
        self._challenge = challenge or (lambda: secrets.token_bytes(16))
        self.transcript = Transcript(self.render)
        self.server_system_title: bytes | None = None
        self.cache: dict[str, Any] = {}
        """What one test learnt that another may reuse (the object list), keyed by a name."""
        self._open: list[RawLink | Association] = []

    # -- rendering ----------------------------------------------------------------------------------------

    def render(self, data: bytes, direction: str = "rx") -> str:
        """``data`` (a frame or an APDU) decoded to text by the trace translator, deciphered when the
        keys are known."""
        s = self.settings
        keys = None
        if s.block_cipher_key is not None and s.authentication_key is not None:
            keys = (s.block_cipher_key.reveal(), s.authentication_key.reveal())  # type: ignore[union-attr]
        client_title = bytes(s.system_title)  # type: ignore[arg-type]
        translator = Translator(keys, client_title=client_title, server_title=self.server_system_title)
        item = TraceItem(Direction.TX if direction == "tx" else Direction.RX, bytes(data), 1)
        try:
            translated = translator.translate_item(item)
            text = to_text(Translation([translated], translator.warnings))
        except DlmsError as error:  # pragma: no cover - the translator notes what it cannot decode
            return f"(not decodable: {error})"
        return "\n".join(text.splitlines()[1:])

    # -- connections --------------------------------------------------------------------------------------

    def _transport(self) -> TcpTransport:
        s = self.settings
        if s.device is not None or s.udp:
            raise ProtocolError("the conformance tester reaches meters over TCP (HDLC or the wrapper) only")
        transport = TcpTransport(s.host, s.port, connect_timeout=s.connect_timeout)
        transport.open()
        return transport

    def raw(self) -> RawLink:
        """A fresh connection for raw frames (closed at the end of the test at the latest)."""
        link = RawLink(self, self._transport())
        self._open.append(link)
        return link

    def associate(
        self,
        *,
        public: bool = False,
        open_link: bool = True,
        adjust: Callable[[ClientSession], None] | None = None,
        **overrides: Any,
    ) -> Association:
        """A fresh connection with an association: the settings' client (or the public client), with
        ``overrides`` of single settings (``max_pdu_size=256``, ``hdlc_max_info_length=64``...). ``adjust``
        may change the session settings before the AARQ. Call :meth:`Association.open` (or use the
        association as a context manager) to send the AARQ."""
        settings = replace(self.settings, **overrides) if overrides else self.settings
        association = Association(self, settings, public=public, adjust=adjust)
        self._open.append(association)
        return association

    def close_all(self) -> None:
        """Close whatever the last test left open."""
        while self._open:
            self._open.pop().close()


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: ``raw`` as on the wire (ciphered where ciphered), ``plain`` after deciphering and
    ``decoded`` (None with ``error`` set when the strict APDU decoder refused it). ``trailing`` counts the
    bytes after a complete APDU that a lenient read passed over (see :meth:`Association.unwrap`)."""

    raw: bytes
    plain: bytes
    decoded: object | None
    error: DlmsError | None = None
    trailing: int = 0


@dataclass(frozen=True, slots=True)
class GetReply:
    """The result of a GET: the value or the data-access-result, the replies it took, and ``problem``
    (words) when the answer was malformed."""

    value: axdr.Data = None
    result: int | None = None
    replies: tuple[Reply, ...] = ()
    problem: str = ""
    blocks: int = 0

    @property
    def trailing(self) -> int:
        """Bytes after complete APDUs that a lenient read passed over (0 for a strict read)."""
        return sum(reply.trailing for reply in self.replies)

    @property
    def ok(self) -> bool:
        return self.result is None and not self.problem

    @property
    def raw(self) -> bytes:
        return self.replies[-1].raw if self.replies else b""


class RawLink:
    """One TCP connection carrying frames the test builds itself (HDLC or wrapper, as the settings say)."""

    def __init__(self, meter: MeterUnderTest, transport: TcpTransport) -> None:
        self.meter = meter
        self.transport = transport
        s = meter.settings
        self.hdlc = s.link == "hdlc"
        self.client = HdlcAddress(s.client_address)
        self.server = HdlcAddress(s.server_logical, s.server_physical)
        self._hdlc_reader = HdlcFrameReader()
        self._wrapper_reader = WrapperFrameReader()
        self._pending: list[HdlcFrame | WrapperFrame | DecodeError] = []
        self.closed_by_peer = False

    def send(self, data: bytes, note: str = "") -> None:
        """Send bytes as they are (a frame, a damaged frame, garbage)."""
        self.meter.transcript.add("tx", data, note)
        self.transport.send(data)

    def frame(
        self,
        kind: FrameType,
        information: bytes = b"",
        *,
        poll: bool = True,
        ns: int = 0,
        nr: int = 0,
        segmented: bool = False,
        server: HdlcAddress | None = None,
    ) -> bytes:
        """The bytes of an HDLC command frame from our client to the server (or to ``server``)."""
        control = Control(kind, poll, ns=ns, nr=nr)
        return HdlcFrame(server or self.server, self.client, control, information, segmented).encode()

    def receive(self, timeout: float | None = None) -> HdlcFrame | WrapperFrame | DecodeError | None:
        """The next frame (or the error of a damaged one); None when nothing came within ``timeout``
        (default: the settings' answer timeout) or the meter closed the connection."""
        wait = self.meter.settings.timeout if timeout is None else timeout
        while not self._pending:
            try:
                data = self.transport.recv(wait)
            except MeterTimeout:
                return None
            except LinkError:
                self.closed_by_peer = True
                return None
            if not data:
                self.closed_by_peer = True
                return None
            found: list[Any] = self._hdlc_reader.feed(data) if self.hdlc else self._wrapper_reader.feed(data)
            for event in found:
                if isinstance(event, (HdlcFrame, WrapperFrame)):
                    self.meter.transcript.add(
                        "rx", event.encode() if isinstance(event, WrapperFrame) else data
                    )
                else:
                    self.meter.transcript.add("rx", data, f"damaged: {event}")
            self._pending.extend(found)
        return self._pending.pop(0)

    def silent(self, timeout: float | None = None) -> HdlcFrame | WrapperFrame | DecodeError | None:
        """Wait ``meter.silence`` seconds for a frame that should not come; return it if one did."""
        return self.receive(self.meter.silence if timeout is None else timeout)

    def snrm(self, parameters: HdlcParameters | None = None) -> HdlcFrame | WrapperFrame | DecodeError | None:
        """Send SNRM (with ``parameters``, or none: the defaults) and return the answer."""
        self.send(self.frame(FrameType.SNRM, parameters.encode() if parameters else b""))
        return self.receive()

    def disc(self) -> HdlcFrame | WrapperFrame | DecodeError | None:
        """Send DISC and return the answer."""
        self.send(self.frame(FrameType.DISC))
        return self.receive()

    def close(self) -> None:
        self.transport.close()


class Association:
    """An application association over the ordinary client link and session, with every APDU at hand.

    The link (segmentation, RR, sequence numbers) and the AARQ/HLS exchange are dlmskit's own; the data
    services (:meth:`request`, :meth:`get`) send APDUs built from the codec's dataclasses and decode the
    answers strictly, so every departure of the meter shows as a :class:`Reply` with an error.
    """

    def __init__(
        self,
        meter: MeterUnderTest,
        settings: MeterSettings,
        *,
        public: bool,
        adjust: Callable[[ClientSession], None] | None,
    ) -> None:
        self.meter = meter
        self.settings = settings
        core = ClientCore(settings, on_frame=self._on_frame)
        self.link: Link
        self.link, session = core.new_association(public=public)
        if adjust is not None:
            adjust(session)
        self.session = ClientSession(session.settings, challenge=meter._challenge())
        self.transport: TcpTransport | None = None
        self.negotiated: Negotiated | None = None
        self.aare: bytes = b""
        self.initiate_response: InitiateResponse | None = None
        """The AARE's InitiateResponse, deciphered, as the meter sent it."""
        self.hls_reply: bytes = b""
        self.link_parameters: HdlcParameters | None = None
        self.server_counters: list[int] = []
        """The invocation counters of the meter's ciphered APDUs, in order of arrival."""
        self.frames_rx: list[HdlcFrame] = []
        """The HDLC frames received, decoded."""
        self._invoke = 0
        self._pending: list[bytes] = []

    # -- plumbing -----------------------------------------------------------------------------------------

    def _on_frame(self, direction: str, data: bytes, decoded: object) -> None:
        self.meter.transcript.add(direction, data)
        if direction == "rx" and isinstance(decoded, HdlcFrame):
            self.frames_rx.append(decoded)

    def _flush(self) -> None:
        data = self.link.data_to_send()
        if data and self.transport is not None:
            self.transport.send(data)

    def _events(self) -> list[object]:
        assert self.transport is not None
        try:
            data = self.transport.recv(self.settings.timeout)
        except MeterTimeout:
            if not self.link.needs_timer:
                raise MeterTimeout(f"no answer within {self.settings.timeout:g} s") from None
            events: list[object] = list(self.link.on_timeout())
        else:
            if not data:
                raise LinkError("the meter closed the connection")
            events = list(self.link.receive_data(data))
        self._flush()
        for event in events:
            if isinstance(event, LinkFailed):
                raise event.error
            if isinstance(event, ApduReceived):
                self._pending.append(event.apdu)
        return events

    def _link_state(self) -> LinkState:
        return self.link.state

    def connect(self) -> None:
        """Open the TCP connection and the link (SNRM/UA on HDLC)."""
        self.transport = self.meter._transport()
        self.link.open()
        self._flush()
        while self.link.state != LinkState.CONNECTED:
            for event in self._events():
                if isinstance(event, LinkOpened):
                    self.link_parameters = event.parameters
                if isinstance(event, LinkClosed):
                    raise LinkError(f"the meter closed the link ({event.reason})")

    def exchange(self, apdu: bytes) -> bytes:
        """Send one APDU as it is and return the next APDU from the meter, as it is."""
        if self.transport is None:
            self.connect()
        self.link.send_apdu(apdu)
        self._flush()
        while not self._pending:
            self._events()
        return self._pending.pop(0)

    def _track(self, raw: bytes) -> None:
        from dlmskit.security.ciphering import CipheredApdu, is_ciphered_tag

        if raw and is_ciphered_tag(raw[0]):
            with contextlib.suppress(DecodeError):
                self.server_counters.append(CipheredApdu.decode(raw).invocation_counter)

    # -- association --------------------------------------------------------------------------------------

    def open(self, aarq: bytes | None = None) -> Negotiated:
        """Send the AARQ (``aarq`` instead of the session's own, for tests of refusals) and run HLS."""
        request = aarq if aarq is not None else self.session.associate()
        if aarq is not None:
            self.session.associate()  # the session now waits for the AARE
        self.aare = answer = self.exchange(request)
        self._track(answer)
        if answer[:1] == bytes((acse.AARE.TAG,)):
            with contextlib.suppress(DlmsError):
                # bytes after the AARE are association.public's to judge, not a reason to lose the AARE
                aare = acse.AARE.decode(answer[: decode_apdu_prefix(answer)[1]])
                title = aare.responding_ap_title
                if title is not None:
                    self.meter.server_system_title = title
                self._track(aare.user_information or b"")
                protection = ApduProtection(self.session.settings.security)
                protection.peer_system_title = title
                plain, _ = protection.unwrap(aare.user_information or b"")
                if plain[:1] == bytes((InitiateResponse.TAG,)):
                    self.initiate_response = InitiateResponse.decode(plain)
        event = self.session.receive(answer)
        while isinstance(event, SendApdu):
            self.hls_reply = answer = self.exchange(event.apdu)
            self._track(answer)
            event = self.session.receive(answer)
        if not isinstance(event, Associated):
            raise ProtocolError(f"association: unexpected {type(event).__name__}")
        self.negotiated = event.negotiated
        return event.negotiated

    def __enter__(self) -> Association:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def release(self) -> bytes:
        """Send the RLRQ and return the raw answer (the session's release, ciphered where it ciphers)."""
        answer = self.exchange(self.session.release())
        self.session.released_without_rlrq()
        self.negotiated = None
        self._track(answer)
        return answer

    def close(self) -> None:
        """Release (when associated) and disconnect, quietly: closing is not what the tests judge."""
        if self.transport is None:
            return
        try:
            if self.negotiated is not None:
                self.release()
            if self.link.state == LinkState.CONNECTED:
                self.link.close()
                self._flush()
                while self._link_state() == LinkState.DISCONNECTING:
                    self._events()
        except DlmsError:
            pass
        finally:
            self.transport.close()
            self.transport = None

    # -- data services -------------------------------------------------------------------------------------

    def next_invoke(self) -> InvokeIdAndPriority:
        self._invoke = (self._invoke + 1) % 16
        return InvokeIdAndPriority(self._invoke)

    def unwrap(self, raw: bytes, *, lenient: bool = False) -> Reply:
        """Decipher (when ciphered) and decode ``raw`` strictly; with ``lenient``, bytes after a complete
        APDU are passed over and counted in :attr:`Reply.trailing` (for tests that judge something else:
        services.get-normal and services.get-selective-access judge those bytes)."""
        self._track(raw)
        try:
            plain, _ = self.session.protection.unwrap(raw)
        except DlmsError as error:
            return Reply(raw, b"", None, error)
        try:
            return Reply(raw, plain, decode_apdu(plain))
        except DlmsError as error:
            if lenient:
                with contextlib.suppress(DlmsError):
                    decoded, end = decode_apdu_prefix(plain)
                    return Reply(raw, plain, decoded, trailing=len(plain) - end)
            return Reply(raw, plain, None, error)

    def request(self, plain: bytes, *, protect: bool = True, lenient: bool = False) -> Reply:
        """Send a plain APDU (ciphered as the security policy says unless ``protect`` is False) and
        return the answer, decoded strictly (or with ``lenient``, see :meth:`unwrap`)."""
        apdu = self.session.protection.wrap(plain) if protect else plain
        return self.unwrap(self.exchange(apdu), lenient=lenient)

    def get(
        self,
        class_id: int,
        logical_name: Obis | str,
        attribute: int,
        access: SelectiveAccessDescriptor | None = None,
        *,
        lenient: bool = False,
    ) -> GetReply:
        """GET one attribute, following the blocks of a long answer; never raises for what the meter
        answers (see :class:`GetReply`). ``lenient`` passes over bytes after a complete APDU (see
        :meth:`unwrap`): for tests that read a value to judge something else."""
        descriptor = CosemAttributeDescriptor(class_id, obis(logical_name), attribute)
        invoke = self.next_invoke()
        reply = self.request(GetRequestNormal(invoke, descriptor, access).encode(), lenient=lenient)
        replies = [reply]
        raw = bytearray()
        blocks = 0
        while True:
            decoded = reply.decoded
            if reply.error is not None:
                return GetReply(replies=tuple(replies), problem=_problem(reply.error), blocks=blocks)
            if isinstance(decoded, ExceptionResponse):
                return GetReply(
                    replies=tuple(replies), problem=f"exception-response {decoded}", blocks=blocks
                )
            if isinstance(decoded, GetResponseNormal):
                if decoded.invoke.invoke_id != invoke.invoke_id:
                    problem = f"invoke-id {decoded.invoke.invoke_id} answers invoke-id {invoke.invoke_id}"
                    return GetReply(replies=tuple(replies), problem=problem)
                result = decoded.result
                if result.error is not None:
                    return GetReply(result=int(result.error), replies=tuple(replies), blocks=blocks)
                return GetReply(value=result.value, replies=tuple(replies), blocks=blocks)
            if not isinstance(decoded, GetResponseWithDatablock):
                problem = f"a {type(decoded).__name__} answers a GET request"
                return GetReply(replies=tuple(replies), problem=problem, blocks=blocks)
            block = decoded.block
            blocks += 1
            if block.block_number != blocks:
                problem = f"block number {block.block_number} where {blocks} was due"
                return GetReply(replies=tuple(replies), problem=problem, blocks=blocks)
            if block.error is not None:
                return GetReply(result=int(block.error), replies=tuple(replies), blocks=blocks)
            raw += block.raw_data
            if block.last_block:
                try:
                    value, end = axdr.decode_from(bytes(raw), 0)
                except DlmsError as error:
                    return GetReply(replies=tuple(replies), problem=_problem(error), blocks=blocks)
                if end != len(raw):
                    problem = f"{len(raw) - end} bytes after the value in the joined blocks"
                    return GetReply(replies=tuple(replies), problem=problem, blocks=blocks)
                return GetReply(value=value, replies=tuple(replies), blocks=blocks)
            reply = self.request(GetRequestNext(invoke, block.block_number).encode(), lenient=lenient)
            replies.append(reply)

    def method(self, class_id: int, logical_name: Obis | str, method_id: int) -> CosemMethodDescriptor:
        return CosemMethodDescriptor(class_id, obis(logical_name), method_id)


def _problem(error: DlmsError) -> str:
    return f"{type(error).__name__}: {error}"
