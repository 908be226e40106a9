"""The Redis client of ``dlmskit headend worker`` and ``scheduler``: more commands at once than connections.

redis-py's default asyncio pool raises ``MaxConnectionsError`` beyond 100 commands at once; a worker with
``--max-sessions 500`` reached it and its main loop ended (found by ``python -m bench.workers``). The CLI's
client waits for a free connection instead, its connections bounded.
"""

from __future__ import annotations

import asyncio

from dlmskit.cli.commands.headend import _redis_client


async def test_more_commands_at_once_than_connections_wait_for_one(redis_url: str) -> None:
    client = _redis_client(redis_url, connections=3)
    try:
        answers = await asyncio.gather(*(client.incr("dlmskit:test:count") for _ in range(250)))
        assert sorted(answers) == list(range(1, 251))
        assert len(await client.client_list()) <= 3  # its own connections (the test's only client)
    finally:
        await client.aclose()
