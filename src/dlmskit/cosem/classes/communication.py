"""Communication setup classes: IEC local port setup (19), IEC HDLC setup (23), Push setup (40),
TCP-UDP setup (41), IPv4 setup (42), GPRS modem setup (45) and M-Bus client (72)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.codec import axdr
from dlmskit.cosem.classes.common import CAPTURE_OBJECT_DEFINITION, T, dummy_method
from dlmskit.cosem.model import (
    ANY,
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    LOGICAL_NAME_STRING,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    names_of,
    structure,
)

__all__ = [
    "CLASSES",
    "GPRS_MODEM_SETUP",
    "IEC_HDLC_SETUP",
    "IEC_LOCAL_PORT_SETUP",
    "IPV4_SETUP",
    "MBUS_CLIENT",
    "PUSH_SETUP",
    "TCP_UDP_SETUP",
    "BaudRate",
    "EncryptionKeyStatus",
    "PushMessageType",
    "TransportService",
]


class BaudRate(IntEnum):
    """The baud rate enumeration of IEC local port setup and IEC HDLC setup."""

    BAUD_300 = 0
    BAUD_600 = 1
    BAUD_1200 = 2
    BAUD_2400 = 3
    BAUD_4800 = 4
    BAUD_9600 = 5
    BAUD_19200 = 6
    BAUD_38400 = 7
    BAUD_57600 = 8
    BAUD_115200 = 9


class TransportService(IntEnum):
    """Push setup send_destination_and_method transport_service (200..255 manufacturer specific)."""

    TCP = 0
    UDP = 1
    FTP = 2
    SMTP = 3
    SMS = 4
    HDLC = 5
    M_BUS = 6
    ZIGBEE = 7


class PushMessageType(IntEnum):
    """Push setup send_destination_and_method message (128..255 manufacturer specific)."""

    A_XDR_ENCODED_XDLMS_APDU = 0
    XML_ENCODED_XDLMS_APDU = 1


class EncryptionKeyStatus(IntEnum):
    """M-Bus client encryption_key_status."""

    NO_ENCRYPTION_KEY = 0
    ENCRYPTION_KEY_SET = 1
    ENCRYPTION_KEY_TRANSFERRED = 2
    ENCRYPTION_KEY_SET_AND_TRANSFERRED = 3
    ENCRYPTION_KEY_IN_USE = 4


_BAUD_NAMES: Final = names_of(BaudRate)

IEC_LOCAL_PORT_SETUP: Final = InterfaceClass(
    19,
    1,
    "IEC local port setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "default_mode",
            T.ENUM,
            static=True,
            description="The protocol the port starts in.",
            enum_names={0: "iec_62056_21", 1: "dlms_cosem", 2: "not_specified"},
        ),
        AttributeDef(
            3,
            "default_baud",
            T.ENUM,
            static=True,
            description="The baud rate of the opening sequence.",
            enum_names=_BAUD_NAMES,
        ),
        AttributeDef(
            4,
            "prop_baud",
            T.ENUM,
            static=True,
            description="The baud rate the meter proposes.",
            enum_names=_BAUD_NAMES,
        ),
        AttributeDef(
            5,
            "response_time",
            T.ENUM,
            static=True,
            description="Minimum response time.",
            enum_names={0: "ms_20", 1: "ms_200"},
        ),
        AttributeDef(
            6, "device_addr", T.OCTET_STRING, static=True, description="Device address (IEC 62056-21)."
        ),
        AttributeDef(7, "pass_p1", T.OCTET_STRING, static=True, description="Password P1 (IEC 62056-21)."),
        AttributeDef(8, "pass_p2", T.OCTET_STRING, static=True, description="Password P2 (IEC 62056-21)."),
        AttributeDef(9, "pass_w5", T.OCTET_STRING, static=True, description="Password W5 (IEC 62056-21)."),
    ),
)

IEC_HDLC_SETUP: Final = InterfaceClass(
    23,
    1,
    "IEC HDLC setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "comm_speed",
            T.ENUM,
            static=True,
            description="Baud rate of the HDLC port.",
            enum_names=_BAUD_NAMES,
        ),
        AttributeDef(
            3, "window_size_transmit", T.UNSIGNED, static=True, description="Frames sent before an RR."
        ),
        AttributeDef(
            4, "window_size_receive", T.UNSIGNED, static=True, description="Frames received before an RR."
        ),
        AttributeDef(
            5,
            "max_info_field_length_transmit",
            T.LONG_UNSIGNED,
            static=True,
            description="Largest information field sent.",
        ),
        AttributeDef(
            6,
            "max_info_field_length_receive",
            T.LONG_UNSIGNED,
            static=True,
            description="Largest information field received.",
        ),
        AttributeDef(
            7,
            "inter_octet_time_out",
            T.LONG_UNSIGNED,
            static=True,
            description="Milliseconds of silence that end a frame.",
        ),
        AttributeDef(
            8,
            "inactivity_time_out",
            T.LONG_UNSIGNED,
            static=True,
            description="Seconds without traffic before the link is dropped (0 = never).",
        ),
        AttributeDef(
            9, "device_address", T.LONG_UNSIGNED, static=True, description="The HDLC server address."
        ),
    ),
)

PUSH_SETUP: Final = InterfaceClass(
    40,
    0,
    "Push setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "push_object_list",
            array_of(CAPTURE_OBJECT_DEFINITION),
            static=True,
            description="The attributes sent in each push.",
        ),
        AttributeDef(
            3,
            "send_destination_and_method",
            structure(transport_service=T.ENUM, destination=T.OCTET_STRING, message=T.ENUM),
            static=True,
            description="Where and how to push (transport 0 TCP, 1 UDP...; message 0 A-XDR APDU).",
        ),
        AttributeDef(
            4,
            "communication_window",
            array_of(structure(start_time=DATE_TIME_STRING, end_time=DATE_TIME_STRING)),
            static=True,
            description="When pushing is allowed (empty = always).",
        ),
        AttributeDef(
            5,
            "randomisation_start_interval",
            T.LONG_UNSIGNED,
            static=True,
            description="Maximum random delay in seconds before a push.",
        ),
        AttributeDef(
            6, "number_of_retries", T.UNSIGNED, static=True, description="Retries after a failed push."
        ),
        AttributeDef(
            7, "repetition_delay", T.LONG_UNSIGNED, static=True, description="Seconds between retries."
        ),
    ),
    (dummy_method(1, "push", "Pushes the push_object_list now."),),
)

TCP_UDP_SETUP: Final = InterfaceClass(
    41,
    0,
    "TCP-UDP setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "TCP_UDP_port", T.LONG_UNSIGNED, static=True, description="Listening port (4059)."),
        AttributeDef(
            3,
            "IP_reference",
            LOGICAL_NAME_STRING,
            static=True,
            description="The IPv4 or IPv6 setup object used.",
        ),
        AttributeDef(4, "MSS", T.LONG_UNSIGNED, static=True, description="TCP maximum segment size."),
        AttributeDef(
            5, "nb_of_sim_conn", T.UNSIGNED, static=True, description="Simultaneous connections allowed."
        ),
        AttributeDef(
            6,
            "inactivity_time_out",
            T.LONG_UNSIGNED,
            static=True,
            description="Seconds without traffic before the connection is closed (0 = never).",
        ),
    ),
)

IPV4_SETUP: Final = InterfaceClass(
    42,
    0,
    "IPv4 setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "DL_reference",
            LOGICAL_NAME_STRING,
            static=True,
            description="The data link setup object used.",
        ),
        AttributeDef(
            3,
            "IP_address",
            T.DOUBLE_LONG_UNSIGNED,
            static=False,
            description="The IPv4 address as a 32-bit number (10.0.0.1 = 0x0A000001).",
        ),
        AttributeDef(
            4,
            "multicast_IP_address",
            array_of(T.DOUBLE_LONG_UNSIGNED),
            static=True,
            description="Multicast addresses the meter listens to.",
        ),
        AttributeDef(
            5,
            "IP_options",
            array_of(
                structure(
                    IP_option_type=T.UNSIGNED, IP_option_length=T.UNSIGNED, IP_option_data=T.OCTET_STRING
                )
            ),
            static=True,
            description="IP header options.",
        ),
        AttributeDef(6, "subnet_mask", T.DOUBLE_LONG_UNSIGNED, static=True, description="The subnet mask."),
        AttributeDef(
            7, "gateway_IP_address", T.DOUBLE_LONG_UNSIGNED, static=True, description="The default gateway."
        ),
        AttributeDef(8, "use_DHCP_flag", T.BOOLEAN, static=True, description="Whether DHCP is used."),
        AttributeDef(
            9,
            "primary_DNS_address",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="The primary DNS server.",
        ),
        AttributeDef(
            10,
            "secondary_DNS_address",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="The secondary DNS server.",
        ),
    ),
    (
        MethodDef(1, "add_mc_IP_address", T.DOUBLE_LONG_UNSIGNED, description="Adds a multicast address."),
        MethodDef(
            2, "delete_mc_IP_address", T.DOUBLE_LONG_UNSIGNED, description="Deletes a multicast address."
        ),
        MethodDef(
            3,
            "get_nbof_mc_IP_addresses",
            T.INTEGER,
            axdr.Integer(0),
            returns=T.LONG_UNSIGNED,
            description="The number of multicast addresses.",
        ),
    ),
)

_QOS_ELEMENT = structure(
    precedence=T.UNSIGNED,
    delay=T.UNSIGNED,
    reliability=T.UNSIGNED,
    peak_throughput=T.UNSIGNED,
    mean_throughput=T.UNSIGNED,
)

GPRS_MODEM_SETUP: Final = InterfaceClass(
    45,
    0,
    "GPRS modem setup",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "APN", T.OCTET_STRING, static=True, description="The access point name."),
        AttributeDef(3, "PIN_code", T.LONG_UNSIGNED, static=True, description="The SIM card PIN."),
        AttributeDef(
            4,
            "quality_of_service",
            structure(default=_QOS_ELEMENT, requested=_QOS_ELEMENT),
            static=True,
            description="Minimum and requested GPRS quality of service.",
        ),
    ),
)

MBUS_CLIENT: Final = InterfaceClass(
    72,
    1,
    "M-Bus client",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "mbus_port_reference",
            LOGICAL_NAME_STRING,
            static=True,
            description="The M-Bus master port setup object used.",
        ),
        AttributeDef(
            3,
            "capture_definition",
            array_of(
                structure(data_information_block=T.OCTET_STRING, value_information_block=T.OCTET_STRING)
            ),
            static=True,
            description="The M-Bus data records (DIB, VIB) to capture from the device.",
        ),
        AttributeDef(
            4, "capture_period", T.DOUBLE_LONG_UNSIGNED, static=True, description="Seconds between captures."
        ),
        AttributeDef(
            5, "primary_address", T.UNSIGNED, static=False, description="The device's M-Bus address."
        ),
        AttributeDef(
            6,
            "identification_number",
            T.DOUBLE_LONG_UNSIGNED,
            static=False,
            description="The device's identification (serial) number, BCD coded.",
        ),
        AttributeDef(
            7, "manufacturer_id", T.LONG_UNSIGNED, static=False, description="The device's manufacturer code."
        ),
        AttributeDef(8, "version", T.UNSIGNED, static=False, description="The device's version."),
        AttributeDef(
            9, "device_type", T.UNSIGNED, static=False, description="The medium (gas 3, water 7...)."
        ),
        AttributeDef(
            10, "access_number", T.UNSIGNED, static=False, description="The device's access number."
        ),
        AttributeDef(11, "status", T.UNSIGNED, static=False, description="The device's status byte."),
        AttributeDef(12, "alarm", T.UNSIGNED, static=False, description="The device's alarm flags."),
        AttributeDef(
            13,
            "configuration",
            T.LONG_UNSIGNED,
            static=True,
            description="Device configuration.",
            min_version=1,
        ),
        AttributeDef(
            14,
            "encryption_key_status",
            T.ENUM,
            static=False,
            description="Whether an encryption key is set, transferred and in use.",
            enum_names=names_of(EncryptionKeyStatus),
            min_version=1,
        ),
    ),
    (
        MethodDef(1, "slave_install", T.UNSIGNED, description="Installs a device at this primary address."),
        dummy_method(2, "slave_deinstall", "Removes the device."),
        dummy_method(3, "capture", "Captures the device's values now."),
        dummy_method(4, "reset_alarm", "Clears the alarm."),
        dummy_method(5, "synchronize_clock", "Sets the device's clock."),
        MethodDef(
            6,
            "data_send",
            array_of(
                structure(
                    data_information_block=T.OCTET_STRING, value_information_block=T.OCTET_STRING, data=ANY
                )
            ),
            description="Sends data records to the device.",
        ),
        MethodDef(
            7,
            "set_encryption_key",
            T.OCTET_STRING,
            description="Sets the key used with the device (empty = none).",
            min_version=1,
        ),
        MethodDef(
            8,
            "transfer_key",
            T.OCTET_STRING,
            description="Sends a new key to the device, encrypted with the current one.",
            min_version=1,
        ),
    ),
)

CLASSES: Final = (
    IEC_LOCAL_PORT_SETUP,
    IEC_HDLC_SETUP,
    PUSH_SETUP,
    TCP_UDP_SETUP,
    IPV4_SETUP,
    GPRS_MODEM_SETUP,
    MBUS_CLIENT.for_version(0),
    MBUS_CLIENT,
)
