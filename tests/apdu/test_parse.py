"""The APDU dispatcher decode_apdu (dlmskit.apdu.parse)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import check_garbage

from dlmskit.apdu import (
    ActionRequestNormal,
    ActionResponseNormal,
    ApduTag,
    ConfirmedServiceError,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    GeneralBlockTransfer,
    GetRequestNext,
    GetRequestNormal,
    GetResponseWithDatablock,
    SetRequestWithList,
    SetResponseLastDatablock,
    UnparsedApdu,
    decode_apdu,
)
from dlmskit.apdu.acse import AARQ, RLRQ
from dlmskit.apdu.initiate import InitiateRequest
from dlmskit.errors import DecodeError

# (hex, expected class): one APDU of each family; sources in the per-module tests.
DISPATCH = [
    ("C0010000080000010000FF0200", GetRequestNormal),  # Green Book, facts section 3
    ("C002C100000001", GetRequestNext),
    ("C402C1000000000100040102 0304", GetResponseWithDatablock),
    ("C104C1 01 00080000010000FF0200 01 1101", SetRequestWithList),
    ("C503C100 00000002", SetResponseLastDatablock),
    ("C301C10046000060030AFF01010F00", ActionRequestNormal),  # Green Book, facts section 7
    ("C701C10000", ActionResponseNormal),  # Green Book, facts section 7
    ("0F 00000001 00 1101", DataNotification),
    ("C2 00 0001 0000600B00FF 02 120010", EventNotificationRequest),
    ("D8010600000013", ExceptionResponse),
    ("0E010601", ConfirmedServiceError),  # facts section 8
    ("E0 81 0001 0000 02 C701", GeneralBlockTransfer),
    # Delegated to dlmskit.apdu.acse and dlmskit.apdu.initiate (facts sections 5 and 3).
    ("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0", AARQ),
    ("6203800100", RLRQ),
    ("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0", InitiateRequest),
]


@pytest.mark.parametrize(("text", "expected"), DISPATCH)
def test_dispatch(text: str, expected: type) -> None:
    data = bytes.fromhex(text)
    apdu = decode_apdu(data)
    assert type(apdu) is expected
    assert apdu.encode() == data
    assert decode_apdu(bytearray(data)) == decode_apdu(memoryview(data)) == apdu
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode_apdu(data[:end])


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        # Green Book SC 0x30 glo-get-request and glo-initiateRequest, facts section 3.
        ("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", ApduTag.GLO_GET_REQUEST),
        (
            "21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855",
            ApduTag.GLO_INITIATE_REQUEST,
        ),
        ("DB 08 4D4D4D0000BC614E 05 3001234567", ApduTag.GENERAL_GLO_CIPHERING),
        ("D4 05 3001234567", ApduTag.DED_GET_RESPONSE),
        ("45 05 3001234567", ApduTag.DED_READ_REQUEST),
    ],
)
def test_ciphered_apdus_are_left_unparsed(text: str, tag: ApduTag) -> None:
    data = bytes.fromhex(text)
    apdu = decode_apdu(data)
    assert apdu == UnparsedApdu(data)
    assert isinstance(apdu, UnparsedApdu)
    assert apdu.tag is tag
    assert apdu.encode() == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty APDU"),
        ("99", "unknown APDU tag"),
        ("C0", "service choice"),
        ("C000", "unknown choice of get-request"),
        ("C5 06 C1 00", "unknown choice of set-response"),
        ("C7 00", "unknown choice of action-response"),
    ],
)
def test_decode_errors(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_apdu(bytes.fromhex(text))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    check_garbage(data)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(ApduTag)),
    st.binary(max_size=40),
)
def test_random_bodies_raise_only_decode_error(tag: ApduTag, body: bytes) -> None:
    check_garbage(bytes((tag,)) + body)


def test_decode_apdu_prefix_says_where_the_apdu_ends() -> None:
    # The Gurux C server's clock answer (shared/interop/gurux-c-server a line 20): 18 bytes after the value.
    from dlmskit.apdu.get import GetResponseNormal
    from dlmskit.apdu.parse import decode_apdu_prefix

    apdu = bytes.fromhex("C401C100090C07EA0C070102371700000000090F090C07EA0C070102371700000000090F")
    decoded, end = decode_apdu_prefix(apdu)
    assert isinstance(decoded, GetResponseNormal) and end == 18
    assert decode_apdu_prefix(apdu[:18]) == (decoded, 18)
    aare = bytes.fromhex(
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007"
    )
    assert decode_apdu_prefix(aare + b"\x00")[1] == len(aare)
