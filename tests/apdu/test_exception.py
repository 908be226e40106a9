"""Error APDUs: exception-response D8 and confirmed-service-error 0E (dlmskit.apdu.exception)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import check_apdu, check_garbage

from dlmskit.apdu import ConfirmedServiceError, ExceptionResponse, decode_apdu
from dlmskit.apdu.results import (
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    InitiateError,
    ServiceError,
    StateError,
)
from dlmskit.errors import DecodeError, EncodeError

# -- published vectors and worked examples ------------------------------------------------------------------


def test_confirmed_service_error_dlms_version_too_low() -> None:
    # Initiate error, dlms-version-too-low: shared/reference/dlms-facts.md section 8.
    apdu = ConfirmedServiceError(
        ConfirmedServiceErrorService.INITIATE_ERROR,
        ConfirmedServiceErrorChoice.INITIATE,
        InitiateError.DLMS_VERSION_TOO_LOW,
    )
    check_apdu(apdu, bytes.fromhex("0E010601"))
    decoded = decode_apdu(bytes.fromhex("0E010601"))
    assert isinstance(decoded, ConfirmedServiceError)
    assert decoded.service is ConfirmedServiceErrorService.INITIATE_ERROR
    assert decoded.error is ConfirmedServiceErrorChoice.INITIATE
    assert decoded.detail is InitiateError.DLMS_VERSION_TOO_LOW


def test_confirmed_service_error_unknown_values_kept_as_ints() -> None:
    decoded = ConfirmedServiceError.decode(bytes.fromhex("0E 20 0B 07"))
    assert (decoded.service, decoded.error, decoded.detail) == (0x20, 0x0B, 7)
    assert {type(decoded.service), type(decoded.error), type(decoded.detail)} == {int}
    # The "other" choice has no detail enum: its value stays an int.
    other = ConfirmedServiceError.decode(bytes.fromhex("0E 05 0A 03"))
    assert other.service is ConfirmedServiceErrorService.READ
    assert type(other.detail) is int


def test_exception_responses() -> None:
    # Exception-response layout of shared/reference/dlms-facts.md section 8.
    other_reason = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.OTHER_REASON)
    check_apdu(other_reason, bytes.fromhex("D80103"))
    counter = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 19)
    check_apdu(counter, bytes.fromhex("D8010600000013"))
    decoded = decode_apdu(bytes.fromhex("D80202"))
    assert decoded == ExceptionResponse(StateError.SERVICE_UNKNOWN, ServiceError.SERVICE_NOT_SUPPORTED)
    unknown = ExceptionResponse.decode(bytes.fromhex("D80909"))
    assert (unknown.state_error, unknown.service_error) == (9, 9)
    assert type(unknown.state_error) is int


def test_errors() -> None:
    with pytest.raises(DecodeError, match="invocation counter"):
        decode_apdu(bytes.fromhex("D80106"))
    with pytest.raises(DecodeError, match="trailing"):
        decode_apdu(bytes.fromhex("D8010300000013"))
    with pytest.raises(EncodeError, match="invocation counter"):
        ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR).encode()
    with pytest.raises(EncodeError, match="invocation counter"):
        ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.OTHER_REASON, 5).encode()
    with pytest.raises(EncodeError, match="ServiceError value"):
        ConfirmedServiceError(1, 6, 256).encode()


# -- properties ---------------------------------------------------------------------------------------------

_BYTES = st.integers(0, 255)


@settings(max_examples=100, deadline=None)
@given(_BYTES, _BYTES, st.integers(0, 0xFFFFFFFF))
def test_exception_response_round_trip(state: int, service: int, counter: int) -> None:
    has_counter = service == ServiceError.INVOCATION_COUNTER_ERROR
    check_apdu(ExceptionResponse(state, service, counter if has_counter else None))


@settings(max_examples=100, deadline=None)
@given(_BYTES, _BYTES, _BYTES)
def test_confirmed_service_error_round_trip(service: int, error: int, detail: int) -> None:
    check_apdu(ConfirmedServiceError(service, error, detail))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["D8", "0E", "D801", "D80106"]), st.binary(max_size=12))
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
