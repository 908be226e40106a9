"""General-block-transfer ``E0``: any APDU (usually a ciphered one) cut into blocks.

::

    E0                 general-block-transfer
    81                 block-control: bit 7 last-block, bit 6 streaming, bits 0-5 window (here 1)
    0001               block-number
    0000               block-number-acknowledged (the last block received from the peer)
    82 01F4 ...        block-data: octet-string with its A-XDR length (here 500 bytes)

The blocks' data joined in block-number order is the transported APDU. In streaming mode the sender may
send up to ``window`` blocks without waiting for an acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlmskit.apdu.common import (
    ApduTag,
    XdlmsApdu,
    pack_int,
    pack_octet_string,
    read_octet_string,
    read_u8,
    read_u16,
)
from dlmskit.errors import EncodeError

__all__ = ["GeneralBlockTransfer"]


@dataclass(frozen=True, slots=True)
class GeneralBlockTransfer(XdlmsApdu):
    """General-Block-Transfer (``E0``): one block of a long APDU.

    ``window`` (0..63) is the number of blocks the sender is able to receive in a row; ``block_number_ack``
    the number of the last block received from the peer; ``block_data`` the slice of the transported APDU.
    """

    TAG: ClassVar[int] = ApduTag.GENERAL_BLOCK_TRANSFER

    last_block: bool
    streaming: bool
    window: int
    block_number: int
    block_number_ack: int
    block_data: bytes

    def _encode_body(self) -> bytes:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or not 0 <= self.window <= 0x3F:
            raise EncodeError(f"window must be an integer 0..63, got {self.window!r}")
        control = (0x80 if self.last_block else 0) | (0x40 if self.streaming else 0) | self.window
        return (
            bytes((control,))
            + pack_int(self.block_number, 2, "block-number")
            + pack_int(self.block_number_ack, 2, "block-number-acknowledged")
            + pack_octet_string(self.block_data)
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[GeneralBlockTransfer, int]:
        control, offset = read_u8(data, offset, "block-control")
        block_number, offset = read_u16(data, offset, "block-number")
        block_number_ack, offset = read_u16(data, offset, "block-number-acknowledged")
        block_data, offset = read_octet_string(data, offset, "block-data")
        return (
            cls(
                bool(control & 0x80),
                bool(control & 0x40),
                control & 0x3F,
                block_number,
                block_number_ack,
                block_data,
            ),
            offset,
        )
