"""PEM keys and X.509 certificates for suites 1 and 2."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from dlmskit.errors import KeyFormatError
from dlmskit.security.certificates import (
    CertificateError,
    CertificateUsage,
    ca_certificate,
    certificate_public_key,
    certificate_request,
    certificate_system_title,
    issue_certificate,
    load_certificate,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    self_signed_certificate,
    suite_of,
    verify_certificate,
)
from dlmskit.security.ecc import encode_public_key, generate_private_key, sign, verify

TITLE = bytes.fromhex("4D4D4D0000BC614E")


@pytest.mark.parametrize("suite", [1, 2])
def test_pem_round_trip_and_certificate(suite: int, tmp_path: Path) -> None:
    key = generate_private_key(suite)
    path = tmp_path / "key.pem"
    path.write_bytes(private_key_pem(key))
    loaded = load_private_key(path)
    assert encode_public_key(loaded.public_key()) == encode_public_key(key.public_key())
    assert suite_of(loaded) == suite
    certificate = self_signed_certificate(key, TITLE)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    assert load_certificate(pem) == certificate
    assert certificate.subject.rfc4514_string() == "CN=4D4D4D0000BC614E"
    # A certificate or a bare public key both give the key that verifies the owner's signatures.
    for source in (pem, public_key_pem(key.public_key()), pem.decode("ascii")):
        public = load_public_key(source)
        verify(suite, public, b"x", sign(suite, key, b"x"))
    assert encode_public_key(certificate_public_key(certificate)) == encode_public_key(key.public_key())


def test_certificate_request() -> None:
    key = generate_private_key(1)
    request = certificate_request(key, TITLE, CertificateUsage.KEY_AGREEMENT)
    assert request.is_signature_valid
    usage = request.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and not usage.digital_signature


def test_wrong_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="cannot read the private key file"):
        load_private_key(tmp_path / "missing.pem")
    with pytest.raises(KeyFormatError, match="not PEM"):
        load_public_key(b"hello")
    other = ed25519.Ed25519PrivateKey.generate()
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyFormatError, match="not an elliptic curve key"):
        load_private_key(pem)
    p521 = ec.generate_private_key(ec.SECP521R1())
    with pytest.raises(KeyFormatError, match="P-256"):
        load_public_key(public_key_pem(p521.public_key()))


# -- certificates checked against a configured CA (root) certificate ------------------------------------------


@pytest.mark.parametrize("suite", [1, 2])
def test_a_certificate_issued_by_the_ca_is_accepted(suite: int) -> None:
    ca_key = generate_private_key(suite)
    ca = ca_certificate(ca_key, "DLMS test root")
    key = generate_private_key(suite)
    certificate = issue_certificate(key.public_key(), TITLE, ca_key=ca_key, ca=ca)
    public = verify_certificate(certificate, ca, system_title=TITLE)
    assert public.public_numbers() == key.public_key().public_numbers()
    assert certificate_system_title(certificate) == TITLE
    agreement = issue_certificate(
        key.public_key(), TITLE, ca_key=ca_key, ca=ca, usage=CertificateUsage.KEY_AGREEMENT
    )
    verify_certificate(agreement, ca, usage=CertificateUsage.KEY_AGREEMENT)


def test_wrong_ca_expired_wrong_usage_and_wrong_title_are_refused() -> None:
    ca_key, other_key = generate_private_key(1), generate_private_key(1)
    ca = ca_certificate(ca_key, "DLMS test root")
    other = ca_certificate(other_key, "another root")
    key = generate_private_key(1).public_key()
    good = issue_certificate(key, TITLE, ca_key=ca_key, ca=ca)
    with pytest.raises(CertificateError, match="issued by CN=DLMS test root, not by the CA CN=another root"):
        verify_certificate(good, other)
    # Same issuer name, another key: the signature does not chain.
    impostor = ca_certificate(other_key, "DLMS test root")
    with pytest.raises(CertificateError, match="does not chain"):
        verify_certificate(good, impostor)
    expired = issue_certificate(
        key,
        TITLE,
        ca_key=ca_key,
        ca=ca,
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    )
    with pytest.raises(CertificateError, match="valid from 2020-01-01"):
        verify_certificate(expired, ca)
    with pytest.raises(CertificateError, match="does not allow keyAgreement"):
        verify_certificate(good, ca, usage=CertificateUsage.KEY_AGREEMENT)
    with pytest.raises(CertificateError, match="not 4D4D4D0000000001"):
        verify_certificate(good, ca, system_title=bytes.fromhex("4D4D4D0000000001"))
    # A self-signed certificate is not issued by the CA.
    with pytest.raises(CertificateError, match="refused"):
        verify_certificate(self_signed_certificate(generate_private_key(1), TITLE), ca)
