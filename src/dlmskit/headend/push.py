"""The push listener: DataNotifications from meters over the wrapper (TCP and UDP), ciphered, replay-checked.

:class:`PushReceiver` is the sans-socket part: it takes a batch of (APDU, source) and, for each, finds the
meter by the system title a general-glo-ciphering APDU carries (the inventory's ``meter_system_title``),
refuses a counter not above the last one accepted from that meter (persisted in ``push_counters``, checked
before deciphering and moved on only after the tag verified), deciphers with the meter's keys from the key
store and decodes the DataNotification. Good pushes go to ``pushes`` (keyed by meter and counter: stored
once) in the same transaction as the meter's new last counter; everything else goes to ``quarantine`` with
the reason in words: unknown sender, replayed, tag not verified, not ciphered, malformed. Nothing a sender
does raises out of it.

:class:`PushListener` is the asyncio shell: wrapper frames from TCP connections (a broken stream ends that
connection only) and UDP datagrams go into one queue; one worker hands batches to the receiver in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from dlmskit.apdu.notification import DataNotification
from dlmskit.errors import DlmsError
from dlmskit.headend.inventory import Inventory
from dlmskit.headend.job import jsonable
from dlmskit.headend.keystore import KeyStore
from dlmskit.headend.store import Store, push_counters, pushes, quarantine, utc
from dlmskit.link.wrapper import WrapperFrame, WrapperFrameReader
from dlmskit.security.ciphering import GENERAL_GLO_CIPHERING, CipheredApdu, decrypt_apdu, is_ciphered_tag
from dlmskit.security.suite0 import GcmCipher

__all__ = ["PushListener", "PushReceiver", "PushResult"]

log = logging.getLogger("dlmskit.headend.push")

_QUARANTINED_BYTES = 512
RELOAD_SECONDS = 5.0
"""An unknown sender reloads the inventory's system titles at most this often."""


@dataclass(frozen=True)
class PushResult:
    """What became of one push: ``stored`` (with the meter) or ``quarantined`` (with the reason)."""

    outcome: str
    meter: str | None = None
    reason: str = ""


class PushReceiver:
    """Recognises, checks, deciphers and stores pushes (blocking: one transaction per batch)."""

    def __init__(self, store: Store, inventory: Inventory, keystore: KeyStore) -> None:
        self.store = store
        self.inventory = inventory
        self.keystore = keystore
        self._titles: dict[bytes, str] = {}
        self._ciphers: dict[str, GcmCipher] = {}
        self._last: dict[str, int] = {}
        self._loaded = False
        self._loaded_at = 0.0

    def refresh(self) -> None:
        """Read the inventory's system titles and the persisted counters again (after an import)."""
        self._load()

    def _load(self) -> None:
        self._titles = {
            bytes.fromhex(m.meter_system_title): m.name
            for m in self.inventory.meters()
            if m.meter_system_title
        }
        with self.store.engine.connect() as connection:
            self._last = {str(r.meter): int(r.last) for r in connection.execute(sa.select(push_counters))}
        self._loaded = True
        self._loaded_at = time.monotonic()

    def _cipher(self, meter: str) -> GcmCipher | None:
        cipher = self._ciphers.get(meter)
        if cipher is None:
            ek = self.keystore.get(meter, "block_cipher_key")
            ak = self.keystore.get(meter, "authentication_key")
            if ek is None or ak is None:
                return None
            cipher = self._ciphers[meter] = GcmCipher(ek, ak)
        return cipher

    def receive_many(self, items: Sequence[tuple[bytes, str]]) -> list[PushResult]:
        """Handle pushes (APDU, source in words) and store the outcome of all of them in one transaction."""
        if not self._loaded:
            self._load()
        now = utc(_dt.datetime.now(_dt.timezone.utc))
        results: list[PushResult] = []
        stored: list[dict[str, Any]] = []
        quarantined: list[dict[str, Any]] = []
        moved: dict[str, int] = {}
        for apdu, source in items:
            try:
                result, row = self._one(apdu)
            except Exception as error:  # a sender must never take the listener down
                log.exception("push from %s: unexpected failure", source)
                result, row = (
                    PushResult("quarantined", None, f"unexpected failure: {type(error).__name__}"),
                    None,
                )
            results.append(result)
            if row is not None and result.meter is not None:
                row.update(received_at=now)
                stored.append(row)
                moved[result.meter] = row["invocation_counter"]
            else:
                quarantined.append(
                    {
                        "received_at": now,
                        "source": source[:100],
                        "reason": result.reason,
                        "apdu": apdu[:_QUARANTINED_BYTES].hex(),
                    }
                )
        with self.store.engine.begin() as connection:
            if stored:
                connection.execute(self.store.insert(pushes).on_conflict_do_nothing(), stored)
            for meter, last in moved.items():
                statement = self.store.insert(push_counters).values(meter=meter, last=last)
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[push_counters.c.meter],
                        set_={"last": last},
                        where=push_counters.c.last < last,
                    )
                )
            if quarantined:
                connection.execute(sa.insert(quarantine), quarantined)
        return results

    def _one(self, apdu: bytes) -> tuple[PushResult, dict[str, Any] | None]:
        if not apdu:
            return PushResult("quarantined", None, "empty APDU"), None
        if not is_ciphered_tag(apdu[0]):
            return PushResult(
                "quarantined", None, f"not ciphered (tag 0x{apdu[0]:02X}): the sender cannot be told"
            ), None
        try:
            envelope = CipheredApdu.decode(apdu)
        except DlmsError as error:
            return PushResult("quarantined", None, f"malformed ciphered APDU: {error}"), None
        if envelope.tag != GENERAL_GLO_CIPHERING or not envelope.system_title:
            return PushResult("quarantined", None, "no system title (general-glo-ciphering expected)"), None
        title = envelope.system_title
        meter = self._titles.get(title)
        if meter is None and time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self._load()  # a meter imported since: at most one reload every RELOAD_SECONDS
            meter = self._titles.get(title)
        if meter is None:
            return PushResult("quarantined", None, f"unknown sender system title {title.hex().upper()}"), None
        counter = envelope.invocation_counter
        last = self._last.get(meter)
        if last is not None and counter <= last:
            return PushResult("quarantined", meter, f"replayed: counter {counter} not above {last}"), None
        cipher = self._cipher(meter)
        if cipher is None:
            return PushResult("quarantined", meter, "no keys for this meter in the key store"), None
        try:
            plain = decrypt_apdu(envelope, keys=cipher).plain
        except DlmsError:
            return PushResult("quarantined", meter, "the tag does not verify with the meter's keys"), None
        self._last[meter] = counter  # only after the tag verified
        try:
            notification = DataNotification.decode(plain)
        except DlmsError as error:
            return PushResult("quarantined", meter, f"not a data-notification: {error}"), None
        stamp = notification.date_time
        when: str | None = None
        if stamp is not None and stamp.is_calendar_time:
            with contextlib.suppress(ValueError):
                when = utc(stamp.to_datetime())
        row = {
            "meter": meter,
            "invocation_counter": counter,
            "date_time": when,
            "body": json.dumps(jsonable(notification.body)),
        }
        return PushResult("stored", meter), row


@dataclass
class PushStats:
    """Counters of a listener."""

    received: int = 0
    stored: int = 0
    quarantined: int = 0
    connections: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class PushListener:
    """Receives pushes over the wrapper on TCP and UDP and hands them to a :class:`PushReceiver` in batches."""

    def __init__(
        self, receiver: PushReceiver, *, batch: int = 500, max_connections: int = 10_000, idle: float = 300.0
    ) -> None:
        self.receiver = receiver
        self.batch = batch
        self.max_connections = max_connections
        self.idle = idle
        self.stats = PushStats()
        self._queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue(maxsize=100_000)
        self._servers: list[asyncio.AbstractServer] = []
        self._datagrams: list[asyncio.DatagramTransport] = []
        self._worker: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _put(self, apdu: bytes, source: str) -> None:
        self.stats.received += 1
        try:
            self._queue.put_nowait((apdu, source))
        except asyncio.QueueFull:
            self.stats.quarantined += 1
            self.stats.reasons["dropped: queue full"] = self.stats.reasons.get("dropped: queue full", 0) + 1

    def _ensure_worker(self) -> None:
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        while True:
            items = [await self._queue.get()]
            while len(items) < self.batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                results = await asyncio.to_thread(self.receiver.receive_many, items)
            except Exception:
                log.exception("storing %d pushes failed", len(items))
                results = [PushResult("quarantined", None, "storage failed")] * len(items)
            for result in results:
                if result.outcome == "stored":
                    self.stats.stored += 1
                else:
                    self.stats.quarantined += 1
                    reason = result.reason.split(":")[0]
                    self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
            for _ in items:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every push received so far is stored or quarantined."""
        await self._queue.join()

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 4059) -> asyncio.AbstractServer:
        """Listen for meters that push over wrapper/TCP."""
        self._ensure_worker()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = "tcp {}:{}".format(*writer.get_extra_info("peername")[:2])
            if len(self._writers) >= self.max_connections:
                log.warning("%s: refused, %d push connections already open", peer, self.max_connections)
                writer.close()
                return
            self._writers.add(writer)
            self.stats.connections += 1
            frames = WrapperFrameReader()
            try:
                while True:
                    data = await asyncio.wait_for(reader.read(65536), self.idle)
                    if not data:
                        return
                    for event in frames.feed(data):
                        if isinstance(event, WrapperFrame):
                            self._put(event.apdu, peer)
                        else:
                            self._put(b"", f"{peer} (broken wrapper stream: {event})")
                            return
            except (asyncio.TimeoutError, ConnectionError, OSError):
                return
            finally:
                self._writers.discard(writer)
                writer.close()

        server = await asyncio.start_server(handle, host, port, backlog=1024)
        self._servers.append(server)
        return server

    async def start_udp(self, host: str = "127.0.0.1", port: int = 4059) -> asyncio.DatagramTransport:
        """Listen for wrapper/UDP pushes (one frame a datagram)."""
        self._ensure_worker()
        listener = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                source = f"udp {addr[0]}:{addr[1]}"
                try:
                    frame = WrapperFrame.decode(data)
                except DlmsError as error:
                    listener._put(b"", f"{source} (malformed wrapper frame: {error})")
                    return
                listener._put(frame.apdu, source)

        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            _Protocol, local_addr=(host, port)
        )
        self._datagrams.append(transport)
        return transport

    async def close(self) -> None:
        """Stop listening, store what was received, stop the worker."""
        for server in self._servers:
            server.close()
        for transport in self._datagrams:
            transport.close()
        for writer in list(self._writers):
            writer.close()
        if self._worker is not None:
            await self.drain()
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
