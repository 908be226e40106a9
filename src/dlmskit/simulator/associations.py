"""The associations of the simulated meter at run time: secrets and keys clients changed, and counters.

An :class:`AssociationState` starts from its ``[[association]]`` model; clients may change its LLS/HLS
secret (Association LN attribute 7 or method 2), its keys (Security setup global_key_transfer) and raise
its security policy (security_activate). Every change takes effect for the *next* association: the one in
progress keeps the keys it started with, as on a real meter.

The meter's own invocation counters come from one :class:`CounterStore` shared by all associations, kept
per system title and key: associations that share a title and a key share the nonce space, so they must
share the counters. The counters *received* from each client are kept per association (client address),
across its associations, in a :class:`~dlmskit.security.invocation.ReceivedCounterTracker` with a replay
window of :data:`REPLAY_WINDOW` (several associations of one client may run at once in the simulator, and
their APDUs arrive slightly out of order; a counter is still never accepted twice).

The frame counter objects (0.0.43.1.x.255) show :meth:`AssociationState.frame_counter`: the lowest counter
the meter will accept next from client x. The Blue Book (DLMS UA 1000-1, "Invocation counter", class 1,
0-b:43.1.e.255) defines the object as holding the invocation counter of the security context of that
association; in the field it is the counter the meter expects from the client: the Gurux C server stores
there the counter it expects next and refuses an AARQ below it, and the Gurux C client reads it and sends
that value plus one (shared/interop/gurux-c-server/README.md, point 4). Both our client
(``read_frame_counter_first``, value + 1) and the Gurux client are therefore accepted after reading it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from cryptography import x509

from dlmskit.security.certificates import CertificateUsage, self_signed_certificate
from dlmskit.security.general import SignedApduGuard
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import InvocationCounterStore, ReceivedCounterTracker
from dlmskit.security.keys import SecretBytes
from dlmskit.security.keywrap import KeyId
from dlmskit.session.protection import SecurityPolicy, SecurityPolicyBits, SecuritySettings, counter_key_id
from dlmskit.session.server import ServerAssociationSettings
from dlmskit.simulator.model import AssociationModel

__all__ = ["REPLAY_WINDOW", "AssociationState", "CounterStore", "StoredCertificate"]

REPLAY_WINDOW = 1024
SIGNED_APDU_WINDOW = _dt.timedelta(seconds=30)
"""How much older than the newest signed APDU of a client one may be (associations that run at once); a
repeated transaction-id is refused whatever its date-time."""
"""How far below the highest counter received from a client a never-seen counter is still accepted."""


class CertificateEntity:
    """Security setup certificate_entity values."""

    SERVER = 0
    CLIENT = 1
    CERTIFICATION_AUTHORITY = 2


@dataclass
class StoredCertificate:
    """One certificate the meter holds: whose (entity), what for (type), and the certificate."""

    entity: int
    usage: int
    certificate: x509.Certificate


class CounterStore:
    """The meter's own invocation counter store, shared by all its associations."""

    def __init__(self, store: InvocationCounterStore) -> None:
        self._store = store

    def next(self, system_title: bytes, key_id: str) -> int:
        return self._store.next(system_title, key_id)

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        self._store.advance(system_title, key_id, minimum)


class AssociationState:
    """One client address: its model and what clients changed since the meter started."""

    def __init__(self, model: AssociationModel, counters: CounterStore) -> None:
        self.model = model
        self.counters = counters
        self.secret = model.secret
        self.policy = model.policy
        self.block_cipher_key = model.block_cipher_key
        self.authentication_key = model.authentication_key
        self.master_key = model.master_key
        self.received_counters = ReceivedCounterTracker(window=REPLAY_WINDOW)
        """The client's last invocation counters, kept across its associations (replays are refused)."""
        self.signed_apdu_guard = SignedApduGuard(window=SIGNED_APDU_WINDOW)
        """The client's signed APDUs (transaction-id, date-time), kept across its associations."""
        self.signing_key = model.signing_key
        """The meter's ECDSA key pair (suites 1/2); Security setup generate_key_pair replaces it."""
        self.client_public_key = model.client_public_key
        """The client's public key; an imported client certificate replaces it."""
        self.certificates: list[StoredCertificate] = []
        """The certificates the meter holds (Security setup v1 attribute 6), its own first."""
        if self.signing_key is not None:
            self.certificates.append(
                StoredCertificate(
                    CertificateEntity.SERVER,
                    CertificateUsage.DIGITAL_SIGNATURE,
                    self_signed_certificate(self.signing_key, model.server_system_title),
                )
            )

    @property
    def client_sap(self) -> int:
        return self.model.client_sap

    @property
    def ciphered(self) -> bool:
        """Whether the association has keys (so a server invocation counter)."""
        return self.block_cipher_key is not None and self.authentication_key is not None

    def settings(self) -> ServerAssociationSettings:
        """The settings the session uses for the next association of this client."""
        model = self.model
        security = SecuritySettings(
            policy=self.policy,
            system_title=model.server_system_title,
            block_cipher_key=SecretBytes(self.block_cipher_key) if self.block_cipher_key else None,
            authentication_key=SecretBytes(self.authentication_key) if self.authentication_key else None,
            invocation_counters=self.counters,
            received_counters=self.received_counters,
            signed_apdu_guard=self.signed_apdu_guard,
            expected_peer_system_title=model.client_system_title,
            suite=model.security_suite,
            signing_key=self.signing_key,
            peer_signing_key=self.client_public_key,
            sign_apdus=model.signed_apdus,
            policy_bits=None if model.policy_bits is None else SecurityPolicyBits(model.policy_bits),
        )
        return ServerAssociationSettings(
            mechanism=model.mechanism,
            secret=self.secret,
            security=security,
            conformance=model.conformance,
            max_receive_pdu_size=model.max_pdu_size,
        )

    def frame_counter(self) -> int:
        """The lowest invocation counter the meter accepts next from this client with the current key: one
        above the highest it accepted (0 before the first, or without keys)."""
        if self.block_cipher_key is None:
            return 0
        return self.received_counters.highest_expected(key_id=counter_key_id(self.block_cipher_key))

    def replace_key(self, key_id: KeyId, key: bytes) -> None:
        """A new key from global_key_transfer (already unwrapped); used from the next association."""
        if key_id == KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY:
            self.block_cipher_key = key
        elif key_id == KeyId.AUTHENTICATION_KEY:
            self.authentication_key = key
        elif key_id == KeyId.MASTER_KEY:
            self.master_key = key
        # The broadcast key (1) is accepted and not used: the simulator sends no broadcasts.

    @property
    def uses_secret(self) -> bool:
        """Whether the association authenticates with a password or HLS secret (not the keys)."""
        return self.model.mechanism not in (Mechanism.NONE, Mechanism.HIGH_GMAC, Mechanism.HIGH_ECDSA)

    def raise_policy(self, policy: SecurityPolicy) -> bool:
        """security_activate: the policy may only get stronger; False when ``policy`` is weaker."""
        if policy < self.policy or not self.ciphered:
            return False
        self.policy = policy
        return True
