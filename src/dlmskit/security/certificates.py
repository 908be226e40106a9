"""Keys and X.509 certificates of suites 1 and 2, through ``cryptography``: PEM files, CSRs, self-signed certificates.

A client and a meter each keep their own ECDSA key pair and the peer's certificate (or bare public key).
:func:`load_private_key` and :func:`load_public_key` read PEM text or files (a certificate gives its
public key); :func:`suite_of` tells which suite a key belongs to (P-256: 1, P-384: 2). The Security
setup v1 methods of the simulator use :func:`certificate_request` and :func:`self_signed_certificate`;
the DLMS certificate profile (Green Book: subject common name = the system title in hex, key usage
digitalSignature or keyAgreement) is followed for the subject and key usage.

Private keys are never written anywhere by this module; the caller decides where PEM text goes.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

from dlmskit.errors import KeyFormatError, SecurityError
from dlmskit.security.ecc import SecuritySuite

__all__ = [
    "CertificateError",
    "CertificateUsage",
    "ca_certificate",
    "certificate_public_key",
    "certificate_request",
    "certificate_system_title",
    "issue_certificate",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
    "self_signed_certificate",
    "suite_of",
    "verify_certificate",
]

_PEM_START = b"-----BEGIN"


class CertificateUsage:
    """Key usage of a DLMS certificate (Security setup v1 key_id / certificate_entity)."""

    DIGITAL_SIGNATURE = 0
    KEY_AGREEMENT = 1
    TLS = 2


def _pem_bytes(source: str | bytes | Path, what: str) -> bytes:
    """PEM text given as text/bytes, or read from a file path."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        data = source.encode("ascii")
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise KeyFormatError(f"cannot read the {what} file {path}: {error.strerror or error}") from None
    if _PEM_START not in data:
        raise KeyFormatError(f"the {what} is not PEM text (-----BEGIN ...-----)")
    return data


def suite_of(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> SecuritySuite:
    """Suite 1 for a P-256 key, 2 for a P-384 key; other curves are refused."""
    name = key.curve.name
    if name == "secp256r1":
        return SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256
    if name == "secp384r1":
        return SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384
    raise KeyFormatError(f"a DLMS key is on NIST P-256 (suite 1) or P-384 (suite 2), not {name}")


def load_private_key(source: str | bytes | Path) -> ec.EllipticCurvePrivateKey:
    """An EC private key from PEM (PKCS#8 or SEC1 ``EC PRIVATE KEY``), unencrypted."""
    data = _pem_bytes(source, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFormatError(f"cannot read the private key PEM: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFormatError(f"the private key is {type(key).__name__}, not an elliptic curve key")
    suite_of(key)
    return key


def load_certificate(source: str | bytes | Path) -> x509.Certificate:
    """An X.509 certificate from PEM."""
    data = _pem_bytes(source, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise KeyFormatError(f"cannot read the certificate PEM: {error}") from None


def certificate_public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """The EC public key of a certificate (P-256 or P-384)."""
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"the certificate holds a {type(key).__name__}, not an elliptic curve key")
    suite_of(key)
    return key


def load_public_key(source: str | bytes | Path) -> ec.EllipticCurvePublicKey:
    """A peer's EC public key from PEM: a ``PUBLIC KEY`` or a ``CERTIFICATE``."""
    data = _pem_bytes(source, "public key or certificate")
    if b"CERTIFICATE-----" in data:
        return certificate_public_key(load_certificate(data))
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise KeyFormatError(f"cannot read the public key PEM: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"the public key is {type(key).__name__}, not an elliptic curve key")
    suite_of(key)
    return key


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of a private key (unencrypted: store it where only its owner reads)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of a public key."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hash(key: ec.EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384:
    return hashes.SHA256() if suite_of(key) == 1 else hashes.SHA384()


def _subject(system_title: bytes) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, system_title.hex().upper())])


def _key_usage(usage: int) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=usage != CertificateUsage.KEY_AGREEMENT,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=usage == CertificateUsage.KEY_AGREEMENT,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def certificate_request(
    key: ec.EllipticCurvePrivateKey, system_title: bytes, usage: int = CertificateUsage.DIGITAL_SIGNATURE
) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for ``key``, subject CN = the system title in hex (Security setup method 7)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_subject(system_title))
        .add_extension(_key_usage(usage), critical=True)
        .sign(key, _hash(key))
    )


def self_signed_certificate(
    key: ec.EllipticCurvePrivateKey,
    system_title: bytes,
    *,
    usage: int = CertificateUsage.DIGITAL_SIGNATURE,
    days: int = 3650,
    serial_number: int | None = None,
) -> x509.Certificate:
    """A self-signed certificate for ``key`` (tests, simulators, a private PKI's first step)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    name = _subject(system_title)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial_number if serial_number is not None else x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(_key_usage(usage), critical=True)
        .sign(key, _hash(key))
    )


class CertificateError(SecurityError):
    """A certificate does not chain to the configured CA, is out of its validity period, or does not follow
    the DLMS certificate profile (key usage, subject common name = system title)."""


def ca_certificate(key: ec.EllipticCurvePrivateKey, name: str, *, days: int = 3650) -> x509.Certificate:
    """A self-signed root CA certificate (basicConstraints CA, keyCertSign and cRLSign) for a private PKI."""
    now = _dt.datetime.now(_dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _hash(key))
    )


def issue_certificate(
    public_key: ec.EllipticCurvePublicKey,
    system_title: bytes,
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    usage: int = CertificateUsage.DIGITAL_SIGNATURE,
    not_before: _dt.datetime | None = None,
    days: int = 365,
) -> x509.Certificate:
    """A certificate for ``public_key`` issued by ``ca`` in the DLMS profile: subject CN = the system title in
    hex, key usage digitalSignature or keyAgreement (critical)."""
    start = not_before or _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(_subject(system_title))
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _dt.timedelta(days=days))
        .add_extension(_key_usage(usage), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(_ec_key(ca)), critical=False)
        .sign(ca_key, _hash_of(_ec_key(ca)))
    )


def _ec_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateError(f"the CA certificate holds a {type(key).__name__}, not an elliptic curve key")
    return key


def _hash_of(key: ec.EllipticCurvePublicKey) -> hashes.SHA256 | hashes.SHA384:
    return hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()


def certificate_system_title(certificate: x509.Certificate) -> bytes:
    """The system title a DLMS certificate names: its subject common name, 16 hex digits."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    text = str(names[0].value) if names else ""
    try:
        title = bytes.fromhex(text)
    except ValueError:
        title = b""
    if len(title) != 8:
        raise CertificateError(
            f"the certificate's subject common name {text!r} is not a system title (16 hex digits), as the "
            "DLMS certificate profile asks"
        )
    return title


def verify_certificate(
    certificate: x509.Certificate,
    ca: x509.Certificate,
    *,
    usage: int = CertificateUsage.DIGITAL_SIGNATURE,
    system_title: bytes | None = None,
    now: _dt.datetime | None = None,
) -> ec.EllipticCurvePublicKey:
    """The certificate's public key once it checks against the root ``ca``; else :class:`CertificateError`.

    The chain (the issuer's signature, the validity periods of the certificate and the CA, the CA's basic
    constraints and key usage) goes through ``cryptography.x509.verification`` with the WebPKI rules for the
    CA; its client and server policies also ask end-entity certificates for extended key usages and
    subject alternative names, which the DLMS profile has not, so the end-entity policy there permits all
    and the DLMS profile is checked here: key usage ``digitalSignature`` (``usage`` 0) or ``keyAgreement``
    (1), subject common name = the system title in hex (= ``system_title`` when given).
    """
    moment = now or _dt.datetime.now(_dt.timezone.utc)
    subject = certificate.subject.rfc4514_string()
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(moment)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError as error:
        start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        if not start <= moment <= end:
            reason = f"it is valid from {start.isoformat()} to {end.isoformat()}, not at {moment.isoformat()}"
        elif certificate.issuer != ca.subject:
            reason = f"it is issued by {certificate.issuer.rfc4514_string()}, not by the CA {ca.subject.rfc4514_string()}"
        else:
            reason = f"it does not chain to the CA {ca.subject.rfc4514_string()} ({error})"
        raise CertificateError(f"the certificate {subject} is refused: {reason}") from None
    try:
        key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            f"the certificate {subject} has no key usage; the DLMS certificate profile asks for digitalSignature "
            "or keyAgreement"
        ) from None
    wanted = "keyAgreement" if usage == CertificateUsage.KEY_AGREEMENT else "digitalSignature"
    present = (
        key_usage.key_agreement if usage == CertificateUsage.KEY_AGREEMENT else key_usage.digital_signature
    )
    if not present:
        raise CertificateError(
            f"the certificate {subject} does not allow {wanted} (key usage), which is needed here"
        )
    title = certificate_system_title(certificate)
    if system_title is not None and title != system_title:
        raise CertificateError(
            f"the certificate is for system title {title.hex().upper()}, not {system_title.hex().upper()}"
        )
    return certificate_public_key(certificate)
