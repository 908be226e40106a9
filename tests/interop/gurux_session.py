"""A gurux-dlms client session against dlmskit's simulated meter, for the interoperability tests.

The client is an implementation we did not write: ``gurux-dlms`` (GPL-2.0, a test-only dependency) with
``gurux-net`` for TCP. Only its public API is called (``GXDLMSSecureClient`` request builders,
``getData``, ``updateValue``, its object classes), driven the way its API asks for: send the frames a
request method returns, feed every received chunk to ``getData`` until the reply is complete, ask
``receiverReady`` for the next block or segment while ``GXReplyData.isMoreData()``.

Import it only after ``gurux_dlms`` was found (the test modules skip themselves otherwise).
"""

from __future__ import annotations

import contextlib
import io
from types import TracebackType
from typing import Any

from gurux_common.ReceiveParameters import ReceiveParameters  # type: ignore[import-untyped]
from gurux_dlms import (  # type: ignore[import-untyped]
    GXByteBuffer,
    GXDLMSClient,
    GXDLMSException,
    GXReplyData,
)
from gurux_dlms.enums import Authentication, InterfaceType, Security  # type: ignore[import-untyped]
from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]
from gurux_net import GXNet  # type: ignore[import-untyped]
from gurux_net.enums import NetworkType  # type: ignore[import-untyped]
from tests.interop.demo_meter import AK, EK, Link

GURUX_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000000001")  # any 8 bytes; not the title our own client uses

ANSWER_TIMEOUT_MS = 5000
"""How long the client waits for each answer, by default."""


class GuruxSession:
    """One gurux-dlms client association with the simulator, over ``gurux_net.GXNet`` TCP.

    HDLC addresses the meter as logical device 1, physical device 17 (one-byte client address, the
    four-byte server address ``GXDLMSClient.getServerAddress(1, 17)`` builds); the wrapper sends from
    the client's wPort to the meter's wPort 1. ``keys`` switches on HLS-GMAC with authenticated and
    encrypted APDUs (the Green Book demo keys); the meter's system title is not configured: gurux takes
    it from the AARE. ``logical_name=False`` makes it a short-name (SN) client. Each answer is waited for ``answer_timeout_ms``, then :class:`TimeoutError`.

    A data-access-result or action-result other than success comes back from ``getData`` in
    ``GXReplyData.error`` (gurux does not raise there); as gurux's own sample reader does, this helper
    raises ``GXDLMSException(error)`` for it, whose ``errorCode`` is the standard result code.
    """

    def __init__(
        self,
        port: int,
        link: Link,
        client_address: int,
        authentication: Any = Authentication.NONE,
        password: str | None = None,
        *,
        keys: bool = False,
        answer_timeout_ms: int = ANSWER_TIMEOUT_MS,
        logical_name: bool = True,
    ) -> None:
        self.link = link
        self.answer_timeout_ms = answer_timeout_ms
        hdlc = link == "hdlc"
        self.client = GXDLMSSecureClient(
            logical_name,
            client_address,
            GXDLMSClient.getServerAddress(1, 17) if hdlc else 1,
            authentication,
            password,
            InterfaceType.HDLC if hdlc else InterfaceType.WRAPPER,
        )
        if keys:
            ciphering = self.client.ciphering
            ciphering.security = Security.AUTHENTICATION_ENCRYPTION
            ciphering.systemTitle = GURUX_SYSTEM_TITLE
            ciphering.blockCipherKey = EK
            ciphering.authenticationKey = AK
        self.media = GXNet(NetworkType.TCP, "127.0.0.1", port)

    # -- association -----------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open TCP, then (HDLC) SNRM/UA. Gurux returns no SNRM for the wrapper."""
        self.media.open()
        snrm = self.client.snrmRequest()
        if snrm is not None:
            self.client.parseUAResponse(self.exchange([snrm]).data)

    def associate(self) -> None:
        """AARQ/AARE, and for HLS the reply-to-HLS-authentication (pass 3/4)."""
        aare = self.exchange(self.client.aarqRequest())
        with _quiet():
            self.client.parseAareResponse(aare.data)
        if self.client.getIsAuthenticationRequired():
            reply = self.exchange(self.client.getApplicationAssociationRequest())
            with _quiet():
                self.client.parseApplicationAssociationResponse(reply.data)

    def release(self) -> None:
        """RLRQ/RLRE (when associated), then DISC/UA on HDLC; the TCP connection stays open."""
        release = self.client.releaseRequest()
        if release is not None:
            self.exchange(release)
        disconnect = self.client.disconnectRequest()
        if disconnect is not None:
            self.exchange([disconnect])

    def close(self) -> None:
        """Close the TCP connection."""
        self.media.close()

    def __enter__(self) -> GuruxSession:
        self.connect()
        try:
            self.associate()
        except BaseException:
            self.release()
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.release()
        finally:
            self.close()

    # -- services --------------------------------------------------------------------------------------

    def read(self, item: Any, attribute: int) -> Any:
        """GET one attribute, store it in the gurux object (``updateValue``) and return what gurux made
        of it (the object's property, not the raw value)."""
        reply = self.exchange(self.client.read(item, attribute))
        self.client.updateValue(item, attribute, reply.value)
        return item.getValues()[attribute - 1]

    def rows_by_entry(self, profile: Any, first: int, count: int) -> list[list[Any]]:
        """Profile rows ``first`` to ``first + count - 1`` (selective access by entry), all columns."""
        reply = self.exchange(self.client.readRowsByEntry(profile, first, count))
        self.client.updateValue(profile, 2, reply.value)
        return list(profile.buffer)

    def rows_by_range(self, profile: Any, start: Any, end: Any) -> list[list[Any]]:
        """Profile rows whose first capture object (the clock) lies from ``start`` to ``end``."""
        reply = self.exchange(self.client.readRowsByRange(profile, start, end))
        self.client.updateValue(profile, 2, reply.value)
        return list(profile.buffer)

    def method(self, item: Any, index: int, value: Any, data_type: Any) -> Any:
        """ACTION ``index`` of ``item`` with ``value`` sent as ``data_type``; the return data (or None)."""
        return self.exchange(self.client.method(item, index, value, data_type)).value

    # -- the exchange ----------------------------------------------------------------------------------

    def exchange(self, frames: list[Any]) -> Any:
        """Send each frame (or wrapper PDU) and receive its answer; then ask for the rest while gurux says
        more data follows (HDLC segments: RR; GET blocks: GET-Request-next)."""
        reply = GXReplyData()
        for frame in frames:
            reply = GXReplyData()
            self._send_and_receive(frame, reply)
        while reply.isMoreData():
            self._send_and_receive(self.client.receiverReady(reply), reply)
        if reply.error:
            raise GXDLMSException(reply.error)
        return reply

    def _send_and_receive(self, frame: Any, reply: Any) -> None:
        parameters = ReceiveParameters()
        parameters.waitTime = self.answer_timeout_ms
        parameters.eop = 0x7E if self.link == "hdlc" else None
        received = GXByteBuffer()
        with self.media.getSynchronous():
            self.media.send(frame)
            while not self._complete(received, reply):
                parameters.reply = None
                if self.link == "wrapper":
                    parameters.count = self.client.getFrameSize(received)
                if not self.media.receive(parameters):
                    raise TimeoutError(f"gurux-dlms: no answer within {self.answer_timeout_ms} ms")
                received.set(parameters.reply)

    def _complete(self, received: Any, reply: Any) -> bool:
        with _quiet():
            return bool(self.client.getData(received, reply, None))


def _quiet() -> contextlib.AbstractContextManager[Any]:
    """Standard output swallowed: gurux-dlms prints "Encryption is applied." and "Authentication is
    applied." for every ciphered APDU it opens."""
    return contextlib.redirect_stdout(io.StringIO())
