"""A small in-memory meter application and a pump that wires a client session to a server session."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import (
    ABSENT,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    GetDataResult,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import ClientSession
from dlmskit.session.events import SendApdu, SessionEvent
from dlmskit.session.server import AssociationContext, ServerAssociationSettings, ServerSession

# Green Book demo keys and titles (shared/reference/dlms-facts.md sections 3-4).
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")


def secret(value: bytes) -> SecretBytes:
    return SecretBytes(value)


@dataclass
class TinyMeter:
    """Attributes in a dict, methods recorded; every client address maps to one settings object."""

    associations: dict[int, ServerAssociationSettings]
    values: dict[tuple[int, str, int], axdr.Data] = field(default_factory=dict)
    calls: list[tuple[int, str, int, object]] = field(default_factory=list)
    method_results: dict[tuple[int, str, int], axdr.Data] = field(default_factory=dict)

    def association_settings(self, client_sap: int) -> ServerAssociationSettings | None:
        return self.associations.get(client_sap)

    def get(
        self,
        context: AssociationContext,
        attribute: CosemAttributeDescriptor,
        access: SelectiveAccessDescriptor | None,
    ) -> GetDataResult:
        key = (attribute.class_id, str(attribute.instance_id), attribute.attribute_id)
        if key not in self.values:
            return GetDataResult(error=DataAccessResult.OBJECT_UNDEFINED)
        value = self.values[key]
        if access is not None and access.selector == 2 and isinstance(value, list):
            start, stop = int(access.parameters[0]), int(access.parameters[1])
            value = axdr.Array(value[start - 1 : stop or None])
        return GetDataResult(value)

    def set(
        self,
        context: AssociationContext,
        attribute: CosemAttributeDescriptor,
        value: axdr.Data,
        access: SelectiveAccessDescriptor | None,
    ) -> DataAccessResult:
        key = (attribute.class_id, str(attribute.instance_id), attribute.attribute_id)
        if key not in self.values:
            return DataAccessResult.OBJECT_UNDEFINED
        self.values[key] = value
        return DataAccessResult.SUCCESS

    def action(
        self, context: AssociationContext, method: CosemMethodDescriptor, parameters: axdr.Data
    ) -> ActionResponseWithOptionalData:
        key = (method.class_id, str(method.instance_id), method.method_id)
        self.calls.append((*key, parameters))
        if key in self.method_results:
            return ActionResponseWithOptionalData(
                ActionResult.SUCCESS, GetDataResult(self.method_results[key])
            )
        return ActionResponseWithOptionalData(ActionResult.SUCCESS)


class Pair:
    """A client session and a server session passing APDUs to each other in memory."""

    def __init__(self, client: ClientSession, server: ServerSession) -> None:
        self.client = client
        self.server = server
        self.exchanges = 0
        self.last_request = b""

    def run(self, first: bytes) -> SessionEvent:
        apdu = first
        while True:
            self.last_request = apdu
            replies = self.server.receive(apdu)
            self.exchanges += 1
            assert len(replies) == 1
            event = self.client.receive(replies[0])
            if isinstance(event, SendApdu):
                apdu = event.apdu
                continue
            return event


@pytest.fixture
def unused() -> object:
    return ABSENT
