"""dlms-cosem (BSL-1.1), called through its own classes; only imported inside bench/.venv.

The calls were learnt from the installed package: ``GetResponseNormal.from_bytes`` and the A-XDR decoder
(``utils.parse_as_dlms_data``, an ``a_xdr.AXdrDecoder``) for raw values, ``parsers.ProfileGenericBufferParser``
(which turns the clock column into ``datetime``) for the datetime rows, ``dlms_data`` classes for encoding,
``security.encrypt/decrypt`` with its only ciphered APDU, ``GeneralGlobalCipher``, and
``hdlc.frames.InformationFrame`` for HDLC.
"""

from __future__ import annotations

import importlib
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
)

__all__ = ["available", "implementations", "version"]

_PACKAGE = "dlms_cosem"
_LLC_RESPONSE = b"\xe6\xe7\x00"


def available() -> bool:
    try:
        importlib.import_module(_PACKAGE)
    except ImportError:
        return False
    return True


def version() -> str:
    from importlib.metadata import version as installed

    return installed("dlms-cosem")


def _module(name: str) -> Any:
    return importlib.import_module(f"{_PACKAGE}.{name}")


def implementations(work: Workload) -> dict[str, Runnable | NotAvailable]:
    """Every case dlms-cosem can do, on ``work``."""
    get_response = _module("protocol.xdlms").GetResponseNormal
    utils = _module("utils")
    parsers = _module("parsers")
    cosem = _module("cosem")
    enumerations = _module("enumerations")
    dlms_data = _module("dlms_data")
    security = _module("security")
    general_global_cipher = _module("protocol.xdlms.general_global_cipher").GeneralGlobalCipher
    response = work.get_response

    def decode_raw() -> object:
        return utils.parse_as_dlms_data(get_response.from_bytes(response).data)

    obis = cosem.Obis
    interface = enumerations.CosemInterface
    parser = parsers.ProfileGenericBufferParser(
        [cosem.CosemAttribute(interface.CLOCK, obis(0, 0, 1, 0, 0, 255), 2)]
        + [cosem.CosemAttribute(interface.REGISTER, obis(1, 0, c, 8, 0, 255), 2) for c in (1, 2, 3)],
        15,
    )

    def decode_datetime() -> object:
        return parser.parse_bytes(get_response.from_bytes(response).data)

    buffer = dlms_data.DataArray(
        [
            dlms_data.DataStructure(
                [
                    dlms_data.OctetStringData(octets),
                    dlms_data.DoubleLongUnsignedData(a),
                    dlms_data.DoubleLongUnsignedData(b),
                    dlms_data.LongData(c),
                ]
            )
            for octets, a, b, c in work.raw_rows
        ]
    )
    control = security.SecurityControlField(0, authenticated=True, encrypted=True)

    def encrypt(plain: bytes, system_title: bytes) -> Callable[[], object]:
        def run() -> object:
            ciphered = security.encrypt(control, system_title, INVOCATION_COUNTER, EK, plain, AK)
            return general_global_cipher(system_title, control, INVOCATION_COUNTER, ciphered).to_bytes()

        return run

    def decrypt(apdu: bytes) -> Callable[[], object]:
        def run() -> object:
            event = general_global_cipher.from_bytes(apdu)
            return security.decrypt(
                event.security_control,
                event.system_title,
                event.invocation_counter,
                EK,
                event.ciphered_text,
                AK,
            )

        return run

    request_apdu = work.general_glo_apdu(GET_REQUEST, CLIENT_TITLE)
    response_apdu = work.general_glo_apdu(work.response_plain, SERVER_TITLE)
    kind = "general-glo-ciphering (DB), its only ciphered APDU"
    cases: dict[str, Runnable | NotAvailable] = {
        "decode-raw": Runnable(
            decode_raw, expect(work.raw_rows, _rows), "A-XDR decoder (parse_as_dlms_data)"
        ),
        "decode-datetime": Runnable(
            decode_datetime, expect(work.datetime_rows, _datetime_rows), "ProfileGenericBufferParser"
        ),
        "encode": Runnable(buffer.to_bytes, expect(work.buffer_data), "dlms_data.DataArray.to_bytes"),
        "encrypt-request": Runnable(encrypt(GET_REQUEST, CLIENT_TITLE), expect(request_apdu), kind),
        "decrypt-request": Runnable(decrypt(request_apdu), expect(GET_REQUEST), kind),
        "encrypt-response": _encrypt_response(encrypt(work.response_plain, SERVER_TITLE), response_apdu),
        "decrypt-response": Runnable(decrypt(response_apdu), expect(work.response_plain), kind),
    }
    frames_module = _module("hdlc.frames")
    address = _module("hdlc.address").HdlcAddress
    client, server = address(1, None, "client"), address(1, 17, "server")
    for size in (128, 2030):
        cases[f"hdlc-frame-{size}"] = Runnable(
            _framer(frames_module.InformationFrame, client, server, work.hdlc_apdu, size),
            expect(work.hdlc_frames(size)),
            "InformationFrame.to_bytes",
        )
        cases[f"hdlc-deframe-{size}"] = Runnable(
            _deframer(frames_module.InformationFrame, work.hdlc_frames(size)),
            expect(work.hdlc_apdu),
            "InformationFrame.from_bytes per frame",
        )
        cases[f"hdlc-link-{size}"] = NotAvailable(
            "its HdlcConnection is client-side only (no server station to pump against in memory)"
        )
    return cases


def _encrypt_response(run: Callable[[], object], expected: bytes) -> Runnable | NotAvailable:
    try:
        run()
    except ValueError as error:
        return NotAvailable(
            f"GeneralGlobalCipher.to_bytes writes the length in one byte and fails above 255 bytes ({error})"
        )
    return Runnable(run, expect(expected))


def _framer(frame: Any, client: Any, server: Any, apdu: bytes, max_info: int) -> Callable[[], object]:
    def run() -> object:
        information = _LLC_RESPONSE + apdu
        last = (len(information) - 1) // max_info
        return [
            frame(
                client,
                server,
                information[index * max_info : (index + 1) * max_info],
                segmented=index < last,
                final=True,
                send_sequence_number=index % 8,
                receive_sequence_number=1,
            ).to_bytes()
            for index in range(last + 1)
        ]

    return run


def _deframer(frame: Any, frames: list[bytes]) -> Callable[[], object]:
    def run() -> object:
        information = b"".join(frame.from_bytes(data).payload for data in frames)
        if not information.startswith(_LLC_RESPONSE):
            raise ValueError("LLC header missing")
        return information[len(_LLC_RESPONSE) :]

    return run


def _rows(value: object) -> object:
    assert isinstance(value, list)
    return [(bytes(row[0]), row[1], row[2], row[3]) for row in value]


def _datetime_rows(value: object) -> object:
    assert isinstance(value, list)
    return [tuple(column.value for column in row) for row in value]
