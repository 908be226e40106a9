"""DLMS/COSEM messages out of a packet capture (classic libpcap files, as written by tcpdump and Wireshark).

The capture is read without external libraries: Ethernet (with 802.1Q VLAN tags), Linux cooked capture
(SLL and SLL2), raw IP and BSD loopback link types; IPv4 and IPv6 (extension headers skipped); TCP and
UDP. Only payloads to or from the DLMS port (4059 unless told otherwise) are kept: what goes to the port
is :attr:`~dlmskit.translator.hexinput.Direction.TX` (client to meter), what comes from it ``RX``.

A UDP datagram is one message. A TCP connection is a byte stream: retransmitted bytes are dropped, and
when the stream starts with the wrapper version ``00 01`` it is cut into wrapper frames (a frame may span
segments, and a segment may hold several frames); other streams (HDLC carried over TCP) are given one
message per segment. Each message names the packet (counting from 1) where it starts.

Every length and offset read from the file is checked: a damaged capture raises
:class:`~dlmskit.errors.DecodeError` saying which packet and what is wrong. pcapng files are recognised
and refused with a hint (``editcap -F pcap`` converts them).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from dlmskit.errors import DecodeError
from dlmskit.link.wrapper import DLMS_PORT, HEADER_LENGTH, WRAPPER_VERSION
from dlmskit.translator.hexinput import Direction, TraceItem

__all__ = ["read_pcap"]

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",  # microsecond timestamps, little-endian
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanosecond timestamps
    b"\xa1\xb2\x3c\x4d": ">",
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_GLOBAL_HEADER = 24
_RECORD_HEADER = 16

_LINK_NULL = 0
_LINK_ETHERNET = 1
_LINK_RAW = 101
_LINK_SLL = 113
_LINK_SLL2 = 276
_LINK_NAMES = {
    _LINK_NULL: "BSD loopback",
    _LINK_ETHERNET: "Ethernet",
    _LINK_RAW: "raw IP",
    _LINK_SLL: "Linux cooked capture",
    _LINK_SLL2: "Linux cooked capture v2",
}

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_ETHERTYPE_VLAN = frozenset({0x8100, 0x88A8})
_BSD_FAMILIES = {2: _ETHERTYPE_IPV4, 24: _ETHERTYPE_IPV6, 28: _ETHERTYPE_IPV6, 30: _ETHERTYPE_IPV6}
_PROTOCOL_TCP = 6
_PROTOCOL_UDP = 17
_IPV6_EXTENSION_HEADERS = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44
_MAX_VLAN_TAGS = 4
_MAX_IPV6_EXTENSIONS = 8


def read_pcap(data: bytes, *, port: int = DLMS_PORT) -> list[TraceItem]:
    """The DLMS messages carried to and from ``port`` in the capture ``data`` (see the module doc)."""
    if data[:4] == _PCAPNG_MAGIC:
        raise DecodeError(
            "this is a pcapng file; only classic pcap is read (convert it with: editcap -F pcap in.pcapng "
            "out.pcap, or save as 'Wireshark/tcpdump - pcap' in Wireshark)",
            offset=0,
        )
    order = _MAGICS.get(bytes(data[:4]))
    if order is None:
        raise DecodeError(
            "not a pcap file", offset=0, expected="pcap magic A1B2C3D4", found=bytes(data[:4]).hex().upper()
        )
    if len(data) < _GLOBAL_HEADER:
        raise DecodeError("truncated pcap file header", offset=len(data), expected=f"{_GLOBAL_HEADER} bytes")
    link_type = struct.unpack_from(order + "I", data, 20)[0] & 0xFFFF
    if link_type not in _LINK_NAMES:
        raise DecodeError(
            "unsupported link type in the pcap file",
            offset=20,
            expected=", ".join(f"{value} ({name})" for value, name in _LINK_NAMES.items()),
            found=str(link_type),
        )
    streams = _Streams()
    offset = _GLOBAL_HEADER
    number = 0
    while offset < len(data):
        number += 1
        if offset + _RECORD_HEADER > len(data):
            raise DecodeError(f"packet {number}: truncated record header", offset=offset)
        captured = struct.unpack_from(order + "I", data, offset + 8)[0]
        start = offset + _RECORD_HEADER
        if captured > len(data) - start:
            raise DecodeError(
                f"packet {number}: record longer than the file",
                offset=offset + 8,
                expected=f"at most {len(data) - start} bytes",
                found=f"{captured} bytes",
            )
        packet = memoryview(data)[start : start + captured]
        offset = start + captured
        try:
            _read_packet(packet, link_type, port, number, streams)
        except DecodeError as exc:
            raise DecodeError(f"packet {number}: {exc.reason}", offset=start + exc.offset) from None
    return streams.items()


@dataclass(slots=True)
class _Flow:
    """One direction of one TCP connection."""

    direction: Direction
    next_seq: int | None = None
    buffer: bytearray = field(default_factory=bytearray)
    buffer_packet: int = 0
    wrapper: bool | None = None


class _Streams:
    """The messages found so far, TCP flows being reassembled."""

    def __init__(self) -> None:
        self._items: list[TraceItem] = []
        self._flows: dict[tuple[bytes, int, bytes, int], _Flow] = {}

    def datagram(self, direction: Direction, payload: bytes, number: int) -> None:
        if payload:
            self._items.append(TraceItem(direction, payload, number))

    def segment(
        self, key: tuple[bytes, int, bytes, int], direction: Direction, seq: int, payload: bytes, number: int
    ) -> None:
        flow = self._flows.setdefault(key, _Flow(direction))
        if flow.next_seq is not None:
            already = (flow.next_seq - seq) & 0xFFFFFFFF
            if already < 0x80000000:  # a retransmission: drop the bytes already seen
                payload = payload[already:]
                seq = flow.next_seq
        if not payload:
            return
        flow.next_seq = (seq + len(payload)) & 0xFFFFFFFF
        if flow.wrapper is None:
            flow.wrapper = payload[:2] == WRAPPER_VERSION.to_bytes(2, "big")
        if not flow.wrapper:
            self._items.append(TraceItem(direction, payload, number))
            return
        if not flow.buffer:
            flow.buffer_packet = number
        flow.buffer += payload
        while len(flow.buffer) >= HEADER_LENGTH:
            end = HEADER_LENGTH + int.from_bytes(flow.buffer[6:8], "big")
            if len(flow.buffer) < end:
                break
            self._items.append(TraceItem(direction, bytes(flow.buffer[:end]), flow.buffer_packet))
            del flow.buffer[:end]
            flow.buffer_packet = number

    def items(self) -> list[TraceItem]:
        """Everything found, a wrapper frame cut short by the end of the capture included as it is."""
        for flow in self._flows.values():
            if flow.buffer:
                self._items.append(TraceItem(flow.direction, bytes(flow.buffer), flow.buffer_packet))
                flow.buffer.clear()
        return sorted(self._items, key=lambda item: item.line)


def _need(packet: memoryview, offset: int, size: int, what: str) -> None:
    if offset + size > len(packet):
        raise DecodeError(
            f"truncated {what}",
            offset=offset,
            expected=f"{size} bytes",
            found=f"{len(packet) - offset} bytes",
        )


def _u16(packet: memoryview, offset: int, what: str) -> int:
    _need(packet, offset, 2, what)
    return int.from_bytes(packet[offset : offset + 2], "big")


def _read_packet(packet: memoryview, link_type: int, port: int, number: int, streams: _Streams) -> None:
    """Find the IP packet inside the link layer frame and hand its TCP or UDP payload on."""
    if link_type == _LINK_ETHERNET:
        ethertype, offset = _u16(packet, 12, "Ethernet header"), 14
        for _ in range(_MAX_VLAN_TAGS):
            if ethertype not in _ETHERTYPE_VLAN:
                break
            ethertype, offset = _u16(packet, offset + 2, "VLAN tag"), offset + 4
    elif link_type == _LINK_SLL:
        ethertype, offset = _u16(packet, 14, "Linux cooked header"), 16
    elif link_type == _LINK_SLL2:
        ethertype, offset = _u16(packet, 0, "Linux cooked v2 header"), 20
    elif link_type == _LINK_NULL:
        _need(packet, 0, 4, "loopback header")
        family = int.from_bytes(packet[0:4], "little")
        if family > 0xFF:  # written in the other byte order
            family = int.from_bytes(packet[0:4], "big")
        if family not in _BSD_FAMILIES:
            return
        ethertype, offset = _BSD_FAMILIES[family], 4
    else:  # raw IP: the version nibble tells
        _need(packet, 0, 1, "IP header")
        ethertype, offset = (_ETHERTYPE_IPV4 if packet[0] >> 4 == 4 else _ETHERTYPE_IPV6), 0
    if ethertype == _ETHERTYPE_IPV4:
        _read_ipv4(packet, offset, port, number, streams)
    elif ethertype == _ETHERTYPE_IPV6:
        _read_ipv6(packet, offset, port, number, streams)


def _read_ipv4(packet: memoryview, offset: int, port: int, number: int, streams: _Streams) -> None:
    _need(packet, offset, 20, "IPv4 header")
    header_length = (packet[offset] & 0x0F) * 4
    total = _u16(packet, offset + 2, "IPv4 header")
    if packet[offset] >> 4 != 4 or header_length < 20 or total < header_length:
        raise DecodeError("malformed IPv4 header", offset=offset)
    _need(packet, offset, total, "IPv4 packet")
    fragment = _u16(packet, offset + 6, "IPv4 header")
    if fragment & 0x3FFF:  # a fragment: DLMS messages are small enough never to be fragmented
        return
    source, destination = bytes(packet[offset + 12 : offset + 16]), bytes(packet[offset + 16 : offset + 20])
    end = offset + total
    _read_transport(
        packet[:end], offset + header_length, packet[offset + 9], (source, destination), port, number, streams
    )


def _read_ipv6(packet: memoryview, offset: int, port: int, number: int, streams: _Streams) -> None:
    _need(packet, offset, 40, "IPv6 header")
    if packet[offset] >> 4 != 6:
        raise DecodeError("malformed IPv6 header", offset=offset)
    end = offset + 40 + _u16(packet, offset + 4, "IPv6 header")
    _need(packet, offset, end - offset, "IPv6 packet")
    next_header = packet[offset + 6]
    addresses = (bytes(packet[offset + 8 : offset + 24]), bytes(packet[offset + 24 : offset + 40]))
    position = offset + 40
    for _ in range(_MAX_IPV6_EXTENSIONS):
        if next_header == _IPV6_FRAGMENT:
            return
        if next_header not in _IPV6_EXTENSION_HEADERS:
            break
        _need(packet, position, 2, "IPv6 extension header")
        next_header, position = packet[position], position + 8 + packet[position + 1] * 8
    _read_transport(packet[:end], position, next_header, addresses, port, number, streams)


def _read_transport(
    packet: memoryview,
    offset: int,
    protocol: int,
    addresses: tuple[bytes, bytes],
    port: int,
    number: int,
    streams: _Streams,
) -> None:
    if protocol not in (_PROTOCOL_TCP, _PROTOCOL_UDP):
        return
    source_port = _u16(packet, offset, "TCP/UDP header")
    destination_port = _u16(packet, offset + 2, "TCP/UDP header")
    if port == destination_port:
        direction = Direction.TX
    elif port == source_port:
        direction = Direction.RX
    else:
        return
    if protocol == _PROTOCOL_UDP:
        _need(packet, offset, 8, "UDP header")
        streams.datagram(direction, bytes(packet[offset + 8 :]), number)
        return
    _need(packet, offset, 20, "TCP header")
    header_length = (packet[offset + 12] >> 4) * 4
    if header_length < 20:
        raise DecodeError("malformed TCP header", offset=offset + 12)
    _need(packet, offset, header_length, "TCP header")
    seq = int.from_bytes(packet[offset + 4 : offset + 8], "big")
    key = (addresses[0], source_port, addresses[1], destination_port)
    streams.segment(key, direction, seq, bytes(packet[offset + header_length :]), number)
