"""The console's routes with Starlette's TestClient against a real simulated meter (no mocks)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dlmskit.simulator import SimulatorThread
from dlmskit.web import StaticHeadEnd, WebConfig, create_app
from dlmskit.web.headend import OutcomeCount

from .conftest import AK, EK, TAMPER_TOKEN

SEED_TRACE = Path(__file__).resolve().parents[1] / "translator" / "data" / "seed_001_trace.txt"


def _csrf(client: TestClient, path: str = "/explorer") -> str:
    page = client.get(path).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.fixture
def web(meter: SimulatorThread) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://127.0.0.1:8059") as client:
        yield client


def _connect(client: TestClient, port: int, **fields: str) -> str:
    csrf = _csrf(client)
    form = {"csrf": csrf, "host": "127.0.0.1", "port": str(port), **fields}
    answer = client.post("/connect", data=form)
    assert answer.status_code == 200, answer.text
    return csrf


def test_explorer_shows_the_association_view_by_class(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port)
    page = web.get("/explorer").text
    assert "Association view" in page
    assert "Clock" in page and "class 8" in page
    assert "0.0.1.0.0.255" in page


def test_reading_the_clock_shows_a_typed_date_time(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port)
    page = web.get("/object/0.0.1.0.0.255?class_id=8&read=2").text
    assert "read-only" in page  # the access right of the time attribute for the public client
    assert "octet-string" in page
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", page)


def test_a_register_is_shown_with_scaler_and_unit(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    page = web.get("/object/1.0.1.8.0.255?class_id=3&read=all").text
    assert "scaler/unit from attribute 3" in page
    assert re.search(r"\d Wh", page)
    assert "unit Wh (30)" in page  # scaler_unit with the unit's name


def test_a_refusal_is_explained_in_words(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port)  # the public client: no method access on the relay
    page = web.post("/actions/disconnect", data={"csrf": csrf}).text
    assert "the meter answered" in page
    assert "Hint:" in page


def test_relay_token_and_clock_actions_with_hls_gmac(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    page = web.post("/actions/reconnect", data={"csrf": csrf}).text  # tamper: refused until the token
    assert "reconnect" in page
    page = web.post("/actions/token", data={"csrf": csrf, "token": TAMPER_TOKEN, "format": "ascii"}).text
    assert "token status:" in page
    page = web.post("/actions/reconnect", data={"csrf": csrf}).text
    assert "relay:" in page and "connected" in page
    page = web.post("/actions/disconnect", data={"csrf": csrf}).text
    assert "disconnected; relay:" in page
    page = web.post("/actions/clock-shift", data={"csrf": csrf, "seconds": "5"}).text
    assert "clock shifted by 5 s" in page


def test_read_all_of_a_profile_leaves_its_buffer_to_the_profiles_page(
    web: TestClient, meter: SimulatorThread
) -> None:
    _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    page = web.get("/object/1.0.99.1.0.255?class_id=7&read=all").text
    assert "read it on the Profiles page" in page
    assert "capture_period" in page and "900" in page


def test_writing_an_attribute_typed_from_the_model(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    answer = web.post(
        "/object/0.0.96.3.10.255/write/4?class_id=70", data={"csrf": csrf, "class_id": "70", "value": "4"}
    )
    assert "written: attribute 4 (control_mode)" in answer.text
    assert "(4)" in answer.text


def test_state_changes_need_the_csrf_token_and_the_same_origin(
    web: TestClient, meter: SimulatorThread
) -> None:
    csrf = _csrf(web)
    assert web.post("/connect", data={"host": "127.0.0.1"}).status_code == 403
    assert web.post("/connect", data={"csrf": "forged", "host": "127.0.0.1"}).status_code == 403
    cross = web.post("/connect", data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert "SameSite=strict" in web.get("/explorer", headers={"Cookie": ""}).headers["set-cookie"]


def test_a_cross_site_link_may_open_a_page_but_not_read_the_meter(web: TestClient) -> None:
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert web.get("/explorer", headers=link).status_code == 200
    assert web.get("/object/0.0.1.0.0.255?class_id=8&read=2", headers=link).status_code == 403
    assert (
        web.get(
            "/trace/stream", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
        ).status_code
        == 403
    )


def test_security_headers_forbid_inline_scripts(web: TestClient) -> None:
    headers = web.get("/translate").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_keys_never_reach_a_page(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    web.get("/object/0.0.1.0.0.255?class_id=8&read=2")
    for path in ("/explorer", "/trace", "/object/0.0.1.0.0.255?class_id=8"):
        text = web.get(path).text.upper()
        assert EK not in text and AK not in text


def test_the_trace_shows_frames_deciphered_and_streams_them(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    web.get("/object/0.0.1.0.0.255?class_id=8&read=2")
    page = web.get("/trace").text
    assert "TX →" in page and "RX ←" in page
    assert "GetRequest" in page  # deciphered: the plain request inside the glo-ciphered APDU
    with web.stream("GET", "/trace/stream?after=0&limit=2") as stream:
        body = "".join(stream.iter_text())
    assert body.count("event: frame") == 2


def test_a_profile_reads_with_progress_and_downloads_as_csv(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    answer = web.post("/profile", data={"csrf": csrf, "obis": "1.0.99.1.0.255", "last": "48"})
    assert answer.status_code == 200
    job = answer.url.path.rsplit("/", 1)[-1]
    for _ in range(600):
        progress = web.get(f"/profile/job/{job}.json").json()
        if progress["state"] != "running":
            break
        time.sleep(0.05)
    assert progress["state"] == "done", progress["error"]
    data = web.get(f"/profile/job/{job}.json?data=1").json()
    assert len(data["rows"]) == 48
    csv_text = web.get(f"/profile/job/{job}.csv").text
    assert csv_text.splitlines()[0].startswith("Clock")
    assert len(csv_text.splitlines()) == 49


def test_the_translator_decodes_the_seed_trace(web: TestClient) -> None:
    csrf = _csrf(web, "/translate")
    trace = SEED_TRACE.read_text(encoding="utf-8")
    # shared/seeds/001 (Gurux forum thread), as saved in tests/translator/data: ciphered, no keys given.
    for fmt, expected in (("text", "glo_ActionRequest"), ("xml", "&lt;Messages&gt;"), ("json", "items")):
        page = web.post("/translate", data={"csrf": csrf, "trace": trace, "format": fmt}).text
        assert expected in page, fmt
        assert "glo_ActionRequest" in page


def test_the_head_end_page_says_when_none_is_configured(web: TestClient) -> None:
    assert "No head-end database is configured" in web.get("/headend").text


def test_the_head_end_dashboard_reads_its_query_interface() -> None:
    queries = StaticHeadEnd("test store", outcome_rows=(OutcomeCount("timeout", 3),))
    with TestClient(create_app(WebConfig(headend=queries)), base_url="http://localhost:8059") as client:
        page = client.get("/headend").text
    assert "test store" in page and "timeout" in page


def test_a_token_is_asked_for_when_one_is_set() -> None:
    config = WebConfig(token="correct horse battery", allowed_hosts=None)
    with TestClient(create_app(config), base_url="http://10.0.0.5:8059") as client:
        first = client.get("/explorer", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login"
        csrf = _csrf(client, "/login")
        assert client.post("/login", data={"csrf": csrf, "token": "wrong"}).status_code == 401
        assert client.post("/login", data={"csrf": csrf, "token": "correct horse battery"}).status_code == 200
        assert "Meter explorer" in client.get("/explorer").text


def test_another_host_name_is_refused(web: TestClient) -> None:
    # A DNS-rebinding page would be same-origin with the console: only the console's own names are served.
    assert web.get("/explorer", headers={"Host": "attacker.example:8059"}).status_code == 421
    assert web.get("/explorer", headers={"Host": "[::1]:8059"}).status_code == 200


def test_a_named_meter_profile_connects(meter: SimulatorThread, tmp_path: Path) -> None:
    meters = tmp_path / "meters.toml"
    meters.write_text(
        f'[meter.lab]\nhost = "127.0.0.1"\nport = {meter.port}\nclient_address = 1\nauthentication = "gmac"\n'
        f'block_cipher_key = "{EK}"\nauthentication_key = "{AK}"\n',
        encoding="utf-8",
    )
    with TestClient(create_app(WebConfig(meters_file=meters)), base_url="http://127.0.0.1:8059") as client:
        assert "<option>lab</option>" in client.get("/explorer").text
        csrf = _csrf(client)
        page = client.post("/connect", data={"csrf": csrf, "meter": "lab", "port": "1"}).text
        assert "client 1 (gmac)" in page and "Profile generic" in page  # the profile's port, not the form's


def test_methods_are_called_with_typed_parameters(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    page = web.post(
        "/object/0.0.1.0.0.255/call/6?class_id=8", data={"csrf": csrf, "class_id": "8", "value": "3"}
    )
    assert "done: shift_time (method 6)" in page.text
    page = web.post(
        "/object/0.0.96.3.10.255/call/1?class_id=70", data={"csrf": csrf, "class_id": "70", "value": "0"}
    )
    assert "done: remote_disconnect (method 1)" in page.text
    shift = "/object/0.0.1.0.0.255/call/6?class_id=8"
    page = web.post(shift, data={"csrf": csrf, "class_id": "8", "value": "40000"})
    # refused before sending, in the model's words
    assert "expects long, got a plain int (outside -32768..32767)" in page.text
    page = web.post(shift, data={"csrf": csrf, "class_id": "8", "value": "5000"})
    assert "the meter answered other-reason (250)" in page.text and "Hint:" in page.text


def test_an_lls_password_never_reaches_the_trace(web: TestClient, meter: SimulatorThread) -> None:
    _connect(web, meter.port, client_address="32", authentication="low", password="12345678")
    page = web.get("/trace").text
    assert "31 32 33 34 35 36 37 38" not in page and "3132333435363738" not in page
    assert "** ** ** ** ** ** ** **" in page


def _finished(client: TestClient, job: str) -> dict[str, object]:
    for _ in range(600):
        progress: dict[str, object] = client.get(f"/profile/job/{job}.json").json()
        if progress["state"] != "running":
            return progress
        time.sleep(0.05)
    raise AssertionError("the profile read did not finish")


def test_a_profile_reads_by_time_range(web: TestClient, meter: SimulatorThread) -> None:
    csrf = _connect(web, meter.port, authentication="gmac", block_cipher_key=EK, authentication_key=AK)
    clock = web.post("/actions/clock", data={"csrf": csrf}).text
    now = dt.datetime.fromisoformat(re.search(r"meter clock: ([0-9T:. +-]+[0-9])", clock).group(1))  # type: ignore[union-attr]
    start, end = now - dt.timedelta(hours=6), now - dt.timedelta(hours=1)
    answer = web.post(
        "/profile",
        data={"csrf": csrf, "obis": "1.0.99.1.0.255", "start": start.isoformat(), "end": end.isoformat()},
    )
    job = answer.url.path.rsplit("/", 1)[-1]
    assert _finished(web, job)["state"] == "done"
    rows = web.get(f"/profile/job/{job}.json?data=1").json()["rows"]
    assert 18 <= len(rows) <= 22  # 15-minute capture period over five hours
    assert all(start <= dt.datetime.fromisoformat(row[0]) <= end for row in rows)


def test_a_meter_that_goes_away_ends_the_session_in_words() -> None:
    from dlmskit.simulator import SimulatedMeter

    gone = SimulatorThread(SimulatedMeter(), link="hdlc", port=0)
    with TestClient(create_app(), base_url="http://127.0.0.1:8059") as client:
        csrf = _connect(client, gone.port, timeout="1")
        gone.stop()
        page = client.post("/actions/clock", data={"csrf": csrf}).text
        assert 'role="alert"' in page
        assert "not connected" in client.get("/explorer").text
        page = client.post("/actions/clock", data={"csrf": csrf}).text
        assert "not connected to a meter: connect first" in page
