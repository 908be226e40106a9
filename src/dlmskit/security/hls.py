"""Authentication mechanisms and High Level Security (HLS) challenge processing.

With HLS the client sends a challenge CtoS in the AARQ and the server answers with StoC in the AARE.
In pass 3 the client proves it knows the secret by sending f(StoC) with the Association LN method
reply_to_HLS_authentication; in pass 4 the server returns f(CtoS), which the client checks. The
``*_response`` functions compute f(challenge) for one mechanism, and the ``verify_*`` functions check a
peer's f(challenge) in constant time (``hmac.compare_digest``).

=====  =============  =====================================================================
id     mechanism      f(challenge)
=====  =============  =====================================================================
2      HIGH           manufacturer specific; commonly AES-128-ECB of the challenge padded
                      with zero bytes to a multiple of 16, keyed with the 16-byte HLS secret
3      HIGH_MD5       MD5(challenge || secret)
4      HIGH_SHA1      SHA-1(challenge || secret)
5      HIGH_GMAC      SC || IC || GMAC, SC = 0x10, GMAC = first 12 bytes of the GCM tag with
                      the block cipher key, IV = responder's system title || IC and
                      AAD = SC || AK || challenge
6      HIGH_SHA256    SHA-256(secret || ST of responder || ST of challenger || challenge ||
                      responder's own challenge): f(StoC) = SHA-256(secret || ST-C || ST-S ||
                      StoC || CtoS), f(CtoS) = SHA-256(secret || ST-S || ST-C || CtoS || StoC)
7      HIGH_ECDSA     ECDSA signature r || s (suites 1 and 2) of ST-responder || ST-challenger ||
                      challenge || responder's challenge (see dlmskit.security.ecc)
=====  =============  =====================================================================

The order of the SHA-256 input is the one of the DLMS UA Green Book table of HLS mechanisms, as
implemented in the public Gurux.DLMS.Python client (``GXDLMSClient.getApplicationAssociationRequest``
concatenates secret, own system title, the server's system title, StoC and CtoS before hashing).

Hashes and ciphers come from ``cryptography``. Challenges are made by :func:`new_challenge`; the
sans-I/O session code receives them from its caller.
"""

from __future__ import annotations

import hmac
import secrets
from enum import IntEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dlmskit.errors import ConfigurationError, DecodeError, KeyFormatError
from dlmskit.security.suite0 import SECURITY_HEADER_LENGTH, TAG_LENGTH, BytesLike, GcmCipher

__all__ = [
    "MAX_CHALLENGE_LENGTH",
    "MIN_CHALLENGE_LENGTH",
    "Mechanism",
    "aes128_ecb_response",
    "gmac_response",
    "md5_response",
    "new_challenge",
    "sha1_response",
    "sha256_response",
    "verify_aes128_ecb_response",
    "verify_gmac_response",
    "verify_md5_response",
    "verify_sha1_response",
    "verify_sha256_response",
]

MIN_CHALLENGE_LENGTH = 8
MAX_CHALLENGE_LENGTH = 64

# Mechanism names are the OID {joint-iso-ccitt(2) country(16) country-name(756) identified-organization(5)
# DLMS-UA(8) authentication-mechanism-name(2) mechanism-id}, BER content bytes 60 85 74 05 08 02 id.
_MECHANISM_OID_PREFIX = bytes.fromhex("608574050802")
_GMAC_SECURITY_CONTROL = 0x10
_AES_BLOCK = 16


class Mechanism(IntEnum):
    """Authentication mechanism ids (the last arc of the mechanism-name OID)."""

    NONE = 0
    LOW = 1
    HIGH = 2
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7

    @property
    def oid(self) -> bytes:
        """The mechanism-name OID content bytes (``60 85 74 05 08 02 id``), as in AARQ tag 8B."""
        return _MECHANISM_OID_PREFIX + bytes((self.value,))

    @classmethod
    def from_oid(cls, data: BytesLike) -> Mechanism:
        """The mechanism named by OID content bytes; anything else raises ``DecodeError``."""
        raw = bytes(data)
        if len(raw) != len(_MECHANISM_OID_PREFIX) + 1 or not raw.startswith(_MECHANISM_OID_PREFIX):
            raise DecodeError(
                "not a DLMS authentication mechanism name",
                expected="OID 60 85 74 05 08 02 id",
                found=raw.hex(" ").upper() or "nothing",
            )
        try:
            return cls(raw[-1])
        except ValueError:
            raise DecodeError(
                "unknown authentication mechanism",
                offset=len(raw) - 1,
                expected="id 0..7",
                found=str(raw[-1]),
            ) from None


def new_challenge(length: int = 16) -> bytes:
    """A random challenge (CtoS or StoC) of 8 to 64 bytes from ``secrets``."""
    if not MIN_CHALLENGE_LENGTH <= length <= MAX_CHALLENGE_LENGTH:
        raise ConfigurationError(
            f"an HLS challenge has {MIN_CHALLENGE_LENGTH} to {MAX_CHALLENGE_LENGTH} bytes, not {length}"
        )
    return secrets.token_bytes(length)


def _digest(algorithm: hashes.HashAlgorithm, *parts: BytesLike) -> bytes:
    digest = hashes.Hash(algorithm)
    for part in parts:
        digest.update(bytes(part))
    return digest.finalize()


def aes128_ecb_response(challenge: BytesLike, secret: BytesLike) -> bytes:
    """Mechanism 2 (HIGH) as most meters do it: AES-128-ECB of the zero-padded challenge.

    The challenge is padded with zero bytes to a multiple of 16 and every block is encrypted with the
    16-byte HLS secret as key; the result has the padded length. Mechanism 2 is manufacturer
    specific: check the meter's documentation.
    """
    if len(secret) != _AES_BLOCK:
        raise KeyFormatError(
            f"the HLS secret of mechanism 2 is an AES-128 key of 16 bytes, got {len(secret)}"
        )
    padded = bytes(challenge) + bytes(-len(challenge) % _AES_BLOCK)
    encryptor = Cipher(algorithms.AES(bytes(secret)), modes.ECB()).encryptor()  # noqa: S305 - prescribed
    return encryptor.update(padded) + encryptor.finalize()


def md5_response(challenge: BytesLike, secret: BytesLike) -> bytes:
    """Mechanism 3 (HIGH_MD5): MD5(challenge || secret)."""
    return _digest(hashes.MD5(), challenge, secret)  # noqa: S303 - the mechanism prescribes MD5


def sha1_response(challenge: BytesLike, secret: BytesLike) -> bytes:
    """Mechanism 4 (HIGH_SHA1): SHA-1(challenge || secret)."""
    return _digest(hashes.SHA1(), challenge, secret)  # noqa: S303 - the mechanism prescribes SHA-1


def sha256_response(
    challenge: BytesLike,
    *,
    secret: BytesLike,
    responder_system_title: bytes,
    challenger_system_title: bytes,
    responder_challenge: BytesLike,
) -> bytes:
    """Mechanism 6 (HIGH_SHA256): f(challenge) computed by the responder.

    ``SHA-256(secret || responder_system_title || challenger_system_title || challenge ||
    responder_challenge)``, where ``responder_challenge`` is the challenge the responder sent itself.
    The client's f(StoC) is ``sha256_response(StoC, responder_system_title=ST-C,
    challenger_system_title=ST-S, responder_challenge=CtoS, ...)``.
    """
    return _digest(
        hashes.SHA256(),
        secret,
        responder_system_title,
        challenger_system_title,
        challenge,
        responder_challenge,
    )


def gmac_response(
    challenge: BytesLike, *, cipher: GcmCipher, system_title: bytes, invocation_counter: int, suite: int = 0
) -> bytes:
    """Mechanism 5 (HIGH_GMAC): ``SC || IC || GMAC`` (17 bytes), SC = ``0x10`` with the suite id (0x10 in
    suite 0, 0x11 and 0x12 in suites 1 and 2).

    ``system_title`` and ``invocation_counter`` are the responder's own (the counter is used up like
    any other protected message); ``cipher`` holds the global block cipher and authentication keys.
    """
    control = _GMAC_SECURITY_CONTROL | suite
    tag = cipher.authentication_tag(control, system_title, invocation_counter, challenge)
    return bytes((control,)) + invocation_counter.to_bytes(4, "big") + tag


def verify_aes128_ecb_response(response: BytesLike, challenge: BytesLike, secret: BytesLike) -> bool:
    """The peer's mechanism 2 answer to ``challenge`` is right."""
    return hmac.compare_digest(bytes(response), aes128_ecb_response(challenge, secret))


def verify_md5_response(response: BytesLike, challenge: BytesLike, secret: BytesLike) -> bool:
    """The peer's MD5 answer to ``challenge`` is right."""
    return hmac.compare_digest(bytes(response), md5_response(challenge, secret))


def verify_sha1_response(response: BytesLike, challenge: BytesLike, secret: BytesLike) -> bool:
    """The peer's SHA-1 answer to ``challenge`` is right."""
    return hmac.compare_digest(bytes(response), sha1_response(challenge, secret))


def verify_sha256_response(
    response: BytesLike,
    challenge: BytesLike,
    *,
    secret: BytesLike,
    responder_system_title: bytes,
    challenger_system_title: bytes,
    responder_challenge: BytesLike,
) -> bool:
    """The peer's SHA-256 answer to ``challenge`` is right (arguments as in :func:`sha256_response`).

    A client checking the server's f(CtoS) passes ``challenge=CtoS``, ``responder_system_title=ST-S``,
    ``challenger_system_title=ST-C`` and ``responder_challenge=StoC``.
    """
    expected = sha256_response(
        challenge,
        secret=secret,
        responder_system_title=responder_system_title,
        challenger_system_title=challenger_system_title,
        responder_challenge=responder_challenge,
    )
    return hmac.compare_digest(bytes(response), expected)


def verify_gmac_response(
    response: BytesLike, challenge: BytesLike, *, cipher: GcmCipher, system_title: bytes, suite: int = 0
) -> bool:
    """The peer's f(challenge) for mechanism 5 is right.

    ``system_title`` is the peer's (the responder's); the invocation counter is read from the
    response (bytes 1-4), and the caller may check it against replays.
    """
    raw = bytes(response)
    if len(raw) != SECURITY_HEADER_LENGTH + TAG_LENGTH or raw[0] != _GMAC_SECURITY_CONTROL | suite:
        return False
    expected = gmac_response(
        challenge,
        cipher=cipher,
        system_title=system_title,
        invocation_counter=int.from_bytes(raw[1:5], "big"),
        suite=suite,
    )
    return hmac.compare_digest(raw, expected)
