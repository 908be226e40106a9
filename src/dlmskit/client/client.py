"""The high-level client: :class:`DlmsClient` (blocking) and :class:`AsyncDlmsClient` (asyncio).

Both have the same methods and run the same logic (:class:`~dlmskit.client.core.ClientCore`); they differ
only in how they wait for the meter. :func:`connect` connects and associates (``open()``) and returns the
client, a context manager that releases the association and hangs up (``close()``) on exit::

    with connect(client_address=1, authentication="gmac", block_cipher_key=EK, authentication_key=AK) as meter:
        print(meter.relay_state())
        meter.remote_disconnect()                      # opens the supply relay

    async with connect_async("site-a") as meter:       # a profile from ~/.config/dlmskit/meters.toml
        print(await meter.register("1.0.1.8.0.255"))  # 1234.56 Wh

Values go in as plain Python (ints, text, ``datetime``, bytes) and are converted to the A-XDR type the
interface-class model names; a value of the wrong type is refused before anything is sent. The meter's
refusals come back as :class:`~dlmskit.client.errors.MeterRefused` exceptions in words.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
import warnings
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.client.connection import ApduHook, AsyncConnection, Connection, ProgressHook
from dlmskit.client.core import (
    CLOCK,
    DISCONNECT_CONTROL,
    IMAGE_TRANSFER,
    SECURITY_SETUP,
    TOKEN_GATEWAY,
    AttributeReference,
    Chunk,
    ChunkSteps,
    ClientCore,
    ImageProgress,
    ObisLike,
    Pause,
    ProfileProgress,
    Request,
    Steps,
    expected,
)
from dlmskit.client.profiles import resolve_settings
from dlmskit.client.results import ClockReading, ImageTransferReport, ProfileTable, RelayState, TokenResult
from dlmskit.client.settings import MeterOptions, MeterSettings
from dlmskit.codec import axdr
from dlmskit.cosem import ObjectListEntry, Quantity
from dlmskit.deviations import Deviation, DeviationHook
from dlmskit.errors import DlmsError, ProtocolError
from dlmskit.link.events import TraceHook
from dlmskit.security.invocation import InvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import SessionState
from dlmskit.session.events import Negotiated, SessionEvent
from dlmskit.transport import (
    AsyncSerialTransport,
    AsyncTcpTransport,
    AsyncTransport,
    AsyncUdpTransport,
    SerialTransport,
    TcpTransport,
    Transport,
    UdpTransport,
    async_iec62056_21_mode_e_sign_on,
    iec62056_21_mode_e_sign_on,
)

if TYPE_CHECKING:
    from os import PathLike

    from typing_extensions import Unpack

__all__ = ["AsyncConnecting", "AsyncDlmsClient", "DlmsClient", "connect", "connect_async"]

_T = TypeVar("_T")
KeyInput = SecretBytes | str | bytes


def _deprecated(old: str, new: str, why: str) -> None:
    warnings.warn(f"{old}() is deprecated, use {new}(): {why}", DeprecationWarning, stacklevel=3)


_DISCONNECT_WHY = "it opens the supply relay (Disconnect control); close() hangs up the connection"
_RECONNECT_WHY = "it closes the supply relay (Disconnect control); open() connects to the meter"


class _ClientBase:
    """What both clients share: settings, hooks and the core."""

    def __init__(
        self,
        settings: MeterSettings,
        *,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        counter_store: InvocationCounterStore | None = None,
    ) -> None:
        """``counter_store`` keeps the client's invocation counters instead of the file the settings name
        (a head-end keeps them in its database); it must never hand out a counter twice."""
        self._core = ClientCore(settings, on_apdu=on_apdu, on_frame=on_frame, counter_store=counter_store)

    @property
    def settings(self) -> MeterSettings:
        """The settings this client uses."""
        return self._core.settings

    @property
    def deviations(self) -> list[Deviation]:
        """What the meter sent during the last call that the standard does not allow but this client
        accepted (docs/tolerance.md); empty when the meter kept to the standard, always so with
        ``strict=True``, where each deviation is an error."""
        return self._core.deviations

    def on_deviation(self, hook: DeviationHook | None) -> None:
        """Call ``hook`` with every deviation as it is accepted (a trace, a log of the meter's habits)."""
        self._core._on_deviation = hook

    @property
    def negotiated(self) -> Negotiated | None:
        """What the current association agreed on (conformance, PDU sizes), or None when not associated."""
        return self._core.negotiated

    def __repr__(self) -> str:
        state = "associated" if self._core.negotiated is not None else "not associated"
        return f"<{type(self).__name__} {self.settings.where()}, {state}>"


class DlmsClient(_ClientBase):
    """A blocking client. See the module documentation; every method blocks until the meter answered."""

    def __init__(
        self,
        settings: MeterSettings,
        *,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        counter_store: InvocationCounterStore | None = None,
    ) -> None:
        super().__init__(settings, on_apdu=on_apdu, on_frame=on_frame, counter_store=counter_store)
        self._connection: Connection | None = None

    # -- connection -------------------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        meter: MeterSettings | str | None = None,
        /,
        *,
        profiles: str | PathLike[str] | None = None,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        **settings: Unpack[MeterOptions],
    ) -> DlmsClient:
        """The same as :func:`connect`."""
        client = cls(resolve_settings(meter, profiles, settings), on_apdu=on_apdu, on_frame=on_frame)
        return client.open()

    @property
    def is_open(self) -> bool:
        """Whether the client is connected and associated."""
        return self._connection is not None

    def open(self) -> DlmsClient:
        """Connect and associate (first reading the meter's frame counter when the settings ask for it).

        Nothing happens when the client is open and associated already; on a client whose association was
        lost (the link broke, the meter closed it), the old connection is closed first: ``open()`` is also
        how to reconnect.
        """
        if self._connection is not None:
            if self._connection.session.state == SessionState.ASSOCIATED:
                return self
            self.close()
        core = self._core
        core.begin()
        if core.settings.read_frame_counter_first and core.settings.ciphered:
            self._associate(public=True)
            try:
                counter = self._run(core.frame_counter())
            finally:
                self.close()
            core.start_above(counter)
        self._associate(public=False)
        return self

    def _associate(self, *, public: bool) -> None:
        link, session = self._core.new_association(public=public)
        connection = Connection(
            self._transport(),
            link,
            session,
            timeout=self.settings.timeout,
            release=self.settings.release_request,
            on_apdu=self._core.trace_apdu,
        )
        try:
            negotiated = connection.open()
        except DlmsError as error:
            if self._core.fall_back_to_short_names(session):
                try:
                    self._associate(public=public)
                except DlmsError as again:
                    raise self._core.short_name_retry_failed(again) from again
                return
            explained = self._core.explain(error)
            if explained is error:
                raise
            raise explained from error
        self._core.associated(negotiated)
        self._connection = connection

    def _transport(self) -> Transport:
        s = self.settings
        if s.udp:
            return UdpTransport(s.host, s.port)
        if s.device is None:
            return TcpTransport(s.host, s.port, connect_timeout=s.connect_timeout)
        serial = SerialTransport(s.device, s.baudrate)
        if s.mode_e:
            try:
                iec62056_21_mode_e_sign_on(serial)
            except BaseException:
                serial.close()
                raise
        return serial

    def close(self) -> None:
        """Release the association and hang up (quietly when the meter is gone already)."""
        self._core.begin()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        self._core.released()

    def __enter__(self) -> DlmsClient:
        return self.open()  # connect() opened it already: then this does nothing

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _execute(self, step: Request | Pause) -> SessionEvent | None:
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            return None
        if self._connection is None:
            raise ProtocolError("not connected: use the client in a with block or call open() first")
        return self._connection.request(step.apdu, context=step.context, progress=step.progress)

    def _run(self, steps: Steps[_T]) -> _T:
        self._core.begin()
        answer: SessionEvent | None = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            answer = self._execute(step)

    # -- reading, writing, calling ------------------------------------------------------------------------

    @overload
    def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> axdr.Data: ...

    @overload
    def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        expect: type[_T],
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> _T: ...

    def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        expect: type[Any] | None = None,
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> Any:
        """Read one attribute (by index or name; the value, attribute 2, by default).

        The class id comes from ``class_id``, else from the usual class of the logical name, else from the
        association's object list (read once). ``access`` selects part of the value; ``progress`` is called
        for every block of a long answer. Raises :class:`~dlmskit.client.errors.MeterRefused` (or one of
        its subclasses) when the meter refuses. ``expect=int`` (``bytes``, ``str``, ``list``...) types the
        result for mypy and checks it: another type from the meter is a :class:`~dlmskit.errors.DecodeError`.
        """
        value = self._run(
            self._core.read(logical_name, attribute, class_id=class_id, access=access, progress=progress)
        )
        return expected(value, expect, logical_name, attribute)

    def read_many(self, items: Sequence[AttributeReference]) -> list[axdr.Data]:
        """Read several attributes, ``[(logical name, attribute), ...]`` (a third element gives the class
        id): in one GET with-list when the meter agreed to multiple-references, else one by one."""
        return self._run(self._core.read_many(items))

    def write(
        self, logical_name: ObisLike, attribute: int | str, value: Any, *, class_id: int | None = None
    ) -> None:
        """Write one attribute; ``value`` is converted to the type the interface-class model names
        (an :class:`~dlmskit.errors.EncodeError` naming the expected type when it does not fit)."""
        self._run(self._core.write(logical_name, attribute, value, class_id=class_id))

    def call(
        self, logical_name: ObisLike, method: int | str, value: Any = None, *, class_id: int | None = None
    ) -> axdr.Data:
        """Invoke a method (by index or name); ``value`` None sends the method's default parameter
        (``integer(0)`` for most). Returns the data the meter sends back, or None."""
        return self._run(self._core.call(logical_name, method, value, class_id=class_id))

    # -- helpers -----------------------------------------------------------------------------------------

    def relay_state(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """The supply relay: output_state, control_state and control_mode, with names."""
        return self._run(self._core.relay_state(logical_name))

    def remote_disconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Open the supply relay: the customer loses supply (Disconnect control remote_disconnect with
        integer(0)); the relay state after. To hang up the connection, use :meth:`close`."""
        return self._run(self._core.switch("remote_disconnect", logical_name))

    def remote_reconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Close the supply relay, or make it ready for the customer's button, as the control mode says
        (remote_reconnect with integer(0)); the relay state after."""
        return self._run(self._core.switch("remote_reconnect", logical_name))

    def disconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Deprecated: :meth:`remote_disconnect` (this opens the supply relay; :meth:`close` hangs up)."""
        _deprecated("disconnect", "remote_disconnect", _DISCONNECT_WHY)
        return self.remote_disconnect(logical_name)

    def reconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Deprecated: :meth:`remote_reconnect` (this closes the supply relay)."""
        _deprecated("reconnect", "remote_reconnect", _RECONNECT_WHY)
        return self.remote_reconnect(logical_name)

    def token_enter(
        self,
        token: str | bytes,
        format: Literal["ascii", "bcd"] = "ascii",
        logical_name: ObisLike = TOKEN_GATEWAY,
    ) -> TokenResult:
        """Enter an STS token (20 digits, spaces allowed) into the Token gateway, as 20 ASCII digits
        (``format="ascii"``, what most meters take) or 10 packed BCD bytes (``"bcd"``); then read
        token_status and return what happened in words. A visible-string is refused before sending."""
        return self._run(self._core.token_enter(token, format, logical_name))

    def token_status(self, logical_name: ObisLike = TOKEN_GATEWAY) -> TokenResult:
        """The Token gateway's token_status (how far the last token got) in words."""
        return self._run(self._core.token_status(logical_name))

    def clock(self, logical_name: ObisLike = CLOCK) -> _dt.datetime:
        """The meter's time (timezone-aware when the meter states its deviation from UTC)."""
        return self._run(self._core.clock(logical_name))

    def clock_reading(self, logical_name: ObisLike = CLOCK) -> ClockReading:
        """The meter's time with its deviation from UTC, daylight saving time and status bits:
        ``2026-07-01 12:00:00+02:00 (UTC+02:00, daylight saving time)``."""
        return self._run(self._core.clock_reading(logical_name))

    def set_clock(
        self, when: _dt.datetime, logical_name: ObisLike = CLOCK, *, assume: _dt.tzinfo | None = None
    ) -> None:
        """Set the meter's time; the deviation from UTC is taken from ``when``'s timezone. A naive
        ``when`` is refused (:class:`~dlmskit.errors.ArgumentError`) unless ``assume`` names its zone:
        ``set_clock(datetime.now(timezone.utc))`` or ``set_clock(naive, assume=ZoneInfo("Europe/Berlin"))``."""
        self._run(self._core.set_clock(when, logical_name, assume=assume))

    def shift_clock(self, seconds: int, logical_name: ObisLike = CLOCK) -> None:
        """Move the meter's time by -900..900 seconds (Clock shift_time)."""
        self._run(self._core.shift_clock(seconds, logical_name))

    def register(self, logical_name: ObisLike, *, class_id: int | None = None) -> Quantity:
        """A register's value with scaler and unit applied (``str()`` gives ``1234.56 Wh``)."""
        return self._run(self._core.register(logical_name, class_id=class_id))

    def profile(
        self,
        logical_name: ObisLike,
        *,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
        columns: Sequence[int | str] | None = None,
        last: int | None = None,
        since: _dt.datetime | None = None,
        assume: _dt.tzinfo | None = None,
    ) -> ProfileTable:
        """Read a profile (load profile, event log, billing profile) into a table.

        Select the entries by time (``start``/``end``, or ``since`` alone: selective access by range on
        the clock column), by number (``from_entry``/``to_entry``, 1 is the oldest), or the ``last`` N
        entries; nothing reads the whole buffer. Times must be timezone-aware (the meter's zone need not
        be this computer's), or ``assume`` names the zone of naive ones.
        ``columns`` picks columns by index (0-based), name or logical name. Clock columns come back as
        ``datetime`` values.
        """
        return self._run(
            self._core.profile(
                logical_name,
                start=start,
                end=end,
                from_entry=from_entry,
                to_entry=to_entry,
                columns=columns,
                last=last,
                since=since,
                assume=assume,
            )
        )

    def iter_profile(
        self,
        logical_name: ObisLike,
        *,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
        columns: Sequence[int | str] | None = None,
        chunk_size: int = 1000,
        progress: ProfileProgress | None = None,
        last: int | None = None,
        since: _dt.datetime | None = None,
        assume: _dt.tzinfo | None = None,
    ) -> Iterator[ProfileTable]:
        """Read a big profile in chunks of ``chunk_size`` entries (or capture periods, by time), handing
        each chunk out as soon as it arrived; ``progress(rows so far, rows expected or None)``."""
        steps = self._core.profile_chunks(
            logical_name,
            start=start,
            end=end,
            from_entry=from_entry,
            to_entry=to_entry,
            columns=columns,
            chunk_size=chunk_size,
            progress=progress,
            last=last,
            since=since,
            assume=assume,
        )
        yield from self._chunks(steps)

    def _chunks(self, steps: ChunkSteps) -> Iterator[ProfileTable]:
        answer: SessionEvent | None = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration:
                return
            if isinstance(step, Chunk):
                answer = None
                yield step.table
            else:
                answer = self._execute(step)

    def objects(self) -> list[ObjectListEntry]:
        """The association's object list: every object it offers, with its access rights."""
        return self._run(self._core.objects())

    def frame_counter(self, logical_name: ObisLike | None = None) -> int:
        """The meter's frame (invocation) counter object (``settings.frame_counter_obis`` by default)."""
        return self._run(self._core.frame_counter(logical_name))

    def image_transfer(
        self,
        image: bytes,
        identifier: bytes | str,
        logical_name: ObisLike = IMAGE_TRANSFER,
        *,
        progress: ImageProgress | None = None,
    ) -> ImageTransferReport:
        """Transfer a firmware image (Image transfer, class 18): initiate, send every block, send again
        the blocks the meter missed, verify, check the image to activate, activate.
        ``progress(blocks sent, blocks)``."""
        return self._run(self._core.image_transfer(image, identifier, logical_name, progress))

    def change_keys(
        self,
        master_key: KeyInput,
        *,
        block_cipher_key: KeyInput | None = None,
        authentication_key: KeyInput | None = None,
        broadcast_key: KeyInput | None = None,
        new_master_key: KeyInput | None = None,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> MeterSettings:
        """Replace the meter's global keys (Security setup global_key_transfer, each new key wrapped with
        the master key, RFC 3394). Returns these settings with the new keys, for the next association."""
        return self._run(
            self._core.change_keys(
                master_key,
                block_cipher_key=block_cipher_key,
                authentication_key=authentication_key,
                broadcast_key=broadcast_key,
                new_master_key=new_master_key,
                logical_name=logical_name,
            )
        )

    def key_agreement(
        self,
        *,
        block_cipher_key: bool = True,
        authentication_key: bool = False,
        broadcast_key: bool = False,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> MeterSettings:
        """Agree new global keys with the meter (suites 1/2: Security setup key_agreement, Ephemeral Unified
        Model, both ephemeral keys signed). Returns these settings with the new keys, for the next association
        (the meter uses them from its next association too); the broadcast key is agreed but not kept."""
        return self._run(
            self._core.key_agreement(
                block_cipher_key=block_cipher_key,
                authentication_key=authentication_key,
                broadcast_key=broadcast_key,
                logical_name=logical_name,
            )
        )


class AsyncDlmsClient(_ClientBase):
    """The asyncio client: the methods of :class:`DlmsClient`, as coroutines."""

    def __init__(
        self,
        settings: MeterSettings,
        *,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        counter_store: InvocationCounterStore | None = None,
    ) -> None:
        super().__init__(settings, on_apdu=on_apdu, on_frame=on_frame, counter_store=counter_store)
        self._connection: AsyncConnection | None = None

    # -- connection -------------------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        meter: MeterSettings | str | None = None,
        /,
        *,
        profiles: str | PathLike[str] | None = None,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        **settings: Unpack[MeterOptions],
    ) -> AsyncConnecting:
        """The same as :func:`connect_async`."""
        return AsyncConnecting(
            cls(resolve_settings(meter, profiles, settings), on_apdu=on_apdu, on_frame=on_frame)
        )

    @property
    def is_open(self) -> bool:
        """Whether the client is connected and associated."""
        return self._connection is not None

    async def open(self) -> AsyncDlmsClient:
        """Connect and associate (see :meth:`DlmsClient.open`)."""
        if self._connection is not None:
            if self._connection.session.state == SessionState.ASSOCIATED:
                return self
            await self.close()
        core = self._core
        core.begin()
        if core.settings.read_frame_counter_first and core.settings.ciphered:
            await self._associate(public=True)
            try:
                counter = await self._run(core.frame_counter())
            finally:
                await self.close()
            core.start_above(counter)
        await self._associate(public=False)
        return self

    async def _associate(self, *, public: bool) -> None:
        link, session = self._core.new_association(public=public)
        transport = await self._transport()
        connection = AsyncConnection(
            transport,
            link,
            session,
            timeout=self.settings.timeout,
            release=self.settings.release_request,
            on_apdu=self._core.trace_apdu,
        )
        try:
            negotiated = await connection.open()
        except DlmsError as error:
            if self._core.fall_back_to_short_names(session):
                try:
                    await self._associate(public=public)
                except DlmsError as again:
                    raise self._core.short_name_retry_failed(again) from again
                return
            explained = self._core.explain(error)
            if explained is error:
                raise
            raise explained from error
        self._core.associated(negotiated)
        self._connection = connection

    async def _transport(self) -> AsyncTransport:
        s = self.settings
        if s.udp:
            return AsyncUdpTransport(s.host, s.port)
        if s.device is None:
            return AsyncTcpTransport(s.host, s.port, connect_timeout=s.connect_timeout)
        serial = AsyncSerialTransport(s.device, s.baudrate)
        if s.mode_e:
            try:
                await async_iec62056_21_mode_e_sign_on(serial)
            except BaseException:
                await serial.close()
                raise
        return serial

    async def close(self) -> None:
        """Release the association and hang up."""
        self._core.begin()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        self._core.released()

    async def __aenter__(self) -> AsyncDlmsClient:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _execute(self, step: Request | Pause) -> SessionEvent | None:
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            return None
        if self._connection is None:
            raise ProtocolError("not connected: use the client in an async with block or await open() first")
        return await self._connection.request(step.apdu, context=step.context, progress=step.progress)

    async def _run(self, steps: Steps[_T]) -> _T:
        self._core.begin()
        answer: SessionEvent | None = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            answer = await self._execute(step)

    # -- reading, writing, calling ------------------------------------------------------------------------

    @overload
    async def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> axdr.Data: ...

    @overload
    async def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        expect: type[_T],
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> _T: ...

    async def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = 2,
        *,
        expect: type[Any] | None = None,
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> Any:
        """See :meth:`DlmsClient.read`."""
        value = await self._run(
            self._core.read(logical_name, attribute, class_id=class_id, access=access, progress=progress)
        )
        return expected(value, expect, logical_name, attribute)

    async def read_many(self, items: Sequence[AttributeReference]) -> list[axdr.Data]:
        """See :meth:`DlmsClient.read_many`."""
        return await self._run(self._core.read_many(items))

    async def write(
        self, logical_name: ObisLike, attribute: int | str, value: Any, *, class_id: int | None = None
    ) -> None:
        """See :meth:`DlmsClient.write`."""
        await self._run(self._core.write(logical_name, attribute, value, class_id=class_id))

    async def call(
        self, logical_name: ObisLike, method: int | str, value: Any = None, *, class_id: int | None = None
    ) -> axdr.Data:
        """See :meth:`DlmsClient.call`."""
        return await self._run(self._core.call(logical_name, method, value, class_id=class_id))

    # -- helpers -----------------------------------------------------------------------------------------

    async def relay_state(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """See :meth:`DlmsClient.relay_state`."""
        return await self._run(self._core.relay_state(logical_name))

    async def remote_disconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """See :meth:`DlmsClient.remote_disconnect`."""
        return await self._run(self._core.switch("remote_disconnect", logical_name))

    async def remote_reconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """See :meth:`DlmsClient.remote_reconnect`."""
        return await self._run(self._core.switch("remote_reconnect", logical_name))

    async def disconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Deprecated: :meth:`remote_disconnect` (this opens the supply relay; :meth:`close` hangs up)."""
        _deprecated("disconnect", "remote_disconnect", _DISCONNECT_WHY)
        return await self.remote_disconnect(logical_name)

    async def reconnect(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> RelayState:
        """Deprecated: :meth:`remote_reconnect` (this closes the supply relay)."""
        _deprecated("reconnect", "remote_reconnect", _RECONNECT_WHY)
        return await self.remote_reconnect(logical_name)

    async def token_enter(
        self,
        token: str | bytes,
        format: Literal["ascii", "bcd"] = "ascii",
        logical_name: ObisLike = TOKEN_GATEWAY,
    ) -> TokenResult:
        """See :meth:`DlmsClient.token_enter`."""
        return await self._run(self._core.token_enter(token, format, logical_name))

    async def token_status(self, logical_name: ObisLike = TOKEN_GATEWAY) -> TokenResult:
        """See :meth:`DlmsClient.token_status`."""
        return await self._run(self._core.token_status(logical_name))

    async def clock(self, logical_name: ObisLike = CLOCK) -> _dt.datetime:
        """See :meth:`DlmsClient.clock`."""
        return await self._run(self._core.clock(logical_name))

    async def clock_reading(self, logical_name: ObisLike = CLOCK) -> ClockReading:
        """See :meth:`DlmsClient.clock_reading`."""
        return await self._run(self._core.clock_reading(logical_name))

    async def set_clock(
        self, when: _dt.datetime, logical_name: ObisLike = CLOCK, *, assume: _dt.tzinfo | None = None
    ) -> None:
        """See :meth:`DlmsClient.set_clock`."""
        await self._run(self._core.set_clock(when, logical_name, assume=assume))

    async def shift_clock(self, seconds: int, logical_name: ObisLike = CLOCK) -> None:
        """See :meth:`DlmsClient.shift_clock`."""
        await self._run(self._core.shift_clock(seconds, logical_name))

    async def register(self, logical_name: ObisLike, *, class_id: int | None = None) -> Quantity:
        """See :meth:`DlmsClient.register`."""
        return await self._run(self._core.register(logical_name, class_id=class_id))

    async def profile(
        self,
        logical_name: ObisLike,
        *,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
        columns: Sequence[int | str] | None = None,
        last: int | None = None,
        since: _dt.datetime | None = None,
        assume: _dt.tzinfo | None = None,
    ) -> ProfileTable:
        """See :meth:`DlmsClient.profile`."""
        return await self._run(
            self._core.profile(
                logical_name,
                start=start,
                end=end,
                from_entry=from_entry,
                to_entry=to_entry,
                columns=columns,
                last=last,
                since=since,
                assume=assume,
            )
        )

    async def iter_profile(
        self,
        logical_name: ObisLike,
        *,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
        columns: Sequence[int | str] | None = None,
        chunk_size: int = 1000,
        progress: ProfileProgress | None = None,
        last: int | None = None,
        since: _dt.datetime | None = None,
        assume: _dt.tzinfo | None = None,
    ) -> AsyncIterator[ProfileTable]:
        """See :meth:`DlmsClient.iter_profile` (``async for chunk in meter.iter_profile(...)``)."""
        steps = self._core.profile_chunks(
            logical_name,
            start=start,
            end=end,
            from_entry=from_entry,
            to_entry=to_entry,
            columns=columns,
            chunk_size=chunk_size,
            progress=progress,
            last=last,
            since=since,
            assume=assume,
        )
        answer: SessionEvent | None = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration:
                return
            if isinstance(step, Chunk):
                answer = None
                yield step.table
            else:
                answer = await self._execute(step)

    async def objects(self) -> list[ObjectListEntry]:
        """See :meth:`DlmsClient.objects`."""
        return await self._run(self._core.objects())

    async def frame_counter(self, logical_name: ObisLike | None = None) -> int:
        """See :meth:`DlmsClient.frame_counter`."""
        return await self._run(self._core.frame_counter(logical_name))

    async def image_transfer(
        self,
        image: bytes,
        identifier: bytes | str,
        logical_name: ObisLike = IMAGE_TRANSFER,
        *,
        progress: ImageProgress | None = None,
    ) -> ImageTransferReport:
        """See :meth:`DlmsClient.image_transfer`."""
        return await self._run(self._core.image_transfer(image, identifier, logical_name, progress))

    async def change_keys(
        self,
        master_key: KeyInput,
        *,
        block_cipher_key: KeyInput | None = None,
        authentication_key: KeyInput | None = None,
        broadcast_key: KeyInput | None = None,
        new_master_key: KeyInput | None = None,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> MeterSettings:
        """See :meth:`DlmsClient.change_keys`."""
        return await self._run(
            self._core.change_keys(
                master_key,
                block_cipher_key=block_cipher_key,
                authentication_key=authentication_key,
                broadcast_key=broadcast_key,
                new_master_key=new_master_key,
                logical_name=logical_name,
            )
        )

    async def key_agreement(
        self,
        *,
        block_cipher_key: bool = True,
        authentication_key: bool = False,
        broadcast_key: bool = False,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> MeterSettings:
        """See :meth:`DlmsClient.key_agreement`."""
        return await self._run(
            self._core.key_agreement(
                block_cipher_key=block_cipher_key,
                authentication_key=authentication_key,
                broadcast_key=broadcast_key,
                logical_name=logical_name,
            )
        )


class AsyncConnecting:
    """What :func:`connect_async` returns: ``await`` it for the opened :class:`AsyncDlmsClient`, or use it
    as ``async with connect_async(...) as meter:``, which opens on entry and closes on exit."""

    def __init__(self, client: AsyncDlmsClient) -> None:
        self.client = client

    def __await__(self) -> Generator[Any, None, AsyncDlmsClient]:
        return self.client.open().__await__()

    async def __aenter__(self) -> AsyncDlmsClient:
        return await self.client.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.close()


def connect(
    meter: MeterSettings | str | None = None,
    /,
    *,
    profiles: str | PathLike[str] | None = None,
    on_apdu: ApduHook | None = None,
    on_frame: TraceHook | None = None,
    **settings: Unpack[MeterOptions],
) -> DlmsClient:
    """Connect to a meter and associate: the opened :class:`DlmsClient`, which is also a context manager
    that releases and hangs up on exit (``with connect(...) as meter:``; else call ``meter.close()``).

    ``meter`` is a :class:`MeterSettings`, the name of a profile (read from ``profiles``, by default
    ``$XDG_CONFIG_HOME/dlmskit/meters.toml``) or nothing (the defaults, which reach ``dlmskit simulate``);
    keyword arguments set single settings (the fields of :class:`MeterSettings`, type-checked).
    ``on_apdu(direction, apdu)`` sees every APDU as it goes over the wire (ciphered where ciphered; an LLS
    password is blotted out) and ``on_frame(direction, frame, decoded)`` every HDLC frame or wrapper PDU.
    """
    return DlmsClient.connect(meter, profiles=profiles, on_apdu=on_apdu, on_frame=on_frame, **settings)


def connect_async(
    meter: MeterSettings | str | None = None,
    /,
    *,
    profiles: str | PathLike[str] | None = None,
    on_apdu: ApduHook | None = None,
    on_frame: TraceHook | None = None,
    **settings: Unpack[MeterOptions],
) -> AsyncConnecting:
    """:func:`connect` for asyncio: ``meter = await connect_async(...)`` (then ``await meter.close()``) or
    ``async with connect_async(...) as meter:``."""
    return AsyncDlmsClient.connect(meter, profiles=profiles, on_apdu=on_apdu, on_frame=on_frame, **settings)
