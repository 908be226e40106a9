"""Reading DLMS messages out of pcap captures built here byte by byte."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import DecodeError
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.translator.hexinput import Direction, TraceItem
from dlmskit.translator.pcap import read_pcap

CLIENT_IP, METER_IP = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
CLIENT_IP6, METER_IP6 = bytes(15) + b"\x01", bytes(15) + b"\x02"
GET = WrapperFrame(0x10, 0x01, bytes.fromhex("C001C100080000010000FF0200")).encode()
RESPONSE = WrapperFrame(0x01, 0x10, bytes.fromhex("C401C1000907E30C1001073B28FF8000FF")).encode()


def pcap(packets: list[bytes], link_type: int = 1, byte_order: str = "<") -> bytes:
    header = struct.pack(byte_order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link_type)
    records = b"".join(struct.pack(byte_order + "IIII", 0, 0, len(p), len(p)) + p for p in packets)
    return header + records


def tcp(payload: bytes, seq: int, *, to_meter: bool = True) -> bytes:
    ports = (50000, 4059) if to_meter else (4059, 50000)
    return struct.pack(">HHIIBBHHH", *ports, seq, 0, 5 << 4, 0x18, 65535, 0, 0) + payload


def udp(payload: bytes, *, to_meter: bool = True) -> bytes:
    ports = (50000, 4059) if to_meter else (4059, 50000)
    return struct.pack(">HHHH", *ports, 8 + len(payload), 0) + payload


def ipv4(transport: bytes, protocol: int, *, to_meter: bool = True) -> bytes:
    source, destination = (CLIENT_IP, METER_IP) if to_meter else (METER_IP, CLIENT_IP)
    header = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 0, 0x4000, 64, protocol, 0, source, destination
    )
    return header + transport


def ipv6(transport: bytes, protocol: int, *, to_meter: bool = True) -> bytes:
    source, destination = (CLIENT_IP6, METER_IP6) if to_meter else (METER_IP6, CLIENT_IP6)
    # with a hop-by-hop options extension header in front of the transport header
    options = bytes((protocol, 0)) + bytes(6)
    return (
        struct.pack(">IHBB16s16s", 6 << 28, len(options) + len(transport), 0, 64, source, destination)
        + options
        + transport
    )


def ethernet(ip: bytes, *, version: int = 4, vlan: bool = False) -> bytes:
    ethertype = b"\x08\x00" if version == 4 else b"\x86\xdd"
    tag = b"\x81\x00\x00\x05" if vlan else b""
    return bytes(6) + bytes(6) + tag + ethertype + ip


def test_tcp_wrapper_frames_over_ethernet() -> None:
    capture = pcap(
        [
            ethernet(ipv4(tcp(GET, 1000), 6)),
            ethernet(ipv4(tcp(RESPONSE, 5000, to_meter=False), 6, to_meter=False)),
        ]
    )
    assert read_pcap(capture) == [TraceItem(Direction.TX, GET, 1), TraceItem(Direction.RX, RESPONSE, 2)]


def test_tcp_stream_is_reassembled_and_retransmissions_dropped() -> None:
    stream = GET + GET
    capture = pcap(
        [
            ethernet(ipv4(tcp(stream[:5], 1000), 6)),
            ethernet(ipv4(tcp(stream[:5], 1000), 6)),  # retransmitted
            ethernet(ipv4(tcp(stream[5:30], 1005), 6)),  # ends inside the second frame
            ethernet(ipv4(tcp(stream[30:], 1030), 6)),
            ethernet(ipv4(tcp(b"", 1000 + len(stream)), 6)),  # a bare ACK
        ]
    )
    assert read_pcap(capture) == [TraceItem(Direction.TX, GET, 1), TraceItem(Direction.TX, GET, 3)]


def test_udp_over_ipv6_with_vlan_and_big_endian_file() -> None:
    capture = pcap(
        [
            ethernet(ipv6(udp(GET), 17), version=6, vlan=True),
            ethernet(ipv6(udp(RESPONSE, to_meter=False), 17, to_meter=False), version=6),
        ],
        byte_order=">",
    )
    assert read_pcap(capture) == [TraceItem(Direction.TX, GET, 1), TraceItem(Direction.RX, RESPONSE, 2)]


def test_linux_cooked_raw_ip_and_loopback_link_types() -> None:
    sll = bytes(14) + b"\x08\x00" + ipv4(udp(GET), 17)
    sll2 = b"\x08\x00" + bytes(18) + ipv4(udp(GET), 17)
    loopback = struct.pack("<I", 2) + ipv4(udp(GET), 17)
    for link_type, packet in ((113, sll), (276, sll2), (101, ipv4(udp(GET), 17)), (0, loopback)):
        assert read_pcap(pcap([packet], link_type)) == [TraceItem(Direction.TX, GET, 1)]


def test_hdlc_over_tcp_gives_one_message_per_segment_and_other_ports_are_ignored() -> None:
    frame = bytes.fromhex("7EA00802232193BD647E")
    other = struct.pack(">HHIIBBHHH", 50000, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + b"GET /"
    capture = pcap(
        [ethernet(ipv4(tcp(frame, 1), 6)), ethernet(ipv4(other, 6)), ethernet(ipv4(b"\x01" * 8, 1))]
    )
    assert read_pcap(capture) == [TraceItem(Direction.TX, frame, 1)]


def test_other_port() -> None:
    packet = ethernet(ipv4(udp(GET), 17))
    assert read_pcap(pcap([packet]), port=4060) == []


def test_pcapng_and_other_files_are_refused_with_a_hint() -> None:
    with pytest.raises(DecodeError, match="pcapng"):
        read_pcap(b"\x0a\x0d\x0d\x0a" + bytes(40))
    with pytest.raises(DecodeError, match="not a pcap file"):
        read_pcap(b"7E A0 07 03")
    with pytest.raises(DecodeError, match="link type"):
        read_pcap(pcap([], link_type=105))


def test_damaged_capture_names_the_packet() -> None:
    capture = pcap([ethernet(ipv4(udp(GET), 17))])
    with pytest.raises(DecodeError, match="packet 1"):
        read_pcap(capture[:-5] + struct.pack("<I", 0))  # record claims more than the file holds
    bad_ip = ethernet(b"\x45" + bytes(3))
    with pytest.raises(DecodeError, match="packet 1: truncated IPv4 header"):
        read_pcap(pcap([bad_ip]))


def test_every_truncation_raises_only_decode_error() -> None:
    capture = pcap(
        [
            ethernet(ipv4(tcp(GET, 1), 6)),
            ethernet(ipv6(udp(RESPONSE, to_meter=False), 17, to_meter=False), version=6),
        ]
    )
    for end in range(len(capture)):
        with contextlib.suppress(DecodeError):
            read_pcap(capture[:end])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([0, 1, 101, 113, 276]))
def test_random_packets_raise_only_decode_error(packet: bytes, link_type: int) -> None:
    with contextlib.suppress(DecodeError):
        read_pcap(pcap([packet], link_type))
