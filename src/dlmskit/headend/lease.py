"""Leases in Redis: one session per meter across a fleet of workers, and one active scheduler.

:class:`MeterLeases` gives a meter's lease to one worker at a time, with an expiry (renewed while the job
runs) and a **fencing token**: a number that grows with every new lease of the meter. The worker stores
through :meth:`dlmskit.headend.store.Store.fenced`, which refuses a write once a newer token has written, so
a worker that lost its lease (paused, cut off) cannot write late results over newer ones.

Tokens are taken from the Redis server's clock in microseconds, and at least one more than the meter's last
token: they keep growing across a Redis restart without persistence (the server's clock goes on).

:class:`RedisLock` is a plain lock with expiry (``SET NX PX``, renewed and released only by its holder): the
active scheduler holds it, a standby takes it over when it expires.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MeterLeases", "RedisLock"]

_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
if holder then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return redis.call('GET', KEYS[2])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = math.max(now, last + 1)
local text = string.format('%d', token)
redis.call('SET', KEYS[2], text)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return text
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class MeterLeases:
    """Per-meter leases with fencing tokens (``redis`` is a ``redis.asyncio.Redis``)."""

    def __init__(self, redis: Any, *, prefix: str = "dlmskit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _keys(self, meter: str) -> list[str]:
        return [f"{self._prefix}:lease:{meter}", f"{self._prefix}:fence:{meter}"]

    async def acquire(self, meter: str, owner: str, seconds: float) -> int | None:
        """The meter's lease for ``seconds``: its fencing token, or None while another owner holds it
        (the owner that holds it already gets its own token back, the expiry renewed)."""
        token = await self._acquire(keys=self._keys(meter), args=[owner, _ms(seconds)])
        return None if token is None else int(token)

    async def renew(self, meter: str, owner: str, seconds: float) -> bool:
        """Extend the lease; False when it is no longer ``owner``'s (expired, taken over)."""
        return bool(await self._renew(keys=self._keys(meter)[:1], args=[owner, _ms(seconds)]))

    async def release(self, meter: str, owner: str) -> None:
        """Give the lease back (only its holder can)."""
        await self._release(keys=self._keys(meter)[:1], args=[owner])

    async def remaining(self, meter: str) -> float:
        """Seconds until the meter's lease expires (0 when nobody holds it)."""
        return max(0, int(await self._redis.pttl(self._keys(meter)[0]))) / 1000


class RedisLock:
    """A lock with expiry in Redis, held by one ``owner`` at a time."""

    def __init__(self, redis: Any, name: str, owner: str) -> None:
        self._redis = redis
        self.name = name
        self.owner = owner
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def hold(self, seconds: float) -> bool:
        """Take the lock, or renew it when it is ours already; False while another owner holds it."""
        if await self._renew(keys=[self.name], args=[self.owner, _ms(seconds)]):
            return True
        return bool(await self._redis.set(self.name, self.owner, nx=True, px=_ms(seconds)))

    async def release(self) -> None:
        """Give the lock back (only its holder can)."""
        await self._release(keys=[self.name], args=[self.owner])
