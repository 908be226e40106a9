"""The data link layer: HDLC (IEC 62056-46) for serial lines and the wrapper (IEC 62056-47) for TCP/UDP.

Frame codecs (:mod:`~dlmskit.link.hdlc_frame`, :mod:`~dlmskit.link.hdlc_address`,
:mod:`~dlmskit.link.hdlc_parameters`, :mod:`~dlmskit.link.framer`, :mod:`~dlmskit.link.wrapper`) and the
sans-I/O link state machines built on them (:mod:`~dlmskit.link.hdlc_link`,
:mod:`~dlmskit.link.wrapper_link`), which share the shape :class:`Link` and report the events of
:mod:`~dlmskit.link.events`.
"""

from __future__ import annotations

from dlmskit.link.crc import crc16, crc16_le, crc16_matches
from dlmskit.link.events import (
    ApduReceived,
    FrameDiscarded,
    Link,
    LinkClosed,
    LinkEvent,
    LinkFailed,
    LinkOpened,
    LinkState,
    TraceHook,
)
from dlmskit.link.framer import HdlcEvent, HdlcFrameReader
from dlmskit.link.hdlc_address import (
    ALL_STATION,
    ALL_STATION_14_BIT,
    CLIENT_MANAGEMENT,
    CLIENT_PUBLIC,
    MANAGEMENT_LOGICAL_DEVICE,
    NO_STATION,
    HdlcAddress,
    decode_address,
)
from dlmskit.link.hdlc_frame import (
    FLAG,
    LLC_REQUEST,
    LLC_RESPONSE,
    MAX_FRAME_LENGTH,
    Control,
    FrameCheckError,
    FrameType,
    HdlcFrame,
    remove_llc,
    segment,
)
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.hdlc_parameters import (
    DEFAULT_MAX_INFO_LENGTH,
    DEFAULT_WINDOW_SIZE,
    MAX_INFO_LENGTH,
    MAX_WINDOW_SIZE,
    HdlcParameters,
    negotiate,
)
from dlmskit.link.wrapper import (
    CLIENT_MANAGEMENT_WPORT,
    CLIENT_PUBLIC_WPORT,
    DLMS_PORT,
    HEADER_LENGTH,
    MANAGEMENT_LOGICAL_DEVICE_WPORT,
    MAX_APDU_LENGTH,
    WRAPPER_VERSION,
    WrapperEvent,
    WrapperFrame,
    WrapperFrameReader,
)
from dlmskit.link.wrapper_link import WrapperLink, WrapperServerLink

__all__ = [
    "ALL_STATION",
    "ALL_STATION_14_BIT",
    "CLIENT_MANAGEMENT",
    "CLIENT_MANAGEMENT_WPORT",
    "CLIENT_PUBLIC",
    "CLIENT_PUBLIC_WPORT",
    "DEFAULT_MAX_INFO_LENGTH",
    "DEFAULT_PARAMETERS",
    "DEFAULT_WINDOW_SIZE",
    "DLMS_PORT",
    "FLAG",
    "HEADER_LENGTH",
    "LARGEST_PARAMETERS",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "MANAGEMENT_LOGICAL_DEVICE",
    "MANAGEMENT_LOGICAL_DEVICE_WPORT",
    "MAX_APDU_LENGTH",
    "MAX_FRAME_LENGTH",
    "MAX_INFO_LENGTH",
    "MAX_WINDOW_SIZE",
    "NO_STATION",
    "WRAPPER_VERSION",
    "ApduReceived",
    "Control",
    "FrameCheckError",
    "FrameDiscarded",
    "FrameType",
    "HdlcAddress",
    "HdlcClientLink",
    "HdlcEvent",
    "HdlcFrame",
    "HdlcFrameReader",
    "HdlcParameters",
    "HdlcServerLink",
    "Link",
    "LinkClosed",
    "LinkEvent",
    "LinkFailed",
    "LinkOpened",
    "LinkState",
    "TraceHook",
    "WrapperEvent",
    "WrapperFrame",
    "WrapperFrameReader",
    "WrapperLink",
    "WrapperServerLink",
    "crc16",
    "crc16_le",
    "crc16_matches",
    "decode_address",
    "negotiate",
    "remove_llc",
    "segment",
]
