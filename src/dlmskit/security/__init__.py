"""dlmskit.security: key parsing, suite 0 AES-GCM, suites 1/2 ECDSA and ECDH, ciphered APDUs, HLS, key wrap, counters.

Level 3 of dlmskit: imports only :mod:`dlmskit.errors` (and ``cryptography``). Everything here is
sans-I/O except :mod:`dlmskit.security.invocation`, whose stores persist counters to files.
"""

from __future__ import annotations

from dlmskit.security.ciphering import (
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    CipheredApdu,
    CipheringKind,
    DecryptedApdu,
    ciphered_tag_for,
    decrypt_apdu,
    encrypt_apdu,
    is_ciphered_tag,
    plain_tag_for,
)
from dlmskit.security.ecc import SecuritySuite, SignatureError
from dlmskit.security.hls import (
    Mechanism,
    aes128_ecb_response,
    gmac_response,
    md5_response,
    new_challenge,
    sha1_response,
    sha256_response,
    verify_aes128_ecb_response,
    verify_gmac_response,
    verify_md5_response,
    verify_sha1_response,
    verify_sha256_response,
)
from dlmskit.security.invocation import (
    MAX_INVOCATION_COUNTER,
    FileInvocationCounterStore,
    InvocationCounterStore,
    MemoryInvocationCounterStore,
    ReceivedCounterTracker,
    SqliteInvocationCounterStore,
)
from dlmskit.security.keys import SecretBytes, parse_hex, parse_key, parse_system_title
from dlmskit.security.keywrap import KeyId, unwrap_key, wrap_key
from dlmskit.security.suite0 import TAG_LENGTH, GcmCipher, SecurityControl, protect, unprotect

__all__ = [
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "MAX_INVOCATION_COUNTER",
    "TAG_LENGTH",
    "CipheredApdu",
    "CipheringKind",
    "DecryptedApdu",
    "FileInvocationCounterStore",
    "GcmCipher",
    "InvocationCounterStore",
    "KeyId",
    "Mechanism",
    "MemoryInvocationCounterStore",
    "ReceivedCounterTracker",
    "SecretBytes",
    "SecurityControl",
    "SecuritySuite",
    "SignatureError",
    "SqliteInvocationCounterStore",
    "aes128_ecb_response",
    "ciphered_tag_for",
    "decrypt_apdu",
    "encrypt_apdu",
    "gmac_response",
    "is_ciphered_tag",
    "md5_response",
    "new_challenge",
    "parse_hex",
    "parse_key",
    "parse_system_title",
    "plain_tag_for",
    "protect",
    "sha1_response",
    "sha256_response",
    "unprotect",
    "unwrap_key",
    "verify_aes128_ecb_response",
    "verify_gmac_response",
    "verify_md5_response",
    "verify_sha1_response",
    "verify_sha256_response",
    "wrap_key",
]
