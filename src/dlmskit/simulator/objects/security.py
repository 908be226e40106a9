"""Security setup (class 64, version 0): the policy, suite and system titles of one association, and its keys.

Behaviour: ``association = 1``, the client address of the association the object belongs to.

- security_policy (2) and server_system_title (5) are that association's; client_system_title (4) is the
  title the current client sent, when it is that association asking.
- Method 1 security_activate raises the policy (never lowers it: other-reason).
- Method 2 global_key_transfer takes ``{key_id, wrapped key}`` pairs, each wrapped with the association's
  master key (AES key wrap, RFC 3394): 0 global unicast encryption key, 1 broadcast key (accepted, unused),
  2 authentication key, 3 master key. All pairs are unwrapped before any key changes; a key that does not
  unwrap (wrong master key) refuses the whole call with other-reason. New keys are used from the next
  association on; the meter's invocation counters for a new key start again at 1.
"""

from __future__ import annotations

from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.errors import DlmsError
from dlmskit.security.keywrap import KeyId, unwrap_key
from dlmskit.session.protection import SecurityPolicy
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.associations import AssociationState
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused

__all__ = ["SecuritySetup"]


class SecuritySetup(SimObject):
    """The security setup of one association."""

    methods = frozenset({1, 2})
    behaviours = frozenset({"association"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        client = self.behaviour("association", int, None)
        if client is None:
            raise model.error(
                "association = <client address> says whose security setup this is", "association"
            )
        self.client_sap: int = client

    @property
    def state(self) -> AssociationState:
        state = self.meter.association_state(self.client_sap)
        assert state is not None  # checked when the meter is built
        return state

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        state = self.state
        if attribute == 2:
            return axdr.Enum(state.policy)
        if attribute == 4:
            own = context is not None and context.client_sap == self.client_sap
            return axdr.OctetString(context.client_system_title or b"" if own and context else b"")
        if attribute == 5:
            return axdr.OctetString(state.model.server_system_title)
        return super().read(attribute, context, access)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        state = self.state
        if method == 1:
            if int(parameters) > SecurityPolicy.AUTHENTICATED_ENCRYPTED or not state.raise_policy(
                SecurityPolicy(int(parameters))
            ):
                return refused(ActionResult.OTHER_REASON)
            self.meter.log_event(EventCode.SECURITY_POLICY_CHANGED)
            return done()
        if state.master_key is None:
            return refused(ActionResult.OTHER_REASON)
        keys: list[tuple[KeyId, bytes]] = []
        for key_id, wrapped in parameters:
            if int(key_id) > KeyId.MASTER_KEY:
                return refused(ActionResult.OTHER_REASON)
            try:
                keys.append((KeyId(int(key_id)), unwrap_key(state.master_key, bytes(wrapped))))
            except DlmsError:
                return refused(ActionResult.OTHER_REASON)
        if any(len(key) != 16 for _, key in keys):
            return refused(ActionResult.OTHER_REASON)
        for key_id, key in keys:
            state.replace_key(key_id, key)
        self.meter.log_event(EventCode.KEYS_CHANGED)
        return done()
