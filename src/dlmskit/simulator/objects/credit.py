"""Credit (class 112): the token credit that credit tokens top up.

``current_credit_amount`` (attribute 2) grows by a token's ``add_credit``; nothing consumes it (the simulator
does no prepayment accounting). Methods 1 update_amount and 2 set_amount_to_value change it too.
"""

from __future__ import annotations

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.errors import EncodeError
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.objects.base import SimObject, done, refused

__all__ = ["Credit"]


class Credit(SimObject):
    """The credit balance."""

    methods = frozenset({1, 2})

    @property
    def amount(self) -> int:
        return int(self.values[2])

    def add(self, amount: int) -> bool:
        """Add ``amount``; False when the balance would leave the double-long range."""
        try:
            self.values[2] = axdr.DoubleLong(self.amount + amount)
        except EncodeError:
            return False
        return True

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        ok = self.add(int(parameters)) if method == 1 else self.add(int(parameters) - self.amount)
        return done() if ok else refused(ActionResult.OTHER_REASON)
