"""The meter model: what a simulated meter is, read from a TOML file (``docs/simulator.md`` documents it).

A model has four parts:

- ``[meter]``: identity (serial number, manufacturer, logical device name, system title), addresses (HDLC
  logical/physical address, wrapper port), the seed of every simulated measurement, the start time and the
  speed of its time, and whether it starts in a tamper state;
- ``[[association]]``: one per client address, with its authentication, security policy, keys,
  conformance, PDU size and access rights;
- ``[[object]]``: the COSEM objects, with attribute values and behaviours (registers that grow, values that
  move, profiles that capture);
- ``[[token]]``: the tokens the token gateway accepts and what each one does.

:func:`load_model` reads a file, :func:`parse_model` a text and :func:`default_model` the built-in model.
Every mistake raises :class:`~dlmskit.errors.ConfigurationError` naming the file, the line and the problem.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu.conformance import Conformance
from dlmskit.codec.obis import Obis, ObisError
from dlmskit.cosem.values import STS_TOKEN_MAX
from dlmskit.errors import ConfigurationError, KeyFormatError
from dlmskit.security.certificates import (
    CertificateError,
    certificate_system_title,
    load_certificate,
    load_private_key,
    load_public_key,
    suite_of,
    verify_certificate,
)
from dlmskit.security.hls import Mechanism
from dlmskit.security.keys import parse_key, parse_system_title
from dlmskit.session.protection import SecurityPolicy, SecurityPolicyBits
from dlmskit.session.server import QUIRKS
from dlmskit.simulator.source import SourceMap, parse_toml

__all__ = [
    "AccessModel",
    "AccessRule",
    "AssociationModel",
    "IndexSet",
    "MeterModel",
    "MeterSettings",
    "ObjectModel",
    "TokenModel",
    "default_model",
    "load_model",
    "parse_model",
]

MECHANISMS = {
    "none": Mechanism.NONE,
    "low": Mechanism.LOW,
    "high": Mechanism.HIGH,
    "md5": Mechanism.HIGH_MD5,
    "sha1": Mechanism.HIGH_SHA1,
    "sha256": Mechanism.HIGH_SHA256,
    "gmac": Mechanism.HIGH_GMAC,
    "ecdsa": Mechanism.HIGH_ECDSA,
}
"""Mechanism names of the model file."""

_TOKEN_DIGITS = re.compile(r"[0-9]{20}")


@dataclass(frozen=True, slots=True)
class IndexSet:
    """Attribute or method indexes: all of them (``["*"]``) or the listed ones (``[2, 3]``)."""

    every: bool = False
    indexes: frozenset[int] = frozenset()

    def __contains__(self, index: object) -> bool:
        return self.every or index in self.indexes

    @classmethod
    def parse(cls, raw: Any) -> IndexSet:
        """From ``["*"]``, ``"*"`` or a list of positive indexes."""
        if raw == "*" or raw == ["*"]:
            return cls(every=True)
        if not isinstance(raw, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
            raise ConfigurationError(f'expected ["*"] or a list of indexes such as [2, 3], got {raw!r}')
        if any(i < 1 or i > 127 for i in raw):
            raise ConfigurationError(f"indexes are 1..127, got {raw!r}")
        return cls(indexes=frozenset(raw))


NOTHING = IndexSet()
EVERYTHING = IndexSet(every=True)


@dataclass(frozen=True, slots=True)
class AccessRule:
    """What an association may do with one object: read and write which attributes, call which methods.

    ``None`` in an override means "as the association's default".
    """

    read: IndexSet | None = None
    write: IndexSet | None = None
    methods: IndexSet | None = None

    def over(self, default: AccessRule) -> AccessRule:
        """This override with the gaps filled from ``default``."""
        return AccessRule(
            self.read if self.read is not None else default.read,
            self.write if self.write is not None else default.write,
            self.methods if self.methods is not None else default.methods,
        )

    @property
    def grants_anything(self) -> bool:
        return any(s is not None and (s.every or s.indexes) for s in (self.read, self.write, self.methods))


@dataclass(frozen=True)
class AccessModel:
    """The access rights of one association: a default for every object and overrides per object."""

    default: AccessRule = field(default_factory=lambda: AccessRule(NOTHING, NOTHING, NOTHING))
    objects: Mapping[Obis, AccessRule] = field(default_factory=dict)

    def rule(self, logical_name: Obis) -> AccessRule:
        """The rights on the object ``logical_name``."""
        override = self.objects.get(logical_name)
        return override.over(self.default) if override is not None else self.default


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """The ``[meter]`` table."""

    serial_number: str = "12345678"
    manufacturer: str = "MMM"
    logical_device_name: str = "MMM0000012345678"
    system_title: bytes = bytes.fromhex("4D4D4D0000BC614E")
    hdlc_logical_address: int = 1
    hdlc_physical_address: int = 17
    wrapper_port: int = 1
    seed: int = 1
    start: _dt.datetime | None = None
    """When the simulated clock starts; ``None``: now."""
    time_speed: float = 1.0
    tamper: bool = False
    history_days: float = 120.0
    """How long the meter has been installed at the start: the load profile already holds that history."""
    quirks: frozenset[str] = frozenset()
    """Behaviours of real meters to imitate (``quirks = ["trailing-bytes", ...]``; docs/tolerance.md)."""
    referencing: str = "ln"
    """``"sn"``: the meter speaks short-name referencing only (docs/short-names.md)."""


@dataclass(frozen=True)
class AssociationModel:
    """One ``[[association]]``: a client address and how it associates."""

    client_sap: int
    name: str
    mechanism: Mechanism = Mechanism.NONE
    secret: bytes | None = field(default=None, repr=False)
    policy: SecurityPolicy = SecurityPolicy.NONE
    server_system_title: bytes = bytes.fromhex("4D4D4D0000BC614E")
    block_cipher_key: bytes | None = field(default=None, repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)
    master_key: bytes | None = field(default=None, repr=False)
    conformance: Conformance = field(
        default_factory=lambda: Conformance.default_ln_client() & ~Conformance.PRIORITY_MGMT_SUPPORTED
    )
    max_pdu_size: int = 1024
    access: AccessModel = field(default_factory=AccessModel)
    security_suite: int = 0
    """0 (AES-GCM-128), 1 (ECDH/ECDSA P-256) or 2 (P-384, AES-GCM-256 with 32-byte keys)."""
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    """The meter's own ECDSA key pair (suites 1/2, HLS-ECDSA)."""
    client_public_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    """The client's public key, from its certificate or PEM public key (HLS-ECDSA)."""
    signed_apdus: bool = False
    """Suites 1/2: every APDU after the AARQ must come signed (general-signing); answers are signed too."""
    client_system_title: bytes | None = None
    """With ``ca_certificate``: the system title the client's CA-checked certificate names; an AARQ with
    another calling-AP-title is refused."""
    policy_bits: int | None = None
    """Security setup version 1 policy bits (0x04/0x08/0x10 authenticated/encrypted/signed requests,
    0x20/0x40/0x80 responses): each direction protected as they say; ``policy`` is then what covers both."""


@dataclass(frozen=True)
class ObjectModel:
    """One ``[[object]]``: class, version, logical name, attribute values and behaviour keys, as written."""

    class_id: int
    version: int
    logical_name: Obis
    name: str
    attributes: Mapping[str, Any]
    behaviour: Mapping[str, Any]
    source: SourceMap = field(repr=False, compare=False)
    index: int = field(default=0, compare=False)

    def error(self, message: str, key: str | None = None) -> ConfigurationError:
        """A ``ConfigurationError`` pointing at this object (or one of its keys) in the model file."""
        return self.source.error("object", self.index, key, f"object {self.logical_name}: {message}")


@dataclass(frozen=True, slots=True)
class TokenModel:
    """One ``[[token]]``: the 20 digits and what the token does when it is entered."""

    token: str
    description: str = ""
    add_credit: int = 0
    clear_tamper: bool = False
    reconnect: bool = False


@dataclass(frozen=True)
class MeterModel:
    """A whole model file."""

    meter: MeterSettings
    associations: tuple[AssociationModel, ...]
    objects: tuple[ObjectModel, ...]
    tokens: tuple[TokenModel, ...]
    source: SourceMap = field(repr=False)

    @property
    def text(self) -> str:
        """The model file as written."""
        return self.source.text

    def association(self, client_sap: int) -> AssociationModel | None:
        return next((a for a in self.associations if a.client_sap == client_sap), None)


# -- loading -----------------------------------------------------------------------------------------------


def load_model(path: str | os.PathLike[str]) -> MeterModel:
    """Read a model file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot read the model file {file}: {error.strerror or error}") from None
    return parse_model(text, str(file))


def default_model() -> MeterModel:
    """The built-in model (``default_model.toml``, documented in ``docs/simulator.md``)."""
    text = resources.files("dlmskit.simulator").joinpath("default_model.toml").read_text(encoding="utf-8")
    return parse_model(text, "default_model.toml")


def parse_model(text: str, name: str = "<model>") -> MeterModel:
    """A model from TOML text; ``name`` is how error messages call it."""
    document = parse_toml(text, name)
    source = SourceMap(name, text)
    _only(source, None, None, document, {"meter", "association", "object", "token"}, "the model file")
    meter = _meter(source, _table(source, document, "meter"))
    associations = tuple(
        _association(source, index, raw, meter)
        for index, raw in enumerate(_array(source, document, "association"))
    )
    saps = [a.client_sap for a in associations]
    for index, sap in enumerate(saps):
        if saps.index(sap) != index:
            raise source.error("association", index, "client_sap", f"client address {sap} is used twice")
    objects = tuple(
        _object(source, index, raw) for index, raw in enumerate(_array(source, document, "object"))
    )
    names = [o.logical_name for o in objects]
    for index, logical_name in enumerate(names):
        if names.index(logical_name) != index:
            raise source.error("object", index, "logical_name", f"logical name {logical_name} is used twice")
    tokens = tuple(_token(source, index, raw) for index, raw in enumerate(_array(source, document, "token")))
    digits = [t.token for t in tokens]
    for index, token in enumerate(digits):
        if digits.index(token) != index:
            raise source.error("token", index, "token", "this token is listed twice")
    return MeterModel(meter, associations, objects, tokens, source)


# -- helpers -------------------------------------------------------------------------------------------------


def _table(source: SourceMap, document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{source.name}: {name} must be a table: [{name}]")
    return value


def _array(source: SourceMap, document: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = document.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ConfigurationError(f"{source.name}: {name} must be an array of tables: [[{name}]]")
    return value


def _only(
    source: SourceMap,
    table: str | None,
    index: int | None,
    raw: Mapping[str, Any],
    allowed: set[str],
    what: str,
) -> None:
    for key in raw:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            if table is None:
                raise ConfigurationError(f"{source.name}: unknown table {key!r} in {what} (known: {known})")
            raise source.error(table, index, key, f"unknown key {key!r} in {what} (known: {known})")


def _get(
    source: SourceMap,
    table: str,
    index: int | None,
    raw: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    default: Any,
) -> Any:
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        value = None
    if value is None or not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        wanted = names.replace("str", "text").replace("int", "an integer").replace("float", "a number")
        raise source.error(table, index, key, f"{key} must be {wanted}, got {raw[key]!r}")
    return value


def _range(
    source: SourceMap, table: str, index: int | None, key: str, value: int, low: int, high: int
) -> int:
    if not low <= value <= high:
        raise source.error(table, index, key, f"{key} must be {low}..{high}, got {value}")
    return value


def _meter(source: SourceMap, raw: Mapping[str, Any]) -> MeterSettings:
    fields = set(MeterSettings.__dataclass_fields__)
    _only(source, "meter", None, raw, fields, "[meter]")

    def get(key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        return _get(source, "meter", None, raw, key, kind, default)

    defaults = MeterSettings()
    manufacturer = get("manufacturer", str, defaults.manufacturer)
    if len(manufacturer) != 3 or not manufacturer.isascii() or not manufacturer.isalpha():
        raise source.error("meter", None, "manufacturer", 'manufacturer is the 3-letter FLAG id, e.g. "MMM"')
    serial = get("serial_number", str, defaults.serial_number)
    title_text = get("system_title", str, None)
    if title_text is None:
        if not serial.isdigit() or int(serial) >= 1 << 40:
            raise source.error(
                "meter",
                None,
                "serial_number",
                "give system_title: it cannot be made from a non-numeric serial number",
            )
        title = manufacturer.upper().encode("ascii") + int(serial).to_bytes(5, "big")
    else:
        title = _parse(source, "meter", None, "system_title", lambda: parse_system_title(title_text))
    start_raw = get("start", (str, _dt.datetime), "now")
    if isinstance(start_raw, str):
        if start_raw != "now":
            raise source.error(
                "meter", None, "start", 'start is "now" or a date-time such as 2024-01-01T00:00:00Z'
            )
        start = None
    else:
        start = start_raw if start_raw.tzinfo else start_raw.replace(tzinfo=_dt.timezone.utc)
    speed = float(get("time_speed", (int, float), 1.0))
    if not 0 < speed <= 1_000_000:
        raise source.error(
            "meter", None, "time_speed", f"time_speed must be above 0 (1 = real time), got {speed}"
        )
    history = float(get("history_days", (int, float), defaults.history_days))
    if not 0 <= history <= 3660:
        raise source.error("meter", None, "history_days", "history_days must be 0..3660")
    return MeterSettings(
        serial_number=serial,
        manufacturer=manufacturer,
        logical_device_name=get("logical_device_name", str, defaults.logical_device_name),
        system_title=title,
        hdlc_logical_address=_range(
            source, "meter", None, "hdlc_logical_address", get("hdlc_logical_address", int, 1), 1, 0x3FFF
        ),
        hdlc_physical_address=_range(
            source, "meter", None, "hdlc_physical_address", get("hdlc_physical_address", int, 17), 0, 0x3FFF
        ),
        wrapper_port=_range(source, "meter", None, "wrapper_port", get("wrapper_port", int, 1), 1, 0xFFFF),
        seed=get("seed", int, defaults.seed),
        start=start,
        time_speed=speed,
        tamper=get("tamper", bool, False),
        history_days=history,
        quirks=_quirks(source, get("quirks", list, [])),
        referencing=_referencing(source, get("referencing", str, "ln")),
    )


def _referencing(source: SourceMap, value: str) -> str:
    if value not in ("ln", "sn"):
        raise source.error("meter", None, "referencing", f'referencing is "ln" or "sn", not "{value}"')
    return value


def _quirks(source: SourceMap, names: list[Any]) -> frozenset[str]:
    for name in names:
        if name not in QUIRKS:
            raise source.error(
                "meter",
                None,
                "quirks",
                f"unknown quirk {name!r}; known: {', '.join(QUIRKS)} (docs/tolerance.md)",
            )
    return frozenset(names)


def _parse(source: SourceMap, table: str, index: int | None, key: str, parse: Any) -> Any:
    try:
        return parse()
    except (KeyFormatError, ConfigurationError, ObisError) as error:
        raise source.error(table, index, key, str(error)) from None


_ASSOCIATION_KEYS = {
    "client_sap",
    "name",
    "mechanism",
    "password",
    "secret",
    "security_policy",
    "server_system_title",
    "block_cipher_key",
    "authentication_key",
    "master_key",
    "conformance",
    "max_pdu_size",
    "access",
    "security_suite",
    "signing_key",
    "client_public_key",
    "signed_apdus",
    "security_policy_bits",
    "ca_certificate",
}


def _association(
    source: SourceMap, index: int, raw: Mapping[str, Any], meter: MeterSettings
) -> AssociationModel:
    t = "association"
    _only(source, t, index, raw, _ASSOCIATION_KEYS, "[[association]]")

    def get(key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        return _get(source, t, index, raw, key, kind, default)

    if "client_sap" not in raw:
        raise source.error(t, index, None, "client_sap (the client address, e.g. 16 for public) is missing")
    sap = _range(source, t, index, "client_sap", get("client_sap", int, 0), 1, 0x7F)
    mechanism_name = get("mechanism", str, "none")
    if mechanism_name not in MECHANISMS:
        raise source.error(
            t, index, "mechanism", f"unknown mechanism {mechanism_name!r}; use {', '.join(MECHANISMS)}"
        )
    mechanism = MECHANISMS[mechanism_name]
    secret: bytes | None = None
    if "secret" in raw:  # an HLS secret, as hex digits
        secret = _hex(source, index, "secret", get("secret", str, ""))
    elif "password" in raw:  # an LLS password, as text
        secret = get("password", str, "").encode("utf-8")
    policy = _parse(
        source, t, index, "security_policy", lambda: SecurityPolicy.parse(get("security_policy", str, "none"))
    )

    suite = _range(source, t, index, "security_suite", get("security_suite", int, 0), 0, 2)
    key_length = 32 if suite == 2 else 16

    def key(name: str, label: str) -> bytes | None:
        text = get(name, str, None)
        return (
            None
            if text is None
            else _parse(source, t, index, name, lambda: parse_key(text, name=label, length=key_length))
        )

    def pem(name: str, load: Any) -> Any:
        text = get(name, str, None)
        if text is None:
            return None
        where = Path(source.name).parent
        path_or_text = text if text.lstrip().startswith("-----BEGIN") else str(where / text)
        return _parse(source, t, index, name, lambda: load(path_or_text))

    signing_key = pem("signing_key", load_private_key)
    client_public_key = pem("client_public_key", load_public_key)
    ca = pem("ca_certificate", load_certificate)
    client_title: bytes | None = None
    if ca is not None:
        client_certificate = pem("client_public_key", load_certificate)
        if client_certificate is None:
            raise source.error(
                t,
                index,
                "ca_certificate",
                "ca_certificate checks client_public_key: give the client's certificate",
            )
        try:
            verify_certificate(client_certificate, ca)
        except CertificateError as error:
            raise source.error(t, index, "client_public_key", str(error)) from None
        client_title = certificate_system_title(client_certificate)
    for value, name in ((signing_key, "signing_key"), (client_public_key, "client_public_key")):
        if value is not None and suite_of(value) != suite:
            raise source.error(
                t, index, name, f"{name} is on {value.curve.name}, security_suite {suite} needs another curve"
            )
    signed = get("signed_apdus", bool, False)
    if signed and (suite == 0 or signing_key is None or client_public_key is None):
        raise source.error(
            t,
            index,
            "signed_apdus",
            "signed_apdus needs security_suite = 1 or 2, signing_key and client_public_key",
        )
    if mechanism == Mechanism.HIGH_ECDSA and (suite == 0 or signing_key is None or client_public_key is None):
        raise source.error(
            t,
            index,
            "mechanism",
            'mechanism "ecdsa" needs security_suite = 1 or 2, signing_key (PEM) and client_public_key '
            "(PEM public key or certificate)",
        )

    ek = key("block_cipher_key", "block cipher key")
    ak = key("authentication_key", "authentication key")
    kek = key("master_key", "master key")
    title_text = get("server_system_title", str, None)
    title = (
        meter.system_title
        if title_text is None
        else _parse(source, t, index, "server_system_title", lambda: parse_system_title(title_text))
    )
    if mechanism == Mechanism.LOW and not secret:
        raise source.error(t, index, "mechanism", 'mechanism "low" needs password = "..."')
    if (
        mechanism in (Mechanism.HIGH, Mechanism.HIGH_MD5, Mechanism.HIGH_SHA1, Mechanism.HIGH_SHA256)
        and not secret
    ):
        raise source.error(
            t, index, "mechanism", f'mechanism "{mechanism_name}" needs the HLS secret: secret = "hex"'
        )
    bits: int | None = get("security_policy_bits", int, None)
    if bits is not None:
        if not 0 <= bits <= 0xFF or bits & 0x03:
            raise source.error(
                t,
                index,
                "security_policy_bits",
                "security_policy_bits is a byte whose bits 0 and 1 are clear",
            )
        union = SecurityPolicyBits(bits).ciphering_policy
        if "security_policy" in raw and policy != union:
            raise source.error(
                t,
                index,
                "security_policy_bits",
                f"security_policy_bits 0x{bits:02X} needs security_policy {union.name.lower()} (or none given)",
            )
        policy = union
        if bits & 0x90 and (suite == 0 or signing_key is None or client_public_key is None):
            raise source.error(
                t,
                index,
                "security_policy_bits",
                "signed requests or responses need security_suite = 1 or 2, signing_key and client_public_key",
            )
    if (mechanism == Mechanism.HIGH_GMAC or policy != SecurityPolicy.NONE) and (ek is None or ak is None):
        raise source.error(
            t,
            index,
            "mechanism",
            "HLS-GMAC and a security policy need block_cipher_key and authentication_key",
        )
    pdu = _range(source, t, index, "max_pdu_size", get("max_pdu_size", int, 1024), 64, 0xFFFF)
    return AssociationModel(
        client_sap=sap,
        name=get("name", str, f"client {sap}"),
        mechanism=mechanism,
        secret=secret,
        policy=policy,
        server_system_title=title,
        block_cipher_key=ek,
        authentication_key=ak,
        master_key=kek,
        conformance=_conformance(source, index, raw.get("conformance")),
        max_pdu_size=pdu,
        access=_access(source, index, raw.get("access", {})),
        security_suite=suite,
        signing_key=signing_key,
        client_public_key=client_public_key,
        signed_apdus=signed,
        policy_bits=bits,
        client_system_title=client_title,
    )


def _hex(source: SourceMap, index: int, key: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise source.error("association", index, key, f"{key} is hex digits") from None


def _conformance(source: SourceMap, index: int, raw: Any) -> Conformance:
    if raw is None:
        return AssociationModel(0, "").conformance
    names = {name: member for member in Conformance for name in member.names()}
    if isinstance(raw, str):
        try:
            return Conformance(int(raw.replace(" ", ""), 16))
        except ValueError:
            raise source.error(
                "association", index, "conformance", "conformance is 6 hex digits or a list of names"
            ) from None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise source.error(
            "association", index, "conformance", "conformance is 6 hex digits or a list of names"
        )
    value = Conformance(0)
    for name in raw:
        member = names.get(name.strip().lower().replace("_", "-"))
        if member is None:
            raise source.error("association", index, "conformance", f"unknown conformance bit {name!r}")
        value |= member
    return value


def _rule(source: SourceMap, index: int, key: str, raw: Any, *, partial: bool) -> AccessRule:
    if not isinstance(raw, Mapping):
        raise source.error(
            "association", index, key, 'access rights are a table: { read = ["*"], write = [2] }'
        )
    unknown = set(raw) - {"read", "write", "methods"}
    if unknown:
        raise source.error(
            "association", index, key, f"unknown key {sorted(unknown)[0]!r}; use read, write, methods"
        )

    def part(name: str) -> IndexSet | None:
        if name not in raw:
            return None if partial else NOTHING
        try:
            return IndexSet.parse(raw[name])
        except ConfigurationError as error:
            raise source.error("association", index, key, f"{name}: {error}") from None

    return AccessRule(part("read"), part("write"), part("methods"))


def _access(source: SourceMap, index: int, raw: Any) -> AccessModel:
    if not isinstance(raw, Mapping):
        raise source.error("association", index, "access", "access is a table of rights per object")
    default = _rule(source, index, "default", raw.get("default", {}), partial=False)
    objects: dict[Obis, AccessRule] = {}
    for name, rule in raw.items():
        if name == "default":
            continue
        logical_name = _parse(source, "association", index, name, lambda n=name: Obis.parse(n))
        objects[logical_name] = _rule(source, index, name, rule, partial=True)
    return AccessModel(default, objects)


def _object(source: SourceMap, index: int, raw: Mapping[str, Any]) -> ObjectModel:
    t = "object"
    for key in ("class_id", "logical_name"):
        if key not in raw:
            raise source.error(t, index, None, f"{key} is missing")
    class_id = _range(
        source, t, index, "class_id", _get(source, t, index, raw, "class_id", int, 0), 1, 0xFFFF
    )
    version = _range(source, t, index, "version", _get(source, t, index, raw, "version", int, 0), 0, 255)
    text = _get(source, t, index, raw, "logical_name", str, "")
    logical_name = _parse(source, t, index, "logical_name", lambda: Obis.parse(text))
    attributes = raw.get("attributes", {})
    if not isinstance(attributes, Mapping):
        raise source.error(t, index, "attributes", "attributes is a table: [object.attributes]")
    behaviour = {
        k: v for k, v in raw.items() if k not in ("class_id", "version", "logical_name", "name", "attributes")
    }
    return ObjectModel(
        class_id,
        version,
        logical_name,
        _get(source, t, index, raw, "name", str, ""),
        attributes,
        behaviour,
        source,
        index,
    )


def _token(source: SourceMap, index: int, raw: Mapping[str, Any]) -> TokenModel:
    t = "token"
    _only(
        source,
        t,
        index,
        raw,
        {"token", "description", "add_credit", "clear_tamper", "reconnect"},
        "[[token]]",
    )
    text = _get(source, t, index, raw, "token", str, None)
    if text is None:
        raise source.error(t, index, None, "token (20 digits) is missing")
    digits = re.sub(r"[\s-]+", "", text)
    if not _TOKEN_DIGITS.fullmatch(digits) or int(digits) > STS_TOKEN_MAX:
        raise source.error(t, index, "token", f"a token is 20 digits, at most {STS_TOKEN_MAX}")
    credit = _get(source, t, index, raw, "add_credit", int, 0)
    clear = _get(source, t, index, raw, "clear_tamper", bool, False)
    reconnect = _get(source, t, index, raw, "reconnect", bool, False)
    if not (credit or clear or reconnect):
        raise source.error(
            t, index, None, "the token does nothing: give add_credit, clear_tamper or reconnect"
        )
    return TokenModel(digits, _get(source, t, index, raw, "description", str, ""), credit, clear, reconnect)
