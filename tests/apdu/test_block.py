"""General-block-transfer E0 (dlmskit.apdu.block)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import check_apdu, check_garbage

from dlmskit.apdu import GeneralBlockTransfer, decode_apdu
from dlmskit.errors import DecodeError, EncodeError

# The Green Book SC 0x30 glo-get-request of shared/reference/dlms-facts.md section 3, used as the APDU that
# travels in blocks.
GLO_GET = bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B")


def test_block_layout() -> None:
    block = GeneralBlockTransfer(True, False, 1, 1, 0, GLO_GET)
    check_apdu(block, bytes.fromhex("E0 81 0001 0000 20") + GLO_GET)


def test_block_control_bits() -> None:
    decoded = GeneralBlockTransfer.decode(bytes.fromhex("E0 7F 0102 0304 00"))
    assert (decoded.last_block, decoded.streaming, decoded.window) == (False, True, 63)
    assert (decoded.block_number, decoded.block_number_ack, decoded.block_data) == (0x0102, 0x0304, b"")


def test_blocks_join_into_the_apdu() -> None:
    size = 10
    pieces = [GLO_GET[i : i + size] for i in range(0, len(GLO_GET), size)]
    blocks = [
        GeneralBlockTransfer(n == len(pieces), False, 1, n, 0, piece)
        for n, piece in enumerate(pieces, start=1)
    ]
    received = [decode_apdu(block.encode()) for block in blocks]
    assert b"".join(b.block_data for b in received if isinstance(b, GeneralBlockTransfer)) == GLO_GET
    assert decode_apdu(GLO_GET).encode() == GLO_GET  # the joined APDU is a ciphered one, left to security


def test_long_block_data_length() -> None:
    block = GeneralBlockTransfer(False, True, 4, 7, 6, bytes(300))
    assert block.encode()[:9] == bytes.fromhex("E0 44 0007 0006 82012C")
    check_apdu(block)


def test_errors() -> None:
    with pytest.raises(EncodeError, match="window"):
        GeneralBlockTransfer(False, False, 64, 1, 0, b"").encode()
    with pytest.raises(EncodeError, match="block-number"):
        GeneralBlockTransfer(False, False, 1, 0x10000, 0, b"").encode()
    with pytest.raises(DecodeError, match="truncated block-data"):
        decode_apdu(bytes.fromhex("E0 81 0001 0000 05 0102"))


@settings(max_examples=100, deadline=None)
@given(
    st.booleans(),
    st.booleans(),
    st.integers(0, 63),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.binary(max_size=200),
)
def test_round_trip(
    last_block: bool, streaming: bool, window: int, block_number: int, ack: int, block_data: bytes
) -> None:
    check_apdu(GeneralBlockTransfer(last_block, streaming, window, block_number, ack, block_data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_garbage_raises_only_decode_error(tail: bytes) -> None:
    check_garbage(b"\xe0" + tail)
