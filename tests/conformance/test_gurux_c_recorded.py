"""The conformance tester against the recorded Gurux ANSI-C example server (shared/interop/gurux-c-server/):
a scripted peer on loopback replays the server's bytes (tests/conformance/replay.py), and the tester finds
the deviations the recordings' README lists (its numbers in the test names)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.conformance.conftest import Results, outcomes
from tests.conformance.replay import GURUX_C, Recording, ReplayPeer

from dlmskit.codec.obis import Obis
from dlmskit.conformance import Outcome
from dlmskit.cosem import AttributeAccess, AttributeAccessMode, ObjectListEntry

pytestmark = pytest.mark.skipif(
    not GURUX_C.is_dir(),
    reason=f"the Gurux C recordings are not at {GURUX_C} (shared/ next to the repository)",
)

Run = Callable[..., Results]
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
PROFILE = ObjectListEntry(
    7, 1, Obis(1, 0, 99, 1, 0, 255), {2: AttributeAccess(2, AttributeAccessMode.READ_ONLY, (1, 2))}
)
"""The server's load profile as its object list gives it; seeded so the replay needs no object list."""


@pytest.fixture
def replay() -> Iterator[Callable[[str], tuple[Recording, int]]]:
    peers: list[ReplayPeer] = []

    def start(letter: str) -> tuple[Recording, int]:
        recording = Recording.load(next(GURUX_C.glob(f"{letter}-*.txt")))
        peers.append(ReplayPeer(recording))
        return recording, peers[-1].port

    yield start
    for peer in peers:
        peer.stop()


def _gmac(recording: Recording) -> dict[str, object]:
    challenge = bytes.fromhex(recording.header["client challenge (CtoS)"])
    return {
        "client_address": 1,
        "authentication": "gmac",
        "block_cipher_key": EK,
        "authentication_key": AK,
        "challenge": challenge,
        "seed": {"object-list/1": [PROFILE]},
    }


def test_1_trailing_bytes_after_the_clock_and_5_fixed_hdlc_parameters(
    replay: Callable[..., tuple[Recording, int]], run_conformance: Run
) -> None:
    _, port = replay("a")
    results = run_conformance(
        port, ["hdlc.snrm-ua", "association.public", "services.get-normal"], server_physical=1, timeout=0.5
    )
    assert outcomes(results, Outcome.PASS) == {"association.public": ""}
    clock = results["services.get-normal"].findings
    assert len(clock) == 1 and "0.0.1.0.0.255:2" in clock[0].expected and "18 bytes" in clock[0].got
    assert clock[0].got_bytes.startswith(bytes.fromhex("C401C100090C"))  # the APDU as it came
    assert "GetResponseNormal" in clock[0].decoded  # rendered by the translator
    ua = results["hdlc.snrm-ua"].findings
    assert [f.got for f in ua] == ["128/128"]  # answers 128 to a proposal of 64


@pytest.mark.parametrize("letter", ["b", "c"])
def test_2_3_4_profile_blocks_release_lengths_and_repeated_counters(
    letter: str, replay: Callable[..., tuple[Recording, int]], run_conformance: Run
) -> None:
    recording, port = replay(letter)
    link = "hdlc" if recording.hdlc else "wrapper"
    results = run_conformance(
        port,
        ["association.configured", "services.get-selective-access", "security.server-counter"],
        server_physical=1,
        timeout=0.5,
        link=link,
        **_gmac(recording),
    )
    assert outcomes(results, Outcome.FAIL).keys() == {
        "association.configured",
        "services.get-selective-access",
        "security.server-counter",
    }
    assert "RLRE" in results["association.configured"].findings[0].expected  # 3: lengths off by 4
    assert (
        "11 bytes" in results["services.get-selective-access"].findings[0].got
    )  # 2: empty last block + 11 bytes
    assert (
        "[0, 3]" in results["security.server-counter"].findings[0].got
    )  # 4: counters restart with the server


def test_8_rejection_with_an_initiate_response(
    replay: Callable[..., tuple[Recording, int]], run_conformance: Run
) -> None:
    _, port = replay("e")
    results = run_conformance(port, ["association.unknown-context"], server_physical=1, timeout=0.25)
    findings = results["association.unknown-context"].findings
    assert [f.expected for f in findings] == ["no InitiateResponse in a rejected AARE"]


def test_object_list_in_segmented_blocks_passes(
    replay: Callable[..., tuple[Recording, int]], run_conformance: Run
) -> None:
    _, port = replay("d")
    results = run_conformance(
        port,
        ["association.configured", "services.get-blocks", "cosem.object-list"],
        server_physical=1,
        timeout=0.5,
        client_address=17,
        authentication="low",
        password="Gurux",
    )
    assert outcomes(results, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP) == {}
