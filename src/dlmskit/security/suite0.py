"""Security suite 0: AES-GCM-128 protection of xDLMS APDUs (DLMS UA Green Book, "cryptographic suite 0").

A protected APDU carries a security header and the ciphered information::

    SC || IC || C || T

``SC`` is the security control byte (:class:`SecurityControl`), ``IC`` the sender's 4-byte invocation
counter, ``C`` the ciphertext and ``T`` the first 12 bytes of the GCM tag. The GCM nonce (IV) is the
sender's 8-byte system title followed by ``IC``; each side ciphers with its own system title and
counter, so a (key, system title, counter) triple must never be used twice.

========  ===================================  ========================
SC        additional authenticated data (AAD)  output
========  ===================================  ========================
``0x10``  ``SC || AK || P``                    ``SC || IC || P || T``
``0x20``  none (no tag)                        ``SC || IC || C``
``0x30``  ``SC || AK``                         ``SC || IC || C || T``
========  ===================================  ========================

Suite 1 uses the same AES-GCM-128 ciphering (it differs in key agreement and signatures), and suite 2
the same construction with AES-GCM-256 and 32-byte keys; :class:`GcmCipher` accepts the suite ids that
match its key length. Compression (bit 7) is not supported.

:class:`GcmCipher` keeps one ``AESGCM`` object per key, so repeated calls cost little more than
``AESGCM`` itself. The 12-byte truncated tag cannot be checked by ``AESGCM.decrypt`` (it wants the full
16 bytes), and the ``Cipher``/``modes.GCM`` decryptor that can costs a new object per call; so
decryption relies on GCM being counter mode: applying the same key stream to ``C`` gives ``P``, and
protecting ``P`` again gives the full tag, whose first 12 bytes are compared with
``hmac.compare_digest``. The tag is always verified before any plaintext is returned.

:meth:`GcmCipher.decrypt_at` and :meth:`GcmCipher.encrypt_enveloped` are the receiver's and the sender's
per-APDU paths: SC and IC read where they are in a received APDU, the nonce made from those bytes, and the
envelope of a glo-/ded- APDU packed with the header in one ``struct`` call (tests/security/
test_ciphering_fast_path.py holds them to the Green Book vectors and to a reference made with ``cryptography``
alone).
"""

from __future__ import annotations

import functools
import hmac
import struct
from collections.abc import Collection
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dlmskit.codec.axdr import encode_length
from dlmskit.errors import DecodeError, EncodeError, KeyFormatError, SecurityError, TagVerificationError
from dlmskit.security.keys import SYSTEM_TITLE_LENGTH, SecretBytes

__all__ = [
    "SECURITY_HEADER_LENGTH",
    "TAG_LENGTH",
    "BytesLike",
    "GcmCipher",
    "SecurityControl",
    "protect",
    "unprotect",
]

#: Length of the truncated GCM authentication tag ``T``.
TAG_LENGTH = 12
#: Length of the security header ``SC || IC``.
SECURITY_HEADER_LENGTH = 5

_SUITE_MASK = 0x0F
_AUTHENTICATION = 0x10
_ENCRYPTION = 0x20
_BROADCAST_KEY = 0x40
_COMPRESSION = 0x80

_HEADER = struct.Struct(">BI")
_ENVELOPE = struct.Struct(">BBBI")
"""APDU tag, one-byte length, SC, IC."""
_FULL_TAG_LENGTH = 16
_TRUNCATION = _FULL_TAG_LENGTH - TAG_LENGTH
_SUITES_BY_KEY_LENGTH = {16: (0, 1), 32: (2,)}

BytesLike = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class SecurityControl:
    """The security control byte ``SC`` of a protected APDU.

    Bits 0-3 hold the security suite id, bit 4 (0x10) authentication, bit 5 (0x20) encryption, bit 6
    (0x40) the key set (broadcast key instead of unicast key) and bit 7 (0x80) compression.
    """

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 0xFF:
            raise EncodeError(f"security control must be one byte (0..255), got {self.value}")

    @classmethod
    def from_flags(
        cls,
        *,
        suite_id: int = 0,
        authenticated: bool = False,
        encrypted: bool = False,
        broadcast_key: bool = False,
        compressed: bool = False,
    ) -> SecurityControl:
        """Build the byte from its fields."""
        if not 0 <= suite_id <= _SUITE_MASK:
            raise EncodeError(f"security suite id must be 0..15, got {suite_id}")
        return cls(
            suite_id
            | (_AUTHENTICATION if authenticated else 0)
            | (_ENCRYPTION if encrypted else 0)
            | (_BROADCAST_KEY if broadcast_key else 0)
            | (_COMPRESSION if compressed else 0)
        )

    @classmethod
    def from_byte(cls, value: int) -> SecurityControl:
        """The (shared) instance for one byte value."""
        if not 0 <= value <= 0xFF:
            raise EncodeError(f"security control must be one byte (0..255), got {value}")
        return _SECURITY_CONTROLS[value]

    @property
    def suite_id(self) -> int:
        """Security suite id (0 AES-GCM-128, 1 with ECDH/ECDSA P-256, 2 AES-GCM-256 with P-384)."""
        return self.value & _SUITE_MASK

    @property
    def authenticated(self) -> bool:
        """The APDU carries an authentication tag."""
        return bool(self.value & _AUTHENTICATION)

    @property
    def encrypted(self) -> bool:
        """The information is encrypted."""
        return bool(self.value & _ENCRYPTION)

    @property
    def broadcast_key(self) -> bool:
        """Ciphered with the broadcast key (key set bit) rather than the unicast key."""
        return bool(self.value & _BROADCAST_KEY)

    @property
    def compressed(self) -> bool:
        """The information is compressed before ciphering (not supported by dlmskit)."""
        return bool(self.value & _COMPRESSION)

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        words = [f"suite {self.suite_id}"]
        words += [
            word
            for word, flag in (
                ("authenticated", self.authenticated),
                ("encrypted", self.encrypted),
                ("broadcast key", self.broadcast_key),
                ("compressed", self.compressed),
            )
            if flag
        ]
        return f"SecurityControl(0x{self.value:02X}: {', '.join(words)})"


_SECURITY_CONTROLS = tuple(SecurityControl(value) for value in range(256))


def _raw_key(key: bytes | SecretBytes) -> bytes:
    return key.reveal() if isinstance(key, SecretBytes) else bytes(key)


@functools.cache
def _accepted_controls(suites: Collection[int]) -> tuple[int, ...]:
    """The security control bytes a cipher of these suites accepts (computed once per key length)."""
    return tuple(
        value
        for value in range(256)
        if value & _SUITE_MASK in suites
        and value & (_AUTHENTICATION | _ENCRYPTION)
        and not value & _COMPRESSION
    )


@functools.cache
def _accepted_set(suites: tuple[int, ...]) -> frozenset[int]:
    return frozenset(_accepted_controls(suites))


class GcmCipher:
    """AES-GCM ciphering with one block cipher key (EK) and authentication key (AK).

    Create one per key pair (global unicast, global broadcast, dedicated) and reuse it: the AES key
    schedule is computed once. The keys are never shown by ``repr``. Choosing the key is the caller's
    part: when the security control's key-set bit (0x40) asks for the broadcast key, use the cipher made
    with the global broadcast key.
    """

    __slots__ = ("_accepted", "_aead", "_ak", "_key_length", "_prefixes")

    def __init__(
        self, block_cipher_key: bytes | SecretBytes, authentication_key: bytes | SecretBytes
    ) -> None:
        ek = _raw_key(block_cipher_key)
        ak = _raw_key(authentication_key)
        suites = _SUITES_BY_KEY_LENGTH.get(len(ek))
        if suites is None:
            raise KeyFormatError(
                f"block cipher key must be 16 bytes (suites 0 and 1) or 32 bytes (suite 2), got {len(ek)}"
            )
        if len(ak) != len(ek):
            raise KeyFormatError(
                f"authentication key must be {len(ek)} bytes like the block cipher key, got {len(ak)}"
            )
        self._aead = AESGCM(ek)
        self._key_length = len(ek)
        # The AAD prefix SC || AK of each security control byte this cipher accepts, made the first time
        # the byte is used (a session uses one or two of them): afterwards one dict lookup both validates
        # the byte and gives the prefix.
        self._ak = ak
        self._accepted = _accepted_set(suites)
        self._prefixes: dict[int, bytes] = {}

    def __repr__(self) -> str:
        return "<GcmCipher keys redacted>"

    def _prefix(self, security_control: int | SecurityControl) -> bytes:
        """``SC || AK`` for a security control given as ``SecurityControl``, or why it is refused."""
        sc = int(security_control)
        prefix = self._prefixes.get(sc)
        if prefix is not None:
            return prefix
        if sc in self._accepted:
            prefix = self._prefixes[sc] = bytes((sc,)) + self._ak
            return prefix
        if not 0 <= sc <= 0xFF:
            raise EncodeError(f"security control must be one byte (0..255), got {sc}")
        if not sc & (_AUTHENTICATION | _ENCRYPTION):
            raise SecurityError(f"security control 0x{sc:02X} asks for neither authentication nor encryption")
        if sc & _COMPRESSION:
            raise SecurityError(f"security control 0x{sc:02X} asks for compression, which is not supported")
        raise SecurityError(
            f"security control 0x{sc:02X} names security suite {sc & _SUITE_MASK}, which is not supported "
            f"with {self._key_length}-byte keys"
        )

    def encrypt(
        self,
        security_control: int | SecurityControl,
        system_title: bytes,
        invocation_counter: int,
        plaintext: BytesLike,
    ) -> bytes:
        """Protect ``plaintext``: returns ``SC || IC || C || T`` (see the module table for each SC).

        ``system_title`` and ``invocation_counter`` are the sender's own; never reuse a counter with
        the same key (see :mod:`dlmskit.security.invocation`).
        """
        prefix = self._prefixes.get(security_control)  # type: ignore[arg-type]
        if prefix is None:
            prefix = self._prefix(security_control)
        sc = prefix[0]
        try:
            header = _HEADER.pack(sc, invocation_counter)
        except struct.error:
            raise EncodeError(f"invocation counter must be 0..4294967295, got {invocation_counter}") from None
        if len(system_title) != SYSTEM_TITLE_LENGTH:
            raise KeyFormatError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
        nonce = system_title + header[1:]
        if sc & _ENCRYPTION:
            if sc & _AUTHENTICATION:
                return header + self._aead.encrypt(nonce, plaintext, prefix)[:-_TRUNCATION]
            return header + self._aead.encrypt(nonce, plaintext, None)[:-_FULL_TAG_LENGTH]
        tag = self._aead.encrypt(nonce, b"", prefix + plaintext)
        return b"".join((header, plaintext, tag[:TAG_LENGTH]))

    def encrypt_enveloped(
        self,
        apdu_tag: int,
        security_control: int | SecurityControl,
        system_title: bytes,
        invocation_counter: int,
        plaintext: BytesLike,
    ) -> bytes:
        """``TAG || length || SC || IC || C || T``: :meth:`encrypt` inside the envelope of a service-specific
        ciphered APDU (``apdu_tag`` is the glo- or ded- tag, the length an A-XDR length), built in one go.

        What :func:`dlmskit.security.ciphering.encrypt_apdu` returns for glo- and ded- APDUs.
        """
        prefix = self._prefixes.get(security_control)  # type: ignore[arg-type]
        if prefix is None:
            prefix = self._prefix(security_control)
        sc = prefix[0]
        size = SECURITY_HEADER_LENGTH + len(plaintext) + (TAG_LENGTH if sc & _AUTHENTICATION else 0)
        if size >= 0x80 or not 0 <= apdu_tag <= 0xFF:
            protected = self.encrypt(sc, system_title, invocation_counter, plaintext)
            return bytes((apdu_tag,)) + encode_length(len(protected)) + protected
        try:
            head = _ENVELOPE.pack(apdu_tag, size, sc, invocation_counter)
        except struct.error:
            raise EncodeError(f"invocation counter must be 0..4294967295, got {invocation_counter}") from None
        if len(system_title) != SYSTEM_TITLE_LENGTH:
            raise KeyFormatError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
        nonce = system_title + head[3:]
        if sc & _ENCRYPTION:
            if sc & _AUTHENTICATION:
                return head + self._aead.encrypt(nonce, plaintext, prefix)[:-_TRUNCATION]
            return head + self._aead.encrypt(nonce, plaintext, None)[:-_FULL_TAG_LENGTH]
        tag = self._aead.encrypt(nonce, b"", prefix + plaintext)
        return b"".join((head, plaintext, tag[:TAG_LENGTH]))

    def decrypt(
        self,
        security_control: int | SecurityControl,
        system_title: bytes,
        invocation_counter: int,
        data: BytesLike,
    ) -> bytes:
        """The plaintext of ``data`` (``C || T``: the ciphered information after the security header).

        ``system_title`` and ``invocation_counter`` are the sender's. Raises
        :class:`~dlmskit.errors.TagVerificationError` when the tag does not verify and
        :class:`~dlmskit.errors.DecodeError` when ``data`` is shorter than the tag.
        """
        prefix = self._prefixes.get(security_control)  # type: ignore[arg-type]
        if prefix is None:
            prefix = self._prefix(security_control)
        if len(system_title) != SYSTEM_TITLE_LENGTH:
            raise KeyFormatError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
        try:
            counter = invocation_counter.to_bytes(4, "big")
        except OverflowError:
            raise DecodeError(
                "invocation counter out of range", expected="0..4294967295", found=str(invocation_counter)
            ) from None
        return self._open(prefix, system_title, counter, data)

    def decrypt_at(self, data: BytesLike, offset: int, system_title: bytes) -> tuple[bytes, int, int]:
        """``(plaintext, security control, invocation counter)`` of the protected APDU ``SC || IC || C || T``
        that starts at ``data[offset]`` and runs to the end of ``data``.

        What :meth:`decrypt` does, reading SC and IC where they are (what a receiver does with a ciphered
        APDU it has just framed: no copy of the envelope). The same errors, in the same order, and a
        :class:`~dlmskit.errors.DecodeError` when fewer than the 5 header bytes are there.
        """
        if len(data) - offset < SECURITY_HEADER_LENGTH or offset < 0:
            raise DecodeError(
                "security header truncated",
                offset=offset,
                expected=f"{SECURITY_HEADER_LENGTH} bytes (SC and IC)",
                found=f"{max(0, len(data) - offset)} bytes",
            )
        sc = data[offset]
        prefix = self._prefixes.get(sc)
        if prefix is None:
            prefix = self._prefix(sc)
        if len(system_title) != SYSTEM_TITLE_LENGTH:
            raise KeyFormatError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes, got {len(system_title)}")
        counter = data[offset + 1 : offset + SECURITY_HEADER_LENGTH]
        plaintext = self._open(prefix, system_title, counter, data[offset + SECURITY_HEADER_LENGTH :])
        return plaintext, sc, int.from_bytes(counter, "big")

    def _open(self, prefix: bytes, system_title: bytes, counter: BytesLike, data: BytesLike) -> bytes:
        """The plaintext of ``C || T`` under the AAD prefix ``SC || AK``, tag verified first."""
        nonce = system_title + counter
        aead = self._aead
        mode = prefix[0] & (_AUTHENTICATION | _ENCRYPTION)
        if mode == _ENCRYPTION:
            return aead.encrypt(nonce, data, None)[:-_FULL_TAG_LENGTH]
        size = len(data) - TAG_LENGTH
        if size < 0:
            raise DecodeError(
                "ciphered information shorter than the authentication tag",
                expected=f"at least {TAG_LENGTH} bytes",
                found=f"{len(data)} bytes",
            )
        if mode == _AUTHENTICATION:
            plaintext = bytes(data[:size])
            expected = aead.encrypt(nonce, b"", prefix + plaintext)[:TAG_LENGTH]
        else:
            # GCM is counter mode: the key stream that turned P into C turns C back into P (applied to
            # C || T here, one slice fewer; what T turns into is dropped). Protecting P again gives the
            # full tag, whose first 12 bytes must equal the received T.
            plaintext = aead.encrypt(nonce, data, None)[:size]
            expected = aead.encrypt(nonce, plaintext, prefix)[size : size + TAG_LENGTH]
        if hmac.compare_digest(expected, data[size:]):
            return plaintext
        raise TagVerificationError(
            "authentication tag does not verify for sender system title "
            f"{bytes(system_title).hex().upper()}, invocation counter {int.from_bytes(counter, 'big')} "
            f"(0x{bytes(counter).hex().upper()}): wrong keys, wrong system title, or tampered data"
        )

    def authentication_tag(
        self,
        security_control: int | SecurityControl,
        system_title: bytes,
        invocation_counter: int,
        data: BytesLike,
    ) -> bytes:
        """The 12-byte tag ``T`` of authentication-only protection (AAD = ``SC || AK || data``).

        This is the GMAC used by HLS mechanism 5 (:mod:`dlmskit.security.hls`). ``security_control``
        must ask for authentication without encryption (0x10 in suite 0).
        """
        sc = self._prefix(security_control)[0]
        if sc & (_AUTHENTICATION | _ENCRYPTION) != _AUTHENTICATION:
            raise EncodeError(
                f"a GMAC needs authentication without encryption, security control is 0x{sc:02X}"
            )
        return self.encrypt(sc, system_title, invocation_counter, data)[-TAG_LENGTH:]


def protect(
    security_control: int | SecurityControl,
    system_title: bytes,
    invocation_counter: int,
    plaintext: BytesLike,
    *,
    block_cipher_key: bytes | SecretBytes,
    authentication_key: bytes | SecretBytes,
) -> bytes:
    """``SC || IC || C || T`` for ``plaintext``; a one-shot :meth:`GcmCipher.encrypt`.

    For many APDUs with the same keys, keep a :class:`GcmCipher` instead.
    """
    cipher = GcmCipher(block_cipher_key, authentication_key)
    return cipher.encrypt(security_control, system_title, invocation_counter, plaintext)


def unprotect(
    data: BytesLike,
    *,
    system_title: bytes,
    block_cipher_key: bytes | SecretBytes,
    authentication_key: bytes | SecretBytes,
) -> tuple[SecurityControl, int, bytes]:
    """``(security control, invocation counter, plaintext)`` of ``SC || IC || C || T``.

    ``system_title`` is the sender's. The inverse of :func:`protect`.
    """
    if len(data) < SECURITY_HEADER_LENGTH:
        raise DecodeError(
            "security header truncated",
            offset=len(data),
            expected=f"{SECURITY_HEADER_LENGTH} bytes (SC and IC)",
            found=f"{len(data)} bytes",
        )
    sc, ic = _HEADER.unpack_from(data)
    cipher = GcmCipher(block_cipher_key, authentication_key)
    plaintext = cipher.decrypt(sc, system_title, ic, memoryview(data)[SECURITY_HEADER_LENGTH:])
    return SecurityControl.from_byte(sc), ic, plaintext
