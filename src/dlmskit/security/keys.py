"""Parsing of key material given by people: block cipher keys, authentication keys, system titles.

Vendors hand out keys in many spellings: ``000102...0F``, ``00 01 02 ... 0F``, ``00:01:...``,
``0x0001...``. All of them are accepted here. What is refused, with a message that says what went
wrong, is the classic mistake of giving the *ASCII text* of a key where its hex digits were meant:
``FFFFFFFFFFFFFFFF`` or ``ABCDEFGHIJKLMNOP`` (16 characters) is not the 16-byte key
``FFFF...FF``; it is 16 ASCII characters whose hex is ``4646...46``. The same holds for an 8-character
system title such as ``ABCDEFGH`` (hex ``4142434445464748``).

Error messages never repeat a whole key: they name the offending character and its position, or show
an abbreviated hex form. System titles are not secret and are shown in full.
"""

from __future__ import annotations

import hmac

from dlmskit.errors import KeyFormatError

__all__ = [
    "BLOCK_CIPHER_KEY_LENGTH",
    "SYSTEM_TITLE_LENGTH",
    "SecretBytes",
    "parse_hex",
    "parse_key",
    "parse_system_title",
]

#: Length in bytes of an AES-128 key (security suites 0 and 1).
BLOCK_CIPHER_KEY_LENGTH = 16
#: Length in bytes of a system title (3-byte manufacturer FLAG id and 5-byte serial part).
SYSTEM_TITLE_LENGTH = 8

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SEPARATORS = frozenset(" \t\r\n:-")

KeyInput = str | bytes | bytearray | memoryview


def parse_hex(value: KeyInput, *, name: str = "hex value") -> bytes:
    """Bytes from hex text, or ``value`` itself when it already is bytes.

    Hex digits may be grouped with spaces, colons or dashes, and each group may carry a ``0x`` prefix:
    ``"00 01 02"``, ``"00:01:02"``, ``"0x000102"`` and ``"0x00 0x01 0x02"`` all give ``b"\\x00\\x01\\x02"``.
    A character that is not a hex digit is reported with its position (counting from 1).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if not isinstance(value, str):
        raise KeyFormatError(f"{name}: expected hex text or bytes, got {type(value).__name__}")
    if value.isascii() and value.isalnum() and value[1:2] not in ("x", "X"):
        # The usual form, hex digits only: bytes.fromhex takes them as the loop below would.
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass  # not hex digits, or an odd number of them: the loop below says which
    digits: list[str] = []
    position = 0
    length = len(value)
    while position < length:
        char = value[position]
        if char in _SEPARATORS:
            position += 1
            continue
        group_start = position == 0 or value[position - 1] in _SEPARATORS
        if group_start and char == "0" and value[position + 1 : position + 2] in ("x", "X"):
            position += 2
            continue
        if char not in _HEX_DIGITS:
            raise KeyFormatError(
                f"{name}: character {char!r} at position {position + 1} is not a hex digit (0-9, A-F)"
            )
        digits.append(char)
        position += 1
    if len(digits) % 2:
        raise KeyFormatError(
            f"{name}: odd number of hex digits ({len(digits)}); every byte is two hex digits"
        )
    return bytes.fromhex("".join(digits))


def _looks_like_ascii(value: str, length: int) -> bool:
    """``value`` has ``length`` printable ASCII characters, none of them hex separators or a ``0x`` prefix.

    That is the text of a ``length``-byte value, where ``2 * length`` hex digits were expected.
    """
    text = value.strip()
    return (
        len(text) == length
        and text.isascii()
        and text.isprintable()
        and not _SEPARATORS.intersection(text)
        and not text.lower().startswith("0x")
    )


def parse_key(
    value: KeyInput, *, name: str = "block cipher key", length: int = BLOCK_CIPHER_KEY_LENGTH
) -> bytes:
    """A key of ``length`` bytes from hex text or bytes.

    ``name`` is used in error messages ("block cipher key", "authentication key", "master key"...).
    Text that has exactly ``length`` printable characters is refused as the ASCII-for-hex mistake, with
    a message that explains it and shows the (abbreviated) hex of that text.
    """
    if isinstance(value, str) and _looks_like_ascii(value, length):
        ascii_hex = value.strip().encode("ascii").hex().upper()
        raise KeyFormatError(
            f"{name}: this looks like {length} ASCII characters; the meter's key is {length} bytes = "
            f"{2 * length} hex digits. If the vendor gave you ASCII text, its hex is "
            f"{ascii_hex[:4]}...{ascii_hex[-2:]} (in Python: text.encode('ascii').hex())"
        )
    key = parse_hex(value, name=name)
    if len(key) != length:
        message = f"{name} must be {length} bytes ({2 * length} hex digits), got {len(key)} bytes"
        if not isinstance(value, str) and len(key) == 2 * length and all(chr(b) in _HEX_DIGITS for b in key):
            message += "; these bytes look like hex text: pass it as str, or use bytes.fromhex() first"
        raise KeyFormatError(message)
    return key


def parse_system_title(value: KeyInput) -> bytes:
    """An 8-byte system title from hex text or bytes.

    An 8-character text such as ``ABCDEFGH`` is refused with a message giving its hex
    (``4142434445464748``): system titles are often printed as text on meter documentation.
    """
    if isinstance(value, str) and _looks_like_ascii(value, SYSTEM_TITLE_LENGTH):
        text = value.strip()
        raise KeyFormatError(
            f"system title {text!r} looks like {SYSTEM_TITLE_LENGTH} ASCII characters; a system title is "
            f"{SYSTEM_TITLE_LENGTH} bytes = {2 * SYSTEM_TITLE_LENGTH} hex digits. If the meter's "
            f"documentation gives it as text, its hex is {text.encode('ascii').hex().upper()}"
        )
    title = parse_hex(value, name="system title")
    if len(title) != SYSTEM_TITLE_LENGTH:
        raise KeyFormatError(
            f"system title must be {SYSTEM_TITLE_LENGTH} bytes ({2 * SYSTEM_TITLE_LENGTH} hex digits), "
            f"got {len(title)} bytes"
        )
    return title


class SecretBytes:
    """Key material that stays out of logs: ``repr`` and ``str`` show ``<key 16 bytes redacted>``.

    Call :meth:`reveal` (or ``bytes(secret)``) where the raw bytes are really needed. Equality is
    constant-time; instances are not hashable.
    """

    __slots__ = ("_label", "_value")

    def __init__(self, value: bytes | bytearray | memoryview, *, label: str = "key") -> None:
        self._value = bytes(value)
        self._label = label

    @classmethod
    def parse(
        cls, value: KeyInput, *, name: str = "block cipher key", length: int = BLOCK_CIPHER_KEY_LENGTH
    ) -> SecretBytes:
        """:func:`parse_key`, kept in a redacting holder labelled ``name``."""
        return cls(parse_key(value, name=name, length=length), label=name)

    def reveal(self) -> bytes:
        """The raw key bytes."""
        return self._value

    def __bytes__(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    def __repr__(self) -> str:
        return f"<{self._label} {len(self._value)} bytes redacted>"

    __str__ = __repr__
