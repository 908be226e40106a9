"""The cost of trimming the job stream: ``python -m bench.queue_trim --redis URL [--entries N]``.

Appends N jobs to the stream of a throw-away prefix (``bench-trim``) on the given Redis (a server of its own:
the bench empties that prefix's keys only), reads and acknowledges them all as one worker would, then runs
:meth:`dlmskit.headend.queue.JobQueue.trim` once and reports the entries removed, the time the trim took and
Redis's ``used_memory`` before and after (bytes freed per entry). Note the load average beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from dlmskit.headend.queue import Job, JobQueue


async def measure(url: str, entries: int) -> str:
    import redis.asyncio as aioredis

    redis = aioredis.from_url(url)
    try:
        queue = JobQueue(redis, prefix="bench-trim")
        await redis.delete(queue.stream, queue.retries)
        await queue.create()
        for start in range(0, entries, 5000):
            async with redis.pipeline(transaction=False) as pipe:
                for index in range(start, min(entries, start + 5000)):
                    job = Job(f"meter{index:08d}", "registers", "registers@2026-01-01T00:15:00Z")
                    pipe.xadd(queue.stream, job.fields())
                await pipe.execute()
        taken = 0
        while taken < entries:
            ids = [entry for entry, _job in await queue.take("bench", 5000, 0.1)]
            if ids:
                await redis.xack(queue.stream, queue.group, *ids)
            taken += len(ids)
        before = int((await redis.info("memory"))["used_memory"])
        started = time.perf_counter()
        bound, removed = await queue.trim()
        took = time.perf_counter() - started
        after = int((await redis.info("memory"))["used_memory"])
        await redis.delete(queue.stream, queue.retries)
        freed = (before - after) / max(removed, 1)
        return (
            f"trim below {bound}: {removed} of {entries} acknowledged entries removed in {took * 1000:.0f} ms; "
            f"used_memory {before / 2**20:.1f} -> {after / 2**20:.1f} MiB ({freed:.1f} B/entry); "
            f"load average {os.getloadavg()[0]:.2f}"
        )
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--redis", required=True, help="a Redis of the bench's own, e.g. redis://127.0.0.1:6391/0"
    )
    parser.add_argument("--entries", type=int, default=200_000)
    options = parser.parse_args(argv)
    print(asyncio.run(measure(options.redis, options.entries)))


if __name__ == "__main__":
    main()
