"""HLS passes 3 and 4, the same on both sides of an association.

Mechanism 7 (HIGH_ECDSA, suites 1 and 2) answers with an ECDSA signature made with our own key pair
(``SecuritySettings.signing_key``) and checks the peer's with its public key (``peer_signing_key``).

Each side sends a challenge (the client CtoS in the AARQ, the server StoC in the AARE) and answers the other's
with f(challenge). :func:`respond` computes our f(peer's challenge); :func:`verify` checks the peer's
f(our challenge) in constant time. Both pick the function of the association's mechanism.
"""

from __future__ import annotations

from dlmskit.errors import ConfigurationError, ProtocolError
from dlmskit.security.ecc import SignatureError, ecdsa_hls_data, sign
from dlmskit.security.ecc import verify as verify_signature
from dlmskit.security.hls import (
    Mechanism,
    aes128_ecb_response,
    gmac_response,
    md5_response,
    sha1_response,
    sha256_response,
    verify_aes128_ecb_response,
    verify_gmac_response,
    verify_md5_response,
    verify_sha1_response,
    verify_sha256_response,
)
from dlmskit.session.protection import ApduProtection

__all__ = ["respond", "verify"]


def _peer_title(protection: ApduProtection, mechanism: Mechanism) -> bytes:
    if protection.peer_system_title is None:
        raise ProtocolError(
            f"{mechanism.name} needs the peer's system title (AARQ calling- / AARE responding-AP-title)"
        )
    return protection.peer_system_title


def _ecdsa_data(*, responder: bytes, challenger: bytes, challenge: bytes, own: bytes) -> bytes:
    return ecdsa_hls_data(
        responder_system_title=responder,
        challenger_system_title=challenger,
        challenge=challenge,
        responder_challenge=own,
    )


def respond(
    mechanism: Mechanism,
    peer_challenge: bytes,
    *,
    secret: bytes,
    protection: ApduProtection,
    own_challenge: bytes,
) -> bytes:
    """f(``peer_challenge``), our answer in HLS pass 3 (client) or 4 (server)."""
    if mechanism == Mechanism.HIGH_GMAC:
        return gmac_response(
            peer_challenge,
            cipher=protection.global_cipher,
            system_title=protection.own_system_title,
            invocation_counter=protection.next_counter(),
            suite=protection.settings.suite,
        )
    if mechanism == Mechanism.HIGH:
        return aes128_ecb_response(peer_challenge, secret)
    if mechanism == Mechanism.HIGH_MD5:
        return md5_response(peer_challenge, secret)
    if mechanism == Mechanism.HIGH_SHA1:
        return sha1_response(peer_challenge, secret)
    if mechanism == Mechanism.HIGH_SHA256:
        return sha256_response(
            peer_challenge,
            secret=secret,
            responder_system_title=protection.own_system_title,
            challenger_system_title=_peer_title(protection, mechanism),
            responder_challenge=own_challenge,
        )
    if mechanism == Mechanism.HIGH_ECDSA:
        key = protection.settings.signing_key
        if key is None:
            raise ConfigurationError("HIGH_ECDSA (mechanism 7) needs our own ECDSA key pair (signing_key)")
        data = _ecdsa_data(
            responder=protection.own_system_title,
            challenger=_peer_title(protection, mechanism),
            challenge=peer_challenge,
            own=own_challenge,
        )
        return sign(protection.settings.suite, key, data)
    raise ConfigurationError(f"no HLS function for mechanism {mechanism.name}")


def verify(
    mechanism: Mechanism,
    reply: bytes,
    own_challenge: bytes,
    *,
    secret: bytes,
    protection: ApduProtection,
    peer_challenge: bytes,
) -> bool:
    """True when ``reply`` is the peer's correct f(``own_challenge``)."""
    if mechanism == Mechanism.HIGH_GMAC:
        return verify_gmac_response(
            reply,
            own_challenge,
            cipher=protection.global_cipher,
            system_title=_peer_title(protection, mechanism),
            suite=protection.settings.suite,
        )
    if mechanism == Mechanism.HIGH:
        return verify_aes128_ecb_response(reply, own_challenge, secret)
    if mechanism == Mechanism.HIGH_MD5:
        return verify_md5_response(reply, own_challenge, secret)
    if mechanism == Mechanism.HIGH_SHA1:
        return verify_sha1_response(reply, own_challenge, secret)
    if mechanism == Mechanism.HIGH_SHA256:
        return verify_sha256_response(
            reply,
            own_challenge,
            secret=secret,
            responder_system_title=_peer_title(protection, mechanism),
            challenger_system_title=protection.own_system_title,
            responder_challenge=peer_challenge,
        )
    if mechanism == Mechanism.HIGH_ECDSA:
        peer_key = protection.settings.peer_signing_key
        if peer_key is None:
            raise ConfigurationError(
                "HIGH_ECDSA (mechanism 7) needs the peer's public key or certificate (peer_signing_key)"
            )
        data = _ecdsa_data(
            responder=_peer_title(protection, mechanism),
            challenger=protection.own_system_title,
            challenge=own_challenge,
            own=peer_challenge,
        )
        try:
            verify_signature(protection.settings.suite, peer_key, data, reply)
        except SignatureError:
            return False
        return True
    return False
