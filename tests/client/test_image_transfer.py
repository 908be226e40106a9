"""Image transfer (class 18) against an in-memory meter that loses blocks and verifies slowly.

The simulator has no Image transfer object, so this meter application stands in for one: it drops the
first copy of some blocks (the client must find them through image_first_not_transferred_block_number and
the bitmap and send them again), answers image_verify with temporary-failure (the client must poll
image_transfer_status) and lists the verified image in image_to_activate_info.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor, GetDataResult
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client import DlmsClient, MeterRefused, MeterSettings, connect, connect_async
from dlmskit.codec import axdr
from dlmskit.cosem import ImageTransferStatus
from dlmskit.errors import ProtocolError
from dlmskit.session.server import AssociationContext, ServerAssociationSettings

S = ImageTransferStatus
IMAGE = bytes(range(256)) * 5 + b"tail"


@dataclass
class ImageMeter:
    """One Image transfer object at 0.0.44.0.0.255 for the public client."""

    block_size: int = 100
    lose: set[int] = field(default_factory=lambda: {3, 7})
    deaf: bool = False
    enabled: bool = True
    status: int = S.IMAGE_TRANSFER_NOT_INITIATED
    identifier: bytes = b""
    size: int = 0
    blocks: dict[int, bytes] = field(default_factory=dict)
    status_reads: int = 0
    activated: bytes | None = None

    def association_settings(self, client_sap: int) -> ServerAssociationSettings | None:
        return ServerAssociationSettings() if client_sap == 16 else None

    @property
    def count(self) -> int:
        return -(-self.size // self.block_size)

    def _first_missing(self) -> int:
        return next((n for n in range(self.count) if n not in self.blocks), self.count)

    def get(
        self, context: AssociationContext, attribute: CosemAttributeDescriptor, access: Any
    ) -> GetDataResult:
        if attribute.class_id != 18 or str(attribute.instance_id) != "0.0.44.0.0.255":
            return GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)
        number = attribute.attribute_id
        if number == 6:
            self.status_reads += 1
            if self.status == S.IMAGE_VERIFICATION_INITIATED and self.status_reads >= 2:
                self.status = S.IMAGE_VERIFICATION_SUCCESSFUL
        values: dict[int, axdr.Data] = {
            2: axdr.DoubleLongUnsigned(self.block_size),
            3: axdr.BitString("".join("1" if n in self.blocks else "0" for n in range(self.count))),
            4: axdr.DoubleLongUnsigned(self._first_missing()),
            5: self.enabled,
            6: axdr.Enum(self.status),
            7: axdr.Array(
                [
                    axdr.Structure(
                        [
                            axdr.DoubleLongUnsigned(self.size),
                            axdr.OctetString(self.identifier),
                            axdr.OctetString(b""),
                        ]
                    )
                ]
                if self.status >= S.IMAGE_VERIFICATION_SUCCESSFUL
                else []
            ),
        }
        if number not in values:
            return GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)
        return GetDataResult(values[number])

    def set(self, context: AssociationContext, attribute: Any, value: Any, access: Any) -> DataAccessResult:
        return DataAccessResult.READ_WRITE_DENIED

    def action(
        self, context: AssociationContext, method: CosemMethodDescriptor, parameters: Any
    ) -> ActionResponseWithOptionalData:
        number = method.method_id
        if number == 1:
            self.identifier, self.size = bytes(parameters[0]), int(parameters[1])
            self.blocks, self.status = {}, S.IMAGE_TRANSFER_INITIATED
        elif number == 2:
            block, data = int(parameters[0]), bytes(parameters[1])
            if block in self.lose or self.deaf:
                self.lose.discard(block)  # lost on the way: the meter never saw it
            else:
                self.blocks[block] = data
        elif number == 3:
            if self._first_missing() < self.count:
                self.status = S.IMAGE_VERIFICATION_FAILED
                return ActionResponseWithOptionalData(ActionResult.OTHER_REASON)
            self.status, self.status_reads = S.IMAGE_VERIFICATION_INITIATED, 0
            return ActionResponseWithOptionalData(ActionResult.TEMPORARY_FAILURE)
        elif number == 4:
            self.activated = b"".join(self.blocks[n] for n in range(self.count))
            self.status = S.IMAGE_ACTIVATION_SUCCESSFUL
        return ActionResponseWithOptionalData(ActionResult.SUCCESS)


def test_image_transfer_resends_lost_blocks_and_polls_verification(serve: Any) -> None:
    meter = ImageMeter()
    served = serve(meter)
    progress: list[tuple[int, int]] = []
    with connect(port=served.port) as client:
        report = client.image_transfer(
            IMAGE, "fw-2.0", progress=lambda done, total: progress.append((done, total))
        )
    assert meter.activated == IMAGE and meter.identifier == b"fw-2.0"
    assert (report.blocks, report.block_size, report.blocks_resent) == (13, 100, 2)
    assert report.status == S.IMAGE_ACTIVATION_SUCCESSFUL
    assert str(report) == "1284 bytes in 13 blocks of 100 (2 sent again): image activation successful"
    assert progress[-1] == (13, 13) and len(progress) == 13


async def test_image_transfer_async(serve: Any) -> None:
    meter = ImageMeter(block_size=512, lose=set())
    served = serve(meter, "wrapper")
    async with connect_async(port=served.port, link="wrapper") as client:
        report = await client.image_transfer(IMAGE, b"\x01\x02")
    assert meter.activated == IMAGE and report.blocks == 3 and report.blocks_resent == 0


def test_disabled_transfer_and_failed_verification_are_said(serve: Any) -> None:
    served = serve(ImageMeter(enabled=False))
    with (
        connect(port=served.port) as client,
        pytest.raises(ProtocolError, match="image transfer is disabled"),
    ):
        client.image_transfer(IMAGE, "x")
    meter = ImageMeter(deaf=True)  # every block lost, every time: the client gives up after its rounds
    served = serve(meter)
    client = DlmsClient(MeterSettings(port=served.port))
    with client:
        with pytest.raises(ProtocolError, match="still misses block 0 after 3 rounds"):
            client.image_transfer(IMAGE, "x")
        meter.deaf = False
        with pytest.raises(MeterRefused, match="image_verify"):
            client.call("0.0.44.0.0.255", "image_verify")
