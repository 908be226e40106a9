"""dlmskit, called as its users call it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from bench.cases import NotAvailable, Runnable, expect
from bench.workload import (
    AK,
    CLIENT_TITLE,
    EK,
    GET_REQUEST,
    INVOCATION_COUNTER,
    SECURITY_CONTROL,
    SERVER_TITLE,
    Workload,
)
from dlmskit.apdu.get import GetResponseNormal
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import datetimes_of
from dlmskit.link.events import ApduReceived, LinkOpened
from dlmskit.link.framer import HdlcFrameReader
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import LLC_RESPONSE, Control, FrameType, HdlcFrame, remove_llc, segment
from dlmskit.link.hdlc_link import DEFAULT_PARAMETERS, LARGEST_PARAMETERS, HdlcClientLink, HdlcServerLink
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.security.ciphering import decrypt_apdu, encrypt_apdu
from dlmskit.security.suite0 import GcmCipher

__all__ = ["implementations"]

CLIENT = HdlcAddress(1)
SERVER = HdlcAddress(1, 17)


def implementations(work: Workload) -> dict[str, Runnable | NotAvailable]:
    """Every case, on ``work``."""
    cipher = GcmCipher(EK, AK)
    response = work.get_response
    buffer = axdr.Array(
        axdr.Structure(
            (axdr.OctetString(octets), axdr.DoubleLongUnsigned(a), axdr.DoubleLongUnsigned(b), axdr.Long(c))
        )
        for octets, a, b, c in work.raw_rows
    )

    def plain_rows() -> list[tuple[object, ...]]:
        # The profile buffer without A-XDR types: rows unpacked with struct in bulk.
        value = GetResponseNormal.decode(response, decode_value=False).result.value
        return axdr.decode_plain(value.raw)  # type: ignore[no-any-return]

    def decode_raw() -> object:
        return plain_rows()

    def decode_datetime() -> object:
        rows = plain_rows()
        times = datetimes_of([row[0] for row in rows])  # type: ignore[misc]
        return [(t, row[1], row[2], row[3]) for t, row in zip(times, rows, strict=True)]

    def decode_typed() -> object:
        return GetResponseNormal.decode(response).result.value

    request_apdu = work.glo_apdu(GET_REQUEST, CLIENT_TITLE)
    response_apdu = work.glo_apdu(work.response_plain, SERVER_TITLE)
    cases: dict[str, Runnable | NotAvailable] = {
        "decode-raw": Runnable(decode_raw, expect(work.raw_rows, _rows), "axdr.decode_plain"),
        "decode-datetime": Runnable(
            decode_datetime, expect(work.datetime_rows, _rows), "axdr.decode_plain + datetimes_of"
        ),
        "decode-typed": Runnable(decode_typed, expect(work.raw_rows, _rows), "axdr.decode (typed values)"),
        "encode": Runnable(lambda: axdr.encode(buffer), expect(work.buffer_data)),
        "encrypt-request": Runnable(
            lambda: encrypt_apdu(
                GET_REQUEST,
                kind="glo",
                sc=SECURITY_CONTROL,
                system_title=CLIENT_TITLE,
                ic=INVOCATION_COUNTER,
                keys=cipher,
            ),
            expect(request_apdu),
        ),
        "decrypt-request": Runnable(
            lambda: decrypt_apdu(request_apdu, system_title=CLIENT_TITLE, keys=cipher).plain,
            expect(GET_REQUEST),
        ),
        "encrypt-response": Runnable(
            lambda: encrypt_apdu(
                work.response_plain,
                kind="glo",
                sc=SECURITY_CONTROL,
                system_title=SERVER_TITLE,
                ic=INVOCATION_COUNTER,
                keys=cipher,
            ),
            expect(response_apdu),
        ),
        "decrypt-response": Runnable(
            lambda: decrypt_apdu(response_apdu, system_title=SERVER_TITLE, keys=cipher).plain,
            expect(work.response_plain),
        ),
    }
    for size, parameters in ((128, DEFAULT_PARAMETERS), (2030, LARGEST_PARAMETERS)):
        frames = work.hdlc_frames(size)
        cases[f"hdlc-frame-{size}"] = Runnable(
            partial(_frame, work.hdlc_apdu, size), expect(frames), "HdlcFrame.encode + segment"
        )
        cases[f"hdlc-deframe-{size}"] = Runnable(
            partial(_deframe, frames),
            expect(work.hdlc_apdu),
            "HdlcFrameReader, one frame per read",
        )
        cases[f"hdlc-link-{size}"] = _link_pump(work.hdlc_apdu, parameters)
    return cases


def _rows(value: object) -> object:
    assert isinstance(value, list)
    return [tuple(row) for row in value]


def _frame(apdu: bytes, max_info: int) -> list[bytes]:
    pieces = segment(LLC_RESPONSE + apdu, max_info)
    last = len(pieces) - 1
    return [
        HdlcFrame(
            CLIENT, SERVER, Control(FrameType.I, True, ns=index % 8, nr=1), piece, index < last
        ).encode()
        for index, piece in enumerate(pieces)
    ]


def _deframe(frames: Sequence[bytes]) -> bytes:
    reader = HdlcFrameReader()
    information = bytearray()
    for data in frames:
        for frame in reader.feed(data):
            assert isinstance(frame, HdlcFrame)
            information += frame.information
    return remove_llc(bytes(information), LLC_RESPONSE)


def _link_pump(apdu: bytes, parameters: HdlcParameters) -> Runnable:
    """A connected client and server link; each run is one request and the 64 KiB response, in memory."""
    client = HdlcClientLink(1, SERVER, parameters)
    server = HdlcServerLink(SERVER, parameters)
    client.open()
    while not any(isinstance(event, LinkOpened) for event in client.receive_data(_answer(server, client))):
        pass
    request = GET_REQUEST

    def exchange() -> bytes:
        client.send_apdu(request)
        while True:
            for event in server.receive_data(client.data_to_send()):
                if isinstance(event, ApduReceived):
                    server.send_apdu(apdu)
            for event in client.receive_data(server.data_to_send()):
                if isinstance(event, ApduReceived):
                    return event.apdu

    window = "window 1" if parameters.window_rx == 1 else f"window {parameters.window_rx}"
    return Runnable(
        exchange,
        expect(apdu),
        f"HdlcClientLink + HdlcServerLink: request, {parameters.max_info_rx}-byte fields, {window}, RR polls",
    )


def _answer(server: HdlcServerLink, client: HdlcClientLink) -> bytes:
    server.receive_data(client.data_to_send())
    return server.data_to_send()
