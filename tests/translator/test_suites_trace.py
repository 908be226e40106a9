"""The translator with suites 1/2: general-signing verified and general-ciphering deciphered with agreed keys."""

from __future__ import annotations

from tests.session.test_ecdsa import CLIENT_KEYS, LDN, SERVER_KEYS, _agreed_pair

from dlmskit.security.general import KeyAgreementScheme
from dlmskit.translator.hexinput import Direction, TraceItem
from dlmskit.translator.render import to_text
from dlmskit.translator.translate import translate

KEYS = (
    bytes(range(16)),
    bytes(range(0xD0, 0xE0)),
)  # the global keys of the session tests (the AK is in the AAD)


def _trace(scheme: KeyAgreementScheme) -> list[TraceItem]:
    """AARQ, AARE, HLS pass 3/4 and one GET of a suite 1 association, signed and ciphered."""
    pair = _agreed_pair(1, scheme, True)
    items: list[TraceItem] = []
    request = pair.client.associate()
    while True:
        items.append(TraceItem(Direction.TX, request, len(items) + 1))
        reply = pair.server.receive(request)[0]
        items.append(TraceItem(Direction.RX, reply, len(items) + 1))
        event = pair.client.receive(reply)
        apdu = getattr(event, "apdu", None)
        if apdu is None:
            break
        request = apdu
    request = pair.client.get(LDN)
    items.append(TraceItem(Direction.TX, request, len(items) + 1))
    items.append(TraceItem(Direction.RX, pair.server.receive(request)[0], len(items) + 1))
    return items


def test_signed_one_pass_dh_trace_with_and_without_keys() -> None:
    items = _trace(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN)
    bare = to_text(translate(items))
    assert "GeneralSigning" in bare and "GeneralCiphering" in bare
    assert "One-Pass Diffie-Hellman" in bare and "not verified (no public key given)" in bare
    assert "GetRequestNormal" not in bare  # ciphered: not readable without keys
    public = (CLIENT_KEYS[1].public_key(), SERVER_KEYS[1].public_key())
    full = to_text(translate(items, KEYS, private_keys=(SERVER_KEYS[1], CLIENT_KEYS[1]), public_keys=public))
    assert "signature verifies" in full and "does NOT verify" not in full
    assert "GetRequestNormal" in full and "GetResponseNormal" in full and "cannot decipher" not in full


def test_static_unified_trace_and_a_wrong_key() -> None:
    items = _trace(KeyAgreementScheme.STATIC_UNIFIED_MODEL)
    public = (CLIENT_KEYS[1].public_key(), SERVER_KEYS[1].public_key())
    full = to_text(translate(items, KEYS, private_keys=(SERVER_KEYS[1],), public_keys=public))
    assert "Static Unified Model" in full and "GetResponseNormal" in full and "cannot decipher" not in full
    wrong = to_text(translate(items, public_keys=(CLIENT_KEYS[2].public_key(),)))
    assert "does NOT verify" in wrong
