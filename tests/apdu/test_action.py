"""ACTION APDUs: action-request C3 and action-response C7 (dlmskit.apdu.action)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import (
    axdr_data,
    block_numbers,
    check_apdu,
    check_garbage,
    data_blocks_sa,
    get_data_results,
    invoke_ids,
    method_descriptors,
)

from dlmskit.apdu import (
    ABSENT,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
    CosemMethodDescriptor,
    DataBlockSA,
    GetDataResult,
    InvokeIdAndPriority,
    decode_apdu,
)
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.errors import DecodeError, EncodeError

C1 = InvokeIdAndPriority()
REMOTE_DISCONNECT = CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10, 255), 1)
REPLY_TO_HLS = CosemMethodDescriptor(15, Obis(0, 0, 40, 0, 0, 255), 1)

# -- published vectors --------------------------------------------------------------------------------------


def test_remote_disconnect_green_book() -> None:
    # DLMS UA Green Book example: disconnect control remote_disconnect with integer(0) and its answer, as
    # reproduced in shared/reference/dlms-facts.md section 7.
    check_apdu(
        ActionRequestNormal(C1, REMOTE_DISCONNECT, axdr.Integer(0)),
        bytes.fromhex("C301C10046000060030AFF01010F00"),
    )
    response = ActionResponseNormal(C1, ActionResult.SUCCESS)
    check_apdu(response, bytes.fromhex("C701C10000"))
    assert ActionResponseNormal.decode(bytes.fromhex("C701C10000")).return_parameters is None


def test_token_gateway_enter_from_seed_trace() -> None:
    # The ActionRequestNormal of the Gurux forum thread "Token Gateway Using Arduino Client" in
    # shared/seeds/001_5ff6070f446e4372.txt: invoke 81, class 0x0073, 0.0.19.40.0.255, method 1,
    # OctetString 0005070108080504050900010907020101020401.
    token = bytes.fromhex("0005070108080504050900010907020101020401")
    apdu = ActionRequestNormal(
        InvokeIdAndPriority(1, confirmed=False, high_priority=True),
        CosemMethodDescriptor(0x0073, Obis.from_bytes(bytes.fromhex("0000132800FF")), 1),
        axdr.OctetString(token),
    )
    check_apdu(apdu, bytes.fromhex("C301810073 0000132800FF 01 01 0914") + token)


# -- worked examples ----------------------------------------------------------------------------------------


def test_absent_parameters_and_null_data_differ() -> None:
    without = ActionRequestNormal(C1, REMOTE_DISCONNECT)
    assert without.parameters is ABSENT
    check_apdu(without, bytes.fromhex("C301C10046000060030AFF0100"))
    check_apdu(
        ActionRequestNormal(C1, REMOTE_DISCONNECT, None), bytes.fromhex("C301C10046000060030AFF010100")
    )


def test_hls_reply_with_return_parameters() -> None:
    # Pass 4 of HLS-GMAC (facts section 4): the server returns f(CtoS) as an octet-string.
    f_ctos = bytes.fromhex("1001234567FE1466AFB3DBCD4F9389E2B7")
    response = ActionResponseNormal(C1, ActionResult.SUCCESS, GetDataResult(axdr.OctetString(f_ctos)))
    check_apdu(response, bytes.fromhex("C701C1 00 01 00 0911") + f_ctos)
    failure = ActionResponseNormal(
        C1, ActionResult.OTHER_REASON, GetDataResult(error=DataAccessResult.OBJECT_UNAVAILABLE)
    )
    check_apdu(failure, bytes.fromhex("C701C1 FA 01 01 0B"))


def test_unknown_action_result_kept_as_int() -> None:
    decoded = ActionResponseNormal.decode(bytes.fromhex("C701C17700"))
    assert decoded.result == 0x77
    assert type(decoded.result) is int


def test_pblocks_and_lists() -> None:
    block = DataBlockSA(False, 1, b"\x09\x03abc")
    check_apdu(
        ActionRequestWithFirstPblock(C1, REPLY_TO_HLS, block),
        bytes.fromhex("C304C1 000F 0000280000FF 01 00 00000001 05 0903616263"),
    )
    check_apdu(ActionRequestWithPblock(C1, DataBlockSA(True, 2, b"")), bytes.fromhex("C306C1 01 00000002 00"))
    check_apdu(ActionRequestNextPblock(C1, 1), bytes.fromhex("C302C1 00000001"))
    check_apdu(ActionResponseNextPblock(C1, 1), bytes.fromhex("C704C1 00000001"))
    check_apdu(ActionResponseWithPblock(C1, block), bytes.fromhex("C702C1 00 00000001 05 0903616263"))
    methods = (REMOTE_DISCONNECT, REPLY_TO_HLS)
    check_apdu(
        ActionRequestWithList(C1, methods, (axdr.Integer(0), None)),
        bytes.fromhex("C303C1 02 0046000060030AFF01 000F0000280000FF01 02 0F00 00"),
    )
    check_apdu(
        ActionRequestWithListAndFirstPblock(C1, methods, block),
        bytes.fromhex("C305C1 02 0046000060030AFF01 000F0000280000FF01 00 00000001 05 0903616263"),
    )
    responses = (
        ActionResponseWithOptionalData(ActionResult.SUCCESS),
        ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED, GetDataResult(axdr.Unsigned(1))),
    )
    check_apdu(ActionResponseWithList(C1, responses), bytes.fromhex("C703C1 02 0000 0C 01 00 1101"))


# -- errors -------------------------------------------------------------------------------------------------


def test_decode_errors() -> None:
    with pytest.raises(DecodeError, match="choice"):
        decode_apdu(bytes.fromhex("C307C1"))
    with pytest.raises(DecodeError, match="choice"):
        decode_apdu(bytes.fromhex("C705C1"))
    with pytest.raises(DecodeError, match="method-invocation-parameters marker"):
        decode_apdu(bytes.fromhex("C301C10046000060030AFF01020F00"))
    with pytest.raises(DecodeError, match="return-parameters marker"):
        decode_apdu(bytes.fromhex("C701C10002"))
    with pytest.raises(DecodeError, match="trailing"):
        decode_apdu(bytes.fromhex("C701C1000000"))


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="method-id"):
        CosemMethodDescriptor(70, Obis(0, 0, 96, 3, 10), 128).encode()
    with pytest.raises(EncodeError, match="action-result"):
        ActionResponseNormal(C1, -1).encode()


# -- properties ---------------------------------------------------------------------------------------------

_BOUNDED = settings(max_examples=60, deadline=None)
_METHOD_LISTS = st.lists(method_descriptors(), max_size=3).map(tuple)
_ACTION_RESULTS = st.sampled_from(list(ActionResult)) | st.integers(0, 255)
_RESPONSES = st.builds(ActionResponseWithOptionalData, _ACTION_RESULTS, st.none() | get_data_results())


@_BOUNDED
@given(invoke_ids(), method_descriptors(), st.just(ABSENT) | axdr_data())
def test_action_request_normal_round_trip(
    invoke: InvokeIdAndPriority, method: CosemMethodDescriptor, parameters: axdr.Data
) -> None:
    check_apdu(ActionRequestNormal(invoke, method, parameters))


@_BOUNDED
@given(invoke_ids(), method_descriptors(), _METHOD_LISTS, data_blocks_sa(), block_numbers())
def test_action_request_blocks_round_trip(
    invoke: InvokeIdAndPriority,
    method: CosemMethodDescriptor,
    methods: tuple[CosemMethodDescriptor, ...],
    block: DataBlockSA,
    block_number: int,
) -> None:
    check_apdu(ActionRequestNextPblock(invoke, block_number))
    check_apdu(ActionRequestWithFirstPblock(invoke, method, block))
    check_apdu(ActionRequestWithListAndFirstPblock(invoke, methods, block))
    check_apdu(ActionRequestWithPblock(invoke, block))


@_BOUNDED
@given(invoke_ids(), _METHOD_LISTS, st.lists(axdr_data(max_leaves=6), max_size=3).map(tuple))
def test_action_request_with_list_round_trip(
    invoke: InvokeIdAndPriority, methods: tuple[CosemMethodDescriptor, ...], parameters: tuple[axdr.Data, ...]
) -> None:
    check_apdu(ActionRequestWithList(invoke, methods, parameters))


@_BOUNDED
@given(
    invoke_ids(), _RESPONSES, st.lists(_RESPONSES, max_size=3).map(tuple), data_blocks_sa(), block_numbers()
)
def test_action_responses_round_trip(
    invoke: InvokeIdAndPriority,
    response: ActionResponseWithOptionalData,
    responses: tuple[ActionResponseWithOptionalData, ...],
    block: DataBlockSA,
    block_number: int,
) -> None:
    check_apdu(ActionResponseNormal(invoke, response.result, response.return_parameters))
    check_apdu(ActionResponseWithPblock(invoke, block))
    check_apdu(ActionResponseWithList(invoke, responses))
    check_apdu(ActionResponseNextPblock(invoke, block_number))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [f"C3{choice:02X}" for choice in range(1, 7)] + [f"C7{choice:02X}" for choice in range(1, 5)]
    ),
    st.binary(max_size=40),
)
def test_garbage_raises_only_decode_error(header: str, tail: bytes) -> None:
    check_garbage(bytes.fromhex(header) + tail)
