"""The pump that wires a client session to a server session in memory."""

from __future__ import annotations

from tests.tinymeter import AK, CLIENT_TITLE, EK, SERVER_TITLE, TinyMeter, secret

from dlmskit.session.client import ClientSession
from dlmskit.session.events import SendApdu, SessionEvent
from dlmskit.session.server import ServerSession

__all__ = ["AK", "CLIENT_TITLE", "EK", "SERVER_TITLE", "Pair", "TinyMeter", "secret"]


class Pair:
    """A client session and a server session passing APDUs to each other in memory."""

    def __init__(self, client: ClientSession, server: ServerSession) -> None:
        self.client = client
        self.server = server
        self.exchanges = 0
        self.last_request = b""

    def run(self, first: bytes) -> SessionEvent:
        apdu = first
        while True:
            self.last_request = apdu
            replies = self.server.receive(apdu)
            self.exchanges += 1
            assert len(replies) == 1
            event = self.client.receive(replies[0])
            if isinstance(event, SendApdu):
                apdu = event.apdu
                continue
            return event
