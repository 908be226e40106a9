"""The HDLC link layer's CPU per session: ``python -m bench.link_frames``.

The twelve frames of one HLS-GMAC session as the head-end runs it (SNRM/UA, AARQ/AARE, ACTION/ACTION
response with the HLS reply, GET/GET response, RLRQ/RLRE, DISC/UA), recorded from a client talking to
``dlmskit simulate`` (server 1/17, client 1, the parameters of the client's SNRM), then readdressed to a
fleet as ``bench.headend`` builds it: ``--meters`` meters (default 1,000), logical device 1 and physical
device 0x10 + index in 4-byte addresses, one session per meter in turn, as a head-end meets them
(``--meters 0``: the recorded meter alone). Three cases, each one whole session per call, no sockets:

- ``client link``: :class:`~dlmskit.link.hdlc_link.HdlcClientLink` (what the head-end runs per meter): open,
  the UA, four APDUs sent and their answers received, close, the UA; every ``data_to_send`` is checked
  against the recorded frame before timing;
- ``server link``: :class:`~dlmskit.link.hdlc_link.HdlcServerLink` (what the simulator runs per meter);
- ``frames``: the frame codec alone, :class:`~dlmskit.link.framer.HdlcFrameReader` over the twelve frames
  and :meth:`~dlmskit.link.hdlc_frame.HdlcFrame.encode` of each.

Timing is :func:`bench.timing.measure` on this thread's CPU time (``time.thread_time``), median of runs; the
load average is printed with the figures because the machine is shared::

    .venv/bin/python -m bench.link_frames
    .venv/bin/python -m bench.link_frames --meters 10000
    .venv/bin/python -m bench.link_frames --profile    # cProfile of 2,000 client link sessions
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.timing import measure
from dlmskit.link import (
    ApduReceived,
    HdlcAddress,
    HdlcClientLink,
    HdlcFrame,
    HdlcFrameReader,
    HdlcParameters,
    HdlcServerLink,
    LinkClosed,
    LinkOpened,
)

__all__ = ["main"]

CLIENT = 1
SERVER = HdlcAddress(1, 17)
PARAMETERS = HdlcParameters(2030, 2030, 7, 7)
"""The client's SNRM proposal (LARGEST_PARAMETERS: 2030 bytes, a window of 7; the simulator agrees)."""

SESSION = (
    # (client -> server, server -> client), as recorded
    (
        "7ea01b02230393b2dd81800e050207ee060207ee070107080107e9b37e",
        "7ea01b03022373d35c81800e050207ee060207ee070107080107e9b37e",
    ),
    (
        "7ea06c022303100e4ee6e600605da109060760857405080103a60a04084d4d4d00000000028a0207808b076085740508"
        "0205ac1280105428841922b3d66c3e994ecad7fd0118be230421211f30000000014c89e5669dd94f714fac1c6d1ffc62"
        "d1c4161071db9cf9160cb1071d7e",
        "7ea078030223303390e6e7006169a109060760857405080103a203020100a305a10302010ea40a04084d4d4d0000bc61"
        "4e88020780890760857405080205aa12801002e579cc1fc8d47832572f7ffc256fdcbe230421281f300000959d5469f8"
        "0d231f381d7e4fa5b02e1ebd417d590a5ab6d299c76084ab2c7e",
    ),
    (
        "7ea04002230332bf5be6e600cb313000000003ed06169a211b94fb77ff76e0f54563b58b08aef2e1e8dd3b48a7c2a55d"
        "da4bf28403e78370d731d91d80c30517407e",
        "7ea03903022352411ae6e700cf2a300000959fb3f58f0eff8cd9fa617b8dd656703ea196bce6c14102e36d4df9fa0f4a"
        "77ecc7807659c9cd55b17e",
    ),
    (
        "7ea02d022303544880e6e600c81e3000000004317ea2ee35e3bc91ec007f98378a8b57b6a499750850fee91bdb4c7e",
        "7ea0290302237435eae6e700cc1a30000095a044062c0bd34286686c663e085ccf60f4a8cc3716e812457e",
    ),
    (
        "7ea03702230376b07ae6e6006228800100be230421211f30000000056f0ba8610d4fc8652c55e1c89cebf1fb4441f348"
        "cb8ed56786ea2fe87e",
        "7ea03703022396d1fbe6e7006328800100be230421281f30000095a10979a3101327b46cf82fe497fd0451fb705ec7ce"
        "9538aa83010ef6fe7e",
    ),
    ("7ea0080223035332b27e", "7ea008030223735ff57e"),
)
REQUESTS = tuple(bytes.fromhex(request) for request, _ in SESSION)
ANSWERS = tuple(bytes.fromhex(answer) for _, answer in SESSION)
REQUEST_APDUS = tuple(HdlcFrame.decode(frame).information[3:] for frame in REQUESTS[1:-1])
ANSWER_APDUS = tuple(HdlcFrame.decode(frame).information[3:] for frame in ANSWERS[1:-1])


@dataclass(frozen=True)
class Meter:
    """One meter of the fleet: its server address and the session's frames readdressed to it."""

    server: HdlcAddress
    requests: tuple[bytes, ...]
    answers: tuple[bytes, ...]


def readdressed(frame: bytes, server: HdlcAddress) -> bytes:
    decoded = HdlcFrame.decode(frame)
    dest, src = (server, decoded.src) if decoded.dest == SERVER else (decoded.dest, server)
    return HdlcFrame(dest, src, decoded.control, decoded.information, decoded.segmented).encode()


def fleet(size: int) -> list[Meter]:
    """``size`` meters as ``bench.headend``'s fleet addresses them: logical device 1, physical device
    0x10 + index, in 4 bytes (``size`` 0: the recorded meter alone, 1/17 in 2 bytes)."""
    if size == 0:
        return [Meter(SERVER, REQUESTS, ANSWERS)]
    meters = []
    for index in range(size):
        server = HdlcAddress(1, 0x10 + index, 4)
        requests = tuple(readdressed(frame, server) for frame in REQUESTS)
        meters.append(Meter(server, requests, tuple(readdressed(frame, server) for frame in ANSWERS)))
    return meters


def client_session(meter: Meter, check: bool = False) -> None:
    """The client's side of the session: what the head-end's link does per meter."""
    answers = meter.answers
    link = HdlcClientLink(CLIENT, meter.server, PARAMETERS)
    link.open()
    sent = [link.data_to_send()]
    events = link.receive_data(answers[0])
    for apdu, answer in zip(REQUEST_APDUS, answers[1:-1], strict=True):
        link.send_apdu(apdu)
        sent.append(link.data_to_send())
        events += link.receive_data(answer)
        sent.append(link.data_to_send())
    link.close()
    sent.append(link.data_to_send())
    events += link.receive_data(answers[-1])
    if check:
        expected = [meter.requests[0]]
        for request in meter.requests[1:-1]:
            expected += [request, b""]
        expected.append(meter.requests[-1])
        assert sent == expected, "the client link no longer sends the recorded frames"
        assert isinstance(events[0], LinkOpened) and isinstance(events[-1], LinkClosed), events
        received = tuple(event.apdu for event in events if isinstance(event, ApduReceived))
        assert received == ANSWER_APDUS, events


def server_session(meter: Meter, check: bool = False) -> None:
    """The meter's side of the same session: what the simulator's link does per connection."""
    requests = meter.requests
    link = HdlcServerLink(meter.server, PARAMETERS)
    sent = []
    events = link.receive_data(requests[0])
    sent.append(link.data_to_send())
    for request, apdu in zip(requests[1:-1], ANSWER_APDUS, strict=True):
        events += link.receive_data(request)
        link.send_apdu(apdu)
        sent.append(link.data_to_send())
    events += link.receive_data(requests[-1])
    sent.append(link.data_to_send())
    if check:
        assert sent == list(meter.answers), "the server link no longer sends the recorded frames"
        received = tuple(event.apdu for event in events if isinstance(event, ApduReceived))
        assert received == REQUEST_APDUS, events


def frames_session(meter: Meter, check: bool = False) -> None:
    """The frame codec alone: the twelve frames read from a stream and encoded again."""
    reader = HdlcFrameReader()
    decoded = []
    for request, answer in zip(meter.requests, meter.answers, strict=True):
        decoded += reader.feed(request)
        decoded += reader.feed(answer)
    encoded = [frame.encode() for frame in decoded if isinstance(frame, HdlcFrame)]
    if check:
        assert encoded == [
            frame for pair in zip(meter.requests, meter.answers, strict=True) for frame in pair
        ]


CASES: dict[str, Callable[[Meter, bool], None]] = {
    "client link": client_session,
    "server link": server_session,
    "frames (reader + encode)": frames_session,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--meters", type=int, default=1000, help="distinct meters, one after the other (0: the recorded one)"
    )
    parser.add_argument("--budget", type=float, default=1.5, help="CPU seconds per case")
    parser.add_argument("--profile", action="store_true", help="cProfile of 2,000 client link sessions")
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args()
    meters = fleet(options.meters)
    for case in CASES.values():
        for meter in meters:
            case(meter, True)
    if options.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _, meter in zip(range(2000), itertools.cycle(meters), strict=False):
            client_session(meter)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(options.top)
        return
    print(f"{len(meters)} meters, load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    for name, case in CASES.items():
        next_meter = itertools.cycle(meters).__next__
        result = measure(
            lambda case=case, next_meter=next_meter: case(next_meter()),
            budget=options.budget,
            clock=time.thread_time,
        )
        print(f"{name:26} {result.seconds * 1e6:8.1f} µs/session (fastest run {result.fastest * 1e6:.1f})")
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
