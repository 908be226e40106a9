"""Token gateway (class 115): STS tokens entered remotely (method 1 enter) or on the keypad.

A token is 20 decimal digits. By default the meter takes it as an octet-string of 20 ASCII digits, like the
meter in the seed story; the model can ask for 10 bytes of packed BCD instead (``token_format = "bcd"``).

- A parameter that is not an octet-string (a visible-string...) is refused with type-unmatched.
- Any octet-string is *received*: the ACTION succeeds, as on real meters, and token_status (attribute 6)
  says what became of it: 4 token-format-failure (wrong length or not digits), 5 authentication-failure (a
  token this meter does not know: a real meter could not decrypt it), 6 validation-result-failure (a token
  used before), 7 token-execution-result-failure (its effect could not be applied), 3 token-execution-ok.
- token (2) keeps the last token received, token_time (3) when, token_description (4) what the last
  executed token did, token_delivery_method (5) how it came.

Every token runs its effect once: ``add_credit``, ``clear_tamper`` (ends the tamper state and closes the
relay) and ``reconnect`` (closes the relay).
"""

from __future__ import annotations

from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.codec import axdr
from dlmskit.cosem.classes.disconnect import ControlState
from dlmskit.cosem.values import STS_TOKEN_MAX, TokenDeliveryMethod, TokenStatus, TokenStatusCode
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import ObjectModel, TokenModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done

__all__ = ["TokenGateway"]

_FORMATS = ("ascii", "bcd")


class TokenGateway(SimObject):
    """The token gateway."""

    methods = frozenset({1})
    behaviours = frozenset({"token_format"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        self.token_format = self.behaviour("token_format", str, "ascii")
        if self.token_format not in _FORMATS:
            raise model.error('token_format is "ascii" (20 digit bytes) or "bcd" (10 bytes)', "token_format")
        self.used: list[str] = []
        """The tokens executed, in order."""
        self.status = TokenStatus(TokenStatusCode.FORMAT_OK)

    @property
    def token_status(self) -> TokenStatusCode | int:
        return self.status.status_code

    def digits(self, octets: bytes) -> str | None:
        """The 20 digits of a token in this meter's format, or None."""
        if self.token_format == "ascii":  # noqa: S105 - a format name
            text = octets.decode("latin-1")
            ok = len(octets) == 20 and text.isdigit() and text.isascii()
        else:
            text = octets.hex()
            ok = len(octets) == 10 and text.isdigit()
        return text if ok and int(text) <= STS_TOKEN_MAX else None

    def _execute(self, token: TokenModel) -> bool:
        meter = self.meter
        if token.add_credit:
            credit = meter.credit
            if credit is None or not credit.add(token.add_credit):
                return False
        if token.clear_tamper:
            meter.clear_tamper()
        if token.reconnect:
            relay = meter.relay
            if relay is None or meter.tamper:
                return False
            relay.force(ControlState.CONNECTED)
        return True

    def enter(
        self, octets: bytes, delivery: TokenDeliveryMethod = TokenDeliveryMethod.MANUAL
    ) -> TokenStatusCode:
        """Receive a token (the keypad calls this with MANUAL, method 1 with REMOTE); returns its status."""
        self.values[2] = axdr.OctetString(octets)
        self.values[3] = axdr.OctetString(meter_time(self.meter))
        self.values[5] = axdr.Enum(delivery)
        digits = self.digits(octets)
        token = self.meter.tokens.get(digits) if digits is not None else None
        if digits is None:
            code = TokenStatusCode.TOKEN_FORMAT_FAILURE
        elif token is None:
            code = TokenStatusCode.AUTHENTICATION_FAILURE
        elif digits in self.used:
            code = TokenStatusCode.VALIDATION_RESULT_FAILURE
        elif not self._execute(token):
            code = TokenStatusCode.TOKEN_EXECUTION_RESULT_FAILURE
        else:
            code = TokenStatusCode.TOKEN_EXECUTION_OK
            self.used.append(digits)
            self.values[4] = axdr.Array([axdr.OctetString(token.description.encode("utf-8"))])
        self.status = TokenStatus(code)
        accepted = code == TokenStatusCode.TOKEN_EXECUTION_OK
        self.meter.log_event(EventCode.TOKEN_ACCEPTED if accepted else EventCode.TOKEN_REJECTED)
        return code

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 6:
            return self.status.encode()
        return super().read(attribute, context, access)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        self.enter(bytes(parameters), TokenDeliveryMethod.REMOTE)
        return done()


def meter_time(meter: MeterServices) -> bytes:
    """The meter's clock as a 12-byte date-time."""
    return meter.render_time(meter.clock_time())
