"""Security suites 1 and 2: ECDSA signatures, ECDH and the concatenation KDF (DLMS UA Green Book).

=====  ==========  =======  =============  ==============  ==================
suite  curve       hash     block cipher   key wrap        public key / sig.
=====  ==========  =======  =============  ==============  ==================
1      NIST P-256  SHA-256  AES-GCM-128    AES-128 wrap    64 / 64 bytes
2      NIST P-384  SHA-384  AES-GCM-256    AES-256 wrap    96 / 96 bytes
=====  ==========  =======  =============  ==============  ==================

DLMS carries public keys as the bare coordinates ``X || Y`` (no ``04`` prefix) and signatures as
``r || s``, each value left-padded to the curve size; :func:`encode_signature` and
:func:`decode_signature` convert to and from the DER form ``cryptography`` uses.

Key agreement (NIST SP 800-56A, ECC CDH) gives the shared secret ``Z``; the single-step
concatenation KDF turns it into keys, with ``OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo``
(SuppPubInfo and SuppPrivInfo absent):

* ``AlgorithmID``: the content bytes of the cryptographic algorithm id of the key being made,
  2.16.756.5.8.3.x (:class:`AlgorithmId`, ``60 85 74 05 08 03 x``);
* ``PartyUInfo``: the system title of party U (the initiator, the sender);
* ``PartyVInfo``: the system title of party V (the responder, the recipient); in the Static Unified
  Model, whose static keys give the same ``Z`` every time, it is preceded by the length and value of
  the transaction-id, which makes each message's key different.

The Static Unified Model layout (``AlgorithmID || originator system title || length of
transaction-id || transaction-id || recipient system title``) is the one the public GB Smart Metering
"Great Britain Companion Specification" (GBCS v1, "Calculating unique Shared Secret Keys") states for
DLMS general-ciphering; that text prints the AlgorithmID for AES-GCM-128 as ``60857406080300``,
a transcription slip for the OID 2.16.756.5.8.3.0, whose content bytes are ``60 85 74 05 08 03 00``
(the same ``60 85 74 05 08`` arc as the application context and mechanism names).

Every private operation goes through ``cryptography`` (OpenSSL): the ECDSA nonce comes from its
CSPRNG, never from :mod:`random`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from dlmskit.errors import ConfigurationError, KeyFormatError, SecurityError
from dlmskit.security.keys import SYSTEM_TITLE_LENGTH
from dlmskit.security.suite0 import BytesLike

__all__ = [
    "AlgorithmId",
    "SecuritySuite",
    "SignatureError",
    "SuiteParameters",
    "decode_public_key",
    "decode_signature",
    "derive_key",
    "ecdh",
    "ecdsa_hls_data",
    "encode_public_key",
    "encode_signature",
    "generate_private_key",
    "other_info",
    "private_key_from_scalar",
    "sign",
    "verify",
]


class SignatureError(SecurityError):
    """An ECDSA signature did not verify: wrong key, wrong data, or tampered signature."""


class AlgorithmId(Enum):
    """Cryptographic algorithm ids 2.16.756.5.8.3.x (BER content bytes), the KDF's ``AlgorithmID``."""

    AES_GCM_128 = bytes.fromhex("60857405080300")
    AES_GCM_256 = bytes.fromhex("60857405080301")
    AES_WRAP_128 = bytes.fromhex("60857405080302")
    AES_WRAP_256 = bytes.fromhex("60857405080303")


@dataclass(frozen=True, slots=True)
class SuiteParameters:
    """What a security suite uses: curve, hash, sizes and the algorithm ids of its keys."""

    curve: ec.EllipticCurve
    hash_name: str
    size: int  # bytes of one coordinate, one half of a signature
    key_length: int  # bytes of a block cipher key
    gcm_algorithm: AlgorithmId
    wrap_algorithm: AlgorithmId

    def hash(self) -> hashes.HashAlgorithm:
        """A new hash object of the suite (SHA-256 or SHA-384)."""
        return hashes.SHA256() if self.hash_name == "SHA-256" else hashes.SHA384()


class SecuritySuite(IntEnum):
    """Security suite ids of the security control byte and Security setup attribute 3."""

    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA384 = 2

    @property
    def parameters(self) -> SuiteParameters:
        """Curve, hash and sizes of suite 1 or 2; suite 0 has no public-key algorithms."""
        try:
            return _PARAMETERS[self]
        except KeyError:
            raise ConfigurationError(
                "security suite 0 has no public-key algorithms (ECDSA, ECDH): use suite 1 or 2"
            ) from None


_PARAMETERS = {
    SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256: SuiteParameters(
        ec.SECP256R1(), "SHA-256", 32, 16, AlgorithmId.AES_GCM_128, AlgorithmId.AES_WRAP_128
    ),
    SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384: SuiteParameters(
        ec.SECP384R1(), "SHA-384", 48, 32, AlgorithmId.AES_GCM_256, AlgorithmId.AES_WRAP_256
    ),
}


def _suite(suite: int | SecuritySuite) -> SuiteParameters:
    try:
        return SecuritySuite(suite).parameters
    except ValueError:
        raise ConfigurationError(f"unknown security suite {suite}: dlmskit knows suites 0, 1 and 2") from None


def _check_curve(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, params: SuiteParameters
) -> None:
    if key.curve.name != params.curve.name:
        raise KeyFormatError(
            f"key is on curve {key.curve.name}, the security suite needs {params.curve.name}"
        )


def generate_private_key(suite: int | SecuritySuite) -> ec.EllipticCurvePrivateKey:
    """A new private key on the suite's curve (P-256 or P-384)."""
    return ec.generate_private_key(_suite(suite).curve)


def private_key_from_scalar(suite: int | SecuritySuite, scalar: BytesLike) -> ec.EllipticCurvePrivateKey:
    """The private key with the big-endian scalar ``scalar`` (as DLMS and test vectors give it)."""
    params = _suite(suite)
    raw = bytes(scalar)
    if len(raw) != params.size:
        raise KeyFormatError(f"a {params.curve.name} private key has {params.size} bytes, got {len(raw)}")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), params.curve)
    except ValueError:
        raise KeyFormatError(f"private key scalar is out of range for {params.curve.name}") from None


def encode_public_key(key: ec.EllipticCurvePublicKey) -> bytes:
    """``X || Y`` of a public key, each coordinate left-padded to the curve size."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)[1:]


def decode_public_key(suite: int | SecuritySuite, data: BytesLike) -> ec.EllipticCurvePublicKey:
    """The public key ``X || Y`` (or ``04 || X || Y``); a point not on the curve is refused."""
    params = _suite(suite)
    raw = bytes(data)
    if len(raw) == 2 * params.size:
        raw = b"\x04" + raw
    if len(raw) != 2 * params.size + 1 or raw[0] != 4:
        raise KeyFormatError(
            f"a {params.curve.name} public key is X || Y, {2 * params.size} bytes, got {len(bytes(data))}"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(params.curve, raw)
    except ValueError:
        raise KeyFormatError(f"public key is not a point on {params.curve.name}") from None


def encode_signature(der: bytes, size: int) -> bytes:
    """``r || s`` (each ``size`` bytes) of a DER ``Ecdsa-Sig-Value``."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def decode_signature(raw: BytesLike, size: int) -> bytes:
    """The DER ``Ecdsa-Sig-Value`` of ``r || s``; a wrong length raises :class:`SignatureError`."""
    data = bytes(raw)
    if len(data) != 2 * size:
        raise SignatureError(f"an ECDSA signature here is r || s, {2 * size} bytes, got {len(data)}")
    return encode_dss_signature(int.from_bytes(data[:size], "big"), int.from_bytes(data[size:], "big"))


def sign(suite: int | SecuritySuite, key: ec.EllipticCurvePrivateKey, data: BytesLike) -> bytes:
    """The ECDSA signature ``r || s`` of ``data`` with the suite's hash (nonce from OpenSSL's CSPRNG)."""
    params = _suite(suite)
    _check_curve(key, params)
    der = key.sign(bytes(data), ec.ECDSA(params.hash()))
    return encode_signature(der, params.size)


def verify(
    suite: int | SecuritySuite, key: ec.EllipticCurvePublicKey, data: BytesLike, signature: BytesLike
) -> None:
    """Check the signature ``r || s`` of ``data``; raises :class:`SignatureError` when it does not verify."""
    params = _suite(suite)
    _check_curve(key, params)
    der = decode_signature(signature, params.size)
    try:
        key.verify(der, bytes(data), ec.ECDSA(params.hash()))
    except InvalidSignature:
        raise SignatureError(
            f"ECDSA ({params.curve.name}, {params.hash_name}) signature does not verify: "
            "wrong public key or certificate, wrong signed data, or a tampered signature"
        ) from None


def ecdh(private_key: ec.EllipticCurvePrivateKey, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The ECC CDH shared secret ``Z`` (the x coordinate, curve size bytes). Keep it secret."""
    if private_key.curve.name != peer_public_key.curve.name:
        raise KeyFormatError(
            f"key agreement needs both keys on one curve, got {private_key.curve.name} and "
            f"{peer_public_key.curve.name}"
        )
    return private_key.exchange(ec.ECDH(), peer_public_key)


def _title(value: BytesLike, what: str) -> bytes:
    raw = bytes(value)
    if len(raw) != SYSTEM_TITLE_LENGTH:
        raise KeyFormatError(f"{what} must be {SYSTEM_TITLE_LENGTH} bytes, got {len(raw)}")
    return raw


def other_info(
    algorithm: AlgorithmId,
    party_u_system_title: BytesLike,
    party_v_system_title: BytesLike,
    *,
    transaction_id: BytesLike | None = None,
) -> bytes:
    """The KDF's ``OtherInfo``: ``AlgorithmID || ID_U || [len(tid) || tid ||] ID_V``.

    ``transaction_id`` is given for the Static Unified Model only (see the module docstring).
    """
    parts = [algorithm.value, _title(party_u_system_title, "system title of party U")]
    if transaction_id is not None:
        tid = bytes(transaction_id)
        if not 1 <= len(tid) <= 0x7F:
            raise KeyFormatError(f"transaction-id has 1 to 127 bytes, got {len(tid)}")
        parts += [bytes((len(tid),)), tid]
    parts.append(_title(party_v_system_title, "system title of party V"))
    return b"".join(parts)


def derive_key(suite: int | SecuritySuite, shared_secret: BytesLike, info: bytes, length: int = 0) -> bytes:
    """The NIST SP 800-56A single-step (concatenation) KDF of ``Z`` with the suite's hash.

    ``info`` is :func:`other_info`; ``length`` defaults to the suite's block cipher key length.
    """
    params = _suite(suite)
    kdf = ConcatKDFHash(algorithm=params.hash(), length=length or params.key_length, otherinfo=info)
    return kdf.derive(bytes(shared_secret))


def ecdsa_hls_data(
    *,
    responder_system_title: bytes,
    challenger_system_title: bytes,
    challenge: BytesLike,
    responder_challenge: BytesLike,
) -> bytes:
    """The data signed in HLS mechanism 7 (HIGH_ECDSA): ``ST-responder || ST-challenger || challenge ||
    responder's own challenge``.

    The client's f(StoC) signs ``ST-C || ST-S || StoC || CtoS`` and the server's f(CtoS) signs
    ``ST-S || ST-C || CtoS || StoC`` (Green Book HLS table; the same order as mechanism 6 without the
    secret, and as the public Gurux.DLMS.Python client builds it).
    """
    return b"".join(
        (
            _title(responder_system_title, "responder system title"),
            _title(challenger_system_title, "challenger system title"),
            bytes(challenge),
            bytes(responder_challenge),
        )
    )
