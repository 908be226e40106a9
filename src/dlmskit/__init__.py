"""dlmskit: a DLMS/COSEM (IEC 62056) toolkit.

The small top-level API, for the programs an integrator writes::

    import dlmskit

    with dlmskit.connect(host="10.0.0.7", client_address=1, authentication="gmac",
                         block_cipher_key=EK, authentication_key=AK) as meter:
        print(meter.register("1.0.1.8.0.255"))  # 1234567 Wh

    from dlmskit import axdr, obis           # the A-XDR and OBIS codecs (dlmskit.codec.axdr, .obis)

``connect``, ``connect_async``, ``MeterSettings``, the clients and the errors come from
:mod:`dlmskit.client` and :mod:`dlmskit.errors`; ``translate`` from :mod:`dlmskit.translator`. They are
imported on first use, so ``import dlmskit.codec`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dlmskit.client import (
        AccessDenied,
        AsyncDlmsClient,
        DlmsClient,
        MeterRefused,
        MeterSettings,
        ObjectUndefined,
        Quantity,
        TypeUnmatched,
        connect,
        connect_async,
    )
    from dlmskit.codec import axdr, obis
    from dlmskit.codec.obis import Obis
    from dlmskit.errors import ArgumentError, ConfigurationError, DlmsError, MeterTimeout
    from dlmskit.translator import translate

__all__ = [
    "AccessDenied",
    "ArgumentError",
    "AsyncDlmsClient",
    "ConfigurationError",
    "DlmsClient",
    "DlmsError",
    "MeterRefused",
    "MeterSettings",
    "MeterTimeout",
    "Obis",
    "ObjectUndefined",
    "Quantity",
    "TypeUnmatched",
    "__version__",
    "axdr",
    "connect",
    "connect_async",
    "obis",
    "translate",
]

_WHERE = {
    "AccessDenied": "dlmskit.client",
    "AsyncDlmsClient": "dlmskit.client",
    "DlmsClient": "dlmskit.client",
    "MeterRefused": "dlmskit.client",
    "MeterSettings": "dlmskit.client",
    "ObjectUndefined": "dlmskit.client",
    "Quantity": "dlmskit.client",
    "TypeUnmatched": "dlmskit.client",
    "connect": "dlmskit.client",
    "connect_async": "dlmskit.client",
    "Obis": "dlmskit.codec.obis",
    "ArgumentError": "dlmskit.errors",
    "ConfigurationError": "dlmskit.errors",
    "DlmsError": "dlmskit.errors",
    "MeterTimeout": "dlmskit.errors",
    "translate": "dlmskit.translator",
}
_MODULES = {"axdr": "dlmskit.codec.axdr", "obis": "dlmskit.codec.obis"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'dlmskit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
