"""Connections: a byte transport, a data link and a client session driven together, sync or asyncio.

The protocol logic lives in sans-I/O objects (:mod:`dlmskit.link`, :mod:`dlmskit.session`); this module
only moves bytes and runs the response timer. The exchange logic is written once, as generators that yield
I/O operations (:class:`_Send`, :class:`_Recv`); :class:`Connection` runs them on a blocking
:class:`~dlmskit.transport.Transport`, :class:`AsyncConnection` on an
:class:`~dlmskit.transport.AsyncTransport`.

::

    with Connection(TcpTransport("127.0.0.1", 4059), HdlcClientLink(...), ClientSession(...)) as conn:
        event = conn.request(conn.session.get(descriptor))
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from dlmskit.errors import DlmsError, LinkError, MeterTimeout, ProtocolError
from dlmskit.link.events import ApduReceived, Link, LinkClosed, LinkFailed, LinkOpened, LinkState
from dlmskit.session.client import ClientSession, SessionState
from dlmskit.session.events import Associated, Discarded, Negotiated, Notification, SendApdu, SessionEvent
from dlmskit.transport.base import AsyncTransport, Transport

__all__ = ["ApduHook", "AsyncConnection", "Connection", "ProgressHook"]

ApduHook = Callable[[str, bytes], None]
"""Called with ``("tx" | "rx", apdu bytes)`` for every APDU as it is on the wire (ciphered where ciphered)."""
ProgressHook = Callable[[SendApdu], None]
"""Called for every continuation of a block transfer (blocks and bytes so far), e.g. to move a progress bar."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class _Recv:
    timeout: float


_Op = _Send | _Recv
_Steps = Generator[_Op, Any, _T]


class _Driver:
    """The exchange logic shared by the sync and asyncio connections (no I/O of its own)."""

    def __init__(
        self,
        link: Link,
        session: ClientSession,
        *,
        timeout: float,
        on_apdu: ApduHook | None,
        on_notification: Callable[[Notification], None] | None,
    ) -> None:
        self.link = link
        self.session = session
        self.timeout = timeout
        self.on_apdu = on_apdu
        self.on_notification = on_notification
        self._pending: collections.deque[bytes] = collections.deque()
        self.context: object = ""
        """What the request does, for messages (``str()`` of it is taken only when a message shows it)."""

    def _wait_events(self) -> _Steps[Sequence[object]]:
        """Wait for the next bytes (or the timer) and return the link's events."""
        try:
            data = yield _Recv(self.timeout)
        except MeterTimeout:
            if not self.link.needs_timer:
                raise MeterTimeout(
                    f"no answer from the meter within {self.timeout:g} s"
                    + (f" ({self.context})" if self.context else "")
                    + ": check the address, the client/server addresses and the cable or network"
                ) from None
            events: Sequence[object] = self.link.on_timeout()
        else:
            events = self.link.receive_data(data)  # a fresh list each call: not copied
        data = self.link.data_to_send()  # (inline: no generator a flush)
        if data:
            yield _Send(data)
        return events

    def _check(self, event: object) -> None:
        if isinstance(event, LinkFailed):
            raise event.error
        if isinstance(event, LinkClosed):
            raise LinkError(f"the meter closed the link ({event.reason})")

    def open_link(self) -> _Steps[None]:
        self.context = "opening the link"
        self.link.open()
        data = self.link.data_to_send()  # (inline: no generator a flush)
        if data:
            yield _Send(data)
        while not self._is_connected():
            for event in (yield from self._wait_events()):
                self._check(event)
                if isinstance(event, ApduReceived):
                    self._pending.append(event.apdu)

    def _link_state(self) -> LinkState:
        return self.link.state

    def _is_connected(self) -> bool:
        return self._link_state() == LinkState.CONNECTED

    def next_apdu(self) -> _Steps[bytes]:
        while not self._pending:
            for event in (yield from self._wait_events()):
                self._check(event)
                if isinstance(event, ApduReceived):
                    self._pending.append(event.apdu)
                elif isinstance(event, LinkOpened):
                    raise LinkError("the meter reset the link (a new SNRM/UA) in the middle of a request")
        apdu = self._pending.popleft()
        if self.on_apdu is not None:
            self.on_apdu("rx", apdu)
        return apdu

    def request(self, apdu: bytes, progress: ProgressHook | None = None) -> _Steps[SessionEvent]:
        """Send ``apdu`` and run the exchange (block transfer, HLS) until the session has an answer.

        On any error (a timeout included) the session's request is abandoned, so the next request can go
        out; when the link failed or the meter closed it, the association is gone and the error says so.
        """
        try:
            return (yield from self._request(apdu, progress))
        except LinkError as exc:
            was_associated = self.session.state == SessionState.ASSOCIATED
            self.session.abandon()
            self.session.released_without_rlrq()
            if not was_associated:
                raise
            raise LinkError(f"{exc}; the association is gone: open the client again to reconnect") from exc
        except BaseException:
            self.session.abandon()
            raise

    def _request(self, apdu: bytes, progress: ProgressHook | None) -> _Steps[SessionEvent]:
        while True:
            if apdu:
                if self.on_apdu is not None:
                    self.on_apdu("tx", apdu)
                self.link.send_apdu(apdu)
                data = self.link.data_to_send()  # (inline: no generator a flush)
                if data:
                    yield _Send(data)
            while True:
                event = self.session.receive((yield from self.next_apdu()))
                if isinstance(event, Notification):
                    if self.on_notification is not None:
                        self.on_notification(event)
                    continue
                if isinstance(event, Discarded):
                    continue
                break
            if isinstance(event, SendApdu):
                if progress is not None:
                    progress(event)
                apdu = event.apdu
                continue
            return event

    def associate(self) -> _Steps[Negotiated]:
        self.context = "association (AARQ)"
        event = yield from self.request(self.session.associate())
        if not isinstance(event, Associated):
            raise ProtocolError(f"association: unexpected {type(event).__name__}")
        return event.negotiated

    def release(self) -> _Steps[None]:
        self.context = "release (RLRQ)"
        if self.session.state == SessionState.ASSOCIATED:
            yield from self.request(self.session.release())

    def close_link(self) -> _Steps[None]:
        self.context = "closing the link"
        if self.link.state not in (LinkState.CONNECTED, LinkState.CONNECTING):
            return
        self.link.close()
        data = self.link.data_to_send()  # (inline: no generator a flush)
        if data:
            yield _Send(data)
        while self._link_state() == LinkState.DISCONNECTING:
            events = yield from self._wait_events()
            if any(isinstance(e, (LinkClosed, LinkFailed)) for e in events):
                break


def _run_sync(transport: Transport, steps: _Steps[_T]) -> _T:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        # Transport errors go into the exchange, so that it can leave the session defined.
        if isinstance(op, _Send):
            try:
                transport.send(op.data)
            except LinkError as exc:
                error = exc
        else:
            try:
                value = transport.recv(op.timeout)
            except (MeterTimeout, LinkError) as exc:
                error = exc


async def _run_async(transport: AsyncTransport, steps: _Steps[_T]) -> _T:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        # Transport errors go into the exchange, so that it can leave the session defined.
        if isinstance(op, _Send):
            try:
                await transport.send(op.data)
            except LinkError as exc:
                error = exc
        else:
            try:
                value = await transport.recv(op.timeout)
            except (MeterTimeout, LinkError) as exc:
                error = exc


class _ConnectionBase:
    def __init__(
        self,
        link: Link,
        session: ClientSession,
        *,
        timeout: float = 5.0,
        associate: bool = True,
        release: bool = True,
        on_apdu: ApduHook | None = None,
        on_notification: Callable[[Notification], None] | None = None,
    ) -> None:
        self.link = link
        self.session = session
        self.associate_on_open = associate
        self.release_on_close = release
        """Whether :meth:`close` sends an RLRQ first; ``False``: closing the link releases the association."""
        self.negotiated: Negotiated | None = None
        self._driver = _Driver(
            link, session, timeout=timeout, on_apdu=on_apdu, on_notification=on_notification
        )

    @property
    def timeout(self) -> float:
        return self._driver.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._driver.timeout = value

    def _open_steps(self) -> _Steps[Negotiated | None]:
        yield from self._driver.open_link()
        if self.associate_on_open:
            return (yield from self._driver.associate())
        return None

    def _close_steps(self) -> _Steps[None]:
        try:
            if self.release_on_close:
                yield from self._driver.release()
            else:
                self.session.released_without_rlrq()  # the link's close releases the association
        finally:
            yield from self._driver.close_link()


class Connection(_ConnectionBase):
    """A blocking connection: transport + link + session."""

    def __init__(self, transport: Transport, link: Link, session: ClientSession, **kwargs: Any) -> None:
        super().__init__(link, session, **kwargs)
        self.transport = transport

    def open(self) -> Negotiated | None:
        """Open the transport and the link, then associate (unless ``associate=False``)."""
        self.transport.open()
        try:
            self.negotiated = _run_sync(self.transport, self._open_steps())
        except BaseException:
            self.transport.close()
            raise
        return self.negotiated

    def request(
        self, apdu: bytes, *, context: object = "", progress: ProgressHook | None = None
    ) -> SessionEvent:
        """Send a request APDU built by the session and return the completed answer.

        ``context`` says what the request does, for a timeout's message: a ``str``, or any object whose
        ``str()`` says it (taken only when a message shows it, so a request pays nothing for its words)."""
        self._driver.context = context
        return _run_sync(self.transport, self._driver.request(apdu, progress))

    def close(self) -> None:
        """Release the association, close the link, close the transport; never raises for a dead peer."""
        try:
            if self.transport.is_open:
                _run_sync(self.transport, self._close_steps())
        except DlmsError:
            pass
        finally:
            self.transport.close()

    def __enter__(self) -> Connection:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncConnection(_ConnectionBase):
    """An asyncio connection: transport + link + session."""

    def __init__(self, transport: AsyncTransport, link: Link, session: ClientSession, **kwargs: Any) -> None:
        super().__init__(link, session, **kwargs)
        self.transport = transport

    async def open(self) -> Negotiated | None:
        await self.transport.open()
        try:
            self.negotiated = await _run_async(self.transport, self._open_steps())
        except BaseException:
            await self.transport.close()
            raise
        return self.negotiated

    async def request(
        self, apdu: bytes, *, context: object = "", progress: ProgressHook | None = None
    ) -> SessionEvent:
        self._driver.context = context
        return await _run_async(self.transport, self._driver.request(apdu, progress))

    async def close(self) -> None:
        try:
            if self.transport.is_open:
                await _run_async(self.transport, self._close_steps())
        except DlmsError:
            pass
        finally:
            await self.transport.close()

    async def __aenter__(self) -> AsyncConnection:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
