"""Fuzzing in CI (hypothesis, modest example counts): every decoder and the server's input path.

Inputs are random bytes and mutations (changed, inserted and deleted bytes, truncations) of valid
traffic recorded from real sessions. Decoders may raise only ``DecodeError``; stream readers, the
server session and the server link raise nothing, and every server answer decodes. The long,
coverage-guided variant is ``make fuzz`` (``fuzz/``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.tinymeter import TinyMeter, demo_meter

from dlmskit.apdu.acse import AARE, AARQ, RLRE, RLRQ
from dlmskit.apdu.initiate import InitiateRequest, InitiateResponse
from dlmskit.apdu.parse import decode_apdu, decode_apdu_prefix
from dlmskit.codec import axdr, ber
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.codec.obis import decode_obis
from dlmskit.cosem import ScalerUnit, TokenStatus, decode_capture_objects, decode_object_list
from dlmskit.cosem.short_names import decode_access_rights_list, decode_sn_object_list
from dlmskit.errors import DecodeError
from dlmskit.link.events import ApduReceived, LinkClosed, LinkOpened
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, HdlcFrame
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper import WrapperFrame, WrapperFrameReader
from dlmskit.security.ciphering import CipheredApdu
from dlmskit.session.server import ServerSession

from .test_hostile_input import STOC, _traffic, check_server_answer

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid() -> dict[str, list[bytes]]:
    to_server: list[bytes] = []
    to_client: list[bytes] = []
    for case in ("none", "lls", "hls-gmac"):
        sent, received = _traffic(case)  # type: ignore[arg-type]
        to_server += sent
        to_client += received
    frames = [
        HdlcFrame(HdlcAddress(1, 17), HdlcAddress(16), Control.decode(0x10), b"\xe6\xe6\x00" + apdu).encode()
        for apdu in to_server
        if len(apdu) < 1000
    ]
    return {
        "apdus": to_server + to_client,
        "to_server": to_server,
        "axdr": [apdu[4:] for apdu in to_client if apdu[:2] == b"\xc4\x01"]
        + [bytes.fromhex("020406000000000600000005120000120000")],
        "frames": frames,
        "wrapper": [WrapperFrame(16, 1, apdu).encode() for apdu in to_server],
        # Short-name APDUs (tests/apdu/test_sn.py) and an Association SN object list / access rights list.
        "sn": [
            bytes.fromhex(text)
            for text in (
                "05 02 02FD08 02FF08",
                "05 01 04 5008 02 0204 0600000001 0600000003 120001 120000",
                "0C 05 00 06000004D2 01 04 02 00 0001 04 01820125 03 0004 00 00",
                "0D 03 00 01 03 02 0002",
                "06 01 02 3008 01 120005",
                "18 01 0C 07E30C1001073B28FF8000FF 01 02 2008 01 06 00000007",
                "0102 020410 2BC0 120008 1100 0906 0000010000FF 020410 C738 120014 1100 0906 00000D0000FF",
                "0101 020310FA00 0102 02030F01160100 02030F0216030101 0F01 0101 02020F031601",
            )
        ],
    }


VALID = _valid()


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid input with a few bytes changed, inserted or deleted, or cut short; or random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.integers(0, 3))
        if action == 0 and data:
            data[position % len(data)] = draw(st.integers(0, 255))
        elif action == 1:
            data[position:position] = draw(st.binary(min_size=1, max_size=6))
        elif action == 2:
            del data[position : position + draw(st.integers(1, 8))]
        else:
            data = data[:position]
    return bytes(data)


def _only_decode_errors(decode: Callable[[bytes], Any], data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(data)


DECODERS: dict[str, tuple[Callable[[bytes], Any], str]] = {
    "axdr.decode": (axdr.decode, "axdr"),
    "decode_apdu": (decode_apdu, "apdus"),
    "decode_apdu_prefix": (decode_apdu_prefix, "apdus"),
    "CipheredApdu.decode": (CipheredApdu.decode, "apdus"),
    "AARQ.decode": (AARQ.decode, "to_server"),
    "AARE.decode": (AARE.decode, "apdus"),
    "RLRQ.decode": (RLRQ.decode, "to_server"),
    "RLRE.decode": (RLRE.decode, "apdus"),
    "InitiateRequest.decode": (InitiateRequest.decode, "apdus"),
    "InitiateResponse.decode": (InitiateResponse.decode, "apdus"),
    "HdlcFrame.decode": (HdlcFrame.decode, "frames"),
    "HdlcAddress.decode": (HdlcAddress.decode, "frames"),
    "HdlcParameters.decode": (HdlcParameters.decode, "frames"),
    "WrapperFrame.decode": (WrapperFrame.decode, "wrapper"),
    "CosemDateTime.from_bytes": (CosemDateTime.from_bytes, "axdr"),
    "decode_obis": (lambda data: decode_obis(data, 0), "axdr"),
    "ber.read_tlv": (ber.read_tlv, "to_server"),
    "decode_object_list": (lambda data: decode_object_list(axdr.decode(data)), "axdr"),
    "decode_capture_objects": (lambda data: decode_capture_objects(axdr.decode(data)), "axdr"),
    "ScalerUnit.decode": (lambda data: ScalerUnit.decode(axdr.decode(data)), "axdr"),
    "TokenStatus.decode": (lambda data: TokenStatus.decode(axdr.decode(data)), "axdr"),
    "decode_apdu (SN)": (decode_apdu, "sn"),
    "decode_sn_object_list": (lambda data: decode_sn_object_list(axdr.decode(data)), "sn"),
    "decode_access_rights_list": (lambda data: decode_access_rights_list(axdr.decode(data)), "sn"),
}


@pytest.mark.parametrize("name", list(DECODERS))
def test_decoders_raise_only_decode_errors(name: str) -> None:
    decode, seeds = DECODERS[name]

    @FUZZ
    @given(mutated(VALID[seeds]))
    def run(data: bytes) -> None:
        _only_decode_errors(decode, data)

    run()


@FUZZ
@given(
    st.lists(mutated(VALID["frames"] + [b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e"]), max_size=6),
    st.integers(1, 50),
)
def test_stream_readers_raise_nothing_whatever_the_chunking(pieces: list[bytes], chunk: int) -> None:
    stream = b"".join(pieces)
    whole = HdlcFrameReader().feed(stream)
    reader = HdlcFrameReader()
    chunked = [
        event
        for start in range(0, len(stream), chunk)
        for event in reader.feed(stream[start : start + chunk])
    ]
    assert [str(event) for event in whole] == [str(event) for event in chunked]
    wrapper = WrapperFrameReader(max_apdu_length=2048)
    for start in range(0, len(stream), chunk):
        wrapper.feed(stream[start : start + chunk])


_METER: list[TinyMeter] = []


def _meter() -> TinyMeter:
    if not _METER:
        _METER.append(demo_meter())
    base = _METER[0]
    return TinyMeter(associations=base.associations, values=dict(base.values))


@FUZZ
@given(st.sampled_from([16, 32, 1]), st.lists(mutated(VALID["to_server"]), min_size=1, max_size=8))
def test_server_session_answers_every_input(client_sap: int, apdus: list[bytes]) -> None:
    session = ServerSession(_meter(), client_sap, challenge_factory=lambda: STOC)
    for apdu in [VALID["to_server"][0], *apdus]:
        answers = session.receive(apdu)
        for answer in answers:
            check_server_answer(answer)


@FUZZ
@given(st.lists(mutated(VALID["frames"]), max_size=8))
def test_server_link_and_sessions_take_any_bytes(frames: list[bytes]) -> None:
    server = HdlcAddress(1, 17)
    link = HdlcServerLink(server, LARGEST_PARAMETERS)
    sessions: dict[int, ServerSession] = {}
    snrm = HdlcFrame(server, HdlcAddress(16), Control.decode(0x93)).encode()
    for data in [snrm, *frames]:
        for event in link.receive_data(data):
            if isinstance(event, (LinkOpened, LinkClosed)):
                sessions.clear()
            elif isinstance(event, ApduReceived) and link.client_address is not None:
                sap = link.client_address
                session = sessions.setdefault(sap, ServerSession(_meter(), sap))
                answers = session.receive(event.apdu)
                for answer in answers:
                    check_server_answer(answer)
                    link.send_apdu(answer)
        link.data_to_send()
