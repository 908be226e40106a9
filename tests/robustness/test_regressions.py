"""Findings of the robustness work (fault runs, hostile-input tests, ``make fuzz``), each kept as a test.

A finding in library code stays ``xfail(strict=True)`` with its reason until it is fixed; the fix
turns the test green and strict mode then asks for the marker to go.
"""

from __future__ import annotations

import tracemalloc
from collections import deque

from tests.tinymeter import demo_meter

from dlmskit.apdu.common import CosemAttributeDescriptor, DataBlockSA, InvokeIdAndPriority
from dlmskit.apdu.set import SetRequestWithDatablock, SetRequestWithFirstDatablock
from dlmskit.codec.obis import Obis
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import HdlcFrame
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.server import ServerSession

from .test_faults import transfer

SERVER = HdlcAddress(1, 17)


def _frames(data: bytes) -> list[bytes]:
    return [frame.encode() for frame in HdlcFrameReader().feed(data) if isinstance(frame, HdlcFrame)]


def test_one_repeated_rr_does_not_echo_for_the_rest_of_the_transfer() -> None:
    """Window 1, one APDU of 20 segments, frames delivered one by one in order; the line repeats
    the server's first RR once. Each later segment should still be sent once."""
    client = HdlcClientLink(16, SERVER, DEFAULT_PARAMETERS)
    server = HdlcServerLink(SERVER)
    client.open()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    client.send_apdu(bytes(128 * 20))
    to_server, to_client = deque(_frames(client.data_to_send())), deque[bytes]()
    sent: list[int] = []
    repeated = False
    for _ in range(500):
        if not (to_server or to_client):
            break
        if to_server:
            server.receive_data(to_server.popleft())
            answers = _frames(server.data_to_send())
            if answers and not repeated:
                answers, repeated = answers * 2, True
            to_client.extend(answers)
        if to_client:
            client.receive_data(to_client.popleft())
            out = _frames(client.data_to_send())
            sent += [HdlcFrame.decode(frame).control.ns for frame in out]
            to_server.extend(out)
    assert sent == [ns % 8 for ns in range(1, 21)]


def test_window1_link_survives_late_answers() -> None:
    from dlmskit.link.faults import FaultPlan

    apdus = [bytes((n,)) * (1 + 97 * n) for n in range(1, 40)]
    for seed in range(3):
        plan = FaultPlan(seed=seed, delay=0.2, max_delay=6)
        assert transfer(plan, DEFAULT_PARAMETERS, apdus) == [apdu[::-1] for apdu in apdus]


def test_incoming_set_datablocks_are_bounded() -> None:
    server = ServerSession(demo_meter(), 16)
    client = ClientSession(ClientSettings())
    client.receive(server.receive(client.associate())[0])
    invoke = InvokeIdAndPriority(1, True, True)
    attribute = CosemAttributeDescriptor(1, Obis(0, 0, 42, 0, 0, 255), 2)
    server.receive(
        SetRequestWithFirstDatablock(invoke, attribute, DataBlockSA(False, 1, bytes(1000))).encode()
    )
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(2, 5002):
            server.receive(SetRequestWithDatablock(invoke, DataBlockSA(False, number, bytes(1000))).encode())
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"5,000 blocks of 1,000 bytes kept {grown // 1024} KiB"


SERVER_APP_EXCEPTION = bytes.fromhex(
    # Found by make fuzz (target server_session, fuzz/crashes/server_session/crash-5aaf49d8...),
    # reduced: a GET of the load profile with an entry descriptor whose from_entry is an array.
    "C001C100070100630100FF0201020204010106000000010600000028120001120000"
)


def test_server_answers_a_get_with_malformed_entry_descriptor() -> None:
    server = ServerSession(demo_meter(), 16)
    client = ClientSession(ClientSettings())
    client.receive(server.receive(client.associate())[0])
    (answer,) = server.receive(SERVER_APP_EXCEPTION)
    assert answer[:3] == bytes.fromhex("C401C1")
