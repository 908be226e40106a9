"""gurux-dlms (GPL-2.0), called through its own classes; only imported inside bench/.venv.

The calls were learnt from the installed package: ``GXDLMSClient.getData`` with the PDU interface for a
GET response, ``GXDLMSClient.updateValue`` into a ``GXDLMSProfileGeneric`` whose first capture object is
a clock for the datetime rows, ``_GXCommon.setData`` for encoding, ``GXDLMSChippering`` for ciphering and
``GXDLMS.getHdlcFrame`` / ``GXDLMS.getHdlcData`` for HDLC (what ``GXDLMSClient.getData`` runs per frame).
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Callable
from typing import Any

from bench.cases import NotAvailable, Runnable, expect
from bench.workload import (
    AK,
    CLIENT_TITLE,
    EK,
    GET_REQUEST,
    INVOCATION_COUNTER,
    SERVER_TITLE,
    Workload,
    hdlc_deframe,
)

__all__ = ["available", "implementations", "quiet", "version"]

_PACKAGE = "gurux_dlms"
_LLC_RESPONSE = b"\xe6\xe7\x00"
_FRAME_OVERHEAD = 12
"""Flags, format, addresses (client 1 byte, server 2), control, HCS and FCS around the information."""


def available() -> bool:
    try:
        importlib.import_module(_PACKAGE)
    except ImportError:
        return False
    return True


def version() -> str:
    from importlib.metadata import version as installed

    return installed("gurux-dlms")


def _module(name: str) -> Any:
    return importlib.import_module(f"{_PACKAGE}.{name}" if name else _PACKAGE)


class _Discard(io.TextIOBase):
    """Swallows what gurux-dlms prints on every deciphered APDU ("Encryption is applied." ...)."""

    def write(self, text: str) -> int:
        return len(text)


def quiet(function: Callable[[], object]) -> Callable[[], object]:
    """``function`` with the standard output sent to a null stream while it runs."""
    discard = _Discard()

    def run() -> object:
        saved, sys.stdout = sys.stdout, discard
        try:
            return function()
        finally:
            sys.stdout = saved

    return run


def implementations(work: Workload) -> dict[str, Runnable | NotAvailable]:
    """Every case gurux-dlms can do, on ``work``."""
    gx = _module("")
    enums = _module("enums")
    objects = _module("objects")
    common = _module("internal._GXCommon")._GXCommon
    chippering = _module("GXDLMSChippering").GXDLMSChippering
    aes_gcm_parameter = _module("AesGcmParameter").AesGcmParameter
    dlms = _module("GXDLMS").GXDLMS

    client = gx.GXDLMSClient(True, 1, 1, interfaceType=enums.InterfaceType.PDU)
    response = work.get_response

    def decode_raw() -> object:
        reply = gx.GXReplyData()
        client.getData(gx.GXByteBuffer(response), reply, None)
        return reply.value

    profile = objects.GXDLMSProfileGeneric("1.0.99.1.0.255")
    profile.captureObjects = [(objects.GXDLMSClock(), objects.GXDLMSCaptureObject(2, 0))] + [
        (objects.GXDLMSRegister(f"1.0.{c}.8.0.255"), objects.GXDLMSCaptureObject(2, 0)) for c in (1, 2, 3)
    ]

    def decode_datetime() -> object:
        reply = gx.GXReplyData()
        client.getData(gx.GXByteBuffer(response), reply, None)
        profile.buffer = []
        client.updateValue(profile, 2, reply.value)
        return profile.buffer

    def structure(items: list[object]) -> Any:
        value = gx.GXStructure()
        value.extend(items)
        return value

    buffer = gx.GXArray()
    buffer.extend(
        structure([bytearray(octets), gx.GXUInt32(a), gx.GXUInt32(b), gx.GXInt16(c)])
        for octets, a, b, c in work.raw_rows
    )
    settings = gx.GXDLMSSettings(False, None)

    def encode() -> object:
        out = gx.GXByteBuffer()
        common.setData(settings, out, enums.DataType.ARRAY, buffer)
        return out.array()

    def encrypt(plain: bytes, tag: int, system_title: bytes) -> Callable[[], object]:
        def run() -> object:
            parameter = aes_gcm_parameter(tag, system_title, EK, AK)
            parameter.security = enums.Security.AUTHENTICATION_ENCRYPTION
            parameter.invocationCounter = INVOCATION_COUNTER
            return chippering.encryptAesGcm(parameter, plain)

        return run

    def decrypt(apdu: bytes, system_title: bytes) -> Callable[[], object]:
        def run() -> object:
            parameter = aes_gcm_parameter(0, system_title, EK, AK)
            return chippering.decryptAesGcm(None, parameter, gx.GXByteBuffer(apdu))

        return quiet(run)

    cases: dict[str, Runnable | NotAvailable] = {
        "decode-raw": Runnable(
            decode_raw, expect(work.raw_rows, _rows), "GXDLMSClient.getData, PDU interface"
        ),
        "decode-datetime": Runnable(
            decode_datetime,
            expect(work.datetime_rows, _datetime_rows),
            "getData + updateValue(GXDLMSProfileGeneric with a clock column): GXDateTime values",
        ),
        "encode": Runnable(
            encode, expect(work.buffer_data, _bytes), "_GXCommon.setData of GXArray/GXStructure"
        ),
        "encrypt-request": Runnable(
            encrypt(GET_REQUEST, 0xC8, CLIENT_TITLE),
            expect(work.glo_apdu(GET_REQUEST, CLIENT_TITLE), _bytes),
            "GXDLMSChippering.encryptAesGcm (AES-GCM in pure Python)",
        ),
        "decrypt-request": Runnable(
            decrypt(work.glo_apdu(GET_REQUEST, CLIENT_TITLE), CLIENT_TITLE),
            expect(GET_REQUEST, _bytes),
            "GXDLMSChippering.decryptAesGcm (prints 2 lines per APDU, sent to a null stream)",
        ),
        "encrypt-response": Runnable(
            encrypt(work.response_plain, 0xCC, SERVER_TITLE),
            expect(work.glo_apdu(work.response_plain, SERVER_TITLE), _bytes),
        ),
        "decrypt-response": Runnable(
            decrypt(work.glo_apdu(work.response_plain, SERVER_TITLE), SERVER_TITLE),
            expect(work.response_plain, _bytes),
        ),
    }
    for size in (128, 2030):
        cases[f"hdlc-frame-{size}"] = Runnable(
            _framer(gx, enums, dlms, work.hdlc_apdu, size),
            expect(work.hdlc_apdu, _carried_apdu(size)),
            "GXDLMS.getHdlcFrame as a server (puts 125 bytes of the APDU in a 128-byte field)"
            if size == 128
            else "GXDLMS.getHdlcFrame as a server",
        )
        cases[f"hdlc-deframe-{size}"] = Runnable(
            _deframer(gx, enums, dlms, work.hdlc_frames(size), size),
            expect(work.hdlc_apdu, _bytes),
            "GXDLMS.getHdlcData + getDataFromFrame, and the RR its sequence check needs after each frame",
        )
        cases[f"hdlc-link-{size}"] = NotAvailable(
            "no sans-I/O link: gurux's HDLC state lives in GXDLMSClient/GXDLMSServer tied to a meter model"
        )
    return cases


def _carried_apdu(max_info: int) -> Callable[[object], object]:
    """Frames to the APDU they carry (by the reference deframer), each checked to fit ``max_info``."""

    def normalize(frames: object) -> object:
        assert isinstance(frames, list)
        raw = [bytes(frame) for frame in frames]
        if any(len(frame) > max_info + _FRAME_OVERHEAD for frame in raw):
            return "a frame longer than the information field allows"
        return hdlc_deframe(raw)

    return normalize


def _server_settings(gx: Any, enums: Any, max_info: int) -> Any:
    settings = gx.GXDLMSSettings(True, None)
    settings.clientAddress = 1
    settings.serverAddress = gx.GXDLMSClient.getServerAddress(1, 17)
    settings.interfaceType = enums.InterfaceType.HDLC
    settings.hdlc.maxInfoTX = max_info
    return settings


def _framer(gx: Any, enums: Any, dlms: Any, apdu: bytes, max_info: int) -> Callable[[], object]:
    def run() -> object:
        settings = _server_settings(gx, enums, max_info)
        settings.resetFrameSequence()
        settings.checkFrame(0x10, None)  # the client's request I-frame: N(S)=0, N(R)=0, P
        data = gx.GXByteBuffer(_LLC_RESPONSE + apdu)
        frames = []
        control = 0
        while len(data) and data.position != len(data):
            frames.append(dlms.getHdlcFrame(settings, control, data))
            control = settings.getNextSend(False)
        return frames

    return run


def _deframer(gx: Any, enums: Any, dlms: Any, frames: list[bytes], max_info: int) -> Callable[[], object]:
    client = gx.GXDLMSClient(
        True, 1, gx.GXDLMSClient.getServerAddress(1, 17), interfaceType=enums.InterfaceType.HDLC
    )
    client.hdlcSettings.maxInfoRX = max_info
    more_frames = enums.RequestTypes.FRAME

    def run() -> object:
        settings = client.settings
        settings.resetFrameSequence()
        settings.getNextSend(True)  # as if the client had just sent its request I-frame
        reply = gx.GXReplyData()
        for frame in frames:
            data = gx.GXByteBuffer(frame)
            dlms.getHdlcData(False, settings, data, reply, None)
            dlms.getDataFromFrame(data, reply, True)
            if reply.moreData & more_frames:
                client.receiverReady(more_frames)
        return reply.data.array()

    return run


def _bytes(value: object) -> object:
    assert isinstance(value, (bytes, bytearray))
    return bytes(value)


def _rows(value: object) -> object:
    assert isinstance(value, list)
    return [(bytes(row[0]), int(row[1]), int(row[2]), int(row[3])) for row in value]


def _datetime_rows(value: object) -> object:
    assert isinstance(value, list)
    return [(row[0].value, int(row[1]), int(row[2]), int(row[3])) for row in value]
