"""Smoke test of the benchmark harness (bench/): every dlmskit case runs once on tiny inputs and gives the
reference result. No timings are taken or asserted here; speed is measured by ``make bench``.

The references are built in bench/workload.py with ``struct`` and ``cryptography`` only (no dlmskit code).
"""

from __future__ import annotations

import datetime as dt

import pytest
from bench.cases import CASES, Runnable
from bench.timing import measure
from bench.workload import EK, GET_REQUEST, SERVER_TITLE, Workload, hdlc_deframe

from bench import lib_baseline, lib_dlms_cosem, lib_dlmskit, lib_gurux
from dlmskit.codec.cosem_datetime import CosemDateTime, datetimes_of

TINY = Workload(rows=30, hdlc_apdu_size=3000, response_size=300)
DLMSKIT = lib_dlmskit.implementations(TINY)


@pytest.mark.parametrize("case", [case.id for case in CASES if "dlmskit" in case.libraries])
def test_dlmskit_case_gives_the_reference_result(case: str) -> None:
    implementation = DLMSKIT[case]
    assert isinstance(implementation, Runnable)
    assert implementation.check(implementation.run()) is None


@pytest.mark.parametrize("library", ["gurux_dlms", "dlms_cosem"])
def test_other_libraries_give_the_reference_result_where_installed(library: str) -> None:
    pytest.importorskip(library)
    module = lib_gurux if library == "gurux_dlms" else lib_dlms_cosem
    for case, implementation in module.implementations(TINY).items():
        if isinstance(implementation, Runnable):
            assert implementation.check(implementation.run()) is None, case


@pytest.mark.parametrize(
    "case", ["encrypt-request", "decrypt-request", "encrypt-response", "decrypt-response"]
)
def test_aesgcm_baseline_gives_the_reference_result(case: str) -> None:
    implementation = lib_baseline.implementations(TINY)[case]
    assert isinstance(implementation, Runnable)
    assert implementation.check(implementation.run()) is None


def test_ciphering_reference_is_the_green_book_example() -> None:
    # DLMS UA Green Book example, as reproduced in shared/reference/dlms-facts.md section 3 (SC 30).
    expected = "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"
    assert TINY.glo_apdu(GET_REQUEST, SERVER_TITLE).hex().upper() == expected
    assert EK.hex().upper() == "000102030405060708090A0B0C0D0E0F"


def test_profile_reference_is_the_layout_of_the_issue() -> None:
    data = TINY.get_response
    assert data[:7] == bytes.fromhex("C401C100011E02")  # get-response-normal, array of 30 structures
    assert data[7:10] == bytes.fromhex("04090C")  # of 4 elements, the first an octet-string(12)
    assert len(data) == 6 + 30 * (4 + 12 + 5 + 5 + 3)
    assert CosemDateTime.from_bytes(TINY.raw_rows[1][0]).to_datetime() == TINY.datetime_rows[1][0]


def test_hdlc_reference_frames_carry_the_apdu() -> None:
    frames = TINY.hdlc_frames(128)
    assert len(frames) == -(-(3 + 3000) // 128)
    assert hdlc_deframe(frames) == TINY.hdlc_apdu
    damaged = [*frames[:-1], frames[-1][:-3] + bytes([frames[-1][-3] ^ 1]) + frames[-1][-2:]]
    with pytest.raises(ValueError, match="FCS"):
        hdlc_deframe(damaged)


def test_fast_datetimes_agree_with_the_library_and_keep_its_errors() -> None:
    special = [
        bytes.fromhex("07E30C1001073B28FF8000FF"),  # deviation not specified: a naive datetime
        bytes.fromhex("07E30C100100000000FFC400"),  # a plain value with deviation -60 (UTC+01:00)
    ]
    assert datetimes_of(special) == [CosemDateTime.from_bytes(value).to_datetime() for value in special]
    assert datetimes_of(special)[1].utcoffset() == dt.timedelta(hours=1)
    with pytest.raises(ValueError):
        datetimes_of([bytes.fromhex("FFFF0C1001073B28FF8000FF")])  # year not specified: no point in time


def test_measure_counts_runs_and_calls() -> None:
    calls = []
    result = measure(lambda: calls.append(1), budget=0.0, min_runs=3, max_runs=3)
    assert result.runs == 3
    assert len(calls) == 1 + 3 * result.calls
