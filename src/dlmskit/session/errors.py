"""Errors a session raises when the peer says no, with the standard's names and a hint in words."""

from __future__ import annotations

from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.results import (
    AcseServiceProvider,
    AcseServiceUser,
    AssociationResult,
    ServiceError,
    StateError,
)
from dlmskit.errors import AssociationError, ProtocolError

__all__ = ["AssociationRejected", "ConfirmedServiceErrorReceived", "ExceptionResponseReceived"]


def _name(enum_type: type[StateError] | type[ServiceError], value: int) -> str:
    known = enum_type.lookup(value)
    return f"{known.standard_name} ({value})" if known is not None else f"unknown ({value})"


class ExceptionResponseReceived(ProtocolError):
    """The meter answered with an exception-response (it could not even process the request)."""

    def __init__(self, response: ExceptionResponse, context: str = "", *, text: str | None = None) -> None:
        self.response = response
        self.state_error = int(response.state_error)
        self.service_error = int(response.service_error)
        if text is not None:  # the message explained further (by the client)
            super().__init__(text)
            return
        service = ServiceError.lookup(self.service_error)
        text = (
            f"{context + ': ' if context else ''}the meter sent exception-response "
            f"{_name(StateError, self.state_error)}, {_name(ServiceError, self.service_error)}"
        )
        if response.invocation_counter is not None:
            text += f"; it expects invocation counter >= {response.invocation_counter}"
        hint = service.hint if service is not None else ""
        if self.service_error in (ServiceError.OTHER_REASON, ServiceError.DECIPHERING_ERROR):
            hint = (
                "check the keys (block cipher and authentication key, as 32 hex digits), the system title, "
                "the security policy and the invocation counter; with suites 1/2 also the key pairs and "
                "whether the meter requires signed APDUs"
            )
        if hint:
            text += f". Hint: {hint}"
        super().__init__(text)


class ConfirmedServiceErrorReceived(ProtocolError):
    """The meter answered with a confirmed-service-error."""

    def __init__(self, error: ConfirmedServiceError, context: str = "") -> None:
        self.error = error
        detail = error.detail
        detail_name = getattr(detail, "standard_name", str(int(detail)))
        choice_name = getattr(error.error, "standard_name", str(int(error.error)))
        service_name = getattr(error.service, "standard_name", str(int(error.service)))
        super().__init__(
            f"{context + ': ' if context else ''}the meter sent confirmed-service-error: "
            f"{service_name}, {choice_name} {detail_name}"
        )


class AssociationRejected(AssociationError):
    """The AARE said no (or the HLS exchange failed)."""

    def __init__(
        self,
        message: str,
        *,
        result: int = AssociationResult.REJECTED_PERMANENT,
        diagnostic: int | None = None,
        provider: bool = False,
    ) -> None:
        self.result = result
        self.diagnostic = diagnostic
        self.provider = provider
        super().__init__(message)

    @classmethod
    def from_aare(cls, result: int, diagnostic: int, provider: bool, extra: str = "") -> AssociationRejected:
        result_enum = AssociationResult.lookup(result)
        result_text = result_enum.standard_name if result_enum is not None else str(result)
        diag_enum = (AcseServiceProvider if provider else AcseServiceUser).lookup(diagnostic)
        diag_text = diag_enum.standard_name if diag_enum is not None else str(diagnostic)
        text = f"the meter rejected the association: {result_text}, {diag_text} ({diagnostic})"
        hints = {
            AcseServiceUser.AUTHENTICATION_FAILURE: "the password or the HLS secret/keys are wrong",
            AcseServiceUser.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: (
                "this client address expects another application context: with or without ciphering"
            ),
            AcseServiceUser.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED: (
                "this client address uses another authentication level (none, low, high-gmac...)"
            ),
            AcseServiceUser.AUTHENTICATION_MECHANISM_NAME_REQUIRED: (
                "this client address needs authentication (--auth low or high)"
            ),
        }
        if not provider and diagnostic in hints:
            text += f". Hint: {hints[AcseServiceUser(diagnostic)]}"
        if extra:
            text += f". {extra}"
        return cls(text, result=result, diagnostic=diagnostic, provider=provider)
