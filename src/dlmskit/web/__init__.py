"""dlmskit.web: the web console (``dlmskit web``), the meter engineer's daily tool in a browser.

A Starlette application with server-rendered pages: the meter explorer (association view by interface class,
read, write, call), profiles with progress, a plot and CSV, the live trace of the session, the translator
and, when a head-end database is given, the head-end dashboard. Loopback only unless a login token is set.

::

    from dlmskit.web import WebConfig, create_app
    app = create_app(WebConfig())          # serve with uvicorn
"""

from __future__ import annotations

from dlmskit.web.app import WebConfig, create_app
from dlmskit.web.headend import HeadEndQueries, StaticHeadEnd
from dlmskit.web.security import check_bind, is_loopback
from dlmskit.web.service import MeterService

__all__ = [
    "HeadEndQueries",
    "MeterService",
    "StaticHeadEnd",
    "WebConfig",
    "check_bind",
    "create_app",
    "is_loopback",
]
