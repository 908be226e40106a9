"""dlmskit.client: the high-level DLMS/COSEM client, blocking and asyncio.

::

    from dlmskit.client import connect

    with connect(host="10.0.0.7", client_address=1, authentication="gmac",
                 block_cipher_key="000102030405060708090A0B0C0D0E0F",
                 authentication_key="D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF") as meter:
        print(meter.register("1.0.1.8.0.255"))    # 1234.56 Wh
        print(meter.relay_state())

The pieces: :class:`MeterSettings` (how to reach a meter), named meter profiles in a TOML file
(:func:`load_meter_profile`), :class:`DlmsClient` / :class:`AsyncDlmsClient` (the same methods, blocking or
as coroutines), the refusals (:class:`MeterRefused`, :class:`AccessDenied`, :class:`ObjectUndefined`,
:class:`TypeUnmatched`, :class:`AssociationRejected`, :class:`ExceptionResponseReceived`), the other
errors a caller meets (:class:`ArgumentError`, :class:`MeterTimeout`...) and what the helpers return
(:class:`RelayState`, :class:`TokenResult`, :class:`ProfileTable`, :class:`Quantity`...). The lower level :class:`~dlmskit.client.connection.Connection` drives one
transport, link and session.
"""

from __future__ import annotations

from dlmskit.client.client import AsyncConnecting, AsyncDlmsClient, DlmsClient, connect, connect_async
from dlmskit.client.errors import AccessDenied, MeterRefused, ObjectUndefined, Target, TypeUnmatched
from dlmskit.client.profiles import (
    default_profiles_path,
    load_meter_profile,
    load_profile,
    profile_names,
    resolve_settings,
)
from dlmskit.client.results import (
    ClockReading,
    ImageTransferReport,
    ProfileColumn,
    ProfileTable,
    RelayState,
    TokenResult,
)
from dlmskit.client.settings import (
    Authentication,
    MeterOptions,
    MeterSettings,
    SecurityPolicyName,
    default_counter_store_path,
)
from dlmskit.cosem import Quantity, Unit, token_to_octets
from dlmskit.errors import (
    ArgumentError,
    ConfigurationError,
    DecodeError,
    DlmsError,
    EncodeError,
    KeyFormatError,
    LinkError,
    MeterTimeout,
    ProtocolError,
    TagVerificationError,
)
from dlmskit.session.errors import AssociationRejected, ExceptionResponseReceived

__all__ = [
    "AccessDenied",
    "ArgumentError",
    "AssociationRejected",
    "AsyncConnecting",
    "AsyncDlmsClient",
    "Authentication",
    "ClockReading",
    "ConfigurationError",
    "DecodeError",
    "DlmsClient",
    "DlmsError",
    "EncodeError",
    "ExceptionResponseReceived",
    "ImageTransferReport",
    "KeyFormatError",
    "LinkError",
    "MeterOptions",
    "MeterRefused",
    "MeterSettings",
    "MeterTimeout",
    "ObjectUndefined",
    "ProfileColumn",
    "ProfileTable",
    "ProtocolError",
    "Quantity",
    "RelayState",
    "SecurityPolicyName",
    "TagVerificationError",
    "Target",
    "TokenResult",
    "TypeUnmatched",
    "Unit",
    "connect",
    "connect_async",
    "default_counter_store_path",
    "default_profiles_path",
    "load_meter_profile",
    "load_profile",
    "profile_names",
    "resolve_settings",
    "token_to_octets",
]
