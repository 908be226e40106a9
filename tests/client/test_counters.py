"""The client's invocation counters under concurrency: many sessions at once, several store objects on one
counter file, against the simulator over TCP with HLS-GMAC (authenticated and encrypted APDUs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
