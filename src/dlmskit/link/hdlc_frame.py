"""HDLC frames of frame format type 3 (IEC 62056-46), the framing of DLMS/COSEM on serial lines.

::

    7E | format (2) | destination address | source address | control | [HCS (2) | information] | FCS (2) | 7E

- The format field is ``1010 S LLL LLLLLLLL``: frame format type 3 (``A``), the segmentation bit S
  (``A8``: more segments of the same information follow) and an 11-bit length counting every byte
  between the two flags.
- The header check sequence (HCS) covers format..control and is present only when the frame carries
  information; the frame check sequence (FCS) covers format..information. Both are CRC-16/X.25, low
  byte first (:mod:`dlmskit.link.crc`).
- There is no byte stuffing: a 0x7E inside a frame is data, the length field delimits the frame.

The first segment of every information field carrying an APDU starts with the LLC header
(:data:`LLC_REQUEST` from the client, :data:`LLC_RESPONSE` from the server); :func:`segment` splits an
information field into I-frame sized pieces for the link layer.
"""

from __future__ import annotations

import enum
from binascii import crc_hqx
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlmskit.errors import DecodeError, EncodeError
from dlmskit.link.crc import _BIT_REVERSED, _INITIAL, _RESIDUE, _REVERSED_INVERTED, crc16
from dlmskit.link.hdlc_address import HdlcAddress, decode_address, encoded_address, remembered_address

__all__ = [
    "FLAG",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "MAX_FRAME_LENGTH",
    "Control",
    "FrameCheckError",
    "FrameType",
    "HdlcFrame",
    "UnknownControlError",
    "decode_intact",
    "encode_frame",
    "remove_llc",
    "segment",
]

FLAG: Final = 0x7E
_FLAG_BYTE: Final = bytes((FLAG,))
"""The opening and closing flag of every frame."""
MAX_FRAME_LENGTH: Final = 0x7FF
"""The largest value of the 11-bit frame length (the bytes between the two flags)."""
LLC_REQUEST: Final = b"\xe6\xe6\x00"
"""LLC header of a client -> server information field (destination LSAP E6, source LSAP E6, quality 00)."""
LLC_RESPONSE: Final = b"\xe6\xe7\x00"
"""LLC header of a server -> client information field (destination LSAP E6, source LSAP E7, quality 00)."""

_FORMAT_TYPE_3: Final = 0xA000
_SEGMENTED: Final = 0x0800
_LENGTH_MASK: Final = 0x07FF
_SEQUENCE_MODULUS: Final = 8
_MIN_FRAME_LENGTH: Final = 7
"""format (2) + destination (1) + source (1) + control (1) + FCS (2)."""


class FrameCheckError(DecodeError):
    """The HCS or FCS of a frame does not match its contents: the frame was corrupted on the line.

    The link layer discards such a frame (and may count it); the peer repeats it after its timeout.
    """


class UnknownControlError(DecodeError):
    """A frame that is intact (HCS and FCS check) but whose control field is not one DLMS/COSEM uses.

    It carries what a secondary station needs to answer it with FRMR (ISO/IEC 13239: an invalid or
    unimplemented command with P=1 is answered with FRMR, bit W): the addresses, the control byte
    and whether the frame had an information field.
    """

    def __init__(
        self, error: DecodeError, dest: HdlcAddress, src: HdlcAddress, control: int, information: bytes
    ) -> None:
        super().__init__(error.reason, offset=error.offset, expected=error.expected, found=error.found)
        self.dest = dest
        self.src = src
        self.control = control
        self.information = information

    @property
    def poll_final(self) -> bool:
        """The P/F bit of the control byte (bit 5 in every frame format)."""
        return bool(self.control & 0x10)


class FrameType(enum.Enum):
    """The kind of frame a control field announces; the value is its control byte with all of
    P/F, N(S) and N(R) zero."""

    I = 0x00  # noqa: E741 - the name of the frame in the standard
    """Information frame: sequenced, carries N(S) and N(R)."""
    RR = 0x01
    """Receive ready: acknowledges up to N(R) - 1, asks for more."""
    RNR = 0x05
    """Receive not ready: acknowledges up to N(R) - 1, asks the peer to wait."""
    SNRM = 0x83
    """Set normal response mode: the client opens (or resets) the link."""
    UA = 0x63
    """Unnumbered acknowledge: the server accepts SNRM or DISC."""
    DISC = 0x43
    """Disconnect: the client closes the link."""
    DM = 0x0F
    """Disconnected mode: the server is not connected (answer to DISC or to frames out of NRM)."""
    FRMR = 0x87
    """Frame reject: the server received a frame it cannot accept."""
    UI = 0x03
    """Unnumbered information: information outside the sequence numbering (broadcast, push)."""


_SUPERVISORY: Final = {FrameType.RR.value: FrameType.RR, FrameType.RNR.value: FrameType.RNR}
_UNNUMBERED: Final = {
    kind.value: kind
    for kind in (FrameType.SNRM, FrameType.UA, FrameType.DISC, FrameType.DM, FrameType.FRMR, FrameType.UI)
}


@dataclass(frozen=True, slots=True)
class Control:
    """An HDLC control field.

    ``poll_final`` is the P bit in commands (client -> server: "answer now") and the F bit in
    responses (server -> client: "this is my last frame"). ``ns`` is the send sequence number N(S) of
    an I-frame; ``nr`` the receive sequence number N(R) (the next N(S) expected) of I, RR and RNR
    frames. Both count modulo 8 and must be 0 for frame types that have no such field.

    ``I``: ``N(R)<<5 | P/F<<4 | N(S)<<1``; ``RR``: ``N(R)<<5 | P/F<<4 | 0x01``; ``RNR``: ``... | 0x05``;
    SNRM 0x83, UA 0x63, DISC 0x43, DM 0x0F, FRMR 0x87 and UI 0x03, each ``| 0x10`` with P/F set.
    """

    kind: FrameType
    poll_final: bool = False
    ns: int = 0
    nr: int = 0

    def __post_init__(self) -> None:
        for name, value in (("N(S)", self.ns), ("N(R)", self.nr)):
            if not 0 <= value < _SEQUENCE_MODULUS:
                raise EncodeError(f"{name} must be 0..7, not {value}")
        if self.ns and self.kind is not FrameType.I:
            raise EncodeError(f"a {self.kind.name} frame has no N(S)")
        if self.nr and self.kind not in (FrameType.I, FrameType.RR, FrameType.RNR):
            raise EncodeError(f"a {self.kind.name} frame has no N(R)")

    def encode(self) -> int:
        """The control byte."""
        return self.kind.value | (self.nr << 5) | (self.poll_final << 4) | (self.ns << 1)

    @classmethod
    def decode(cls, value: int) -> Control:
        """Decode a control byte; control fields of frames DLMS/COSEM does not use raise
        :class:`~dlmskit.errors.DecodeError`."""
        if 0 <= value <= 0xFF:
            control = _CONTROLS[value]
            if control is not None:
                return control
        return cls._decode(value)

    @classmethod
    def _decode(cls, value: int) -> Control:
        poll_final = bool(value & 0x10)
        if not value & 0x01:
            return cls(FrameType.I, poll_final, ns=(value >> 1) & 0x07, nr=value >> 5)
        if value & 0x02:
            kind, nr = _UNNUMBERED.get(value & 0xEF), 0
        else:
            kind, nr = _SUPERVISORY.get(value & 0x0F), value >> 5
        if kind is None:
            raise DecodeError(
                "HDLC control field not used by DLMS/COSEM",
                expected="I, RR, RNR, SNRM, UA, DISC, DM, FRMR or UI",
                found=f"0x{value:02X}",
            )
        return cls(kind, poll_final, nr=nr)


def _control_or_none(value: int) -> Control | None:
    try:
        return Control._decode(value)
    except DecodeError:
        return None


_CONTROLS: Final = tuple(_control_or_none(value) for value in range(256))
"""Every control byte decoded once (a ``Control`` is immutable): one lookup per received frame."""


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One HDLC frame of format type 3.

    ``dest`` and ``src`` are the destination and source addresses (client -> server frames have the
    server address as ``dest``), ``information`` the information field (empty: no HCS and no
    information field), ``segmented`` the S bit of the format field (more segments follow).
    """

    dest: HdlcAddress
    src: HdlcAddress
    control: Control
    information: bytes = b""
    segmented: bool = False

    def encode(self) -> bytes:
        """The frame with both flags, ready to send."""
        addresses = encoded_address(self.dest) + encoded_address(self.src)
        return encode_frame(addresses, self.control.encode(), self.information, self.segmented)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> HdlcFrame:
        """Decode one complete frame, flags included.

        The FCS is checked first, then the format type, the addresses, the control field and the HCS.
        A CRC mismatch raises :class:`FrameCheckError`, other malformed frames
        :class:`~dlmskit.errors.DecodeError`. A frame with an HCS but an empty information field is
        accepted (it encodes back without the HCS).
        """
        if cls is HdlcFrame and len(data) > 2 and data[0] == FLAG and data[-1] == FLAG:
            frame = decode_intact(bytes(data[1:-1]), hcs_checked=False)
            if frame is not None:
                return frame
        return cls._decode_or_raise(data)

    @classmethod
    def _decode_or_raise(cls, data: bytes | bytearray | memoryview) -> HdlcFrame:
        """Decode one complete frame step by step, raising the error of the first check that fails."""
        size = len(data)
        if size < _MIN_FRAME_LENGTH + 2:
            raise DecodeError(
                "HDLC frame too short", offset=size, expected=f"at least {_MIN_FRAME_LENGTH + 2} bytes"
            )
        if data[0] != FLAG or data[-1] != FLAG:
            where = 0 if data[0] != FLAG else size - 1
            found = f"0x{data[where]:02X}"
            raise DecodeError("HDLC flag missing", offset=where, expected="0x7E", found=found)
        format_field = int.from_bytes(data[1:3], "big")
        length = format_field & _LENGTH_MASK
        if length != size - 2:
            raise DecodeError(
                "HDLC frame length does not match", offset=1, expected=f"{size - 2}", found=f"{length}"
            )
        fcs_offset = size - 3
        _check_crc(data, 1, fcs_offset, "FCS")
        if format_field & 0xF000 != _FORMAT_TYPE_3:
            raise DecodeError(
                "not an HDLC frame format type 3", offset=1, expected="0xA", found=f"0x{data[1] >> 4:X}"
            )
        before_fcs = memoryview(data)[:fcs_offset]
        dest, offset = decode_address(before_fcs, 3)
        src, offset = decode_address(before_fcs, offset)
        if offset >= fcs_offset:
            raise DecodeError("HDLC control field missing", offset=offset, expected="control field")
        control_offset = offset
        offset += 1
        information = b""
        if offset < fcs_offset:
            if fcs_offset - offset < 2:
                raise DecodeError("truncated HDLC header check sequence", offset=offset, expected="HCS")
            _check_crc(data, 1, offset, "HCS")
            information = bytes(data[offset + 2 : fcs_offset])
        try:
            control = Control.decode(data[control_offset])
        except DecodeError as error:
            located = error.shifted(control_offset)
            raise UnknownControlError(located, dest, src, data[control_offset], information) from None
        return cls(dest, src, control, information, bool(format_field & _SEGMENTED))


_new_frame: Final = object.__new__
_SET_FRAME_FIELD: Final[tuple[Any, ...]] = tuple(
    HdlcFrame.__dict__[name].__set__ for name in ("dest", "src", "control", "information", "segmented")
)
"""The slot setters of a frame's fields, which fill a new :class:`HdlcFrame` without the frozen
dataclass's ``__init__`` (about half its cost)."""
_CONTROL_BYTES: Final = tuple(bytes((value,)) for value in range(256))


def encode_frame(addresses: bytes, control: int, information: bytes, segmented: bool = False) -> bytes:
    """The frame with both flags: ``addresses`` (destination then source, as
    :meth:`HdlcAddress.encode` gives them), the control byte and the information field.

    What :meth:`HdlcFrame.encode` does, for a sender that keeps its address bytes and control bytes (a
    link's two addresses never change): no frame object is needed.
    """
    if information:
        if type(information) is not bytes:
            information = bytes(information)
        # format (2) + addresses + control (1) + HCS (2) + information + FCS (2)
        length = len(addresses) + 7 + len(information)
        if length > MAX_FRAME_LENGTH:
            raise EncodeError(
                f"HDLC frame of {length} bytes is longer than {MAX_FRAME_LENGTH}: "
                f"information field of {len(information)} bytes is too long"
            )
        header = (
            (_FORMAT_TYPE_3 | (_SEGMENTED if segmented else 0) | length).to_bytes(2, "big")
            + addresses
            + _CONTROL_BYTES[control]
        )
        hcs = crc_hqx(header.translate(_BIT_REVERSED), _INITIAL)
        # After a correct HCS the CRC register holds the residue: the FCS goes on over the information.
        fcs = crc_hqx(information.translate(_BIT_REVERSED), _RESIDUE)
        return b"".join(
            (
                _FLAG_BYTE,
                header,
                hcs.to_bytes(2, "big").translate(_REVERSED_INVERTED),
                information,
                fcs.to_bytes(2, "big").translate(_REVERSED_INVERTED),
                _FLAG_BYTE,
            )
        )
    length = len(addresses) + 5
    if length > MAX_FRAME_LENGTH:
        raise EncodeError(f"HDLC frame of {length} bytes is longer than {MAX_FRAME_LENGTH}")
    header = (
        (_FORMAT_TYPE_3 | (_SEGMENTED if segmented else 0) | length).to_bytes(2, "big")
        + addresses
        + _CONTROL_BYTES[control]
    )
    fcs = crc_hqx(header.translate(_BIT_REVERSED), _INITIAL)
    return b"".join((_FLAG_BYTE, header, fcs.to_bytes(2, "big").translate(_REVERSED_INVERTED), _FLAG_BYTE))


def decode_intact(
    content: bytes, *, hcs_checked: bool, known: Mapping[bytes, HdlcAddress] | None = None
) -> HdlcFrame | None:
    """The frame whose bytes between the two flags are ``content``, when it is intact and usual; else
    None, and :meth:`HdlcFrame.decode` tells what is wrong.

    Intact and usual: the format type 3, the length of ``content``, addresses of 1, 2 or 4 bytes, a
    control field DLMS/COSEM uses, a correct HCS (not checked again with ``hcs_checked``: the caller
    checked it) and FCS. Every frame it returns is equal to the one :meth:`HdlcFrame.decode` returns
    for the same bytes; it only leaves out the error messages, so it can check each CRC in one pass
    with the residue (:func:`~dlmskit.link.crc.crc16_matches`). Addresses whose bytes are in ``known``
    are given as those objects, the others as :func:`~dlmskit.link.hdlc_address.remembered_address`
    gives them.
    """
    size = len(content)
    if size < _MIN_FRAME_LENGTH:
        return None
    first = content[0]
    if first & 0xF0 != 0xA0 or ((first & 0x07) << 8 | content[1]) != size:
        return None
    fcs_at = size - 2
    # Each address ends with the first byte whose bit 0 is set, after 1, 2 or 4 bytes, before the FCS
    # (the destination's first 4 bytes are always there: a frame has at least 7).
    if content[2] & 1:
        source_at = 3
    elif content[3] & 1:
        source_at = 4
    elif not content[4] & 1 and content[5] & 1:
        source_at = 6
    else:
        return None
    if source_at >= fcs_at:
        return None
    if content[source_at] & 1:
        control_at = source_at + 1
    elif source_at + 1 < fcs_at and content[source_at + 1] & 1:
        control_at = source_at + 2
    elif source_at + 3 < fcs_at and not content[source_at + 2] & 1 and content[source_at + 3] & 1:
        control_at = source_at + 4
    else:
        return None
    if control_at >= fcs_at:
        return None
    control = _CONTROLS[content[control_at]]
    if control is None:
        return None
    reversed_bits = content.translate(_BIT_REVERSED)
    if crc_hqx(reversed_bits, _INITIAL) != _RESIDUE:
        return None
    information_at = control_at + 3
    if information_at <= fcs_at:
        if not hcs_checked and crc_hqx(reversed_bits[:information_at], _INITIAL) != _RESIDUE:
            return None
        information = content[information_at:fcs_at]
    elif control_at + 1 == fcs_at:
        information = b""
    else:
        return None  # one byte between control and FCS: a truncated HCS
    frame = _new_frame(HdlcFrame)
    set_dest, set_src, set_control, set_information, set_segmented = _SET_FRAME_FIELD
    dest = content[2:source_at]
    source = content[source_at:control_at]
    if known is not None:
        set_dest(frame, known.get(dest) or remembered_address(dest))
        set_src(frame, known.get(source) or remembered_address(source))
    else:
        set_dest(frame, remembered_address(dest))
        set_src(frame, remembered_address(source))
    set_control(frame, control)
    set_information(frame, information)
    set_segmented(frame, bool(first & 0x08))
    return frame


def segment(information: bytes, max_info_length: int) -> list[bytes]:
    """Split an information field into consecutive pieces of at most ``max_info_length`` bytes.

    Every piece but the last goes in a frame with the segmentation bit set. An empty information field
    gives one empty piece.
    """
    if max_info_length < 1:
        raise EncodeError(f"maximum information field length must be at least 1, not {max_info_length}")
    if not information:
        return [b""]
    starts = range(0, len(information), max_info_length)
    return [information[start : start + max_info_length] for start in starts]


def remove_llc(information: bytes, llc: bytes) -> bytes:
    """The APDU after the LLC header ``llc`` (:data:`LLC_REQUEST` or :data:`LLC_RESPONSE`) at the
    start of a reassembled information field; a missing header raises
    :class:`~dlmskit.errors.DecodeError`."""
    if not information.startswith(llc):
        found = information[: len(llc)].hex(" ").upper()
        raise DecodeError("LLC header missing", offset=0, expected=llc.hex(" ").upper(), found=found)
    return information[len(llc) :]


def _check_crc(data: bytes | bytearray | memoryview, start: int, end: int, name: str) -> None:
    """Check the CRC over ``data[start:end]`` against the two bytes at ``data[end]``."""
    received = data[end] | (data[end + 1] << 8)
    computed = crc16(data[start:end])
    if computed != received:
        raise FrameCheckError(
            f"HDLC {name} mismatch", offset=end, expected=f"0x{computed:04X}", found=f"0x{received:04X}"
        )
