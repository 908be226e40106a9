"""The inventory: meters, the groups they belong to and the templates they are built from; CSV and TOML files.

A **template** holds what meters of one type share (link, addresses, client, authentication, security
policy, timeouts...); a **meter** names its template, its groups and what is its own (host and port, HDLC
address, its keys); a **plan** says what to read (:mod:`dlmskit.headend.plans`). Connection settings are the
keyword arguments of :class:`~dlmskit.client.MeterSettings`; a meter's ``gateway`` names a serial port or a
concentrator that serves one session at a time. Keys and passwords in an imported file go to the key store
(sealed) and never into the inventory tables; an export never writes them.

TOML::

    [template.sim-gmac]
    link = "hdlc"
    client_address = 1
    authentication = "gmac"
    # release_request = true  # an RLRQ before the DISC (the head-end's default: the DISC releases)

    [plan.registers]
    registers = ["1.0.1.8.0.255"]

    [[meter]]
    name = "SIM000001"
    template = "sim-gmac"
    groups = ["fleet"]
    port = 40001
    block_cipher_key = "000102030405060708090A0B0C0D0E0F"

CSV: one meter a row, a header naming the columns (``name``, ``template``, ``groups`` separated by ``;``,
then setting and key names).

An import checks every row first (an error names the file, the row and the meter) and then writes the whole
file, templates, plans, meters and sealed keys, in one transaction (500 rows a statement): all of it or
nothing. A template may say ``trace_frames = true`` (or ``"decrypted"``): the sessions of its meters keep
their frames (:mod:`dlmskit.headend.traces`) whatever the plan says.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dlmskit.errors import ConfigurationError, DlmsError
from dlmskit.headend.keystore import KEY_NAMES, KeyStore
from dlmskit.headend.meter_io import SETTING_NAMES
from dlmskit.headend.store import Store, meters, plans, templates
from dlmskit.security.keys import parse_system_title

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["ImportReport", "Inventory", "Meter"]

_OWN = (
    "name",
    "template",
    "groups",
    "gateway",
    "meter_system_title",
    "logical_device_name",
    "push_source_address",
)
_TEMPLATE_ONLY = frozenset({"trace_frames"})
"""What a template keeps in its body beside connection settings: not passed to the meter's session settings."""
_INT_SETTINGS = frozenset(
    {
        "port",
        "baudrate",
        "client_address",
        "server_logical",
        "server_physical",
        "public_client_address",
        "hdlc_max_info_length",
        "hdlc_window_size",
        "max_pdu_size",
    }
)
_FLOAT_SETTINGS = frozenset({"timeout", "connect_timeout"})
_BOOL_SETTINGS = frozenset({"mode_e", "udp", "dedicated_key", "read_frame_counter_first"})
_TEMPLATE_KEYS = ("push_dedicated_key", "broadcast_key")
"""The keys a template may give all its meters' pushes (sealed in the key store as ``template:NAME``)."""
_NOT_SESSION_KEYS = frozenset({"master_key", "push_dedicated_key", "broadcast_key"})
"""Keys of the key store for the push listener and key changes (the KEK), never put in a session's settings."""


@dataclass(frozen=True)
class Meter:
    """One meter of the inventory: its own settings over its template's (keys are in the key store)."""

    name: str
    template: str | None = None
    groups: tuple[str, ...] = ()
    gateway: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    meter_system_title: str | None = None
    """The meter's own system title (hex): how its ciphered pushes are recognised."""
    logical_device_name: str | None = None
    """The meter's logical device name (0.0.42.0.0.255): how an inbound meter is recognised."""
    push_source_address: int | None = None
    """Where its pushes come from when they carry no system title (a glo- APDU, or general-glo with an
    empty one): the wrapper source wPort, or the HDLC address (lower, physical; the upper one alone when
    there is no lower) of its UI frames. Over HDLC the meter's ``server_physical`` serves without it."""
    trace_frames: str | None = None
    """Its template's ``trace_frames`` (``ciphered`` or ``decrypted``), read with the meter: its sessions keep
    their frames when the plan does not already say how. Set on the template, never on the meter."""


@dataclass
class ImportReport:
    """What an import did."""

    templates: int = 0
    plans: int = 0
    meters: int = 0
    keys: int = 0


def _check_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SETTING_NAMES:
            raise ConfigurationError(f"{where}: unknown setting {key!r}")
        if value is None or value == "":
            continue
        try:
            if key in _INT_SETTINGS:
                value = int(value)
            elif key in _FLOAT_SETTINGS:
                value = float(value)
            elif key in _BOOL_SETTINGS and isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on")
        except ValueError:
            raise ConfigurationError(f"{where}: {key} must be a number, not {value!r}") from None
        checked[key] = value
    return checked


def _trace_mode(value: Any, where: str) -> str | None:
    """A template's ``trace_frames``: true (frames as sent), false, or a mode of :data:`TRACE_MODES`."""
    from dlmskit.headend.plans import TRACE_MODES

    if value is None or value is False or value == "":
        return None
    if value is True:
        return "ciphered"
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return "ciphered"
    if text in ("false", "no", "off", "0"):
        return None
    if text in TRACE_MODES:
        return text
    raise ConfigurationError(
        f"{where}: trace_frames must be true, false or one of {', '.join(TRACE_MODES)}, not {value!r}"
    )


def _session_settings(known: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Templates as connection settings only (without what :data:`_TEMPLATE_ONLY` names)."""
    return {
        name: {k: v for k, v in body.items() if k not in _TEMPLATE_ONLY}
        if _TEMPLATE_ONLY & body.keys()
        else body
        for name, body in known.items()
    }


@dataclass
class _Template:
    """A template of an import file, checked."""

    name: str
    body: dict[str, Any]
    objects: Any
    keys: dict[str, bytes]
    """Its push keys (of :data:`_TEMPLATE_KEYS`), as :meth:`KeyStore.check` gives them."""


class Inventory:
    """Meters, templates and plans in the store; keys in the key store."""

    def __init__(self, store: Store, keystore: KeyStore | None = None) -> None:
        self.store = store
        self.keystore = keystore

    # -- templates and plans -------------------------------------------------------------------------------

    def put_template(self, name: str, settings: Mapping[str, Any]) -> None:
        """Add or replace a template.

        Besides connection settings, a template may name what its meters push, ``push_objects`` (see
        :mod:`dlmskit.headend.push_setup`; kept in ``push_objects`` as ``template:NAME``), the fixed
        ``push_dedicated_key`` its meters cipher ded-/general-ded pushes with and the global ``broadcast_key``
        they may cipher glo-/general-glo pushes with (both sealed in the key store as ``template:NAME``, never
        in the template), and ``trace_frames`` (true, ``ciphered`` or ``decrypted``): its meters' sessions
        keep their frames."""
        checked = self._check_template(name, settings, f"template {name}")
        with self.store.engine.begin() as connection:
            self._write_templates(connection, [checked])

    def _check_template(self, name: str, settings: Mapping[str, Any], where: str) -> _Template:
        from dlmskit.headend.push_setup import parse_push_objects

        settings = dict(settings)
        objects = settings.pop("push_objects", None)
        given = {name: settings.pop(name, None) for name in _TEMPLATE_KEYS}
        trace = _trace_mode(settings.pop("trace_frames", None), where)
        body = _check_settings(settings, where)
        if trace is not None:
            body["trace_frames"] = trace
        parsed = parse_push_objects(objects, where) if objects is not None else None
        plain: dict[str, bytes] = {}
        for key_name, value in given.items():
            if not value:
                continue
            if self.keystore is None:
                raise ConfigurationError(f"{where} has a {key_name}, but no key store is open")
            try:
                plain[key_name] = KeyStore.check(key_name, str(value))
            except DlmsError as error:
                raise ConfigurationError(f"{where}: {error}") from None
        return _Template(name, body, parsed, plain)

    def _write_templates(self, connection: Connection, checked: Sequence[_Template]) -> None:
        from dlmskit.headend.push_setup import save_push_objects

        self.store.put_named_many(connection, templates, [{"name": t.name, "body": t.body} for t in checked])
        for template in checked:
            if template.objects is not None:
                owner = f"template:{template.name}"
                save_push_objects(self.store, owner, "template", template.objects, connection)
        sealed = [(f"template:{t.name}", name, value) for t in checked for name, value in t.keys.items()]
        if sealed:
            assert self.keystore is not None
            self.keystore.put_many(connection, sealed, action="import")

    def templates(self) -> dict[str, dict[str, Any]]:
        """Every template by name."""
        return {row["name"]: row["body"] for row in self.store.named(templates)}

    def put_plan(self, name: str, body: Mapping[str, Any]) -> None:
        """Add or replace a read plan (checked by :class:`~dlmskit.headend.plans.ReadPlan`)."""
        from dlmskit.headend.plans import ReadPlan

        ReadPlan.from_mapping(name, body)
        self.store.put_named(plans, name, body)

    def plan_bodies(self) -> dict[str, dict[str, Any]]:
        """Every stored plan by name, as written."""
        return {row["name"]: row["body"] for row in self.store.named(plans)}

    # -- meters --------------------------------------------------------------------------------------------

    def put_meter(self, meter: Meter) -> None:
        """Add or replace a meter (keys go through :meth:`KeyStore.put`)."""
        row = self._meter_row(meter, f"meter {meter.name}")
        with self.store.engine.begin() as connection:
            self.store.put_named_many(connection, meters, [row])

    @staticmethod
    def _meter_row(meter: Meter, where: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "settings": _check_settings(meter.settings, where),
            "gateway": meter.gateway,
            "meter_system_title": meter.meter_system_title,
            "logical_device_name": meter.logical_device_name,
        }
        if meter.push_source_address is not None:
            body["push_source_address"] = meter.push_source_address
        groups = ";".join(sorted(set(meter.groups)))
        return {"name": meter.name, "body": body, "template": meter.template, "groups": groups}

    def _read_meters(self, name: str | None = None) -> list[Meter]:
        """Meters (one, by name) with their template's ``trace_frames``, in one query."""
        query = (
            sa.select(
                meters.c.name, meters.c.template, meters.c.groups, meters.c.body, templates.c.body.label("tb")
            )
            .select_from(meters.outerjoin(templates, meters.c.template == templates.c.name))
            .order_by(meters.c.name)
        )
        if name is not None:
            query = query.where(meters.c.name == name)
        with self.store.engine.connect() as connection:
            rows = connection.execute(query).all()
        traced: dict[str, str | None] = {}
        found = []
        for row in rows:
            template = row.template
            trace = None
            if template is not None and row.tb is not None:
                if template not in traced:
                    traced[template] = json.loads(row.tb).get("trace_frames")
                trace = traced[template]
            body = json.loads(row.body)
            found.append(
                Meter(
                    str(row.name),
                    template,
                    tuple(g for g in row.groups.split(";") if g),
                    body.get("gateway"),
                    body["settings"],
                    body.get("meter_system_title"),
                    body.get("logical_device_name"),
                    body.get("push_source_address"),
                    trace,
                )
            )
        return found

    def meters(self, group: str | None = None) -> list[Meter]:
        """The meters (of one group), by name."""
        found = self._read_meters()
        return found if group is None else [m for m in found if group in m.groups]

    def meter(self, name: str) -> Meter:
        """One meter by name."""
        found = self._read_meters(name)
        if not found:
            raise ConfigurationError(f"no meter {name!r} in the inventory")
        return found[0]

    def settings_of(
        self, meter: Meter, templates_by_name: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The meter's settings: its template's, then its own, then its keys (as SecretBytes)."""
        known = _session_settings(templates_by_name if templates_by_name is not None else self.templates())
        merged: dict[str, Any] = {}
        if meter.template is not None:
            if meter.template not in known:
                raise ConfigurationError(f"meter {meter.name}: no template {meter.template!r}")
            merged.update(known[meter.template])
        merged.update(meter.settings)
        if self.keystore is not None:
            for name, value in self.keystore.all_for(meter.name).items():
                if name not in _NOT_SESSION_KEYS:
                    merged[name] = value
        return merged

    def settings_of_many(
        self, chosen: Sequence[Meter], templates_by_name: Mapping[str, Mapping[str, Any]] | None = None
    ) -> list[dict[str, Any] | Exception]:
        """:meth:`settings_of` for many meters, their keys read with one query: for each meter its
        settings, or the error that its alone had (an unknown template, a key that does not open)."""
        known = _session_settings(templates_by_name if templates_by_name is not None else self.templates())
        sealed = self.keystore.all_for_many([m.name for m in chosen]) if self.keystore is not None else {}
        found: list[dict[str, Any] | Exception] = []
        for meter in chosen:
            merged: dict[str, Any] = {}
            if meter.template is not None:
                if meter.template not in known:
                    found.append(ConfigurationError(f"meter {meter.name}: no template {meter.template!r}"))
                    continue
                merged.update(known[meter.template])
            merged.update(meter.settings)
            opened = sealed.get(meter.name, {})
            if isinstance(opened, Exception):
                found.append(opened)
                continue
            for name, value in opened.items():
                if name not in _NOT_SESSION_KEYS:
                    merged[name] = value
            found.append(merged)
        return found

    # -- files ---------------------------------------------------------------------------------------------

    def import_file(self, path: str | os.PathLike[str]) -> ImportReport:
        """Import a ``.toml`` or ``.csv`` inventory file: every row checked, then all of it in one
        transaction (nothing when a row is wrong; the error names its row)."""
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        if file.suffix.lower() == ".csv":
            return self._import({}, csv.DictReader(io.StringIO(text)), str(file), csv_lines=True)
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigurationError(f"{file}: {error}") from None
        return self._import(document, document.get("meter", []), str(file))

    def import_rows(self, rows: Iterable[Mapping[str, Any]], where: str) -> ImportReport:
        """Import meters from dictionaries (CSV rows or TOML tables), all or none."""
        return self._import({}, rows, where)

    def _import(
        self,
        document: Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        where: str,
        *,
        csv_lines: bool = False,
    ) -> ImportReport:
        from dlmskit.headend.plans import ReadPlan

        report = ImportReport()
        checked_templates = [
            self._check_template(str(name), settings, f"{where}: template {name}")
            for name, settings in document.get("template", {}).items()
        ]
        plan_rows = []
        for name, body in document.get("plan", {}).items():
            ReadPlan.from_mapping(str(name), body)
            plan_rows.append({"name": str(name), "body": body})
        meter_rows: list[dict[str, Any]] = []
        secrets: list[tuple[str, str, bytes]] = []
        errors: list[str] = []
        for index, raw in enumerate(rows, start=1):
            label = f"line {index + 1}" if csv_lines else f"meter {index}"
            try:
                meter, keys = self._check_row(raw, f"{where}: {label}")
            except ConfigurationError as error:
                errors.append(str(error))
                continue
            meter_rows.append(self._meter_row(meter, f"{where}: {label}"))
            secrets.extend((meter.name, name, value) for name, value in keys.items())
            report.meters += 1
            report.keys += len(keys)
        if errors:
            more = f" (and {len(errors) - 10} more row(s) wrong)" if len(errors) > 10 else ""
            raise ConfigurationError("; ".join(errors[:10]) + more + "; nothing imported")
        with self.store.engine.begin() as connection:
            self._write_templates(connection, checked_templates)
            self.store.put_named_many(connection, plans, plan_rows)
            self.store.put_named_many(connection, meters, meter_rows)
            if secrets:
                assert self.keystore is not None
                self.keystore.put_many(connection, secrets, action="import")
        report.templates, report.plans = len(checked_templates), len(plan_rows)
        return report

    def _check_row(self, raw: Mapping[str, Any], where: str) -> tuple[Meter, dict[str, bytes]]:
        """One meter of a file and its keys (as :meth:`KeyStore.check` gives them), checked."""
        row = {k.strip(): v for k, v in raw.items() if k is not None}
        name = str(row.get("name") or "").strip()
        if not name:
            raise ConfigurationError(f"{where} has no name")
        where = f"{where} (meter {name})"
        groups = row.get("groups") or ()
        if isinstance(groups, str):
            groups = tuple(g.strip() for g in groups.replace(",", ";").split(";") if g.strip())
        found = {k: row[k] for k in KEY_NAMES if row.get(k)}
        if found and self.keystore is None:
            raise ConfigurationError(f"{where} has keys, but no key store is open")
        keys: dict[str, bytes] = {}
        for key_name, value in found.items():
            try:
                keys[key_name] = KeyStore.check(key_name, str(value))
            except DlmsError as error:
                raise ConfigurationError(f"{where}: {error}") from None
        settings = {k: v for k, v in row.items() if k not in _OWN and k not in KEY_NAMES}
        meter = Meter(
            name,
            str(row["template"]) if row.get("template") else None,
            tuple(groups),
            str(row["gateway"]) if row.get("gateway") else None,
            _check_settings(settings, where),
            _system_title(row.get("meter_system_title"), where),
            str(row["logical_device_name"]) if row.get("logical_device_name") else None,
            _source_address(row.get("push_source_address"), where),
        )
        return meter, keys

    def export_toml(self) -> str:
        """Templates, plans and meters as a TOML inventory (without any key)."""
        out = io.StringIO()
        from dlmskit.headend.push_setup import load_push_objects

        pushed = load_push_objects(self.store)
        for name, settings in self.templates().items():
            out.write(f"[template.{_toml_key(name)}]\n")
            for key, value in settings.items():
                out.write(f"{key} = {_toml_value(value)}\n")
            entries = pushed.get(f"template:{name}", {}).get("template")
            if entries:
                texts = [f"{e.class_id}/{e.logical_name}/{e.attribute_index}/{e.data_index}" for e in entries]
                out.write(f"push_objects = {_toml_value(texts)}\n")
            out.write("\n")
        for name, body in self.plan_bodies().items():
            out.write(f"[plan.{_toml_key(name)}]\n")
            for key, value in body.items():
                out.write(f"{key} = {_toml_value(value)}\n")
            out.write("\n")
        for meter in self.meters():
            out.write("[[meter]]\n")
            out.write(f"name = {_toml_value(meter.name)}\n")
            if meter.template:
                out.write(f"template = {_toml_value(meter.template)}\n")
            if meter.groups:
                out.write(f"groups = {_toml_value(list(meter.groups))}\n")
            if meter.gateway:
                out.write(f"gateway = {_toml_value(meter.gateway)}\n")
            if meter.meter_system_title:
                out.write(f"meter_system_title = {_toml_value(meter.meter_system_title)}\n")
            if meter.logical_device_name:
                out.write(f"logical_device_name = {_toml_value(meter.logical_device_name)}\n")
            if meter.push_source_address is not None:
                out.write(f"push_source_address = {meter.push_source_address}\n")
            for key, value in meter.settings.items():
                out.write(f"{key} = {_toml_value(value)}\n")
            out.write("\n")
        return out.getvalue()

    def export_csv(self) -> str:
        """The meters as CSV (without any key)."""
        found = self.meters()
        columns = sorted({key for meter in found for key in meter.settings})
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        named = any(meter.logical_device_name for meter in found)
        sourced = any(meter.push_source_address is not None for meter in found)
        own = ["name", "template", "groups", "gateway", "meter_system_title"]
        writer.writerow(
            [
                *own,
                *(["logical_device_name"] if named else []),
                *(["push_source_address"] if sourced else []),
                *columns,
            ]
        )
        for meter in found:
            writer.writerow(
                [
                    meter.name,
                    meter.template or "",
                    ";".join(meter.groups),
                    meter.gateway or "",
                    meter.meter_system_title or "",
                    *([meter.logical_device_name or ""] if named else []),
                    *(
                        [meter.push_source_address if meter.push_source_address is not None else ""]
                        if sourced
                        else []
                    ),
                    *(meter.settings.get(c, "") for c in columns),
                ]
            )
        return out.getvalue()


def _system_title(value: Any, where: str) -> str | None:
    if not value:
        return None
    try:
        return parse_system_title(str(value)).hex().upper()
    except DlmsError as error:
        raise ConfigurationError(f"{where}: meter_system_title: {error}") from None


def _source_address(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        address = int(str(value), 0)
    except ValueError:
        raise ConfigurationError(f"{where}: push_source_address must be a number, not {value!r}") from None
    if not 0 <= address <= 0xFFFF:
        raise ConfigurationError(f"{where}: push_source_address must be 0..65535, not {address}")
    return address


def _toml_key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else json.dumps(name)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
