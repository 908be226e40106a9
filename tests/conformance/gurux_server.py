"""A minimal meter built on the gurux-dlms Python package's own server class (``GXDLMSServer``): gurux-dlms
ships no runnable server, so this module gives its server engine a TCP socket and a handful of objects
(logical device name, clock, one register, the association), and nothing else of ours. Test-only: gurux-dlms
is imported only here, and the test module that uses it skips when it is missing.

Written from the package's public API (the abstract ``on...`` callbacks, ``handleRequest``); no code of the
Gurux examples is copied.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from gurux_dlms import GXDLMSServer, GXServerReply  # type: ignore[import-untyped]
from gurux_dlms.enums import AccessMode, InterfaceType, MethodAccessMode, SourceDiagnostic  # type: ignore[import-untyped]
from gurux_dlms.objects import (  # type: ignore[import-untyped]
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSRegister,
)


class _Reply(GXServerReply):  # type: ignore[misc]
    """gurux-dlms 1.0.203's server calls ``setReply`` and ``getConnectionInfo`` on its reply object, which
    its own GXServerReply lacks: the two accessors, nothing more."""

    def setReply(self, value: Any) -> None:
        self.reply = value

    def getConnectionInfo(self) -> Any:
        return self.connectionInfo


class MinimalGuruxMeter(GXDLMSServer):  # type: ignore[misc]
    """LN referencing over HDLC or the wrapper, every client accepted without authentication, objects read-only."""

    def __init__(self, interface: str = "hdlc") -> None:
        super().__init__(True, InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER)
        name = GXDLMSData("0.0.42.0.0.255")
        name.value = b"GRX0000000000001"
        energy = GXDLMSRegister("1.0.1.8.0.255")
        energy.value = 1234
        self.items.append(name)
        self.items.append(GXDLMSClock("0.0.1.0.0.255"))
        self.items.append(energy)
        association = GXDLMSAssociationLogicalName("0.0.40.0.0.255")
        self.items.append(association)
        for item in self.items:  # initialize() would append the collection itself, which it refuses
            association.objectList.append(item)
        self.initialize()

    def isTarget(self, serverAddress: int, clientAddress: int) -> bool:
        return True

    def onValidateAuthentication(self, authentication: Any, password: Any) -> Any:
        return SourceDiagnostic.NONE

    def onGetAttributeAccess(self, arg: Any) -> Any:
        return AccessMode.READ

    def onGetMethodAccess(self, arg: Any) -> Any:
        return MethodAccessMode.NO_ACCESS

    def onFindObject(self, objectType: Any, sn: Any, ln: Any) -> Any:
        return None

    def _nothing(self, *args: Any) -> None:
        return None

    onPreGet = onPostGet = onPreRead = onPostRead = _nothing
    onPreWrite = onPostWrite = onPreAction = onPostAction = _nothing
    onConnected = onInvalidConnection = onDisconnected = _nothing


class GuruxServerThread:
    """Serves one :class:`MinimalGuruxMeter` per TCP connection on a free loopback port."""

    def __init__(self, interface: str = "hdlc") -> None:
        self.interface = interface
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._converse, args=(connection,), daemon=True).start()

    def _converse(self, connection: socket.socket) -> None:
        meter = MinimalGuruxMeter(self.interface)
        connection.settimeout(0.2)
        with connection:
            while not self._stop.is_set():
                try:
                    data = connection.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                reply = _Reply(data)
                try:
                    meter.handleRequest(reply)
                except Exception:
                    continue
                if reply.reply:
                    connection.sendall(bytes(reply.reply))

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
