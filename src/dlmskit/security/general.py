"""general-ciphering (tag 221, DD) and general-signing (tag 223, DF): the suites 1/2 envelopes.

Both APDUs carry a header of five A-XDR octet strings (IEC 62056-5-3 / Green Book xDLMS ASN.1)::

    DD || transaction-id || originator-system-title || recipient-system-title || date-time ||
          other-information || key-info OPTIONAL || ciphered-content
    DF || transaction-id || originator-system-title || recipient-system-title || date-time ||
          other-information || content || signature

An octet string is ``length || bytes`` (A-XDR length); ``OPTIONAL`` is ``00`` (absent) or ``01``
followed by the value; ``key-info`` is a CHOICE (``00`` identified-key {key-id enum}, ``01``
wrapped-key {kek-id enum, key-ciphered-data}, ``02`` agreed-key {key-parameters, key-ciphered-data}).

The ciphered content is ``SC || IC || C || T`` as in suite 0, with the GCM nonce ``originator system
title || IC`` and, when authenticated, the header in the additional data: ``AAD = SC || AK ||
transaction-id || originator-system-title || recipient-system-title || date-time ||
other-information`` (each field with its length byte; also how the public Gurux.DLMS.Python client
builds it for suites 1 and 2). The key is

* identified-key: the global unicast or broadcast key named by key-id;
* wrapped-key: a fresh key, AES-key-wrapped (RFC 3394) with the master key (kek-id 0);
* agreed-key, key-parameters ``01`` One-Pass Diffie-Hellman C(1e, 1s): the sender makes an
  ephemeral key pair, ``Z = ECDH(ephemeral, recipient's static key)``; key-ciphered-data is the
  ephemeral public key ``X || Y``;
* agreed-key, key-parameters ``02`` Static Unified Model C(0e, 2s): ``Z = ECDH(own static, peer's
  static key)``, key-ciphered-data empty, and the transaction-id enters the KDF's OtherInfo.

The key is ``KDF(Z, AlgorithmID || ST-originator || [len(tid) || tid ||] ST-recipient)`` (see
:mod:`dlmskit.security.ecc`). The signature of general-signing is the ECDSA signature ``r || s`` of
the APDU's bytes from the tag up to and including ``content``.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dlmskit.codec.axdr import encode_length
from dlmskit.codec.cosem_datetime import CosemDateTime
from dlmskit.errors import (
    ConfigurationError,
    DecodeError,
    EncodeError,
    KeyFormatError,
    ReplayError,
    TagVerificationError,
)
from dlmskit.security.ciphering import _decode_length
from dlmskit.security.ecc import (
    SecuritySuite,
    decode_public_key,
    derive_key,
    ecdh,
    encode_public_key,
    generate_private_key,
    other_info,
    sign,
    verify,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.keywrap import unwrap_key, wrap_key
from dlmskit.security.suite0 import SECURITY_HEADER_LENGTH, TAG_LENGTH, BytesLike, SecurityControl

__all__ = [
    "GENERAL_CIPHERING",
    "GENERAL_SIGNING",
    "AgreedKey",
    "GeneralCiphering",
    "GeneralSigning",
    "IdentifiedKey",
    "KeyAgreementScheme",
    "KeyInfo",
    "SignedApduGuard",
    "WrappedKey",
    "decipher_general",
    "encipher_general",
    "sign_general",
    "signing_date_time",
    "verify_general",
]

GENERAL_CIPHERING = 0xDD
GENERAL_SIGNING = 0xDF


class KeyAgreementScheme(IntEnum):
    """Key agreement schemes of suites 1 and 2 (the key-parameters byte of agreed-key)."""

    EPHEMERAL_UNIFIED_MODEL = 0  # C(2e, 0s): Security setup key_agreement, not general-ciphering
    ONE_PASS_DIFFIE_HELLMAN = 1  # C(1e, 1s)
    STATIC_UNIFIED_MODEL = 2  # C(0e, 2s)


@dataclass(frozen=True, slots=True)
class IdentifiedKey:
    """key-info identified-key: ``key_id`` 0 global unicast, 1 global broadcast encryption key."""

    key_id: int


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """key-info wrapped-key: the content key wrapped with the key ``kek_id`` (0 = master key)."""

    kek_id: int
    key_ciphered_data: bytes


@dataclass(frozen=True, slots=True)
class AgreedKey:
    """key-info agreed-key: ``key_parameters`` names the scheme, ``key_ciphered_data`` its public data."""

    key_parameters: bytes
    key_ciphered_data: bytes

    @property
    def scheme(self) -> KeyAgreementScheme:
        """The scheme of a one-byte ``key_parameters``; anything else raises ``DecodeError``."""
        if len(self.key_parameters) != 1 or self.key_parameters[0] not in (1, 2):
            raise DecodeError(
                "agreed-key key-parameters",
                expected="01 (One-Pass Diffie-Hellman) or 02 (Static Unified Model)",
                found=self.key_parameters.hex(" ").upper() or "nothing",
            )
        return KeyAgreementScheme(self.key_parameters[0])


KeyInfo = IdentifiedKey | WrappedKey | AgreedKey


def _octets(value: bytes) -> bytes:
    return encode_length(len(value)) + value


def _read_octets(data: BytesLike, offset: int, what: str) -> tuple[bytes, int]:
    length, offset = _decode_length(data, offset, what)
    return bytes(data[offset : offset + length]), offset + length


def _read_byte(data: BytesLike, offset: int, what: str) -> tuple[int, int]:
    if offset >= len(data):
        raise DecodeError(f"{what} missing", offset=offset, expected="one byte", found="end of data")
    return data[offset], offset + 1


@dataclass(frozen=True, slots=True)
class _Header:
    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes
    date_time: bytes
    other_information: bytes

    def encode(self) -> bytes:
        return b"".join(
            _octets(part)
            for part in (
                self.transaction_id,
                self.originator_system_title,
                self.recipient_system_title,
                self.date_time,
                self.other_information,
            )
        )

    @classmethod
    def decode(cls, data: BytesLike, offset: int) -> tuple[_Header, int]:
        parts: list[bytes] = []
        for what in ("transaction-id", "originator-system-title", "recipient-system-title", "date-time"):
            value, offset = _read_octets(data, offset, what)
            parts.append(value)
        other, offset = _read_octets(data, offset, "other-information")
        return cls(parts[0], parts[1], parts[2], parts[3], other), offset


def _check_tag(data: BytesLike, tag: int, name: str) -> None:
    if not data or data[0] != tag:
        raise DecodeError(
            f"not a {name} APDU",
            offset=0,
            expected=f"tag 0x{tag:02X}",
            found=f"0x{data[0]:02X}" if data else "end of data",
        )


def _check_end(data: BytesLike, offset: int) -> None:
    if offset != len(data):
        raise DecodeError(
            "bytes after the APDU",
            offset=offset,
            expected="end of data",
            found=f"{len(data) - offset} more bytes",
        )


@dataclass(frozen=True, slots=True)
class GeneralCiphering:
    """A general-ciphering APDU (tag DD); ``ciphered_content`` is ``SC || IC || C || T``."""

    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes
    date_time: bytes
    other_information: bytes
    key_info: KeyInfo | None
    ciphered_content: bytes

    def _header(self) -> _Header:
        return _Header(
            self.transaction_id,
            self.originator_system_title,
            self.recipient_system_title,
            self.date_time,
            self.other_information,
        )

    @property
    def security_control(self) -> SecurityControl:
        """The SC byte at the start of the ciphered content."""
        if len(self.ciphered_content) < SECURITY_HEADER_LENGTH:
            raise DecodeError("security header truncated", expected="SC and IC", found="fewer bytes")
        return SecurityControl.from_byte(self.ciphered_content[0])

    @property
    def invocation_counter(self) -> int:
        """The IC after the SC byte."""
        if len(self.ciphered_content) < SECURITY_HEADER_LENGTH:
            raise DecodeError("security header truncated", expected="SC and IC", found="fewer bytes")
        return int.from_bytes(self.ciphered_content[1:SECURITY_HEADER_LENGTH], "big")

    def encode(self) -> bytes:
        """The APDU bytes."""
        info = self.key_info
        if info is None:
            key_info = b"\x00"
        elif isinstance(info, IdentifiedKey):
            key_info = bytes((1, 0, _enum(info.key_id, "key-id")))
        elif isinstance(info, WrappedKey):
            key_info = bytes((1, 1, _enum(info.kek_id, "kek-id"))) + _octets(info.key_ciphered_data)
        else:
            key_info = b"\x01\x02" + _octets(info.key_parameters) + _octets(info.key_ciphered_data)
        return b"".join(
            (bytes((GENERAL_CIPHERING,)), self._header().encode(), key_info, _octets(self.ciphered_content))
        )

    @classmethod
    def decode(cls, data: BytesLike) -> GeneralCiphering:
        """Parse the whole of ``data``; malformed input raises ``DecodeError``."""
        _check_tag(data, GENERAL_CIPHERING, "general-ciphering")
        header, offset = _Header.decode(data, 1)
        present, offset = _read_byte(data, offset, "key-info presence")
        info: KeyInfo | None = None
        if present == 1:
            choice, offset = _read_byte(data, offset, "key-info choice")
            if choice == 0:
                key_id, offset = _read_byte(data, offset, "key-id")
                info = IdentifiedKey(key_id)
            elif choice == 1:
                kek_id, offset = _read_byte(data, offset, "kek-id")
                wrapped, offset = _read_octets(data, offset, "key-ciphered-data")
                info = WrappedKey(kek_id, wrapped)
            elif choice == 2:
                parameters, offset = _read_octets(data, offset, "key-parameters")
                agreed, offset = _read_octets(data, offset, "key-ciphered-data")
                info = AgreedKey(parameters, agreed)
            else:
                raise DecodeError(
                    "key-info", offset=offset - 1, expected="choice 0, 1 or 2", found=f"0x{choice:02X}"
                )
        elif present != 0:
            raise DecodeError(
                "key-info presence", offset=offset - 1, expected="0x00 or 0x01", found=f"0x{present:02X}"
            )
        content, offset = _read_octets(data, offset, "ciphered-content")
        _check_end(data, offset)
        return cls(
            header.transaction_id,
            header.originator_system_title,
            header.recipient_system_title,
            header.date_time,
            header.other_information,
            info,
            content,
        )


@dataclass(frozen=True, slots=True)
class GeneralSigning:
    """A general-signing APDU (tag DF): ``content`` (often another APDU) and its ``signature``."""

    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes
    date_time: bytes
    other_information: bytes
    content: bytes
    signature: bytes = field(default=b"")

    def signed_data(self) -> bytes:
        """The bytes the signature covers: the APDU from its tag up to and including ``content``."""
        header = _Header(
            self.transaction_id,
            self.originator_system_title,
            self.recipient_system_title,
            self.date_time,
            self.other_information,
        )
        return bytes((GENERAL_SIGNING,)) + header.encode() + _octets(self.content)

    def encode(self) -> bytes:
        """The APDU bytes."""
        return self.signed_data() + _octets(self.signature)

    @classmethod
    def decode(cls, data: BytesLike) -> GeneralSigning:
        """Parse the whole of ``data``; malformed input raises ``DecodeError``."""
        _check_tag(data, GENERAL_SIGNING, "general-signing")
        header, offset = _Header.decode(data, 1)
        content, offset = _read_octets(data, offset, "content")
        signature, offset = _read_octets(data, offset, "signature")
        _check_end(data, offset)
        return cls(
            header.transaction_id,
            header.originator_system_title,
            header.recipient_system_title,
            header.date_time,
            header.other_information,
            content,
            signature,
        )


def _enum(value: int, what: str) -> int:
    if not 0 <= value <= 0xFF:
        raise EncodeError(f"{what} must be 0..255, got {value}")
    return value


def _raw(key: BytesLike | SecretBytes) -> bytes:
    return key.reveal() if isinstance(key, SecretBytes) else bytes(key)


def _gcm_encrypt(key: bytes, ak: bytes, sc: int, title: bytes, ic: int, aad: bytes, plain: bytes) -> bytes:
    header = bytes((sc,)) + ic.to_bytes(4, "big")
    encryptor = Cipher(algorithms.AES(key), modes.GCM(title + header[1:])).encryptor()
    authenticated = bool(sc & 0x10)
    if sc & 0x20:
        if authenticated:
            encryptor.authenticate_additional_data(header[:1] + ak + aad)
        body = encryptor.update(plain) + encryptor.finalize()
    else:
        encryptor.authenticate_additional_data(header[:1] + ak + aad + plain)
        encryptor.finalize()
        body = plain
    return header + body + (encryptor.tag[:TAG_LENGTH] if authenticated else b"")


def _gcm_decrypt(key: bytes, ak: bytes, title: bytes, aad: bytes, content: bytes) -> tuple[int, bytes]:
    if len(content) < SECURITY_HEADER_LENGTH:
        raise DecodeError(
            "security header truncated", expected="SC and IC (5 bytes)", found=f"{len(content)} bytes"
        )
    sc, ic = content[0], int.from_bytes(content[1:5], "big")
    if not sc & 0x30:
        raise DecodeError(
            "ciphered content", expected="SC asking for authentication and/or encryption", found=f"0x{sc:02X}"
        )
    body = content[SECURITY_HEADER_LENGTH:]
    nonce = title + content[1:5]
    if not sc & 0x10:
        decryptor = Cipher(algorithms.AES(key), modes.CTR(nonce + b"\x00\x00\x00\x02")).decryptor()
        return ic, decryptor.update(body) + decryptor.finalize()
    if len(body) < TAG_LENGTH:
        raise DecodeError(
            "ciphered content shorter than the tag", expected=f"{TAG_LENGTH} bytes", found=f"{len(body)}"
        )
    data, tag = body[:-TAG_LENGTH], body[-TAG_LENGTH:]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=TAG_LENGTH)).decryptor()
    try:
        if sc & 0x20:
            decryptor.authenticate_additional_data(content[:1] + ak + aad)
            plain = decryptor.update(data) + decryptor.finalize()
        else:
            decryptor.authenticate_additional_data(content[:1] + ak + aad + data)
            decryptor.finalize()
            plain = data
    except InvalidTag:
        raise TagVerificationError(
            f"general-ciphering tag does not verify for originator {title.hex().upper()}, invocation counter "
            f"{ic}: wrong or wrongly agreed key, wrong authentication key, or tampered data"
        ) from None
    return ic, plain


def encipher_general(
    plain_apdu: BytesLike,
    *,
    suite: int | SecuritySuite,
    security_control: int,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    invocation_counter: int,
    authentication_key: BytesLike | SecretBytes,
    key_info: KeyInfo | KeyAgreementScheme,
    key: BytesLike | SecretBytes | None = None,
    master_key: BytesLike | SecretBytes | None = None,
    own_private_key: ec.EllipticCurvePrivateKey | None = None,
    peer_public_key: ec.EllipticCurvePublicKey | None = None,
    transaction_id: bytes | None = None,
    date_time: bytes = b"",
    other_information: bytes = b"",
) -> GeneralCiphering:
    """A general-ciphering APDU protecting ``plain_apdu``.

    ``key_info`` is an :class:`IdentifiedKey` (then ``key`` is that global key), ``WrappedKey`` with
    ``kek_id`` 0 (a fresh key is made and wrapped with ``master_key``), or a
    :class:`KeyAgreementScheme`: One-Pass DH needs ``peer_public_key`` (the recipient's static key),
    Static Unified Model ``own_private_key`` and ``peer_public_key``. ``transaction_id`` defaults to 8
    random bytes. ``security_control`` gives the authentication/encryption bits; the suite id is set.
    """
    params = SecuritySuite(suite).parameters
    tid = secrets.token_bytes(8) if transaction_id is None else transaction_id
    info: KeyInfo
    if isinstance(key_info, IdentifiedKey):
        if key is None:
            raise ConfigurationError("identified-key ciphering needs the global key it names (key=)")
        content_key = _raw(key)
        info = key_info
    elif isinstance(key_info, WrappedKey):
        if master_key is None:
            raise ConfigurationError("wrapped-key ciphering needs the master key (master_key=)")
        content_key = secrets.token_bytes(params.key_length)
        info = WrappedKey(key_info.kek_id, wrap_key(master_key, content_key))
    elif isinstance(key_info, AgreedKey):
        raise ConfigurationError("pass the KeyAgreementScheme; the agreed-key data is made here")
    else:
        scheme = KeyAgreementScheme(key_info)
        if peer_public_key is None:
            raise ConfigurationError(f"{scheme.name} needs the recipient's public key (peer_public_key=)")
        if scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN:
            ephemeral = generate_private_key(suite)
            z = ecdh(ephemeral, peer_public_key)
            info = AgreedKey(b"\x01", encode_public_key(ephemeral.public_key()))
            oi = other_info(params.gcm_algorithm, originator_system_title, recipient_system_title)
        elif scheme is KeyAgreementScheme.STATIC_UNIFIED_MODEL:
            if own_private_key is None:
                raise ConfigurationError(
                    "the Static Unified Model needs the sender's own key (own_private_key=)"
                )
            z = ecdh(own_private_key, peer_public_key)
            info = AgreedKey(b"\x02", b"")
            oi = other_info(
                params.gcm_algorithm, originator_system_title, recipient_system_title, transaction_id=tid
            )
        else:
            raise ConfigurationError(
                "the Ephemeral Unified Model agrees keys through Security setup key_agreement, "
                "not in general-ciphering"
            )
        content_key = derive_key(suite, z, oi)
    if len(content_key) != params.key_length:
        raise KeyFormatError(
            f"suite {int(suite)} ciphers with {params.key_length}-byte keys, got {len(content_key)}"
        )
    sc = (security_control & 0xF0) | int(suite)
    header = _Header(tid, originator_system_title, recipient_system_title, date_time, other_information)
    aad = header.encode() if sc & 0x10 else b""
    content = _gcm_encrypt(
        content_key,
        _raw(authentication_key),
        sc,
        originator_system_title,
        invocation_counter,
        aad,
        bytes(plain_apdu),
    )
    return GeneralCiphering(
        tid, originator_system_title, recipient_system_title, date_time, other_information, info, content
    )


def decipher_general(
    apdu: GeneralCiphering | BytesLike,
    *,
    suite: int | SecuritySuite,
    authentication_key: BytesLike | SecretBytes,
    key: BytesLike | SecretBytes | None = None,
    master_key: BytesLike | SecretBytes | None = None,
    own_private_key: ec.EllipticCurvePrivateKey | None = None,
    peer_public_key: ec.EllipticCurvePublicKey | None = None,
) -> tuple[int, bytes]:
    """``(invocation counter, plain APDU)`` of a general-ciphering APDU; the recipient's view.

    The keys needed follow the APDU's key-info as in :func:`encipher_general`: ``key`` for
    identified-key (or no key-info), ``master_key`` for wrapped-key, ``own_private_key`` (the
    recipient's static key) for One-Pass DH, and that plus ``peer_public_key`` (the originator's) for
    the Static Unified Model. Replay checks of the counter are the caller's part.
    """
    message = apdu if isinstance(apdu, GeneralCiphering) else GeneralCiphering.decode(apdu)
    params = SecuritySuite(suite).parameters
    info = message.key_info
    if info is None or isinstance(info, IdentifiedKey):
        if key is None:
            raise ConfigurationError("this general-ciphering APDU uses a global key: pass key=")
        content_key = _raw(key)
    elif isinstance(info, WrappedKey):
        if master_key is None:
            raise ConfigurationError("this general-ciphering APDU carries a wrapped key: pass master_key=")
        content_key = unwrap_key(master_key, info.key_ciphered_data)
    else:
        if own_private_key is None:
            raise ConfigurationError("this general-ciphering APDU uses an agreed key: pass own_private_key=")
        if info.scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN:
            z = ecdh(own_private_key, decode_public_key(suite, info.key_ciphered_data))
            oi = other_info(
                params.gcm_algorithm, message.originator_system_title, message.recipient_system_title
            )
        else:
            if peer_public_key is None:
                raise ConfigurationError(
                    "the Static Unified Model needs the originator's public key: pass peer_public_key="
                )
            z = ecdh(own_private_key, peer_public_key)
            oi = other_info(
                params.gcm_algorithm,
                message.originator_system_title,
                message.recipient_system_title,
                transaction_id=message.transaction_id,
            )
        content_key = derive_key(suite, z, oi)
    if len(content_key) != params.key_length:
        raise KeyFormatError(
            f"suite {int(suite)} ciphers with {params.key_length}-byte keys, got {len(content_key)}"
        )
    sc = message.security_control
    if sc.suite_id != int(suite):
        raise DecodeError("security suite", expected=f"suite {int(suite)}", found=f"suite {sc.suite_id}")
    aad = message._header().encode() if sc.authenticated else b""
    return _gcm_decrypt(
        content_key, _raw(authentication_key), message.originator_system_title, aad, message.ciphered_content
    )


def sign_general(
    content: BytesLike,
    *,
    suite: int | SecuritySuite,
    private_key: ec.EllipticCurvePrivateKey,
    originator_system_title: bytes,
    recipient_system_title: bytes = b"",
    transaction_id: bytes | None = None,
    date_time: bytes = b"",
    other_information: bytes = b"",
) -> GeneralSigning:
    """A general-signing APDU carrying ``content`` signed with the originator's ``private_key``."""
    unsigned = GeneralSigning(
        secrets.token_bytes(8) if transaction_id is None else transaction_id,
        originator_system_title,
        recipient_system_title,
        date_time,
        other_information,
        bytes(content),
    )
    signature = sign(suite, private_key, unsigned.signed_data())
    return GeneralSigning(
        unsigned.transaction_id,
        originator_system_title,
        recipient_system_title,
        date_time,
        other_information,
        unsigned.content,
        signature,
    )


def verify_general(
    apdu: GeneralSigning | BytesLike, *, suite: int | SecuritySuite, public_key: ec.EllipticCurvePublicKey
) -> GeneralSigning:
    """The decoded general-signing APDU once its signature verifies with the originator's ``public_key``.

    Raises :class:`~dlmskit.security.ecc.SignatureError` otherwise.
    """
    message = apdu if isinstance(apdu, GeneralSigning) else GeneralSigning.decode(apdu)
    verify(suite, public_key, message.signed_data(), message.signature)
    return message


def signing_date_time(now: _dt.datetime | None = None) -> bytes:
    """The date-time of a general-signing APDU we send: a COSEM date-time (12 bytes) in UTC, deviation 0."""
    moment = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return CosemDateTime.from_datetime(moment).to_bytes()


def _point_in_time(date_time: bytes) -> _dt.datetime | None:
    """The moment a date-time field names (naive UTC when it has a deviation), or None when it names none."""
    if len(date_time) != CosemDateTime.SIZE:
        return None
    try:
        moment = CosemDateTime.from_bytes(date_time).to_datetime()
    except (ValueError, DecodeError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return moment


class SignedApduGuard:
    """Refuses replayed and old general-signing APDUs, per originator system title.

    A signed APDU that is not ciphered has no invocation counter: its transaction-id and date-time are what
    tell a fresh APDU from a replayed one (IEC 62056-5-3, general-signing). An APDU is refused with
    :class:`~dlmskit.errors.ReplayError` when

    * it has no transaction-id (nothing to tell a replay by);
    * its transaction-id was already accepted from that originator (the last ``remember`` are kept; when one
      is forgotten, its date-time becomes a floor: nothing at or before it is accepted any more);
    * its date-time (when it names a point in time) is older than the newest one accepted from that originator
      by more than ``window`` (0: never older; a meter serving several associations of one client at once can
      allow a few seconds), or not after the floor.

    Call :meth:`accept` only once the signature has verified, so that a forged APDU cannot move the state.
    Share one guard across associations, as a meter does, so that an APDU replayed into a new association is
    refused too.
    """

    def __init__(self, *, remember: int = 65536, window: _dt.timedelta = _dt.timedelta(0)) -> None:
        if remember < 1:
            raise ConfigurationError("a signed-APDU replay guard must remember at least one transaction-id")
        self.remember = remember
        self.window = window
        self._seen: dict[bytes, OrderedDict[bytes, _dt.datetime | None]] = {}
        self._newest: dict[bytes, _dt.datetime] = {}
        self._floor: dict[bytes, _dt.datetime] = {}

    def check(self, message: GeneralSigning) -> None:
        """Raise :class:`~dlmskit.errors.ReplayError` unless ``message`` may be accepted."""
        sender = message.originator_system_title
        who = sender.hex().upper() or "an unnamed originator"
        tid = message.transaction_id
        if not tid:
            raise ReplayError(
                f"the signed APDU from {who} has no transaction-id: a replay could not be told apart, refused"
            )
        if tid in self._seen.get(sender, ()):
            raise ReplayError(
                f"replayed signed APDU: transaction-id {tid.hex().upper()} from {who} was already accepted"
            )
        moment = _point_in_time(message.date_time)
        if moment is None:
            return
        floor = self._floor.get(sender)
        if floor is not None and moment <= floor:
            raise ReplayError(
                f"old signed APDU from {who}: its date-time {moment.isoformat()} is not after {floor.isoformat()}, "
                "before which transaction-ids are no longer remembered"
            )
        newest = self._newest.get(sender)
        if newest is not None and moment < newest - self.window:
            raise ReplayError(
                f"old signed APDU from {who}: its date-time {moment.isoformat()} is older than the newest "
                f"accepted, {newest.isoformat()}"
            )

    def accept(self, message: GeneralSigning) -> None:
        """:meth:`check`, then remember ``message`` as accepted (call once its signature has verified)."""
        self.check(message)
        sender = message.originator_system_title
        moment = _point_in_time(message.date_time)
        seen = self._seen.setdefault(sender, OrderedDict())
        seen[message.transaction_id] = moment
        if moment is not None and (sender not in self._newest or moment > self._newest[sender]):
            self._newest[sender] = moment
        while len(seen) > self.remember:
            _tid, forgotten = seen.popitem(last=False)
            if forgotten is not None and (sender not in self._floor or forgotten > self._floor[sender]):
                self._floor[sender] = forgotten
