"""The logic of the high-level client, written once for the blocking and the asyncio client.

:class:`ClientCore` knows how to turn "read the relay state" or "enter this token" into GET/SET/ACTION
requests and how to read the answers, but it does no I/O. Each operation is a generator that yields
steps and receives what they produced:

- :class:`Request`: send this APDU and send me back the session's completed event;
- :class:`Pause`: wait this many seconds (polling an image verification);
- :class:`Chunk`: a part of a profile is ready for the caller (streaming reads only).

:class:`~dlmskit.client.client.DlmsClient` runs the steps on a blocking
:class:`~dlmskit.client.connection.Connection`, :class:`~dlmskit.client.client.AsyncDlmsClient` on an
:class:`~dlmskit.client.connection.AsyncConnection`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import secrets
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu import acse
from dlmskit.apdu.common import (
    ABSENT,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    GetDataResult,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.results import ActionResult, DataAccessResult, ServiceError
from dlmskit.client.connection import ApduHook, ProgressHook
from dlmskit.client.errors import MeterRefused, Service, Target, TypeUnmatched, describe_object, refusal
from dlmskit.client.known_objects import usual_class_id
from dlmskit.client.results import (
    ClockReading,
    ImageTransferReport,
    ProfileColumn,
    ProfileTable,
    RelayState,
    TokenResult,
)
from dlmskit.client.settings import (
    KEY_AGREEMENTS,
    MeterSettings,
    default_counter_store_path,
    legacy_counter_store_path,
)
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import CosemDateTime, datetimes_of
from dlmskit.codec.obis import Obis, obis
from dlmskit.cosem import (
    AttributeDef,
    CaptureObject,
    ControlMode,
    ControlState,
    ImageTransferStatus,
    InterfaceClass,
    MethodDef,
    ObjectListEntry,
    Quantity,
    ScalerUnit,
    TokenStatus,
    Unit,
    decode_capture_objects,
    decode_object_list,
    encode_attribute_value,
    encode_method_parameter,
    generic_class,
    get_class,
    token_to_octets,
    type_name,
)
from dlmskit.cosem.classes import class_name
from dlmskit.cosem.short_names import DLMSKIT_METHOD_OFFSETS, ShortNameEntry, ShortNameMap
from dlmskit.deviations import Deviation, DeviationHook, emit
from dlmskit.errors import (
    ArgumentError,
    AssociationError,
    ConfigurationError,
    DecodeError,
    DlmsError,
    EncodeError,
    LinkError,
    ProtocolError,
    TagVerificationError,
)
from dlmskit.link.events import Link, TraceHook
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_link import HdlcClientLink
from dlmskit.link.wrapper_link import WrapperLink
from dlmskit.security import agreement
from dlmskit.security.general import SignedApduGuard
from dlmskit.security.hls import Mechanism
from dlmskit.security.invocation import FileInvocationCounterStore, InvocationCounterStore
from dlmskit.security.keys import SecretBytes, parse_key, parse_system_title
from dlmskit.security.keywrap import KeyId, wrap_key
from dlmskit.session.client import ClientSession, ClientSettings
from dlmskit.session.errors import AssociationRejected, ExceptionResponseReceived
from dlmskit.session.events import ActionCompleted, GetCompleted, Negotiated, SessionEvent, SetCompleted
from dlmskit.session.protection import SecurityPolicyBits, SecuritySettings, counter_key_id

__all__ = [
    "ASSOCIATION",
    "CLOCK",
    "DISCONNECT_CONTROL",
    "IMAGE_TRANSFER",
    "SECURITY_SETUP",
    "TOKEN_GATEWAY",
    "AttributeReference",
    "Chunk",
    "ChunkSteps",
    "ClientCore",
    "Doing",
    "ImageProgress",
    "ObisLike",
    "Pause",
    "ProfileProgress",
    "Request",
    "Steps",
]

_T = TypeVar("_T")
log = logging.getLogger("dlmskit.client")

ObisLike = Obis | str
"""A logical name as an :class:`~dlmskit.codec.obis.Obis` or as text (``"0.0.1.0.0.255"``, ``"1-0:1.8.0"``)."""

AttributeReference = tuple[ObisLike, int | str] | tuple[ObisLike, int | str, int]
"""``(logical name, attribute)`` or ``(logical name, attribute, class id)``; the attribute by index or name."""

ImageProgress = Callable[[int, int], None]
"""Called after every image block with (blocks sent, blocks in the image)."""

ProfileProgress = Callable[[int, int | None], None]
"""Called after every chunk of a profile with (rows read so far, rows expected or None when unknown)."""

CLOCK: Final = Obis(0, 0, 1, 0, 0, 255)
DISCONNECT_CONTROL: Final = Obis(0, 0, 96, 3, 10, 255)
TOKEN_GATEWAY: Final = Obis(0, 0, 19, 40, 0, 255)
ASSOCIATION: Final = Obis(0, 0, 40, 0, 0, 255)
SECURITY_SETUP: Final = Obis(0, 0, 43, 0, 0, 255)
IMAGE_TRANSFER: Final = Obis(0, 0, 44, 0, 0, 255)

_SCALER_ATTRIBUTE: Final = {3: 3, 4: 3, 5: 4}
"""Register (3) and Extended register (4) keep scaler_unit in attribute 3, Demand register (5) in 4."""
_VALUE_ATTRIBUTE: Final = 2
_DEFAULT_CLOCK_COLUMN: Final = CaptureObject(8, CLOCK, 2)
_OPEN_START: Final = _dt.datetime(2000, 1, 1)
_OPEN_END: Final = _dt.datetime(2099, 12, 31, 23, 59, 59)
_UNKNOWN_OBJECT_NOTE: Final = (
    ". Or the meter does not have this object: some meters (the Gurux C server) answer read-write-denied "
    "for an unknown object instead of object-undefined"
)
_COUNTER_BLOCK: Final = 16
"""Invocation counters reserved per write of the counter file: one file write per 16 ciphered APDUs; after a
crash at most 15 counters are skipped (never reused)."""
_IMAGE_ROUNDS: Final = 3
_IMAGE_POLL_SECONDS: Final = 0.5
_IMAGE_POLL_LIMIT: Final = 240


@dataclass(frozen=True, slots=True)
class Request:
    """Send ``apdu``; the shell sends back the session's completed event."""

    apdu: bytes
    context: str | Doing
    """What the request does, for messages; a :class:`Doing` is put into words only when one shows it."""
    progress: ProgressHook | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` before the next step."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Chunk:
    """A part of a profile, ready for the caller."""

    table: ProfileTable


Steps = Generator[Request | Pause, SessionEvent | None, _T]
"""An operation that returns a value."""
ChunkSteps = Generator[Request | Pause | Chunk, SessionEvent | None, None]
"""An operation that hands out profile chunks as they arrive."""


@dataclass(frozen=True, slots=True)
class Doing:
    """What a request does to a target, put into words only when a message shows it.

    ``str()`` gives ``reading value (attribute 2) of 1.0.1.8.0.255 Active energy+ (Register, class 3)``;
    naming the object (OBIS name, class name) costs more than the request itself, so it waits for an
    error or a trace that needs it.
    """

    verb: str
    target: Target

    def __str__(self) -> str:
        return f"{self.verb} {self.target}"


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A logical name and the class model it has in this meter; ``assumed`` when taken from the usual table."""

    logical_name: Obis
    model: InterfaceClass
    assumed: bool

    def attribute(self, key: int | str) -> tuple[Target, AttributeDef]:
        definition = self.model.attribute(key)
        if definition is None and isinstance(key, int) and key > 0:
            definition = generic_class(self.model.class_id).attribute(key)
        if definition is None:
            names = ", ".join(a.name for a in self.model.attributes)
            raise ArgumentError(f"{self.model} has no attribute {key!r}; it has: {names}")
        return Target(self.logical_name, self.model.class_id, definition.index, definition.name), definition

    def method(self, key: int | str) -> tuple[Target, MethodDef]:
        definition = self.model.method(key)
        if definition is None and isinstance(key, int) and key > 0:
            definition = generic_class(self.model.class_id).method(key)
        if definition is None:
            names = ", ".join(m.name for m in self.model.methods) or "none"
            raise ArgumentError(f"{self.model} has no method {key!r}; its methods: {names}")
        target = Target(self.logical_name, self.model.class_id, definition.index, definition.name, True)
        return target, definition


class _ClientCounters:
    """The client's invocation counter store as one association uses it: nothing below ``minimum`` (the
    meter's frame counter + 1, when read first), and the last counter handed out kept for error messages."""

    def __init__(self, store: InvocationCounterStore, minimum: int | None) -> None:
        self._store = store
        self._minimum = minimum
        self.last: int | None = None

    def next(self, system_title: bytes, key_id: str) -> int:
        if self._minimum is not None:
            self._store.advance(system_title, key_id, self._minimum)
        self.last = self._store.next(system_title, key_id)
        return self.last

    def advance(self, system_title: bytes, key_id: str, minimum: int) -> None:
        self._store.advance(system_title, key_id, minimum)


def _model(class_id: int, version: int | None) -> InterfaceClass:
    """The model of the class in ``version``; the latest described version when that one is not described."""
    found = get_class(class_id, version) if version is not None else None
    return found or get_class(class_id) or generic_class(class_id, version or 0, class_name(class_id))


def _secret(value: object) -> SecretBytes | None:
    return value if isinstance(value, SecretBytes) else None


def _enum(kind: type[ControlState] | type[ControlMode], value: int) -> Any:
    try:
        return kind(value)
    except ValueError:
        return value


def _as_datetime(value: Any) -> Any:
    """A clock column value as a datetime (None, or the raw value when it is not a point in time)."""
    if isinstance(value, bytes) and len(value) == CosemDateTime.SIZE:
        value = CosemDateTime.from_bytes(value)
    if isinstance(value, CosemDateTime) and value.is_calendar_time:
        try:
            return value.to_datetime()
        except ValueError:
            return value
    return value


def _one(event: SessionEvent | None, kind: type[_T], what: str | Doing) -> _T:
    if not isinstance(event, kind):
        raise ProtocolError(f"{what}: the meter answered with {type(event).__name__}")
    return event


class ClientCore:
    """The state and the logic of one client: settings, the current association and what was learnt in it."""

    def __init__(
        self,
        settings: MeterSettings,
        *,
        on_apdu: ApduHook | None = None,
        on_frame: TraceHook | None = None,
        counter_store: InvocationCounterStore | None = None,
    ) -> None:
        self.settings = settings
        self._on_apdu = on_apdu
        self._on_frame = on_frame
        self._session: ClientSession | None = None
        self._public = False
        self._signed_apdu_guard = SignedApduGuard()
        """The meter's signed APDUs, across this client's associations (a replay into a new one is refused)."""
        self.negotiated: Negotiated | None = None
        self._objects: dict[Obis, ObjectListEntry] | None = None
        self._columns: dict[Obis, tuple[ProfileColumn, ...]] = {}
        self._scaler_units: dict[Obis, axdr.Data] = {}
        """The scaler_unit values read in this association (they do not change): a profile's columns use
        them instead of asking again."""
        self._store: InvocationCounterStore | None = counter_store
        self._store_given = counter_store is not None
        """Where the client's invocation counters are kept: given, or the file of the settings."""
        self._counters: _ClientCounters | None = None
        self._counter_minimum: int | None = None
        self.deviations: list[Deviation] = []
        """The deviations accepted during the last operation (docs/tolerance.md)."""
        self._on_deviation: DeviationHook | None = None
        self._use_short_names = settings.referencing == "sn"
        self._short_names: ShortNameMap | None = None

    # -- association ---------------------------------------------------------------------------------

    def new_association(self, *, public: bool = False) -> tuple[Link, ClientSession]:
        """The link and the session for the next association (the public client's when ``public``)."""
        s = self.settings
        client = s.public_client_address if public else s.client_address
        link: Link
        if s.link == "wrapper":
            link = WrapperLink(client, s.server_logical, trace=self._on_frame)
        else:
            link = HdlcClientLink(
                client,
                HdlcAddress(s.server_logical, s.server_physical),
                s.hdlc_parameters,
                trace=self._on_frame,
            )
        referencing: Literal["ln", "sn"] = "sn" if self._use_short_names else "ln"
        if public:
            session_settings = ClientSettings(
                max_receive_pdu_size=s.max_pdu_size,
                strict=s.strict,
                invoke_id=s.fixed_invoke_id,
                referencing=referencing,
            )
        else:
            password = _secret(s.password)
            session_settings = ClientSettings(
                mechanism=s.mechanism,
                secret=password.reveal() if password is not None else None,
                security=self._security(),
                max_receive_pdu_size=s.max_pdu_size,
                strict=s.strict,
                invoke_id=s.fixed_invoke_id,
                referencing=referencing,
            )
        challenge = None
        if session_settings.mechanism > Mechanism.LOW:
            challenge = s.test_client_challenge or secrets.token_bytes(16)
        self._session = ClientSession(session_settings, challenge=challenge)
        self._session.on_deviation = self._accept_deviation
        self._public = public
        self.negotiated = None
        self._objects = None
        self._columns = {}
        self._scaler_units = {}
        self._short_names = None
        return link, self._session

    def fall_back_to_short_names(self, session: ClientSession) -> bool:
        """With ``referencing="auto"``: after a failed LN association whose AARE named a short-name
        context, True (associate again, with short names); else False."""
        if self.settings.referencing != "auto" or self._use_short_names or not session.meter_uses_short_names:
            return False
        log.warning(
            "%s: the meter uses short-name referencing (SN): associating again with short names",
            self.settings.where(),
        )
        self._use_short_names = True
        return True

    def short_name_retry_failed(self, error: DlmsError) -> AssociationError:
        """The error of the second association of ``referencing="auto"``, saying how it came about."""
        return AssociationError(
            "referencing auto: the meter rejected the logical-name (LN) association and named the "
            "short-name context (the meter uses short-name referencing, SN); the second association, with "
            f"short names, failed: {error}"
        )

    # -- short-name referencing: logical names through the Association SN object list ---------------------

    def _ensure_short_names(self) -> Steps[ShortNameMap | None]:
        """In a short-name association, the map of the meter's names (read once per association, or from
        ``short_name_cache``); None in a logical-name association."""
        session = self.session
        if not session.short_name:
            return None
        if self._short_names is None:
            names = self._cached_short_names()
            if names is None:
                descriptor = CosemAttributeDescriptor(12, ASSOCIATION, 2)
                context = "reading the Association SN object list"
                event = yield from self._request(session.get(descriptor), context)
                result = _one(event, GetCompleted, context).results[0]
                if result.error is not None:
                    raise ProtocolError(
                        f"{context}: the meter refused it ({DataAccessResult.lookup(int(result.error))})"
                    )
                names = ShortNameMap.from_object_list(result.value, method_offsets=DLMSKIT_METHOD_OFFSETS)
                self._store_short_names(names)
            self._short_names = names
        session.short_names = self._short_names
        return self._short_names

    def _cached_short_names(self) -> ShortNameMap | None:
        path = self.settings.short_name_cache
        if path is None or not Path(path).exists():
            return None
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            entries = [ShortNameEntry(int(b), int(c), int(v), obis(str(n))) for b, c, v, n in raw["objects"]]
        except (OSError, ValueError, KeyError, TypeError, DlmsError) as exc:
            log.warning("ignoring the short-name cache %s: %s", path, exc)
            return None
        return ShortNameMap(entries, method_offsets=DLMSKIT_METHOD_OFFSETS)

    def _store_short_names(self, names: ShortNameMap) -> None:
        path = self.settings.short_name_cache
        if path is None:
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        objects = [[e.base_name, e.class_id, e.version, str(e.logical_name)] for e in names]
        target.write_text(json.dumps({"objects": objects}, indent=1) + "\n", encoding="utf-8")

    def _security(self) -> SecuritySettings:
        s = self.settings
        title = parse_system_title(s.system_title)
        if (
            not s.ciphered
            and s.mechanism != Mechanism.HIGH_ECDSA
            and not s.sign_apdus
            and not s.security_policy_bits
        ):
            return SecuritySettings(system_title=title)
        if self._store is None:
            path = s.counter_store_path
            path.parent.mkdir(parents=True, exist_ok=True)
            # The default file continues from the one the client shared with the simulator before.
            inherit = legacy_counter_store_path() if path == default_counter_store_path() else None
            self._store = FileInvocationCounterStore(path, block=_COUNTER_BLOCK, inherit=inherit)
        counters = self._counters = _ClientCounters(self._store, self._counter_minimum)
        dedicated = SecretBytes(secrets.token_bytes(16), label="dedicated key") if s.dedicated_key else None
        return SecuritySettings(
            policy=s.policy,
            system_title=title,
            block_cipher_key=_secret(s.block_cipher_key),
            authentication_key=_secret(s.authentication_key),
            dedicated_key=dedicated,
            kind="ded" if dedicated is not None else "glo",
            invocation_counters=counters,
            suite=s.security_suite,
            signing_key=s.signing_key if isinstance(s.signing_key, ec.EllipticCurvePrivateKey) else None,
            peer_signing_key=s.meter_public_key,
            expected_peer_system_title=s.meter_system_title,
            signed_apdu_guard=self._signed_apdu_guard,
            key_agreement=KEY_AGREEMENTS[s.key_agreement] if s.key_agreement else None,
            sign_apdus=s.sign_apdus,
            policy_bits=None
            if s.security_policy_bits is None
            else SecurityPolicyBits(s.security_policy_bits),
            sign_before_ciphering=s.sign_before_ciphering,
        )

    def _accept_deviation(self, deviation: Deviation) -> None:
        """A deviation the session accepted: kept for ``client.deviations``, logged and warned about."""
        self.deviations.append(deviation)
        emit(deviation)
        if self._on_deviation is not None:
            self._on_deviation(deviation)

    def begin(self) -> None:
        """A new operation starts: forget the deviations of the last one."""
        self.deviations = []

    def associated(self, negotiated: Negotiated | None) -> None:
        """Record what the association agreed on."""
        self.negotiated = negotiated

    def released(self) -> None:
        """Forget the association."""
        self._session = None
        self.negotiated = None

    def explain(self, error: DlmsError) -> DlmsError:
        """The error of a failed association, with the likely cause when the meter gave none."""
        s = self.settings
        where = f" ({s.where()})"
        if isinstance(error, AssociationRejected) and "Hint:" not in str(error):
            if "incompatible-conformance" in str(error):
                hint = (
                    "the meter's association for this client has none of the services proposed in common"
                    + (
                        " (read, write: short-name services); a meter whose associations list only "
                        "logical-name services (get, set, action) refuses every short-name association, as the "
                        "Gurux C example server's SN ports do"
                        if s.referencing != "ln"
                        else ""
                    )
                )
            elif self._public:
                hint = f"check the public client address ({s.public_client_address}) and the server address"
            elif s.ciphered and "deciphering-error" in str(error):
                hint = (
                    f"the meter did not accept the AARQ's ciphering, most often because {self._sent_counter()} "
                    "is not above the last counter it accepted from this system title and key (another tool, "
                    f"or another counter file, used them). {self._counter_remedy()}. Else check the keys"
                )
            elif s.ciphered:
                hint = (
                    "a meter that cannot decipher the AARQ rejects it without a reason: check the block cipher "
                    "key and the authentication key (32 hex digits each, not their ASCII text), the client "
                    "address and the security policy; with the right keys, the meter has seen a higher "
                    f"invocation counter than {self._sent_counter()} from this system title. "
                    f"{self._counter_remedy()}"
                )
            else:
                hint = "check the client address, the authentication level and the password"
            return AssociationRejected(
                f"{error}{where}. Hint: {hint}",
                result=error.result,
                diagnostic=error.diagnostic,
                provider=error.provider,
            )
        if (
            isinstance(error, LinkError)
            and "refused the connection (DM)" in str(error)
            and "Hint:" not in str(error)
        ):
            client = s.public_client_address if self._public else s.client_address
            return LinkError(
                f"{error}{where}. Hint: an HDLC meter answers DM to a client or server address it does not "
                f"serve: check the client address ({client}; usual ones are 16 public, 1 management, 32 reader) "
                f"and the server address (logical {s.server_logical}, usually 1; physical {s.server_physical}, "
                "often 17 or derived from the serial number; a single server address from Gurux tools such as "
                "145 is logical 1 and physical 17 combined)"
            )
        if (
            isinstance(error, ExceptionResponseReceived)
            and error.service_error == ServiceError.INVOCATION_COUNTER_ERROR
            and s.ciphered
        ):
            expected = error.response.invocation_counter
            text = str(error).partition(". Hint:")[0]
            if expected is not None and self._store is not None and not self._public:
                # The meter says which counter it expects: continue from there next time.
                key = _secret(s.block_cipher_key)
                if key is not None and not s.dedicated_key:
                    self._store.advance(
                        parse_system_title(s.system_title), counter_key_id(key.reveal()), expected
                    )
                    text += f"; the stored counter is raised to {expected}, so the next association continues above it"
            return ExceptionResponseReceived(
                error.response,
                "",
                text=f"{text}{where}. Hint: {self._sent_counter()} is not above the last counter the meter "
                f"accepted from this system title and key. {self._counter_remedy()}",
            )
        if isinstance(error, TagVerificationError):
            return TagVerificationError(
                f"{error}{where}. Hint: the meter's answer does not verify with these keys: check the block "
                "cipher key and the authentication key, and that they belong to this client address"
            )
        return error

    def _sent_counter(self) -> str:
        last = self._counters.last if self._counters is not None else None
        return "our invocation counter" if last is None else f"our invocation counter {last}"

    def _counter_remedy(self) -> str:
        s = self.settings
        try:
            where = str(s.frame_counter_logical_name)
        except ConfigurationError:
            where = "give its OBIS with --frame-counter-obis"
        if self._store_given:
            stored = (
                f"raise the stored counter in the counter store this client was given "
                f"({type(self._store).__name__}, e.g. a head-end's database)"
            )
        else:
            stored = (
                f"raise the stored counter (dlmskit counter set VALUE; the counters are in "
                f"{s.counter_store_path})"
            )
        return (
            f"Read the meter's frame counter first (--read-frame-counter, object {where}; "
            f"read_frame_counter_first=True) or {stored}"
        )

    def start_above(self, frame_counter: int) -> None:
        """Use invocation counters above the meter's ``frame_counter`` from now on."""
        self._counter_minimum = frame_counter + 1

    @property
    def counter_store_path(self) -> Path:
        """Where the invocation counters are kept."""
        return self.settings.counter_store_path

    def trace_apdu(self, direction: str, apdu: bytes) -> None:
        """The ``on_apdu`` hook of the connection: passes APDUs on, with an LLS password blotted out."""
        if self._on_apdu is None:
            return
        if (
            direction == "tx"
            and apdu[:1] == bytes((acse.AARQ.TAG,))
            and self.settings.mechanism == Mechanism.LOW
        ):
            aarq = acse.AARQ.decode(apdu)
            hidden = b"*" * len(aarq.calling_authentication_value or b"")
            apdu = dataclasses.replace(aarq, calling_authentication_value=hidden).encode()
        self._on_apdu(direction, apdu)

    @property
    def session(self) -> ClientSession:
        """The session of the current association."""
        if self._session is None:
            raise ProtocolError("not connected: open the client first (with ... as meter: / await open())")
        return self._session

    # -- the three services ----------------------------------------------------------------------------

    def _request(
        self, apdu: bytes, context: str | Doing, progress: ProgressHook | None = None
    ) -> Steps[SessionEvent]:
        event = yield Request(apdu, context, progress)
        if event is None:
            raise ProtocolError(f"{context}: no answer")
        return event

    def _resolve(self, logical_name: ObisLike, class_id: int | None) -> Steps[_Resolved]:
        name = obis(logical_name)
        known = self._objects.get(name) if self._objects is not None else None
        if class_id is not None:
            version = known.version if known is not None and known.class_id == class_id else None
            return _Resolved(name, _model(class_id, version), False)
        if known is not None:
            return _Resolved(name, _model(known.class_id, known.version), False)
        usual = usual_class_id(name)
        if usual is not None:
            return _Resolved(name, _model(usual, None), True)
        entry = (yield from self._object_list()).get(name)
        if entry is None:
            raise ArgumentError(
                f"{name} is not in this association's object list and has no usual class: "
                "pass class_id=... if the meter has it anyway"
            )
        return _Resolved(name, _model(entry.class_id, entry.version), False)

    def _hint(self, service: Service, target: Target, resolved: _Resolved, code: int) -> str:
        """The likely cause of a refusal, where this client knows better than the result code's own hint."""
        s = self.settings
        weak = self._public or s.mechanism in (Mechanism.NONE, Mechanism.LOW)
        who = f"client {s.public_client_address if self._public else s.client_address}"
        if code in (DataAccessResult.READ_WRITE_DENIED, DataAccessResult.SCOPE_OF_ACCESS_VIOLATED) and weak:
            level = "no authentication" if self._public or s.mechanism == Mechanism.NONE else "LLS"
            if service == "call":
                return (
                    f"this association ({who}, {level}) has no method access; "
                    "HLS-GMAC management associations usually do"
                )
            hint = (
                f"this association ({who}, {level}) may not {service} this attribute; a management association "
                "(HLS-GMAC) usually may; client.objects() lists this association's access rights"
            )
            if service == "read":
                hint += f"{_UNKNOWN_OBJECT_NOTE}"
            return hint
        if code in (DataAccessResult.READ_WRITE_DENIED, DataAccessResult.SCOPE_OF_ACCESS_VIOLATED):
            # A strong association (HLS) was refused: advising HLS would be wrong.
            level = "HLS-GMAC" if s.mechanism == Mechanism.HIGH_GMAC else f"HLS ({s.authentication})"
            what = "this method" if service == "call" else "this attribute"
            nobody = {"read": "", "write": " (a read-only attribute)", "call": ""}[service]
            hint = (
                f"this association ({who}, {level}) may not {service} {what}: the right may belong to another "
                f"client address, or to no client at all{nobody}; client.objects() lists this association's "
                "access rights"
            )
            if service == "read":
                hint += _UNKNOWN_OBJECT_NOTE
            return hint
        if code == ActionResult.TEMPORARY_FAILURE and target.is_method and target.class_id == 70:
            return (
                "a meter in its tamper state keeps the relay open until the tamper token is entered "
                "(token_enter); otherwise the breaker is still moving: retry after a few seconds"
            )
        if code == DataAccessResult.OBJECT_UNDEFINED and resolved.assumed:
            return (
                f"the class id {target.class_id} was assumed from the OBIS code; if the meter implements "
                "this object with another class, pass class_id=... (client.objects() lists what the meter has)"
            )
        if code == DataAccessResult.TYPE_UNMATCHED:
            spec = None
            if target.is_method:
                method = resolved.model.method(target.index)
                spec = method.parameter if method is not None else None
            else:
                attribute = resolved.model.attribute(target.index)
                spec = attribute.type if attribute is not None else None
            if spec is not None:
                return f"the meter expects {type_name(spec)} for {target.name}"
        return ""

    def _refused(self, service: Service, target: Target, resolved: _Resolved, code: int) -> MeterRefused:
        return refusal(service, target, code, self._hint(service, target, resolved, code))

    def _get(
        self,
        resolved: _Resolved,
        target: Target,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> Steps[axdr.Data]:
        descriptor = CosemAttributeDescriptor(target.class_id, target.logical_name, target.index)
        yield from self._ensure_short_names()
        doing = Doing("reading", target)
        event = yield from self._request(self.session.get(descriptor, access), doing, progress)
        result = _one(event, GetCompleted, doing).results[0]
        if result.error is not None:
            raise self._refused("read", target, resolved, int(result.error))
        self._remember(target, result.value)
        return result.value

    def _remember(self, target: Target, value: axdr.Data) -> None:
        if _SCALER_ATTRIBUTE.get(target.class_id) == target.index:
            self._scaler_units[target.logical_name] = value

    def read(
        self,
        logical_name: ObisLike,
        attribute: int | str = _VALUE_ATTRIBUTE,
        *,
        class_id: int | None = None,
        access: SelectiveAccessDescriptor | None = None,
        progress: ProgressHook | None = None,
    ) -> Steps[axdr.Data]:
        """GET one attribute and return its value (typed A-XDR)."""
        resolved = yield from self._resolve(logical_name, class_id)
        target, _ = resolved.attribute(attribute)
        return (yield from self._get(resolved, target, access, progress))

    def read_many(self, items: Sequence[AttributeReference]) -> Steps[list[axdr.Data]]:
        """GET several attributes: in one GET with-list when the meter agreed to multiple-references."""
        targets: list[tuple[_Resolved, Target]] = []
        for item in items:
            class_id = item[2] if len(item) == 3 else None
            resolved = yield from self._resolve(item[0], class_id)
            targets.append((resolved, resolved.attribute(item[1])[0]))
        negotiated = self.negotiated
        with_list = negotiated is not None and bool(negotiated.conformance & Conformance.MULTIPLE_REFERENCES)
        if not with_list or len(targets) < 2:
            values = []
            for resolved, target in targets:
                values.append((yield from self._get(resolved, target)))
            return values
        descriptors = [
            CosemAttributeDescriptorWithSelection(
                CosemAttributeDescriptor(t.class_id, t.logical_name, t.index)
            )
            for _, t in targets
        ]
        context = f"reading {len(targets)} attributes"
        yield from self._ensure_short_names()
        event = yield from self._request(self.session.get_with_list(descriptors), context)
        results: Sequence[GetDataResult] = _one(event, GetCompleted, context).results
        if len(results) != len(targets):
            raise ProtocolError(
                f"{context}: the meter answered {len(results)} results for {len(targets)} attributes"
            )
        for (resolved, target), result in zip(targets, results, strict=True):
            if result.error is not None:
                raise self._refused("read", target, resolved, int(result.error))
            self._remember(target, result.value)
        return [result.value for result in results]

    def write(
        self, logical_name: ObisLike, attribute: int | str, value: Any, *, class_id: int | None = None
    ) -> Steps[None]:
        """SET one attribute, the value converted to the type the interface-class model names."""
        resolved = yield from self._resolve(logical_name, class_id)
        target, definition = resolved.attribute(attribute)
        try:
            data = encode_attribute_value(resolved.model, definition, value)
        except EncodeError as exc:
            raise EncodeError(f"not written to {target}: {exc}") from None
        descriptor = CosemAttributeDescriptor(target.class_id, target.logical_name, target.index)
        yield from self._ensure_short_names()
        doing = Doing("writing", target)
        event = yield from self._request(self.session.set(descriptor, data), doing)
        code = int(_one(event, SetCompleted, doing).results[0])
        if code != DataAccessResult.SUCCESS:
            raise self._refused("write", target, resolved, code)

    def call(
        self, logical_name: ObisLike, method: int | str, value: Any = None, *, class_id: int | None = None
    ) -> Steps[axdr.Data]:
        """ACTION: invoke one method; returns the data the meter sends back (None when there is none)."""
        resolved = yield from self._resolve(logical_name, class_id)
        target, definition = resolved.method(method)
        try:
            parameter = encode_method_parameter(resolved.model, definition, value)
        except EncodeError as exc:
            raise EncodeError(f"not sent to {target}: {exc}") from None
        descriptor = CosemMethodDescriptor(target.class_id, target.logical_name, target.index)
        yield from self._ensure_short_names()
        apdu = self.session.action(descriptor, ABSENT if definition.parameter is None else parameter)
        doing = Doing("calling", target)
        event = yield from self._request(apdu, doing)
        response = _one(event, ActionCompleted, doing).results[0]
        if int(response.result) != ActionResult.SUCCESS:
            raise self._refused("call", target, resolved, int(response.result))
        returned = response.return_parameters
        if returned is None:
            return None
        if returned.error is not None:
            raise self._refused("call", target, resolved, int(returned.error))
        return returned.value

    # -- the association's objects --------------------------------------------------------------------

    def _object_list(self) -> Steps[dict[Obis, ObjectListEntry]]:
        if self._objects is None and self.session.short_name:
            names = yield from self._ensure_short_names()
            assert names is not None
            self._objects = {
                e.logical_name: ObjectListEntry(e.class_id, e.version, e.logical_name) for e in names
            }
        if self._objects is None:
            value = yield from self.read(ASSOCIATION, 2, class_id=15)
            entries = decode_object_list(value)
            own = next((e for e in entries if e.class_id == 15 and e.logical_name == ASSOCIATION), None)
            if own is not None and own.version != 1:
                entries = decode_object_list(value, association_version=own.version)
            self._objects = {entry.logical_name: entry for entry in entries}
        return self._objects

    def objects(self) -> Steps[list[ObjectListEntry]]:
        """The association's object list (read once per association)."""
        return list((yield from self._object_list()).values())

    def frame_counter(self, logical_name: ObisLike | None = None) -> Steps[int]:
        """The meter's frame counter object (``settings.frame_counter_obis`` unless given)."""
        name = obis(logical_name) if logical_name is not None else self.settings.frame_counter_logical_name
        value = yield from self.read(name, 2, class_id=1)
        if isinstance(value, bool) or not isinstance(value, int):
            raise DecodeError(f"the frame counter {name} is not a number", expected="an integer")
        return int(value)

    # -- disconnect control ----------------------------------------------------------------------------

    def relay_state(self, logical_name: ObisLike = DISCONNECT_CONTROL) -> Steps[RelayState]:
        """output_state, control_state and control_mode of a Disconnect control object."""
        output, state, mode = yield from self.read_many(
            [(logical_name, 2, 70), (logical_name, 3, 70), (logical_name, 4, 70)]
        )
        return RelayState(
            bool(output),
            _enum(ControlState, _integer(state, "control_state")),
            _enum(ControlMode, _integer(mode, "control_mode")),
        )

    def switch(self, method: str, logical_name: ObisLike = DISCONNECT_CONTROL) -> Steps[RelayState]:
        """remote_disconnect or remote_reconnect (data integer(0)), then the relay state."""
        yield from self.call(logical_name, method, class_id=70)
        return (yield from self.relay_state(logical_name))

    # -- token gateway -----------------------------------------------------------------------------------

    def token_enter(
        self, token: str | bytes, form: str = "ascii", logical_name: ObisLike = TOKEN_GATEWAY
    ) -> Steps[TokenResult]:
        """Enter a token (method 1), then read token_status (attribute 6) and say what happened."""
        if isinstance(token, str) and not isinstance(token, (axdr.VisibleString, axdr.Utf8String)):
            if form not in ("ascii", "bcd"):
                raise ArgumentError(f"token format is 'ascii' or 'bcd', not {form!r}")
            parameter: Any = axdr.OctetString(token_to_octets(token, "bcd" if form == "bcd" else "ascii"))
        else:
            parameter = token
        try:
            yield from self.call(logical_name, 1, parameter, class_id=115)
        except TypeUnmatched as exc:
            other = (
                "10 packed BCD bytes: format='bcd'" if form == "ascii" else "20 ASCII digits: format='ascii'"
            )
            hint = f"the meter expects an octet-string (20 ASCII digits); some meters take {other}"
            raise TypeUnmatched(exc.service, exc.target, exc.result, hint) from None
        return (yield from self.token_status(logical_name))

    def token_status(self, logical_name: ObisLike = TOKEN_GATEWAY) -> Steps[TokenResult]:
        """The Token gateway's token_status in words."""
        value = yield from self.read(logical_name, 6, class_id=115)
        return TokenResult.from_status(TokenStatus.decode(value))

    # -- clock -----------------------------------------------------------------------------------------

    def clock(self, logical_name: ObisLike = CLOCK) -> Steps[_dt.datetime]:
        """The meter's time (timezone-aware when the meter states its deviation)."""
        value = _as_datetime((yield from self.read(logical_name, 2, class_id=8)))
        if not isinstance(value, _dt.datetime):
            raise ProtocolError(f"the meter's clock holds no valid time: {value}")
        return value

    def clock_reading(self, logical_name: ObisLike = CLOCK) -> Steps[ClockReading]:
        """The meter's time with its deviation from UTC, daylight saving and status bits."""
        value = yield from self.read(logical_name, 2, class_id=8)
        stamp = CosemDateTime.from_bytes(value) if isinstance(value, bytes) and len(value) == 12 else value
        if not isinstance(stamp, CosemDateTime) or not stamp.is_calendar_time:
            raise ProtocolError(f"the meter's clock holds no valid time: {value!r}")
        try:
            return ClockReading.from_cosem(stamp)
        except ValueError:
            raise ProtocolError(f"the meter's clock holds no valid time: {stamp}") from None

    def set_clock(
        self, when: _dt.datetime, logical_name: ObisLike = CLOCK, *, assume: _dt.tzinfo | None = None
    ) -> Steps[None]:
        """Write the clock's time (aware, or naive with ``assume`` naming its zone)."""
        yield from self.write(logical_name, 2, aware(when, "set_clock", assume), class_id=8)

    def shift_clock(self, seconds: int, logical_name: ObisLike = CLOCK) -> Steps[None]:
        """Shift the clock by -900..900 seconds (method 6, shift_time)."""
        if not -900 <= seconds <= 900:
            raise ArgumentError(f"shift_time moves the clock by -900..900 seconds, not {seconds}")
        yield from self.call(logical_name, 6, seconds, class_id=8)

    # -- registers ---------------------------------------------------------------------------------------

    def register(self, logical_name: ObisLike, *, class_id: int | None = None) -> Steps[Quantity]:
        """A register's value with its scaler applied and its unit: ``1234.56 Wh``."""
        resolved = yield from self._resolve(logical_name, class_id)
        scaler_attribute = _SCALER_ATTRIBUTE.get(resolved.model.class_id)
        if scaler_attribute is None:
            raise ArgumentError(
                f"{describe_object(resolved.logical_name, resolved.model.class_id)} is not a register "
                "(class 3, 4 or 5): read(...) its value instead"
            )
        klass = resolved.model.class_id
        raw, scaler_unit = yield from self.read_many(
            [
                (resolved.logical_name, _VALUE_ATTRIBUTE, klass),
                (resolved.logical_name, scaler_attribute, klass),
            ]
        )
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise DecodeError(
                f"the value of {resolved.logical_name} is not a number",
                expected="a number",
                found=type(raw).__name__,
            )
        return ScalerUnit.decode(scaler_unit).quantity(raw)

    # -- profiles ----------------------------------------------------------------------------------------

    def _profile_columns(self, logical_name: Obis) -> Steps[tuple[ProfileColumn, ...]]:
        if logical_name not in self._columns:
            value = yield from self.read(logical_name, 3, class_id=7)
            captured = decode_capture_objects(value)
            scalers = yield from self._scalers(captured)
            self._columns[logical_name] = tuple(
                ProfileColumn.from_capture_object(c, *scalers.get(c.logical_name, (None, None)))
                for c in captured
            )
        return self._columns[logical_name]

    def _scalers(self, captured: Sequence[CaptureObject]) -> Steps[dict[Obis, tuple[int, Unit | int]]]:
        """The scaler_unit of every captured register value (class 3, 4, 5 attribute 2): in one GET
        with-list where the meter allows, else one by one; a scaler the association may not read is left out."""
        wanted = {
            c.logical_name: (c.logical_name, _SCALER_ATTRIBUTE[c.class_id], c.class_id)
            for c in captured
            if c.class_id in _SCALER_ATTRIBUTE and c.attribute_index == _VALUE_ATTRIBUTE
        }
        found: dict[Obis, tuple[int, Unit | int]] = {}
        known = {name: self._scaler_units[name] for name in wanted if name in self._scaler_units}
        missing = [name for name in wanted if name not in known]
        references: list[AttributeReference] = [wanted[name] for name in missing]
        values: list[axdr.Data | None] = []
        if references:
            try:
                values.extend((yield from self.read_many(references)))
            except (MeterRefused, DecodeError):
                values = []
                for name in missing:
                    _, attribute, klass = wanted[name]
                    try:
                        values.append((yield from self.read(name, attribute, class_id=klass)))
                    except (MeterRefused, DecodeError):
                        values.append(None)
        read = dict(zip(missing, values, strict=True))
        for name in wanted:
            value = known[name] if name in known else read[name]
            try:
                scaler_unit = ScalerUnit.decode(value)
            except DecodeError:
                continue
            found[name] = (scaler_unit.scaler, scaler_unit.unit)
        return found

    def profile_chunks(
        self,
        logical_name: ObisLike,
        *,
        start: _dt.datetime | None = None,
        end: _dt.datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
        columns: Sequence[int | str] | None = None,
        chunk_size: int | None = None,
        progress: ProfileProgress | None = None,
        last: int | None = None,
        since: _dt.datetime | None = None,
        assume: _dt.tzinfo | None = None,
    ) -> ChunkSteps:
        """Read a profile by time range, by entries or whole, in one request or in chunks of ``chunk_size``
        entries (time ranges are cut into windows of ``chunk_size`` capture periods).

        ``last=N``: the N most recent entries; ``since=t``: the entries captured at ``t`` or later
        (``start=t`` without an end). Times must be timezone-aware, or ``assume`` names their zone."""
        name = obis(logical_name)
        if since is not None:
            if start is not None:
                raise ArgumentError("give since=... or start=..., not both (since is start without an end)")
            start = since
        start = aware(start, "start", assume) if start is not None else None
        end = aware(end, "end", assume) if end is not None else None
        by_time = start is not None or end is not None
        by_entry = from_entry is not None or to_entry is not None
        if last is not None and (by_time or by_entry):
            raise ArgumentError(
                "last=N reads the N most recent entries: give no start/end/since/from_entry/to_entry"
            )
        if by_time and by_entry:
            raise ArgumentError(
                "read a profile by time (start/end) or by entry (from_entry/to_entry), not both"
            )
        for what, number in (("from_entry", from_entry), ("to_entry", to_entry)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
                raise ArgumentError(
                    f"{what} counts entries from 1 (the oldest), not {number!r}; "
                    "for the most recent entries use last=N"
                )
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
            raise ArgumentError(
                f"last=N reads the N most recent entries: N is a whole number >= 1, not {last!r}"
            )
        if chunk_size is not None and chunk_size < 1:
            raise ArgumentError("chunk_size must be at least 1 entry")
        if last is not None:
            in_use = _integer((yield from self.read(name, 7, class_id=7)), "entries_in_use")
            if in_use == 0:
                yield Chunk(ProfileTable((yield from self._profile_columns(name))))
                return
            from_entry, to_entry = max(1, in_use - last + 1), in_use
        all_columns = yield from self._profile_columns(name)
        selected = _select_columns(all_columns, columns)
        picked = tuple(all_columns[i] for i in selected)
        negotiated = self.negotiated
        # Selective access is parameterized-access in a short-name association.
        selective = (
            Conformance.PARAMETERIZED_ACCESS
            if self._session is not None and self._session.short_name
            else Conformance.SELECTIVE_ACCESS
        )
        if (
            (by_time or from_entry is not None or to_entry is not None)
            and negotiated is not None
            and not negotiated.conformance & selective
        ):
            # The association has no selective access (the Gurux C server's client 16, 00 00 18):
            # read the whole buffer and keep the selection here.
            buffer = yield from self.read(name, 2, class_id=7)
            every = list(range(len(all_columns)))
            whole = _rows(buffer, all_columns, every, 0)
            if by_time:
                stamp = next((i for i, c in enumerate(all_columns) if c.is_timestamp), None)
                if stamp is None:
                    raise ProtocolError(
                        "the meter did not agree to selective-access in this association, and the "
                        "profile has no clock column to pick the time range from the whole buffer"
                    )
                whole = [r for r in whole if _in_window(r[stamp], start, end)]
            else:
                whole = whole[(from_entry or 1) - 1 : to_entry]
            rows = [tuple(r[i] for i in selected) for r in whole]
            yield Chunk(ProfileTable(picked, rows))
            if progress is not None:
                progress(len(rows), len(rows))
            return
        if by_time:
            plan = yield from self._time_plan(name, all_columns, selected, start, end, chunk_size)
        else:
            every_column = len(selected) == len(all_columns)
            plan = yield from self._entry_plan(name, selected, every_column, from_entry, to_entry, chunk_size)
        accesses, expected = plan
        done = 0
        for access, first_column in accesses:
            buffer = yield from self.read(name, 2, class_id=7, access=access)
            rows = _rows(buffer, all_columns, selected, first_column)
            done += len(rows)
            yield Chunk(ProfileTable(picked, rows))
            if progress is not None:
                progress(done, expected)

    def _entry_plan(
        self,
        name: Obis,
        selected: list[int],
        every_column: bool,
        from_entry: int | None,
        to_entry: int | None,
        chunk_size: int | None,
    ) -> Steps[tuple[Iterator[tuple[SelectiveAccessDescriptor | None, int]], int | None]]:
        first_column, last_column = min(selected), max(selected)
        if chunk_size is None:
            if every_column and from_entry is None and to_entry is None:
                return iter([(None, 0)]), None
            access = SelectiveAccessDescriptor.entry_descriptor(
                from_entry or 1, to_entry or 0, first_column + 1, last_column + 1
            )
            return iter([(access, first_column)]), None
        start = from_entry or 1
        stop = to_entry
        if stop is None:
            stop = _integer((yield from self.read(name, 7, class_id=7)), "entries_in_use")
        total = max(stop - start + 1, 0)

        def accesses() -> Iterator[tuple[SelectiveAccessDescriptor | None, int]]:
            for first in range(start, stop + 1, chunk_size):
                last = min(first + chunk_size - 1, stop)
                yield (
                    SelectiveAccessDescriptor.entry_descriptor(
                        first, last, first_column + 1, last_column + 1
                    ),
                    first_column,
                )

        return accesses(), total

    def _time_plan(
        self,
        name: Obis,
        all_columns: tuple[ProfileColumn, ...],
        selected: list[int],
        start: _dt.datetime | None,
        end: _dt.datetime | None,
        chunk_size: int | None,
    ) -> Steps[tuple[Iterator[tuple[SelectiveAccessDescriptor | None, int]], int | None]]:
        clock = next((c.capture_object for c in all_columns if c.is_timestamp), _DEFAULT_CLOCK_COLUMN)
        chosen = (
            [] if len(selected) == len(all_columns) else [all_columns[i].capture_object for i in selected]
        )
        low = start or _OPEN_START.replace(tzinfo=end.tzinfo if end else None)
        high = end or _OPEN_END.replace(tzinfo=low.tzinfo)
        windows = [(low, high)]
        if chunk_size is not None and start is not None and end is not None:
            period = yield from self.read(name, 4, class_id=7)
            if isinstance(period, int) and period > 0:
                step = _dt.timedelta(seconds=int(period) * chunk_size)
                windows = []
                while low <= high:
                    windows.append((low, min(low + step - _dt.timedelta(seconds=1), high)))
                    low += step

        def accesses() -> Iterator[tuple[SelectiveAccessDescriptor | None, int]]:
            for first, last in windows:
                access = SelectiveAccessDescriptor.range_descriptor(
                    (clock.class_id, clock.logical_name, clock.attribute_index, clock.data_index),
                    axdr.OctetString(CosemDateTime.from_datetime(first).to_bytes()),
                    axdr.OctetString(CosemDateTime.from_datetime(last).to_bytes()),
                    [(c.class_id, c.logical_name, c.attribute_index, c.data_index) for c in chosen],
                )
                yield access, -1

        return accesses(), None

    def profile(self, logical_name: ObisLike, **options: Any) -> Steps[ProfileTable]:
        """The whole selection in one table (see :meth:`profile_chunks` for the options)."""
        chunks = self.profile_chunks(logical_name, **options)
        columns: tuple[ProfileColumn, ...] = ()
        rows: list[tuple[Any, ...]] = []
        answer: SessionEvent | None = None
        while True:
            try:
                step = chunks.send(answer)
            except StopIteration:
                return ProfileTable(columns, rows)
            answer = None
            if isinstance(step, Chunk):
                columns = step.table.columns
                rows.extend(step.table.rows)
            else:
                answer = yield step

    # -- image transfer ----------------------------------------------------------------------------------

    def image_transfer(
        self,
        image: bytes,
        identifier: bytes | str,
        logical_name: ObisLike = IMAGE_TRANSFER,
        progress: ImageProgress | None = None,
    ) -> Steps[ImageTransferReport]:
        """Transfer, verify and activate a firmware image (Image transfer, class 18)."""
        name = obis(logical_name)
        ident = identifier.encode("ascii") if isinstance(identifier, str) else bytes(identifier)
        enabled, block_size = yield from self.read_many([(name, 5, 18), (name, 2, 18)])
        if enabled is False:
            raise ProtocolError(
                f"image transfer is disabled in this meter ({name} image_transfer_enabled = false)"
            )
        size = _integer(block_size, "image_block_size")
        if size < 1:
            raise ProtocolError(f"the meter's image_block_size is {size}")
        blocks = [image[i : i + size] for i in range(0, len(image), size)] or [b""]
        yield from self.call(name, 1, {"image_identifier": ident, "image_size": len(image)}, class_id=18)
        for number, block in enumerate(blocks):
            yield from self.call(name, 2, (number, block), class_id=18)
            if progress is not None:
                progress(number + 1, len(blocks))
        resent = 0
        for _ in range(_IMAGE_ROUNDS):
            missing = yield from self._missing_blocks(name, len(blocks))
            if not missing:
                break
            for number in missing:
                yield from self.call(name, 2, (number, blocks[number]), class_id=18)
                resent += 1
        else:
            still = yield from self._missing_blocks(name, len(blocks))
            if still:
                raise ProtocolError(
                    f"the meter still misses block {still[0]} after {_IMAGE_ROUNDS} rounds of resending"
                )
        yield from self._image_step(name, 3, ImageTransferStatus.IMAGE_VERIFICATION_SUCCESSFUL)
        info = yield from self.read(name, 7, class_id=18)
        if not any(_image_is(entry, len(image), ident) for entry in (info if isinstance(info, list) else [])):
            raise ProtocolError(
                "the verified image is not the one sent (image_to_activate_info: size or identifier differ)"
            )
        status = yield from self._image_step(name, 4, ImageTransferStatus.IMAGE_ACTIVATION_SUCCESSFUL)
        return ImageTransferReport(len(image), size, len(blocks), resent, status)

    def _missing_blocks(self, name: Obis, count: int) -> Steps[list[int]]:
        first = _integer(
            (yield from self.read(name, 4, class_id=18)), "image_first_not_transferred_block_number"
        )
        if first >= count:
            return []
        bits = str((yield from self.read(name, 3, class_id=18)) or "")
        return [n for n in range(first, count) if n >= len(bits) or bits[n] != "1"]

    def _image_step(
        self, name: Obis, method: int, success: ImageTransferStatus
    ) -> Steps[ImageTransferStatus | int]:
        """Call image_verify or image_activate; while the meter says temporary-failure, poll the status."""
        try:
            yield from self.call(name, method, class_id=18)
        except MeterRefused as exc:
            if int(exc.result) != ActionResult.TEMPORARY_FAILURE:
                raise
        for _ in range(_IMAGE_POLL_LIMIT):
            status = _integer((yield from self.read(name, 6, class_id=18)), "image_transfer_status")
            if status == success:
                return success
            if status in (
                ImageTransferStatus.IMAGE_VERIFICATION_FAILED,
                ImageTransferStatus.IMAGE_ACTIVATION_FAILED,
            ):
                raise ProtocolError(
                    f"image transfer: the meter reports {ImageTransferStatus(status).name.lower()}"
                )
            yield Pause(_IMAGE_POLL_SECONDS)
        raise ProtocolError(f"image transfer: {success.name.lower()} did not come within the polling time")

    # -- keys ---------------------------------------------------------------------------------------------

    def change_keys(
        self,
        master_key: SecretBytes | str | bytes,
        *,
        block_cipher_key: SecretBytes | str | bytes | None = None,
        authentication_key: SecretBytes | str | bytes | None = None,
        broadcast_key: SecretBytes | str | bytes | None = None,
        new_master_key: SecretBytes | str | bytes | None = None,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> Steps[MeterSettings]:
        """Replace global keys with Security setup global_key_transfer (each key wrapped with the master key)."""
        kek = _parsed(master_key, "master key")
        assert kek is not None
        wanted = (
            (KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, _parsed(block_cipher_key, "block cipher key")),
            (KeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY, _parsed(broadcast_key, "broadcast key")),
            (KeyId.AUTHENTICATION_KEY, _parsed(authentication_key, "authentication key")),
            (KeyId.MASTER_KEY, _parsed(new_master_key, "new master key")),
        )
        key_data = [(int(key_id), wrap_key(kek, key)) for key_id, key in wanted if key is not None]
        if not key_data:
            raise ArgumentError("change_keys: give at least one new key")
        yield from self.call(logical_name, 2, key_data, class_id=64)
        new_ek, new_ak = wanted[0][1], wanted[2][1]
        return dataclasses.replace(
            self.settings,
            block_cipher_key=SecretBytes(new_ek, label="block cipher key")
            if new_ek
            else self.settings.block_cipher_key,
            authentication_key=(
                SecretBytes(new_ak, label="authentication key")
                if new_ak
                else self.settings.authentication_key
            ),
        )

    def key_agreement(
        self,
        *,
        block_cipher_key: bool = True,
        authentication_key: bool = False,
        broadcast_key: bool = False,
        logical_name: ObisLike = SECURITY_SETUP,
    ) -> Steps[MeterSettings]:
        """New global keys agreed with the meter (Security setup v1 method 3 key_agreement, Ephemeral Unified
        Model C(2e, 0s), :mod:`dlmskit.security.agreement`): for each key asked, an ephemeral key pair signed
        with ``signing_key``; the meter's signed answer is checked with its public key."""
        s = self.settings
        meter_key = s.meter_public_key
        if not isinstance(s.signing_key, ec.EllipticCurvePrivateKey) or meter_key is None:
            raise ConfigurationError("key_agreement needs signing_key and meter_certificate (suites 1/2)")
        negotiated = self.negotiated
        meter_title = negotiated.server_system_title if negotiated is not None else None
        if meter_title is None:
            raise ConfigurationError("key_agreement needs the meter's system title: associate with it first")
        wanted = [
            key_id
            for key_id, asked in (
                (KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, block_cipher_key),
                (KeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY, broadcast_key),
                (KeyId.AUTHENTICATION_KEY, authentication_key),
            )
            if asked
        ]
        if not wanted:
            raise ArgumentError("key_agreement: ask for at least one key")
        suite = s.security_suite
        own_title = parse_system_title(s.system_title)
        ephemerals: dict[int, ec.EllipticCurvePrivateKey] = {}
        entries: list[axdr.Data] = []
        for key_id in wanted:
            ephemeral, data = agreement.start(suite, s.signing_key)
            ephemerals[int(key_id)] = ephemeral
            entries.append(axdr.Structure([axdr.Enum(int(key_id)), axdr.OctetString(data)]))
        answer = yield from self.call(logical_name, 3, axdr.Array(entries), class_id=64)
        if not isinstance(answer, list) or len(answer) != len(wanted):
            raise DecodeError(
                "key_agreement answer",
                expected=f"an array of {len(wanted)} {{key_id, data}}",
                found=repr(answer)[:80],
            )
        keys: dict[int, bytes] = {}
        for entry in answer:
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise DecodeError("key_agreement answer", expected="{key_id, data}", found=repr(entry)[:80])
            answered, data = int(entry[0]), bytes(entry[1])
            if answered not in ephemerals:
                raise DecodeError("key_agreement answer", expected="a key id asked for", found=str(answered))
            keys[answered] = agreement.finish(
                suite,
                ephemerals[answered],
                data,
                server_signing_key=meter_key,
                client_system_title=own_title,
                server_system_title=meter_title,
            )
        new_ek = keys.get(int(KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY))
        new_ak = keys.get(int(KeyId.AUTHENTICATION_KEY))
        return dataclasses.replace(
            s,
            block_cipher_key=SecretBytes(new_ek, label="block cipher key") if new_ek else s.block_cipher_key,
            authentication_key=SecretBytes(new_ak, label="authentication key")
            if new_ak
            else s.authentication_key,
        )


def expected(value: Any, kind: type[Any] | None, logical_name: ObisLike, attribute: int | str) -> Any:
    """``value`` when it is a ``kind`` (or no kind is asked for), else a DecodeError naming both types."""
    if kind is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise DecodeError(
        f"reading {logical_name} attribute {attribute!r}: expected {kind.__name__}",
        expected=kind.__name__,
        found=f"{type(value).__name__} {value!r}"[:80],
    )


def aware(when: _dt.datetime, what: str, assume: _dt.tzinfo | None = None) -> _dt.datetime:
    """``when`` with a timezone: as it is when aware, in ``assume`` when naive; a naive time without
    ``assume`` is an :class:`~dlmskit.errors.ArgumentError` (a meter's clock keeps its own zone: dlmskit
    does not guess which one a naive time means)."""
    if not isinstance(when, _dt.datetime):
        raise ArgumentError(f"{what} takes a datetime, not {type(when).__name__} {when!r}")
    if when.utcoffset() is not None:
        return when
    if assume is None:
        raise ArgumentError(
            f"{what}: {when.isoformat()} is a naive datetime, and the meter's zone may not be this computer's: "
            "give an aware time (datetime.now(timezone.utc), datetime.now().astimezone(), "
            "datetime(..., tzinfo=ZoneInfo('Europe/Berlin'))) or say which zone it is in with assume=..."
        )
    return when.replace(tzinfo=assume)


def _integer(value: axdr.Data, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{what} is not an integer", expected="an integer", found=type(value).__name__)
    return int(value)


def _image_is(entry: axdr.Data, size: int, identifier: bytes) -> bool:
    """Whether an image_to_activate_info element describes the image of ``size`` bytes named ``identifier``."""
    return (
        isinstance(entry, tuple)
        and len(entry) == 3
        and isinstance(entry[1], bytes)
        and bytes(entry[1]) == identifier
        and _integer(entry[0], "image_to_activate_size") == size
    )


def _parsed(value: SecretBytes | str | bytes | None, name: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, SecretBytes):
        return value.reveal()
    return parse_key(value, name=name)


def _select_columns(columns: tuple[ProfileColumn, ...], wanted: Sequence[int | str] | None) -> list[int]:
    """0-based indices of the wanted columns (by index, name or logical name), in the profile's order."""
    if wanted is None:
        return list(range(len(columns)))
    chosen: set[int] = set()
    for key in wanted:
        if isinstance(key, int):
            if not 0 <= key < len(columns):
                raise ArgumentError(f"the profile has columns 0..{len(columns) - 1}, not {key}")
            chosen.add(key)
            continue
        matches = [i for i, c in enumerate(columns) if key in (c.name, str(c.logical_name))]
        if not matches:
            names = ", ".join(f"{c.name} ({c.logical_name})" for c in columns)
            raise ArgumentError(f"the profile has no column {key!r}; its columns: {names}")
        chosen.add(matches[0])
    if not chosen:
        raise ArgumentError("columns=... selects no column")
    return sorted(chosen)


def _in_window(value: Any, start: _dt.datetime | None, end: _dt.datetime | None) -> bool:
    """True when a clock column's value lies in [start, end] (an entry without a usable time is left out)."""
    if not isinstance(value, _dt.datetime):
        return False
    if value.tzinfo is None:  # a meter clock without deviation: read it in the zone the range was given in
        given = start or end
        value = value.replace(tzinfo=given.tzinfo if given is not None else None)
    return (start is None or value >= start) and (end is None or value <= end)


def _rows(
    buffer: axdr.Data, all_columns: tuple[ProfileColumn, ...], selected: list[int], first_column: int
) -> list[tuple[Any, ...]]:
    """The selected columns of each entry, clock columns as datetimes.

    ``first_column`` is the first column the meter sent (entry access) or -1 when it sent the selected
    columns only (range access with selected values). A meter that ignores the column selection and
    sends whole entries is understood too.
    """
    if not isinstance(buffer, list):
        raise DecodeError(
            "a profile buffer is an array of entries", expected="array", found=type(buffer).__name__
        )
    stamps = [all_columns[i].is_timestamp for i in selected]
    rows = []
    for entry in buffer:
        if not isinstance(entry, tuple):
            raise DecodeError(
                "a profile entry is a structure", expected="structure", found=type(entry).__name__
            )
        if len(entry) == len(all_columns):
            values = [entry[i] for i in selected]
        elif first_column >= 0 and len(entry) >= selected[-1] - first_column + 1:
            values = [entry[i - first_column] for i in selected]
        elif len(entry) == len(selected):
            values = list(entry)
        else:
            raise DecodeError(
                "a profile entry has an unexpected number of columns",
                expected=f"{len(selected)} or {len(all_columns)}",
                found=str(len(entry)),
            )
        rows.append(values)
    for index, stamp in enumerate(stamps):
        if stamp:
            for row, value in zip(rows, _timestamps([row[index] for row in rows]), strict=True):
                row[index] = value
    return [tuple(row) for row in rows]


def _timestamps(column: list[Any]) -> list[Any]:
    """A clock column as datetimes: the whole column at once when every value is a plain point in time."""
    if all(isinstance(v, bytes) and len(v) == CosemDateTime.SIZE for v in column):
        try:
            return list(datetimes_of(column))
        except ValueError:
            pass  # some value is a wildcard or invalid: convert value by value, keeping those raw
    return [_as_datetime(v) for v in column]
