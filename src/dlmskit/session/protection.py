"""APDU protection for one association: ciphering per the security policy, invocation counters per direction.

:class:`ApduProtection` wraps outgoing APDUs (glo-, ded-, general-glo- or general-ded-ciphering with the
security control the policy asks for) and unwraps incoming ones:

- Our invocation counter comes from an :class:`~dlmskit.security.invocation.InvocationCounterStore` that has
  persisted it *before* we use it, so a crash can never make us reuse a GCM nonce.
- The peer's counter must increase: a replayed or decreasing counter raises
  :class:`~dlmskit.errors.InvocationCounterError` before any deciphering; it is recorded only after the tag
  has verified.
- Every GCM tag is verified; a wrong one raises :class:`~dlmskit.errors.TagVerificationError`.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.security.ciphering import (
    DEDICATED_TAGS,
    CipheringKind,
    ciphered_envelope,
    encrypt_apdu,
    is_ciphered_tag,
)
from dlmskit.security.general import (
    GENERAL_CIPHERING,
    GENERAL_SIGNING,
    AgreedKey,
    GeneralCiphering,
    KeyAgreementScheme,
    SignedApduGuard,
    decipher_general,
    encipher_general,
    sign_general,
    signing_date_time,
    verify_general,
)
from dlmskit.security.invocation import (
    InvocationCounterStore,
    MemoryInvocationCounterStore,
    ReceivedCounterTracker,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher, SecurityControl

__all__ = [
    "CIPHERING_OVERHEAD",
    "ApduProtection",
    "SecurityPolicy",
    "SecurityPolicyBits",
    "SecuritySettings",
    "counter_key_id",
]

CIPHERING_OVERHEAD = 1 + 3 + 5 + 12 + 10
"""Bytes ciphering may add to an APDU (tag, length, SC, IC, GCM tag, general-ciphering system title)."""


_AGREED_KEY_ID = "key-agreement"
"""The counter name of general-ciphering with agreed keys (each APDU has its own key; counters still rise)."""
_INITIATE_TAGS = frozenset((0x01, 0x08, 0x0E))
"""Plain xDLMS initiate request/response and confirmed-service-error: ciphered with the global key, unsigned."""
_UNSIGNED_TAGS = frozenset(
    (0x01, 0x08, 0x0E, 0x21, 0x28, 0x2E, 0x41, 0x48, 0x4E, 0x60, 0x61, 0x62, 0x63, 0xD8)
)
"""What is never signed: the ACSE APDUs (AARQ/AARE/RLRQ/RLRE) with their xDLMS initiate request/response or
confirmed-service-error (plain, glo-, ded-), and the exception-response, which carries no data."""


class SecurityPolicy(enum.IntEnum):
    """What protection every xDLMS APDU of an association gets (security suite 0)."""

    NONE = 0
    AUTHENTICATED = 1
    ENCRYPTED = 2
    AUTHENTICATED_ENCRYPTED = 3

    @property
    def security_control(self) -> int:
        """The security control byte for suite 0 (0x10 authenticated, 0x20 encrypted, 0x30 both)."""
        return {0: 0x00, 1: 0x10, 2: 0x20, 3: 0x30}[self.value]

    @classmethod
    def parse(cls, text: str) -> SecurityPolicy:
        """``none``, ``auth``, ``enc`` or ``auth-enc`` (also the member names)."""
        names = {
            "none": cls.NONE,
            "auth": cls.AUTHENTICATED,
            "authenticated": cls.AUTHENTICATED,
            "enc": cls.ENCRYPTED,
            "encrypted": cls.ENCRYPTED,
            "auth-enc": cls.AUTHENTICATED_ENCRYPTED,
            "authenticated-encrypted": cls.AUTHENTICATED_ENCRYPTED,
            "auth_enc": cls.AUTHENTICATED_ENCRYPTED,
        }
        key = text.strip().lower().replace("_", "-")
        if key in names:
            return names[key]
        raise ConfigurationError(f"unknown security policy {text!r}; use none, auth, enc or auth-enc")


class SecurityPolicyBits(enum.IntFlag):
    """The security_policy of Security setup version 1 (class 64; DLMS UA 1000-1 Blue Book, 4.4.7): one bit
    per protection and direction; bits 0 and 1 are unused. ``0x6C`` asks for authenticated and encrypted
    requests and responses (what version 0 policy 3 means), ``0x90`` adds digitally signed ones."""

    AUTHENTICATED_REQUEST = 0x04  # bit 2
    ENCRYPTED_REQUEST = 0x08  # bit 3
    DIGITALLY_SIGNED_REQUEST = 0x10  # bit 4
    AUTHENTICATED_RESPONSE = 0x20  # bit 5
    ENCRYPTED_RESPONSE = 0x40  # bit 6
    DIGITALLY_SIGNED_RESPONSE = 0x80  # bit 7

    @classmethod
    def from_policy(cls, policy: SecurityPolicy, *, signed: bool = False) -> SecurityPolicyBits:
        """The version 1 bits of a version 0 policy (the same protection both ways), signed or not."""
        bits = {0: 0x00, 1: 0x24, 2: 0x48, 3: 0x6C}[int(policy)] | (0x90 if signed else 0)
        return cls(bits)

    def direction(self, *, requests: bool) -> tuple[bool, bool, bool]:
        """``(authenticated, encrypted, signed)`` for requests (client to server) or responses."""
        value = int(self) >> (2 if requests else 5)
        return bool(value & 1), bool(value & 2), bool(value & 4)

    @property
    def ciphering_policy(self) -> SecurityPolicy:
        """The version 0 policy that covers both directions (the keys the association needs)."""
        authenticated = bool(self & (self.AUTHENTICATED_REQUEST | self.AUTHENTICATED_RESPONSE))
        encrypted = bool(self & (self.ENCRYPTED_REQUEST | self.ENCRYPTED_RESPONSE))
        return SecurityPolicy(int(authenticated) | int(encrypted) << 1)


@dataclass(frozen=True)
class SecuritySettings:
    """Keys and titles of one side of an association (suite 0).

    ``system_title`` is our own (8 bytes); the peer's comes from the AARQ/AARE. ``kind`` chooses the
    ciphered APDU form: service-specific ``glo``/``ded`` or ``general-glo``/``general-ded``.
    """

    policy: SecurityPolicy = SecurityPolicy.NONE
    system_title: bytes = b"\x00" * 8
    block_cipher_key: SecretBytes | None = field(default=None, repr=False)
    authentication_key: SecretBytes | None = field(default=None, repr=False)
    dedicated_key: SecretBytes | None = field(default=None, repr=False)
    kind: CipheringKind = "glo"
    invocation_counters: InvocationCounterStore = field(
        default_factory=MemoryInvocationCounterStore, repr=False
    )
    received_counters: ReceivedCounterTracker | None = field(default=None, repr=False)
    """The peer's last counters; share one tracker across associations (a meter does, per client) so that
    an APDU replayed into a new association is refused too. None: a fresh tracker per association."""
    suite: int = 0
    """Security suite: 0 (AES-GCM-128), 1 (ECDH/ECDSA P-256, AES-GCM-128), 2 (P-384, AES-GCM-256, 32-byte
    keys); its id goes into the security control byte of every ciphered APDU."""
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    """Our ECDSA key pair (suites 1/2): HLS mechanism 7 signs our answer with it."""
    peer_signing_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    """The peer's ECDSA public key (from its certificate): HLS mechanism 7 checks the peer's answer."""
    expected_peer_system_title: bytes | None = None
    """The peer's system title its CA-checked certificate names (subject CN): a different title in the
    AARE is refused."""
    key_agreement: KeyAgreementScheme | None = None
    """Suites 1/2: cipher every APDU after the AARQ/AARE as general-ciphering with a key agreed by this
    scheme (One-Pass Diffie-Hellman or Static Unified Model) from our key pair and the peer's public key.
    A server answers in the scheme the client used, whatever this says."""
    sign_apdus: bool = False
    """Suites 1/2: sign every APDU after the AARQ/AARE with general-signing (our ``signing_key``), and
    refuse APDUs from the peer that are not signed with its ``peer_signing_key``."""
    signed_apdu_guard: SignedApduGuard | None = field(default=None, repr=False)
    """Refuses replayed or old general-signing APDUs from the peer (transaction-id, date-time); share one
    across associations (a meter does, per client) so that a replay into a new association is refused too.
    None: a fresh guard per association."""
    policy_bits: SecurityPolicyBits | None = None
    """Security setup version 1 policy, one bit per protection and direction (:class:`SecurityPolicyBits`):
    when given, each direction is protected and checked as its bits say, ``policy`` becomes the union of
    both directions (the ciphered context and the xDLMS initiate request/response use it), and
    ``sign_apdus`` is not used. None: ``policy`` and ``sign_apdus`` apply to both directions."""
    sign_before_ciphering: bool = False
    """Sign first and cipher the general-signing APDU (general-glo-/general-ded-ciphering or
    general-ciphering), instead of signing the ciphered APDU. Peers may do either; both are accepted, and a
    server answers in the order the client used."""

    def __post_init__(self) -> None:
        if len(self.system_title) != 8:
            raise ConfigurationError(f"a system title is 8 bytes, got {len(self.system_title)}")
        if self.suite not in (0, 1, 2):
            raise ConfigurationError(f"security suite must be 0, 1 or 2, got {self.suite}")
        if self.policy_bits is not None:
            bits = SecurityPolicyBits(self.policy_bits)
            if int(bits) & 0x03:
                raise ConfigurationError(
                    f"security policy bits 0x{int(bits):02X}: bits 0 and 1 are unused in Security setup version 1"
                )
            union = bits.ciphering_policy
            if self.policy not in (SecurityPolicy.NONE, union):
                raise ConfigurationError(
                    f"security policy {self.policy.name.lower()} does not match the policy bits 0x{int(bits):02X}; "
                    "give only the bits"
                )
            object.__setattr__(self, "policy_bits", bits)
            object.__setattr__(self, "policy", union)
        signed = self.sign_apdus or bool(
            self.policy_bits is not None
            and self.policy_bits
            & (SecurityPolicyBits.DIGITALLY_SIGNED_REQUEST | SecurityPolicyBits.DIGITALLY_SIGNED_RESPONSE)
        )
        if self.suite == 0 and (self.signing_key is not None or self.peer_signing_key is not None):
            raise ConfigurationError("ECDSA keys need security suite 1 (P-256) or 2 (P-384), not suite 0")
        if (self.key_agreement is not None or signed) and (
            self.signing_key is None or self.peer_signing_key is None
        ):
            raise ConfigurationError(
                "key agreement and signed APDUs (suites 1/2) need our own key pair (signing_key) and the "
                "peer's public key (peer_signing_key)"
            )
        if self.key_agreement == KeyAgreementScheme.EPHEMERAL_UNIFIED_MODEL:
            raise ConfigurationError(
                "the Ephemeral Unified Model agrees keys through Security setup key_agreement; per APDU, use "
                "One-Pass Diffie-Hellman or the Static Unified Model"
            )

    @property
    def has_keys(self) -> bool:
        return self.block_cipher_key is not None and self.authentication_key is not None

    def global_cipher(self) -> GcmCipher:
        if self.block_cipher_key is None or self.authentication_key is None:
            raise ConfigurationError(
                "this association needs the block cipher key (EK) and the authentication key (AK)"
            )
        return GcmCipher(self.block_cipher_key.reveal(), self.authentication_key.reveal())


def counter_key_id(key: bytes, *, dedicated: bool = False) -> str:
    """The name under which invocation counters of ``key`` are stored: a short hash, so a counter store
    never holds key material."""
    prefix = "dedicated" if dedicated else "unicast"
    return f"{prefix}:{hashlib.sha256(key).hexdigest()[:16]}"


class ApduProtection:
    """Cipher and decipher the xDLMS APDUs of one association."""

    def __init__(self, settings: SecuritySettings, *, server: bool = False) -> None:
        self.settings = settings
        self.policy = settings.policy
        self.explicit_bits = settings.policy_bits is not None
        """Whether a Security setup version 1 policy sets each direction (else: ``policy``, ``sign_apdus``)."""
        bits = settings.policy_bits
        if bits is None:
            bits = SecurityPolicyBits.from_policy(settings.policy, signed=settings.sign_apdus)
        self.policy_bits = bits
        self._outgoing = bits.direction(requests=not server)
        self._incoming = bits.direction(requests=server)
        self._incoming_name = "requests" if server else "responses"
        self.own_system_title = settings.system_title
        self.peer_system_title: bytes | None = None
        self._global: GcmCipher | None = settings.global_cipher() if settings.has_keys else None
        self._dedicated: GcmCipher | None = None
        self._dedicated_id = ""
        self._global_id = (
            counter_key_id(settings.block_cipher_key.reveal()) if settings.block_cipher_key else "unicast"
        )
        self._received = settings.received_counters or ReceivedCounterTracker()
        self._signed_guard = settings.signed_apdu_guard or SignedApduGuard()
        self._peer_scheme: KeyAgreementScheme | None = None
        self._peer_signed = False
        self._peer_signed_inside = False
        if settings.received_counters is not None:
            self._received.attach(self)  # shared with other associations (a meter's): counted as open
        if settings.dedicated_key is not None:
            self.use_dedicated_key(settings.dedicated_key.reveal())

    # -- keys -----------------------------------------------------------------------------------------

    @property
    def global_cipher(self) -> GcmCipher:
        if self._global is None:
            raise ConfigurationError(
                "ciphering needs the block cipher key (EK) and the authentication key (AK): "
                "give them as 32 hex digits each"
            )
        return self._global

    def use_dedicated_key(self, key: bytes) -> None:
        """Use ``key`` (from the InitiateRequest) for ded- ciphering in this association."""
        if self.settings.authentication_key is None:
            raise ConfigurationError("a dedicated key needs the authentication key (AK) too")
        self._dedicated = GcmCipher(key, self.settings.authentication_key.reveal())
        self._dedicated_id = counter_key_id(key, dedicated=True)

    @property
    def ciphering(self) -> bool:
        """True when the policy protects APDUs."""
        return self.policy != SecurityPolicy.NONE

    @property
    def overhead(self) -> int:
        """Bytes protection may add to an APDU: :data:`CIPHERING_OVERHEAD` for suite 0 ciphering, more for
        general-ciphering with key information and general-signing (suites 1/2)."""
        size = 48 if self.settings.suite == 2 else 32
        header = 5 * (1 + 8) + 4  # five octet strings of at most 8 bytes, a long content length
        extra = 0
        if self.ciphering and (self.settings.key_agreement or self._peer_scheme):
            extra += header + 4 + 2 * size
        if self.signing:
            extra += 1 + header + 2 + 2 * size
        return (CIPHERING_OVERHEAD if self.ciphering else 0) + extra

    @property
    def signing(self) -> bool:
        """True when APDUs go out signed (general-signing): our settings ask, or the peer signs its own
        (without version 1 policy bits, which say it per direction)."""
        if self.explicit_bits:
            return self._outgoing[2]
        return self.settings.sign_apdus or self._peer_signed

    @property
    def incoming_ciphered(self) -> bool:
        """True when APDUs from the peer must be ciphered (authenticated and/or encrypted)."""
        return self._incoming[0] or self._incoming[1]

    def _outgoing_control(self, *, initiate: bool) -> int:
        """The security control bits of an APDU we send: this direction's, or (for the xDLMS initiate
        request/response, and without version 1 bits) the association's policy."""
        if initiate or not self.explicit_bits:
            return self.policy.security_control
        authenticated, encrypted, _signed = self._outgoing
        return (0x10 if authenticated else 0) | (0x20 if encrypted else 0)

    def next_counter(self, *, dedicated: bool = False) -> int:
        """Our next invocation counter, already persisted by the store."""
        key_id = self._dedicated_id if dedicated else self._global_id
        return self.settings.invocation_counters.next(self.own_system_title, key_id)

    # -- wrap / unwrap ----------------------------------------------------------------------------------

    def wrap(self, apdu: bytes, *, kind: CipheringKind | None = None, force: bool = False) -> bytes:
        """Protect ``apdu`` as the policy says (unchanged when the policy is NONE and ``force`` is not set).

        With suites 1/2 settings (``key_agreement``, ``sign_apdus``, or a peer that used them) every APDU but
        the xDLMS initiate request/response of the AARQ/AARE goes out as general-ciphering and/or
        general-signing.
        """
        settings = self.settings
        agreed = settings.key_agreement or self._peer_scheme
        initiate = bool(apdu) and apdu[0] in _INITIATE_TAGS
        sign_first = settings.sign_before_ciphering or self._peer_signed_inside
        if not initiate and self.signing and sign_first:
            apdu = self._sign(apdu)
            if kind in (None, "glo", "ded"):  # a general-signing APDU has no service-specific ciphered tag
                kind = "general-ded" if (kind or settings.kind) == "ded" else "general-glo"
        control = self._outgoing_control(initiate=initiate)
        cipher = bool(control) if self.explicit_bits else self.ciphering
        if not initiate and agreed is not None and (cipher or force):
            apdu = self._encipher_agreed(apdu, agreed, control or 0x30)
        elif cipher or force:
            apdu = self._cipher(apdu, kind=kind, control=control)
        if not initiate and self.signing and not sign_first:
            apdu = self._sign(apdu)
        return apdu

    # -- suites 1 and 2: general-ciphering with an agreed key, general-signing ------------------------------

    def _peer_key(self) -> ec.EllipticCurvePublicKey:
        key = self.settings.peer_signing_key
        if key is None:
            raise ConfigurationError(
                "suites 1/2 need the peer's public key or certificate (peer_signing_key)"
            )
        return key

    def _own_key(self) -> ec.EllipticCurvePrivateKey:
        key = self.settings.signing_key
        if key is None:
            raise ConfigurationError("suites 1/2 need our own key pair (signing_key)")
        return key

    def _authentication_key(self) -> bytes:
        ak = self.settings.authentication_key
        return ak.reveal() if ak is not None else b""

    def _encipher_agreed(self, apdu: bytes, scheme: KeyAgreementScheme, security_control: int) -> bytes:
        if self.peer_system_title is None:
            raise SecurityError("general-ciphering needs the peer's system title (recipient-system-title)")
        message = encipher_general(
            apdu,
            suite=self.settings.suite,
            security_control=security_control,
            originator_system_title=self.own_system_title,
            recipient_system_title=self.peer_system_title,
            invocation_counter=self.settings.invocation_counters.next(self.own_system_title, _AGREED_KEY_ID),
            authentication_key=self._authentication_key(),
            key_info=scheme,
            own_private_key=self._own_key(),
            peer_public_key=self._peer_key(),
        )
        return message.encode()

    def _sign(self, apdu: bytes) -> bytes:
        return sign_general(
            apdu,
            suite=self.settings.suite,
            private_key=self._own_key(),
            originator_system_title=self.own_system_title,
            recipient_system_title=self.peer_system_title or b"",
            date_time=signing_date_time(),
        ).encode()

    def _unwrap_signed(self, apdu: bytes) -> tuple[bytes, CipheringKind | None]:
        return self._unwrap_content(self._verified_content(apdu))

    def _verified_content(self, apdu: bytes) -> bytes:
        """The content of a general-signing APDU whose signature verifies with the peer's key."""
        message = verify_general(apdu, suite=self.settings.suite, public_key=self._peer_key())
        sender = message.originator_system_title
        if self.peer_system_title is not None and sender and sender != self.peer_system_title:
            raise SecurityError(
                f"the signed APDU comes from system title {sender.hex().upper()}, not from the peer "
                f"{self.peer_system_title.hex().upper()}"
            )
        # Signed but perhaps not ciphered: no invocation counter, so the transaction-id and date-time tell
        # a replay (ReplayError), and only once the signature has verified do they move the guard on.
        self._signed_guard.accept(message)
        self._peer_signed = True
        return message.content

    def _unwrap_agreed(self, apdu: bytes) -> tuple[bytes, CipheringKind | None]:
        message = GeneralCiphering.decode(apdu)
        sender = message.originator_system_title
        if self.peer_system_title is not None and sender != self.peer_system_title:
            raise SecurityError(
                f"the general-ciphering APDU comes from system title {sender.hex().upper()}, not from the "
                f"peer {self.peer_system_title.hex().upper()}"
            )
        if message.recipient_system_title not in (b"", self.own_system_title):
            raise SecurityError(
                f"the general-ciphering APDU is for system title {message.recipient_system_title.hex().upper()}, "
                "not for us"
            )
        if not isinstance(message.key_info, AgreedKey):
            raise SecurityError("general-ciphering without an agreed key is not accepted in this association")
        self._received.check(sender, message.invocation_counter, key_id=_AGREED_KEY_ID, association=self)
        counter, plain = decipher_general(
            message,
            suite=self.settings.suite,
            authentication_key=self._authentication_key(),
            own_private_key=self._own_key(),
            peer_public_key=self._peer_key(),
        )
        self._require_policy(message.security_control)
        self._received.accept(sender, counter, key_id=_AGREED_KEY_ID, association=self)
        self._peer_scheme = message.key_info.scheme
        return plain, "general-glo"

    def _cipher(self, apdu: bytes, *, kind: CipheringKind | None, control: int | None = None) -> bytes:
        kind = kind or self.settings.kind
        dedicated = kind in ("ded", "general-ded") and self._dedicated is not None
        if kind in ("ded", "general-ded") and self._dedicated is None:
            kind = "glo" if kind == "ded" else "general-glo"
        cipher = self._dedicated if dedicated else self.global_cipher
        assert cipher is not None
        if control is None:
            control = self.policy.security_control
        control = (control or 0x30) | self.settings.suite
        return encrypt_apdu(
            apdu,
            kind=kind,
            sc=control,
            system_title=self.own_system_title,
            ic=self.next_counter(dedicated=dedicated),
            keys=cipher,
        )

    def unwrap(self, apdu: bytes) -> tuple[bytes, CipheringKind | None]:
        """The plain APDU and the ciphering kind it came in (None for a plain APDU).

        Raises :class:`InvocationCounterError` for a replayed counter and :class:`TagVerificationError`
        for a tag that does not verify; a signature that does not verify raises
        :class:`~dlmskit.security.ecc.SignatureError`, and an unsigned APDU where ``sign_apdus`` asks for
        signatures a :class:`~dlmskit.errors.SecurityError`.
        """
        if apdu and apdu[0] == GENERAL_SIGNING:
            return self._unwrap_signed(apdu)
        plain, kind = self._unwrap_content(apdu)
        if kind is not None and plain and plain[0] == GENERAL_SIGNING:
            # Signed, then ciphered (as some meters do it): the signature is checked after deciphering.
            content = self._verified_content(plain)
            self._peer_signed_inside = True
            return content, kind
        needs_signature = self._incoming[2] if self.explicit_bits else self.settings.sign_apdus
        if needs_signature and apdu and apdu[0] not in _UNSIGNED_TAGS:
            raise SecurityError(
                "the APDU is not signed (general-signing), and this association requires signatures"
            )
        if (
            self.explicit_bits
            and kind is None
            and self.incoming_ciphered
            and apdu
            and apdu[0] not in _UNSIGNED_TAGS
        ):
            raise SecurityError(
                f"the APDU is not ciphered, and the security policy 0x{int(self.policy_bits):02X} requires "
                f"{self._incoming_name} to be"
            )
        return plain, kind

    def _unwrap_content(self, apdu: bytes) -> tuple[bytes, CipheringKind | None]:
        if apdu and apdu[0] == GENERAL_CIPHERING:
            return self._unwrap_agreed(apdu)
        if not apdu or not is_ciphered_tag(apdu[0]):
            return apdu, None
        # The envelope is read in place (no CipheredApdu, no copy of C || T): this runs for every APDU.
        tag, carried, offset = ciphered_envelope(apdu)
        sender = carried or self.peer_system_title
        if sender is None:
            raise SecurityError(
                "a ciphered APDU arrived but the peer's system title is unknown "
                "(it comes in the AARE responding-AP-title or the AARQ calling-AP-title)"
            )
        dedicated = tag in DEDICATED_TAGS
        cipher = self._dedicated if dedicated else self.global_cipher
        if cipher is None:
            raise SecurityError("a ded- ciphered APDU arrived but no dedicated key was agreed")
        # The tag first, then the counter: an old counter under a wrong key is a key problem, not a replay
        # (the meter tells them apart), and only an authentic APDU may move the counter on.
        plain, control, counter = cipher.decrypt_at(apdu, offset, sender)
        self._require_policy(
            SecurityControl.from_byte(control), initiate=bool(plain) and plain[0] in _INITIATE_TAGS
        )
        self._received.accept(
            sender, counter, key_id=self._dedicated_id if dedicated else self._global_id, association=self
        )
        kind: CipheringKind
        if carried is not None:
            kind = "general-ded" if dedicated else "general-glo"
        else:
            kind = "ded" if dedicated else "glo"
        return plain, kind

    def _require_policy(self, control: SecurityControl, *, initiate: bool = False) -> None:
        """Refuse an APDU protected less than the security policy asks (e.g. authenticated only under
        authenticated-encrypted): a downgrade is as bad as no protection. With version 1 policy bits, the
        bits of the direction the APDU came in decide (the xDLMS initiate request/response: the union)."""
        policy = self.policy
        if self.explicit_bits and not initiate:
            needs_auth, needs_enc, _signed = self._incoming
            if (needs_auth and not control.authenticated) or (needs_enc and not control.encrypted):
                raise SecurityError(
                    f"the APDU is protected with security control {int(control):02X}, less than the security "
                    f"policy 0x{int(self.policy_bits):02X} requires of {self._incoming_name}"
                )
            return
        needs_auth = policy in (SecurityPolicy.AUTHENTICATED, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
        needs_enc = policy in (SecurityPolicy.ENCRYPTED, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
        if (needs_auth and not control.authenticated) or (needs_enc and not control.encrypted):
            raise SecurityError(
                f"the APDU is protected with security control {int(control):02X}, less than the security "
                f"policy {policy.name.lower().replace('_', '-')} requires"
            )

    def last_received_counter(self) -> int | None:
        """The last invocation counter accepted from the peer (global key)."""
        if self.peer_system_title is None:
            return None
        return self._received.last(self.peer_system_title, key_id=self._global_id)
