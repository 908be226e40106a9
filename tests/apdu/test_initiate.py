"""Tests of dlmskit.apdu.initiate: xDLMS InitiateRequest and InitiateResponse."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.initiate import DLMS_VERSION, VAA_NAME_LN, VAA_NAME_SN, InitiateRequest, InitiateResponse
from dlmskit.errors import DecodeError, EncodeError

# Green Book glo-initiateRequest plaintext (facts sheet section 3).
GREEN_BOOK_REQUEST_WITH_KEY = bytes.fromhex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
# User-information of the Green Book plain LN AARQ (facts sheet section 5).
GREEN_BOOK_PLAIN_REQUEST = bytes.fromhex("01000000065F1F0400007E1F04B0")
# InitiateResponses of the gosem tests (gitlab.com/circutor-library/gosem, pkg/dlms/initiateResponse_test.go).
GOSEM_RESPONSE = bytes.fromhex("0800065F1F040000101D00800007")
GOSEM_RESPONSE_WITH_QOS = bytes.fromhex("080102065F1F040000101D00800007")

GOSEM_CONFORMANCE = (
    Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.GET
    | Conformance.SET
    | Conformance.SELECTIVE_ACCESS
    | Conformance.ACTION
)


def test_green_book_request_with_dedicated_key() -> None:
    request = InitiateRequest.decode(GREEN_BOOK_REQUEST_WITH_KEY)
    assert request == InitiateRequest(
        dedicated_key=bytes.fromhex("00112233445566778899AABBCCDDEEFF"),
        proposed_conformance=Conformance.default_ln_client(),
        client_max_receive_pdu_size=0x04B0,
    )
    assert request.response_allowed is True
    assert request.proposed_quality_of_service is None
    assert request.proposed_dlms_version_number == DLMS_VERSION
    assert request.encode() == GREEN_BOOK_REQUEST_WITH_KEY


def test_green_book_plain_request() -> None:
    request = InitiateRequest(
        proposed_conformance=Conformance.default_ln_client(), client_max_receive_pdu_size=1200
    )
    assert request.encode() == GREEN_BOOK_PLAIN_REQUEST
    assert InitiateRequest.decode(GREEN_BOOK_PLAIN_REQUEST) == request


def test_response_allowed_and_quality_of_service() -> None:
    request = InitiateRequest(
        response_allowed=False,
        proposed_quality_of_service=-1,
        proposed_conformance=Conformance.GET,
        client_max_receive_pdu_size=0xFFFF,
    )
    encoded = bytes.fromhex("01 00 0100 01FF 06 5F1F0400000010 FFFF")
    assert request.encode() == encoded
    assert InitiateRequest.decode(encoded) == request
    # An explicit TRUE (01 01) is the default value, re-encoded as 00.
    explicit_true = InitiateRequest.decode(bytes.fromhex("01 00 0101 00 06 5F1F0400000010 FFFF"))
    assert explicit_true.response_allowed is True


def test_dedicated_key_is_not_in_repr() -> None:
    request = InitiateRequest.decode(GREEN_BOOK_REQUEST_WITH_KEY)
    assert "dedicated_key" not in repr(request)
    assert "00112233" not in repr(request)


def test_gosem_responses() -> None:
    response = InitiateResponse(negotiated_conformance=GOSEM_CONFORMANCE, server_max_receive_pdu_size=128)
    assert response.encode() == GOSEM_RESPONSE
    assert InitiateResponse.decode(GOSEM_RESPONSE) == response
    with_qos = InitiateResponse(
        negotiated_quality_of_service=2,
        negotiated_conformance=GOSEM_CONFORMANCE,
        server_max_receive_pdu_size=128,
    )
    assert with_qos.encode() == GOSEM_RESPONSE_WITH_QOS
    assert InitiateResponse.decode(GOSEM_RESPONSE_WITH_QOS) == with_qos


def test_short_name_response() -> None:
    # Hand-built: SN server, read/write/parameterized-access, 1200 bytes, vaa-name FA00.
    conformance = Conformance.READ | Conformance.WRITE | Conformance.PARAMETERIZED_ACCESS
    response = InitiateResponse(
        negotiated_conformance=conformance, server_max_receive_pdu_size=0x04B0, vaa_name=VAA_NAME_SN
    )
    encoded = bytes.fromhex("08 00 06 5F1F0400 180020 04B0 FA00")
    assert response.encode() == encoded
    assert InitiateResponse.decode(encoded) == response
    assert InitiateResponse.decode(GOSEM_RESPONSE).vaa_name == VAA_NAME_LN


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        # Negative cases of the gosem tests: truncated, wrong tag, wrong conformance tag.
        ("0800065F1F040000101D008000", "ends inside vaa-name"),
        ("0900065F1F040000101D00800007", "not an initiate-response"),
        ("0800065B1F040000101D00800007", "conformance block expected"),
        ("0800065F1F040000101D0080000700", "trailing bytes"),
        ("0802", "invalid presence flag"),
        ("", "ends inside initiate-response"),
    ],
)
def test_bad_responses(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        InitiateResponse.decode(bytes.fromhex(encoded))


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("08000000065F1F0400007E1F04B0", "not an initiate-request"),
        ("010110001122", "ends inside dedicated-key"),
        ("0101", "ends before a length"),
        ("01000000065F1F0400007E1F04", "ends inside client-max-receive-pdu-size"),
        ("01000000065F1F0400007E1F04B000", "trailing bytes"),
    ],
)
def test_bad_requests(encoded: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        InitiateRequest.decode(bytes.fromhex(encoded))


@pytest.mark.parametrize(
    "request_",
    [
        InitiateRequest(proposed_conformance=Conformance.GET, client_max_receive_pdu_size=0x10000),
        InitiateRequest(proposed_conformance=Conformance.GET, client_max_receive_pdu_size=-1),
        InitiateRequest(
            proposed_conformance=Conformance.GET,
            client_max_receive_pdu_size=1,
            proposed_dlms_version_number=256,
        ),
        InitiateRequest(
            proposed_conformance=Conformance.GET,
            client_max_receive_pdu_size=1,
            proposed_quality_of_service=128,
        ),
    ],
)
def test_unencodable_requests(request_: InitiateRequest) -> None:
    with pytest.raises(EncodeError):
        request_.encode()


def test_unencodable_response() -> None:
    with pytest.raises(EncodeError):
        InitiateResponse(
            negotiated_conformance=Conformance.GET, server_max_receive_pdu_size=1, vaa_name=0x10000
        ).encode()


conformances = st.integers(0, 0xFFFFFF).map(Conformance)
qualities = st.none() | st.integers(-128, 127)

requests = st.builds(
    InitiateRequest,
    dedicated_key=st.none() | st.binary(max_size=200),
    response_allowed=st.booleans(),
    proposed_quality_of_service=qualities,
    proposed_dlms_version_number=st.integers(0, 255),
    proposed_conformance=conformances,
    client_max_receive_pdu_size=st.integers(0, 0xFFFF),
)
responses = st.builds(
    InitiateResponse,
    negotiated_quality_of_service=qualities,
    negotiated_dlms_version_number=st.integers(0, 255),
    negotiated_conformance=conformances,
    server_max_receive_pdu_size=st.integers(0, 0xFFFF),
    vaa_name=st.integers(0, 0xFFFF),
)


@settings(max_examples=150)
@given(request_=requests)
def test_request_round_trip(request_: InitiateRequest) -> None:
    encoded = request_.encode()
    assert InitiateRequest.decode(encoded) == request_
    assert InitiateRequest.decode(memoryview(encoded)) == request_


@settings(max_examples=150)
@given(response=responses)
def test_response_round_trip(response: InitiateResponse) -> None:
    assert InitiateResponse.decode(response.encode()) == response


@settings(max_examples=200)
@given(data=st.binary(max_size=40))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for decode in (InitiateRequest.decode, InitiateResponse.decode):
        with contextlib.suppress(DecodeError):
            decode(data)


@pytest.mark.parametrize(
    "encoded",
    [GREEN_BOOK_REQUEST_WITH_KEY, GREEN_BOOK_PLAIN_REQUEST, GOSEM_RESPONSE, GOSEM_RESPONSE_WITH_QOS],
)
def test_every_truncation_raises_decode_error(encoded: bytes) -> None:
    decode = InitiateRequest.decode if encoded[0] == InitiateRequest.TAG else InitiateResponse.decode
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            decode(encoded[:end])


@pytest.mark.parametrize(
    "encoded",
    [GREEN_BOOK_REQUEST_WITH_KEY, GREEN_BOOK_PLAIN_REQUEST, GOSEM_RESPONSE, GOSEM_RESPONSE_WITH_QOS],
)
def test_every_single_byte_corruption_raises_only_decode_error(encoded: bytes) -> None:
    for position in range(len(encoded)):
        for replacement in (0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xFF):
            corrupted = encoded[:position] + bytes((replacement,)) + encoded[position + 1 :]
            for decode in (InitiateRequest.decode, InitiateResponse.decode):
                with contextlib.suppress(DecodeError):
                    decode(corrupted)
