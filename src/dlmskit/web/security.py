"""The console's safety: a login token off loopback, CSRF protection, security headers.

- Bound to loopback (the default) the console needs no login; bound to any other address it refuses to start
  without a token, and every page then asks for it once (a session cookie kept in server memory).
- Every state-changing request (POST) must carry the CSRF token of its browser (a random value in a
  ``SameSite=Strict`` cookie, repeated in the form or the ``X-CSRF-Token`` header; compared in constant
  time), and its ``Origin`` (when the browser sends one) must be the console's own. A cross-site request
  (``Sec-Fetch-Site``) may only open a page by a plain link: no query (no meter read), no sub-resource.
- Requests naming another ``Host`` than the console's are refused (a DNS-rebinding page would otherwise be
  same-origin with it); the loopback names are allowed by default.
- Every answer carries a content security policy without inline scripts, and no framing or sniffing.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

from dlmskit.errors import ConfigurationError
from dlmskit.security.keys import SecretBytes

__all__ = [
    "CSRF_COOKIE",
    "LOOPBACK_NAMES",
    "SESSION_COOKIE",
    "Guard",
    "SecurityMiddleware",
    "check_bind",
    "csrf_ok",
    "is_loopback",
]

CSRF_COOKIE = "dlmskit_csrf"
SESSION_COOKIE = "dlmskit_session"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_OPEN_PATHS = ("/login", "/static/")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _host_name(header: str) -> str:
    """The name in a ``Host`` header, without the port (``[::1]:8059`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a login token."""
    if not is_loopback(host) and not token:
        raise ConfigurationError(
            f"binding the web console to {host} exposes the meters it can reach: give a login token "
            "(--token or DLMSKIT_WEB_TOKEN), or keep the default 127.0.0.1"
        )
    if token is not None and len(token) < 12:
        raise ConfigurationError("the login token is too short: use at least 12 characters")


class Guard:
    """The token (when one is required) and the sessions logged in with it, in this process's memory."""

    def __init__(self, token: str | None = None) -> None:
        self._token = SecretBytes(token.encode("utf-8"), label="login token") if token else None
        self._sessions: set[str] = set()

    @property
    def required(self) -> bool:
        return self._token is not None

    def login(self, given: str) -> str | None:
        """A new session id when ``given`` is the token, else None."""
        if self._token is None:
            return None
        if not hmac.compare_digest(given.encode("utf-8"), self._token.reveal()):
            return None
        session = secrets.token_urlsafe(32)
        self._sessions.add(session)
        return session

    def logout(self, session: str) -> None:
        self._sessions.discard(session)

    def allows(self, session: str | None) -> bool:
        if self._token is None:
            return True
        return session is not None and any(hmac.compare_digest(session, known) for known in self._sessions)


def csrf_ok(request: Request, given: str | None) -> bool:
    """Whether ``given`` (from the form or header) is this browser's CSRF token."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and given) and hmac.compare_digest(str(cookie), str(given))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if origin not in (f"http://{host}", f"https://{host}"):
            return False
    elif origin == "null":
        return False
    fetch_site = request.headers.get("sec-fetch-site")
    return fetch_site in (None, "same-origin", "none")


class SecurityMiddleware(BaseHTTPMiddleware):
    """Login, the Origin check of state-changing requests, the CSRF cookie and the security headers."""

    def __init__(
        self, app: ASGIApp, guard: Guard, allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES
    ) -> None:
        super().__init__(app)
        self.guard = guard
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = csrf
        response: Response
        path = request.url.path
        host = _host_name(request.headers.get("host", "")).lower()
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            response = PlainTextResponse(
                "refused: this console does not serve that host name", status_code=421
            )
        elif request.headers.get("sec-fetch-site") == "cross-site" and not (
            request.method == "GET"
            and request.headers.get("sec-fetch-mode") == "navigate"
            and not request.url.query
        ):
            # A link from elsewhere may open a page, but not read the meter (?read=...) nor load a resource.
            response = PlainTextResponse("refused: a cross-site request", status_code=403)
        elif request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
            response = PlainTextResponse("refused: a cross-site request (Origin check)", status_code=403)
        elif not path.startswith(_OPEN_PATHS) and not self.guard.allows(request.cookies.get(SESSION_COOKIE)):
            accept = request.headers.get("accept", "")
            if request.method == "GET" and "json" not in accept and "event-stream" not in accept:
                response = RedirectResponse("/login", status_code=303)
            else:
                response = PlainTextResponse("log in first", status_code=401)
        else:
            response = await call_next(request)
        if request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        headers = response.headers
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes browsers send "Origin: null"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers.setdefault("Cache-Control", "no-store")
        return response
