"""A small in-memory meter application shared by the session, connection and client tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    GetDataResult,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.security.keys import SecretBytes
from dlmskit.session.server import AssociationContext, ServerAssociationSettings

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
            parameters = access.parameters
            if not (
                isinstance(parameters, tuple)
                and len(parameters) == 4
                and all(isinstance(p, int) and not isinstance(p, bool) for p in parameters)
            ):
                return GetDataResult(error=DataAccessResult.TYPE_UNMATCHED)
            start, stop = int(parameters[0]), int(parameters[1])
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


def demo_meter(max_pdu: int = 0x400) -> TinyMeter:
    """Public client 16, LLS client 32 (password 12345678) and HLS-GMAC client 1 (auth+enc, demo keys)."""
    from dlmskit.security.hls import Mechanism
    from dlmskit.security.invocation import MemoryInvocationCounterStore
    from dlmskit.session.protection import SecurityPolicy, SecuritySettings

    security = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=SERVER_TITLE,
        block_cipher_key=secret(EK),
        authentication_key=secret(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )
    meter = TinyMeter(
        associations={
            16: ServerAssociationSettings(max_receive_pdu_size=max_pdu),
            32: ServerAssociationSettings(
                mechanism=Mechanism.LOW, secret=b"12345678", max_receive_pdu_size=max_pdu
            ),
            1: ServerAssociationSettings(
                mechanism=Mechanism.HIGH_GMAC, security=security, max_receive_pdu_size=max_pdu
            ),
        }
    )
    meter.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(b"DLMSKIT000000001")
    meter.values[(3, "1.0.1.8.0.255", 2)] = axdr.DoubleLongUnsigned(123456)
    meter.values[(3, "1.0.1.8.0.255", 3)] = axdr.Structure([axdr.Integer(0), axdr.Enum(30)])
    meter.values[(7, "1.0.99.1.0.255", 2)] = axdr.Array(
        axdr.Structure([axdr.OctetString(bytes(12)), axdr.DoubleLongUnsigned(i), axdr.Long(-1)])
        for i in range(20_000)
    )
    return meter


def client_security(policy_name: str = "auth-enc") -> object:
    """The client side of the demo HLS-GMAC association."""
    from dlmskit.security.invocation import MemoryInvocationCounterStore
    from dlmskit.session.protection import SecurityPolicy, SecuritySettings

    return SecuritySettings(
        policy=SecurityPolicy.parse(policy_name),
        system_title=CLIENT_TITLE,
        block_cipher_key=secret(EK),
        authentication_key=secret(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )
