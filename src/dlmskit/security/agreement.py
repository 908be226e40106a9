"""The Ephemeral Unified Model C(2e, 0s, ECC CDH): new global keys through Security setup key_agreement.

Security setup (class 64, version 1) method 3 ``key_agreement`` takes ``array of {key_id,
key_ciphered_data}``. For each key, the client sends an ephemeral public key signed with its signing key
(``key_ciphered_data = Q_e,U || signature of Q_e,U``); the meter answers with its own ephemeral public key,
signed the same way. Each side computes ``Z = ECDH(own ephemeral, peer's ephemeral)`` and derives the new
key with the concatenation KDF, ``OtherInfo = AlgorithmID(AES-GCM) || ST-client || ST-meter``
(:func:`dlmskit.security.ecc.other_info`). The signatures bind the ephemeral keys to the parties' signing
keys (certificates), so a man in the middle cannot substitute its own.

:func:`start` is the client's first half, :func:`respond` the meter's whole part and :func:`finish` the
client's second half; all sans-I/O.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.errors import KeyFormatError
from dlmskit.security.ecc import (
    SecuritySuite,
    decode_public_key,
    derive_key,
    ecdh,
    encode_public_key,
    generate_private_key,
    other_info,
    sign,
    verify,
)
from dlmskit.security.suite0 import BytesLike

__all__ = ["finish", "respond", "start"]


def _signed_public_key(
    suite: int | SecuritySuite, ephemeral: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey
) -> bytes:
    public = encode_public_key(ephemeral.public_key())
    return public + sign(suite, signer, public)


def _peer_ephemeral(
    suite: int | SecuritySuite, data: BytesLike, signer: ec.EllipticCurvePublicKey
) -> ec.EllipticCurvePublicKey:
    size = SecuritySuite(suite).parameters.size
    raw = bytes(data)
    if len(raw) != 4 * size:
        raise KeyFormatError(
            f"key_agreement data is an ephemeral public key and its signature, {4 * size} bytes, got {len(raw)}"
        )
    verify(suite, signer, raw[: 2 * size], raw[2 * size :])
    return decode_public_key(suite, raw[: 2 * size])


def start(
    suite: int | SecuritySuite, signing_key: ec.EllipticCurvePrivateKey
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """The client's ephemeral key and the ``key_ciphered_data`` to send (``Q_e,U || signature``)."""
    ephemeral = generate_private_key(suite)
    return ephemeral, _signed_public_key(suite, ephemeral, signing_key)


def respond(
    suite: int | SecuritySuite,
    request_data: BytesLike,
    *,
    client_signing_key: ec.EllipticCurvePublicKey,
    server_signing_key: ec.EllipticCurvePrivateKey,
    client_system_title: bytes,
    server_system_title: bytes,
) -> tuple[bytes, bytes]:
    """The meter's part: ``(new key, key_ciphered_data to answer)``.

    Raises :class:`~dlmskit.security.ecc.SignatureError` when the client's signature does not verify.
    """
    peer = _peer_ephemeral(suite, request_data, client_signing_key)
    ephemeral = generate_private_key(suite)
    algorithm = SecuritySuite(suite).parameters.gcm_algorithm
    key = derive_key(
        suite, ecdh(ephemeral, peer), other_info(algorithm, client_system_title, server_system_title)
    )
    return key, _signed_public_key(suite, ephemeral, server_signing_key)


def finish(
    suite: int | SecuritySuite,
    ephemeral: ec.EllipticCurvePrivateKey,
    response_data: BytesLike,
    *,
    server_signing_key: ec.EllipticCurvePublicKey,
    client_system_title: bytes,
    server_system_title: bytes,
) -> bytes:
    """The client's second half: the new key, once the meter's signed ephemeral key verifies."""
    peer = _peer_ephemeral(suite, response_data, server_signing_key)
    algorithm = SecuritySuite(suite).parameters.gcm_algorithm
    return derive_key(
        suite, ecdh(ephemeral, peer), other_info(algorithm, client_system_title, server_system_title)
    )
