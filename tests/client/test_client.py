"""The blocking client against the simulated meter over TCP, HDLC and wrapper.

Covers the seed scenarios (disconnect over HLS-GMAC and LLS; the tamper token), identity, clock, registers
with scaler and unit, profiles by range and by entry, read_many, the object list, local refusal of wrong
types, wrong keys, frame counters, key changes, traces and profiles files.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import decimal
from pathlib import Path
from typing import Any

import pytest

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client import (
    AccessDenied,
    DlmsClient,
    MeterRefused,
    MeterSettings,
    ObjectUndefined,
    TypeUnmatched,
    connect,
)
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem import ControlMode, ControlState, MethodAccessMode, Unit
from dlmskit.errors import ArgumentError, EncodeError, KeyFormatError, ProtocolError
from dlmskit.security.ciphering import CipheredApdu, is_ciphered_tag
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.server import ServerAssociationSettings

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
KEK = "00112233445566778899AABBCCDDEEFF"
MANAGEMENT: dict[str, Any] = {
    "client_address": 1,
    "authentication": "gmac",
    "block_cipher_key": EK,
    "authentication_key": AK,
}
READER: dict[str, Any] = {"client_address": 32, "authentication": "low", "password": "12345678"}
TAMPER_TOKEN = "1234 5678 9012 3456 7890"  # docs/simulator.md
UTC = _dt.timezone.utc
NOW = _dt.datetime(2024, 3, 1, 5, 0, 7, tzinfo=UTC)  # 12:00:07 on the meter (UTC+07:00)
PLUS7 = _dt.timezone(_dt.timedelta(hours=7))
LOAD_PROFILE = "1.0.99.1.0.255"
DISCONNECT = "0.0.96.3.10.255"


@pytest.fixture(params=["hdlc", "wrapper"])
def link(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_identity_clock_and_registers(simulator: Any, link: str) -> None:
    running = simulator(link, now=lambda: NOW)
    with connect(port=running.port, link=link) as meter:
        assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
        assert meter.clock() == _dt.datetime(2024, 3, 1, 12, 0, 7, tzinfo=PLUS7)
        with pytest.raises(AccessDenied, match="client 16, no authentication"):
            meter.register("1.0.1.8.0.255")
    with connect(port=running.port, link=link, **READER) as meter:
        energy = meter.register("1.0.1.8.0.255")
        voltage = meter.register("1.0.32.7.0.255")
        current = meter.register("1.0.31.7.0.255")
    assert energy.unit == Unit.WATT_HOUR and str(energy) == f"{energy.value} Wh" and energy.value > 1234567
    assert voltage.unit == Unit.VOLT and voltage.value.as_tuple().exponent == -1 and 200 < voltage.value < 260
    assert current.unit == Unit.AMPERE and current.value.as_tuple().exponent == -2
    assert isinstance(energy.value, decimal.Decimal)


def test_seed_disconnect_over_gmac_works_and_over_lls_is_refused_in_words(simulator: Any, link: str) -> None:
    running = simulator(link)
    with connect(port=running.port, link=link, **MANAGEMENT) as meter:
        state = meter.remote_disconnect()
        assert (state.output_state, state.control_state, state.control_mode) == (
            False,
            ControlState.DISCONNECTED,
            ControlMode.MODE_2,
        )
        assert running.meter.relay.control_state == ControlState.DISCONNECTED
        assert meter.remote_reconnect().connected
        assert meter.relay_state().control_state == ControlState.CONNECTED
    with connect(port=running.port, link=link, **READER) as meter:
        assert meter.relay_state().connected  # the reader may read the relay...
        with pytest.raises(AccessDenied) as refused:
            meter.remote_disconnect()  # ...but not switch it
    error = refused.value
    assert error.result == ActionResult.READ_WRITE_DENIED and error.result_name == "read-write-denied"
    assert error.target.logical_name == Obis.parse(DISCONNECT) and error.target.name == "remote_disconnect"
    assert str(error) == (
        "calling remote_disconnect (method 1) of 0.0.96.3.10.255 Disconnect control (class 70): the meter answered "
        "read-write-denied (3): The association in use has no right to invoke this method. Hint: this association "
        "(client 32, LLS) has no method access; HLS-GMAC management associations usually do"
    )
    assert running.meter.relay.output_state is True


def test_seed_tamper_token(simulator: Any) -> None:
    running = simulator(tamper=True)
    sent: list[bytes] = []
    with connect(port=running.port, on_apdu=lambda direction, apdu: sent.append(apdu), **MANAGEMENT) as meter:
        assert not meter.relay_state().connected
        with pytest.raises(MeterRefused, match=r"temporary-failure \(2\).*tamper token is entered"):
            meter.remote_reconnect()
        before = len(sent)
        with pytest.raises(
            EncodeError, match=r"expects octet-string .* got a visible-string of 20 characters"
        ):
            meter.token_enter(axdr.VisibleString("12345678901234567890"))
        with pytest.raises(EncodeError, match="pass token_to_octets"):
            meter.call("0.0.19.40.0.255", "enter", "12345678901234567890")
        with pytest.raises(EncodeError, match="an STS token has 20 digits, this one has 19"):
            meter.token_enter("1234 5678 9012 3456 789")
        assert len(sent) == before  # refused before anything was sent
        result = meter.token_enter(TAMPER_TOKEN)
        assert (result.ok, result.status_code, result.name) == (True, 3, "token-execution-ok")
        assert meter.relay_state().connected and not running.meter.tamper
        again = meter.token_enter(TAMPER_TOKEN)
        assert (again.ok, again.name) == (False, "validation-result-failure")
        assert "already used" in again.description and str(again).startswith(
            "validation-result-failure (6): "
        )
        unknown = meter.token_enter("0571 8854 5901 9721 1241")
        assert unknown.name == "authentication-failure" and "another meter" in unknown.description
        packed = meter.token_enter(TAMPER_TOKEN, format="bcd")
        assert packed.name == "token-format-failure" and meter.token_status() == packed
    assert running.meter.token_gateway.used == ["12345678901234567890"]


def test_type_unmatched_from_the_meter_names_the_expected_type(serve: Any) -> None:
    from tests.tinymeter import demo_meter

    tiny = demo_meter()

    def refuse(context: Any, method: Any, parameters: Any) -> ActionResponseWithOptionalData:
        return ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)

    tiny.action = refuse  # type: ignore[method-assign]
    served = serve(tiny)
    with connect(port=served.port) as meter:
        with pytest.raises(TypeUnmatched, match="Hint: the meter expects integer for remote_disconnect"):
            meter.remote_disconnect()
        with pytest.raises(TypeUnmatched, match=r"\(20 ASCII digits\); some meters take 10 packed BCD bytes"):
            meter.token_enter(TAMPER_TOKEN)
        with pytest.raises(TypeUnmatched, match="some meters take 20 ASCII digits: format='ascii'"):
            meter.token_enter(TAMPER_TOKEN, format="bcd")


def test_profile_by_entry_range_and_chunks(simulator: Any) -> None:
    running = simulator(now=lambda: NOW)
    with connect(port=running.port, **MANAGEMENT) as meter:
        whole = meter.profile(LOAD_PROFILE)
        assert len(whole) == 10_000
        assert [c.name for c in whole.columns] == [
            "Clock",
            "Active energy import (+A), total",
            "Active energy export (-A), total",
            "Voltage L1, instantaneous value",
        ]
        last = whole.timestamps[-1]
        assert last == _dt.datetime(2024, 3, 1, 12, 0, tzinfo=PLUS7)
        assert whole.timestamps[0] == last - _dt.timedelta(minutes=15 * 9_999)

        entries = meter.profile(LOAD_PROFILE, from_entry=2, to_entry=4, columns=["Clock", "1.0.32.7.0.255"])
        assert [c.name for c in entries.columns] == ["Clock", "Voltage L1, instantaneous value"]
        assert entries.rows == [(row[0], row[3]) for row in whole.rows[1:4]]

        start, end = last - _dt.timedelta(hours=1), last
        by_time = meter.profile(LOAD_PROFILE, start=start, end=end)
        assert by_time.rows == whole.rows[-5:]
        assert by_time.column("1.0.1.8.0.255") == [row[1] for row in whole.rows[-5:]]
        narrow = meter.profile(LOAD_PROFILE, start=start, end=end, columns=[0, 2])
        assert narrow.rows == [(row[0], row[2]) for row in whole.rows[-5:]]

        progress: list[tuple[int, int | None]] = []
        chunks = list(
            meter.iter_profile(LOAD_PROFILE, chunk_size=3_000, progress=lambda *p: progress.append(p))
        )
        assert [len(chunk) for chunk in chunks] == [3_000, 3_000, 3_000, 1_000]
        assert [row for chunk in chunks for row in chunk] == whole.rows
        assert progress == [(3_000, 10_000), (6_000, 10_000), (9_000, 10_000), (10_000, 10_000)]
        windows = list(
            meter.iter_profile(LOAD_PROFILE, start=start - _dt.timedelta(hours=2), end=end, chunk_size=4)
        )
        assert [len(chunk) for chunk in windows] == [4, 4, 4, 1]
        assert [row for chunk in windows for row in chunk] == whole.rows[-13:]

        events = meter.profile("0.0.99.98.0.255")
        assert [c.name for c in events.columns] == ["Clock", "0.0.96.11.0.255 value"]
        with pytest.raises(ArgumentError, match=r"by time .* or by entry"):
            meter.profile(LOAD_PROFILE, start=start, from_entry=1)
        with pytest.raises(ArgumentError, match="no column 'power'"):
            meter.profile(LOAD_PROFILE, columns=["power"])


def test_read_many_uses_one_get_with_list(simulator: Any) -> None:
    running = simulator()
    sent: list[bytes] = []
    with connect(
        port=running.port, on_apdu=lambda d, apdu: sent.append(apdu) if d == "tx" else None, **READER
    ) as m:
        assert m.negotiated is not None and m.negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        first = len(sent)
        ldn, state, mode = m.read_many(
            [("0.0.42.0.0.255", 2), (DISCONNECT, "control_state"), (DISCONNECT, 4)]
        )
        assert len(sent) == first + 1 and sent[-1][:2] == b"\xc0\x03"  # get-request-with-list
        assert (ldn, state, mode) == (b"MMM0000012345678", 1, 2)
        with pytest.raises(AccessDenied, match="may not read this attribute"):
            m.read_many([("0.0.42.0.0.255", 2), ("0.0.40.0.1.255", "secret")])


def test_read_many_one_by_one_without_multiple_references(serve: Any) -> None:
    from tests.tinymeter import demo_meter

    tiny = demo_meter()
    conformance = Conformance.default_ln_client() & ~Conformance.MULTIPLE_REFERENCES
    tiny.associations[16] = ServerAssociationSettings(conformance=conformance)
    served = serve(tiny)
    with connect(port=served.port) as meter:
        assert meter.read_many([("0.0.42.0.0.255", 2), ("1.0.1.8.0.255", 2)]) == [b"DLMSKIT000000001", 123456]
        assert str(meter.register("1.0.1.8.0.255")) == "123456 Wh"


def test_object_list_with_access_rights(simulator: Any) -> None:
    running = simulator()
    with connect(port=running.port) as meter:
        public = {entry.logical_name: entry for entry in meter.objects()}
    assert set(map(str, public)) == {
        "0.0.42.0.0.255",
        "0.0.96.1.0.255",
        "0.0.1.0.0.255",
        "0.0.40.0.0.255",
        "0.0.43.1.1.255",
    }
    clock = public[Obis(0, 0, 1, 0, 0, 255)]
    assert (
        clock.class_id == 8 and clock.attribute_access[2].can_read and not clock.attribute_access[2].can_write
    )
    with connect(port=running.port, **MANAGEMENT) as meter:
        entries = {entry.logical_name: entry for entry in meter.objects()}
        assert entries[Obis.parse(DISCONNECT)].method_access[1].access_mode == MethodAccessMode.ACCESS
        # a logical name without a usual class is found in the object list
        assert meter.read("0.0.41.0.0.255", 1) == Obis(0, 0, 41, 0, 0, 255).to_bytes()
        assert meter.read("1.0.0.2.0.255") == b"DLMSKIT-SIM 1.0"


def test_writes_and_calls_take_plain_python(simulator: Any) -> None:
    running = simulator(now=lambda: NOW)
    with connect(port=running.port, **MANAGEMENT) as meter:
        meter.set_clock(_dt.datetime(2024, 3, 1, 18, 30, tzinfo=PLUS7))
        assert meter.clock() == _dt.datetime(2024, 3, 1, 18, 30, tzinfo=PLUS7)
        meter.shift_clock(-30)
        assert meter.clock() == _dt.datetime(2024, 3, 1, 18, 29, 30, tzinfo=PLUS7)
        meter.write(DISCONNECT, "control_mode", "mode_4")
        assert meter.relay_state().control_mode == ControlMode.MODE_4
        with pytest.raises(
            EncodeError, match=r"Clock\.time expects octet-string \(date-time, 12 bytes\), got a plain int"
        ):
            meter.write("0.0.1.0.0.255", 2, 5)
        with pytest.raises(MeterRefused, match=r"other-reason \(250\)") as refused:
            meter.write(DISCONNECT, "control_mode", 7)
        assert refused.value.result == DataAccessResult.OTHER_REASON
        with pytest.raises(ArgumentError, match=r"shift_time moves the clock by -900\.\.900 seconds"):
            meter.shift_clock(3600)
        with pytest.raises(ArgumentError, match="has no attribute 'colour'"):
            meter.read(DISCONNECT, "colour")


def test_unknown_objects_are_explained(simulator: Any) -> None:
    running = simulator()
    with connect(port=running.port, **MANAGEMENT) as meter:
        with pytest.raises(ObjectUndefined, match="the class id 3 was assumed from the OBIS code"):
            meter.read("1.0.3.8.0.255")
        with pytest.raises(ArgumentError, match="not in this association's object list"):
            meter.read("0.0.200.0.0.255")
        with pytest.raises(ObjectUndefined, match=r"object-undefined \(4\)"):
            meter.read("0.0.200.0.0.255", class_id=1)
        with pytest.raises(ArgumentError, match="not a register"):
            meter.register("0.0.42.0.0.255")


def test_wrong_keys_and_passwords_are_explained(simulator: Any) -> None:
    running = simulator()
    wrong = dict(MANAGEMENT, authentication_key="D0D1D2D3D4D5D6D7D8D9DADBDCDDDE00")
    with pytest.raises(AssociationRejected, match="check the block cipher key and the authentication key"):
        connect(port=running.port, **wrong).open()
    with pytest.raises(AssociationRejected, match=r"authentication-failure.*password"):
        connect(port=running.port, **dict(READER, password="87654321")).open()
    with pytest.raises(KeyFormatError, match="this looks like 16 ASCII characters"):
        connect(port=running.port, **dict(MANAGEMENT, block_cipher_key="FFFFFFFFFFFFFFFF"))


def test_frame_counter_first(simulator: Any, tmp_path: Path) -> None:
    # The public client may read the frame counter, as on real meters; it holds the counter the meter
    # expects next from client 1 (Gurux C server practice), and the client continues one above it.
    running = simulator()
    with connect(port=running.port, **MANAGEMENT) as meter:
        for _ in range(3):
            meter.read("0.0.42.0.0.255")
        counter = meter.frame_counter()
    assert counter > 3
    sent: list[int] = []

    def counters(direction: str, apdu: bytes) -> None:
        if direction == "tx" and is_ciphered_tag(apdu[0]):
            sent.append(CipheredApdu.decode(apdu).invocation_counter)

    # Another counter file (another tool with the same system title): without the frame counter, refused.
    fresh = dict(MANAGEMENT, invocation_counter_path=tmp_path / "other.json")
    with pytest.raises(AssociationRejected, match=r"--read-frame-counter.*dlmskit counter set"):
        connect(port=running.port, **fresh).open()
    settings = MeterSettings(port=running.port, read_frame_counter_first=True, **fresh)
    with DlmsClient(settings, on_apdu=counters) as meter:
        assert meter.frame_counter() > counter
    assert sent and min(sent) > counter  # above the meter's counter as read by the public client


def test_change_keys(simulator: Any) -> None:
    running = simulator()
    new_ek, new_ak = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
    with connect(port=running.port, **MANAGEMENT) as meter:
        changed = meter.change_keys(KEK, block_cipher_key=new_ek, authentication_key=new_ak)
        with pytest.raises(ArgumentError, match="at least one new key"):
            meter.change_keys(KEK)
    assert changed.block_cipher_key is not None and "A0A1" not in repr(changed)
    with connect(changed) as meter:
        assert meter.relay_state().connected
    with pytest.raises(AssociationRejected):
        connect(port=running.port, **MANAGEMENT).open()


def test_traces_never_show_the_password(simulator: Any) -> None:
    running = simulator()
    apdus: list[tuple[str, bytes]] = []
    frames: list[tuple[str, bytes, object]] = []
    with connect(
        port=running.port,
        on_apdu=lambda d, a: apdus.append((d, a)),
        on_frame=lambda d, raw, frame: frames.append((d, raw, frame)),
        **READER,
    ) as meter:
        meter.read("0.0.42.0.0.255")
    aarq = apdus[0][1]
    assert apdus[0][0] == "tx" and aarq[0] == 0x60 and b"********" in aarq and b"12345678" not in aarq
    assert {d for d, _ in apdus} == {"tx", "rx"} and {d for d, _, _ in frames} == {"tx", "rx"}
    assert frames[0][1][:1] == b"\x7e"  # HDLC: the SNRM


def test_connect_by_profile_name(simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running = simulator("wrapper")
    path = tmp_path / "meters.toml"
    path.write_text(
        f'[meter.sim]\nport = {running.port}\nlink = "wrapper"\nclient_address = 1\nauthentication = "gmac"\n'
        'block_cipher_key = "env:SIM_EK"\nauthentication_key = "env:SIM_AK"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SIM_EK", EK)
    monkeypatch.setenv("SIM_AK", AK)
    with connect("sim", profiles=path, timeout=3) as meter:
        assert meter.settings.timeout == 3 and meter.relay_state().connected
        assert repr(meter).endswith("client 1 (gmac), associated>")


def test_not_connected_is_said() -> None:
    client = DlmsClient(MeterSettings())
    with pytest.raises(ProtocolError, match="not connected"):
        client.read("0.0.42.0.0.255")
    assert (
        repr(client) == "<DlmsClient tcp 127.0.0.1:4059, hdlc server 1/17, client 16 (none), not associated>"
    )


def test_dedicated_key_ciphers_with_ded_apdus(simulator: Any) -> None:
    running = simulator()
    tags: list[int] = []
    with connect(
        port=running.port,
        dedicated_key=True,
        on_apdu=lambda d, apdu: tags.append(apdu[0]) if d == "tx" else None,
        **MANAGEMENT,
    ) as meter:
        assert meter.relay_state().connected
    assert 0xD0 in tags  # ded-get-request: the request ciphered with the association's own key


def test_serial_line(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import threading
    import time

    from dlmskit.simulator import SimulatedMeter, serve

    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (make test installs it)")
    meter_end, client_end = str(tmp_path / "meter"), str(tmp_path / "client")
    pair = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={meter_end}", f"pty,raw,echo=0,link={client_end}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if Path(meter_end).exists() and Path(client_end).exists():
                break
            time.sleep(0.02)
        serving = asyncio.run_coroutine_threadsafe(
            _start(serve(SimulatedMeter(), serial=meter_end)), loop
        ).result(10)
        with connect(device=client_end, baudrate=9600, **MANAGEMENT) as meter:
            assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
            assert meter.relay_state().connected
        asyncio.run_coroutine_threadsafe(_stop(serving), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        pair.terminate()
        pair.wait(timeout=5)


async def _start(coroutine: Any) -> Any:
    return asyncio.ensure_future(coroutine)


async def _stop(task: Any) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_profile_without_selective_access_reads_the_whole_buffer(simulator: Any) -> None:
    """The Gurux ANSI-C example server (GuruxDLMSServerExample 9.0.2608.1701, local build) grants its public
    client 16 only get and set (``00 00 18``, shared/interop/gurux-c-server/README.md item 7): no selective
    access. A profile by entry, by the last N entries or by time is then read whole and picked here. (The
    simulator's client 16 may not read the profile at all, so its reader, client 32, stands in.)"""
    import dataclasses

    from dlmskit.simulator.model import default_model

    model = default_model()
    model = dataclasses.replace(
        model,
        associations=tuple(
            dataclasses.replace(a, conformance=a.conformance & ~Conformance.SELECTIVE_ACCESS)
            if a.client_sap == READER["client_address"]
            else a
            for a in model.associations
        ),
    )
    running = simulator(model=model, now=lambda: NOW)
    sent: list[bytes] = []
    with connect(
        port=running.port, on_apdu=lambda d, apdu: sent.append(apdu) if d == "tx" else None, **READER
    ) as meter:
        assert meter.negotiated is not None
        assert not meter.negotiated.conformance & Conformance.SELECTIVE_ACCESS
        whole = meter.profile(LOAD_PROFILE)
        assert len(whole) == 10_000
        first = len(sent)
        entries = meter.profile(LOAD_PROFILE, from_entry=2, to_entry=4, columns=["Clock", "1.0.32.7.0.255"])
        assert entries.rows == [(row[0], row[3]) for row in whole.rows[1:4]]
        assert all(apdu[:2] != b"\xc0\x01" or apdu[-1:] == b"\x00" for apdu in sent[first:])  # no access
        assert meter.profile(LOAD_PROFILE, last=3).rows == whole.rows[-3:]
        newest = whole.timestamps[-1]
        assert newest is not None
        by_time = meter.profile(LOAD_PROFILE, start=newest - _dt.timedelta(hours=1), end=newest)
        assert by_time.rows == whole.rows[-5:]


@pytest.mark.parametrize("link", ["hdlc", "wrapper"])
def test_release_request_false_closes_the_link_without_an_rlrq(simulator: Any, link: str) -> None:
    # The DISC (the wrapper: the TCP close) releases the association: the meter takes the next one as usual.
    running = simulator(link)
    for release, expected in ((True, [0x60, 0xC8, 0x62]), (False, [0x60, 0xC8])):
        tags: list[int] = []
        with connect(
            port=running.port,
            link=link,
            release_request=release,
            on_apdu=lambda d, apdu, tags=tags: tags.append(apdu[0]) if d == "tx" else None,
            **MANAGEMENT,
        ) as meter:
            assert meter.read("0.0.42.0.0.255") == b"MMM0000012345678"
        assert not meter.is_open
        assert [tag for tag in tags if tag != 0xCB] == expected  # AARQ, glo-GET (, RLRQ); 0xCB: the HLS reply
    with connect(port=running.port, link=link, release_request=False, **MANAGEMENT) as meter:
        assert meter.relay_state().connected
