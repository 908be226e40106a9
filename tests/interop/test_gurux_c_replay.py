"""Replay tests: dlmskit's client against the recorded answers of the Gurux ANSI-C example server.

The recordings are in ``<repo>/../shared/interop/gurux-c-server/`` (a-e, described in its README, which
also lists the server's deviations). A :class:`~tests.interop.replay.ScriptedPeer` answers our client over a
loopback TCP socket with exactly the recorded bytes; the tests check that every scenario works, and that each
deviation is reported (docs/tolerance.md) or refused in strict mode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.clients import unopened_client
from tests.interop.replay import ScriptedPeer, transcript

from dlmskit.client import DlmsClient, MeterSettings
from dlmskit.cosem import ScalerUnit
from dlmskit.deviations import DeviationError
from dlmskit.errors import AssociationError, ProtocolError
from dlmskit.session.errors import AssociationRejected

pytestmark = pytest.mark.filterwarnings("ignore::dlmskit.deviations.DeviationWarning")


@pytest.fixture
def peer() -> Iterator[Any]:
    started: list[ScriptedPeer] = []

    def start(name: str, link: str = "hdlc") -> tuple[dict[str, str], ScriptedPeer]:
        header, chunks = transcript(name)
        started.append(ScriptedPeer(chunks, link))
        return header, started[-1]

    yield start
    for running in started:
        running.stop()


def _hdlc(port: int, **settings: Any) -> DlmsClient:
    return unopened_client(host="127.0.0.1", port=port, server_logical=1, server_physical=1, **settings)


def test_a_public_clock_with_18_stray_bytes(peer: Any) -> None:
    """a: the clock's GetResponseNormal carries 18 bytes after the date-time (README item 1, a line 20)."""
    _header, scripted = peer("a-hdlc-public-clock.txt")
    with _hdlc(scripted.port, fixed_invoke_id=1) as meter:
        assert meter.read("0.0.42.0.0.255", 2, class_id=1) == b"GRX0000000123456"
        assert meter.deviations == []
        clock = meter.clock()
        assert clock.replace(tzinfo=None) == dt.datetime(2026, 12, 7, 2, 55, 23)
        [deviation] = meter.deviations
        assert deviation.code == "trailing-bytes"
        assert deviation.offset == 18  # APDU offsets 18-35, as the README says
        assert "18 bytes" in deviation.text
    assert scripted.completed()


def test_a_strict_refuses_the_stray_bytes_and_the_session_goes_on(peer: Any) -> None:
    """Strict mode: the same answer is an error, and the association is still usable (release works)."""
    _header, scripted = peer("a-hdlc-public-clock.txt")
    with _hdlc(scripted.port, fixed_invoke_id=1, strict=True) as meter:
        meter.read("0.0.42.0.0.255", 2, class_id=1)
        with pytest.raises(DeviationError, match="trailing-bytes"):
            meter.clock()
        assert meter.negotiated is not None
    assert scripted.completed()
    assert scripted.received[-2][12:14] == b"\x62\x03"  # the RLRQ went out after the error: no wedge


def test_d_lls_object_list_in_nine_blocks(peer: Any) -> None:
    """d: the object list (52 entries) in 9 GET blocks of HDLC segments, recorded with dlmskit itself."""
    _header, scripted = peer("d-hdlc-low-object-list.txt")
    with _hdlc(scripted.port, client_address=17, authentication="low", password="Gurux") as meter:
        objects = meter.objects()
    assert len(objects) == 52
    assert all(len(str(entry.logical_name).split(".")) == 6 for entry in objects)
    assert scripted.completed()


def test_e_sn_port_says_short_name(peer: Any) -> None:
    """e: the short-name port rejects an LN AARQ (with an InitiateResponse inside): say SN in words."""
    _header, scripted = peer("e-sn-port-ln-aarq.txt")
    with pytest.raises(AssociationRejected, match=r"short-name referencing \(SN\)"):
        _hdlc(scripted.port).open()
    scripted.stop()
    assert scripted.completed()


def _gmac(header: dict[str, str], tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "client_address": 1,
        "authentication": "gmac",
        "block_cipher_key": header["block cipher key"],
        "authentication_key": header["authentication key"],
        "system_title": header["client system title"],
        "test_client_challenge": bytes.fromhex(header["client challenge (CtoS)"]),
        "fixed_invoke_id": 1,
        "invocation_counter_path": tmp_path / "counters.json",
        **settings,
    }


def _gmac_scenario(meter: DlmsClient) -> list[str]:
    """b and c: register, capture, profile by entry and by range, relay, in the recorded order."""
    codes: list[str] = []
    value = meter.read("1.1.21.25.0.255", 2, class_id=3)
    scaler_unit = ScalerUnit.decode(meter.read("1.1.21.25.0.255", 3, class_id=3))
    assert isinstance(value, int)
    quantity = scaler_unit.quantity(value)
    assert quantity.unit is not None
    meter.call("1.0.99.1.0.255", "capture", class_id=7)
    by_entry = meter.profile("1.0.99.1.0.255", from_entry=1, to_entry=10)
    assert by_entry.rows
    codes += [d.code for d in meter.deviations]
    now = dt.datetime(2026, 12, 7, 2, 55)
    by_range = meter.profile(
        "1.0.99.1.0.255",
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=1),
        assume=dt.timezone.utc,  # the recording's server ran on UTC
    )
    assert len(by_range.rows) == len(by_entry.rows)
    codes += [d.code for d in meter.deviations]
    meter.call("0.0.96.3.10.255", "remote_disconnect", class_id=70)
    meter.call("0.0.96.3.10.255", "remote_reconnect", class_id=70)
    return codes


@pytest.mark.parametrize(
    ("name", "link"),
    [("b-hdlc-gmac-profile-relay.txt", "hdlc"), ("c-wrapper-gmac-profile-relay.txt", "wrapper")],
)
def test_b_c_gmac_profile_relay_and_protected_release(
    peer: Any, tmp_path: Path, name: str, link: str
) -> None:
    """b/c: HLS-GMAC, the empty last profile block + 11 bytes (README item 2) and the protected RLRE whose
    outer lengths do not add up (item 3): read, reported, released."""
    header, scripted = peer(name, link)
    settings = _gmac(header, tmp_path)
    if link == "wrapper":
        client = unopened_client(host="127.0.0.1", port=scripted.port, link="wrapper", **settings)
    else:
        client = _hdlc(scripted.port, **settings)
    released: list[str] = []
    client.on_deviation(lambda deviation: released.append(deviation.code))
    with client as meter:
        codes = _gmac_scenario(meter)
        assert codes == ["trailing-bytes", "trailing-bytes"]
        released.clear()
    assert released == ["rlre-lengths"]
    assert scripted.completed()


def test_c_strict_refuses_each_deviation_and_never_wedges(peer: Any, tmp_path: Path) -> None:
    """Strict mode refuses the profile's stray bytes; each later request still works."""
    header, scripted = peer("c-wrapper-gmac-profile-relay.txt", "wrapper")
    meter = unopened_client(
        host="127.0.0.1", port=scripted.port, link="wrapper", **_gmac(header, tmp_path, strict=True)
    )
    with meter:
        meter.read("1.1.21.25.0.255", 2, class_id=3)
        meter.read("1.1.21.25.0.255", 3, class_id=3)
        meter.call("1.0.99.1.0.255", "capture", class_id=7)
        with pytest.raises(DeviationError, match="trailing-bytes"):
            meter.profile("1.0.99.1.0.255", from_entry=1, to_entry=10)
        now = dt.datetime(2026, 12, 7, 2, 55)
        with pytest.raises(DeviationError, match="trailing-bytes"):
            meter.profile("1.0.99.1.0.255", start=now, end=now, assume=dt.timezone.utc)
        meter.call("0.0.96.3.10.255", "remote_disconnect", class_id=70)
        meter.call("0.0.96.3.10.255", "remote_reconnect", class_id=70)
        assert meter.deviations == []
    assert scripted.completed()


def test_e_sn_port_with_referencing_auto_says_what_it_does(
    peer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """e with ``referencing="auto"``: the LN AARQ is rejected naming the SN context, so the client associates
    again with short names. Only the rejection is recorded (the replay peer serves one connection and then
    answers nothing), so the second association times out; the error and the log say what happened."""
    _header, scripted = peer("e-sn-port-ln-aarq.txt")
    settings = MeterSettings(port=scripted.port, server_physical=1, referencing="auto", timeout=0.5)
    client = DlmsClient(settings)  # not opened yet
    with caplog.at_level("WARNING", logger="dlmskit.client"), pytest.raises(AssociationError) as failed:
        client.open()
    scripted.stop()
    assert scripted.completed()
    assert "the meter uses short-name referencing (SN): associating again with short names" in caplog.text
    text = str(failed.value)
    assert text.startswith("referencing auto: the meter rejected the logical-name (LN) association")
    assert "the second association, with short names, failed" in text


# Recorded from GuruxDLMSServerExample 9.0.x (github:Gurux/GuruxDLMS.c 11a4fef, 9.0.2608.1701), local build,
# short-name HDLC port (BASE+0), dlmskit `read 0.0.42.0.0.255 --referencing sn`, client 17, LLS `Gurux`,
# 2026-12-07. Bytes only: UA, AARE, RLRE, UA. The client's frames are read whatever they hold.
_SN_LLS_UA = bytes.fromhex("7EA01F23020373A3DD818012050180060180070400000001080400000001533B7E")
_SN_LLS_CHUNKS: list[tuple[str, bytes]] = [
    ("C->S", b""),  # SNRM
    ("S->C", _SN_LLS_UA),
    ("C->S", b""),  # AARQ, SN context, LLS
    (
        "S->C",
        bytes.fromhex(
            "7EA03823020330 71FDE6E7006129A109060760857405080102A203020100A305A103020100"
            "BE10040E0800065F1F0400001A000200FA006887 7E".replace(" ", "")
        ),
    ),
    ("C->S", b""),  # RLRQ
    ("S->C", bytes.fromhex("7EA0122302035 25C91E6E7006303800100 2C0F7E".replace(" ", ""))),
    ("C->S", b""),  # DISC
    ("S->C", _SN_LLS_UA),
]


def test_sn_port_grants_no_read_and_the_refusal_says_what_it_granted() -> None:
    """The example server's associations carry logical-name conformance bits only, so its short-name port
    grants client 17 ``00 1A 00`` (block transfer and multiple references: no read, no write). dlmskit refuses
    the READ before sending it and says what the meter did grant; the association is released cleanly."""
    scripted = ScriptedPeer(list(_SN_LLS_CHUNKS))
    try:
        client = _hdlc(
            scripted.port,
            client_address=17,
            authentication="low",
            password="Gurux",
            referencing="sn",
            timeout=5,
        )
        with client as meter, pytest.raises(ProtocolError) as refused:
            meter.read("0.0.42.0.0.255")
        text = str(refused.value)
        assert "the meter did not agree to read in this association" in text
        assert (
            "it granted block-transfer-with-get-or-read, block-transfer-with-set-or-write, multiple-references "
            "(conformance 00 1A 00)"
        ) in text
    finally:
        scripted.stop()
    assert scripted.finished and scripted.error is None
    assert [frame[6] for frame in scripted.received] == [0x93, 0x10, 0x32, 0x53]  # SNRM, AARQ, RLRQ, DISC


def test_sn_port_refuses_client_16_for_incompatible_conformance_and_the_hint_says_why() -> None:
    """Recorded from GuruxDLMSServerExample 9.0.x (9.0.2608.1701), local build, short-name HDLC port,
    client 16, 2026-12-07: the AARE rejects the SN AARQ with initiateError incompatible-conformance (the
    association grants get and set only). The hint names the cause instead of the password."""
    ua = bytes.fromhex("7EA01F21020373D5E4818012050180060180070400000001080400000001533B7E")
    aare = bytes.fromhex(
        "7EA02E21020330DF4BE6E700611FA109060760857405080102A203020101A305A103020101BE0604040E0106026C5A7E"
    )
    scripted = ScriptedPeer([("C->S", b""), ("S->C", ua), ("C->S", b""), ("S->C", aare)])
    try:
        client = _hdlc(scripted.port, referencing="sn", timeout=5)
        with pytest.raises(AssociationRejected) as rejected:
            client.open()
    finally:
        scripted.stop()
    text = str(rejected.value)
    assert "initiate incompatible-conformance" in text
    assert "Hint: the meter's association for this client has none of the services proposed in common" in text
    assert "refuses every short-name association" in text
    assert "password" not in text
    assert scripted.finished and scripted.error is None
