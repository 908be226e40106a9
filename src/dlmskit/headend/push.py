"""The push listener: data- and event-notifications from meters over the wrapper (TCP, UDP) and HDLC UI frames,
ciphered, replay-checked, reassembled from general-block-transfer, named through the push setup.

:class:`PushReceiver` is the sans-socket part: it takes a batch of :class:`Arrival` (an APDU, where it came
from and the link's source address) and, for each, reassembles a general-block-transfer (per sender, bounded
in size and time: an incomplete or out-of-order sequence is quarantined and holds up nobody else), finds the
meter by the system title a general-glo/general-ded-ciphering APDU carries (the inventory's
``meter_system_title``), or by the link's source address when there is none (a glo-/ded- APDU, or an empty
system title: the meter's ``push_source_address``, or over HDLC its ``server_physical``), finds the key the
push is ciphered with (the meter's global unicast key; with the security control's key-set bit, or
general-ciphering with identified key-id 1, the global ``broadcast_key``, the meter's or its template's; for
ded-/general-ded its fixed ``push_dedicated_key``, the meter's or its template's: a head-end cannot know the
dedicated key of an association it did not make; for general-ciphering with a wrapped key, the meter's
``master_key``; the authentication key is always the meter's one ``authentication_key``), refuses a counter
not above the last one accepted from that meter under that key (a meter keeps one invocation counter per key,
and a new key starts its counter again: the counters are persisted in ``push_counters`` per meter, key kind
and :func:`key_fingerprint`, checked before deciphering, moved on only after the tag verified, and checked
again under a row lock in the transaction that stores the push), deciphers and decodes the data-notification
or event-notification. Good pushes go to ``pushes`` (keyed by meter, key and counter: stored once) with their
kind and their values named by the meter's push object list (read from its push setup object, or its
template's ``push_objects``), in the same transaction as the key's new last counter; everything else goes to
``quarantine`` with the reason in words. Nothing a sender does raises out of it.

:class:`HdlcPushReader` finds HDLC frames in a byte stream (FCS and HCS verified; a damaged frame is
quarantined, never repaired), keeps UI frames (control 0x03/0x13) and joins a push segmented over several of
them (the format's segmentation bit).

:class:`PushListener` is the asyncio shell: wrapper frames from TCP connections (a broken stream ends that
connection only), UDP datagrams and HDLC frames from TCP connections or a serial port go into one queue; one
worker hands batches to the receiver in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.errors import DlmsError, MeterTimeout
from dlmskit.headend.inventory import Inventory
from dlmskit.headend.job import jsonable
from dlmskit.headend.keystore import KeyStore
from dlmskit.headend.push_setup import PushObject, load_push_objects, name_values
from dlmskit.headend.store import Store, keys, push_counters, pushes, quarantine, utc
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_frame import LLC_REQUEST, LLC_RESPONSE, FrameCheckError, FrameType, UnknownControlError
from dlmskit.link.wrapper import WrapperFrame, WrapperFrameReader
from dlmskit.security.certificates import load_public_key, suite_of
from dlmskit.security.ciphering import CipheredApdu, decrypt_apdu, is_ciphered_tag
from dlmskit.security.general import (
    GENERAL_CIPHERING,
    GENERAL_SIGNING,
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    SignedApduGuard,
    WrappedKey,
    decipher_general,
    verify_general,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher

__all__ = [
    "Arrival",
    "BlockAssembler",
    "HdlcPushReader",
    "PushListener",
    "PushReceiver",
    "PushResult",
    "key_fingerprint",
]

log = logging.getLogger("dlmskit.headend.push")

_QUARANTINED_BYTES = 512
RELOAD_SECONDS = 5.0
"""An unknown sender reloads the inventory's system titles at most this often."""

_GENERAL_BLOCK_TRANSFER = 0xE0
_DATA_NOTIFICATION = 0x0F
_EVENT_NOTIFICATION = 0xC2
_NOTIFICATION_TAGS = {
    0xDB: "general-glo-ciphering",
    0xDC: "general-ded-ciphering",
    0xCA: "glo-event-notification-request",
    0xD2: "ded-event-notification-request",
}
"""The ciphered forms a push may take. There is no glo-/ded-data-notification in the xDLMS-APDU CHOICE: a
ciphered data-notification is always general-glo- or general-ded-ciphered."""

Address = tuple[Literal["wrapper", "hdlc"], int]
"""A push's link source address: the wrapper source wPort, or the HDLC (lower, else upper) address."""

KeyKind = Literal["global-unicast", "global-broadcast", "dedicated", "kek"]
"""The key a ciphered push is ciphered with: the meter's global unicast key (glo-, general-glo-, and
general-ciphering with no key-info or identified-key 0), the global broadcast key (glo-, general-glo- with the
security control's key-set bit, general-ciphering with identified-key 1), its fixed dedicated push key (ded-,
general-ded-), or a key wrapped with its master key (general-ciphering with wrapped-key: the counter is that
of the KEK)."""

CounterKey = tuple[str, str, str]
"""(meter, key kind, key id): what one invocation counter belongs to (a row of ``push_counters``)."""

_FINGERPRINT_LABEL = b"dlmskit push counter key id\x00"


def key_fingerprint(kind: KeyKind, key: SecretBytes | bytes) -> str:
    """The ``key_id`` of a key in ``push_counters`` and ``pushes``: HMAC-SHA-256 keyed with the key itself over
    a label and the key kind (domain separated: the same bytes used as two kinds give two ids), the first 16
    bytes in hex. It tells keys apart (a key change starts a new counter; the same key given again keeps its
    counter) and reveals nothing of a random key; it is never derived from the master key, so a master-key
    rotation keeps every counter."""
    raw = key.reveal() if isinstance(key, SecretBytes) else bytes(key)
    return hmac.new(raw, _FINGERPRINT_LABEL + kind.encode("ascii"), hashlib.sha256).hexdigest()[:32].upper()


@dataclass(frozen=True, slots=True)
class Arrival:
    """One APDU as it arrived: ``source`` in words (``udp 10.0.0.7:4059``), the link's source ``address``,
    and ``refused`` when the link already found it bad (the reason: quarantined as it is)."""

    apdu: bytes
    source: str
    address: Address | None = None
    refused: str | None = None


@dataclass(frozen=True)
class PushResult:
    """What became of one push: ``stored`` (with the meter), ``quarantined`` (with the reason) or ``held``
    (a block of a general-block-transfer, kept until its last block)."""

    outcome: str
    meter: str | None = None
    reason: str = ""


@dataclass
class _Blocks:
    source: str
    address: Address | None
    started: float
    due: int
    parts: list[bytes]
    size: int


class BlockAssembler:
    """Joins the blocks of pushes sent in general-block-transfer (``E0``), per sender, in block-number order.

    A meter sends its blocks unconfirmed, numbered from 1, the last one flagged. Each sender (a TCP connection,
    a UDP peer, with its link address) has at most one sequence open; a block out of order, a sequence longer
    than ``max_bytes`` or one whose last block has not come within ``max_seconds`` is given back as a refused
    :class:`Arrival` (quarantined with the reason), and at most ``max_senders`` sequences holding at most
    ``max_held`` bytes in all are open at once (the oldest gives way: blocks arrive before anything is
    authenticated, so what they may hold is bounded). ``clock`` is a monotonic clock in seconds."""

    def __init__(
        self,
        *,
        max_bytes: int = 65_536,
        max_seconds: float = 30.0,
        max_senders: int = 10_000,
        max_held: int = 16 * 1024 * 1024,
        clock: Any = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.max_senders = max_senders
        self.max_held = max_held
        self._clock = clock
        self._open: dict[Hashable, _Blocks] = {}
        self._held = 0

    @property
    def pending(self) -> int:
        """How many sequences are waiting for more blocks."""
        return len(self._open)

    def feed(self, sender: Hashable, arrival: Arrival) -> tuple[Arrival | None, list[Arrival]]:
        """Take one general-block-transfer APDU: (the whole APDU when this was the last block, else None;
        refused arrivals: this block or sequences given up)."""
        now = self._clock()
        refused = self.expire(now)
        try:
            block = GeneralBlockTransfer.decode(arrival.apdu)
        except DlmsError as error:
            refused.append(_refuse(arrival, f"malformed general-block-transfer: {error}"))
            return None, refused
        current = self._open.pop(sender, None)
        if current is not None:
            self._held -= current.size
        if current is not None and block.block_number != current.due:
            refused.append(
                self._give_up(
                    current,
                    f"general-block-transfer out of order: block {block.block_number} where block "
                    f"{current.due} was due",
                )
            )
            current = None
        if current is None:
            if block.block_number != 1:
                refused.append(
                    _refuse(
                        arrival,
                        f"general-block-transfer out of order: block {block.block_number} without block 1",
                    )
                )
                return None, refused
            current = _Blocks(arrival.source, arrival.address, now, 1, [], 0)
        current.parts.append(block.block_data)
        current.size += len(block.block_data)
        current.due += 1
        if current.size > self.max_bytes:
            refused.append(
                self._give_up(current, f"general-block-transfer longer than {self.max_bytes} bytes")
            )
            return None, refused
        if block.last_block:
            return Arrival(b"".join(current.parts), current.source, current.address), refused
        while self._open and (
            len(self._open) >= self.max_senders or self._held + current.size > self.max_held
        ):
            oldest = self._open.pop(next(iter(self._open)))
            self._held -= oldest.size
            refused.append(
                self._give_up(
                    oldest,
                    f"incomplete general-block-transfer: more than {self.max_senders} senders or "
                    f"{self.max_held} bytes held at once",
                )
            )
        self._open[sender] = current
        self._held += current.size
        return None, refused

    def expire(self, now: float | None = None) -> list[Arrival]:
        """Give up the sequences whose last block did not come within ``max_seconds``."""
        moment = self._clock() if now is None else now
        late = [key for key, blocks in self._open.items() if moment - blocks.started > self.max_seconds]
        self._held -= sum(self._open[key].size for key in late)
        return [
            self._give_up(
                self._open.pop(key),
                f"incomplete general-block-transfer: the last block did not come within {self.max_seconds:g} s",
            )
            for key in late
        ]

    def flush(self) -> list[Arrival]:
        """Give up every open sequence (the listener stops)."""
        gone = [
            self._give_up(blocks, "incomplete general-block-transfer: the listener stopped")
            for blocks in self._open.values()
        ]
        self._open.clear()
        self._held = 0
        return gone

    @staticmethod
    def _give_up(blocks: _Blocks, reason: str) -> Arrival:
        held = blocks.due - 1
        return Arrival(
            b"".join(blocks.parts)[:_QUARANTINED_BYTES],
            blocks.source,
            blocks.address,
            f"{reason} ({held} block(s), {blocks.size} bytes dropped)",
        )


def _refuse(arrival: Arrival, reason: str) -> Arrival:
    return Arrival(arrival.apdu, arrival.source, arrival.address, reason)


class HdlcPushReader:
    """Pushes in HDLC UI frames from one byte stream (a TCP connection, a serial line): sans I/O.

    Frames are found and checked by :class:`~dlmskit.link.framer.HdlcFrameReader`: a frame whose HCS or FCS
    does not match is refused as it is (never repaired). A UI frame (control 0x03, 0x13 with the F bit)
    carries a push; one with the segmentation bit set is joined with the next ones from the same address
    until one without it (at most ``max_bytes``, from at most ``max_sources`` addresses at once). The LLC header (``E6 E7 00``) of the first segment is
    removed. Other frames (I, RR, SNRM...) are refused: a meter pushes in UI frames."""

    def __init__(self, source: str, *, max_bytes: int = 65_536, max_sources: int = 256) -> None:
        self.source = source
        self.max_bytes = max_bytes
        self.max_sources = max_sources
        self._frames = HdlcFrameReader()
        self._segments: dict[tuple[int, int | None], list[bytes]] = {}

    def feed(self, data: bytes) -> list[Arrival]:
        """Bytes as they came; the complete pushes and the refused frames among them."""
        found: list[Arrival] = []
        for event in self._frames.feed(data):
            if isinstance(event, UnknownControlError):
                found.append(
                    Arrival(event.information, self.source, None, f"HDLC frame not used by DLMS: {event}")
                )
                continue
            if isinstance(event, FrameCheckError):
                found.append(Arrival(b"", self.source, None, f"HDLC frame check failed: {event}"))
                continue
            if isinstance(event, DlmsError):
                found.append(Arrival(b"", self.source, None, f"malformed HDLC frame: {event}"))
                continue
            src = event.src
            address: Address = ("hdlc", src.physical if src.physical is not None else src.logical)
            if event.control.kind is not FrameType.UI:
                found.append(
                    Arrival(
                        event.information,
                        self.source,
                        address,
                        f"not a UI frame ({event.control.kind.name}): a push comes in UI frames",
                    )
                )
                continue
            key = (src.logical, src.physical)
            if key not in self._segments and len(self._segments) >= self.max_sources:
                upper, lower = next(iter(self._segments))
                del self._segments[(upper, lower)]
                gone: Address = ("hdlc", lower if lower is not None else upper)
                found.append(
                    Arrival(
                        b"",
                        self.source,
                        gone,
                        f"segmented HDLC push dropped: {self.max_sources} sources at once",
                    )
                )
            parts = self._segments.setdefault(key, [])
            parts.append(event.information)
            if sum(len(part) for part in parts) > self.max_bytes:
                del self._segments[key]
                found.append(
                    Arrival(
                        b"", self.source, address, f"segmented HDLC push longer than {self.max_bytes} bytes"
                    )
                )
                continue
            if event.segmented:
                continue
            del self._segments[key]
            information = b"".join(parts)
            if information[:3] in (LLC_RESPONSE, LLC_REQUEST):
                information = information[3:]
            found.append(Arrival(information, self.source, address))
        return found


class PushReceiver:
    """Recognises, checks, deciphers and stores pushes (blocking: one transaction per batch).

    Call it from one thread at a time (the listener's worker does): it keeps the open general-block-transfer
    sequences (:attr:`blocks`). Several receivers may share a database (the push listener and the inbound
    listener of ``serve``, two head-ends): the counters are checked again under a row lock when stored."""

    def __init__(
        self, store: Store, inventory: Inventory, keystore: KeyStore, *, blocks: BlockAssembler | None = None
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.keystore = keystore
        self.blocks = blocks if blocks is not None else BlockAssembler()
        self._titles: dict[bytes, str] = {}
        self._meter_titles: dict[str, bytes] = {}
        self._addresses: dict[Address, list[str]] = {}
        self._templates: dict[str, str | None] = {}
        self._objects: dict[str, dict[str, list[PushObject]]] = {}
        self._ciphers: dict[str, tuple[GcmCipher, str]] = {}
        self._dedicated: dict[str, tuple[GcmCipher, str] | None] = {}
        self._broadcast: dict[str, tuple[GcmCipher, str] | str] = {}
        """The broadcast cipher and key id of each meter, or why there is none (in words)."""
        self._last: dict[CounterKey, int] = {}
        self._legacy: dict[str, tuple[str, int]] = {}
        """Counters migrated from before revision 0007, by meter: (``v<N>``, last), until given a fingerprint."""
        self._adopted: dict[CounterKey, str] = {}
        """Counters given a fingerprint whose migrated row (``v<N>``) goes when they are next stored."""
        self._public_keys: dict[str, ec.EllipticCurvePublicKey | None] = {}
        self._certificates: dict[str, Any] = {}
        self._guard = SignedApduGuard()
        """The general-signing pushes accepted (transaction-id, date-time) per meter system title, in memory;
        across restarts the invocation counter of the ciphered content is what refuses a replay."""
        self._loaded = False
        self._loaded_at = 0.0

    def refresh(self) -> None:
        """Read the inventory (system titles, source addresses, push object lists), the persisted counters and
        the keys again (after an import or a key change)."""
        self._ciphers.clear()
        self._dedicated.clear()
        self._broadcast.clear()
        self._public_keys.clear()
        self._load()

    def _load(self) -> None:
        found = self.inventory.meters()
        templates = self.inventory.templates()
        self._titles = {bytes.fromhex(m.meter_system_title): m.name for m in found if m.meter_system_title}
        self._meter_titles = {name: title for title, name in self._titles.items()}
        self._templates = {m.name: m.template for m in found}
        self._certificates = {
            m.name: m.settings.get("meter_certificate")
            or (templates.get(m.template, {}).get("meter_certificate") if m.template is not None else None)
            for m in found
        }
        addresses: dict[Address, list[str]] = {}
        for meter in found:
            if meter.push_source_address is not None:
                addresses.setdefault(("wrapper", meter.push_source_address), []).append(meter.name)
                addresses.setdefault(("hdlc", meter.push_source_address), []).append(meter.name)
                continue
            physical = meter.settings.get("server_physical")
            if physical is None and meter.template is not None:
                physical = templates.get(meter.template, {}).get("server_physical")
            if physical is not None:
                addresses.setdefault(("hdlc", int(physical)), []).append(meter.name)
        self._addresses = addresses
        self._objects = load_push_objects(self.store)
        last = dict(self._last)  # a reload in the middle of a batch keeps what the batch accepted so far
        legacy: dict[str, tuple[str, int]] = {}
        with self.store.engine.connect() as connection:
            for row in connection.execute(sa.select(push_counters)):
                key = (str(row.meter), str(row.key_kind), str(row.key_id))
                last[key] = max(last.get(key, -1), int(row.last))
                if key[1] == "global-unicast" and key[2].startswith("v"):
                    legacy[key[0]] = (key[2], int(row.last))
        self._last = last
        self._legacy = legacy
        self._loaded = True
        self._loaded_at = time.monotonic()

    def _cipher(self, meter: str) -> tuple[GcmCipher, CounterKey] | None:
        """The meter's global unicast cipher and the counter of its block cipher key."""
        found = self._ciphers.get(meter)
        if found is None:
            ek = self.keystore.get(meter, "block_cipher_key")
            ak = self.keystore.get(meter, "authentication_key")
            if ek is None or ak is None:
                return None
            found = self._ciphers[meter] = (GcmCipher(ek, ak), key_fingerprint("global-unicast", ek))
            self._adopt(meter, found[1])
        return found[0], (meter, "global-unicast", found[1])

    def _adopt(self, meter: str, key_id: str) -> None:
        """Give the counter migrated from before revision 0007 (one per meter, ``v<N>``) to the meter's global
        unicast key ``key_id`` when that key still has version N (changed since: the old counter was the
        old key's, and refuses nothing of the new one)."""
        migrated = self._legacy.get(meter)
        key = (meter, "global-unicast", key_id)
        if migrated is None or key in self._last:
            return
        with self.store.engine.connect() as connection:
            version = connection.execute(
                sa.select(keys.c.version).where(keys.c.meter == meter, keys.c.name == "block_cipher_key")
            ).scalar()
        if migrated[0] == f"v{int(version or 0)}":
            self._last[key] = migrated[1]
            self._adopted[key] = migrated[0]
        else:  # the key changed since the migration: that counter was an older key's
            del self._legacy[meter]

    def _dedicated_cipher(self, meter: str) -> tuple[GcmCipher, CounterKey] | None:
        """The cipher of the meter's fixed dedicated push key (its own, else its template's) and its counter."""
        if meter not in self._dedicated:
            key = self.keystore.get(meter, "push_dedicated_key")
            template = self._templates.get(meter)
            if key is None and template is not None:
                key = self.keystore.get(f"template:{template}", "push_dedicated_key")
            ak = self.keystore.get(meter, "authentication_key")
            self._dedicated[meter] = (
                (GcmCipher(key, ak), key_fingerprint("dedicated", key))
                if key is not None and ak is not None
                else None
            )
        found = self._dedicated[meter]
        return None if found is None else (found[0], (meter, "dedicated", found[1]))

    def _broadcast_key(self, meter: str) -> SecretBytes | None:
        """The meter's global broadcast key: its own, else its template's."""
        key = self.keystore.get(meter, "broadcast_key")
        template = self._templates.get(meter)
        if key is None and template is not None:
            key = self.keystore.get(f"template:{template}", "broadcast_key")
        return key

    def _broadcast_cipher(self, meter: str) -> tuple[GcmCipher, CounterKey] | str:
        """The cipher of the meter's global broadcast key (its own, else its template's) with the meter's
        authentication key (suites 0-2 have one AK for the unicast and the broadcast key) and its counter; or
        why there is none."""
        found = self._broadcast.get(meter)
        if found is None:
            key = self._broadcast_key(meter)
            ak = self.keystore.get(meter, "authentication_key")
            if key is None:
                found = "no broadcast_key for this meter or its template in the key store"
            elif ak is None:
                found = "a broadcast_key, and no authentication_key for this meter in the key store"
            else:
                try:
                    found = (GcmCipher(key, ak), key_fingerprint("global-broadcast", key))
                except DlmsError as error:  # a length the suites do not have: no value in the message
                    found = f"the meter's broadcast_key cannot be used: {error}"
            self._broadcast[meter] = found
        return found if isinstance(found, str) else (found[0], (meter, "global-broadcast", found[1]))

    def _push_lists(self, meter: str) -> dict[str, list[PushObject]]:
        own = self._objects.get(f"meter:{meter}")
        if own:
            return own
        template = self._templates.get(meter)
        return self._objects.get(f"template:{template}", {}) if template is not None else {}

    def receive_many(self, items: Sequence[Arrival | tuple[bytes, str]]) -> list[PushResult]:
        """Handle pushes (an :class:`Arrival`, or (APDU, source in words)) and store the outcome of all of them
        in one transaction. The results are those of ``items`` in order, then those of general-block-transfer
        sequences given up meanwhile (too old)."""
        if not self._loaded:
            self._load()
        now = utc(_dt.datetime.now(_dt.timezone.utc))
        results: list[PushResult] = []
        stored: list[tuple[int, Arrival, dict[str, Any]]] = []
        quarantined: list[dict[str, Any]] = []
        late: list[Arrival] = self.blocks.expire() if self.blocks.pending else []

        def refuse(arrival: Arrival, result: PushResult) -> None:
            quarantined.append(
                {
                    "received_at": now,
                    "source": arrival.source[:100],
                    "reason": result.reason,
                    "apdu": arrival.apdu[:_QUARANTINED_BYTES].hex(),
                }
            )

        for item in items:
            arrival = item if isinstance(item, Arrival) else Arrival(item[0], item[1])
            if arrival.refused is None and arrival.apdu[:1] == bytes((_GENERAL_BLOCK_TRANSFER,)):
                whole, refused = self.blocks.feed((arrival.source, arrival.address), arrival)
                late += refused
                if whole is None:
                    results.append(PushResult("held", None, "a block of a general-block-transfer"))
                    continue
                arrival = whole
            try:
                result, row = self._one(arrival)
            except Exception as error:  # a sender must never take the listener down
                log.exception("push from %s: unexpected failure", arrival.source)
                result, row = (
                    PushResult("quarantined", None, f"unexpected failure: {type(error).__name__}"),
                    None,
                )
            if row is not None and result.meter is not None:
                row.update(received_at=now)
                stored.append((len(results), arrival, row))
            else:
                refuse(arrival, result)
            results.append(result)
        for arrival in late:
            result = PushResult("quarantined", None, arrival.refused or "")
            results.append(result)
            refuse(arrival, result)
        with self.store.engine.begin() as connection:
            persisted = self._lock_counters(connection, [row for _, _, row in stored])
            moved: dict[CounterKey, int] = {}
            rows: list[dict[str, Any]] = []
            for index, arrival, row in stored:
                key = (row["meter"], row["key_kind"], row["key_id"])
                counter = row["invocation_counter"]
                floor = max(persisted.get(key, -1), moved.get(key, -1))
                if counter <= floor:  # another receiver on this database took it (or a later one) first
                    result = PushResult(
                        "quarantined",
                        row["meter"],
                        f"replayed: counter {counter} not above {floor} ({row['key_kind']} key)",
                    )
                    results[index] = result
                    refuse(arrival, result)
                    continue
                moved[key] = counter
                rows.append(row)
            if rows:
                connection.execute(self.store.insert(pushes).on_conflict_do_nothing(), rows)
            for (meter, kind, key_id), last in moved.items():
                statement = self.store.insert(push_counters).values(
                    meter=meter, key_kind=kind, key_id=key_id, last=last
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[
                            push_counters.c.meter,
                            push_counters.c.key_kind,
                            push_counters.c.key_id,
                        ],
                        set_={"last": last},
                        where=push_counters.c.last < last,
                    )
                )
                migrated = self._adopted.get((meter, kind, key_id))
                if migrated is not None:  # the counter from before 0007 now has its key's fingerprint
                    connection.execute(
                        sa.delete(push_counters).where(
                            push_counters.c.meter == meter,
                            push_counters.c.key_kind == kind,
                            push_counters.c.key_id == migrated,
                        )
                    )
            if quarantined:
                connection.execute(sa.insert(quarantine), quarantined)
        for key, last in persisted.items():  # what other receivers accepted
            self._last[key] = max(self._last.get(key, -1), last)
        for key in moved:
            if self._adopted.pop(key, None) is not None:
                self._legacy.pop(key[0], None)
        return results

    def _lock_counters(
        self, connection: sa.Connection, rows: Sequence[dict[str, Any]]
    ) -> dict[CounterKey, int]:
        """The persisted last counters of the keys of ``rows``, locked until ``connection`` commits: a no-op
        upsert of each row (a row lock on PostgreSQL, the write lock on SQLite) before it is read, so that two
        receivers on one database never both accept one counter."""
        wanted = sorted({(row["meter"], row["key_kind"], row["key_id"]) for row in rows})
        if not wanted:
            return {}
        found: dict[CounterKey, int] = {}
        for start in range(0, len(wanted), 200):  # 800 parameters a statement at most
            chunk = wanted[start : start + 200]
            statement = self.store.insert(push_counters).values(
                [{"meter": m, "key_kind": k, "key_id": i, "last": -1} for m, k, i in chunk]
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[push_counters.c.meter, push_counters.c.key_kind, push_counters.c.key_id],
                    set_={"last": push_counters.c.last},
                )
            )
            query = sa.select(push_counters).where(
                sa.tuple_(push_counters.c.meter, push_counters.c.key_kind, push_counters.c.key_id).in_(chunk)
            )
            found.update(
                {
                    (str(r.meter), str(r.key_kind), str(r.key_id)): int(r.last)
                    for r in connection.execute(query)
                }
            )
        return found

    def flush(self) -> list[PushResult]:
        """Quarantine the general-block-transfer sequences still open (the listener stops)."""
        gone = self.blocks.flush()
        return self.receive_many(gone) if gone else []

    def _by_title(self, title: bytes) -> tuple[str | None, str]:
        meter = self._titles.get(title)
        if meter is None and time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self._load()  # a meter imported since: at most one reload every RELOAD_SECONDS
            meter = self._titles.get(title)
        if meter is None:
            return None, f"unknown sender system title {title.hex().upper()}"
        return meter, ""

    def _originator(self, title: bytes, kind: str) -> tuple[str | None, str]:
        """(the meter, or None with the reason) for a general-signing or general-ciphering push, named by
        its originator system title."""
        if not title:
            return None, f"a {kind} push without an originator system title"
        return self._by_title(title)

    def _sender(self, envelope: CipheredApdu, address: Address | None) -> tuple[str | None, str]:
        """(the meter, or None with the reason) for a ciphered push."""
        title = envelope.system_title
        if title:
            return self._by_title(title)
        what = "an empty system title" if envelope.is_general else "no system title (a glo-/ded- APDU)"
        if address is None:
            return None, f"{what} and no source address to find the sender by"
        named = f"{address[0]} source address {address[1]}"
        meters = self._addresses.get(address)
        if not meters and time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self._load()
            meters = self._addresses.get(address)
        if not meters:
            return None, f"{what}, and the {named} is no meter's push_source_address"
        if len(meters) > 1:
            return None, f"{what}, and the {named} is shared by meters {', '.join(sorted(meters)[:5])}"
        return meters[0], ""

    def _public_key(self, meter: str) -> ec.EllipticCurvePublicKey | None:
        """The meter's signing key, from its (or its template's) ``meter_certificate``: a certificate or public
        key, as PEM text or a PEM file."""
        if meter not in self._public_keys:
            source = self._certificates.get(meter)
            self._public_keys[meter] = load_public_key(source) if source else None
        return self._public_keys[meter]

    def _one(self, arrival: Arrival) -> tuple[PushResult, dict[str, Any] | None]:
        apdu = arrival.apdu
        if arrival.refused is not None:
            return PushResult("quarantined", None, arrival.refused), None
        if not apdu:
            return PushResult("quarantined", None, "empty APDU"), None
        if apdu[0] == GENERAL_SIGNING:
            return self._signed(arrival, apdu)
        return self._ciphered(arrival, apdu)

    def _signed(self, arrival: Arrival, apdu: bytes) -> tuple[PushResult, dict[str, Any] | None]:
        """A general-signing push (suites 1/2): the signature verified with the meter's certificate, then its
        content, which must be ciphered (its invocation counter is what refuses a replay, across restarts)."""
        try:
            message = GeneralSigning.decode(apdu)
        except DlmsError as error:
            return PushResult("quarantined", None, f"malformed general-signing APDU: {error}"), None
        meter, why = self._originator(message.originator_system_title, "general-signing")
        if meter is None:
            return PushResult("quarantined", None, why), None
        try:
            key = self._public_key(meter)
        except DlmsError as error:
            return PushResult(
                "quarantined", meter, f"the meter's meter_certificate cannot be read: {error}"
            ), None
        if key is None:
            return PushResult(
                "quarantined",
                meter,
                "a signed push, and no meter_certificate (the meter's certificate or public key) in the inventory",
            ), None
        try:
            verify_general(message, suite=suite_of(key), public_key=key)
        except DlmsError:
            return PushResult(
                "quarantined", meter, "the signature does not verify with the meter's certificate"
            ), None
        try:
            self._guard.check(message)
        except DlmsError as error:
            return PushResult("quarantined", meter, str(error)), None
        inner = message.content
        if not inner or not (is_ciphered_tag(inner[0]) or inner[0] == GENERAL_CIPHERING):
            return PushResult(
                "quarantined",
                meter,
                "signed but not ciphered: without the invocation counter of a ciphered content a replay "
                "could not be refused after a restart",
            ), None
        result, row = self._ciphered(arrival, inner, signer=meter)
        if row is not None:
            self._guard.accept(message)
        return result, row

    def _ciphered(
        self, arrival: Arrival, apdu: bytes, *, signer: str | None = None
    ) -> tuple[PushResult, dict[str, Any] | None]:
        if apdu[0] == GENERAL_CIPHERING:
            return self._general_ciphering(apdu, signer)
        if not is_ciphered_tag(apdu[0]):
            return PushResult(
                "quarantined", None, f"not ciphered (tag 0x{apdu[0]:02X}): the sender cannot be told"
            ), None
        if apdu[0] not in _NOTIFICATION_TAGS:
            return PushResult(
                "quarantined",
                None,
                f"not a push: a ciphered APDU with tag 0x{apdu[0]:02X} (not a notification)",
            ), None
        try:
            envelope = CipheredApdu.decode(apdu)
        except DlmsError as error:
            return PushResult("quarantined", None, f"malformed ciphered APDU: {error}"), None
        meter: str | None
        if signer is not None and not envelope.system_title:
            meter, why = signer, ""  # the signature named the sender
        else:
            meter, why = self._sender(envelope, arrival.address)
        if meter is None:
            return PushResult("quarantined", None, why), None
        counter = envelope.invocation_counter
        if signer is not None and meter != signer:
            return self._refused(meter, signer), None
        found: tuple[GcmCipher, CounterKey] | None
        if envelope.security_control.broadcast_key:
            if envelope.is_dedicated:
                return PushResult(
                    "quarantined",
                    meter,
                    "a dedicated-key ciphered push with the key-set bit (broadcast key) set: the broadcast key "
                    "is a global key",
                ), None
            broadcast = self._broadcast_cipher(meter)
            if isinstance(broadcast, str):
                return PushResult(
                    "quarantined", meter, f"ciphered with the broadcast key (key-set bit), and {broadcast}"
                ), None
            found = broadcast
        elif envelope.is_dedicated:
            found = self._dedicated_cipher(meter)
        else:
            found = self._cipher(meter)
        if found is None:
            what = "dedicated-key ciphered push, no dedicated key known"
            return PushResult(
                "quarantined",
                meter,
                what if envelope.is_dedicated else "no keys for this meter in the key store",
            ), None
        cipher, key = found
        replayed = self._replayed(key, counter)
        if replayed is not None:
            return replayed, None
        title = envelope.system_title or self._meter_titles.get(meter)
        if not title:
            return PushResult(
                "quarantined",
                meter,
                "no system title in the push and none in the inventory (meter_system_title)",
            ), None
        try:
            plain = decrypt_apdu(envelope, system_title=title, keys=cipher).plain
        except DlmsError:
            return PushResult("quarantined", meter, "the tag does not verify with the meter's keys"), None
        self._last[key] = counter  # only after the tag verified
        if not envelope.is_general and plain[:1] != bytes((_EVENT_NOTIFICATION,)):
            return PushResult(
                "quarantined", meter, f"{_NOTIFICATION_TAGS[envelope.tag]} holds another APDU"
            ), None
        return self._notification(key, counter, plain)

    def _general_ciphering(self, apdu: bytes, signer: str | None) -> tuple[PushResult, dict[str, Any] | None]:
        """A general-ciphering push (DD, suites 1/2): found by its originator system title; the global unicast
        key (no key-info, or identified-key 0) or a key wrapped with the meter's master key (KEK)."""
        try:
            message = GeneralCiphering.decode(apdu)
            suite = message.security_control.suite_id
            counter = message.invocation_counter
        except DlmsError as error:
            return PushResult("quarantined", None, f"malformed general-ciphering APDU: {error}"), None
        meter, why = self._originator(message.originator_system_title, "general-ciphering")
        if meter is None:
            return PushResult(
                "quarantined", signer if not message.originator_system_title else None, why
            ), None
        if signer is not None and meter != signer:
            return self._refused(meter, signer), None
        if suite not in (1, 2):
            return PushResult(
                "quarantined",
                meter,
                f"a general-ciphering push in security suite {suite}: expected suite 1 or 2",
            ), None
        info = message.key_info
        ak = self.keystore.get(meter, "authentication_key")
        key = master = None
        counted: CounterKey
        if info is None or (isinstance(info, IdentifiedKey) and info.key_id == 0):
            key = self.keystore.get(meter, "block_cipher_key")
            if key is None or ak is None:
                return PushResult("quarantined", meter, "no keys for this meter in the key store"), None
            key_id = key_fingerprint("global-unicast", key)
            self._adopt(meter, key_id)
            counted = (meter, "global-unicast", key_id)
        elif isinstance(info, IdentifiedKey) and info.key_id == 1:
            broadcast = self._broadcast_key(meter)
            if broadcast is None or ak is None:
                what = (
                    "no broadcast_key for this meter or its template"
                    if broadcast is None
                    else "no authentication_key for this meter"
                )
                return PushResult(
                    "quarantined",
                    meter,
                    f"general-ciphering with key-id 1 (the broadcast key), and {what} in the key store",
                ), None
            key = broadcast
            counted = (meter, "global-broadcast", key_fingerprint("global-broadcast", broadcast))
        elif isinstance(info, IdentifiedKey):
            return PushResult(
                "quarantined", meter, f"general-ciphering with key-id {info.key_id}: an unknown global key"
            ), None
        elif isinstance(info, WrappedKey):
            master = self.keystore.get(meter, "master_key")
            if master is None or ak is None:
                return PushResult(
                    "quarantined",
                    meter,
                    "a key wrapped with the master key (KEK), and no master_key for this meter",
                ), None
            counted = (meter, "kek", key_fingerprint("kek", master))
        else:
            scheme = "an agreed key" if isinstance(info, AgreedKey) else "an unknown key-info"
            return PushResult(
                "quarantined",
                meter,
                f"general-ciphering with {scheme}: the head-end keeps no key-agreement key of its own",
            ), None
        replayed = self._replayed(counted, counter)
        if replayed is not None:
            return replayed, None
        try:
            counter, plain = decipher_general(
                message, suite=suite, authentication_key=ak, key=key, master_key=master
            )
        except DlmsError:
            return PushResult("quarantined", meter, "the tag does not verify with the meter's keys"), None
        self._last[counted] = counter  # only after the tag verified
        return self._notification(counted, counter, plain)

    @staticmethod
    def _refused(meter: str, signer: str) -> PushResult:
        """A signed push whose ciphered content comes from another meter."""
        return PushResult(
            "quarantined", signer, f"signed by {signer}, and its ciphered content comes from {meter}"
        )

    def _replayed(self, key: CounterKey, counter: int) -> PushResult | None:
        """Why a ciphered push is refused before deciphering (its counter is not above the last one accepted
        from that meter under that key), or None."""
        last = self._last.get(key)
        if last is not None and counter <= last:
            meter, kind, _ = key
            return PushResult(
                "quarantined", meter, f"replayed: counter {counter} not above {last} ({kind} key)"
            )
        return None

    def _notification(
        self, key: CounterKey, counter: int, plain: bytes
    ) -> tuple[PushResult, dict[str, Any] | None]:
        """The row of a deciphered data- or event-notification."""
        meter, key_kind, key_id = key
        try:
            if plain[:1] == bytes((_DATA_NOTIFICATION,)):
                notification = DataNotification.decode(plain)
                kind, stamp, body = "data-notification", notification.date_time, notification.body
                named = name_values(self._push_lists(meter), body)
            elif plain[:1] == bytes((_EVENT_NOTIFICATION,)):
                event = EventNotificationRequest.decode(plain)
                kind, stamp, body = "event-notification", event.time, event.value
                descriptor = event.attribute
                named = {f"{descriptor.instance_id}/{descriptor.attribute_id}": body}
            else:
                tag = f"0x{plain[0]:02X}" if plain else "nothing"
                return PushResult(
                    "quarantined", meter, f"not a data- or event-notification: the ciphering holds {tag}"
                ), None
        except DlmsError as error:
            return PushResult("quarantined", meter, f"malformed notification: {error}"), None
        row = {
            "meter": meter,
            "key_kind": key_kind,
            "key_id": key_id,
            "invocation_counter": counter,
            "date_time": _when(stamp),
            "body": json.dumps(jsonable(body)),
            "kind": kind,
            "named": json.dumps({key: jsonable(value) for key, value in named.items()}) if named else None,
        }
        return PushResult("stored", meter), row


def _when(stamp: CosemDateTime | None) -> str | None:
    if stamp is not None and stamp.is_calendar_time:
        with contextlib.suppress(ValueError):
            return utc(stamp.to_datetime())
    return None


@dataclass
class PushStats:
    """Counters of a listener."""

    received: int = 0
    stored: int = 0
    quarantined: int = 0
    held: int = 0
    """Blocks of general-block-transfer sequences (counted once their sequence is complete or given up)."""
    connections: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class PushListener:
    """Receives pushes over the wrapper on TCP and UDP, and in HDLC UI frames over TCP or a serial port, and
    hands them to a :class:`PushReceiver` in batches."""

    def __init__(
        self, receiver: PushReceiver, *, batch: int = 500, max_connections: int = 10_000, idle: float = 300.0
    ) -> None:
        self.receiver = receiver
        self.batch = batch
        self.max_connections = max_connections
        self.idle = idle
        self.stats = PushStats()
        self._queue: asyncio.Queue[Arrival] = asyncio.Queue(maxsize=100_000)
        self._servers: list[asyncio.AbstractServer] = []
        self._datagrams: list[asyncio.DatagramTransport] = []
        self._worker: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._lines: list[asyncio.Task[None]] = []

    def _put(
        self, apdu: bytes, source: str, address: Address | None = None, refused: str | None = None
    ) -> None:
        self.stats.received += 1
        try:
            self._queue.put_nowait(Arrival(apdu, source, address, refused))
        except asyncio.QueueFull:
            self.stats.quarantined += 1
            self.stats.reasons["dropped: queue full"] = self.stats.reasons.get("dropped: queue full", 0) + 1

    def _ensure_worker(self) -> None:
        if self._worker is None:
            self._worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        while True:
            try:
                items = [await asyncio.wait_for(self._queue.get(), 1.0)]
            except asyncio.TimeoutError:
                if self.receiver.blocks.pending:  # give up late general-block-transfer sequences
                    self._count(await asyncio.to_thread(self.receiver.receive_many, []))
                continue
            while len(items) < self.batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                results = await asyncio.to_thread(self.receiver.receive_many, items)
            except Exception:
                log.exception("storing %d pushes failed", len(items))
                results = [PushResult("quarantined", None, "storage failed")] * len(items)
            self._count(results)
            for _ in items:
                self._queue.task_done()

    def _count(self, results: Sequence[PushResult]) -> None:
        for result in results:
            if result.outcome == "stored":
                self.stats.stored += 1
            elif result.outcome == "held":
                self.stats.held += 1
            else:
                self.stats.quarantined += 1
                reason = result.reason.split(":")[0]
                self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1

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
                            self._put(event.apdu, peer, ("wrapper", event.source_wport))
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
                listener._put(frame.apdu, source, ("wrapper", frame.source_wport))

        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            _Protocol, local_addr=(host, port)
        )
        self._datagrams.append(transport)
        return transport

    async def start_hdlc_tcp(self, host: str = "127.0.0.1", port: int = 4061) -> asyncio.AbstractServer:
        """Listen for meters that push HDLC UI frames over TCP (a meter's serial port behind a terminal
        server, or an HDLC-over-TCP modem); each connection is one byte stream, read by a
        :class:`HdlcPushReader`. A damaged frame is quarantined and the stream goes on."""
        self._ensure_worker()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = "hdlc tcp {}:{}".format(*writer.get_extra_info("peername")[:2])
            if len(self._writers) >= self.max_connections:
                log.warning("%s: refused, %d push connections already open", peer, self.max_connections)
                writer.close()
                return
            self._writers.add(writer)
            self.stats.connections += 1
            frames = HdlcPushReader(peer)
            try:
                while True:
                    data = await asyncio.wait_for(reader.read(65536), self.idle)
                    if not data:
                        return
                    for arrival in frames.feed(data):
                        self._put(arrival.apdu, arrival.source, arrival.address, arrival.refused)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                return
            finally:
                self._writers.discard(writer)
                writer.close()

        server = await asyncio.start_server(handle, host, port, backlog=1024)
        self._servers.append(server)
        return server

    async def start_serial(self, port: str, baudrate: int = 9600) -> asyncio.Task[None]:
        """Listen for HDLC UI frame pushes on a serial port (a device name or a pyserial URL, 8N1): a meter on
        an RS-485 bus or behind a radio modem. A damaged frame is quarantined and the line goes on; the task
        ends when the device goes away (logged)."""
        from dlmskit.transport.base import TransportClosed
        from dlmskit.transport.serial_port import AsyncSerialTransport

        self._ensure_worker()
        line = AsyncSerialTransport(port, baudrate)
        await line.open()
        frames = HdlcPushReader(f"serial {port}")

        async def read() -> None:
            try:
                while True:
                    try:
                        data = await line.recv(self.idle)
                    except MeterTimeout:
                        continue
                    for arrival in frames.feed(data):
                        self._put(arrival.apdu, arrival.source, arrival.address, arrival.refused)
            except TransportClosed as error:
                log.warning("serial %s: %s", port, error)
            finally:
                await line.close()

        task = asyncio.ensure_future(read())
        self._lines.append(task)
        return task

    async def close(self) -> None:
        """Stop listening, store what was received, stop the worker."""
        for server in self._servers:
            server.close()
        for transport in self._datagrams:
            transport.close()
        for writer in list(self._writers):
            writer.close()
        for task in self._lines:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lines.clear()
        if self._worker is not None:
            await self.drain()
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
            if self.receiver.blocks.pending:
                self._count(await asyncio.to_thread(self.receiver.flush))
