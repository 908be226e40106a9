"""HDLC parameter negotiation in the information field of SNRM and UA (IEC 62056-46, ISO/IEC 13239).

::

    81 (format identifier) | 80 (parameter negotiation group) | group length |
        05 len max-info-length-transmit | 06 len max-info-length-receive |
        07 len window-size-transmit     | 08 len window-size-receive

Values are unsigned big-endian integers of 1, 2 or 4 bytes. Each station states its parameters from
its own point of view: in the SNRM the client says what it will transmit and can receive, in the UA the
server answers with the values it accepted, again as *its* transmit and receive limits. A parameter that
is absent, or an empty information field, means the default: 128 bytes and a window of 1.

IEC 62056-46 limits the window size to 7 (sequence numbers count modulo 8) and the information field
length to 2030 bytes (the 11-bit frame length leaves room for about that much). :func:`negotiate`
clamps the agreed values to those limits; :meth:`HdlcParameters.decode` accepts larger values so a
meter that announces them can still be talked to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "DEFAULT_MAX_INFO_LENGTH",
    "DEFAULT_WINDOW_SIZE",
    "MAX_INFO_LENGTH",
    "MAX_WINDOW_SIZE",
    "HdlcParameters",
    "negotiate",
]

DEFAULT_MAX_INFO_LENGTH: Final = 128
"""Maximum information field length (both directions) when none is negotiated."""
DEFAULT_WINDOW_SIZE: Final = 1
"""Window size (both directions) when none is negotiated."""
MAX_INFO_LENGTH: Final = 2030
"""The largest information field length IEC 62056-46 allows."""
MAX_WINDOW_SIZE: Final = 7
"""The largest window size IEC 62056-46 allows."""

_FORMAT_IDENTIFIER: Final = 0x81
_PARAMETER_GROUP: Final = 0x80
_MAX_INFO_TX: Final = 0x05
_MAX_INFO_RX: Final = 0x06
_WINDOW_TX: Final = 0x07
_WINDOW_RX: Final = 0x08
_FIELD_NAMES: Final = {
    _MAX_INFO_TX: "max_info_tx",
    _MAX_INFO_RX: "max_info_rx",
    _WINDOW_TX: "window_tx",
    _WINDOW_RX: "window_rx",
}
_MAX_VALUE: Final = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """HDLC link parameters as one station states them (transmit = what it sends).

    ``max_info_tx`` / ``max_info_rx`` are the maximum information field lengths in bytes the station
    transmits / can receive; ``window_tx`` / ``window_rx`` how many I-frames it sends / can receive
    before an acknowledgement. Values must be 1..0xFFFFFFFF.
    """

    max_info_tx: int = DEFAULT_MAX_INFO_LENGTH
    max_info_rx: int = DEFAULT_MAX_INFO_LENGTH
    window_tx: int = DEFAULT_WINDOW_SIZE
    window_rx: int = DEFAULT_WINDOW_SIZE

    def __post_init__(self) -> None:
        for name in _FIELD_NAMES.values():
            value = getattr(self, name)
            if not 1 <= value <= _MAX_VALUE:
                raise EncodeError(f"HDLC parameter {name} must be 1..{_MAX_VALUE}, not {value}")

    def swapped(self) -> HdlcParameters:
        """The same limits seen from the other station (transmit and receive exchanged).

        A client that received these parameters in a UA uses ``swapped()`` for its own sending and
        receiving.
        """
        return HdlcParameters(self.max_info_rx, self.max_info_tx, self.window_rx, self.window_tx)

    def encode(self) -> bytes:
        """The SNRM/UA information field stating all four parameters, each in its shortest form."""
        encoded = _ENCODED.get(self)
        if encoded is None:
            encoded = self._encode()
            if len(_ENCODED) < _REMEMBERED:
                _ENCODED[self] = encoded
        return encoded

    def _encode(self) -> bytes:
        group = bytearray()
        for identifier, name in _FIELD_NAMES.items():
            value: int = getattr(self, name)
            size = 1 if value <= 0xFF else 2 if value <= 0xFFFF else 4
            group += bytes((identifier, size)) + value.to_bytes(size, "big")
        return bytes((_FORMAT_IDENTIFIER, _PARAMETER_GROUP, len(group))) + group

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> HdlcParameters:
        """Decode a SNRM or UA information field (empty = all defaults).

        Groups other than the parameter negotiation group and unknown parameters inside it are
        skipped; a parameter that appears twice keeps its last value.
        """
        if type(data) is not bytes or cls is not HdlcParameters:
            return cls._decode(data)
        decoded = _DECODED.get(data)
        if decoded is None:
            decoded = cls._decode(data)
            if len(_DECODED) < _REMEMBERED:
                _DECODED[data] = decoded
        return decoded

    @classmethod
    def _decode(cls, data: bytes | bytearray | memoryview) -> HdlcParameters:
        if not data:
            return cls()
        if data[0] != _FORMAT_IDENTIFIER:
            raise DecodeError(
                "not an HDLC parameter field",
                offset=0,
                expected="format identifier 0x81",
                found=f"0x{data[0]:02X}",
            )
        values: dict[str, int] = {}
        offset = 1
        while offset < len(data):
            group_id, group_end = _read_header(data, offset, "group", len(data))
            if group_id == _PARAMETER_GROUP:
                _decode_parameters(data, offset + 2, group_end, values)
            offset = group_end
        return cls(**values)


def negotiate(client_proposal: HdlcParameters, server_limits: HdlcParameters) -> HdlcParameters:
    """The parameters a server answers in its UA to a SNRM carrying ``client_proposal``.

    ``server_limits`` are what the server supports, from the server's point of view. Each direction
    gets the smaller of what the sender may transmit and what the receiver can take, clamped to
    :data:`MAX_INFO_LENGTH` and :data:`MAX_WINDOW_SIZE`. The result is from the server's point of view
    (as sent in the UA); the client's own view is ``negotiate(...).swapped()``.
    """
    key = (client_proposal, server_limits)
    negotiated = _NEGOTIATED.get(key)
    if negotiated is None:
        negotiated = _negotiate(client_proposal, server_limits)
        if len(_NEGOTIATED) < _REMEMBERED:
            _NEGOTIATED[key] = negotiated
    return negotiated


def _negotiate(client_proposal: HdlcParameters, server_limits: HdlcParameters) -> HdlcParameters:
    return HdlcParameters(
        max_info_tx=min(server_limits.max_info_tx, client_proposal.max_info_rx, MAX_INFO_LENGTH),
        max_info_rx=min(server_limits.max_info_rx, client_proposal.max_info_tx, MAX_INFO_LENGTH),
        window_tx=min(server_limits.window_tx, client_proposal.window_rx, MAX_WINDOW_SIZE),
        window_rx=min(server_limits.window_rx, client_proposal.window_tx, MAX_WINDOW_SIZE),
    )


_REMEMBERED: Final = 256
"""At most this many parameter sets are remembered by the encoder, the decoder and :func:`negotiate`
(immutable values: every link of a head-end offers the same proposal and meets the same few answers)."""
_ENCODED: dict[HdlcParameters, bytes] = {}
_DECODED: dict[bytes, HdlcParameters] = {}
_NEGOTIATED: dict[tuple[HdlcParameters, HdlcParameters], HdlcParameters] = {}


def _decode_parameters(
    data: bytes | bytearray | memoryview, offset: int, end: int, values: dict[str, int]
) -> None:
    """Decode the parameters of the negotiation group ``data[offset:end]`` into ``values``."""
    while offset < end:
        identifier, value_end = _read_header(data, offset, "parameter", end)
        size = value_end - offset - 2
        if not 1 <= size <= 4:
            raise DecodeError(
                "bad HDLC parameter value length",
                offset=offset + 1,
                expected="1 to 4 bytes",
                found=f"{size} bytes",
            )
        name = _FIELD_NAMES.get(identifier)
        if name is not None:
            value = int.from_bytes(data[offset + 2 : value_end], "big")
            if value == 0:
                raise DecodeError(f"HDLC parameter {name} is 0", offset=offset + 2, expected="1 or more")
            values[name] = value
        offset = value_end


def _read_header(data: bytes | bytearray | memoryview, offset: int, what: str, end: int) -> tuple[int, int]:
    """Read an ``identifier | length`` pair at ``offset``; return the identifier and the end offset of
    its value, checked against ``end`` (the end of the enclosing group or of the data)."""
    if offset + 2 > end:
        raise DecodeError(f"truncated HDLC {what} header", offset=offset, expected="identifier and length")
    value_end = offset + 2 + data[offset + 1]
    if value_end > end:
        raise DecodeError(
            f"HDLC {what} longer than the bytes left",
            offset=offset + 1,
            expected=f"at most {end - offset - 2} bytes",
            found=f"{data[offset + 1]} bytes",
        )
    return data[offset], value_end
