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

from dlmskit.errors import ConfigurationError, SecurityError
from dlmskit.security.ciphering import (
    CipheredApdu,
    CipheringKind,
    decrypt_apdu,
    encrypt_apdu,
    is_ciphered_tag,
)
from dlmskit.security.invocation import (
    InvocationCounterStore,
    MemoryInvocationCounterStore,
    ReceivedCounterTracker,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import GcmCipher, SecurityControl

__all__ = ["CIPHERING_OVERHEAD", "ApduProtection", "SecurityPolicy", "SecuritySettings", "counter_key_id"]

CIPHERING_OVERHEAD = 1 + 3 + 5 + 12 + 10
"""Bytes ciphering may add to an APDU (tag, length, SC, IC, GCM tag, general-ciphering system title)."""


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

    def __post_init__(self) -> None:
        if len(self.system_title) != 8:
            raise ConfigurationError(f"a system title is 8 bytes, got {len(self.system_title)}")

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

    def __init__(self, settings: SecuritySettings) -> None:
        self.settings = settings
        self.policy = settings.policy
        self.own_system_title = settings.system_title
        self.peer_system_title: bytes | None = None
        self._global: GcmCipher | None = settings.global_cipher() if settings.has_keys else None
        self._dedicated: GcmCipher | None = None
        self._dedicated_id = ""
        self._global_id = (
            counter_key_id(settings.block_cipher_key.reveal()) if settings.block_cipher_key else "unicast"
        )
        self._received = settings.received_counters or ReceivedCounterTracker()
        self._received.attach(self)
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

    def next_counter(self, *, dedicated: bool = False) -> int:
        """Our next invocation counter, already persisted by the store."""
        key_id = self._dedicated_id if dedicated else self._global_id
        return self.settings.invocation_counters.next(self.own_system_title, key_id)

    # -- wrap / unwrap ----------------------------------------------------------------------------------

    def wrap(self, apdu: bytes, *, kind: CipheringKind | None = None, force: bool = False) -> bytes:
        """Protect ``apdu`` as the policy says (unchanged when the policy is NONE and ``force`` is not set)."""
        if not (self.ciphering or force):
            return apdu
        kind = kind or self.settings.kind
        dedicated = kind in ("ded", "general-ded") and self._dedicated is not None
        if kind in ("ded", "general-ded") and self._dedicated is None:
            kind = "glo" if kind == "ded" else "general-glo"
        cipher = self._dedicated if dedicated else self.global_cipher
        assert cipher is not None
        control = self.policy.security_control if self.ciphering else 0x30
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
        for a tag that does not verify.
        """
        if not apdu or not is_ciphered_tag(apdu[0]):
            return apdu, None
        ciphered = CipheredApdu.decode(apdu)
        sender = ciphered.system_title or self.peer_system_title
        if sender is None:
            raise SecurityError(
                "a ciphered APDU arrived but the peer's system title is unknown "
                "(it comes in the AARE responding-AP-title or the AARQ calling-AP-title)"
            )
        dedicated = ciphered.is_dedicated
        cipher = self._dedicated if dedicated else self.global_cipher
        if cipher is None:
            raise SecurityError("a ded- ciphered APDU arrived but no dedicated key was agreed")
        key_id = self._dedicated_id if dedicated else self._global_id
        # The tag first, then the counter: an old counter under a wrong key is a key problem, not a replay
        # (the meter tells them apart), and only an authentic APDU may move the counter on.
        result = decrypt_apdu(ciphered, system_title=sender, keys=cipher)
        self._require_policy(result.security_control)
        self._received.accept(sender, ciphered.invocation_counter, key_id=key_id)
        kind: CipheringKind
        if ciphered.is_general:
            kind = "general-ded" if dedicated else "general-glo"
        else:
            kind = "ded" if dedicated else "glo"
        return result.plain, kind

    def _require_policy(self, control: SecurityControl) -> None:
        """Refuse an APDU protected less than the security policy asks (e.g. authenticated only under
        authenticated-encrypted): a downgrade is as bad as no protection."""
        policy = self.policy
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
