"""Key material parsing: hex spellings, the ASCII-for-hex mistake, redaction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlmskit.errors import KeyFormatError
from dlmskit.security.keys import SecretBytes, parse_hex, parse_key, parse_system_title

KEY = bytes(range(16))


@pytest.mark.parametrize(
    "text",
    [
        "000102030405060708090A0B0C0D0E0F",
        "000102030405060708090a0b0c0d0e0f",
        "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
        "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F",
        "00-01-02-03-04-05-06-07-08-09-0A-0B-0C-0D-0E-0F",
        "0x000102030405060708090A0B0C0D0E0F",
        "0X000102030405060708090A0B0C0D0E0F",
        "0x00 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 0x09 0x0A 0x0B 0x0C 0x0D 0x0E 0x0F",
        "  00010203 04050607\t08090A0B\n0C0D0E0F  ",
    ],
)
def test_key_spellings(text: str) -> None:
    assert parse_key(text) == KEY


@pytest.mark.parametrize("value", [KEY, bytearray(KEY), memoryview(KEY)])
def test_bytes_pass_through(value: bytes | bytearray | memoryview) -> None:
    assert parse_key(value) == KEY
    assert type(parse_key(value)) is bytes


def test_forum_thread_correct_hex() -> None:
    # The fix given in the Gurux forum thread (shared/seeds/000): ASCII "F" is 0x46, "ABCDEFGH" is 41..48.
    assert (
        parse_key("46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46", name="authentication key") == b"F" * 16
    )
    assert parse_system_title("41 42 43 44 45 46 47 48") == b"ABCDEFGH"


@pytest.mark.parametrize(
    ("text", "abbreviated"),
    [("FFFFFFFFFFFFFFFF", "4646...46"), ("ABCDEFGHIJKLMNOP", "4142...50"), ("0123456789abcdef", "3031...66")],
)
def test_ascii_key_mistake(text: str, abbreviated: str) -> None:
    with pytest.raises(KeyFormatError) as caught:
        parse_key(text)
    message = str(caught.value)
    assert "block cipher key" in message
    assert "looks like 16 ASCII characters" in message
    assert "16 bytes = 32 hex digits" in message
    assert abbreviated in message
    assert text not in message  # the key itself stays out of logs
    assert text.encode().hex().upper() not in message


def test_ascii_key_mistake_names_the_key() -> None:
    with pytest.raises(KeyFormatError, match="authentication key: this looks like 16 ASCII"):
        parse_key("FFFFFFFFFFFFFFFF", name="authentication key")


@pytest.mark.parametrize("text", ["ABCDEFGH", "FFFFFFFF", "MMM00001"])
def test_ascii_system_title_mistake(text: str) -> None:
    with pytest.raises(KeyFormatError) as caught:
        parse_system_title(text)
    message = str(caught.value)
    assert "looks like 8 ASCII characters" in message
    assert "8 bytes = 16 hex digits" in message
    assert text.encode().hex().upper() in message  # system titles are not secret: full hex


def test_system_title_spellings() -> None:
    assert parse_system_title("4D4D4D0000BC614E") == bytes.fromhex("4D4D4D0000BC614E")
    assert parse_system_title("4D:4D:4D:00:00:BC:61:4E") == bytes.fromhex("4D4D4D0000BC614E")
    assert parse_system_title(b"MMM\x00\x00\xbcaN") == bytes.fromhex("4D4D4D0000BC614E")


def test_system_title_wrong_length() -> None:
    with pytest.raises(KeyFormatError, match=r"system title must be 8 bytes \(16 hex digits\), got 7 bytes"):
        parse_system_title("4D4D4D0000BC61")
    with pytest.raises(KeyFormatError, match="got 9 bytes"):
        parse_system_title(bytes(9))


def test_non_hex_character_position() -> None:
    with pytest.raises(KeyFormatError, match=r"character 'G' at position 5 is not a hex digit"):
        parse_hex("00 1G")
    with pytest.raises(KeyFormatError, match=r"block cipher key: character 'Z' at position 33"):
        parse_key("000102030405060708090A0B0C0D0E0FZ")


def test_odd_digit_count() -> None:
    with pytest.raises(KeyFormatError, match=r"odd number of hex digits \(31\)"):
        parse_key("000102030405060708090A0B0C0D0E0")


def test_wrong_key_length() -> None:
    with pytest.raises(
        KeyFormatError, match=r"block cipher key must be 16 bytes \(32 hex digits\), got 8 bytes"
    ):
        parse_key("00 01 02 03 04 05 06 07")
    with pytest.raises(KeyFormatError, match="got 15 bytes"):
        parse_key(bytes(15))
    assert parse_key("00" * 32, length=32) == bytes(32)


def test_hex_text_given_as_bytes() -> None:
    with pytest.raises(KeyFormatError, match="these bytes look like hex text"):
        parse_key(b"000102030405060708090A0B0C0D0E0F")


def test_wrong_type() -> None:
    with pytest.raises(KeyFormatError, match="expected hex text or bytes, got int"):
        parse_hex(1234)  # type: ignore[arg-type]


@given(st.binary(max_size=64), st.sampled_from(["", " ", ":", "-"]), st.booleans())
def test_parse_hex_round_trip(data: bytes, separator: str, prefixed: bool) -> None:
    text = separator.join(f"{byte:02x}" for byte in data)
    if prefixed:
        text = "0x" + text
    assert parse_hex(text) == data


def test_secret_bytes_redacted() -> None:
    secret = SecretBytes(KEY)
    assert repr(secret) == "<key 16 bytes redacted>"
    assert str(secret) == "<key 16 bytes redacted>"
    assert f"{secret}" == "<key 16 bytes redacted>"
    assert repr([secret]) == "[<key 16 bytes redacted>]"
    assert secret.reveal() == KEY
    assert bytes(secret) == KEY
    assert len(secret) == 16


def test_secret_bytes_parse_and_compare() -> None:
    secret = SecretBytes.parse("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F", name="authentication key")
    assert repr(secret) == "<authentication key 16 bytes redacted>"
    assert secret == SecretBytes(KEY)
    assert secret != SecretBytes(bytes(16))
    assert secret != KEY  # a holder is not equal to raw bytes
    with pytest.raises(TypeError):
        hash(secret)


@pytest.mark.parametrize("text", ["00:01:02", "00-01-02", "0x010203"])
def test_separated_hex_is_not_taken_for_ascii(text: str) -> None:
    with pytest.raises(KeyFormatError, match=r"system title must be 8 bytes .*got 3 bytes"):
        parse_system_title(text)
    with pytest.raises(KeyFormatError, match=r"must be 16 bytes .*got 7 bytes"):
        parse_key("0x01020304050607")
