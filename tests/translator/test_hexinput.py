"""Reading pasted hex: every spelling meter engineers use, directions kept, mistakes located."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError
from dlmskit.translator.hexinput import Direction, HexInputError, TraceItem, parse_hex_text

SEED = Path(__file__).parent / "data" / "seed_001_trace.txt"


@pytest.mark.parametrize(
    ("line", "direction"),
    [
        ("7E A0 07 3 21 93 0F 01 7E", None),
        ("7EA0070321930F017E", None),
        ("0x7E, 0xA0, 0x07, 0x03, 0x21, 0x93, 0x0F, 0x01, 0x7E", None),
        ("{0x7E, 0xa0, 0x07, 0x03, 0x21, 0x93, 0x0f, 0x01, 0x7e}", None),
        ("[DEBUG][TX] : 7E A0 7 3 21 93 F 1 7E", Direction.TX),
        ("[DEBUG][RX] : 7E A0 7 3 21 93 F 1 7E", Direction.RX),
        ("TX: 7E A0 07 03 21 93 0F 01 7E", Direction.TX),
        ("rx 7EA0070321930F017E", Direction.RX),
        ("-> 7E A0 07 03 21 93 0F 01 7E", Direction.TX),
        ("<- 7E A0 07 03 21 93 0F 01 7E", Direction.RX),
        ("2021-06-15 10:22:31.123 TX 7E A0 07 03 21 93 0F 01 7E", Direction.TX),
        ("10:22:31 <- 7E A0 07 03 21 93 0F 01 7E", Direction.RX),
        ("15.06.2021 10:22:31,5 [INFO] RX: 7E A0 07 03 21 93 0F 01 7E", Direction.RX),
        ("2021-06-15T10:22:31Z SEND 7E A0 07 03 21 93 0F 01 7E", Direction.TX),
        ("TX:\t10:22:31\t7E A0 07 03 21 93 0F 01 7E", Direction.TX),
    ],
)
def test_every_spelling_gives_the_same_bytes(line: str, direction: Direction | None) -> None:
    assert parse_hex_text(line) == [TraceItem(direction, bytes.fromhex("7EA0070321930F017E"), 1)]


def test_seed_trace_lines_keep_direction_and_line_numbers() -> None:
    # Trace from the Gurux forum (shared/seeds/001): bytes written without leading zeros.
    items = parse_hex_text(SEED.read_text())
    assert len(items) == 10
    assert [item.direction for item in items] == [Direction.TX, Direction.RX] * 5
    assert items[0].line == 4  # three comment lines first
    assert items[0].data[:12] == bytes.fromhex("7EA037024709 76ECE1E6E600")


def test_blank_and_comment_lines_are_skipped() -> None:
    text = "# a comment\n\n// another\n   \nC0 01 C1\n"
    assert parse_hex_text(text) == [TraceItem(None, b"\xc0\x01\xc1", 5)]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("7E A0 ZZ", 1, 7),
        ("C0 01\n7E A0 3G", 2, 8),
        ("7EA", 1, 1),
        ("0x", 1, 1),
        ("TX:", 1, 4),
        (":com_method failed. 12", 1, 3),
        ("[DEBUG][TX] : 7E A0 @", 1, 21),
    ],
)
def test_bad_input_names_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(HexInputError) as caught:
        parse_hex_text(text)
    assert isinstance(caught.value, DecodeError)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"line {line}, column {column}: ")


_STYLES = [
    lambda data: data.hex(),
    lambda data: data.hex(" ").upper(),
    lambda data: " ".join(f"{byte:X}" for byte in data),
    lambda data: ", ".join(f"0x{byte:02X}" for byte in data),
    lambda data: "[DEBUG][TX] : " + " ".join(f"{byte:X}" for byte in data),
]


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.sampled_from(_STYLES))
def test_hex_written_any_way_reads_back(data: bytes, style: object) -> None:
    assert callable(style)
    (item,) = parse_hex_text(style(data))
    assert item.data == data


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_items_or_a_decode_error(text: str) -> None:
    try:
        items = parse_hex_text(text)
    except DecodeError:
        return
    assert all(item.data for item in items)
