"""The seed corpus: valid traffic for every fuzz target, so mutations start from real sessions.

- Sessions recorded in memory against the demo meter (``tests/tinymeter.py``): public, LLS and
  HLS-GMAC (auth+enc) clients doing association, GET (normal, with-list, 2,500-row profile in
  datablocks), SET and ACTION with blocks, release and disconnect; every HDLC frame and APDU of both
  directions is kept.
- The real meter frames of the shared seed logs (``shared/seeds/*.txt``, ``[TX]``/``[RX]`` lines).
- The public vectors of ``shared/reference/dlms-facts.md`` (Green Book ciphering examples, AARQ,
  RLRQ, disconnect ACTION, entry descriptor, date-time).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from targets import CLIENTS, join_messages
from tests.robustness.harness import (
    CLIENT_SAP,
    DISCONNECT,
    ENERGY,
    LDN,
    PROFILE,
    SERVER,
    Case,
    SimulatedLine,
    client_session,
    entry_range,
)
from tests.tinymeter import demo_meter

from dlmskit.apdu.common import CosemAttributeDescriptorWithSelection
from dlmskit.client.connection import Connection
from dlmskit.codec import axdr
from dlmskit.link.faults import FaultPlan
from dlmskit.link.hdlc_frame import HdlcFrame
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, HdlcClientLink
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.security.ciphering import is_ciphered_tag

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_SEEDS = REPOSITORY.parent / "shared" / "seeds"

FACTS_VECTORS = [
    # Green Book examples as reproduced in shared/reference/dlms-facts.md sections 3, 5, 7.
    "C81E1001234567C0010000080000010000FF020006725D910F9221D263877516",
    "C8122001234567411312FF935A47566827C467BC",
    "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B",
    "21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855",
    "601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0",
    "6203800100",
    "C301C10046000060030AFF01010F00",
    "C701C10000",
    "0E010601",
    "C0010000080000010000FF0200",
]
AXDR_VECTORS = [
    "020406000000000600000005120000120000",  # entry descriptor parameters (section 7)
    "090C07E30C1001073B28FF8000FF",  # date-time 2019-12-16 07:59:40 (section 1)
    "02020FFE161E",  # scaler_unit {-2, Wh}
]


class _Recorder:
    def __init__(self) -> None:
        self.frames: dict[str, list[bytes]] = defaultdict(list)
        self.apdus: dict[str, list[bytes]] = defaultdict(list)

    def frame(self, direction: str, raw: bytes, _frame: object) -> None:
        self.frames[direction].append(raw)

    def apdu(self, direction: str, raw: bytes) -> None:
        self.apdus[direction].append(raw)


def _record(case: Case) -> _Recorder:
    """One full session of ``case`` against the demo meter, every frame and APDU kept."""
    recorder = _Recorder()
    meter = demo_meter(max_pdu=256)
    session = client_session(case, max_pdu=256)
    link = HdlcClientLink(CLIENT_SAP[case], SERVER, DEFAULT_PARAMETERS, trace=recorder.frame)
    line = SimulatedLine(meter, FaultPlan())
    with Connection(line, link, session, on_apdu=recorder.apdu) as connection:
        connection.request(session.get(LDN))
        connection.request(session.get(PROFILE, entry_range(1, 40)))
        if case != "hls-gmac":
            connection.request(
                session.get_with_list(
                    [
                        CosemAttributeDescriptorWithSelection(LDN),
                        CosemAttributeDescriptorWithSelection(ENERGY),
                    ]
                )
            )
        connection.request(session.set(ENERGY, axdr.DoubleLongUnsigned(7)))
        connection.request(session.set(LDN, axdr.OctetString(bytes(range(256)) * 2)))
        connection.request(session.action(DISCONNECT, axdr.Integer(0)))
        connection.request(session.action(DISCONNECT, axdr.OctetString(bytes(600))))
    return recorder


def _log_frames() -> list[bytes]:
    """The HDLC frames of the shared seed logs (bytes printed in hex without leading zeros)."""
    frames = []
    for path in sorted(SHARED_SEEDS.glob("*.txt")) if SHARED_SEEDS.is_dir() else []:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = re.search(r"\[(TX|RX)\]\s*:\s*((?:[0-9A-Fa-f]{1,2}\s*)+)$", line)
            if match:
                frames.append(bytes(int(token, 16) for token in match.group(2).split()))
    return frames


def corpus() -> dict[str, list[bytes]]:
    """The seed inputs of every target."""
    seeds: dict[str, list[bytes]] = defaultdict(list)
    facts = [bytes.fromhex(vector) for vector in FACTS_VECTORS]
    log_frames = _log_frames()
    for case in ("none", "lls", "hls-gmac"):
        recorded = _record(case)  # type: ignore[arg-type]
        to_meter, to_client = recorded.apdus["tx"], recorded.apdus["rx"]
        every = to_meter + to_client
        seeds["decode_apdu"] += [apdu for apdu in every if not is_ciphered_tag(apdu[0])]
        seeds["ciphered_apdu"] += [apdu for apdu in every if is_ciphered_tag(apdu[0])]
        seeds["aarq"] += [apdu for apdu in to_meter if apdu[0] == 0x60]
        seeds["aare"] += [apdu for apdu in to_client if apdu[0] == 0x61]
        seeds["axdr"] += [apdu[4:] for apdu in to_client if apdu[:2] == b"\xc4\x01"]
        seeds["wrapper_reader"].append(
            b"".join(WrapperFrame(CLIENT_SAP[case], 1, apdu).encode() for apdu in to_meter)
        )
        sap_index = bytes((CLIENTS.index(CLIENT_SAP[case]),))
        seeds["server_session"].append(sap_index + join_messages(to_meter))
        seeds["client_session"] += [
            bytes((kind,)) + join_messages(to_client[start:]) for kind in range(3) for start in (0, 2, 5)
        ]
        frames_tx, frames_rx = recorded.frames["tx"], recorded.frames["rx"]
        seeds["hdlc_reader"] += [b"".join(frames_tx), b"".join(frames_rx)]
        seeds["hdlc_server_link"].append(bytes((0,)) + b"".join(frames_tx))
        seeds["hdlc_client_link"].append(bytes((0,)) + b"".join(frames_rx))
        if case != "hls-gmac":
            messages = []
            for raw in frames_tx:
                frame = HdlcFrame.decode(raw)
                messages.append(bytes((frame.control.encode(), int(frame.segmented))) + frame.information)
            seeds["hdlc_server_frames"].append(bytes((0 if case == "none" else 1,)) + join_messages(messages))
    seeds["decode_apdu"] += facts
    seeds["ciphered_apdu"] += facts[:4]
    seeds["aarq"].append(facts[4])
    seeds["axdr"] += [bytes.fromhex(vector) for vector in AXDR_VECTORS]
    seeds["hdlc_reader"] += log_frames
    seeds["hdlc_server_link"] += [b"\x00" + frame for frame in log_frames]
    seeds["hdlc_client_link"] += [b"\x00" + frame for frame in log_frames]
    return {name: list(dict.fromkeys(inputs)) for name, inputs in seeds.items()}


def write(directory: Path, inputs: dict[str, Any]) -> None:
    """Write the corpus as one file per input under ``directory/<target>/``."""
    for name, items in inputs.items():
        folder = directory / name
        folder.mkdir(parents=True, exist_ok=True)
        for index, item in enumerate(items):
            (folder / f"seed-{index:04d}").write_bytes(item)
