"""Security setup (class 64, versions 0 and 1): security policy, suite, system titles, keys, certificates.

Version 0 knows suite 0 (AES-GCM-128) and a security policy from 0 (nothing) to 3 (all messages
authenticated and encrypted). Version 1 adds the public-key suites 1 and 2, certificates and key agreement;
its security_policy is bit coded (authenticated / encrypted / signed, requests and responses apart).
Keys are sent to the meter wrapped with the master key (AES key wrap, RFC 3394).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import T
from dlmskit.cosem.model import (
    LOGICAL_NAME_ATTRIBUTE,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    choice,
    names_of,
    structure,
)

__all__ = [
    "CLASSES",
    "SECURITY_POLICY_BITS",
    "SECURITY_SETUP",
    "SECURITY_SETUP_V0",
    "CertificateEntity",
    "CertificateType",
    "KeyId",
    "SecurityPolicy",
    "SecuritySuite",
]


class SecurityPolicy(IntEnum):
    """Security setup version 0 security_policy (and the parameter of security_activate)."""

    NOTHING = 0
    ALL_MESSAGES_AUTHENTICATED = 1
    ALL_MESSAGES_ENCRYPTED = 2
    ALL_MESSAGES_AUTHENTICATED_AND_ENCRYPTED = 3


SECURITY_POLICY_BITS: Final = {
    2: "authenticated_request",
    3: "encrypted_request",
    4: "digitally_signed_request",
    5: "authenticated_response",
    6: "encrypted_response",
    7: "digitally_signed_response",
}
"""The bits of the Security setup version 1 security_policy (0x6C = requests and responses authenticated
and encrypted)."""


class SecuritySuite(IntEnum):
    """Security setup security_suite."""

    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA_256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA_384 = 2


class KeyId(IntEnum):
    """key_id of key_transfer / global_key_transfer and key_agreement."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1
    AUTHENTICATION_KEY = 2
    MASTER_KEY = 3


class CertificateEntity(IntEnum):
    """Whose certificate it is."""

    SERVER = 0
    CLIENT = 1
    CERTIFICATION_AUTHORITY = 2
    OTHER = 3


class CertificateType(IntEnum):
    """What a certificate (or key pair) is for."""

    DIGITAL_SIGNATURE = 0
    KEY_AGREEMENT = 1
    TLS = 2
    OTHER = 3


_KEY_DATA = array_of(structure(key_id=T.ENUM, key_wrapped=T.OCTET_STRING))
_CERTIFICATE_IDENTIFICATION = structure(
    certificate_identification_type=T.ENUM,
    certificate_identification_options=choice(
        structure(certificate_entity=T.ENUM, certificate_type=T.ENUM, system_title=T.OCTET_STRING),
        structure(serial_number=T.OCTET_STRING, issuer=T.OCTET_STRING),
    ),
)


_CERTIFICATES = AttributeDef(
    6,
    "certificates",
    array_of(
        structure(
            certificate_entity=T.ENUM,
            certificate_type=T.ENUM,
            serial_number=T.OCTET_STRING,
            issuer=T.OCTET_STRING,
            subject=T.OCTET_STRING,
            subject_alt_name=T.OCTET_STRING,
        )
    ),
    static=True,
    description="The certificates the meter holds.",
    min_version=1,
)
_KEY_AGREEMENT_DATA = array_of(structure(key_id=T.ENUM, key_ciphered_data=T.OCTET_STRING))
_CERTIFICATE_METHODS = (
    MethodDef(
        3,
        "key_agreement",
        _KEY_AGREEMENT_DATA,
        returns=_KEY_AGREEMENT_DATA,
        description="Agrees new symmetric keys by ECDH (suites 1 and 2).",
        min_version=1,
    ),
    MethodDef(
        4,
        "generate_key_pair",
        T.ENUM,
        description="Generates a key pair (0 digital signature, 1 key agreement, 2 TLS).",
        min_version=1,
    ),
    MethodDef(
        5,
        "generate_certificate_request",
        T.ENUM,
        returns=T.OCTET_STRING,
        description="Returns a certificate signing request (DER) for a key pair.",
        min_version=1,
    ),
    MethodDef(
        6, "import_certificate", T.OCTET_STRING, description="Stores a certificate (DER).", min_version=1
    ),
    MethodDef(
        7,
        "export_certificate",
        _CERTIFICATE_IDENTIFICATION,
        returns=T.OCTET_STRING,
        description="Returns a certificate, found by entity and type or by serial number.",
        min_version=1,
    ),
    MethodDef(
        8,
        "remove_certificate",
        _CERTIFICATE_IDENTIFICATION,
        description="Removes a certificate.",
        min_version=1,
    ),
)


def _security_setup(version: int) -> InterfaceClass:
    """Version 0 or 1: the policy is an enumeration in version 0 and bit coded in version 1, and method 2
    is called global_key_transfer in version 0, key_transfer in version 1."""
    latest = InterfaceClass(
        64,
        1,
        "Security setup",
        (
            LOGICAL_NAME_ATTRIBUTE,
            AttributeDef(
                2,
                "security_policy",
                T.ENUM,
                static=True,
                description="What protection every APDU needs.",
                enum_names=names_of(SecurityPolicy) if version == 0 else None,
                bit_names=SECURITY_POLICY_BITS if version > 0 else None,
            ),
            AttributeDef(
                3,
                "security_suite",
                T.ENUM,
                static=True,
                description="The cryptographic algorithms in use.",
                enum_names=names_of(SecuritySuite),
            ),
            AttributeDef(
                4,
                "client_system_title",
                T.OCTET_STRING,
                static=False,
                description="The system title of the client of the current association (8 bytes).",
            ),
            AttributeDef(
                5,
                "server_system_title",
                T.OCTET_STRING,
                static=True,
                description="The meter's system title (8 bytes).",
            ),
            _CERTIFICATES,
        ),
        (
            MethodDef(
                1,
                "security_activate",
                T.ENUM,
                description="Strengthens the security policy (it can only be raised).",
            ),
            MethodDef(
                2,
                "global_key_transfer" if version == 0 else "key_transfer",
                _KEY_DATA,
                description="Replaces keys: key_id (0 unicast EK, 1 broadcast EK, 2 AK, 3 master key) and the "
                "new key wrapped with the master key (RFC 3394).",
            ),
            *_CERTIFICATE_METHODS,
        ),
    )
    return latest.for_version(version)


SECURITY_SETUP_V0: Final = _security_setup(0)
SECURITY_SETUP: Final = _security_setup(1)

CLASSES: Final = (SECURITY_SETUP_V0, SECURITY_SETUP)
