"""Translating a trace: each message found, decoded down to its APDU, with the trace-wide checks.

:class:`Translator` takes the :class:`~dlmskit.translator.hexinput.TraceItem` list of a trace (from pasted
hex or a pcap file) and decodes every item by what it starts with:

- ``7E``: one or more HDLC frames. The information fields of segmented I-frames (the S bit of the format
  field) are joined, per pair of addresses, until the last segment; the APDU is decoded there, after its
  LLC header. Every frame is shown.
- ``00 01``: one or more wrapper frames (TCP/UDP port 4059).
- anything else: an APDU, when its first byte is a known APDU tag.

Ciphered APDUs are shown with their security header and, with keys, deciphered (see
:mod:`dlmskit.translator.ciphered`). Nothing in an item stops the others from decoding: whatever does not
decode becomes a note on its element, and :attr:`Translation.ok` is False.

The direction of an item (TX/RX in the trace) is taken to be client to server for TX; it only matters for
ciphered APDUs whose sender cannot be told from the APDU or the frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu.common import ApduTag
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import FLAG, LLC_REQUEST, LLC_RESPONSE, FrameType, HdlcFrame
from dlmskit.link.wrapper import HEADER_LENGTH, WRAPPER_VERSION, WrapperFrame, WrapperFrameReader
from dlmskit.security.ciphering import is_ciphered_tag
from dlmskit.security.keys import KeyInput, SecretBytes, parse_key, parse_system_title
from dlmskit.translator.apdus import ApduDecoder
from dlmskit.translator.ciphered import CipheringContext, Role
from dlmskit.translator.frames import hdlc_node, wrapper_node
from dlmskit.translator.hexinput import Direction, TraceItem
from dlmskit.translator.tree import Node

__all__ = ["TranslatedItem", "Translation", "Translator", "translate"]

_KNOWN_TAGS = frozenset(int(tag) for tag in ApduTag)
_WRAPPER_START = WRAPPER_VERSION.to_bytes(2, "big")
_ROLE_OF_DIRECTION = {Direction.TX: Role.CLIENT, Direction.RX: Role.SERVER}


@dataclass(frozen=True, slots=True)
class TranslatedItem:
    """One trace item and the elements it decoded to (frames, or one APDU)."""

    item: TraceItem
    nodes: list[Node]

    @property
    def ok(self) -> bool:
        """True when everything in the item decoded (no notes)."""
        return not any(node.has_notes() for node in self.nodes)


@dataclass(frozen=True, slots=True)
class Translation:
    """A translated trace: the items in order, and the warnings about the trace as a whole."""

    items: list[TranslatedItem]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every item decoded completely."""
        return all(item.ok for item in self.items)


@dataclass(slots=True)
class _Segments:
    """An APDU being reassembled from segmented I-frames."""

    data: bytearray
    first_line: int
    count: int


class Translator:
    """Decodes the items of one trace in order, keeping what a trace teaches along the way (system titles,
    the dedicated key, counters, unfinished segments).

    ``keys`` is (block cipher key, authentication key) to decipher ciphered APDUs, each as the client takes
    it: hex text (spaces and colons allowed), bytes (16, or 32 for suite 2) or
    :class:`~dlmskit.security.SecretBytes`; ``client_title`` and ``server_title`` are the system titles to
    use instead of those found in the trace (16 hex digits or 8 bytes). Suites 1/2: ``public_keys`` verify
    general-signing signatures, and ``private_keys`` (with ``public_keys`` for the Static Unified Model)
    decipher general-ciphering with agreed keys. Deviations from the
    standard that dlmskit accepts (docs/tolerance.md) are shown as warnings; ``strict=True`` makes them
    errors.
    """

    def __init__(
        self,
        keys: tuple[KeyInput | SecretBytes, KeyInput | SecretBytes] | None = None,
        *,
        client_title: bytes | str | None = None,
        server_title: bytes | str | None = None,
        private_keys: tuple[ec.EllipticCurvePrivateKey, ...] = (),
        public_keys: tuple[ec.EllipticCurvePublicKey, ...] = (),
        strict: bool = False,
    ) -> None:
        self._ciphering = CipheringContext(
            _keys(keys),
            client_title=parse_system_title(client_title) if client_title is not None else None,
            server_title=parse_system_title(server_title) if server_title is not None else None,
            private_keys=private_keys,
            public_keys=public_keys,
        )
        self._apdus = ApduDecoder(self._ciphering)
        self._apdus.strict = strict
        self._segments: dict[tuple[HdlcAddress, HdlcAddress], _Segments] = {}

    @property
    def warnings(self) -> list[str]:
        """What was found wrong with the trace as a whole so far (nonce reuse, counters going down)."""
        return list(self._ciphering.warnings)

    def translate(self, items: Iterable[TraceItem]) -> Translation:
        """Decode ``items`` (after those translated before by this translator)."""
        translated = [self.translate_item(item) for item in items]
        for key, pending in self._segments.items():
            translated[-1].nodes.append(
                Node(
                    "NextFrame",
                    {"Value": pending.data.hex().upper()},
                    notes=[
                        f"the trace ends inside a segmented APDU ({pending.count} frames from line "
                        f"{pending.first_line}, addresses {key[1].logical} to {key[0].logical})"
                    ],
                )
            )
        self._segments.clear()
        return Translation(translated, self.warnings)

    def translate_item(self, item: TraceItem) -> TranslatedItem:
        """Decode one item."""
        self._apdus.line = item.line
        data = item.data
        role = _ROLE_OF_DIRECTION.get(item.direction) if item.direction is not None else None
        if not data:
            nodes = [Node("Apdu", {"Value": ""}, notes=["empty message"])]
        elif data[:1] == bytes((FLAG,)):
            nodes = self._hdlc(item)
        elif data[:2] == _WRAPPER_START:
            nodes = self._wrapper(item, role)
        elif data[0] in _KNOWN_TAGS or is_ciphered_tag(data[0]):
            nodes = [self._apdus.node(data, role)]
        else:
            nodes = [
                Node(
                    "Apdu",
                    {"Value": data.hex().upper()},
                    notes=[
                        f"not an HDLC frame (7E), a wrapper frame (00 01) or a known APDU tag: "
                        f"first byte 0x{data[0]:02X}"
                    ],
                )
            ]
        return TranslatedItem(item, nodes)

    def apdu_node(self, apdu: bytes, role: Role | None = None) -> Node:
        """The element of one APDU (``role``: who sent it, when known)."""
        return self._apdus.node(apdu, role)

    def _wrapper(self, item: TraceItem, role: Role | None) -> list[Node]:
        reader = WrapperFrameReader()
        nodes: list[Node] = []
        used = 0
        for event in reader.feed(item.data):
            if isinstance(event, WrapperFrame):
                node = wrapper_node(event)
                node.add(Node("PDU", children=[self._apdus.node(event.apdu, role)]))
                used += HEADER_LENGTH + len(event.apdu)
            else:
                node = Node("WRAPPER", notes=[f"damaged wrapper frame: {event}"])
            nodes.append(node)
        left = item.data[used:]
        if not reader.failed and left:
            nodes.append(
                Node(
                    "WRAPPER",
                    {"Value": left.hex().upper()},
                    notes=[f"incomplete wrapper frame: {len(left)} bytes, the header announces more"],
                )
            )
        return nodes

    def _hdlc(self, item: TraceItem) -> list[Node]:
        reader = HdlcFrameReader()
        nodes: list[Node] = []
        for event in reader.feed(item.data):
            if isinstance(event, HdlcFrame):
                nodes.append(self._frame(event, item.line))
            else:
                nodes.append(Node("HDLC", notes=[f"damaged HDLC frame: {event}"]))
        rest = item.data[len(item.data) - reader.buffered :]
        if rest.strip(bytes((FLAG,))):
            nodes.append(
                Node(
                    "HDLC",
                    {"Value": rest.hex().upper()},
                    notes=[
                        f"incomplete HDLC frame at the end: {len(rest)} bytes, the length field announces more"
                    ],
                )
            )
        if not nodes:
            nodes.append(Node("HDLC", notes=["no HDLC frame found (a frame is 7E, format A0 xx, ..., 7E)"]))
        return nodes

    def _frame(self, frame: HdlcFrame, line: int) -> Node:
        node = hdlc_node(frame)
        if frame.control.kind not in (FrameType.I, FrameType.UI) or not frame.information:
            return node
        key = (frame.dest, frame.src)
        pending = self._segments.get(key)
        if frame.segmented:
            if pending is None:
                self._segments[key] = _Segments(bytearray(frame.information), line, 1)
                number = 1
            else:
                pending.data += frame.information
                pending.count += 1
                number = pending.count
            node.add(
                Node.leaf(
                    "NextFrame",
                    frame.information.hex().upper(),
                    f"segment {number} of an APDU; more segments follow",
                )
            )
            return node
        comments = []
        information = frame.information
        if pending is not None:
            del self._segments[key]
            information = bytes(pending.data) + information
            comments.append(
                f"reassembled from {pending.count + 1} frames (lines {pending.first_line} to {line}), "
                f"{len(information)} bytes"
            )
        role: Role | None = None
        if information.startswith(LLC_REQUEST):
            role, information = Role.CLIENT, information[len(LLC_REQUEST) :]
            comments.append("LLC E6 E6 00: client to server")
        elif information.startswith(LLC_RESPONSE):
            role, information = Role.SERVER, information[len(LLC_RESPONSE) :]
            comments.append("LLC E6 E7 00: server to client")
        else:
            comments.append("no LLC header")
        if information:
            apdu = self._apdus.node(information, role)
        else:
            apdu = Node("Apdu", {"Value": ""}, notes=["the information field holds only the LLC header"])
        node.add(Node("PDU", comment="; ".join(comments), children=[apdu]))
        return node


def _keys(keys: tuple[KeyInput | SecretBytes, KeyInput | SecretBytes] | None) -> tuple[bytes, bytes] | None:
    if keys is None:
        return None
    block_cipher_key, authentication_key = keys
    return (_key(block_cipher_key, "block cipher key"), _key(authentication_key, "authentication key"))


def _key(value: KeyInput | SecretBytes, name: str) -> bytes:
    if isinstance(value, SecretBytes):
        return value.reveal()
    digits = len(value.replace(" ", "").replace(":", "")) // 2 if isinstance(value, str) else len(value)
    return parse_key(value, name=name, length=32 if digits == 32 else 16)  # 32 bytes: a suite 2 key


def translate(
    items: Iterable[TraceItem],
    keys: tuple[KeyInput | SecretBytes, KeyInput | SecretBytes] | None = None,
    *,
    client_title: bytes | str | None = None,
    server_title: bytes | str | None = None,
    private_keys: tuple[ec.EllipticCurvePrivateKey, ...] = (),
    public_keys: tuple[ec.EllipticCurvePublicKey, ...] = (),
    strict: bool = False,
) -> Translation:
    """Translate a whole trace (see :class:`Translator`; keys as hex text, bytes or SecretBytes)."""
    return Translator(
        keys,
        client_title=client_title,
        server_title=server_title,
        private_keys=private_keys,
        public_keys=public_keys,
        strict=strict,
    ).translate(items)
