"""The client's invocation counters under concurrency: many sessions at once, several store objects on one
counter file, against the simulator over TCP with HLS-GMAC (authenticated and encrypted APDUs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dlmskit.apdu import acse
from dlmskit.client import AsyncDlmsClient, MeterSettings
from dlmskit.security.ciphering import CipheredApdu, is_ciphered_tag
from dlmskit.security.invocation import FileInvocationCounterStore
from dlmskit.session.protection import counter_key_id

EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
MANAGEMENT: dict[str, Any] = {
    "client_address": 1,
    "authentication": "gmac",
    "block_cipher_key": EK,
    "authentication_key": AK,
}
TITLES = (bytes.fromhex("444C4B0000000001"), bytes.fromhex("444C4B0000000002"))


async def test_fifty_sessions_at_once_never_share_a_counter(simulator: Any, tmp_path: Path) -> None:
    running = simulator()
    path = tmp_path / "counters.json"
    sent: dict[bytes, list[int]] = {title: [] for title in TITLES}

    async def session(index: int) -> bytes:
        title = TITLES[index % 2]  # two system titles, 25 sessions each; each client has its own store object

        def record(direction: str, apdu: bytes) -> None:
            if direction == "tx" and apdu[0] == acse.AARQ.TAG:
                apdu = acse.AARQ.decode(apdu).user_information or b"\x00"  # the glo-initiateRequest
            if direction == "tx" and is_ciphered_tag(apdu[0]):
                sent[title].append(CipheredApdu.decode(apdu).invocation_counter)

        settings = MeterSettings(
            port=running.port, system_title=title, invocation_counter_path=path, **MANAGEMENT
        )
        async with AsyncDlmsClient(settings, on_apdu=record) as meter:
            return bytes(await meter.read("0.0.42.0.0.255"))

    names = await asyncio.gather(*(session(index) for index in range(50)))
    assert names == [b"MMM0000012345678"] * 50
    stored = FileInvocationCounterStore(path).stored()
    key_id = counter_key_id(bytes.fromhex(EK))
    for title, counters in sent.items():
        assert len(counters) >= 25 * 3  # AARQ, HLS pass 3 and GET per session
        assert len(set(counters)) == len(counters), "an invocation counter was used twice"
        # The file kept both titles' entries (no store object wrote over another's) above every counter.
        assert stored[(title.hex().upper(), key_id)] > max(counters)


def test_the_readme_note_on_counters_is_true(monkeypatch: pytest.MonkeyPatch) -> None:
    """README "How counters are kept": the default places and the block sizes it names are the code's."""
    from dlmskit.client import core
    from dlmskit.client.settings import default_counter_store_path, legacy_counter_store_path
    from dlmskit.simulator import meter

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    note = readme[readme.index("### How counters are kept") : readme.index("## The library")]
    monkeypatch.setenv("XDG_STATE_HOME", "$XDG_STATE_HOME")
    assert f"`{default_counter_store_path()}`" in note
    assert f"`{meter.default_state_dir()}/`" in note
    assert f"`{legacy_counter_store_path()}`" in note
    assert (
        f"block ({core._COUNTER_BLOCK} counters in the client, {meter.COUNTER_BLOCK} in the simulator)"
        in " ".join(note.split())
    )
    assert "8 processes × 2,000 counters" in note and "60 sequential and 4×20 concurrent" in " ".join(
        note.split()
    )


def _associate(core: Any, meter: Any) -> tuple[Any, Any, bytes]:
    """Start an association of ``core``'s session with ``meter`` in memory, up to HLS pass 3 (not sent)."""
    from dlmskit.session.events import SendApdu
    from dlmskit.session.server import ServerSession

    _link, session = core.new_association()
    server = ServerSession(meter, 1)
    (aare,) = server.receive(session.associate())
    pass3 = session.receive(aare)
    assert isinstance(pass3, SendApdu)
    return session, server, pass3.apdu


def test_invocation_counter_error_is_explained_and_continued_from(tmp_path: Path) -> None:
    from dlmskit.client.core import ClientCore
    from dlmskit.session.errors import ExceptionResponseReceived
    from dlmskit.session.events import Associated
    from dlmskit.simulator import SimulatedMeter

    meter = SimulatedMeter()
    title, key_id = TITLES[0], counter_key_id(bytes.fromhex(EK))
    ours = ClientCore(
        MeterSettings(system_title=title, invocation_counter_path=tmp_path / "a.json", **MANAGEMENT)
    )
    session, server, pass3 = _associate(ours, meter)
    # Meanwhile another tool with the same system title and key, far ahead, associates (its AARQ and pass 3
    # are accepted: they are above everything the meter saw).
    FileInvocationCounterStore(tmp_path / "b.json").advance(title, key_id, 100_000)
    other = ClientCore(
        MeterSettings(system_title=title, invocation_counter_path=tmp_path / "b.json", **MANAGEMENT)
    )
    other_session, other_server, other_pass3 = _associate(other, meter)
    assert isinstance(other_session.receive(*other_server.receive(other_pass3)), Associated)
    # Our pass 3 now carries a counter far below the meter's: exception-response invocation-counter-error.
    (reply,) = server.receive(pass3)
    assert reply[:3] == bytes.fromhex("D80106")
    try:
        session.receive(reply)
    except ExceptionResponseReceived as error:
        explained = ours.explain(error)
    assert "it expects invocation counter >= 100003" in str(explained)
    assert "the stored counter is raised to 100003" in str(explained)
    assert "--read-frame-counter" in str(explained) and "dlmskit counter set" in str(explained)
    assert FileInvocationCounterStore(tmp_path / "a.json").stored()[(title.hex().upper(), key_id)] >= 100_003
    # The next association continues above it.
    session, server, pass3 = _associate(ours, meter)
    assert isinstance(session.receive(*server.receive(pass3)), Associated)


def test_a_given_counter_store_is_used_and_named_in_the_replay_hint(simulator: Any, tmp_path: Path) -> None:
    """``counter_store=`` (a head-end's database, here SQLite) keeps the counters instead of the settings'
    file, and a refusal for an old counter points at that store, not at a file the client never used."""
    from dlmskit.client import AssociationRejected, DlmsClient
    from dlmskit.security.invocation import SqliteInvocationCounterStore

    running = simulator()
    settings = MeterSettings(
        port=running.port, invocation_counter_path=tmp_path / "unused.json", **MANAGEMENT
    )
    store = SqliteInvocationCounterStore(tmp_path / "headend.sqlite")
    with DlmsClient(settings, counter_store=store) as meter:
        assert bytes(meter.read("0.0.42.0.0.255")) == b"MMM0000012345678"
    assert store.stored() and not (tmp_path / "unused.json").exists()
    fresh = SqliteInvocationCounterStore(tmp_path / "another.sqlite")  # starts again at 1: a replay
    with pytest.raises(AssociationRejected) as refused:
        DlmsClient(settings, counter_store=fresh).open()
    text = str(refused.value)
    assert "counter store this client was given (SqliteInvocationCounterStore" in text
    assert "unused.json" not in text
