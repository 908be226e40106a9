"""Error APDUs: exception-response ``D8`` and confirmed-service-error ``0E``.

A server answers with an exception-response when it cannot even start to handle an APDU (no association,
an unknown service, a deciphering failure)::

    D8 01 03                 state-error service-not-allowed, service-error other-reason
    D8 01 06 00000013        invocation-counter-error: the counter the server expects next (19)

and with a confirmed-service-error when a confirmed service of the DLMS core failed, most often the xDLMS
initiate inside the AARQ (facts section 8)::

    0E 01 06 01              initiateError, ServiceError initiate, dlms-version-too-low
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlmskit.apdu.common import ApduTag, XdlmsApdu, pack_int, read_result, read_u8, read_u32
from dlmskit.apdu.results import (
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    ResultCode,
    ServiceError,
    StateError,
    service_error_detail,
)
from dlmskit.errors import EncodeError

__all__ = ["ConfirmedServiceError", "ExceptionResponse"]


@dataclass(frozen=True, slots=True)
class ExceptionResponse(XdlmsApdu):
    """Exception-Response (``D8``): the server refused an APDU before handling it.

    ``invocation_counter`` is the counter the server expects next; it is sent with the service-error
    invocation-counter-error (6) and only then.
    """

    TAG: ClassVar[int] = ApduTag.EXCEPTION_RESPONSE

    state_error: StateError | int
    service_error: ServiceError | int
    invocation_counter: int | None = None

    def _encode_body(self) -> bytes:
        body = pack_int(self.state_error, 1, "state-error") + pack_int(self.service_error, 1, "service-error")
        counter_expected = self.service_error == ServiceError.INVOCATION_COUNTER_ERROR
        if counter_expected != (self.invocation_counter is not None):
            raise EncodeError(
                "an exception-response carries an invocation counter with service-error "
                "invocation-counter-error (6), and only then"
            )
        if self.invocation_counter is not None:
            body += pack_int(self.invocation_counter, 4, "invocation counter")
        return body

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ExceptionResponse, int]:
        state_error, offset = read_result(data, offset, StateError, "state-error")
        service_error, offset = read_result(data, offset, ServiceError, "service-error")
        if service_error != ServiceError.INVOCATION_COUNTER_ERROR:
            return cls(state_error, service_error), offset
        counter, offset = read_u32(data, offset, "invocation counter")
        return cls(state_error, service_error, counter), offset


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError(XdlmsApdu):
    """Confirmed-Service-Error (``0E``): a confirmed service failed.

    ``service`` says which service (1 initiateError ... 19 terminateUpLoad), ``error`` the kind of
    ServiceError (0 application-reference ... 6 initiate ... 10 other) and ``detail`` its enumerated value,
    a member of the matching detail enum of :mod:`dlmskit.apdu.results` (``InitiateError`` for initiate)
    when known. Unknown values are kept as plain ints.
    """

    TAG: ClassVar[int] = ApduTag.CONFIRMED_SERVICE_ERROR

    service: ConfirmedServiceErrorService | int
    error: ConfirmedServiceErrorChoice | int
    detail: ResultCode | int

    def _encode_body(self) -> bytes:
        return (
            pack_int(self.service, 1, "confirmed service")
            + pack_int(self.error, 1, "ServiceError choice")
            + pack_int(self.detail, 1, "ServiceError value")
        )

    @classmethod
    def _decode_body(cls, data: bytes, offset: int) -> tuple[ConfirmedServiceError, int]:
        service, offset = read_result(data, offset, ConfirmedServiceErrorService, "confirmed service")
        error, offset = read_result(data, offset, ConfirmedServiceErrorChoice, "ServiceError choice")
        value, offset = read_u8(data, offset, "ServiceError value")
        detail = service_error_detail(error, value)
        return cls(service, error, value if detail is None else detail), offset
