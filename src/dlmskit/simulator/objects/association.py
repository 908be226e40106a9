"""Association LN (class 15, version 1) and SAP assignment (class 17).

The current association (0.0.40.0.0.255, no behaviour key) answers for the client that asks: its object
list shows what *that* association can see and do. ``client = 16`` makes an object describe one
association (0.0.40.0.16.255), whoever asks.

- object_list (2): the objects the association can access, with its attribute and method access modes
  (read-only 1, write-only 2, read-and-write 3; method access 1) and the selectors of the profile buffers;
- associated_partners_id (3), application_context_name (4), xDLMS_context_info (5, the negotiated
  conformance for the current association), authentication_mechanism_name (6), association_status (8:
  associated for the asking client's association), security_setup_reference (9);
- secret (7) is write-only: writing it sets the LLS password or HLS secret (not for HLS-GMAC, which uses
  the keys: other-reason), as method 2 change_HLS_secret does, from the next association on;
- method 1 reply_to_HLS_authentication is served by the session during HLS; once associated it answers
  other-reason.
"""

from __future__ import annotations

from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.cosem.classes.association import AssociationStatus
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.associations import AssociationState
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused

__all__ = ["AssociationLN", "SapAssignment"]


def _oid(kind: int, last: int) -> axdr.Structure:
    """{2, 16, 756, 5, 8, kind, last}: application context names (kind 1), mechanism names (kind 2)."""
    return axdr.Structure(
        [
            axdr.Unsigned(2),
            axdr.Unsigned(16),
            axdr.LongUnsigned(756),
            axdr.Unsigned(5),
            axdr.Unsigned(8),
            axdr.Unsigned(kind),
            axdr.Unsigned(last),
        ]
    )


class AssociationLN(SimObject):
    """An association object: the current one, or the one of a given client."""

    writable = frozenset({7})
    methods = frozenset({1, 2})
    write_only = frozenset({7})
    behaviours = frozenset({"client"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        self.client_sap: int | None = self.behaviour("client", int, None)

    def _described(self, context: AssociationContext | None) -> AssociationState | None:
        sap = self.client_sap if self.client_sap is not None else (context.client_sap if context else None)
        return None if sap is None else self.meter.association_state(sap)

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        state = self._described(context)
        if state is None or attribute not in (2, 3, 4, 5, 6, 8, 9):
            return super().read(attribute, context, access)
        model = state.model
        settings = state.settings()
        if attribute == 2:
            return self.meter.object_list(state.client_sap)
        if attribute == 3:
            return axdr.Structure(
                [axdr.Integer(state.client_sap), axdr.LongUnsigned(self.meter.settings.hdlc_logical_address)]
            )
        if attribute == 4:
            return _oid(1, 3 if settings.uses_ciphered_context else 1)
        if attribute == 5:
            own = context is not None and context.client_sap == state.client_sap
            conformance = context.conformance if own and context else model.conformance
            return axdr.Structure(
                [
                    axdr.BitString.from_bytes(conformance.encode(), 24),
                    axdr.LongUnsigned(model.max_pdu_size),
                    axdr.LongUnsigned(model.max_pdu_size),
                    axdr.Unsigned(6),
                    axdr.Integer(0),
                    axdr.OctetString(b""),
                ]
            )
        if attribute == 6:
            return _oid(2, int(model.mechanism))
        if attribute == 8:
            asking = context is not None and context.client_sap == state.client_sap
            return axdr.Enum(AssociationStatus.ASSOCIATED if asking else AssociationStatus.NON_ASSOCIATED)
        return axdr.OctetString(self.meter.security_setup_of(state.client_sap))

    def _change_secret(self, context: AssociationContext, secret: bytes) -> bool:
        state = self._described(context)
        if state is None or not state.uses_secret or not secret:
            return False
        state.secret = secret
        return True

    def write(self, attribute: int, value: axdr.Data, context: AssociationContext) -> DataAccessResult:
        ok = self._change_secret(context, bytes(value))
        return DataAccessResult.SUCCESS if ok else DataAccessResult.OTHER_REASON

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        if method == 2 and self._change_secret(context, bytes(parameters)):
            return done()
        return refused(ActionResult.OTHER_REASON)


class SapAssignment(SimObject):
    """The logical devices of the meter: one, the management logical device."""

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            settings = self.meter.settings
            return axdr.Array(
                [
                    axdr.Structure(
                        [
                            axdr.LongUnsigned(settings.hdlc_logical_address),
                            axdr.OctetString(settings.logical_device_name.encode("ascii")),
                        ]
                    )
                ]
            )
        return super().read(attribute, context, access)
