"""Keys and passwords never appear in logs, exception texts or reprs, at any log level.

Logging is set to DEBUG for ``dlmskit`` and the root logger; full sessions run over TCP against the
meter server (LLS with a password, HLS-GMAC with auth+enc keys, deciphering every answer), and so do
the failures that carry the most context (wrong password, wrong keys, a meter that drops the line).
Everything logged, every exception's ``str`` and ``repr`` (with its chain) and the reprs of the
settings, sessions, events and key holders are searched for every secret in hex (upper and lower
case, with and without spaces), as ASCII text and as Python ``repr`` of the bytes.

The LLS password does travel in clear in the AARQ (that is what LLS is); traces of the bytes on the
line are the user's choice and are not logs, so they are not searched here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.tinymeter import TinyMeter

from dlmskit.client.connection import Connection
from dlmskit.codec import axdr
from dlmskit.link.hdlc_link import LARGEST_PARAMETERS, HdlcClientLink
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.protection import SecurityPolicy, SecuritySettings
from dlmskit.session.server import ServerAssociationSettings
from dlmskit.simulator.server import MeterServer
from dlmskit.transport import TcpTransport

from .harness import DISCONNECT, ENERGY, LDN, SERVER, ProfileReader

PASSWORD = b"Pw-LLS-7f3a9c!"
EK = bytes.fromhex("5A17C0DE9B3E4F2A8D6C1B0E7F493A25")
AK = bytes.fromhex("C3A1E5F70B29D84C6E1F3A5B7D9C0E2B")
WRONG_EK = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
HLS_SECRET = b"hls-md5-secret-91"
SECRETS = {"password": PASSWORD, "EK": EK, "AK": AK, "wrong EK": WRONG_EK, "HLS secret": HLS_SECRET}
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")


def forms(secret: bytes) -> list[str]:
    """Every way a secret could be written out."""
    hexed = secret.hex()
    found = [hexed, hexed.upper(), secret.hex(" "), secret.hex(" ").upper(), repr(secret), str(secret)]
    found += [secret.hex(":"), secret.hex(":").upper(), str(list(secret))]
    if secret.isascii():
        found.append(secret.decode())
    return found


def _security(title: bytes, ek: bytes = EK) -> SecuritySettings:
    return SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=title,
        block_cipher_key=SecretBytes(ek),
        authentication_key=SecretBytes(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )


def _meter() -> TinyMeter:
    meter = TinyMeter(
        associations={
            32: ServerAssociationSettings(mechanism=Mechanism.LOW, secret=PASSWORD),
            1: ServerAssociationSettings(mechanism=Mechanism.HIGH_GMAC, security=_security(SERVER_TITLE)),
            3: ServerAssociationSettings(mechanism=Mechanism.HIGH_MD5, secret=HLS_SECRET),
        }
    )
    meter.values[(1, "0.0.42.0.0.255", 2)] = axdr.OctetString(b"DLMSKIT000000001")
    meter.values[(3, "1.0.1.8.0.255", 2)] = axdr.DoubleLongUnsigned(123456)
    meter.values[(7, "1.0.99.1.0.255", 2)] = axdr.Array(
        axdr.Structure([axdr.OctetString(bytes(12)), axdr.DoubleLongUnsigned(i)]) for i in range(300)
    )
    return meter


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def captured() -> Iterator[list[str]]:
    handler = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("dlmskit")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.texts
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _exception_texts(error: BaseException) -> list[str]:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return texts


@pytest.fixture
def meter_port() -> Iterator[int]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = MeterServer(_meter(), challenge_factory=lambda: secrets.token_bytes(16))

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    listener = call(server.start_tcp("127.0.0.1", 0))
    try:
        yield int(listener.sockets[0].getsockname()[1])
    finally:
        call(server.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _settings(case: str, ek: bytes = EK, password: bytes = PASSWORD) -> tuple[int, ClientSettings]:
    if case == "lls":
        return 32, ClientSettings(mechanism=Mechanism.LOW, secret=password)
    if case == "md5":
        return 3, ClientSettings(mechanism=Mechanism.HIGH_MD5, secret=HLS_SECRET)
    return 1, ClientSettings(mechanism=Mechanism.HIGH_GMAC, security=_security(CLIENT_TITLE, ek))


def test_no_secret_in_logs_exceptions_or_reprs(meter_port: int, captured: list[str]) -> None:
    texts: list[str] = []
    for case in ("lls", "md5", "hls-gmac"):
        sap, settings = _settings(case)
        session = ClientSession(settings, challenge=secrets.token_bytes(16))
        link = HdlcClientLink(sap, SERVER, LARGEST_PARAMETERS)
        with Connection(TcpTransport("127.0.0.1", meter_port), link, session, timeout=5) as connection:
            events = [
                connection.request(session.get(LDN)),
                connection.request(session.set(ENERGY, axdr.DoubleLongUnsigned(1))),
                connection.request(session.action(DISCONNECT, axdr.Integer(0))),
            ]
            ProfileReader(1, 300, slice_rows=300).read(connection)
            texts += [repr(event) for event in events]
            texts += [repr(session.negotiated), repr(session.settings), repr(session.settings.security)]
            texts += [repr(vars(session)), repr(vars(session.protection)), repr(connection.negotiated)]
        texts += [repr(settings), str(settings)]
    # Failures: wrong password, wrong keys, a wrapper link to an HDLC meter (timeout), a closed port.
    failures: list[tuple[str, Any]] = [
        ("lls", _settings("lls", password=b"not-" + PASSWORD)),
        ("hls-gmac", _settings("hls-gmac", ek=WRONG_EK)),
    ]
    for case, (sap, settings) in failures:
        session = ClientSession(settings, challenge=secrets.token_bytes(16))
        link = HdlcClientLink(sap, SERVER, LARGEST_PARAMETERS)
        with pytest.raises(Exception) as failure:
            Connection(TcpTransport("127.0.0.1", meter_port), link, session, timeout=2).open()
        texts += _exception_texts(failure.value)
        logging.getLogger("dlmskit.test").exception("association failed (%s)", case, exc_info=failure.value)
    sap, settings = _settings("hls-gmac")
    session = ClientSession(settings, challenge=secrets.token_bytes(16))
    with pytest.raises(Exception) as timeout:
        Connection(TcpTransport("127.0.0.1", meter_port), WrapperLink(sap, 1), session, timeout=0.3).open()
    texts += _exception_texts(timeout.value)
    texts += [repr(SecretBytes(EK)), str(SecretBytes(AK)), repr(_meter().associations)]
    everything = "\n".join(texts + captured)
    assert captured, "nothing was logged: the capture does not work"
    leaks = [
        f"{name} as {form!r}"
        for name, secret in SECRETS.items()
        for form in forms(secret)
        if form in everything
    ]
    assert not leaks, "secrets found in logs/exceptions/reprs: " + ", ".join(leaks)


def test_the_search_finds_a_leak() -> None:
    """The forms searched for do match a careless log line (guards the test above)."""
    careless = f"keys: ek={EK.hex()} ak={AK!r} password={PASSWORD.decode()}"
    assert any(form in careless for form in forms(EK))
    assert any(form in careless for form in forms(AK))
    assert any(form in careless for form in forms(PASSWORD))
