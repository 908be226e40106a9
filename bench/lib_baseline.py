"""The ciphering baseline: ``cryptography``'s ``AESGCM`` called directly, with the key schedule made once.

Encryption builds the same glo- APDU as the libraries (tag, length, SC, IC, C, 12-byte T) with no checks
around it. ``AESGCM.decrypt`` can only verify a full 16-byte tag, so the decryption baseline deciphers
``C || T`` with the full tag of the same APDU: the cost of the primitive itself, which a DLMS library
(holding a 12-byte tag) cannot use as is.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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

__all__ = ["implementations"]


def implementations(work: Workload) -> dict[str, Runnable | NotAvailable]:
    """The four ciphering cases."""
    aead = AESGCM(EK)
    aad = bytes((SECURITY_CONTROL,)) + AK
    counter = INVOCATION_COUNTER.to_bytes(4, "big")

    def encrypt(plain: bytes, system_title: bytes) -> Callable[[], object]:
        tag = {0xC0: 0xC8, 0xC4: 0xCC}[plain[0]]
        size = 5 + len(plain) + 12
        prefix = bytes((tag,)) + (bytes((size,)) if size < 0x80 else b"\x82" + size.to_bytes(2, "big"))
        header = prefix + aad[:1] + counter

        def run() -> object:
            return header + aead.encrypt(system_title + counter, plain, aad)[:-4]

        return run

    def decrypt(plain: bytes, system_title: bytes) -> Callable[[], object]:
        nonce = system_title + counter
        sealed = aead.encrypt(nonce, plain, aad)
        return lambda: aead.decrypt(nonce, sealed, aad)

    note = "AESGCM.decrypt with the full 16-byte tag (the primitive alone)"
    return {
        "encrypt-request": Runnable(
            encrypt(GET_REQUEST, CLIENT_TITLE), expect(work.glo_apdu(GET_REQUEST, CLIENT_TITLE))
        ),
        "decrypt-request": Runnable(decrypt(GET_REQUEST, CLIENT_TITLE), expect(GET_REQUEST), note),
        "encrypt-response": Runnable(
            encrypt(work.response_plain, SERVER_TITLE),
            expect(work.glo_apdu(work.response_plain, SERVER_TITLE)),
        ),
        "decrypt-response": Runnable(
            decrypt(work.response_plain, SERVER_TITLE), expect(work.response_plain), note
        ),
    }
