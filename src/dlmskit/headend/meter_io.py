"""Every call from the head-end into the client, in one module (the client's names may change; only this file
follows them).

:func:`open_meter` associates with one meter with the head-end's invocation counters for that meter;
:class:`MeterIO` is the small set of operations a job needs; :func:`classify` turns any error of a session
into an outcome in words (``ok``, ``refused``, ``unreachable``, ``timeout``, ``security``, ``error``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import decimal
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dlmskit.client import AsyncDlmsClient, MeterRefused, MeterSettings, ProfileTable
from dlmskit.cosem.units import unit_symbol
from dlmskit.errors import (
    ArgumentError,
    AssociationError,
    ConfigurationError,
    DlmsError,
    InvocationCounterError,
    LinkError,
    MeterTimeout,
    SecurityError,
)
from dlmskit.headend.push_setup import PushObject
from dlmskit.security.invocation import InvocationCounterStore
from dlmskit.security.keys import SecretBytes, parse_system_title
from dlmskit.session.protection import counter_key_id

if TYPE_CHECKING:
    from dlmskit.headend.traces import FrameCapture

__all__ = [
    "HEADEND_DEFAULTS",
    "SETTING_NAMES",
    "CommandFailed",
    "MeterIO",
    "MeterRefused",
    "MeterTimeout",
    "classify",
    "counter_keys",
    "make_settings",
    "open_meter",
]

_SECRETS = frozenset({"password", "block_cipher_key", "authentication_key"})
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(MeterSettings)) - _SECRETS
"""The settings an inventory may give a meter or template (the keys live in the key store)."""


HEADEND_DEFAULTS: Mapping[str, Any] = {"release_request": False}
"""Where the head-end's defaults differ from the library's: no RLRQ before the link's close (the HDLC DISC,
or the wrapper's TCP close, releases the association: one round trip less a session). A template or a meter
says ``release_request = true`` for a meter that wants its RLRQ."""


def make_settings(values: Mapping[str, Any]) -> MeterSettings:
    """:class:`~dlmskit.client.MeterSettings` from the inventory's merged values (keys included), over the
    head-end's defaults (:data:`HEADEND_DEFAULTS`)."""
    return MeterSettings(**{**HEADEND_DEFAULTS, **values})


class CommandFailed(DlmsError):
    """The meter took a command and answered that it did not carry it out (a token it found not valid)."""


class MeterIO:
    """One associated meter, with the operations a job uses."""

    def __init__(self, client: AsyncDlmsClient) -> None:
        self._client = client

    async def clock(self) -> _dt.datetime:
        return await self._client.clock()

    async def set_clock(self, when: _dt.datetime) -> None:
        await self._client.set_clock(when)

    async def register(self, logical_name: str) -> tuple[str, str | None]:
        """A register's value with its scaler applied (as decimal text) and its unit symbol."""
        quantity = await self._client.register(logical_name)
        value = quantity.value
        text = format(value, "f") if isinstance(value, decimal.Decimal) else str(value)
        return text, unit_symbol(int(quantity.unit))

    async def profile(self, logical_name: str, start: _dt.datetime | None) -> AsyncIterator[ProfileTable]:
        """A profile from ``start`` (inclusive) to now, in chunks."""
        async for chunk in self._client.iter_profile(logical_name, start=start, chunk_size=96):
            yield chunk

    async def push_object_list(self, logical_name: str) -> list[PushObject]:
        """A push setup's push_object_list (class 40, attribute 2)."""
        value = await self._client.read(logical_name, 2, class_id=40)
        if not isinstance(value, (list, tuple)):
            raise ConfigurationError(f"{logical_name} attribute 2 is not an array: not a push setup")
        return [PushObject.from_data(entry) for entry in value]

    async def command(self, kind: str, argument: str | None) -> str:
        """Carry out a command; returns its outcome in words."""
        if kind == "disconnect":
            return str(await self._client.remote_disconnect())
        if kind == "reconnect":
            return str(await self._client.remote_reconnect())
        if kind == "token":
            if not argument:
                raise ConfigurationError("a token command needs the token")
            result = await self._client.token_enter(argument)
            if result.name.endswith("-failure"):  # format, authentication, validation or execution
                raise CommandFailed(str(result))
            return str(result)
        raise ConfigurationError(f"unknown command {kind!r}; use disconnect, reconnect or token")


def counter_keys(settings: MeterSettings) -> list[tuple[bytes, str]]:
    """The (own system title, key id) under which the client will take invocation counters (none unciphered)."""
    key = settings.block_cipher_key
    if not settings.ciphered or not isinstance(key, SecretBytes):
        return []
    return [(parse_system_title(settings.system_title), counter_key_id(key.reveal()))]


class open_meter:  # a lower-case name: used as a function, async with open_meter(...) as io
    """``async with open_meter(settings, counters, trace=...) as io``: associate with the meter, using
    ``counters`` for the client's invocation counters (they live in the head-end's database); ``trace`` (a
    :class:`~dlmskit.headend.traces.FrameCapture`) keeps the session's frames and stores them at its end.

    A plain async context manager (not ``contextlib.asynccontextmanager``: no generator per session)."""

    __slots__ = ("_client", "_trace")

    def __init__(
        self,
        settings: MeterSettings,
        counters: InvocationCounterStore,
        *,
        trace: FrameCapture | None = None,
    ) -> None:
        self._client = AsyncDlmsClient(settings, counter_store=counters, on_frame=trace)
        self._trace = trace

    async def __aenter__(self) -> MeterIO:
        try:
            await self._client.open()  # what the client's __aenter__ does, one coroutine less
        except BaseException:
            if self._trace is not None:
                await self._trace.save()
            raise
        return MeterIO(self._client)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._client.close()  # what the client's __aexit__ does
        finally:
            if self._trace is not None:
                await self._trace.save()


def classify(error: BaseException) -> tuple[str, str]:
    """(outcome, reason in words) for an error that ended a session."""
    if isinstance(error, MeterRefused):
        return "refused", f"{error.result_name}: {error}"
    if isinstance(error, (MeterTimeout, asyncio.TimeoutError, TimeoutError)):
        return "timeout", str(error) or "no answer in time"
    if isinstance(error, (ConnectionRefusedError, ConnectionResetError)):
        return "unreachable", str(error) or type(error).__name__
    if isinstance(error, OSError):
        return "unreachable", f"{type(error).__name__}: {error}"
    if isinstance(error, (SecurityError, InvocationCounterError)):
        return "security", str(error)
    if isinstance(error, AssociationError):
        text = str(error)
        return ("security" if "cipher" in text or "key" in text else "refused"), text
    if isinstance(error, LinkError):
        # The link says it in words only: "cannot connect ..." (nothing there) or "... after N retries".
        text = str(error)
        if text.startswith("cannot connect") or "nothing listens" in text:
            return "unreachable", text
        if "retries" in text or "no answer" in text:
            return "timeout", text
        return "error", text
    if isinstance(error, (ConfigurationError, ArgumentError)):
        return "configuration", str(error)
    if isinstance(error, DlmsError):
        return "error", f"{type(error).__name__}: {error}"
    return "error", f"{type(error).__name__}: {error}"
