"""Everything needed to reach one meter, in one frozen dataclass: :class:`MeterSettings`.

The defaults reach dlmskit's simulated meter (``dlmskit simulate``): TCP to ``127.0.0.1:4059``, HDLC with
server logical address 1 and physical address 17, the public client (16) without authentication. A meter
in the field needs at least its address, the client address and, for a management association, the
authentication and the keys::

    MeterSettings(
        host="10.0.0.7",
        client_address=1,
        authentication="gmac",
        block_cipher_key="00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
        authentication_key="D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
    )

Keys are given as hex digits (spaces, colons and ``0x`` allowed) and kept in
:class:`~dlmskit.security.SecretBytes`, which never shows them in a ``repr``, a log or an error message.
Key text that has the length of the key in *characters* (``"FFFFFFFFFFFFFFFF"`` for a 16-byte key) is
refused with an explanation: it is the ASCII spelling of the key, not its hex digits.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final, Literal, TypedDict

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.codec.obis import Obis, obis
from dlmskit.errors import ArgumentError, ConfigurationError, EncodeError
from dlmskit.link.hdlc_address import split_combined_server_address
from dlmskit.link.hdlc_parameters import MAX_INFO_LENGTH, MAX_WINDOW_SIZE, HdlcParameters
from dlmskit.security.certificates import (
    certificate_public_key,
    certificate_system_title,
    load_certificate,
    load_private_key,
    load_public_key,
    suite_of,
    verify_certificate,
)
from dlmskit.security.general import KeyAgreementScheme
from dlmskit.security.hls import Mechanism
from dlmskit.security.keys import SecretBytes, parse_key, parse_system_title
from dlmskit.session.protection import SecurityPolicy, SecurityPolicyBits

__all__ = [
    "AUTHENTICATIONS",
    "COUNTER_FILE",
    "SECURITY_POLICIES",
    "Authentication",
    "LinkKind",
    "MeterOptions",
    "MeterSettings",
    "SecurityPolicyName",
    "default_counter_store_path",
    "default_state_home",
    "legacy_counter_store_path",
]

LinkKind = Literal["hdlc", "wrapper"]
Referencing = Literal["ln", "sn", "auto"]

Authentication = Literal[
    "none",
    "low",
    "lls",
    "high",
    "hls",
    "md5",
    "sha1",
    "sha256",
    "gmac",
    "high-md5",
    "high-sha1",
    "high-sha256",
    "high-gmac",
    "hls-gmac",
    "ecdsa",
    "high-ecdsa",
    "hls-ecdsa",
]
"""The authentication names :class:`MeterSettings` takes: ``none``; ``low`` (also ``lls``: LLS, a password);
``high`` (also ``hls``), ``md5``, ``sha1``, ``sha256`` (HLS with ``password`` as the secret; also spelt
``high-md5``...); ``gmac`` (HLS-GMAC with the keys; also ``high-gmac``, ``hls-gmac``); ``ecdsa`` (HLS
mechanism 7, suites 1/2; also ``high-ecdsa``, ``hls-ecdsa``). At run time case and
``_`` are forgiven (``"LLS"``, ``"HIGH_GMAC"``), and the setting holds the short name (``low``, ``gmac``)."""

KeyAgreementName = Literal["one-pass-dh", "static-unified"]
"""The key agreement schemes for general-ciphering per APDU (suites 1/2)."""

SecurityPolicyName = Literal["none", "auth", "enc", "auth-enc"]
"""The security policy names: no protection, authenticated, encrypted, authenticated and encrypted."""

AUTHENTICATIONS: Final[dict[str, Mechanism]] = {
    "none": Mechanism.NONE,
    "low": Mechanism.LOW,
    "high": Mechanism.HIGH,
    "md5": Mechanism.HIGH_MD5,
    "sha1": Mechanism.HIGH_SHA1,
    "sha256": Mechanism.HIGH_SHA256,
    "gmac": Mechanism.HIGH_GMAC,
    "ecdsa": Mechanism.HIGH_ECDSA,
}
"""The authentication names :class:`MeterSettings` takes, and the mechanism each one means."""

_AUTHENTICATION_ALIASES: Final = {
    "lls": "low",
    "hls": "high",
    "high-md5": "md5",
    "high-sha1": "sha1",
    "high-sha256": "sha256",
    "high-gmac": "gmac",
    "hls-gmac": "gmac",
    "high-ecdsa": "ecdsa",
    "hls-ecdsa": "ecdsa",
}

SECURITY_POLICIES: Final[dict[str, SecurityPolicy]] = {
    "none": SecurityPolicy.NONE,
    "auth": SecurityPolicy.AUTHENTICATED,
    "enc": SecurityPolicy.ENCRYPTED,
    "auth-enc": SecurityPolicy.AUTHENTICATED_ENCRYPTED,
}
"""The security policy names :class:`MeterSettings` takes."""

KEY_AGREEMENTS: Final[dict[str, KeyAgreementScheme]] = {
    "one-pass-dh": KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
    "static-unified": KeyAgreementScheme.STATIC_UNIFIED_MODEL,
}
"""The key agreement names :class:`MeterSettings` takes (suites 1/2, general-ciphering per APDU)."""

_NEEDS_SECRET: Final = frozenset({"low", "high", "md5", "sha1", "sha256"})
DEFAULT_CLIENT_SYSTEM_TITLE: Final = bytes.fromhex("444C4B0000000001")
"""``DLK`` and serial 1: the client system title used when none is given."""


def default_state_home() -> Path:
    """``$XDG_STATE_HOME/dlmskit`` (``~/.local/state/dlmskit`` when ``XDG_STATE_HOME`` is not set)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dlmskit"


COUNTER_FILE: Final = "invocation-counters.json"
"""The name of a counter file in a state directory."""


def default_counter_store_path() -> Path:
    """Where the client keeps its invocation counters: ``$XDG_STATE_HOME/dlmskit/client/invocation-counters.json``
    (``~/.local/state/dlmskit/client/...`` when ``XDG_STATE_HOME`` is not set).

    The simulator keeps its own in ``.../dlmskit/simulator/``, so the two never share a file by accident.
    """
    return default_state_home() / "client" / COUNTER_FILE


def legacy_counter_store_path() -> Path:
    """The file that both the client and the simulator used before they had a directory each
    (``$XDG_STATE_HOME/dlmskit/invocation-counters.json``); a new default file continues from it."""
    return default_state_home() / COUNTER_FILE


def _secret(value: SecretBytes | str | bytes | None, name: str, length: int = 16) -> SecretBytes | None:
    if value is None or isinstance(value, SecretBytes):
        return value
    return SecretBytes(parse_key(value, name=name, length=length), label=name)


def _canonical(value: str, names: dict[str, object], aliases: dict[str, str], what: str) -> str:
    key = value.strip().lower().replace("_", "-")
    key = aliases.get(key, key)
    if key not in names:
        spellings = f" (or {', '.join(aliases)})" if aliases else ""
        raise ArgumentError(f"unknown {what} {value!r}; use one of: {', '.join(names)}{spellings}")
    return key


_KINDS: Final[dict[str, tuple[tuple[type, ...], str]]] = {
    "host": ((str,), "text (a host name or IP address)"),
    "device": ((str,), "text (a serial device such as /dev/ttyUSB0 or COM3)"),
    "authentication": ((str,), "text"),
    "security_policy": ((str,), "text"),
    "security_policy_bits": ((int,), "a whole number (the Security setup version 1 bits, e.g. 0x6C)"),
    "password": ((SecretBytes, str, bytes), "text or bytes"),
    "system_title": ((str, bytes), "16 hex digits or 8 bytes"),
    "block_cipher_key": ((SecretBytes, str, bytes), "32 hex digits (or the 16 bytes)"),
    "authentication_key": ((SecretBytes, str, bytes), "32 hex digits (or the 16 bytes)"),
    "invocation_counter_path": ((str, Path), "a path"),
    "frame_counter_obis": ((Obis, str), "an OBIS code"),
    "short_name_cache": ((str, Path), "a path"),
}


def _kind(default: object) -> tuple[tuple[type, ...], str] | None:
    if isinstance(default, bool):
        return (bool,), "True or False"
    if isinstance(default, int):
        return (int,), "a whole number (int)"
    if isinstance(default, float):
        return (int, float), "a number of seconds (int or float)"
    return None


_TYPE_CHECKS: list[tuple[str, tuple[type, ...], str, object, frozenset[type]]] = []
"""(setting, the types it takes, in words, its default, the exact types that pass at once) for every setting
whose type is checked; made once."""


def _check_types(settings: MeterSettings) -> None:
    """Every setting of the type it takes, else an :class:`ArgumentError` in words (never a bare TypeError
    from a comparison later on). The value is shown only for settings that are not secret."""
    if not _TYPE_CHECKS:
        for definition in fields(settings):
            kind = _KINDS.get(definition.name) or _kind(definition.default)
            if kind is not None:
                # type(value) in exact: what the slow test below passes, without its calls (a bool is
                # never taken for an int: type(True) is bool)
                _TYPE_CHECKS.append((definition.name, *kind, definition.default, frozenset(kind[0])))
    values = settings.__dict__  # the fields as given (no property in between), one lookup each
    for name, wanted, words, default, exact in _TYPE_CHECKS:
        value = values[name]
        if value is None or value is default or type(value) in exact:  # the default is of its type
            continue
        if isinstance(value, wanted) and (bool in wanted or not isinstance(value, bool)):
            continue
        shown = "" if name in _SECRET_FIELDS else f" {value!r}"
        hint = ""
        if isinstance(value, str) and int in wanted and value.strip().isdigit():
            hint = f"; write {name}={value.strip()} without quotes"
        raise ArgumentError(f"MeterSettings {name} must be {words}, not {type(value).__name__}{shown}{hint}")


_SECRET_FIELDS: Final = frozenset({"password", "block_cipher_key", "authentication_key"})


@dataclass(frozen=True)
class MeterSettings:
    """How to reach one meter and associate with it.

    **Where**: ``host``/``port`` for TCP, or ``device`` (``/dev/ttyUSB0``, ``COM3``) and ``baudrate`` for a
    serial line or optical probe; ``mode_e=True`` starts a serial connection with the IEC 62056-21 mode E
    sign-on at 300 baud.

    **Link**: ``link="hdlc"`` (serial lines and many TCP gateways) addresses the meter by
    ``server_logical`` (the logical device, 1 = management) and ``server_physical`` (the device address,
    often derived from the serial number); ``link="wrapper"`` (IEC 62056-47, TCP port 4059) sends from the
    wPort ``client_address`` to the wPort ``server_logical``.

    **Who**: ``client_address`` is the client SAP (16 public, 1 management, 32 reader... as the meter's
    documentation says); ``authentication`` one of ``none``, ``low`` (LLS password), ``high``, ``md5``,
    ``sha1``, ``sha256`` (HLS with ``password`` as the secret) and ``gmac`` (HLS-GMAC with the keys).

    **Security** (suite 0): ``security_policy`` ``none``, ``auth``, ``enc`` or ``auth-enc`` (default:
    ``auth-enc`` with ``gmac``, else ``none``); ``system_title`` is the client's own (8 bytes);
    ``block_cipher_key`` (EK) and ``authentication_key`` (AK) are 16 bytes in hex; ``dedicated_key=True``
    agrees a fresh random key for each association. The client's invocation counters persist in
    ``invocation_counter_path`` (default :func:`default_counter_store_path`), so that no counter is ever
    used twice; ``read_frame_counter_first=True`` reads the meter's frame counter object
    (``frame_counter_obis``) through the public client (``public_client_address``) before associating and
    continues above it, which meters that refuse old counters require; by default the frame counter is
    ``0.0.43.1.<client_address>.255``.

    **Suites 1 and 2** (docs/security-suites.md): ``security_suite`` 1 (P-256, AES-GCM-128) or 2 (P-384,
    AES-GCM-256 with 64-hex-digit keys); ``authentication="ecdsa"`` (HLS mechanism 7) with ``signing_key``
    (the client's PEM private key) and ``meter_certificate`` (the meter's PEM certificate or public key);
    ``key_agreement`` (``one-pass-dh``, ``static-unified``) and ``sign_apdus`` for general-ciphering with
    agreed keys and general-signing of every APDU after the AARQ.

    ``server_address`` takes the one number Gurux tools show for an HDLC server (145 = logical 1,
    physical 17; :func:`~dlmskit.link.hdlc_address.split_combined_server_address` says how it is split)
    and sets ``server_logical`` and ``server_physical`` from it (then it reads None again).

    **Sizes and times**: ``timeout`` for every answer, ``connect_timeout`` for the TCP connection,
    ``hdlc_max_info_length`` and ``hdlc_window_size`` as proposed in the SNRM for what the client sends
    and, unless ``hdlc_max_info_length_rx`` / ``hdlc_window_size_rx`` say otherwise (0: the same), for
    what it receives; ``max_pdu_size`` as proposed in the AARQ.

    **Tolerance** (docs/tolerance.md): by default deviations of the meter that are unambiguous and not
    security-relevant (stray bytes after a value, padding after the AARE...) are accepted with a warning;
    ``strict=True`` makes each of them an error, for conformance work.

    **Test hooks** (never for a real meter): ``test_client_challenge`` fixes the HLS challenge CtoS and
    ``fixed_invoke_id`` the invoke-id of every request, so that a recorded conversation can be replayed.
    """

    host: str = "127.0.0.1"
    port: int = 4059
    device: str | None = None
    baudrate: int = 9600
    mode_e: bool = False
    link: LinkKind = "hdlc"
    udp: bool = False
    """With the wrapper: UDP datagrams (IEC 62056-47 over UDP, port 4059) instead of a TCP connection."""
    client_address: int = 16
    server_logical: int = 1
    server_physical: int = 17
    server_address: int | None = None
    """The Gurux combined form of the HDLC server address; split into the two above."""
    authentication: Authentication = "none"
    password: SecretBytes | str | bytes | None = field(default=None, repr=False)
    security_policy: SecurityPolicyName | None = None
    system_title: bytes | str = DEFAULT_CLIENT_SYSTEM_TITLE
    block_cipher_key: SecretBytes | str | bytes | None = None
    authentication_key: SecretBytes | str | bytes | None = None
    dedicated_key: bool = False
    invocation_counter_path: Path | str | None = None
    """The client's counter file (default :func:`default_counter_store_path`)."""
    read_frame_counter_first: bool = False
    frame_counter_obis: Obis | str | None = None
    public_client_address: int = 16
    timeout: float = 5.0
    connect_timeout: float = 5.0
    hdlc_max_info_length: int = MAX_INFO_LENGTH
    hdlc_window_size: int = MAX_WINDOW_SIZE
    hdlc_max_info_length_rx: int = 0
    hdlc_window_size_rx: int = 0
    max_pdu_size: int = 0xFFFF
    security_suite: int = 0
    """0 (AES-GCM-128), 1 (ECDH/ECDSA P-256, AES-GCM-128) or 2 (P-384, AES-GCM-256: 32-byte keys)."""
    signing_key: ec.EllipticCurvePrivateKey | str | Path | None = field(default=None, repr=False)
    """The client's own ECDSA private key for ``authentication="ecdsa"``: a key, or a PEM file / PEM text."""
    meter_certificate: ec.EllipticCurvePublicKey | x509.Certificate | str | Path | None = None
    """The meter's certificate or public key (PEM file / PEM text, or a key) for ``authentication="ecdsa"``."""
    ca_certificate: x509.Certificate | str | Path | None = None
    """Suites 1/2: the root CA certificate (PEM file / PEM text) the meter's certificate must be issued by:
    its signature, validity period, key usage digitalSignature and subject CN = a system title are checked
    when the settings are made, and the CN against the meter's system title in the AARE."""
    key_agreement: KeyAgreementName | None = None
    """Suites 1/2: ``one-pass-dh`` or ``static-unified``: every APDU after the AARQ as general-ciphering with
    a key agreed from ``signing_key`` and ``meter_certificate``."""
    sign_apdus: bool = False
    """Suites 1/2: sign every APDU after the AARQ (general-signing) and require the meter's to be signed."""
    security_policy_bits: int | None = None
    """Security setup version 1 policy bits, one per protection and direction (IEC 62056-6-2 / Blue Book
    class 64: 0x04/0x08/0x10 authenticated/encrypted/signed requests, 0x20/0x40/0x80 responses): each
    direction protected and checked as they say, instead of ``security_policy`` and ``sign_apdus`` both
    ways. ``security_policy`` then defaults to what covers both directions."""
    sign_before_ciphering: bool = False
    """With ``sign_apdus``: sign first, then cipher the general-signing APDU (what some meters expect),
    instead of signing the ciphered APDU."""
    strict: bool = False
    """Refuse every deviation from the standard instead of accepting it with a warning."""
    test_client_challenge: bytes | None = field(default=None, repr=False)
    """Tests only: a fixed HLS challenge CtoS (to replay recordings). Challenges must be fresh otherwise."""
    fixed_invoke_id: int | None = None
    """Tests only: the invoke-id of every request (gurux-dlms uses 1), to replay its recordings."""
    referencing: Referencing = "ln"
    """``"ln"`` logical names (GET/SET/ACTION), ``"sn"`` short names (READ/WRITE by base name, the names
    mapped through the Association SN object list), ``"auto"``: LN, and SN when the meter rejects the LN
    context naming an SN one (docs/short-names.md)."""
    short_name_cache: Path | str | None = None
    """SN: a file keeping this meter's Association SN object list, read once instead of every association
    (delete it when the meter's objects change)."""
    release_request: bool = True
    """At close: release the association with an RLRQ (and wait for the RLRE) before the link or connection
    is closed. ``False`` closes the link (HDLC DISC, or the TCP connection of the wrapper) straight away,
    which releases the association too (Green Book: an association is released when its supporting layer
    disconnects) and saves a round trip; the head-end's default. Keep ``True`` for a meter that wants one."""

    def __post_init__(self) -> None:
        _check_types(self)
        set_ = object.__setattr__
        authentication = _canonical(
            self.authentication, dict(AUTHENTICATIONS), _AUTHENTICATION_ALIASES, "authentication"
        )
        set_(self, "authentication", authentication)
        policy = self.security_policy
        bits = self.security_policy_bits
        if bits is not None and (not 0 <= bits <= 0xFF or bits & 0x03):
            raise ConfigurationError(
                f"security_policy_bits 0x{bits:X}: a byte whose bits 0 and 1 are clear (Security setup version 1)"
            )
        if policy is None and bits is not None:
            union = SecurityPolicyBits(bits).ciphering_policy
            names: tuple[SecurityPolicyName, ...] = ("none", "auth", "enc", "auth-enc")
            policy = names[int(union)]
        if policy is None:
            policy = "auth-enc" if authentication == "gmac" else "none"
        set_(self, "security_policy", _canonical(policy, dict(SECURITY_POLICIES), {}, "security policy"))
        password = self.password
        if isinstance(password, str):
            password = SecretBytes(password.encode("utf-8"), label="password")
        elif isinstance(password, bytes):
            password = SecretBytes(password, label="password")
        set_(self, "password", password)
        if isinstance(self.system_title, str):
            set_(self, "system_title", parse_system_title(self.system_title))
        elif len(self.system_title) != 8:
            raise ConfigurationError(f"system_title is 8 bytes, got {len(self.system_title)}")
        if self.security_suite not in (0, 1, 2):
            raise ConfigurationError(f"security_suite is 0, 1 or 2, not {self.security_suite}")
        length = 32 if self.security_suite == 2 else 16
        set_(self, "block_cipher_key", _secret(self.block_cipher_key, "block cipher key", length))
        set_(self, "authentication_key", _secret(self.authentication_key, "authentication key", length))
        if self.signing_key is not None and not isinstance(self.signing_key, ec.EllipticCurvePrivateKey):
            set_(self, "signing_key", load_private_key(self.signing_key))
        if self.ca_certificate is not None:
            ca = (
                self.ca_certificate
                if isinstance(self.ca_certificate, x509.Certificate)
                else load_certificate(self.ca_certificate)
            )
            set_(self, "ca_certificate", ca)
            if self.meter_certificate is None or isinstance(
                self.meter_certificate, ec.EllipticCurvePublicKey
            ):
                raise ConfigurationError(
                    "ca_certificate checks the meter's certificate: give meter_certificate as a PEM certificate "
                    "(not a bare public key)"
                )
            certificate = (
                self.meter_certificate
                if isinstance(self.meter_certificate, x509.Certificate)
                else load_certificate(self.meter_certificate)
            )
            verify_certificate(certificate, ca)  # CertificateError in words: wrong CA, expired, key usage, CN
            set_(self, "meter_certificate", certificate)
        if self.meter_certificate is not None and not isinstance(
            self.meter_certificate, (ec.EllipticCurvePublicKey, x509.Certificate)
        ):
            set_(self, "meter_certificate", load_public_key(self.meter_certificate))
        if self.frame_counter_obis is not None:
            set_(self, "frame_counter_obis", obis(self.frame_counter_obis))
        if self.server_address is not None:
            logical, physical = _split_server_address(self.server_address)
            set_(self, "server_logical", logical)
            set_(self, "server_physical", physical)
            set_(self, "server_address", None)
        self._check()

    def _check(self) -> None:
        if self.link not in ("hdlc", "wrapper"):
            raise ConfigurationError(f"link is 'hdlc' or 'wrapper', not {self.link!r}")
        if self.referencing not in ("ln", "sn", "auto"):
            raise ConfigurationError(f"referencing is 'ln', 'sn' or 'auto', not {self.referencing!r}")
        if self.device is not None and self.link == "wrapper":
            raise ConfigurationError("the wrapper (IEC 62056-47) runs over TCP/UDP; a serial line uses HDLC")
        if self.udp and (self.link != "wrapper" or self.device is not None):
            raise ConfigurationError(
                "UDP carries the wrapper (IEC 62056-47): use link='wrapper' over the network"
            )
        if self.mode_e and self.device is None:
            raise ConfigurationError("mode_e (IEC 62056-21 sign-on) needs a serial device")
        if self.device is None and not 0 < self.port <= 0xFFFF:
            raise ConfigurationError(f"port must be 1..65535, not {self.port}")
        limit = 0x7F if self.link == "hdlc" else 0xFFFF
        for name in ("client_address", "public_client_address"):
            if not 0 <= getattr(self, name) <= limit:
                raise ConfigurationError(f"{name} must be 0..{limit} with {self.link}")
        if self.link == "hdlc" and not (
            0 <= self.server_logical <= 0x3FFF and 0 <= self.server_physical <= 0x3FFF
        ):
            raise ConfigurationError("HDLC server logical and physical addresses must be 0..16383")
        if self.authentication in _NEEDS_SECRET and self.password is None:
            secret = "password" if self.authentication == "low" else "secret (password=...)"
            raise ConfigurationError(f"authentication {self.authentication!r} needs the {secret}")
        ciphered = self.authentication == "gmac" or self.security_policy != "none" or self.dedicated_key
        if ciphered and (self.block_cipher_key is None or self.authentication_key is None):
            raise ConfigurationError(
                f"authentication {self.authentication!r} with security policy {self.security_policy!r} needs "
                "block_cipher_key and authentication_key (32 hex digits each)"
            )
        if self.authentication == "ecdsa" and (
            self.security_suite not in (1, 2) or self.signing_key is None or self.meter_certificate is None
        ):
            raise ConfigurationError(
                "authentication 'ecdsa' (HLS mechanism 7) needs security_suite 1 or 2, signing_key (the "
                "client's PEM private key) and meter_certificate (the meter's PEM certificate or public key)"
            )
        for key in (self.signing_key, self.meter_public_key):
            if key is None:  # (isinstance against the ABCs below runs Python code even for None)
                continue
            if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and suite_of(key) != (
                self.security_suite
            ):
                raise ConfigurationError(
                    f"a {key.curve.name} key belongs to security suite {int(suite_of(key))}, "
                    f"not security_suite {self.security_suite}"
                )
        if self.key_agreement is not None and self.key_agreement not in KEY_AGREEMENTS:
            raise ConfigurationError(
                f"unknown key_agreement {self.key_agreement!r}; use one of: {', '.join(KEY_AGREEMENTS)}"
            )
        if self.key_agreement is not None and self.security_policy == "none":
            raise ConfigurationError(
                "key_agreement ciphers APDUs: give a security_policy (auth, enc or auth-enc)"
            )
        if (self.key_agreement is not None or self.sign_apdus) and (
            self.signing_key is None or self.meter_certificate is None
        ):
            raise ConfigurationError(
                "key_agreement and sign_apdus (suites 1/2) need signing_key (the client's PEM private key) and "
                "meter_certificate (the meter's PEM certificate or public key)"
            )
        if self.dedicated_key and self.security_policy not in ("enc", "auth-enc"):
            raise ConfigurationError("dedicated_key needs a security policy that encrypts (enc or auth-enc)")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigurationError("timeouts must be positive numbers of seconds")
        if not 1 <= self.hdlc_max_info_length <= MAX_INFO_LENGTH:
            raise ConfigurationError(f"hdlc_max_info_length must be 1..{MAX_INFO_LENGTH}")
        if not 1 <= self.hdlc_window_size <= MAX_WINDOW_SIZE:
            raise ConfigurationError(f"hdlc_window_size must be 1..{MAX_WINDOW_SIZE}")
        if not 0 <= self.hdlc_max_info_length_rx <= MAX_INFO_LENGTH:
            raise ConfigurationError(f"hdlc_max_info_length_rx must be 1..{MAX_INFO_LENGTH} (0: as sent)")
        if not 0 <= self.hdlc_window_size_rx <= MAX_WINDOW_SIZE:
            raise ConfigurationError(f"hdlc_window_size_rx must be 1..{MAX_WINDOW_SIZE} (0: as sent)")
        if not 12 <= self.max_pdu_size <= 0xFFFF:
            raise ConfigurationError("max_pdu_size must be 12..65535")
        if self.fixed_invoke_id is not None and not 0 <= self.fixed_invoke_id <= 15:
            raise ConfigurationError("fixed_invoke_id must be 0..15")

    # -- the parsed forms ------------------------------------------------------------------------------

    @functools.cached_property
    def hdlc_parameters(self) -> HdlcParameters:
        """The SNRM proposal: what the client sends and what it can receive (made once per settings)."""
        size, window = self.hdlc_max_info_length, self.hdlc_window_size
        return HdlcParameters(
            size, self.hdlc_max_info_length_rx or size, window, self.hdlc_window_size_rx or window
        )

    @property
    def mechanism(self) -> Mechanism:
        """The authentication mechanism."""
        return AUTHENTICATIONS[self.authentication]

    @property
    def meter_public_key(self) -> ec.EllipticCurvePublicKey | None:
        """The meter's public key, from ``meter_certificate`` (a key, or a certificate checked against
        ``ca_certificate``)."""
        value = self.meter_certificate
        if value is None:
            return None
        if isinstance(value, x509.Certificate):
            return certificate_public_key(value)
        return value if isinstance(value, ec.EllipticCurvePublicKey) else None

    @property
    def meter_system_title(self) -> bytes | None:
        """The system title the CA-checked meter certificate names (None without ``ca_certificate``)."""
        value = self.meter_certificate
        if self.ca_certificate is None or not isinstance(value, x509.Certificate):
            return None
        return certificate_system_title(value)

    @property
    def policy(self) -> SecurityPolicy:
        """The security policy."""
        return SECURITY_POLICIES[str(self.security_policy)]

    @property
    def ciphered(self) -> bool:
        """Whether the association uses the keys (HLS-GMAC, a security policy or a dedicated key)."""
        return (
            self.mechanism == Mechanism.HIGH_GMAC or self.policy != SecurityPolicy.NONE or self.dedicated_key
        )

    @property
    def frame_counter_logical_name(self) -> Obis:
        """``frame_counter_obis``, by default ``0.0.43.1.<client address>.255`` (IDIS: one per client)."""
        if self.frame_counter_obis is not None:
            return obis(self.frame_counter_obis)
        if self.client_address > 0xFF:
            raise ConfigurationError(
                f"client address {self.client_address} does not fit an OBIS group: give frame_counter_obis"
            )
        return Obis(0, 0, 43, 1, self.client_address, 255)

    @property
    def counter_store_path(self) -> Path:
        """The file that keeps the client's invocation counters."""
        if self.invocation_counter_path is not None:
            return Path(self.invocation_counter_path)
        return default_counter_store_path()

    def where(self) -> str:
        """The meter's address in words, for messages: ``tcp 10.0.0.7:4059 hdlc 1/17, client 1``."""
        place = f"serial {self.device}" if self.device else f"tcp {self.host}:{self.port}"
        if self.link == "hdlc":
            address = f"hdlc server {self.server_logical}/{self.server_physical}"
        else:
            address = f"wrapper wPort {self.server_logical}"
        return f"{place}, {address}, client {self.client_address} ({self.authentication})"


def describe_server_address(value: int) -> str:
    """How a Gurux combined HDLC server address is split, in words (for notes to the user)."""
    address = split_combined_server_address(value)
    if address.physical is None:
        return f"server address {value} = logical {address.logical} (a 1-byte address, Gurux form)"
    bits = 7 if address.size == 2 else 14
    return (
        f"server address {value} = logical {address.logical}, physical {address.physical} "
        f"(Gurux form: logical << {bits} | physical, a {address.size}-byte HDLC address)"
    )


def _split_server_address(value: int) -> tuple[int, int]:
    """``server_address`` as (logical, physical), refusing the forms the settings cannot express."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"server_address is a whole number (Gurux form, e.g. 145), not {value!r}")
    try:
        address = split_combined_server_address(value)
    except EncodeError as error:
        raise ConfigurationError(str(error)) from None
    if address.physical is None:
        raise ConfigurationError(
            f"server address {value} is a 1-byte HDLC address (logical {value}, no physical part) in Gurux "
            "tools; the settings address a meter by logical and physical parts: give server_logical and "
            "server_physical as the meter's documentation says"
        )
    if address.size == 4 and max(address.logical, address.physical) <= 0x7F:
        raise ConfigurationError(
            f"{describe_server_address(value)}: both parts fit 2-byte addressing, which the settings would "
            "send; use HdlcAddress(logical, physical, size=4) with HdlcClientLink for a 4-byte address"
        )
    return address.logical, address.physical


class MeterOptions(TypedDict, total=False):
    """The settings of :class:`MeterSettings` as keyword arguments of ``connect(...)`` and
    ``connect_async(...)``: each name and type checked by mypy and completed by an IDE (PEP 692)."""

    host: str
    port: int
    device: str | None
    baudrate: int
    mode_e: bool
    link: LinkKind
    udp: bool
    client_address: int
    server_logical: int
    server_physical: int
    server_address: int | None
    authentication: Authentication
    password: SecretBytes | str | bytes | None
    security_policy: SecurityPolicyName | None
    system_title: bytes | str
    block_cipher_key: SecretBytes | str | bytes | None
    authentication_key: SecretBytes | str | bytes | None
    dedicated_key: bool
    invocation_counter_path: Path | str | None
    read_frame_counter_first: bool
    frame_counter_obis: Obis | str | None
    public_client_address: int
    timeout: float
    connect_timeout: float
    hdlc_max_info_length: int
    hdlc_window_size: int
    hdlc_max_info_length_rx: int
    hdlc_window_size_rx: int
    max_pdu_size: int
    security_suite: int
    signing_key: ec.EllipticCurvePrivateKey | str | Path | None
    meter_certificate: ec.EllipticCurvePublicKey | x509.Certificate | str | Path | None
    ca_certificate: x509.Certificate | str | Path | None
    key_agreement: KeyAgreementName | None
    sign_apdus: bool
    security_policy_bits: int | None
    sign_before_ciphering: bool
    strict: bool
    test_client_challenge: bytes | None
    fixed_invoke_id: int | None
    referencing: Referencing
    short_name_cache: Path | str | None
    release_request: bool
