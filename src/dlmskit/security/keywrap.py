"""AES key wrap (RFC 3394) for the Security setup method global_key_transfer.

A client changes a meter's global keys by calling Security setup (class 64) method 2,
global_key_transfer, with an array of ``{key_id, wrapped key}``: each new key is wrapped with the
master key (KEK) so it never travels in clear. :class:`KeyId` names the keys.
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from dlmskit.errors import KeyFormatError, SecurityError
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import BytesLike

__all__ = ["KeyId", "unwrap_key", "wrap_key"]

_KEK_LENGTHS = (16, 24, 32)
_SEMIBLOCK = 8


class KeyId(IntEnum):
    """``key_id`` of global_key_transfer (Security setup method 2)."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1
    AUTHENTICATION_KEY = 2
    MASTER_KEY = 3


def _kek(kek: BytesLike | SecretBytes) -> bytes:
    raw = kek.reveal() if isinstance(kek, SecretBytes) else bytes(kek)
    if len(raw) not in _KEK_LENGTHS:
        raise KeyFormatError(f"master key (KEK) must be 16, 24 or 32 bytes, got {len(raw)}")
    return raw


def wrap_key(kek: BytesLike | SecretBytes, key: BytesLike | SecretBytes) -> bytes:
    """``key`` wrapped with the master key ``kek`` (8 bytes longer than ``key``)."""
    raw = key.reveal() if isinstance(key, SecretBytes) else bytes(key)
    if len(raw) < 2 * _SEMIBLOCK or len(raw) % _SEMIBLOCK:
        raise KeyFormatError(f"a key to wrap has a multiple of 8 bytes, at least 16, got {len(raw)}")
    return aes_key_wrap(_kek(kek), raw)


def unwrap_key(kek: BytesLike | SecretBytes, wrapped: BytesLike) -> bytes:
    """The key inside ``wrapped``; a wrong master key or damaged data raises ``SecurityError``."""
    raw = bytes(wrapped)
    if len(raw) < 3 * _SEMIBLOCK or len(raw) % _SEMIBLOCK:
        raise KeyFormatError(f"a wrapped key has a multiple of 8 bytes, at least 24, got {len(raw)}")
    try:
        return aes_key_unwrap(_kek(kek), raw)
    except InvalidUnwrap:
        raise SecurityError("key unwrap failed: wrong master key (KEK) or damaged wrapped key") from None
