"""The fuzz targets: every decoder and the server's input path, each a function of one input.

A target returns normally or raises one of the exceptions it is allowed to raise (``DecodeError``
for a decoder, for example); anything else (``IndexError``, ``KeyError``, ``AssertionError``,
``RecursionError``, a ``DlmsError`` where none may escape, a response the server cannot encode...) is
a finding. Stateful targets build fresh objects for every input, so one input never affects the next.

Multi-message inputs (the server's input path, the client session) are cut into messages with
:func:`split_messages`: a 2-byte big-endian length before each message. The seed corpus
(:mod:`seeds`) is written in that form, so the fuzzer mutates real sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.tinymeter import TinyMeter, demo_meter

from dlmskit.apdu.acse import AARE, AARQ
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
)
from dlmskit.apdu.parse import decode_apdu
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, DlmsError
from dlmskit.link.events import ApduReceived, LinkClosed, LinkOpened
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.wrapper import WrapperFrameReader
from dlmskit.security.ciphering import CipheredApdu
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.events import Negotiated
from dlmskit.session.server import ServerSession

SERVER = HdlcAddress(1, 17)
STOC = bytes.fromhex("503677524A323146")  # Green Book StoC (shared/reference/dlms-facts.md section 4)
CLIENTS = (16, 32, 1)
"""Client SAPs of the demo meter: public, LLS (password 12345678), HLS-GMAC with auth+enc."""


class Finding(AssertionError):
    """The target saw something wrong that is not an exception (e.g. an undecodable server answer)."""


def split_messages(data: bytes, limit: int = 64) -> list[bytes]:
    """Cut ``data`` into messages, each preceded by its 2-byte big-endian length (the last one takes
    what is left when the length runs past the end); at most ``limit`` messages."""
    messages = []
    offset = 0
    while offset + 2 <= len(data) and len(messages) < limit:
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        messages.append(data[offset : offset + length])
        offset += length
    return messages


def join_messages(messages: list[bytes]) -> bytes:
    """The inverse of :func:`split_messages`, for the seed corpus."""
    return b"".join(len(message).to_bytes(2, "big") + message for message in messages)


_METER: TinyMeter | None = None


def _meter() -> TinyMeter:
    """One demo meter for all inputs, its load profile cut to 60 rows (still several datablocks, but
    quick to encode). Inputs may write its attributes; what they write is only read back by the same
    kind of input, so one input does not change how another is handled."""
    global _METER
    if _METER is None:
        demo = demo_meter(max_pdu=256)
        profile = (7, "1.0.99.1.0.255", 2)
        demo.values[profile] = axdr.Array(list(demo.values[profile])[:60])  # type: ignore[call-overload]
        _METER = TinyMeter(associations=demo.associations, values=demo.values)
    return _METER


def _check_server_answer(answer: bytes) -> None:
    """A server answer must be an APDU a client can decode (or a ciphered one)."""
    if not answer:
        raise Finding("the server answered with an empty APDU")
    if answer[0] in (0xC8, 0xCC, 0xCD, 0xCF, 0xD4, 0xD5, 0xD7, 0xDB, 0xDC):
        CipheredApdu.decode(answer)
        return
    try:
        decode_apdu(answer)
    except DecodeError as error:
        raise Finding(f"the server answered with an APDU it cannot decode itself: {error}") from error


# -- decoders: only DecodeError may come out ------------------------------------------------------------


def fuzz_axdr(data: bytes) -> None:
    axdr.decode(data)


def fuzz_decode_apdu(data: bytes) -> None:
    decode_apdu(data)


def fuzz_ciphered_apdu(data: bytes) -> None:
    CipheredApdu.decode(data)


def fuzz_aarq(data: bytes) -> None:
    AARQ.decode(data)


def fuzz_aare(data: bytes) -> None:
    AARE.decode(data)


# -- stream readers: nothing may come out ---------------------------------------------------------------


def _chunks(data: bytes) -> list[bytes]:
    """Two ways to cut the input: at the position its first byte names, and then byte by byte for
    the first 64 bytes (the outcome must not depend on the chunking)."""
    if not data:
        return [b""]
    cut = data[0] % (len(data) + 1)
    return [data[:cut], data[cut:]]


def fuzz_hdlc_reader(data: bytes) -> None:
    whole = HdlcFrameReader().feed(data)
    pieces = HdlcFrameReader()
    chunked = [event for chunk in _chunks(data) for event in pieces.feed(chunk)]
    if [str(event) for event in whole] != [str(event) for event in chunked]:
        raise Finding("HdlcFrameReader: the frames found depend on how the stream is chunked")


def fuzz_wrapper_reader(data: bytes) -> None:
    reader = WrapperFrameReader(max_apdu_length=4096)
    for chunk in _chunks(data):
        reader.feed(chunk)


# -- the server's input path: nothing may come out, every answer must decode -------------------------------


def fuzz_server_session(data: bytes) -> None:
    """The messages are APDUs from the client; the first byte of the input picks the client SAP."""
    if not data:
        return
    session = ServerSession(_meter(), CLIENTS[data[0] % len(CLIENTS)], challenge_factory=lambda: STOC)
    for apdu in split_messages(data[1:]):
        for answer in session.receive(apdu):
            _check_server_answer(answer)


def fuzz_hdlc_server_link(data: bytes) -> None:
    """Raw bytes from the line into the meter's HDLC link (and its sessions, as the simulator runs
    them); the first byte picks the chunking."""
    link = HdlcServerLink(SERVER, LARGEST_PARAMETERS)
    _serve(link, _chunks(data))


def fuzz_hdlc_server_frames(data: bytes) -> None:
    """Well-formed frames (correct addresses, HCS and FCS) from client 16 or 32 into the meter's link
    and sessions: each message is a control byte, a segmentation flag byte and the information field,
    so the fuzzer gets past the frame check sequence and into the link and session state machines."""
    if not data:
        return
    client = HdlcAddress((16, 32)[data[0] & 1])
    stream = []
    for message in split_messages(data[1:]):
        if len(message) < 2:
            continue
        try:
            control = Control.decode(message[0])
        except DecodeError:
            control = Control(FrameType.I, True)
        information = message[2:2029]
        segmented = bool(message[1] & 1) and control.kind in (FrameType.I, FrameType.UI)
        if control.kind not in (FrameType.I, FrameType.UI, FrameType.SNRM):
            information = b""
        stream.append(HdlcFrame(SERVER, client, control, information, segmented).encode())
    link = HdlcServerLink(SERVER, LARGEST_PARAMETERS)
    _serve(link, stream)


def _serve(link: HdlcServerLink, chunks: list[bytes]) -> None:
    sessions: dict[int, ServerSession] = {}
    for chunk in chunks:
        for event in link.receive_data(chunk):
            if isinstance(event, (LinkOpened, LinkClosed)):
                sessions.clear()
            elif isinstance(event, ApduReceived) and link.client_address is not None:
                sap = link.client_address
                session = sessions.setdefault(
                    sap, ServerSession(_meter(), sap, challenge_factory=lambda: STOC)
                )
                for answer in session.receive(event.apdu):
                    _check_server_answer(answer)
                    link.send_apdu(answer)
        link.data_to_send()
        if link.needs_timer:
            link.on_timeout()


# -- the client: typed errors only ----------------------------------------------------------------------


def fuzz_hdlc_client_link(data: bytes) -> None:
    """Raw bytes from the line into a client link that sent SNRM (then, once connected, a request)."""
    link = HdlcClientLink(16, SERVER, LARGEST_PARAMETERS)
    link.open()
    for chunk in _chunks(data):
        link.receive_data(chunk)
        if link.state.name == "CONNECTED" and not link.needs_timer:
            link.send_apdu(b"\xc0\x01\xc1\x00\x01\x00\x00\x2a\x00\x00\xff\x02\x00")
        link.on_timeout()
        link.data_to_send()


def fuzz_client_session(data: bytes) -> None:
    """APDUs from a hostile meter into an associated client session waiting for a GET; the first byte
    of the input picks the request (GET, SET, ACTION) the answers are for."""
    if not data:
        return
    session = ClientSession(ClientSettings())
    session.assume_associated(
        Negotiated(
            conformance=ClientSettings().conformance,
            server_max_receive_pdu_size=0x400,
            client_max_receive_pdu_size=0xFFFF,
            dlms_version=6,
            vaa_name=0x0007,
            server_system_title=None,
            mechanism=0,
        )
    )
    attribute = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
    kind = data[0] % 3
    if kind == 0:
        session.get(attribute)
    elif kind == 1:
        session.set(attribute, axdr.OctetString(bytes(3000)))
    else:
        session.action(
            CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1), axdr.OctetString(bytes(3000))
        )
    for apdu in split_messages(data[1:], limit=32):
        try:
            session.receive(apdu)
        except DlmsError:
            return


@dataclass(frozen=True)
class Target:
    """One fuzz target: the function and the exceptions it may raise."""

    function: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...]


TARGETS: dict[str, Target] = {
    "axdr": Target(fuzz_axdr, (DecodeError,)),
    "decode_apdu": Target(fuzz_decode_apdu, (DecodeError,)),
    "ciphered_apdu": Target(fuzz_ciphered_apdu, (DecodeError,)),
    "aarq": Target(fuzz_aarq, (DecodeError,)),
    "aare": Target(fuzz_aare, (DecodeError,)),
    "hdlc_reader": Target(fuzz_hdlc_reader, ()),
    "wrapper_reader": Target(fuzz_wrapper_reader, ()),
    "server_session": Target(fuzz_server_session, ()),
    "hdlc_server_link": Target(fuzz_hdlc_server_link, ()),
    "hdlc_server_frames": Target(fuzz_hdlc_server_frames, ()),
    "hdlc_client_link": Target(fuzz_hdlc_client_link, ()),
    "client_session": Target(fuzz_client_session, ()),
}
"""Every target by name (``make fuzz`` runs them all, a share of the time each)."""
