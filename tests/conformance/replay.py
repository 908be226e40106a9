"""A scripted peer on loopback that answers with the server's bytes of a recorded conversation.

The recordings of the Gurux ANSI-C example server (``shared/interop/gurux-c-server/``) hold the client's
requests (``C->S``) and the server's answers (``S->C``). The peer indexes each answer by the request it
answered: SNRM, DISC, AARQ, RLRQ, or the service and target of an xDLMS request (GET class/OBIS/attribute/
selector, GET-next block number, ACTION class/OBIS/method), deciphered with the recording's keys where
ciphered. When our client sends a request, the peer sends the recorded answer of the same kind (the next
unused one; the last one again when all were used), byte for byte except the HDLC control field, which it
numbers for this connection (N(S)/N(R)), with the HCS and FCS recomputed. A segmented answer goes one
frame per RR, as the server sent it. Requests the recording never saw get no answer.

Each TCP connection starts the script over, as a restarted server would.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dlmskit.apdu.action import ActionRequestNormal
from dlmskit.apdu.get import GetRequestNext, GetRequestNormal
from dlmskit.apdu.parse import decode_apdu
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_frame import LLC_REQUEST, Control, FrameType, HdlcFrame
from dlmskit.link.wrapper import WrapperFrame, WrapperFrameReader
from dlmskit.security.ciphering import decrypt_apdu, is_ciphered_tag
from dlmskit.security.suite0 import GcmCipher

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
GURUX_C = SHARED / "interop" / "gurux-c-server"


@dataclass
class Recording:
    """One recorded conversation: its header and its chunks in order."""

    header: dict[str, str]
    chunks: list[tuple[str, bytes]]

    @classmethod
    def load(cls, path: Path) -> Recording:
        header: dict[str, str] = {}
        chunks: list[tuple[str, bytes]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# ") and ":" in line:
                key, _, value = line[2:].partition(":")
                header[key.strip()] = value.strip()
            elif line.startswith(("C->S ", "S->C ")):
                chunks.append((line[:4], bytes.fromhex(line[5:].strip())))
        return cls(header, chunks)

    @property
    def hdlc(self) -> bool:
        return self.header.get("transport", "").upper() == "HDLC"

    @property
    def keys(self) -> GcmCipher | None:
        ek, ak = self.header.get("block cipher key"), self.header.get("authentication key")
        return GcmCipher(bytes.fromhex(ek), bytes.fromhex(ak)) if ek and ak else None

    @property
    def client_title(self) -> bytes:
        return bytes.fromhex(self.header.get("client system title", "444C4B0000000001")[:16])


@dataclass
class _Script:
    """The recorded answers by request kind."""

    answers: dict[object, list[list[bytes]]] = field(default_factory=lambda: defaultdict(list))


def request_key(apdu: bytes, recording: Recording) -> object:
    """What a request asks, independent of invoke-ids, counters and who sent it."""
    if not apdu:
        return None
    if apdu[0] in (0x60, 0x62):
        return {0x60: "AARQ", 0x62: "RLRQ"}[apdu[0]]
    if is_ciphered_tag(apdu[0]):
        keys = recording.keys
        if keys is None:
            return None
        apdu = decrypt_apdu(apdu, system_title=recording.client_title, keys=keys).plain
    decoded = decode_apdu(apdu)
    if isinstance(decoded, GetRequestNormal):
        a = decoded.attribute
        selector = decoded.access.selector if decoded.access else 0
        return ("GET", a.class_id, str(a.instance_id), a.attribute_id, selector)
    if isinstance(decoded, GetRequestNext):
        return ("GET-NEXT", decoded.block_number)
    if isinstance(decoded, ActionRequestNormal):
        m = decoded.method
        return ("ACTION", m.class_id, str(m.instance_id), m.method_id)
    return type(decoded).__name__


def _hdlc_script(recording: Recording) -> _Script:
    script = _Script()
    reader = HdlcFrameReader()
    key: object = None
    segments = bytearray()
    for direction, data in recording.chunks:
        if direction == "C->S":
            frame = next(f for f in reader.feed(data) if isinstance(f, HdlcFrame))
            kind = frame.control.kind
            if kind is FrameType.RR:
                continue  # acknowledges a segment: the answer goes on
            if kind is FrameType.I:
                segments += frame.information
                if frame.segmented:
                    continue
                key = request_key(bytes(segments).removeprefix(LLC_REQUEST), recording)
                segments.clear()
            else:
                key = kind.name
            script.answers[key].append([])
        elif key is not None:
            script.answers[key][-1].append(data)
    return script


def _wrapper_script(recording: Recording) -> _Script:
    script = _Script()
    key: object = None
    for direction, data in recording.chunks:
        if direction == "C->S":
            key = request_key(WrapperFrame.decode(data).apdu, recording)
            script.answers[key].append([])
        elif key is not None:
            script.answers[key][-1].append(data)
    return script


class ReplayPeer:
    """Serves ``recording`` on a free loopback port from a thread; :meth:`stop` ends it."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.script = _hdlc_script(recording) if recording.hdlc else _wrapper_script(recording)
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
        used: dict[object, int] = defaultdict(int)
        hdlc = self.recording.hdlc
        reader: HdlcFrameReader | WrapperFrameReader = HdlcFrameReader() if hdlc else WrapperFrameReader()
        received = sent = 0  # I-frames, modulo 8
        segments = bytearray()
        waiting: list[bytes] = []  # segments still to send, one per RR
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
                for event in reader.feed(data):
                    answer: list[bytes] | None = None
                    if isinstance(event, WrapperFrame):
                        answer = self._answer(request_key(event.apdu, self.recording), used)
                    elif isinstance(event, HdlcFrame):
                        kind = event.control.kind
                        if kind is FrameType.RR and waiting:
                            answer = [waiting.pop(0)]
                        elif kind is FrameType.I:
                            received = (received + 1) % 8
                            segments += event.information
                            if event.segmented:
                                answer = None
                            else:
                                apdu = bytes(segments).removeprefix(LLC_REQUEST)
                                segments.clear()
                                answer = self._answer(request_key(apdu, self.recording), used)
                        else:
                            answer = self._answer(kind.name, used)
                            if kind in (FrameType.SNRM, FrameType.DISC):
                                received = sent = 0
                        if answer and len(answer) > 1:
                            waiting = answer[1:]
                            answer = answer[:1]
                    for chunk in answer or []:
                        if hdlc:
                            chunk, sent = _renumber(chunk, sent, received)
                        connection.sendall(chunk)

    def _answer(self, key: object, used: dict[object, int]) -> list[bytes] | None:
        answers = self.script.answers.get(key)
        if not answers:
            return None
        index = min(used[key], len(answers) - 1)
        used[key] += 1
        return list(answers[index])

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)


def _renumber(chunk: bytes, sent: int, received: int) -> tuple[bytes, int]:
    """The recorded frame with this connection's N(S)/N(R) (I-frames only), HCS and FCS recomputed."""
    frame = HdlcFrame.decode(chunk)
    if frame.control.kind is not FrameType.I:
        return chunk, sent
    control = Control(FrameType.I, frame.control.poll_final, ns=sent, nr=received)
    renumbered = HdlcFrame(frame.dest, frame.src, control, frame.information, frame.segmented)
    return renumbered.encode(), (sent + 1) % 8
