"""Minimal BER (ITU-T X.690) TLV coding for the ACSE association APDUs.

The association APDUs (AARQ, AARE, RLRQ, RLRE) are the only BER-encoded part of DLMS/COSEM; everything
else is A-XDR. This module knows just what they need:

* tags as the integer value of their identifier octets, exactly as they appear in a hex dump: ``0x60``
  (AARQ, [APPLICATION 0] constructed), ``0xA1`` ([1] context-specific constructed), ``0x8A`` ([10]
  context-specific primitive), and the high-tag-number form such as ``0x5F1F`` ([APPLICATION 31], the
  xDLMS conformance block);
* definite lengths, short form (< 128) and long form ``0x81 xx``, ``0x82 xxxx`` up to four length octets.
  The indefinite form (``0x80``) is refused; DLMS never uses it;
* the universal types ACSE carries: INTEGER, BIT STRING, OCTET STRING, OBJECT IDENTIFIER and
  GraphicString (the last two string types are plain bytes, so only their tags are given here).

Decoders are bounds-checked and raise :class:`~dlmskit.errors.DecodeError` naming the offset; content
decoders (``decode_integer``, ``decode_oid``, ``decode_bit_string``) report offsets relative to the content
they are given, so callers shift the error with :meth:`DecodeError.shifted`. Encoders produce the shortest
length form; decoders also accept longer (non-minimal) length forms, which some meters send.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dlmskit.errors import DecodeError, EncodeError

__all__ = [
    "TAG_BIT_STRING",
    "TAG_GRAPHIC_STRING",
    "TAG_INTEGER",
    "TAG_OBJECT_IDENTIFIER",
    "TAG_OCTET_STRING",
    "decode_bit_string",
    "decode_integer",
    "decode_oid",
    "encode_bit_string",
    "encode_integer",
    "encode_length",
    "encode_oid",
    "encode_tlv",
    "iter_tlvs",
    "read_header",
    "read_length",
    "read_tlv",
]

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_OBJECT_IDENTIFIER = 0x06
TAG_GRAPHIC_STRING = 0x19

_MAX_LENGTH_OCTETS = 4
_MAX_TAG_OCTETS = 4


def _tag_octets(tag: int) -> bytes:
    """The identifier octets of ``tag``, after checking they form a valid BER identifier."""
    if tag < 0 or tag >= 1 << (8 * _MAX_TAG_OCTETS):
        raise EncodeError(f"BER tag 0x{tag:X} is out of range")
    raw = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    if len(raw) == 1:
        if raw[0] & 0x1F == 0x1F:
            raise EncodeError(f"BER tag 0x{tag:02X} announces a high tag number but has no further octets")
        return raw
    well_formed = (
        raw[0] & 0x1F == 0x1F
        and raw[1] != 0x80
        and all(octet & 0x80 for octet in raw[1:-1])
        and not raw[-1] & 0x80
    )
    if not well_formed:
        raise EncodeError(f"0x{tag:X} is not a valid high-tag-number BER identifier")
    return raw


def encode_length(length: int) -> bytes:
    """Encode a definite length: one octet below 128, else ``0x8n`` followed by n big-endian octets.

    A-XDR uses the same form for its length and count prefixes.
    """
    if length < 0:
        raise EncodeError(f"length {length} is negative")
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > _MAX_LENGTH_OCTETS:
        raise EncodeError(f"length {length} needs more than {_MAX_LENGTH_OCTETS} length octets")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Encode one tag-length-value element; ``tag`` is the integer value of its identifier octets."""
    return _tag_octets(tag) + encode_length(len(value)) + bytes(value)


def _read_tag(data: bytes | memoryview, offset: int, end: int) -> tuple[int, int]:
    if offset >= end:
        raise DecodeError("input ends before a BER tag", offset=offset, expected="a tag octet")
    first = data[offset]
    position = offset + 1
    if first & 0x1F != 0x1F:
        return first, position
    tag = first
    while position - offset < _MAX_TAG_OCTETS:
        if position >= end:
            raise DecodeError(
                "input ends inside a high-tag-number BER tag", offset=position, expected="a tag octet"
            )
        octet = data[position]
        if position == offset + 1 and octet == 0x80:
            raise DecodeError("high-tag-number BER tag has a leading zero", offset=position, found="0x80")
        tag = tag << 8 | octet
        position += 1
        if not octet & 0x80:
            return tag, position
    raise DecodeError(
        "BER tag is too long", offset=offset, expected=f"at most {_MAX_TAG_OCTETS} identifier octets"
    )


def read_length(data: bytes | memoryview, offset: int = 0, end: int | None = None) -> tuple[int, int]:
    """Read a definite length at ``offset``; return ``(length, offset after the length octets)``.

    The length is not checked against the bytes that follow (``read_header`` does that). ``end`` limits
    the readable part of ``data`` (default: all of it).
    """
    limit = len(data) if end is None else end
    if offset >= limit:
        raise DecodeError("input ends before a length", offset=offset, expected="a length octet")
    first = data[offset]
    position = offset + 1
    if first < 0x80:
        return first, position
    if first == 0x80:
        raise DecodeError(
            "indefinite length is not allowed", offset=offset, expected="a definite length", found="0x80"
        )
    count = first & 0x7F
    if count > _MAX_LENGTH_OCTETS:
        raise DecodeError(
            "length field is too long",
            offset=offset,
            expected=f"at most {_MAX_LENGTH_OCTETS} length octets",
            found=f"{count}",
        )
    if position + count > limit:
        raise DecodeError(
            "input ends inside a length",
            offset=position,
            expected=f"{count} length octets",
            found=f"{limit - position}",
        )
    return int.from_bytes(data[position : position + count], "big"), position + count


def read_header(data: bytes | memoryview, offset: int = 0, end: int | None = None) -> tuple[int, int, int]:
    """Read the tag and length at ``offset``; return ``(tag, value start, value end)``.

    The value is checked to lie inside ``data[:end]`` (``end`` defaults to the whole input).
    """
    limit = len(data) if end is None else end
    tag, position = _read_tag(data, offset, limit)
    length, position = read_length(data, position, limit)
    if length > limit - position:
        raise DecodeError(
            f"value of tag 0x{tag:02X} runs past the end of the input",
            offset=position,
            expected=f"{length} value bytes",
            found=f"{limit - position}",
        )
    return tag, position, position + length


def read_tlv(data: bytes | memoryview, offset: int = 0, end: int | None = None) -> tuple[int, bytes, int]:
    """Read one element at ``offset``; return ``(tag, value, offset just after the element)``."""
    tag, start, stop = read_header(data, offset, end)
    return tag, bytes(data[start:stop]), stop


def iter_tlvs(
    data: bytes | memoryview, offset: int = 0, end: int | None = None
) -> Iterator[tuple[int, bytes, int]]:
    """Iterate over the elements of a constructed value held in ``data[offset:end]``.

    Yields ``(tag, value, value offset)``; the value offset (absolute, in ``data``) lets the caller shift
    errors found while decoding the value.
    """
    limit = len(data) if end is None else end
    position = offset
    while position < limit:
        tag, start, stop = read_header(data, position, limit)
        yield tag, bytes(data[start:stop]), start
        position = stop


def encode_integer(value: int) -> bytes:
    """The content octets of an INTEGER: shortest two's complement, big-endian."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(size, "big", signed=True)


def decode_integer(content: bytes | memoryview) -> int:
    """Decode the content octets of an INTEGER (two's complement, big-endian)."""
    if not content:
        raise DecodeError("INTEGER has no content octets", offset=0, expected="at least one octet")
    return int.from_bytes(content, "big", signed=True)


def encode_bit_string(bits: bytes, unused_bits: int = 0) -> bytes:
    """The content octets of a BIT STRING: the count of unused bits in the last octet, then the bits.

    ``bits`` holds the bits MSB first; ACSE-requirements with the authentication bit set is
    ``encode_bit_string(b"\\x80", 7)`` = ``07 80``.
    """
    if not 0 <= unused_bits <= 7:
        raise EncodeError(f"unused bit count {unused_bits} is not in 0..7")
    if not bits and unused_bits:
        raise EncodeError("an empty BIT STRING cannot have unused bits")
    return bytes((unused_bits,)) + bytes(bits)


def decode_bit_string(content: bytes | memoryview) -> tuple[bytes, int]:
    """Decode the content octets of a BIT STRING; return ``(bits, unused bit count)``."""
    if not content:
        raise DecodeError("BIT STRING has no content octets", offset=0, expected="the unused-bits octet")
    unused = content[0]
    if unused > 7 or (unused and len(content) == 1):
        raise DecodeError(
            "BIT STRING unused-bits octet is invalid",
            offset=0,
            expected="0..7 (0 when there are no bits)",
            found=f"{unused}",
        )
    return bytes(content[1:]), unused


def encode_oid(arcs: Sequence[int]) -> bytes:
    """The content octets of an OBJECT IDENTIFIER.

    ``encode_oid((2, 16, 756, 5, 8, 1, 1))`` = ``60 85 74 05 08 01 01`` (the DLMS UA application context
    "logical name referencing, no ciphering").
    """
    if len(arcs) < 2:
        raise EncodeError("an OBJECT IDENTIFIER needs at least two arcs")
    first, second = arcs[0], arcs[1]
    if not 0 <= first <= 2 or second < 0 or (first < 2 and second >= 40):
        raise EncodeError(f"OBJECT IDENTIFIER cannot start with {first}.{second}")
    out = bytearray()
    for sub_identifier in (first * 40 + second, *arcs[2:]):
        if sub_identifier < 0:
            raise EncodeError(f"OBJECT IDENTIFIER arc {sub_identifier} is negative")
        chunk = [sub_identifier & 0x7F]
        sub_identifier >>= 7
        while sub_identifier:
            chunk.append(0x80 | (sub_identifier & 0x7F))
            sub_identifier >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def decode_oid(content: bytes | memoryview) -> tuple[int, ...]:
    """Decode the content octets of an OBJECT IDENTIFIER into its arcs."""
    if not content:
        raise DecodeError("OBJECT IDENTIFIER has no content octets", offset=0, expected="at least one octet")
    sub_identifiers: list[int] = []
    value = 0
    start = 0
    for position, octet in enumerate(content):
        if position == start and octet == 0x80:
            raise DecodeError("OBJECT IDENTIFIER arc has a leading zero octet", offset=position, found="0x80")
        value = value << 7 | (octet & 0x7F)
        if not octet & 0x80:
            sub_identifiers.append(value)
            value = 0
            start = position + 1
    if start != len(content):
        raise DecodeError(
            "OBJECT IDENTIFIER ends inside an arc",
            offset=len(content),
            expected="an octet with bit 8 clear",
        )
    head = sub_identifiers[0]
    first = min(head // 40, 2)
    return (first, head - 40 * first, *sub_identifiers[1:])
