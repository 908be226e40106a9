"""Security setup (class 64, version 0): the policy, suite and system titles of one association, and its keys.

Behaviour: ``association = 1``, the client address of the association the object belongs to.

- security_policy (2) and server_system_title (5) are that association's; client_system_title (4) is the
  title the current client sent, when it is that association asking.
- Method 1 security_activate raises the policy (never lowers it: other-reason).
- Method 2 global_key_transfer takes ``{key_id, wrapped key}`` pairs, each wrapped with the association's
  master key (AES key wrap, RFC 3394): 0 global unicast encryption key, 1 broadcast key (accepted, unused),
  2 authentication key, 3 master key. All pairs are unwrapped before any key changes; a key that does not
  unwrap (wrong master key) refuses the whole call with other-reason. New keys are used from the next
  association on; the meter's invocation counters for a new key start again at 1.

Version 1 (suites 1 and 2) adds, for an association with ECDSA keys in the model:

- security_policy (2) bit coded (0x24 authenticated, 0x48 encrypted, 0x6C both, requests and responses;
  0x90 more with ``signed_apdus``: digitally signed requests and responses),
  security_suite (3), certificates (6): the meter's own self-signed certificate and those imported.
- Method 3 key_agreement (Ephemeral Unified Model, :mod:`dlmskit.security.agreement`): for each
  ``{key_id, Q_e,U || signature}`` the client's signature is checked with its public key, the new key
  replaces key_id (0 unicast EK, 1 broadcast, 2 AK) from the next association, and the answer carries the
  meter's signed ephemeral key.
- Method 4 generate_key_pair (0 digital signature: replaces the meter's signing key and certificate;
  1 key agreement), 5 generate_certificate_request (DER PKCS#10), 6 import_certificate (DER; a client
  digital-signature certificate becomes the client's public key from the next association), 7
  export_certificate and 8 remove_certificate (by entity, type and system title, or by serial number and
  issuer).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult
from dlmskit.codec import axdr
from dlmskit.errors import DlmsError
from dlmskit.security import agreement
from dlmskit.security.certificates import (
    CertificateUsage,
    certificate_public_key,
    certificate_request,
    self_signed_certificate,
)
from dlmskit.security.ecc import generate_private_key
from dlmskit.security.keywrap import KeyId, unwrap_key
from dlmskit.session.protection import SecurityPolicy
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.associations import AssociationState, CertificateEntity, StoredCertificate
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused

__all__ = ["SecuritySetup"]


class SecuritySetup(SimObject):
    """The security setup of one association."""

    methods = frozenset({1, 2, 3, 4, 5, 6, 7, 8})
    behaviours = frozenset({"association"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        client = self.behaviour("association", int, None)
        if client is None:
            raise model.error(
                "association = <client address> says whose security setup this is", "association"
            )
        self.client_sap: int = client
        self._key_pairs: dict[int, ec.EllipticCurvePrivateKey] = {}

    @property
    def state(self) -> AssociationState:
        state = self.meter.association_state(self.client_sap)
        assert state is not None  # checked when the meter is built
        return state

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        state = self.state
        if attribute == 2:
            if self.model.version >= 1:
                if state.model.policy_bits is not None:
                    return axdr.Enum(state.model.policy_bits)
                signed = 0x90 if state.model.signed_apdus else 0  # bits 4 and 7: signed requests, responses
                return axdr.Enum(_POLICY_BITS[int(state.policy)] | signed)
            return axdr.Enum(state.policy)
        if attribute == 4:
            own = context is not None and context.client_sap == self.client_sap
            return axdr.OctetString(context.client_system_title or b"" if own and context else b"")
        if attribute == 5:
            return axdr.OctetString(state.model.server_system_title)
        if self.model.version >= 1:
            if attribute == 3:
                return axdr.Enum(state.model.security_suite)
            if attribute == 6:
                return axdr.Array([_certificate_entry(stored) for stored in state.certificates])
        return super().read(attribute, context, access)

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        state = self.state
        if method == 1:
            if int(parameters) > SecurityPolicy.AUTHENTICATED_ENCRYPTED or not state.raise_policy(
                SecurityPolicy(int(parameters))
            ):
                return refused(ActionResult.OTHER_REASON)
            self.meter.log_event(EventCode.SECURITY_POLICY_CHANGED)
            return done()
        if method >= 3:
            if self.model.version < 1 or state.model.security_suite not in (1, 2):
                return refused(ActionResult.OBJECT_UNAVAILABLE)
            try:
                return self._suite_method(method, parameters, context)
            except (DlmsError, ValueError, TypeError, IndexError):
                return refused(ActionResult.OTHER_REASON)
        if state.master_key is None:
            return refused(ActionResult.OTHER_REASON)
        keys: list[tuple[KeyId, bytes]] = []
        for key_id, wrapped in parameters:
            if int(key_id) > KeyId.MASTER_KEY:
                return refused(ActionResult.OTHER_REASON)
            try:
                keys.append((KeyId(int(key_id)), unwrap_key(state.master_key, bytes(wrapped))))
            except DlmsError:
                return refused(ActionResult.OTHER_REASON)
        if any(len(key) != 16 for _, key in keys):
            return refused(ActionResult.OTHER_REASON)
        for key_id, key in keys:
            state.replace_key(key_id, key)
        self.meter.log_event(EventCode.KEYS_CHANGED)
        return done()

    # -- version 1: suites 1 and 2 --------------------------------------------------------------------------

    def _suite_method(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        state = self.state
        suite = state.model.security_suite
        title = state.model.server_system_title
        if method == 3:
            if (
                state.signing_key is None
                or state.client_public_key is None
                or not context.client_system_title
            ):
                return refused(ActionResult.OTHER_REASON)
            agreed: list[tuple[KeyId, bytes]] = []
            answers = []
            for key_id, data in parameters:
                if int(key_id) > KeyId.AUTHENTICATION_KEY:
                    return refused(ActionResult.OTHER_REASON)
                key, answer = agreement.respond(
                    suite,
                    bytes(data),
                    client_signing_key=state.client_public_key,
                    server_signing_key=state.signing_key,
                    client_system_title=context.client_system_title,
                    server_system_title=title,
                )
                agreed.append((KeyId(int(key_id)), key))
                answers.append(axdr.Structure([axdr.Enum(int(key_id)), axdr.OctetString(answer)]))
            for key_id, key in agreed:
                state.replace_key(key_id, key)
            self.meter.log_event(EventCode.KEYS_CHANGED)
            return done(axdr.Array(answers), returns=True)
        if method == 4:
            usage = int(parameters)
            if usage not in (CertificateUsage.DIGITAL_SIGNATURE, CertificateUsage.KEY_AGREEMENT):
                return refused(ActionResult.OTHER_REASON)
            pair = generate_private_key(suite)
            self._key_pairs[usage] = pair
            if usage == CertificateUsage.DIGITAL_SIGNATURE:
                state.signing_key = pair
                state.certificates = [
                    c
                    for c in state.certificates
                    if not (c.entity == CertificateEntity.SERVER and c.usage == usage)
                ]
                state.certificates.insert(
                    0,
                    StoredCertificate(CertificateEntity.SERVER, usage, self_signed_certificate(pair, title)),
                )
            return done()
        if method == 5:
            usage = int(parameters)
            key_pair = self._key_pairs.get(usage) or (
                state.signing_key if usage == CertificateUsage.DIGITAL_SIGNATURE else None
            )
            if key_pair is None:
                return refused(ActionResult.OTHER_REASON)
            request = certificate_request(key_pair, title, usage)
            return done(axdr.OctetString(request.public_bytes(serialization.Encoding.DER)), returns=True)
        if method == 6:
            certificate = x509.load_der_x509_certificate(bytes(parameters))
            subject = _common_name(certificate)
            entity = CertificateEntity.SERVER if subject == title.hex().upper() else CertificateEntity.CLIENT
            usage = _usage(certificate)
            state.certificates.append(StoredCertificate(entity, usage, certificate))
            if entity == CertificateEntity.CLIENT and usage == CertificateUsage.DIGITAL_SIGNATURE:
                state.client_public_key = certificate_public_key(certificate)
            return done()
        found = self._find(parameters)
        if found is None:
            return refused(ActionResult.OTHER_REASON)
        if method == 7:
            return done(
                axdr.OctetString(found.certificate.public_bytes(serialization.Encoding.DER)), returns=True
            )
        state.certificates.remove(found)
        return done()

    def _find(self, identification: axdr.Data) -> StoredCertificate | None:
        kind, options = identification
        for stored in self.state.certificates:
            certificate = stored.certificate
            if int(kind) == 0:
                entity, usage, system_title = options
                if (
                    stored.entity == int(entity)
                    and stored.usage == int(usage)
                    and _common_name(certificate) == bytes(system_title).hex().upper()
                ):
                    return stored
            else:
                serial, issuer = options
                if _serial(certificate) == bytes(
                    serial
                ) and certificate.issuer.rfc4514_string().encode() == bytes(issuer):
                    return stored
        return None


_POLICY_BITS = {0: 0x00, 1: 0x24, 2: 0x48, 3: 0x6C}
"""Version 0 policy -> version 1 bits (2/5 authenticated request/response, 3/6 encrypted)."""


def _serial(certificate: x509.Certificate) -> bytes:
    number = certificate.serial_number
    return number.to_bytes((number.bit_length() + 8) // 8, "big")


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _usage(certificate: x509.Certificate) -> int:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return CertificateUsage.DIGITAL_SIGNATURE
    return CertificateUsage.KEY_AGREEMENT if usage.key_agreement else CertificateUsage.DIGITAL_SIGNATURE


def _certificate_entry(stored: StoredCertificate) -> axdr.Structure:
    certificate = stored.certificate
    return axdr.Structure(
        [
            axdr.Enum(stored.entity),
            axdr.Enum(stored.usage),
            axdr.OctetString(_serial(certificate)),
            axdr.OctetString(certificate.issuer.rfc4514_string().encode()),
            axdr.OctetString(certificate.subject.rfc4514_string().encode()),
            axdr.OctetString(b""),
        ]
    )
