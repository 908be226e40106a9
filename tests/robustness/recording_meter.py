"""A demo meter on TCP (HDLC) that records every invocation counter it sees, for the restart tests.

Run as a process (``python -m tests.robustness.recording_meter PORT RECORDS COUNTERS``) so that a test
can kill it with SIGKILL and start it again. Its HLS-GMAC association (client 1, auth+enc) keeps its
own invocation counters in a :class:`~dlmskit.security.invocation.FileInvocationCounterStore`
(``COUNTERS``), so a restarted meter never reuses one either. Every ciphered APDU the link delivers or
sends is appended to ``RECORDS`` (JSON lines, flushed at once, so nothing is lost when the process is
killed): the direction, the sender's system title and the invocation counter, for the client's counters
also the one inside the HLS pass-3 answer f(StoC) = 10 || IC || GMAC (deciphered with the demo keys).
It prints ``ready`` once it listens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import TextIO

from tests.tinymeter import AK, EK, SERVER_TITLE, TinyMeter, demo_meter

from dlmskit.apdu.acse import AARQ
from dlmskit.apdu.action import ActionRequestNormal
from dlmskit.apdu.parse import decode_apdu
from dlmskit.errors import DlmsError
from dlmskit.link.events import ApduReceived, LinkClosed, LinkFailed, LinkOpened
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcServerLink
from dlmskit.security.ciphering import CipheredApdu, decrypt_apdu, is_ciphered_tag
from dlmskit.security.invocation import FileInvocationCounterStore
from dlmskit.security.suite0 import GcmCipher
from dlmskit.session.server import ServerSession

SERVER = HdlcAddress(1, 17)
HLS_GMAC_CLIENT = 1


def recording_meter(counters: Path) -> TinyMeter:
    """The demo meter with file-backed invocation counters for its HLS-GMAC association."""
    meter = demo_meter()
    settings = meter.associations[HLS_GMAC_CLIENT]
    security = dataclasses.replace(
        settings.security, invocation_counters=FileInvocationCounterStore(counters)
    )
    meter.associations[HLS_GMAC_CLIENT] = dataclasses.replace(settings, security=security)
    return meter


class Recorder:
    """Appends one JSON line per invocation counter seen."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.keys = GcmCipher(EK, AK)

    def write(self, direction: str, title: bytes | None, counter: int, kind: str) -> None:
        record = {
            "direction": direction,
            "title": title.hex() if title else None,
            "ic": counter,
            "kind": kind,
        }
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def received(self, apdu: bytes, session: ServerSession) -> None:
        """An APDU from the client: its counter, and the counter inside f(StoC)."""
        try:
            if apdu[:1] == b"\x60":
                aarq = AARQ.decode(apdu)
                if aarq.user_information and is_ciphered_tag(aarq.user_information[0]):
                    ciphered = CipheredApdu.decode(aarq.user_information)
                    self.write("to-meter", aarq.calling_ap_title, ciphered.invocation_counter, "aarq")
                return
            if not apdu or not is_ciphered_tag(apdu[0]):
                return
            ciphered = CipheredApdu.decode(apdu)
            title = ciphered.system_title or (
                session.protection.peer_system_title if session.protection else None
            )
            self.write("to-meter", title, ciphered.invocation_counter, "apdu")
            if title is None:
                return
            request = decode_apdu(decrypt_apdu(ciphered, system_title=title, keys=self.keys).plain)
            if isinstance(request, ActionRequestNormal) and request.method.class_id == 15:
                answer = bytes(request.parameters)  # type: ignore[arg-type]
                self.write("to-meter", title, int.from_bytes(answer[1:5], "big"), "f(StoC)")
        except (DlmsError, TypeError):
            return

    def sent(self, apdu: bytes) -> None:
        if apdu and is_ciphered_tag(apdu[0]):
            self.write("to-client", SERVER_TITLE, CipheredApdu.decode(apdu).invocation_counter, "apdu")


async def serve(port: int, records: Path, counters: Path) -> None:
    meter = recording_meter(counters)
    with records.open("a", encoding="utf-8") as out:
        recorder = Recorder(out)

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            link = HdlcServerLink(SERVER, LARGEST_PARAMETERS)
            sessions: dict[int, ServerSession] = {}
            try:
                while data := await asyncio.wait_for(reader.read(65536), timeout=60):
                    for event in link.receive_data(data):
                        if isinstance(event, (LinkOpened, LinkClosed)):
                            sessions.clear()
                        elif isinstance(event, LinkFailed):
                            return
                        elif isinstance(event, ApduReceived) and link.client_address is not None:
                            sap = link.client_address
                            session = sessions.setdefault(sap, ServerSession(meter, sap))
                            recorder.received(event.apdu, session)
                            for answer in session.receive(event.apdu):
                                recorder.sent(answer)
                                link.send_apdu(answer)
                    writer.write(link.data_to_send())
                    await writer.drain()
            except (ConnectionError, asyncio.TimeoutError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", port)
        print("ready", flush=True)
        async with server:
            await asyncio.sleep(120)  # bounded: the tests kill or stop it long before


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
