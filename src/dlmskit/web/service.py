"""The web console's service layer: one meter session, its live trace and profile reads in the background.

Routes stay thin over :class:`MeterService`. The blocking client runs on worker threads, one operation at a
time (a lock); settings, keys and passwords stay in this process's memory and are never rendered back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dlmskit.client.client import DlmsClient
from dlmskit.client.results import ProfileColumn
from dlmskit.client.settings import MeterSettings
from dlmskit.codec.obis import Obis
from dlmskit.cosem import ObjectListEntry
from dlmskit.errors import ConfigurationError, DlmsError, ProtocolError
from dlmskit.security.keys import SecretBytes
from dlmskit.translator.live import LiveDecoder, redact
from dlmskit.web.compat import MeterRefused, MeterTimeout, connect, profile_last_selection
from dlmskit.web.values import cell

__all__ = ["Frame", "MeterService", "ProfileJob", "TraceLog", "redact"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of the session: its number, direction (tx/rx), hex (secrets blotted out) and decoding."""

    seq: int
    direction: str
    hex: str
    decoded: str
    time: str


class TraceLog:
    """Every frame of the meter session, decoded (and deciphered when the keys are known) as it passes."""

    def __init__(self, settings: MeterSettings | None = None, limit: int = 5000) -> None:
        self._frames: deque[Frame] = deque(maxlen=limit)
        self._seq = 0
        self._changed = threading.Condition()
        self._decoder = LiveDecoder()
        if settings is not None:
            self.use(settings)

    def use(self, settings: MeterSettings) -> None:
        """Decode the frames of a session with these settings' keys (never shown: only what they decipher)."""
        keys = None
        ek, ak = settings.block_cipher_key, settings.authentication_key
        if isinstance(ek, SecretBytes) and isinstance(ak, SecretBytes):
            keys = (ek.reveal(), ak.reveal())
        title = settings.system_title if isinstance(settings.system_title, bytes) else None
        password = settings.password
        hidden = [password.reveal()] if isinstance(password, SecretBytes) else []
        self._decoder = LiveDecoder(keys, client_title=title, secrets=hidden)

    def __call__(self, direction: str, frame: bytes, decoded: object = None) -> None:
        with self._changed:
            self._seq += 1
            seq = self._seq
        shown, text = self._decoder.decode(direction, frame, seq)
        entry = Frame(
            seq,
            "tx" if direction == "tx" else "rx",
            shown,
            text,
            _dt.datetime.now().strftime("%H:%M:%S.%f")[:-3],
        )
        with self._changed:
            self._frames.append(entry)
            self._changed.notify_all()

    def since(self, seq: int) -> list[Frame]:
        """The frames after number ``seq``."""
        with self._changed:
            return [f for f in self._frames if f.seq > seq]

    def wait(self, seq: int, timeout: float) -> list[Frame]:
        """The frames after ``seq``, waiting up to ``timeout`` seconds for one to arrive."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > seq, timeout=timeout)
            return [f for f in self._frames if f.seq > seq]

    def clear(self) -> None:
        with self._changed:
            self._frames.clear()


@dataclass
class ProfileJob:
    """A profile read running in the background: progress, then columns and rows (or the error)."""

    id: str
    logical_name: Obis
    state: str = "running"
    rows_read: int = 0
    rows_expected: int | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    error: str = ""

    def progress(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "rows": self.rows_read,
            "expected": self.rows_expected,
            "error": self.error,
        }


class MeterService:
    """One meter session for the console: connect, run operations one at a time, trace, profile jobs."""

    def __init__(self, default: MeterSettings | None = None) -> None:
        self.default = default if default is not None else MeterSettings()
        self.settings: MeterSettings | None = None
        self.trace = TraceLog()
        self._client: DlmsClient | None = None
        self._lock = threading.Lock()
        self._objects: list[ObjectListEntry] | None = None
        self.jobs: dict[str, ProfileJob] = {}

    @property
    def connected(self) -> bool:
        return self._client is not None

    def where(self) -> str:
        return self.settings.where() if self.settings is not None else ""

    def connect(self, settings: MeterSettings) -> None:
        """Associate with a meter (closing any earlier session)."""
        with self._lock:
            self._close_locked()
            self.trace.use(settings)
            self._client = connect(settings, on_frame=self.trace)
            self.settings = settings

    def close(self) -> None:
        """Release the association."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        client, self._client = self._client, None
        self._objects = None
        if client is not None:
            with contextlib.suppress(DlmsError):
                client.close()

    def run(self, operation: Callable[[DlmsClient], _T]) -> _T:
        """Run one operation on the associated client; a lost link ends the session (reconnect to go on)."""
        with self._lock:
            client = self._client
            if client is None:
                raise ConfigurationError("not connected to a meter: connect first")
            try:
                return operation(client)
            except MeterRefused:
                raise
            except (MeterTimeout, ProtocolError, OSError):
                self._close_locked()
                raise

    def objects(self) -> list[ObjectListEntry]:
        """The association view (read once per session)."""
        if self._objects is None:
            self._objects = self.run(lambda client: client.objects())
        return self._objects

    def entry(self, logical_name: Obis) -> ObjectListEntry | None:
        return next((e for e in self.objects() if e.logical_name == logical_name), None)

    # -- profiles ----------------------------------------------------------------------------------------

    def start_profile(
        self,
        logical_name: Obis,
        *,
        last: int | None = None,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
    ) -> ProfileJob:
        """Start reading a profile on a worker thread; follow it with :attr:`jobs`."""
        if not self.connected:
            raise ConfigurationError("not connected to a meter: connect first")
        job = ProfileJob(secrets.token_urlsafe(12), logical_name)
        self.jobs[job.id] = job
        while len(self.jobs) > 20:
            self.jobs.pop(next(iter(self.jobs)))
        threading.Thread(
            target=self._read_profile, args=(job, last, start, end), name="dlmskit-web-profile", daemon=True
        ).start()
        return job

    def _read_profile(
        self, job: ProfileJob, last: int | None, start: _dt.datetime | None, end: _dt.datetime | None
    ) -> None:
        def moved(rows: int, expected: int | None) -> None:
            job.rows_read, job.rows_expected = rows, expected

        def read(client: DlmsClient) -> None:
            selection: dict[str, Any] = {}
            if start is not None or end is not None:
                selection = {"start": start, "end": end}
            elif last is not None:
                selection = profile_last_selection(client, job.logical_name, last)
                job.rows_expected = selection["to_entry"] - selection["from_entry"] + 1
            for chunk in client.iter_profile(job.logical_name, progress=moved, **selection):
                if not job.columns:
                    job.columns = [_column_name(c) for c in chunk.columns]
                job.rows.extend([cell(v) for v in row] for row in chunk.rows)
                job.rows_read = len(job.rows)

        try:
            self.run(read)
            job.state = "done"
        except DlmsError as error:
            job.error, job.state = str(error), "failed"
        except Exception as error:
            job.error, job.state = f"{type(error).__name__}: {error}", "failed"


def _column_name(column: ProfileColumn) -> str:
    return column.name


def replace_settings(settings: MeterSettings, **changes: Any) -> MeterSettings:
    return dataclasses.replace(settings, **changes)
