"""Byte transports: TCP, UDP and serial lines, blocking and asyncio, and the IEC 62056-21 mode E sign-on.

A transport moves bytes and knows nothing about DLMS framing; the sans-I/O link layer
(:mod:`dlmskit.link`) turns the bytes into HDLC frames or wrapper PDUs. Every transport has the shape of
:class:`Transport` (blocking) or :class:`AsyncTransport` (asyncio)::

    with TcpTransport("127.0.0.1", 4059, connect_timeout=5.0) as transport:
        transport.send(request)
        reply = transport.recv(timeout=3.0)  # at least one byte, or MeterTimeout

Errors: :class:`dlmskit.errors.LinkError` when the peer cannot be reached (in words: refused, unknown
host, device not found, permission denied), :class:`TransportClosed` when the peer closed, and
:class:`dlmskit.errors.MeterTimeout` when nothing arrived in time.
"""

from __future__ import annotations

from dlmskit.transport.base import AsyncTransport, OnBytes, Transport, TransportClosed
from dlmskit.transport.iec62056_21 import (
    AckOptionSelect,
    SignOnResult,
    build_ack_option_select,
    build_identification,
    build_request_message,
    parse_ack_option_select,
    parse_identification,
    parse_request_message,
)
from dlmskit.transport.mode_e import async_iec62056_21_mode_e_sign_on, iec62056_21_mode_e_sign_on
from dlmskit.transport.serial_port import AsyncSerialTransport, SerialSettings, SerialTransport
from dlmskit.transport.tcp import AsyncTcpTransport, TcpTransport
from dlmskit.transport.udp import AsyncUdpTransport, UdpTransport

__all__ = [
    "AckOptionSelect",
    "AsyncSerialTransport",
    "AsyncTcpTransport",
    "AsyncTransport",
    "AsyncUdpTransport",
    "OnBytes",
    "SerialSettings",
    "SerialTransport",
    "SignOnResult",
    "TcpTransport",
    "Transport",
    "TransportClosed",
    "UdpTransport",
    "async_iec62056_21_mode_e_sign_on",
    "build_ack_option_select",
    "build_identification",
    "build_request_message",
    "iec62056_21_mode_e_sign_on",
    "parse_ack_option_select",
    "parse_identification",
    "parse_request_message",
]
