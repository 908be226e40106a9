"""The work queue of the head-end's workers: a Redis Stream with one consumer group.

The scheduler appends jobs (:meth:`JobQueue.put`, ``XADD``); every worker reads new ones with
``XREADGROUP`` under its own consumer name and acknowledges a job (``XACK``) only once its outcome is
stored. A job read by a worker that died stays pending in the group; another worker takes it over with
``XAUTOCLAIM`` once it has been idle longer than a meter lease (so the dead worker's lease has expired).
Delivery is therefore at least once: readings are idempotent upserts and commands are sent once only
(:meth:`dlmskit.headend.store.Store.start_command`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "JobQueue"]


@dataclass(frozen=True)
class Job:
    """One meter's job: run ``plan`` on ``meter``; ``key`` names the round it belongs to (plan and due time)."""

    meter: str
    plan: str
    key: str = ""

    def fields(self) -> dict[str, str]:
        return {"meter": self.meter, "plan": self.plan, "key": self.key}

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> Job:
        text = {_text(k): _text(v) for k, v in fields.items()}
        return cls(text["meter"], text["plan"], text.get("key", ""))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(entry: str) -> tuple[int, int]:
    """A stream id (``milliseconds-sequence``) as a tuple that sorts as the stream does."""
    milliseconds, _, sequence = entry.partition("-")
    return int(milliseconds), int(sequence or 0)


class JobQueue:
    """Jobs on the stream ``{prefix}:jobs``, read by the consumer group ``workers`` (``redis``: asyncio client)."""

    def __init__(self, redis: Any, *, prefix: str = "dlmskit", group: str = "workers") -> None:
        self._redis = redis
        self.stream = f"{prefix}:jobs"
        self.group = group
        self._cursor = "0-0"

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
