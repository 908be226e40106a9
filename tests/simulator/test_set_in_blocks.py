"""Access rights before value types on a SET or WRITE, in one APDU or in blocks (LN and SN).

A client that may not write an attribute learns read-write-denied whatever it sends; a client that may
learns type-unmatched for a value of the wrong type. The order is the one of :meth:`SimulatedMeter.set`;
these tests hold the block paths (LN set-request-with-first-datablock, SN WriteRequest with
write-data-block-access) to it.
"""

from __future__ import annotations

import secrets

import pytest
from tests.simulator.simclient import client_settings

from dlmskit.apdu.common import CosemAttributeDescriptor, DataBlockSA, InvokeIdAndPriority
from dlmskit.apdu.parse import decode_apdu
from dlmskit.apdu.results import DataAccessResult
from dlmskit.apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
)
from dlmskit.apdu.sn import VariableName, WriteDataBlockAccess, WriteRequest, WriteResponse
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.session.client import ClientSession
from dlmskit.session.server import ServerSession
from dlmskit.simulator import SimulatedMeter

CLOCK_TIME = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)
"""The clock's time: the reader (32) may read it only, the management client (1) may write it."""
WRONG_TYPE = axdr.encode(axdr.Array([axdr.LongUnsigned(n) for n in range(400)]))
"""A well-formed value of the wrong type (an array, not a 12-byte date-time), longer than one APDU."""
MALFORMED = b"\x01\x82\x01\x90" + b"\x12\x00" * 10  # an array of 400 announced, 10 present


def _associated(meter: SimulatedMeter, sap: int) -> tuple[ClientSession, ServerSession]:
    server = ServerSession(meter, sap)
    settings = client_settings(sap, referencing="sn" if meter.short_names is not None else "ln")
    client = ClientSession(settings, challenge=secrets.token_bytes(16))
    apdu = client.associate()
    while True:
        (reply,) = server.receive(apdu)
        event = client.receive(reply)
        follow = getattr(event, "apdu", None)
        if follow is None:
            return client, server
        apdu = follow


def _plain(client: ClientSession, server: ServerSession, request: bytes) -> object:
    """Send a request the way the client protects it, and decode the meter's (unprotected) answer."""
    protection = client.protection
    wire = protection.wrap(request) if protection is not None and protection.ciphering else request
    (reply,) = server.receive(wire)
    if protection is not None and protection.ciphering:
        reply, _kind = protection.unwrap(reply)
    return decode_apdu(reply)


def _set_ln(sap: int, raw: bytes, *, blocks: int) -> int:
    client, server = _associated(SimulatedMeter(), sap)
    invoke = InvokeIdAndPriority(1)
    if blocks == 0:
        answer = _plain(client, server, SetRequestNormal(invoke, CLOCK_TIME, axdr.decode(raw)).encode())
        assert isinstance(answer, SetResponseNormal)
        return int(answer.result)
    size = -(-len(raw) // blocks)
    pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
    for number, piece in enumerate(pieces, start=1):
        block = DataBlockSA(number == len(pieces), number, piece)
        if number == 1:
            request = SetRequestWithFirstDatablock(invoke, CLOCK_TIME, block).encode()
        else:
            request = SetRequestWithDatablock(invoke, block).encode()
        answer = _plain(client, server, request)
        if number < len(pieces):
            assert isinstance(answer, SetResponseDatablock), answer
    assert isinstance(answer, SetResponseLastDatablock), answer
    return int(answer.result)


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_ln_set_without_the_right_is_denied_whatever_the_value(blocks: int) -> None:
    assert _set_ln(32, WRONG_TYPE, blocks=blocks) == DataAccessResult.READ_WRITE_DENIED


@pytest.mark.parametrize("blocks", [1, 3])
def test_ln_set_in_blocks_of_a_malformed_value_without_the_right_is_denied(blocks: int) -> None:
    assert _set_ln(32, MALFORMED, blocks=blocks) == DataAccessResult.READ_WRITE_DENIED


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_ln_set_with_the_right_and_a_wrong_type_is_type_unmatched(blocks: int) -> None:
    assert _set_ln(1, WRONG_TYPE, blocks=blocks) == DataAccessResult.TYPE_UNMATCHED


@pytest.mark.parametrize("blocks", [1, 3])
def test_ln_set_in_blocks_of_a_malformed_value_with_the_right_is_type_unmatched(blocks: int) -> None:
    assert _set_ln(1, MALFORMED, blocks=blocks) == DataAccessResult.TYPE_UNMATCHED


def _write_sn(sap: int, value: axdr.Data, *, blocks: int) -> int:
    meter = SimulatedMeter(referencing="sn")
    assert meter.short_names is not None
    name = meter.short_names.attribute("0.0.1.0.0.255", 2)
    client, server = _associated(meter, sap)
    request = WriteRequest((VariableName(name),), (value,)).encode()
    if blocks == 0:
        answer = _plain(client, server, request)
    else:
        joined = request[1:]  # the request without its tag, cut into blocks (docs/short-names.md)
        size = -(-len(joined) // blocks)
        pieces = [joined[i : i + size] for i in range(0, len(joined), size)]
        for number, piece in enumerate(pieces, start=1):
            last = number == len(pieces)
            block = WriteRequest((WriteDataBlockAccess(last, number),), (axdr.OctetString(piece),))
            answer = _plain(client, server, block.encode())
            if not last:
                assert isinstance(answer, WriteResponse) and answer.results[0].block_number == number
    assert isinstance(answer, WriteResponse), answer
    (result,) = answer.results
    return 0 if result.error is None else int(result.error)


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_sn_write_without_the_right_is_denied_whatever_the_value(blocks: int) -> None:
    value = axdr.decode(WRONG_TYPE)
    assert _write_sn(32, value, blocks=blocks) == DataAccessResult.READ_WRITE_DENIED


@pytest.mark.parametrize("blocks", [0, 1, 3])
def test_sn_write_with_the_right_and_a_wrong_type_is_type_unmatched(blocks: int) -> None:
    value = axdr.decode(WRONG_TYPE)
    assert _write_sn(1, value, blocks=blocks) == DataAccessResult.TYPE_UNMATCHED


def test_sn_write_in_blocks_of_a_malformed_request_answers_alike_with_and_without_the_right() -> None:
    # A joined request that does not decode names no variable for sure: both clients learn the same
    # (data-block-unavailable), so the answer tells nothing about the rights; in one APDU it would not
    # decode either (an exception-response).
    results = set()
    for sap in (32, 1):
        meter = SimulatedMeter(referencing="sn")
        assert meter.short_names is not None
        name = meter.short_names.attribute("0.0.1.0.0.255", 2)
        client, server = _associated(meter, sap)
        joined = WriteRequest((VariableName(name),), (axdr.OctetString(b""),)).encode()[1:-2] + MALFORMED
        block = WriteRequest((WriteDataBlockAccess(True, 1),), (axdr.OctetString(joined),))
        answer = _plain(client, server, block.encode())
        assert isinstance(answer, WriteResponse)
        results.add(answer.results[0].error)
    assert results == {DataAccessResult.DATA_BLOCK_UNAVAILABLE}
