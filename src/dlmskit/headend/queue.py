"""The work queue of the head-end's workers: a Redis Stream with one consumer group.

The scheduler appends jobs (:meth:`JobQueue.put`, ``XADD``); every worker reads new ones with
``XREADGROUP`` under its own consumer name and acknowledges a job (``XACK``) only once its outcome is
stored. A job read by a worker that died stays pending in the group; another worker takes it over with
``XAUTOCLAIM`` once it has been idle longer than a meter lease (so the dead worker's lease has expired).
Delivery is therefore at least once: readings are idempotent upserts and commands are sent once only
(:meth:`dlmskit.headend.store.Store.start_command`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "JobQueue", "RedisOutage", "redis_unavailable"]


@dataclass(frozen=True)
class Job:
    """One meter's job: run ``plan`` on ``meter``; ``key`` names the round it belongs to (plan and due time)."""

    meter: str
    plan: str
    key: str = ""
    attempt: int = 1
    """The attempt this job is: 1 when the scheduler appends it, one more with every retry."""

    def fields(self) -> dict[str, str]:
        return {"meter": self.meter, "plan": self.plan, "key": self.key, "attempt": str(self.attempt)}

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> Job:
        text = {_text(k): _text(v) for k, v in fields.items()}
        return cls(text["meter"], text["plan"], text.get("key", ""), int(text.get("attempt") or 1))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(entry: str) -> tuple[int, int]:
    """A stream id (``milliseconds-sequence``) as a tuple that sorts as the stream does."""
    milliseconds, _, sequence = entry.partition("-")
    return int(milliseconds), int(sequence or 0)


# Acknowledge a job and put its next attempt in the sorted set of retries, due in ARGV[2] ms by the server's
# clock, in one step: a worker that dies before leaves the job pending (taken over), never lost or doubled.
# Only while the entry is pending: done twice (a reply lost, the call repeated), it adds one retry.
_RETRY = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[4], ARGV[4], 1) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[4])
return now
"""

# Move the retries now due (at most ARGV[1]) back to the stream, each appended once.
_DUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local fields = cjson.decode(member)
  redis.call('XADD', KEYS[1], '*', 'meter', fields.meter, 'plan', fields.plan, 'key', fields.key,
             'attempt', fields.attempt)
  redis.call('ZREM', KEYS[2], member)
end
return #due
"""


class JobQueue:
    """Jobs on the stream ``{prefix}:jobs``, read by the consumer group ``workers`` (``redis``: asyncio client);
    retries waiting for their time in the sorted set ``{prefix}:retries`` (score: due time, ms)."""

    def __init__(self, redis: Any, *, prefix: str = "dlmskit", group: str = "workers") -> None:
        self._redis = redis
        self.stream = f"{prefix}:jobs"
        self.group = group
        self.retries = f"{prefix}:retries"
        self._cursor = "0-0"
        self._retry = redis.register_script(_RETRY)
        self._due = redis.register_script(_DUE)

    async def create(self) -> None:
        """Create the stream and its group (nothing when they exist)."""
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except Exception as error:  # redis.ResponseError; the package is an optional extra
            if "BUSYGROUP" not in str(error):
                raise

    async def put(self, job: Job) -> str:
        """Append a job; returns its stream id."""
        return _text(await self._redis.xadd(self.stream, job.fields()))

    async def take(self, consumer: str, count: int, block: float) -> list[tuple[str, Job]]:
        """Up to ``count`` new jobs for ``consumer``, waiting up to ``block`` seconds for the first."""
        answer = await self._redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=max(1, round(block * 1000))
        )
        return [(_text(i), Job.from_fields(f)) for _stream, entries in answer or [] for i, f in entries]

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[tuple[str, Job]]:
        """Up to ``count`` jobs pending with any consumer for longer than ``idle`` seconds, now ``consumer``'s.

        ``XAUTOCLAIM`` looks at a limited number of pending entries per call (ten times its ``COUNT``) and
        returns a cursor: the pending list is paged through from where the last call stopped until ``count``
        jobs are found or the whole list has been seen once, so an idle job behind many fresh ones (jobs
        under way, their idle time reset by their renewals) is still found.
        """
        found: list[tuple[str, Job]] = []
        start = cursor = self._cursor
        wrapped = False
        while len(found) < count:
            answer = await self._redis.xautoclaim(
                self.stream,
                self.group,
                consumer,
                min_idle_time=round(idle * 1000),
                start_id=cursor,
                count=count - len(found),
            )
            found += [(_text(i), Job.from_fields(f)) for i, f in answer[1] if f]
            cursor = _text(answer[0])
            if cursor == "0-0":  # the end of the pending list
                if wrapped or start == "0-0":
                    break
                wrapped = True  # once more from its start, up to where this call began
            elif wrapped and _order(cursor) >= _order(start):
                break
        self._cursor = cursor
        return found

    async def owns(self, consumer: str, entry: str) -> bool:
        """Whether the job is still pending with ``consumer``: not acknowledged, not taken over by another."""
        found = await self._redis.xpending_range(
            self.stream, self.group, entry, entry, 1, consumername=consumer
        )
        return bool(found)

    async def ack(self, entry: str) -> None:
        """The job is done (its outcome stored): remove it from the pending list."""
        await self._redis.xack(self.stream, self.group, entry)

    async def retry(self, entry: str, job: Job, delay: float) -> None:
        """Acknowledge ``entry`` and append ``job`` again (its next attempt) in ``delay`` seconds."""
        member = json.dumps({**job.fields(), "after": entry}, sort_keys=True)
        await self._retry(
            keys=[self.stream, self.retries], args=[self.group, max(0, round(delay * 1000)), member, entry]
        )

    async def move_due(self, count: int = 1000) -> int:
        """Append the retries now due to the stream (up to ``count``); returns how many. Any worker or
        scheduler may call it: each retry is moved once."""
        return int(await self._due(keys=[self.stream, self.retries], args=[count]))

    async def retries_waiting(self) -> int:
        """Retries not yet due."""
        return int(await self._redis.zcard(self.retries))

    async def depths(self) -> dict[str, int]:
        """The queue's depths: ``backlog`` (not yet read), ``pending`` (read, not acknowledged),
        ``retries_waiting`` (all retries in the sorted set) and ``retries_due`` (of those, due now)."""
        seconds, microseconds = await self._redis.time()
        now = int(seconds) * 1000 + int(microseconds) // 1000
        pending = 0
        lag = 0
        try:
            groups = await self._redis.xinfo_groups(self.stream)
        except Exception as error:  # no stream yet: nothing queued
            if redis_unavailable(error):
                raise
            groups = []
        for group in groups:
            if _text(group["name"]) == self.group:
                pending = int(group["pending"])
                lag = int(group.get("lag") or 0)
        return {
            "backlog": lag,
            "pending": pending,
            "retries_waiting": int(await self._redis.zcard(self.retries)),
            "retries_due": int(await self._redis.zcount(self.retries, "-inf", now)),
        }

    async def pending(self) -> int:
        """Jobs read but not yet acknowledged."""
        summary = await self._redis.xpending(self.stream, self.group)
        return int(summary["pending"])

    async def backlog(self) -> int:
        """Jobs appended and not yet read by any worker (the group's lag) plus those pending."""
        groups = await self._redis.xinfo_groups(self.stream)
        for group in groups:
            if _text(group["name"]) == self.group:
                lag = group.get("lag")
                return int(lag or 0) + int(group["pending"])
        return 0


def redis_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the Redis server cannot be reached just now (down, restarting, loading its data)."""
    try:
        from redis import exceptions
    except ImportError:  # pragma: no cover - the redis extra
        return isinstance(error, OSError)
    return isinstance(error, (exceptions.ConnectionError, exceptions.TimeoutError, OSError))


class RedisOutage:
    """Waits between attempts while Redis is away (exponential backoff with full jitter, up to ``cap`` s),
    saying so once when it goes and once when it is back."""

    def __init__(
        self,
        log: logging.Logger,
        who: str,
        *,
        base: float = 0.1,
        cap: float = 5.0,
        on_outage: Callable[[], object] | None = None,
    ) -> None:
        self._log = log
        self._on_outage = on_outage
        self._who = who
        self._base = base
        self._cap = cap
        self.failures = 0
        self.outages = 0

    async def wait(self, error: BaseException, stop: asyncio.Event | None = None) -> None:
        """After a failed call: log (the first time), then wait (less when ``stop`` is set meanwhile)."""
        if self.failures == 0:
            self.outages += 1
            if self._on_outage is not None:
                self._on_outage()
            self._log.warning("%s: Redis unavailable (%s); trying again with backoff", self._who, error)
        self.failures += 1
        delay = min(self._cap, self._base * 2 ** min(self.failures, 16)) * (secrets.randbelow(1000) / 1000)
        if stop is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def over(self) -> None:
        """A call succeeded: the outage (if any) is over."""
        if self.failures:
            self._log.warning("%s: Redis is back after %d failed attempt(s)", self._who, self.failures)
            self.failures = 0
