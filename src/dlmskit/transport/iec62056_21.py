r"""The IEC 62056-21 messages that open an optical (or current-loop) port in protocol mode E.

These are pure functions; the dialogue over a serial port lives in :mod:`dlmskit.transport.mode_e`.
Mode E is the IEC 62056-21 opening that hands the line over to HDLC (IEC 62056-46) for DLMS/COSEM::

    client -> meter   / ? <device address> ! CR LF          request message          300 baud 7E1
    meter  -> client  / X X X Z \2 <identification> CR LF   identification message   300 baud 7E1
    client -> meter   ACK 2 Z 2 CR LF                       acknowledgement/option select message
    both sides switch to the baud rate Z, 8N1, and HDLC frames follow

- ``XXX`` is the manufacturer's three-letter identification (as registered with the FLAG association).
  A lower-case third letter means the meter answers after 20 ms at the earliest instead of 200 ms.
- ``Z`` is the baud rate character of protocol modes C and E: ``0`` 300, ``1`` 600, ``2`` 1200,
  ``3`` 2400, ``4`` 4800, ``5`` 9600, ``6`` 19200 baud (the letters ``A``-``I`` belong to mode B).
- ``\W`` is an escape sequence carrying an enhanced identification character ``W``; ``\2`` announces
  that the binary mode (HDLC) is available, i.e. that the meter speaks mode E (DLMS UA list of standard
  items, "enhanced identification character", IEC 62056-21 clause 6.3.2 item 24).
- ``<identification>`` is the meter's own text: printable characters except ``/`` and ``!``.
- In the acknowledgement/option select message ``ACK V Z Y CR LF``, ``V`` is the protocol control
  character (``0`` normal, ``1`` secondary, ``2`` HDLC protocol procedure), ``Z`` the baud rate
  character and ``Y`` the mode control character (``0`` data readout, ``1`` programming, ``2`` binary
  mode (HDLC)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "ACK",
    "BAUD_RATES",
    "ENHANCED_ID_HDLC",
    "MAX_DEVICE_ADDRESS_LENGTH",
    "MODE_CONTROL_BINARY",
    "PROTOCOL_CONTROL_HDLC",
    "AckOptionSelect",
    "SignOnResult",
    "build_ack_option_select",
    "build_identification",
    "build_request_message",
    "parse_ack_option_select",
    "parse_identification",
    "parse_request_message",
]

ACK: Final = 0x06
"""The acknowledge character that starts the acknowledgement/option select message."""
BAUD_RATES: Final[Mapping[str, int]] = MappingProxyType(
    {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
)
"""Baud rate characters of protocol modes C and E and the baud rates they stand for."""
ENHANCED_ID_HDLC: Final = "2"
"""Enhanced identification character announcing the binary mode (HDLC): the meter speaks mode E."""
PROTOCOL_CONTROL_HDLC: Final = "2"
"""Protocol control character ``V`` selecting the HDLC protocol procedure."""
MODE_CONTROL_BINARY: Final = "2"
"""Mode control character ``Y`` selecting the binary mode (HDLC)."""
MAX_DEVICE_ADDRESS_LENGTH: Final = 32

_CRLF: Final = b"\r\n"
_MODE_B_BAUD_CHARACTERS: Final = frozenset("ABCDEFGHI")


@dataclass(frozen=True, slots=True)
class SignOnResult:
    r"""The meter's identification message ``/XXXZ\W...<identification>``, read during the sign-on.

    ``baudrate`` is the baud rate the meter offers (and both sides switch to in mode E).
    """

    manufacturer: str
    """Three-letter manufacturer identification, ``"ISK"``, ``"LGZ"``..."""
    baud_char: str
    """The baud rate character ``Z`` (``"0"``-``"6"``)."""
    identification: str
    """The meter's identification text after the escape sequences, ``"MT382-1000"``."""
    enhanced_identification: tuple[str, ...] = (ENHANCED_ID_HDLC,)
    r"""The characters ``W`` of the ``\W`` escape sequences, in order: ``("2",)`` for mode E."""

    def __post_init__(self) -> None:
        if self.baud_char not in BAUD_RATES:
            raise EncodeError(f"baud rate character must be one of 0-6, not {self.baud_char!r}")

    @property
    def baudrate(self) -> int:
        """The baud rate the meter offers."""
        return BAUD_RATES[self.baud_char]

    @property
    def hdlc_available(self) -> bool:
        r"""Whether the meter announced the binary mode (HDLC) with ``\2``: it speaks protocol mode E."""
        return ENHANCED_ID_HDLC in self.enhanced_identification

    @property
    def min_reaction_time(self) -> float:
        """Seconds the meter may need before it listens again: 0.02 (lower-case third letter) or 0.2."""
        return 0.02 if self.manufacturer[2:3].islower() else 0.2


@dataclass(frozen=True, slots=True)
class AckOptionSelect:
    """The acknowledgement/option select message ``ACK V Z Y CR LF``."""

    protocol_control: str
    """``V``: ``"0"`` normal, ``"1"`` secondary, ``"2"`` HDLC protocol procedure."""
    baud_char: str
    """``Z``: the baud rate character (``"0"``-``"6"``)."""
    mode_control: str
    """``Y``: ``"0"`` data readout, ``"1"`` programming, ``"2"`` binary mode (HDLC)."""


def _is_printable(byte: int) -> bool:
    return 0x20 <= byte <= 0x7E


def build_request_message(device_address: str = "") -> bytes:
    """The request message ``/?<device address>!CR LF``; an empty address asks whichever meter is there."""
    if len(device_address) > MAX_DEVICE_ADDRESS_LENGTH:
        raise EncodeError(
            f"device address has {len(device_address)} characters, at most {MAX_DEVICE_ADDRESS_LENGTH} fit"
        )
    for char in device_address:
        if not _is_printable(ord(char)) or char in "/?!":
            raise EncodeError(
                f"device address {device_address!r} holds {char!r}: only printable ASCII except / ? !"
            )
    return b"/?" + device_address.encode("ascii") + b"!" + _CRLF


def parse_request_message(data: bytes) -> str:
    """The device address of a request message ``/?<device address>!CR LF`` (the meter's side)."""
    _expect(data, 0, b"/?", "'/?' (start of a request message)")
    end = len(data) - len(b"!\r\n")
    if end < 2 or data[end:] != b"!\r\n":
        raise DecodeError(
            "request message", offset=max(end, 2), expected="'!' CR LF at the end", found=repr(data[2:])
        )
    address = data[2:end]
    if len(address) > MAX_DEVICE_ADDRESS_LENGTH:
        raise DecodeError(
            "request message",
            offset=2,
            expected=f"a device address of at most {MAX_DEVICE_ADDRESS_LENGTH} characters",
            found=f"{len(address)} characters",
        )
    for index, byte in enumerate(address, start=2):
        if not _is_printable(byte) or byte in b"/?!":
            raise DecodeError(
                "request message", offset=index, expected="a device address character", found=f"0x{byte:02X}"
            )
    return address.decode("ascii")


def build_identification(message: SignOnResult) -> bytes:
    r"""The identification message ``/XXXZ\W...<identification>CR LF`` (the meter's side)."""
    manufacturer = message.manufacturer
    if len(manufacturer) != 3 or not (manufacturer.isascii() and manufacturer.isalpha()):
        raise EncodeError(f"manufacturer identification must be three ASCII letters, not {manufacturer!r}")
    for char in message.enhanced_identification:
        if len(char) != 1 or not _is_printable(ord(char)):
            raise EncodeError(
                f"enhanced identification character must be one printable character, not {char!r}"
            )
    for char in message.identification:
        if not _is_printable(ord(char)) or char in "/!":
            raise EncodeError(
                f"identification {message.identification!r} holds {char!r}: only printable ASCII except / !"
            )
    if message.identification.startswith("\\"):
        raise EncodeError(f"identification {message.identification!r} would read as an escape sequence")
    escapes = "".join("\\" + char for char in message.enhanced_identification)
    text = f"/{manufacturer}{message.baud_char}{escapes}{message.identification}"
    return text.encode("ascii") + _CRLF


def parse_identification(data: bytes) -> SignOnResult:
    r"""Decode an identification message ``/XXXZ\W...<identification>CR LF`` of protocol mode C or E."""
    _expect(data, 0, b"/", "'/' (start of an identification message)")
    if len(data) < 7:
        raise DecodeError(
            "identification message", offset=len(data), expected="'/', XXX, Z and CR LF", found="end of data"
        )
    end = len(data) - len(_CRLF)
    if data[end:] != _CRLF:
        raise DecodeError(
            "identification message", offset=end, expected="CR LF at the end", found=repr(data[end:])
        )
    for index in range(1, 4):
        if not (0x41 <= data[index] <= 0x5A or 0x61 <= data[index] <= 0x7A):
            raise DecodeError(
                "identification message",
                offset=index,
                expected="a letter of the manufacturer identification",
                found=f"0x{data[index]:02X}",
            )
    baud_char = chr(data[4])
    if baud_char not in BAUD_RATES:
        if baud_char in _MODE_B_BAUD_CHARACTERS:
            found = f"{baud_char!r} (a protocol mode B meter)"
        elif baud_char in "789":
            found = f"{baud_char!r} (reserved)"
        else:
            found = f"0x{data[4]:02X} (a protocol mode A meter)"
        raise DecodeError(
            "identification message", offset=4, expected="a mode C/E baud rate character 0-6", found=found
        )
    offset = 5
    enhanced: list[str] = []
    while offset < end and data[offset] == 0x5C:  # backslash
        if offset + 1 >= end or not _is_printable(data[offset + 1]):
            raise DecodeError(
                "identification message",
                offset=offset + 1,
                expected="an enhanced identification character after '\\'",
                found="end of message" if offset + 1 >= end else f"0x{data[offset + 1]:02X}",
            )
        enhanced.append(chr(data[offset + 1]))
        offset += 2
    for index in range(offset, end):
        if not _is_printable(data[index]) or data[index] in b"/!":
            raise DecodeError(
                "identification message",
                offset=index,
                expected="a printable character other than '/' and '!'",
                found=f"0x{data[index]:02X}",
            )
    return SignOnResult(
        manufacturer=data[1:4].decode("ascii"),
        baud_char=baud_char,
        identification=data[offset:end].decode("ascii"),
        enhanced_identification=tuple(enhanced),
    )


def build_ack_option_select(
    baud_char: str,
    *,
    protocol_control: str = PROTOCOL_CONTROL_HDLC,
    mode_control: str = MODE_CONTROL_BINARY,
) -> bytes:
    """The acknowledgement/option select message ``ACK V Z Y CR LF``; by default ``ACK 2 Z 2``: go to HDLC."""
    if baud_char not in BAUD_RATES:
        raise EncodeError(f"baud rate character must be one of 0-6, not {baud_char!r}")
    for name, char in (("protocol control", protocol_control), ("mode control", mode_control)):
        if len(char) != 1 or not "0" <= char <= "9":
            raise EncodeError(f"{name} character must be one digit, not {char!r}")
    return bytes([ACK]) + f"{protocol_control}{baud_char}{mode_control}".encode("ascii") + _CRLF


def parse_ack_option_select(data: bytes) -> AckOptionSelect:
    """Decode an acknowledgement/option select message ``ACK V Z Y CR LF`` (the meter's side)."""
    _expect(data, 0, bytes([ACK]), "ACK (0x06)")
    if len(data) != 6:
        raise DecodeError(
            "acknowledgement/option select message",
            offset=min(len(data), 6),
            expected="6 bytes: ACK V Z Y CR LF",
            found=f"{len(data)} bytes",
        )
    for index, what in ((1, "a protocol control digit"), (3, "a mode control digit")):
        if not 0x30 <= data[index] <= 0x39:
            raise DecodeError(
                "acknowledgement/option select message",
                offset=index,
                expected=what,
                found=f"0x{data[index]:02X}",
            )
    if chr(data[2]) not in BAUD_RATES:
        raise DecodeError(
            "acknowledgement/option select message",
            offset=2,
            expected="a baud rate character 0-6",
            found=f"0x{data[2]:02X}",
        )
    if data[4:] != _CRLF:
        raise DecodeError(
            "acknowledgement/option select message", offset=4, expected="CR LF", found=repr(data[4:])
        )
    return AckOptionSelect(protocol_control=chr(data[1]), baud_char=chr(data[2]), mode_control=chr(data[3]))


def _expect(data: bytes, offset: int, prefix: bytes, expected: str) -> None:
    if data[offset : offset + len(prefix)] != prefix:
        found = repr(data[offset : offset + len(prefix)]) if len(data) > offset else "end of data"
        raise DecodeError("IEC 62056-21 message", offset=offset, expected=expected, found=found)
