"""Suite-0 ciphering of one small APDU, per call: dlmskit beside gurux-dlms, dlms-cosem and bare ``AESGCM``.

The APDU is a 20-byte get-response-normal (an octet-string of 14 bytes), protected with SC 0x30
(authenticated and encrypted) and the Green Book keys, as the meter sends it to the client in every GET of
a session. Each library is called as its users call it, with its cipher or key objects made once outside
the timed call where its API allows:

- dlmskit: ``encrypt_apdu`` / ``decrypt_apdu`` with a ``GcmCipher`` (glo-get-response, CC), and the
  session layer's ``ApduProtection.unwrap`` (what a client runs per received APDU: decipher, policy check,
  the replay check of the received counter);
- gurux-dlms: ``GXDLMSChippering.encryptAesGcm`` / ``decryptAesGcm`` (AES-GCM in pure Python; glo-, CC);
- dlms-cosem: ``security.encrypt`` / ``decrypt`` with ``GeneralGlobalCipher`` (DB, its only ciphered APDU);
- ``AESGCM``: ``cryptography``'s primitive alone, ``encrypt`` and, for decryption, ``decrypt`` with the
  full 16-byte tag (which a DLMS receiver, holding 12 bytes of it, cannot use as is).

Every result is checked against the reference (``bench/workload.py``'s construction with ``cryptography``
only) before it is timed. gurux-dlms and dlms-cosem are only there in ``bench/.venv`` (``make bench``)::

    bench/.venv/bin/python -m bench.ciphering            # the table, with the load average
    .venv/bin/python -m bench.ciphering                  # dlmskit and AESGCM only

Timing is :func:`bench.timing.measure` (median of runs of at least 5 ms, after a warm-up) on the CPU time of
this process (``--wall`` for wall time): the machine is shared, and CPU time is what other work disturbs
least.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import lib_dlms_cosem, lib_gurux
from bench.lib_gurux import quiet
from bench.timing import measure
from bench.workload import AK, CLIENT_TITLE, EK, INVOCATION_COUNTER, SECURITY_CONTROL, SERVER_TITLE
from dlmskit.security.ciphering import decrypt_apdu, encrypt_apdu
from dlmskit.security.invocation import MemoryInvocationCounterStore
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher
from dlmskit.session.protection import ApduProtection, SecurityPolicy, SecuritySettings

__all__ = ["PLAIN", "main", "rows"]

PLAIN = bytes.fromhex("C401C100090E") + b"DLMSKIT-000001"
"""get-response-normal, invoke-id 1, data: octet-string of 14 bytes; 20 bytes in all."""
HEADER = bytes((SECURITY_CONTROL,)) + INVOCATION_COUNTER.to_bytes(4, "big")
NONCE = SERVER_TITLE + HEADER[1:]
SEALED = AESGCM(EK).encrypt(NONCE, PLAIN, HEADER[:1] + AK)
BODY = HEADER + SEALED[:-4]
GLO = bytes((0xCC, len(BODY))) + BODY
GENERAL_GLO = bytes((0xDB, len(SERVER_TITLE))) + SERVER_TITLE + bytes((len(BODY),)) + BODY


@dataclass(frozen=True)
class Row:
    """One timed call: ``library`` doing ``operation``; ``seconds`` per call (None: not available)."""

    library: str
    operation: str
    how: str
    seconds: float | None
    note: str = ""


def _dlmskit() -> list[tuple[str, str, str, Callable[[], object], bytes]]:
    cipher = GcmCipher(EK, AK)

    def encrypt() -> bytes:
        return encrypt_apdu(
            PLAIN,
            kind="glo",
            sc=SECURITY_CONTROL,
            system_title=SERVER_TITLE,
            ic=INVOCATION_COUNTER,
            keys=cipher,
        )

    def decrypt() -> bytes:
        return decrypt_apdu(GLO, system_title=SERVER_TITLE, keys=cipher).plain

    settings = SecuritySettings(
        policy=SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        system_title=CLIENT_TITLE,
        block_cipher_key=SecretBytes(EK),
        authentication_key=SecretBytes(AK),
        invocation_counters=MemoryInvocationCounterStore(),
    )
    protection = ApduProtection(settings)
    protection.peer_system_title = SERVER_TITLE
    counters = iter(range(INVOCATION_COUNTER, 0xFFFFFFFF))
    server_cipher = GcmCipher(EK, AK)
    # Every call receives a new counter (the replay check refuses a repeat): the APDUs are made beforehand.
    prepared: list[bytes] = []

    def unwrap() -> bytes:
        if not prepared:
            prepared.extend(
                encrypt_apdu(
                    PLAIN,
                    kind="glo",
                    sc=0x30,
                    system_title=SERVER_TITLE,
                    ic=next(counters),
                    keys=server_cipher,
                )
                for _ in range(20000)
            )
            prepared.reverse()
        return protection.unwrap(prepared.pop())[0]

    return [
        ("encrypt", "encrypt_apdu (glo-, CC) with a GcmCipher", "encrypt", encrypt, GLO),
        ("decrypt", "decrypt_apdu (glo-, CC) with a GcmCipher", "decrypt", decrypt, PLAIN),
        ("decrypt", "ApduProtection.unwrap: decipher, policy, replay check", "unwrap", unwrap, PLAIN),
    ]


def _aesgcm() -> list[tuple[str, str, str, Callable[[], object], bytes]]:
    aead = AESGCM(EK)
    aad = HEADER[:1] + AK
    return [
        ("encrypt", "AESGCM.encrypt", "encrypt", lambda: aead.encrypt(NONCE, PLAIN, aad), SEALED),
        (
            "decrypt",
            "AESGCM.decrypt, full 16-byte tag",
            "decrypt",
            lambda: aead.decrypt(NONCE, SEALED, aad),
            PLAIN,
        ),
    ]


def _gurux() -> list[tuple[str, str, str, Callable[[], object], bytes]]:
    gx = lib_gurux._module("")
    enums = lib_gurux._module("enums")
    chippering = lib_gurux._module("GXDLMSChippering").GXDLMSChippering
    aes_gcm_parameter = lib_gurux._module("AesGcmParameter").AesGcmParameter

    def encrypt() -> bytes:
        parameter = aes_gcm_parameter(0xCC, SERVER_TITLE, EK, AK)
        parameter.security = enums.Security.AUTHENTICATION_ENCRYPTION
        parameter.invocationCounter = INVOCATION_COUNTER
        return bytes(chippering.encryptAesGcm(parameter, PLAIN))

    def decrypt() -> bytes:
        parameter = aes_gcm_parameter(0, SERVER_TITLE, EK, AK)
        return bytes(chippering.decryptAesGcm(None, parameter, gx.GXByteBuffer(GLO)))

    return [
        ("encrypt", "GXDLMSChippering.encryptAesGcm (pure Python AES-GCM)", "encrypt", encrypt, GLO),
        (
            "decrypt",
            "GXDLMSChippering.decryptAesGcm (prints; sent to a null stream)",
            "decrypt",
            quiet(decrypt),
            PLAIN,
        ),
    ]


def _dlms_cosem() -> list[tuple[str, str, str, Callable[[], object], bytes]]:
    security = lib_dlms_cosem._module("security")
    cipher = lib_dlms_cosem._module("protocol.xdlms.general_global_cipher").GeneralGlobalCipher
    control = security.SecurityControlField(0, authenticated=True, encrypted=True)

    def encrypt() -> bytes:
        ciphered = security.encrypt(control, SERVER_TITLE, INVOCATION_COUNTER, EK, PLAIN, AK)
        return bytes(cipher(SERVER_TITLE, control, INVOCATION_COUNTER, ciphered).to_bytes())

    def decrypt() -> bytes:
        event = cipher.from_bytes(GENERAL_GLO)
        return bytes(
            security.decrypt(
                event.security_control,
                event.system_title,
                event.invocation_counter,
                EK,
                event.ciphered_text,
                AK,
            )
        )

    how = "general-glo-ciphering (DB), its only ciphered APDU"
    return [
        (
            "encrypt",
            f"security.encrypt + GeneralGlobalCipher.to_bytes: {how}",
            "encrypt",
            encrypt,
            GENERAL_GLO,
        ),
        ("decrypt", f"GeneralGlobalCipher.from_bytes + security.decrypt: {how}", "decrypt", decrypt, PLAIN),
    ]


def rows(budget: float = 1.0, clock: Callable[[], float] = time.process_time) -> list[Row]:
    """Every library available here, checked then timed."""
    libraries: list[
        tuple[str, Callable[[], list[tuple[str, str, str, Callable[[], object], bytes]]] | None]
    ] = [
        ("dlmskit", _dlmskit),
        ("AESGCM", _aesgcm),
        ("gurux-dlms", _gurux if lib_gurux.available() else None),
        ("dlms-cosem", _dlms_cosem if lib_dlms_cosem.available() else None),
    ]
    found: list[Row] = []
    for library, make in libraries:
        if make is None:
            found.append(Row(library, "-", "", None, "not installed here (bench/.venv has it)"))
            continue
        for operation, how, _kind, run, expected in make():
            got = run()
            if got != expected:
                found.append(Row(library, operation, how, None, f"wrong result {bytes(got).hex()}"))  # type: ignore[arg-type]
                continue
            found.append(Row(library, operation, how, measure(run, budget=budget, clock=clock).seconds))
    return found


def _show(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per row")
    parser.add_argument("--wall", action="store_true", help="wall time instead of process CPU time")
    args = parser.parse_args(argv)
    start = os.getloadavg()[0]
    found = rows(args.budget, time.perf_counter if args.wall else time.process_time)
    reference = {
        row.operation: row.seconds
        for row in found
        if row.library == "dlmskit" and row.how.startswith(("encrypt_apdu", "decrypt_apdu"))
    }
    clock = "wall time" if args.wall else "process CPU time"
    print(f"Suite 0, SC 0x30, {len(PLAIN)}-byte get-response ({len(GLO)} bytes ciphered), {clock} per call")
    print("| library | operation | how | time | vs dlmskit |")
    print("|---|---|---|---|---|")
    for row in found:
        if row.seconds is None:
            print(f"| {row.library} | {row.operation} | {row.how} | n/a | {row.note} |")
            continue
        base = reference.get(row.operation)
        ratio = f"{row.seconds / base:.2g}×" if base else ""
        print(f"| {row.library} | {row.operation} | {row.how} | {_show(row.seconds)} | {ratio} |")
    print(
        f"CPython {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"load average {start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )


if __name__ == "__main__":
    main()
