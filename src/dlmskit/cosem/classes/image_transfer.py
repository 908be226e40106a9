"""Image transfer (class 18): firmware update in blocks, then verification and activation.

The usual sequence: read image_block_size, image_transfer_initiate, image_block_transfer for every block,
read image_first_not_transferred_block_number (and image_transferred_blocks_status) to fill gaps,
image_verify, check image_to_activate_info, image_activate; watch image_transfer_status throughout.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import T, dummy_method
from dlmskit.cosem.model import (
    LOGICAL_NAME_ATTRIBUTE,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    names_of,
    structure,
)

__all__ = ["CLASSES", "IMAGE_TRANSFER", "ImageTransferStatus"]


class ImageTransferStatus(IntEnum):
    """Image transfer image_transfer_status."""

    IMAGE_TRANSFER_NOT_INITIATED = 0
    IMAGE_TRANSFER_INITIATED = 1
    IMAGE_VERIFICATION_INITIATED = 2
    IMAGE_VERIFICATION_SUCCESSFUL = 3
    IMAGE_VERIFICATION_FAILED = 4
    IMAGE_ACTIVATION_INITIATED = 5
    IMAGE_ACTIVATION_SUCCESSFUL = 6
    IMAGE_ACTIVATION_FAILED = 7


IMAGE_TRANSFER: Final = InterfaceClass(
    18,
    0,
    "Image transfer",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "image_block_size",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="Size in bytes of every block but the last.",
        ),
        AttributeDef(
            3,
            "image_transferred_blocks_status",
            T.BIT_STRING,
            static=False,
            description="One bit per block, set when the block was received.",
        ),
        AttributeDef(
            4,
            "image_first_not_transferred_block_number",
            T.DOUBLE_LONG_UNSIGNED,
            static=False,
            description="The first block still missing (0-based).",
        ),
        AttributeDef(
            5,
            "image_transfer_enabled",
            T.BOOLEAN,
            static=True,
            description="Whether image transfer is allowed.",
        ),
        AttributeDef(
            6,
            "image_transfer_status",
            T.ENUM,
            static=False,
            description="Where the transfer, verification and activation stand.",
            enum_names=names_of(ImageTransferStatus),
        ),
        AttributeDef(
            7,
            "image_to_activate_info",
            array_of(
                structure(
                    image_to_activate_size=T.DOUBLE_LONG_UNSIGNED,
                    image_to_activate_identification=T.OCTET_STRING,
                    image_to_activate_signature=T.OCTET_STRING,
                )
            ),
            static=False,
            description="The verified image(s) ready for activation: size, identification, signature.",
        ),
    ),
    (
        MethodDef(
            1,
            "image_transfer_initiate",
            structure(image_identifier=T.OCTET_STRING, image_size=T.DOUBLE_LONG_UNSIGNED),
            description="Starts (or restarts) the transfer of an image of this size.",
        ),
        MethodDef(
            2,
            "image_block_transfer",
            structure(image_block_number=T.DOUBLE_LONG_UNSIGNED, image_block_value=T.OCTET_STRING),
            description="Sends one block (0-based number).",
        ),
        dummy_method(3, "image_verify", "Verifies the complete image (may answer temporary-failure: poll)."),
        dummy_method(4, "image_activate", "Activates the verified image."),
    ),
)

CLASSES: Final = (IMAGE_TRANSFER,)
