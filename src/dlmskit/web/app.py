"""The web console's routes: thin handlers over :class:`~dlmskit.web.service.MeterService`.

Pages are rendered on the server (Jinja2) and work without JavaScript; ``static/console.js`` adds the live
trace (server-sent events), profile progress and the plot (uPlot, when ``make setup`` fetched it).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as _dt
import io
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dlmskit.client.client import DlmsClient
from dlmskit.client.profiles import profile_names, resolve_settings
from dlmskit.client.settings import MeterSettings
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis, describe
from dlmskit.cosem import ObjectListEntry, class_for, class_name
from dlmskit.errors import ConfigurationError, DlmsError
from dlmskit.security.keys import parse_key, parse_system_title
from dlmskit.translator import encode_xml, parse_hex_text, to_json, to_text, to_xml, translate
from dlmskit.translator.hexinput import TraceItem
from dlmskit.web.compat import MeterRefused, MeterTimeout
from dlmskit.web.headend import HeadEndQueries
from dlmskit.web.security import LOOPBACK_NAMES, SESSION_COOKIE, Guard, SecurityMiddleware, csrf_ok
from dlmskit.web.service import MeterService
from dlmskit.web.values import Editor, Shown, editor_for, parse_input, show

__all__ = ["WebConfig", "create_app"]

HERE = Path(__file__).parent
VENDOR = HERE / "static" / "vendor"
_FORMATS = {"text": to_text, "xml": to_xml, "json": to_json}
_SETTING_FIELDS = (
    "host",
    "port",
    "link",
    "client_address",
    "server_logical",
    "server_physical",
    "authentication",
    "security_policy",
    "timeout",
)
_SECRET_FIELDS = ("password", "block_cipher_key", "authentication_key")


@dataclass
class WebConfig:
    """How the console runs: the default meter settings, the meters file, the login token, a head-end."""

    default: MeterSettings = field(default_factory=MeterSettings)
    meters_file: Path | None = None
    token: str | None = None
    headend: HeadEndQueries | None = None
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES
    """The host names the console answers to (None: any, for a console behind a login token)."""


def _mode(mode: object) -> str:
    name = getattr(mode, "name", None)
    return name.lower().replace("_", "-") if isinstance(name, str) else str(mode)


def _words(error: BaseException) -> str:
    """An error in words, as the CLI prints it."""
    if isinstance(error, MeterTimeout):
        return f"{error}. Hint: the meter did not answer in time: check the address, the port and the link"
    if isinstance(error, OSError) and not isinstance(error, DlmsError):
        return f"{error.strerror or error} (check the host and port)"
    return str(error)


def create_app(config: WebConfig | None = None, service: MeterService | None = None) -> Starlette:
    """The console as an ASGI application."""
    config = config if config is not None else WebConfig()
    meters = service if service is not None else MeterService(config.default)
    guard = Guard(config.token)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["class_name"] = class_name
    templates.env.globals["describe"] = describe

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("error", "")
        context.setdefault("message", "")
        base = {
            "csrf": request.state.csrf,
            "connected": meters.connected,
            "where": meters.where(),
            "login_required": guard.required,
            "has_uplot": (VENDOR / "uPlot.iife.min.js").exists(),
            "has_headend": config.headend is not None,
            "path": request.url.path,
        }
        return templates.TemplateResponse(request, template, {**base, **context}, status_code=status)

    async def form_of(request: Request) -> Mapping[str, str]:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not csrf_ok(request, values.get("csrf") or request.headers.get("x-csrf-token")):
            raise _CsrfRefused
        return values

    # -- login -------------------------------------------------------------------------------------------

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "login.html")
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        session = guard.login(form.get("token", ""))
        if session is None:
            return page(request, "login.html", 401, error="wrong token")
        response = RedirectResponse("/explorer", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    async def logout(request: Request) -> Response:
        try:
            await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        guard.logout(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- explorer ----------------------------------------------------------------------------------------

    async def home(request: Request) -> Response:
        return RedirectResponse("/explorer", status_code=303)

    def groups(entries: list[ObjectListEntry]) -> list[tuple[int, str, list[dict[str, Any]]]]:
        by_class: dict[int, list[dict[str, Any]]] = {}
        for e in entries:
            by_class.setdefault(e.class_id, []).append(
                {
                    "obis": str(e.logical_name),
                    "name": describe(e.logical_name) or "",
                    "version": e.version,
                    "read": ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_read),
                    "write": ",".join(str(k) for k, v in sorted(e.attribute_access.items()) if v.can_write),
                    "methods": ",".join(str(k) for k, v in sorted(e.method_access.items()) if v.can_execute),
                }
            )
        return [(cid, class_name(cid), rows) for cid, rows in sorted(by_class.items())]

    async def explorer(request: Request, error: str = "", message: str = "", status: int = 200) -> Response:
        tree: list[tuple[int, str, list[dict[str, Any]]]] = []
        if meters.connected:
            try:
                tree = groups(await run_in_threadpool(meters.objects))
            except (DlmsError, OSError) as exc:
                error = error or _words(exc)
        try:
            names = profile_names(config.meters_file)
        except (DlmsError, OSError):
            names = []
        shown = meters.settings or config.default
        return page(
            request,
            "explorer.html",
            status,
            tree=tree,
            profiles=names,
            settings=shown,
            count=sum(len(rows) for _, _, rows in tree),
            secrets_set={name: getattr(shown, name) is not None for name in _SECRET_FIELDS},
            error=error,
            message=message,
        )

    async def connect_meter(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        try:
            settings = _settings_from(form, config)
            await run_in_threadpool(meters.connect, settings)
        except (DlmsError, OSError) as exc:
            return await explorer(request, error=_words(exc), status=502)
        return RedirectResponse("/explorer", status_code=303)

    async def close_meter(request: Request) -> Response:
        try:
            await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        await run_in_threadpool(meters.close)
        return RedirectResponse("/explorer", status_code=303)

    # -- one object ----------------------------------------------------------------------------------------

    def describe_object(obis: Obis, class_id: int | None) -> tuple[ObjectListEntry | None, Any]:
        entry = meters.entry(obis) if meters.connected else None
        cid = class_id if class_id is not None else (entry.class_id if entry is not None else None)
        if cid is None:
            raise KeyError(str(obis))
        return entry, class_for(cid, entry.version if entry is not None else 0)

    async def object_page(
        request: Request, results: Mapping[int, Shown | str] | None = None, message: str = "", error: str = ""
    ) -> Response:
        try:
            obis = Obis.parse(request.path_params["obis"])
        except DlmsError as exc:
            return page(request, "error.html", 404, error=str(exc))
        query_class = request.query_params.get("class_id")
        class_id = int(query_class) if query_class and query_class.isdigit() else None
        try:
            entry, model = await run_in_threadpool(describe_object, obis, class_id)
        except KeyError:
            return page(request, "error.html", 404, error=f"{obis} is not in the association view")
        except (DlmsError, OSError) as exc:
            return page(request, "error.html", 502, error=_words(exc))
        shown: dict[int, Shown | str] = dict(results or {})
        wanted = request.query_params.get("read", "")
        indexes = [a.index for a in model.attributes] if wanted == "all" else []
        if wanted.isdigit():
            indexes = [int(wanted)]
        for index in indexes:
            if model.class_id == 7 and index == 2:
                shown[index] = "the buffer can hold thousands of entries: read it on the Profiles page"
                continue
            if (
                entry is not None
                and index in entry.attribute_access
                and not entry.attribute_access[index].can_read
            ):
                shown[index] = "no read access in this association"
                continue
            try:
                shown[index] = await run_in_threadpool(_read_shown, meters, obis, model, index)
            except MeterRefused as exc:
                shown[index] = str(exc)
            except (DlmsError, OSError) as exc:
                error = _words(exc)
                break
        attributes = []
        for a in model.attributes:
            access = entry.attribute_access.get(a.index) if entry is not None else None
            attributes.append(
                {
                    "index": a.index,
                    "name": a.name,
                    "type": _type_text(a.type),
                    "access": _mode(access.access_mode) if access is not None else "not listed",
                    "can_write": access is not None and access.can_write,
                    "editor": editor_for(a.type, a.enum_names),
                    "static": a.static,
                    "description": a.description,
                    "value": shown.get(a.index),
                }
            )
        methods = []
        for m in model.methods:
            maccess = entry.method_access.get(m.index) if entry is not None else None
            methods.append(
                {
                    "index": m.index,
                    "name": m.name,
                    "access": _mode(maccess.access_mode) if maccess is not None else "not listed",
                    "can_call": maccess is not None and maccess.can_execute,
                    "editor": editor_for(m.parameter),
                    "default": ""
                    if m.default_parameter is None
                    else json.dumps(axdr.to_python(m.default_parameter)),
                    "description": m.description,
                }
            )
        return page(
            request,
            "object.html",
            obis=str(obis),
            name=describe(obis) or "",
            model=model,
            class_id=model.class_id,
            attributes=attributes,
            methods=methods,
            message=message,
            error=error,
        )

    async def write_attribute(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        obis = Obis.parse(request.path_params["obis"])
        index = int(request.path_params["index"])
        class_id = int(form.get("class_id", "0")) or None
        try:
            _entry, model = await run_in_threadpool(describe_object, obis, class_id)
            definition = model.attribute(index)
            editor = editor_for(definition.type if definition is not None else None, None)
            if definition is not None and definition.enum_names:
                editor = editor_for(definition.type, definition.enum_names)
            value = parse_input(form.get("value", ""), editor)
            await run_in_threadpool(
                meters.run, lambda c: c.write(obis, index, value, class_id=model.class_id)
            )
            shown = await run_in_threadpool(_read_shown, meters, obis, model, index)
        except MeterRefused as exc:
            return await object_page(request, {index: str(exc)}, error=str(exc))
        except (DlmsError, OSError, KeyError) as exc:
            return await object_page(request, error=_words(exc))
        return await object_page(
            request,
            {index: shown},
            message=f"written: attribute {index} ({definition.name if definition else index})",
        )

    async def call_method(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        obis = Obis.parse(request.path_params["obis"])
        index = int(request.path_params["index"])
        class_id = int(form.get("class_id", "0")) or None
        try:
            _entry, model = await run_in_threadpool(describe_object, obis, class_id)
            definition = model.method(index)
            editor = editor_for(definition.parameter if definition is not None else None)
            raw = form.get("value", "")
            value = parse_input(raw, editor) if raw.strip() else None
            returned = await run_in_threadpool(
                meters.run, lambda c: c.call(obis, index, value, class_id=model.class_id)
            )
        except (DlmsError, OSError, KeyError) as exc:
            return await object_page(request, error=_words(exc))
        name = definition.name if definition is not None else str(index)
        text = f"done: {name} (method {index})" + (
            "" if returned is None else f", returned {show(returned).text}"
        )
        return await object_page(request, message=text)

    # -- actions: relay, token, clock -------------------------------------------------------------------------

    async def actions(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "actions.html")
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        action = request.path_params.get("action", "")
        try:
            message = await run_in_threadpool(meters.run, lambda c: _act(c, action, form))
        except (DlmsError, OSError) as exc:
            return page(request, "actions.html", error=_words(exc))
        return page(request, "actions.html", message=message)

    # -- profiles ---------------------------------------------------------------------------------------------

    async def profile_form(request: Request) -> Response:
        choices: list[tuple[str, str]] = []
        if meters.connected:
            try:
                entries = await run_in_threadpool(meters.objects)
                choices = [
                    (str(e.logical_name), describe(e.logical_name) or "") for e in entries if e.class_id == 7
                ]
            except (DlmsError, OSError) as exc:
                return page(request, "profile.html", error=_words(exc), choices=[])
        return page(request, "profile.html", choices=choices)

    async def profile_start(request: Request) -> Response:
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        try:
            obis = Obis.parse(form.get("obis", "1.0.99.1.0.255"))
            start = _dt.datetime.fromisoformat(form["start"]) if form.get("start") else None
            end = _dt.datetime.fromisoformat(form["end"]) if form.get("end") else None
            last_text = form.get("last", "").strip()
            last = int(last_text) if last_text and start is None and end is None else None
            if last is not None and last < 1:
                raise ValueError("last N must be 1 or more")
            job = meters.start_profile(obis, last=last, start=start, end=end)
        except (DlmsError, ValueError) as exc:
            return page(request, "profile.html", error=_words(exc), choices=[])
        return RedirectResponse(f"/profile/job/{job.id}", status_code=303)

    async def profile_job(request: Request) -> Response:
        job = meters.jobs.get(request.path_params["job"])
        if job is None:
            return page(request, "error.html", 404, error="no such profile read (they are kept for 20 reads)")
        return page(
            request, "profile_job.html", job=job, preview=job.rows[-50:] if job.state == "done" else []
        )

    async def profile_job_json(request: Request) -> Response:
        job = meters.jobs.get(request.path_params["job"])
        if job is None:
            return JSONResponse({"error": "no such profile read"}, status_code=404)
        answer = job.progress()
        if job.state == "done" and request.query_params.get("data"):
            answer["columns"] = job.columns
            answer["rows"] = job.rows
        return JSONResponse(answer)

    async def profile_job_csv(request: Request) -> Response:
        job = meters.jobs.get(request.path_params["job"])
        if job is None or job.state != "done":
            return PlainTextResponse("no finished profile read with this id", status_code=404)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(job.columns)
        writer.writerows(job.rows)
        filename = f"profile-{job.logical_name}.csv".replace(" ", "_")
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # -- trace and translator --------------------------------------------------------------------------------

    async def trace_page(request: Request) -> Response:
        frames = meters.trace.since(0)[-200:]
        return page(request, "trace.html", frames=frames, last=frames[-1].seq if frames else 0)

    async def trace_stream(request: Request) -> Response:
        after_text = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        after = int(after_text) if after_text.isdigit() else 0
        limit_text = request.query_params.get("limit", "")
        limit = int(limit_text) if limit_text.isdigit() else None

        async def events() -> AsyncIterator[str]:
            nonlocal after
            sent = 0
            yield "retry: 2000\n\n"
            while True:
                frames = await run_in_threadpool(meters.trace.wait, after, 10.0)
                if not frames:
                    yield ": keep-alive\n\n"
                for frame in frames:
                    payload = {
                        "seq": frame.seq,
                        "dir": frame.direction,
                        "hex": frame.hex,
                        "decoded": frame.decoded,
                        "time": frame.time,
                    }
                    yield f"id: {frame.seq}\nevent: frame\ndata: {json.dumps(payload)}\n\n"
                    after = frame.seq
                    sent += 1
                    if limit is not None and sent >= limit:
                        return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )

    async def translator(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "translate.html", pasted="", output="", fmt="text")
        try:
            form = await form_of(request)
        except _CsrfRefused:
            return PlainTextResponse("refused: missing or wrong CSRF token", status_code=403)
        pasted = form.get("trace", "")
        fmt = form.get("format", "text")
        if fmt not in _FORMATS:
            fmt = "text"
        try:
            output, ok = _translate(pasted, fmt, form)
        except (DlmsError, ValueError) as exc:
            return page(request, "translate.html", 422, pasted=pasted, output="", fmt=fmt, error=_words(exc))
        return page(
            request,
            "translate.html",
            pasted=pasted,
            output=output,
            fmt=fmt,
            error="" if ok else "some messages did not decode (see the output)",
        )

    # -- head-end ----------------------------------------------------------------------------------------------

    async def headend(request: Request) -> Response:
        queries = config.headend
        if queries is None:
            return page(request, "headend.html", enabled=False)
        since = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=1)

        def gather() -> dict[str, Any]:
            return {
                "source": queries.describe(),
                "meters": list(queries.meters()),
                "outcomes": list(queries.outcomes(since)),
                "failures": list(queries.failures()),
                "pushes": list(queries.pushes()),
                "jobs": list(queries.jobs()),
            }

        try:
            data = await run_in_threadpool(gather)
        except Exception as exc:
            return page(request, "headend.html", 502, enabled=True, error=f"the head-end database: {exc}")
        return page(request, "headend.html", enabled=True, **data)

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/explorer", explorer),
        Route("/connect", connect_meter, methods=["POST"]),
        Route("/close", close_meter, methods=["POST"]),
        Route("/object/{obis}", object_page),
        Route("/object/{obis}/write/{index:int}", write_attribute, methods=["POST"]),
        Route("/object/{obis}/call/{index:int}", call_method, methods=["POST"]),
        Route("/actions", actions),
        Route("/actions/{action}", actions, methods=["POST"]),
        Route("/profile", profile_form),
        Route("/profile", profile_start, methods=["POST"]),
        Route("/profile/job/{job}.json", profile_job_json),
        Route("/profile/job/{job}.csv", profile_job_csv),
        Route("/profile/job/{job}", profile_job),
        Route("/trace", trace_page),
        Route("/trace/stream", trace_stream),
        Route("/translate", translator, methods=["GET", "POST"]),
        Route("/headend", headend),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, guard=guard, allowed_hosts=config.allowed_hosts)],
    )
    app.state.service = meters
    return app


class _CsrfRefused(Exception):
    """A state-changing request without this browser's CSRF token."""


def _type_text(spec: Any) -> str:
    from dlmskit.cosem import type_name

    return type_name(spec)


def _read_shown(meters: MeterService, obis: Obis, model: Any, index: int) -> Shown:
    definition = model.attribute(index)
    value = meters.run(lambda c: c.read(obis, index, class_id=model.class_id))
    shown = show(
        value,
        definition.type if definition is not None else None,
        definition.enum_names if definition else None,
    )
    if (
        model.class_id in (3, 4)
        and index == 2
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        quantity = meters.run(lambda c: c.register(obis, class_id=model.class_id))
        shown = Shown(shown.type, f"{quantity}  (raw {shown.text}, scaler/unit from attribute 3)")
    return shown


def _act(client: DlmsClient, action: str, form: Mapping[str, str]) -> str:
    if action == "relay":
        return f"relay: {client.relay_state()}"
    if action == "disconnect":
        return f"disconnected; relay: {client.remote_disconnect()}"
    if action == "reconnect":
        return f"reconnect sent; relay: {client.remote_reconnect()}"
    if action == "token":
        result = client.token_enter(
            form.get("token", ""), format="bcd" if form.get("format") == "bcd" else "ascii"
        )
        return f"token status: {result.name} ({result.status_code}): {result.description}"
    if action == "clock":
        return f"meter clock: {client.clock().isoformat(sep=' ')}"
    if action == "clock-set":
        client.set_clock(_dt.datetime.now(_dt.timezone.utc).astimezone())
        return f"clock set to this PC's time; meter clock now {client.clock().isoformat(sep=' ')}"
    if action == "clock-shift":
        seconds = parse_input(form.get("seconds", "0"), Editor("integer", "long", -900, 900))
        client.shift_clock(int(seconds))
        return f"clock shifted by {int(seconds)} s; meter clock now {client.clock().isoformat(sep=' ')}"
    raise ConfigurationError(f"unknown action {action!r}")


def _settings_from(form: Mapping[str, str], config: WebConfig) -> MeterSettings:
    """Settings from the connect form: a named profile (with any password or key typed in the form), or the
    console's defaults with the form's fields."""
    secrets_given = {name: form[name] for name in _SECRET_FIELDS if form.get(name)}
    meter = form.get("meter", "").strip() or None
    if meter is not None:
        return resolve_settings(meter, config.meters_file, secrets_given)
    overrides: dict[str, Any] = {}
    for name in _SETTING_FIELDS:
        text = form.get(name, "").strip()
        if not text:
            continue
        try:
            if name in ("port", "client_address", "server_logical", "server_physical"):
                overrides[name] = int(text)
            elif name == "timeout":
                overrides[name] = float(text)
            else:
                overrides[name] = text
        except ValueError:
            raise ConfigurationError(f"{name.replace('_', ' ')}: {text!r} is not a number") from None
    overrides.update(secrets_given)
    if overrides.get("authentication") == "gmac" and "client_address" not in overrides:
        overrides["client_address"] = 1  # the management client of the simulator's default model
    overrides.setdefault("security_policy", None)  # derived again from the authentication chosen
    return resolve_settings(config.default, None, overrides)


def _translate(pasted: str, fmt: str, form: Mapping[str, str]) -> tuple[str, bool]:
    """What ``dlmskit decode`` prints for ``pasted`` (hex lines, or translator XML encoded first)."""
    keys = None
    if form.get("key") or form.get("auth_key"):
        keys = (
            parse_key(form.get("key", ""), name="block cipher key"),
            parse_key(form.get("auth_key", ""), name="authentication key"),
        )
    client_title = parse_system_title(form["client_title"]) if form.get("client_title") else None
    text = pasted.strip()
    if text.startswith("<"):
        items = [TraceItem(None, apdu, n) for n, apdu in enumerate(encode_xml(text), 1)]
    else:
        items = parse_hex_text(text)
    if not items:
        raise ValueError("no message found in the input: paste hex (one message a line) or translator XML")
    translation = translate(items, keys, client_title=client_title)
    return _FORMATS[fmt](translation, "line"), translation.ok
