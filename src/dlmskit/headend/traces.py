"""Frame traces of the head-end's sessions: captured as they pass, stored with their job, read back in words.

A plan with ``trace_frames`` (or ``dlmskit headend run|serve --trace-frames``) makes every session of its
jobs keep its frames (:class:`FrameCapture`, the client's ``on_frame`` hook): direction, time and the bytes
**as sent**, ciphered where the session ciphers; an LLS password is blotted out (``*`` bytes) before a frame
is kept. Never the keys, never the deciphered APDUs, unless the plan says ``trace_frames = "decrypted"``:
then each frame's decoding with the meter's keys (plaintext) is stored beside it. The frames of a session
are written when it ends (failed sessions too: they are the ones worth reading) and tied to the job when
the job is recorded (:meth:`Store.record_job`). ``dlmskit headend trace JOB`` shows them through the
translator (:func:`render`); ``--keep-traces DAYS`` prunes older ones (:func:`prune`).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dlmskit.client import MeterSettings
from dlmskit.errors import ConfigurationError
from dlmskit.headend.plans import TRACE_MODES
from dlmskit.headend.store import Store
from dlmskit.security.keys import SecretBytes
from dlmskit.translator.live import LiveDecoder

__all__ = ["FrameCapture", "capture", "prune", "render"]

log = logging.getLogger("dlmskit.headend.traces")


def _moment(when: _dt.datetime, digits: int) -> str:
    text = when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: len(text) - 6 + digits] + "Z"


def _secret(value: object) -> bytes | None:
    if isinstance(value, SecretBytes):
        return value.reveal()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return None


def _decoder(settings: MeterSettings | None) -> LiveDecoder:
    """A decoder with the keys of ``settings`` (none without), an LLS password blotted out."""
    if settings is None:
        return LiveDecoder()
    ek, ak = _secret(settings.block_cipher_key), _secret(settings.authentication_key)
    title = settings.system_title if isinstance(settings.system_title, bytes) else None
    keys = (ek, ak) if ek is not None and ak is not None else None
    password = _secret(settings.password)
    return LiveDecoder(keys, client_title=title, secrets=[password] if password else [])


class FrameCapture:
    """The ``on_frame`` hook of one session: keeps its frames in memory; :meth:`save` stores them."""

    def __init__(self, store: Store, meter: str, settings: MeterSettings, mode: str = "ciphered") -> None:
        if mode not in TRACE_MODES:
            raise ConfigurationError(f"trace_frames must be one of {', '.join(TRACE_MODES)}, not {mode!r}")
        self.store = store
        self.meter = meter
        self.mode = mode
        self.session = _moment(_dt.datetime.now(_dt.timezone.utc), 6)
        self.rows: list[dict[str, Any]] = []
        password = _secret(settings.password)
        self._secrets = [password] if password else []
        # Plaintext in the database only when the user asked for it.
        self._decoder = _decoder(settings) if mode == "decrypted" else None

    def __call__(self, direction: str, frame: bytes, decoded: object = None) -> None:
        data = bytes(frame)
        for secret in self._secrets:
            data = data.replace(secret, b"*" * len(secret))
        number = len(self.rows) + 1
        text = self._decoder.decode(direction, bytes(frame), number)[1] if self._decoder is not None else None
        self.rows.append(
            {
                "meter": self.meter,
                "session": self.session,
                "number": number,
                "direction": "tx" if direction == "tx" else "rx",
                "at": _moment(_dt.datetime.now(_dt.timezone.utc), 3),
                "frame": data.hex().upper(),
                "decoded": text,
            }
        )

    async def save(self) -> None:
        """Store the frames kept so far (in a worker thread); a failure is logged, never raised: a trace must
        not change how a session ends."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        try:
            await asyncio.to_thread(self.store.save_frame_traces, self.meter, rows)
        except Exception as error:
            log.warning(
                "the frame trace of meter %s (%d frames) was not stored: %s", self.meter, len(rows), error
            )


def capture(mode: str | None, store: Store, meter: str, settings: MeterSettings) -> FrameCapture | None:
    """A :class:`FrameCapture` for one session when ``mode`` (a plan's ``trace_frames``) asks for one."""
    return FrameCapture(store, meter, settings, mode) if mode else None


def render(rows: Sequence[Mapping[str, Any]], settings: MeterSettings | None = None) -> Iterator[str]:
    """The stored frames of a job as text: per session a heading, per frame its hex and its decoding (the
    translator's; the stored decoding when the trace was decrypted). Without ``settings`` ciphered APDUs stay
    ciphered; with the meter's settings (keys from the key store: ``trace JOB --decrypt``) they are
    deciphered for the screen, nothing stored."""
    session: str | None = None
    decoder = LiveDecoder()
    for row in rows:
        if row["session"] != session:
            session = str(row["session"])
            decoder = _decoder(settings)  # a decoder follows one session (segments, blocks)
            yield f"session {session} (meter {row['meter']})"
        frame = bytes.fromhex(str(row["frame"]))
        shown, text = decoder.decode(str(row["direction"]), frame, int(row["number"]))
        arrow = "TX ->" if row["direction"] == "tx" else "RX <-"
        yield f"{arrow} #{row['number']} {row['at']} {shown}"
        decoded = row.get("decoded") or text
        yield from (f"      {line}" for line in str(decoded).splitlines())


def prune(store: Store, days: float) -> int:
    """Delete the frame traces older than ``days`` (in bounded batches, :meth:`Store.prune`); returns how many
    frames went."""
    return store.prune(traces_older_than=_dt.timedelta(days=days)).frames
