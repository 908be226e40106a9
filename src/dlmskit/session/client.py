"""The client side of a DLMS/COSEM application association, sans-I/O.

:class:`ClientSession` builds the APDUs of the client (AARQ, HLS pass 3, GET/SET/ACTION, block transfer
continuations, RLRQ) and digests every APDU the meter sends back. It does no I/O: each request method returns
the first APDU to send, and :meth:`ClientSession.receive` returns a :mod:`event <dlmskit.session.events>`
saying what to do next. One request is outstanding at a time, matched by invoke-id.

What it takes care of:

- association: AARQ with the application context (ciphered or not), mechanism, calling-AP-title,
  authentication value (LLS password or HLS challenge CtoS) and the (glo-ciphered) InitiateRequest; the
  AARE with its result, diagnostic, server system title and InitiateResponse; HLS passes 3 and 4 for every
  mechanism (the meter's f(CtoS) is verified, in constant time);
- negotiated conformance and PDU size: requests longer than the meter's max-receive-pdu-size go out in
  blocks (SET with datablocks, ACTION with pblocks) when the conformance allows, else an error says so;
- GET with-datablock: blocks are collected (thousands of them if needed) and the value decoded once;
- long ACTION responses with pblocks; general-block-transfer from the meter;
- ciphering as the security policy says (:mod:`dlmskit.session.protection`);
- tolerance (docs/tolerance.md): bytes after a complete APDU, padding after the AARE, an RLRE whose lengths
  do not add up and block transfers the conformance did not grant are accepted, each recorded as a
  :class:`~dlmskit.deviations.Deviation` in :attr:`ClientSession.deviations` (an error in strict mode);
- a session never wedges: after any error while digesting an answer, or :meth:`ClientSession.abandon`
  after a timeout, no request is pending any more, and a late answer to the abandoned request is discarded.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from dlmskit.apdu import acse
from dlmskit.apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
)
from dlmskit.apdu.block import GeneralBlockTransfer
from dlmskit.apdu.common import (
    ABSENT,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    DataBlockSA,
    GetDataResult,
    InvokeIdAndPriority,
    SelectiveAccessDescriptor,
)
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from dlmskit.apdu.initiate import InitiateRequest, InitiateResponse
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.parse import decode_apdu_prefix
from dlmskit.apdu.results import ActionResult, AssociationResult, DataAccessResult
from dlmskit.apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
)
from dlmskit.apdu.sn import (
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    VariableName,
    WriteResponse,
)
from dlmskit.codec import axdr, ber
from dlmskit.codec.obis import Obis
from dlmskit.deviations import Deviation, DeviationError, DeviationHook
from dlmskit.errors import ConfigurationError, DecodeError, EncodeError, ProtocolError, SecurityError
from dlmskit.security.hls import Mechanism
from dlmskit.session import authentication
from dlmskit.session.errors import (
    AssociationRejected,
    ConfirmedServiceErrorReceived,
    ExceptionResponseReceived,
)
from dlmskit.session.events import (
    ActionCompleted,
    Associated,
    Discarded,
    GetCompleted,
    Negotiated,
    Notification,
    Released,
    SendApdu,
    SessionEvent,
    SetCompleted,
)
from dlmskit.session.protection import ApduProtection, SecurityPolicy, SecuritySettings
from dlmskit.session.short_name import ReadCompleted, ShortNameClient, WriteCompleted

__all__ = ["ClientSession", "ClientSettings", "SessionState", "ShortNames"]

ASSOCIATION_LN = Obis(0, 0, 40, 0, 0, 255)
"""The current association object (class 15), whose method 1 carries HLS pass 3/4."""
_SHORT_NAME_CONTEXTS = (
    acse.ApplicationContextName.SHORT_NAME_NO_CIPHERING,
    acse.ApplicationContextName.SHORT_NAME_WITH_CIPHERING,
)
_ASSOCIATION_LN_CLASS = 15
_REPLY_TO_HLS_AUTHENTICATION = 1
_ASSOCIATION_SN_CLASS = 12
_ASSOCIATION_SN_BASE = 0xFA00
"""The base name of the current Association SN (its logical name is 0.0.40.0.0.255 as for LN)."""
_ASSOCIATION_SN_FIRST_METHOD = 0x20
_HLS_REPLY_SN = _ASSOCIATION_SN_BASE + 0x58
"""Association SN method 8, reply_to_HLS_authentication (FA00 + 0x20 + 7 * 8)."""


class ShortNames(Protocol):
    """Logical names to variable names in a short-name association (a
    :class:`~dlmskit.cosem.short_names.ShortNameMap` built from the Association SN object list)."""

    def attribute(self, logical_name: Obis, attribute_id: int) -> int: ...

    def method(self, logical_name: Obis, method_id: int) -> int: ...


def _sn_error(error: DataAccessResult | int | None) -> DataAccessResult | int:
    if error is None:
        return DataAccessResult.SUCCESS
    found = DataAccessResult.lookup(int(error))
    return int(error) if found is None else found


def _action_result(code: int) -> ActionResult:
    found = ActionResult.lookup(code)  # (SUCCESS is 0: falsy, so no "or" here)
    return ActionResult.OTHER_REASON if found is None else found


class SessionState(enum.Enum):
    IDLE = "idle"
    AWAITING_AARE = "awaiting AARE"
    AWAITING_HLS_REPLY = "awaiting HLS pass 4"
    ASSOCIATED = "associated"
    AWAITING_RLRE = "awaiting RLRE"


@dataclass(frozen=True)
class ClientSettings:
    """How the client associates.

    ``secret`` is the LLS password or the HLS secret (mechanisms 2, 3, 4, 6); HLS-GMAC uses the keys in
    ``security``. ``max_receive_pdu_size`` is what we tell the meter we can take.
    """

    mechanism: Mechanism = Mechanism.NONE
    secret: bytes | None = field(default=None, repr=False)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    conformance: Conformance = field(default_factory=Conformance.default_ln_client)
    max_receive_pdu_size: int = 0xFFFF
    ciphered_context: bool | None = None
    """Use the LN-with-ciphering application context; None: when the policy ciphers or HLS-GMAC is used."""
    high_priority: bool = True
    confirmed: bool = True
    strict: bool = False
    """Strict mode: every deviation from the standard is an error (docs/tolerance.md), none is accepted."""
    invoke_id: int | None = None
    """A fixed invoke-id for every request (tests replaying gurux-dlms recordings); None: 1..15 in turn."""
    referencing: Literal["ln", "sn"] = "ln"
    """Logical-name (GET/SET/ACTION) or short-name (READ/WRITE) referencing: the application context the
    AARQ names. With "sn", a conformance without any short-name service becomes
    :meth:`Conformance.default_sn_client` plus block transfer with get-or-read and set-or-write."""

    def __post_init__(self) -> None:
        if self.mechanism == Mechanism.LOW and not self.secret:
            raise ConfigurationError("low level security (LLS) needs a password")
        needs_secret = (Mechanism.HIGH, Mechanism.HIGH_MD5, Mechanism.HIGH_SHA1, Mechanism.HIGH_SHA256)
        if self.mechanism in needs_secret and not self.secret:
            raise ConfigurationError(f"{self.mechanism.name} needs the HLS secret")
        if self.mechanism == Mechanism.HIGH_GMAC and not self.security.has_keys:
            raise ConfigurationError(
                "HLS-GMAC needs the block cipher key and the authentication key (32 hex digits each)"
            )
        if self.security.policy != SecurityPolicy.NONE and not self.security.has_keys:
            raise ConfigurationError(
                "a security policy other than none needs the block cipher and authentication keys"
            )
        if self.mechanism == Mechanism.HIGH_ECDSA:
            if self.security.suite not in (1, 2):
                raise ConfigurationError(
                    "HLS-ECDSA (mechanism 7) needs security suite 1 (P-256) or 2 (P-384)"
                )
            if self.security.signing_key is None or self.security.peer_signing_key is None:
                raise ConfigurationError(
                    "HLS-ECDSA (mechanism 7) needs our own ECDSA private key and the meter's public key "
                    "or certificate"
                )
        if not 12 <= self.max_receive_pdu_size <= 0xFFFF:
            raise ConfigurationError("max_receive_pdu_size must be 12..65535")
        if self.referencing not in ("ln", "sn"):
            raise ConfigurationError(f'referencing is "ln" or "sn", not {self.referencing!r}')

    @property
    def proposed_conformance(self) -> Conformance:
        """The conformance the AARQ proposes (the short-name services when referencing is "sn")."""
        if self.referencing == "sn" and not self.conformance & (Conformance.READ | Conformance.WRITE):
            return (
                Conformance.default_sn_client()
                | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
                | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            )
        return self.conformance

    @property
    def uses_ciphered_context(self) -> bool:
        if self.ciphered_context is not None:
            return self.ciphered_context
        return self.security.policy != SecurityPolicy.NONE or self.mechanism == Mechanism.HIGH_GMAC


class _Pending(enum.Enum):
    GET = 1
    SET = 2
    ACTION = 3
    SN_HLS = 4


@dataclass
class _Request:
    kind: _Pending
    invoke_id: int
    count: int = 1
    context: str = ""
    # GET with-datablock
    blocks: int = 0
    raw: bytearray = field(default_factory=bytearray)
    decode_value: bool = True
    # SET / ACTION with blocks going out
    outgoing: list[bytes] = field(default_factory=list)
    sent_blocks: int = 0
    # ACTION response with pblocks coming in
    result_blocks: bytearray = field(default_factory=bytearray)


class ClientSession:
    """A client application association, sans-I/O.

    ``challenge`` is the client's HLS challenge CtoS: pass fresh random bytes (``secrets.token_bytes(16)``,
    :func:`dlmskit.security.hls.new_challenge`); it is required only for HLS mechanisms.
    """

    def __init__(self, settings: ClientSettings, *, challenge: bytes | None = None) -> None:
        self.settings = settings
        self.protection = ApduProtection(settings.security)
        self.state = SessionState.IDLE
        self.negotiated: Negotiated | None = None
        self._challenge = challenge
        self._server_challenge: bytes | None = None
        self._invoke_id = 0
        self._request: _Request | None = None
        self._gbt_buffer = bytearray()
        self._gbt_expected = 1
        self._stale: set[int] = set()
        self.deviations: list[Deviation] = []
        """The deviations accepted since the last request started (docs/tolerance.md)."""
        self.on_deviation: DeviationHook | None = None
        """Called with every accepted deviation as it is met (the trace)."""
        self.short_names: ShortNames | None = None
        """Short-name referencing: how logical names become variable names (set once the object list of
        the Association SN is read; the Association SN itself, FA00, needs none)."""
        self._sn: ShortNameClient | None = None
        self.meter_uses_short_names = False
        """Set when an AARE names a short-name application context (the meter speaks SN)."""

    # -- helpers -----------------------------------------------------------------------------------------

    def _next_invoke(self) -> InvokeIdAndPriority:
        self._invoke_id = (self._invoke_id + 1) % 16
        if self.settings.invoke_id is not None:
            self._invoke_id = self.settings.invoke_id
        self._stale.discard(self._invoke_id)
        return InvokeIdAndPriority(self._invoke_id, self.settings.confirmed, self.settings.high_priority)

    def _require(self, *states: SessionState) -> None:
        if self.state not in states:
            wanted = " or ".join(s.value for s in states)
            if self.state == SessionState.IDLE and SessionState.ASSOCIATED in states:
                raise ProtocolError(
                    "not associated: the association was released or lost; open the client again to reconnect"
                )
            raise ProtocolError(f"the session is {self.state.value}; this needs it {wanted}")
        if self._request is not None:
            raise ProtocolError(f"a request ({self._request.context}) is still waiting for its answer")
        self.deviations = []

    def _require_action(self) -> None:
        """Refuse a method call before sending it when the association did not agree to ACTION."""
        if self.negotiated is not None and not self._has(Conformance.ACTION):
            raise ProtocolError(
                "no method can be called in this association: the conformance the meter agreed to has no "
                "'action' (connect as a client whose association allows methods, e.g. the management client)"
            )

    def _deviate(self, code: str, offset: int, text: str, source: str) -> None:
        """Accept a deviation (record it, tell the hook), or refuse it in strict mode."""
        deviation = Deviation(code, offset, text, source)
        if self.settings.strict:
            raise DeviationError(deviation)
        self.deviations.append(deviation)
        if self.on_deviation is not None:
            self.on_deviation(deviation)

    def abandon(self) -> None:
        """Give up the request in progress (after an error or a timeout), leaving the session defined.

        An association being opened or released is over (the session is idle); an established one stays
        usable, and a late answer to the abandoned request (its invoke-id) is discarded when it comes.
        """
        if self._request is not None:
            self._stale.add(self._request.invoke_id)
        self._request = None
        if self._sn is not None:
            self._sn.abandon()
        self._gbt_buffer.clear()
        self._gbt_expected = 1
        if self.state in (
            SessionState.AWAITING_AARE,
            SessionState.AWAITING_HLS_REPLY,
            SessionState.AWAITING_RLRE,
        ):
            self.state = SessionState.IDLE
            self.negotiated = None

    @property
    def _max_send(self) -> int:
        """The largest plain APDU the meter takes from us (ciphering overhead kept aside)."""
        size = self.negotiated.server_max_receive_pdu_size if self.negotiated else 0xFFFF
        if size == 0:  # "no limit"
            size = 0xFFFF
        return size - self.protection.overhead

    @property
    def short_name(self) -> bool:
        """True in a short-name association (READ/WRITE by variable name)."""
        return self._sn is not None

    def _has(self, flag: Conformance) -> bool:
        return self.negotiated is not None and bool(self.negotiated.conformance & flag)

    def _wrap(self, apdu: bytes) -> bytes:
        return self.protection.wrap(apdu)

    # -- association ---------------------------------------------------------------------------------------

    def associate(self) -> bytes:
        """The AARQ that opens the association."""
        self._require(SessionState.IDLE)
        settings = self.settings
        mechanism = settings.mechanism
        ciphered = settings.uses_ciphered_context
        initiate = InitiateRequest(
            dedicated_key=settings.security.dedicated_key.reveal()
            if settings.security.dedicated_key
            else None,
            proposed_conformance=settings.proposed_conformance,
            client_max_receive_pdu_size=settings.max_receive_pdu_size,
        ).encode()
        if self.protection.ciphering:
            initiate = self.protection.wrap(initiate, kind="glo")
        authentication_value: bytes | None = None
        if mechanism == Mechanism.LOW:
            authentication_value = settings.secret
        elif mechanism != Mechanism.NONE:
            if not self._challenge or not 8 <= len(self._challenge) <= 64:
                raise ConfigurationError("HLS needs a client challenge of 8 to 64 random bytes")
            authentication_value = self._challenge
        context = (
            acse.ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
            if ciphered
            else acse.ApplicationContextName.LOGICAL_NAME_NO_CIPHERING
        )
        if settings.referencing == "sn":
            context = (
                acse.ApplicationContextName.SHORT_NAME_WITH_CIPHERING
                if ciphered
                else acse.ApplicationContextName.SHORT_NAME_NO_CIPHERING
            )
        self._sn = None
        aarq = acse.AARQ(
            application_context_name=context,
            calling_ap_title=settings.security.system_title
            if ciphered or mechanism in (Mechanism.HIGH_GMAC, Mechanism.HIGH_ECDSA)
            else None,
            sender_acse_requirements=mechanism != Mechanism.NONE,
            mechanism_name=int(mechanism) if mechanism != Mechanism.NONE else None,
            calling_authentication_value=authentication_value,
            user_information=initiate,
        )
        self.state = SessionState.AWAITING_AARE
        self.deviations = []
        return aarq.encode()

    def _on_aare(self, data: bytes) -> SessionEvent:
        _tag, _start, end = ber.read_header(data)
        if end < len(data):
            self._deviate(
                "padding-after-aare",
                end,
                f"{len(data) - end} bytes after the AARE (ignored)",
                "jDLMS HdlcFrameTest.decode3 (a meter's AARE followed by one byte); see docs/tolerance.md",
            )
            data = data[:end]
        aare = acse.AARE.decode(data)
        diagnostic = aare.result_source_diagnostic
        provider = int(diagnostic.source) == int(acse.DiagnosticSource.ACSE_SERVICE_PROVIDER)
        if aare.application_context_name in _SHORT_NAME_CONTEXTS:
            self.meter_uses_short_names = True
        if aare.application_context_name in _SHORT_NAME_CONTEXTS and self.settings.referencing != "sn":
            # Decided before the user-information, which an SN meter fills in its own way.
            self.state = SessionState.IDLE
            sn = (
                "this meter uses short-name referencing (SN): its AARE names the short-name application "
                "context, and this client speaks logical-name referencing (LN) only"
            )
            if aare.result != AssociationResult.ACCEPTED:
                raise AssociationRejected.from_aare(
                    aare.result, diagnostic.value, provider, sn[0].upper() + sn[1:]
                )
            raise AssociationRejected(
                f"the meter accepted the association with the short-name application context: {sn}",
                result=aare.result,
                diagnostic=diagnostic.value,
                provider=provider,
            )
        if aare.responding_ap_title is not None:
            if len(aare.responding_ap_title) != 8:
                raise ProtocolError(
                    f"the meter's system title (AARE responding-AP-title) is {len(aare.responding_ap_title)} "
                    "bytes, not 8"
                )
            expected = self.settings.security.expected_peer_system_title
            if expected is not None and aare.responding_ap_title != expected:
                raise SecurityError(
                    f"the meter's system title {aare.responding_ap_title.hex().upper()} (AARE) is not the one its "
                    f"certificate names, {expected.hex().upper()}: refused"
                )
            self.protection.peer_system_title = aare.responding_ap_title
        initiate_response: InitiateResponse | None = None
        extra = ""
        if aare.user_information:
            user_information = aare.user_information
            try:
                plain, _ = self.protection.unwrap(user_information)
            except Exception:
                if aare.result == AssociationResult.ACCEPTED:
                    raise
                plain = b""
            if plain[:1] == bytes((InitiateResponse.TAG,)):
                initiate_response = InitiateResponse.decode(plain)
            elif plain[:1] == b"\x0e":
                error = ConfirmedServiceError.decode(plain)
                extra = str(ConfirmedServiceErrorReceived(error, "xDLMS initiate"))
        if aare.result != AssociationResult.ACCEPTED:
            self.state = SessionState.IDLE
            raise AssociationRejected.from_aare(aare.result, diagnostic.value, provider, extra)
        if initiate_response is None:
            self.state = SessionState.IDLE
            raise ProtocolError("the meter accepted the association but sent no InitiateResponse")
        self.negotiated = Negotiated(
            conformance=initiate_response.negotiated_conformance & self.settings.proposed_conformance,
            server_max_receive_pdu_size=initiate_response.server_max_receive_pdu_size,
            client_max_receive_pdu_size=self.settings.max_receive_pdu_size,
            dlms_version=initiate_response.negotiated_dlms_version_number,
            vaa_name=initiate_response.vaa_name,
            server_system_title=self.protection.peer_system_title,
            mechanism=int(self.settings.mechanism),
        )
        if aare.application_context_name in _SHORT_NAME_CONTEXTS:
            self._sn = ShortNameClient(conformance=self.negotiated.conformance, max_send=self._max_send)
        if self.settings.mechanism in (Mechanism.NONE, Mechanism.LOW):
            self.state = SessionState.ASSOCIATED
            return Associated(self.negotiated)
        # HLS: the meter asked us to prove we know the secret (diagnostic authentication-required).
        stoc = aare.responding_authentication_value
        if not stoc:
            self.state = SessionState.IDLE
            raise AssociationRejected(
                "the meter accepted an HLS association without sending its challenge StoC"
            )
        self._server_challenge = stoc
        self.state = SessionState.AWAITING_HLS_REPLY
        f_stoc = axdr.OctetString(
            authentication.respond(
                self.settings.mechanism,
                stoc,
                secret=self.settings.secret or b"",
                protection=self.protection,
                own_challenge=self._challenge or b"",
            )
        )
        if self._sn is not None:
            # HLS pass 3 over SN: method 8 of the Association SN, as a Read with parameterized access (the
            # Read service carries the method's return data, f(CtoS); a WriteResponse could not). See
            # docs/short-names.md for the sources.
            self._request = _Request(_Pending.SN_HLS, -1, context="HLS pass 3")
            read = ReadRequest((ParameterizedAccess(_HLS_REPLY_SN, 0, f_stoc),))
            return SendApdu(self._wrap(read.encode()))
        invoke = self._next_invoke()
        request = ActionRequestNormal(
            invoke,
            CosemMethodDescriptor(_ASSOCIATION_LN_CLASS, ASSOCIATION_LN, _REPLY_TO_HLS_AUTHENTICATION),
            f_stoc,
        )
        self._request = _Request(_Pending.ACTION, invoke.invoke_id, context="HLS pass 3")
        return SendApdu(self._wrap(request.encode()))

    def _on_sn_hls_reply(self, response: object) -> SessionEvent:
        if not isinstance(response, ReadResponse) or len(response.results) != 1:
            raise ProtocolError(f"HLS pass 4: expected a ReadResponse, got {type(response).__name__}")
        result = response.results[0]
        if result.error is not None:
            answer = ActionResponseNormal(InvokeIdAndPriority(), _action_result(int(result.error)))
        else:
            answer = ActionResponseNormal(
                InvokeIdAndPriority(), ActionResult.SUCCESS, GetDataResult(result.value)
            )
        return self._on_hls_reply(answer)

    def _on_hls_reply(self, response: ActionResponseNormal) -> SessionEvent:
        self._request = None
        result = int(response.result)
        if result != ActionResult.SUCCESS:
            self.state = SessionState.IDLE
            name = ActionResult.lookup(result)
            cause = (
                "our ECDSA key pair, or the client public key/certificate the meter holds, is wrong"
                if self.settings.mechanism == Mechanism.HIGH_ECDSA
                else "the HLS secret or the keys are wrong"
            )
            raise AssociationRejected(
                f"the meter refused our HLS answer f(StoC) ({name.standard_name if name else result}): {cause}"
            )
        returned = response.return_parameters
        reply = returned.value if returned is not None and returned.ok else None
        if not isinstance(reply, bytes) or not authentication.verify(
            self.settings.mechanism,
            bytes(reply),
            self._challenge or b"",
            secret=self.settings.secret or b"",
            protection=self.protection,
            peer_challenge=self._server_challenge or b"",
        ):
            self.state = SessionState.IDLE
            cause = (
                "its ECDSA signature does not verify with the meter public key/certificate we were given"
                if self.settings.mechanism == Mechanism.HIGH_ECDSA
                else "it does not know our keys/secret"
            )
            raise AssociationRejected(
                f"the meter's answer to our challenge f(CtoS) does not verify: {cause}, "
                "or it is not the meter we think"
            )
        self.state = SessionState.ASSOCIATED
        assert self.negotiated is not None
        return Associated(self.negotiated)

    def release(self) -> bytes:
        """The RLRQ that releases the association (with a ciphered InitiateRequest where ciphering is used)."""
        self._require(SessionState.ASSOCIATED)
        user_information = None
        if self.protection.ciphering:
            initiate = InitiateRequest(
                proposed_conformance=self.settings.conformance,
                client_max_receive_pdu_size=self.settings.max_receive_pdu_size,
            ).encode()
            user_information = self.protection.wrap(initiate, kind="glo")
        self.state = SessionState.AWAITING_RLRE
        return acse.RLRQ(reason=acse.ReleaseRequestReason.NORMAL, user_information=user_information).encode()

    def released_without_rlrq(self) -> Released:
        """Forget the association without an RLRQ (the link was closed, or pre-established use)."""
        self.state = SessionState.IDLE
        self._request = None
        self.negotiated = None
        return Released()

    def assume_associated(self, negotiated: Negotiated, server_system_title: bytes | None = None) -> None:
        """Use a pre-established association: no AARQ; requests go out directly."""
        self._require(SessionState.IDLE)
        self.negotiated = negotiated
        if server_system_title is not None:
            self.protection.peer_system_title = server_system_title
        self.state = SessionState.ASSOCIATED

    # -- GET --------------------------------------------------------------------------------------------------

    def get(
        self,
        attribute: CosemAttributeDescriptor,
        access: SelectiveAccessDescriptor | None = None,
        *,
        decode_value: bool = True,
    ) -> bytes:
        """GET one attribute; ``decode_value=False`` keeps the value as raw A-XDR bytes (an OctetString)."""
        self._require(SessionState.ASSOCIATED)
        if self._sn is not None:
            return self._sn_read(
                [(attribute, access)], f"READ {attribute.instance_id}/{attribute.attribute_id}"
            )
        if access is not None and self.negotiated and not self._has(Conformance.SELECTIVE_ACCESS):
            raise ProtocolError("the meter did not agree to selective-access in this association")
        invoke = self._next_invoke()
        context = f"GET {attribute.class_id}/{attribute.instance_id}/{attribute.attribute_id}"
        self._request = _Request(_Pending.GET, invoke.invoke_id, context=context, decode_value=decode_value)
        return self._wrap(GetRequestNormal(invoke, attribute, access).encode())

    def get_with_list(self, attributes: Sequence[CosemAttributeDescriptorWithSelection]) -> bytes:
        """GET several attributes in one request (needs multiple-references in the conformance)."""
        self._require(SessionState.ASSOCIATED)
        if self._sn is not None:
            return self._sn_read([(a.attribute, a.access) for a in attributes], "READ with several names")
        if not self._has(Conformance.MULTIPLE_REFERENCES):
            raise ProtocolError(
                "the meter did not agree to multiple-references (GET with-list) in this association"
            )
        invoke = self._next_invoke()
        self._request = _Request(
            _Pending.GET, invoke.invoke_id, count=len(attributes), context="GET with-list"
        )
        return self._wrap(GetRequestWithList(invoke, tuple(attributes)).encode())

    # -- short-name referencing: the same requests as READ/WRITE by variable name -------------------------

    def _variable(self, class_id: int, logical_name: Obis, index: int, *, method: bool = False) -> int:
        if class_id == _ASSOCIATION_SN_CLASS and logical_name == ASSOCIATION_LN:
            first = _ASSOCIATION_SN_FIRST_METHOD if method else 0
            return _ASSOCIATION_SN_BASE + first + 8 * (index - 1)
        if self.short_names is None:
            raise ProtocolError(
                "short-name referencing: the object list of the Association SN was not read yet, so "
                f"{logical_name} has no variable name"
            )
        if method:
            return self.short_names.method(logical_name, index)
        return self.short_names.attribute(logical_name, index)

    def _sn_read(
        self,
        attributes: Sequence[tuple[CosemAttributeDescriptor, SelectiveAccessDescriptor | None]],
        context: str,
    ) -> bytes:
        assert self._sn is not None
        variables: list[VariableName | ParameterizedAccess] = []
        for attribute, access in attributes:
            name = self._variable(attribute.class_id, attribute.instance_id, attribute.attribute_id)
            variables.append(
                VariableName(name)
                if access is None
                else ParameterizedAccess(name, access.selector, access.parameters)
            )
        apdu = self._sn.read(variables)
        self._request = _Request(_Pending.GET, -1, count=len(variables), context=context)
        return self._wrap(apdu)

    def _sn_write(self, name: int, value: axdr.Data, kind: _Pending, context: str) -> bytes:
        assert self._sn is not None
        apdu = self._sn.write([name], [value])
        self._request = _Request(kind, -1, context=context)
        return self._wrap(apdu)

    def _on_sn(self, plain: bytes) -> SessionEvent:
        assert self._sn is not None
        request = self._request
        assert request is not None
        event = self._sn.receive(plain)
        if isinstance(event, SendApdu):
            return SendApdu(self._wrap(event.apdu), event.blocks, event.received_bytes)
        if isinstance(event, Notification):
            return event
        self._request = None
        if isinstance(event, ReadCompleted):
            return GetCompleted(
                tuple(
                    GetDataResult(error=_sn_error(r.error)) if r.error is not None else GetDataResult(r.value)
                    for r in event.results
                ),
                event.blocks,
            )
        assert isinstance(event, WriteCompleted)
        if request.kind == _Pending.ACTION:
            return ActionCompleted(
                tuple(
                    ActionResponseWithOptionalData(_action_result(int(_sn_error(r.error))))
                    for r in event.results
                )
            )
        return SetCompleted(tuple(_sn_error(r.error) for r in event.results))

    def _on_get(self, apdu: object) -> SessionEvent:
        request = self._request
        assert request is not None
        if isinstance(apdu, GetResponseNormal):
            self._request = None
            return GetCompleted((apdu.result,), request.blocks)
        if isinstance(apdu, GetResponseWithList):
            self._request = None
            return GetCompleted(tuple(apdu.results), request.blocks)
        if isinstance(apdu, GetResponseWithDatablock):
            block = apdu.block
            expected = request.blocks + 1
            if expected == 1 and not self._has(Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
                self._deviate(
                    "ungranted-block-transfer",
                    -1,
                    f"{request.context}: the meter answers in blocks, but the association did not grant "
                    "block-transfer-with-get (the blocks are read all the same)",
                    "Gurux C server, client 16 (shared/interop/gurux-c-server README item 7)",
                )
            if block.block_number != expected:
                self._request = None
                raise ProtocolError(
                    f"{request.context}: the meter sent block {block.block_number}, expected block {expected}"
                )
            if block.error is not None:
                self._request = None
                return GetCompleted((GetDataResult(error=block.error),), request.blocks)
            request.blocks = expected
            request.raw += block.raw_data
            if not block.last_block:
                return SendApdu(
                    self._wrap(GetRequestNext(apdu.invoke, block.block_number).encode()),
                    blocks=request.blocks,
                    received_bytes=len(request.raw),
                )
            self._request = None
            return self._finish_datablock(request)
        raise ProtocolError(f"{request.context}: unexpected answer {type(apdu).__name__}")

    def _finish_datablock(self, request: _Request) -> GetCompleted:
        raw = bytes(request.raw)
        if request.count == 1:
            if not request.decode_value:
                return GetCompleted((GetDataResult(axdr.OctetString(raw)),), request.blocks)
            try:
                return GetCompleted((GetDataResult(axdr.decode(raw)),), request.blocks)
            except DecodeError as exc:
                raise DecodeError(
                    f"{request.context}: the value reassembled from {request.blocks} blocks does not decode: "
                    f"{exc.reason}",
                    offset=exc.offset,
                    expected=exc.expected,
                    found=exc.found,
                ) from None
        # with-list in blocks: the raw data is SEQUENCE OF Get-Data-Result
        count, offset = axdr.decode_length(raw, 0)
        results = []
        for _ in range(count):
            result, offset = GetDataResult.decode_from(raw, offset)
            results.append(result)
        return GetCompleted(tuple(results), request.blocks)

    def _first_block(self, request: _Request, raw: bytes, head: int) -> DataBlockSA:
        """Split ``raw`` into blocks that fit the meter's PDU size after ``head`` bytes of APDU header."""
        request.outgoing = _split(raw, self._max_send - head - 5)  # 5: the longest octet-string length
        request.sent_blocks = 1
        return DataBlockSA(len(request.outgoing) == 1, 1, request.outgoing[0])

    def _next_block(self, request: _Request, acknowledged: int) -> DataBlockSA:
        """The block after ``acknowledged`` of a SET/ACTION request going out in blocks."""
        if acknowledged != request.sent_blocks or request.sent_blocks >= len(request.outgoing):
            self._request = None
            raise ProtocolError(
                f"{request.context}: the meter acknowledged block {acknowledged}, we sent block {request.sent_blocks}"
            )
        request.sent_blocks += 1
        n = request.sent_blocks
        return DataBlockSA(n == len(request.outgoing), n, request.outgoing[n - 1])

    # -- SET ---------------------------------------------------------------------------------------------------

    def set(
        self,
        attribute: CosemAttributeDescriptor,
        value: axdr.Data,
        access: SelectiveAccessDescriptor | None = None,
    ) -> bytes:
        """SET one attribute; values longer than the meter takes go out in datablocks."""
        self._require(SessionState.ASSOCIATED)
        context = f"SET {attribute.class_id}/{attribute.instance_id}/{attribute.attribute_id}"
        if self._sn is not None:
            name = self._variable(attribute.class_id, attribute.instance_id, attribute.attribute_id)
            return self._sn_write(name, value, _Pending.SET, context)
        invoke = self._next_invoke()
        request = _Request(_Pending.SET, invoke.invoke_id, context=context)
        self._request = request
        normal = SetRequestNormal(invoke, attribute, value, access).encode()
        if len(normal) <= self._max_send:
            return self._wrap(normal)
        if not self._has(Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE):
            self._request = None
            raise ProtocolError(
                f"{context}: the value ({len(normal)} bytes) exceeds the meter's PDU size ({self._max_send}) "
                "and the meter did not agree to block-transfer-with-set"
            )
        head = len(
            SetRequestWithFirstDatablock(invoke, attribute, DataBlockSA(False, 1, b""), access).encode()
        )
        block = self._first_block(request, axdr.encode(value), head)
        return self._wrap(SetRequestWithFirstDatablock(invoke, attribute, block, access).encode())

    def set_with_list(
        self, attributes: Sequence[CosemAttributeDescriptorWithSelection], values: Sequence[axdr.Data]
    ) -> bytes:
        """SET several attributes in one request."""
        self._require(SessionState.ASSOCIATED)
        if len(attributes) != len(values):
            raise EncodeError("set_with_list needs one value per attribute")
        invoke = self._next_invoke()
        self._request = _Request(_Pending.SET, invoke.invoke_id, count=len(values), context="SET with-list")
        apdu = SetRequestWithList(invoke, tuple(attributes), tuple(values)).encode()
        if len(apdu) > self._max_send:
            self._request = None
            raise ProtocolError(
                f"SET with-list of {len(apdu)} bytes exceeds the meter's PDU size ({self._max_send})"
            )
        return self._wrap(apdu)

    def _on_set(self, apdu: object) -> SessionEvent:
        request = self._request
        assert request is not None
        if isinstance(apdu, SetResponseNormal):
            self._request = None
            return SetCompleted((apdu.result,))
        if isinstance(apdu, SetResponseWithList):
            self._request = None
            return SetCompleted(tuple(apdu.results))
        if isinstance(apdu, SetResponseDatablock):
            block = self._next_block(request, apdu.block_number)
            return SendApdu(
                self._wrap(SetRequestWithDatablock(apdu.invoke, block).encode()), blocks=block.block_number
            )
        if isinstance(apdu, SetResponseLastDatablock):
            self._request = None
            return SetCompleted((apdu.result,))
        if isinstance(apdu, SetResponseLastDatablockWithList):
            self._request = None
            return SetCompleted(tuple(apdu.results))
        raise ProtocolError(f"{request.context}: unexpected answer {type(apdu).__name__}")

    # -- ACTION ------------------------------------------------------------------------------------------------

    def action(self, method: CosemMethodDescriptor, parameters: axdr.Data = ABSENT) -> bytes:
        """Invoke one method; ``ABSENT`` sends no method-invocation-parameters."""
        self._require(SessionState.ASSOCIATED)
        context = f"ACTION {method.class_id}/{method.instance_id}/{method.method_id}"
        if self._sn is not None:
            # A method over SN: a Write of its parameter to the method's variable name (Green Book, ACTION
            # mapped to the Write service; as the gurux-dlms client and real SN meters do). A method
            # without parameter gets integer 0, as the standard's "data ::= integer(0)" methods.
            name = self._variable(method.class_id, method.instance_id, method.method_id, method=True)
            parameter = axdr.Integer(0) if parameters is ABSENT else parameters
            return self._sn_write(name, parameter, _Pending.ACTION, context)
        self._require_action()
        invoke = self._next_invoke()
        request = _Request(_Pending.ACTION, invoke.invoke_id, context=context)
        self._request = request
        normal = ActionRequestNormal(invoke, method, parameters).encode()
        if len(normal) <= self._max_send:
            return self._wrap(normal)
        if not self._has(Conformance.BLOCK_TRANSFER_WITH_ACTION):
            self._request = None
            raise ProtocolError(
                f"{context}: the parameters ({len(normal)} bytes) exceed the meter's PDU size ({self._max_send}) "
                "and the meter did not agree to block-transfer-with-action"
            )
        head = len(ActionRequestWithFirstPblock(invoke, method, DataBlockSA(False, 1, b"")).encode())
        block = self._first_block(request, axdr.encode(parameters), head)
        return self._wrap(ActionRequestWithFirstPblock(invoke, method, block).encode())

    def action_with_list(
        self, methods: Sequence[CosemMethodDescriptor], parameters: Sequence[axdr.Data]
    ) -> bytes:
        """Invoke several methods in one request."""
        self._require(SessionState.ASSOCIATED)
        self._require_action()
        if len(methods) != len(parameters):
            raise EncodeError("action_with_list needs one parameter per method")
        invoke = self._next_invoke()
        self._request = _Request(
            _Pending.ACTION, invoke.invoke_id, count=len(methods), context="ACTION with-list"
        )
        return self._wrap(ActionRequestWithList(invoke, tuple(methods), tuple(parameters)).encode())

    def _on_action(self, apdu: object) -> SessionEvent:
        request = self._request
        assert request is not None
        if isinstance(apdu, ActionResponseNormal):
            self._request = None
            return ActionCompleted((ActionResponseWithOptionalData(apdu.result, apdu.return_parameters),))
        if isinstance(apdu, ActionResponseWithList):
            self._request = None
            return ActionCompleted(tuple(apdu.responses))
        if isinstance(apdu, ActionResponseNextPblock):
            block = self._next_block(request, apdu.block_number)
            return SendApdu(
                self._wrap(ActionRequestWithPblock(apdu.invoke, block).encode()), blocks=block.block_number
            )
        if isinstance(apdu, ActionResponseWithPblock):
            block = apdu.block
            expected = request.blocks + 1
            if block.block_number != expected:
                self._request = None
                raise ProtocolError(
                    f"{request.context}: the meter sent response block {block.block_number}, expected {expected}"
                )
            request.blocks = expected
            request.result_blocks += block.raw_data
            if not block.last_block:
                return SendApdu(
                    self._wrap(ActionRequestNextPblock(apdu.invoke, block.block_number).encode()),
                    blocks=request.blocks,
                    received_bytes=len(request.result_blocks),
                )
            self._request = None
            raw = bytes(request.result_blocks)
            response, end = ActionResponseWithOptionalData.decode_from(raw, 0)
            if end != len(raw):
                raise DecodeError("trailing bytes after the reassembled ACTION response", offset=end)
            return ActionCompleted((response,))
        raise ProtocolError(f"{request.context}: unexpected answer {type(apdu).__name__}")

    # -- receive ------------------------------------------------------------------------------------------------

    def receive(self, apdu: bytes) -> SessionEvent:
        """Digest one APDU from the meter and say what happens next.

        Whatever goes wrong here (an APDU that does not decode, a tag that does not verify, a block out of
        order, an unexpected answer) leaves the session defined: the request is abandoned (see
        :meth:`abandon`) before the error is raised.
        """
        try:
            return self._receive(apdu)
        except BaseException:
            self.abandon()
            raise

    def _receive(self, apdu: bytes) -> SessionEvent:
        plain, _kind = self.protection.unwrap(apdu)
        if not plain:
            raise DecodeError("empty APDU", offset=0, expected="an APDU tag")
        tag = plain[0]
        if tag == acse.AARE.TAG:
            if self.state != SessionState.AWAITING_AARE:
                raise ProtocolError(f"an AARE arrived while the session is {self.state.value}")
            return self._on_aare(plain)
        if tag == acse.RLRE.TAG:
            if self.state != SessionState.AWAITING_RLRE:
                raise ProtocolError(f"an RLRE arrived while the session is {self.state.value}")
            self.state = SessionState.IDLE
            self.negotiated = None
            try:
                rlre = acse.RLRE.decode(plain)
            except DecodeError as exc:
                # The release is done either way (we asked for it, and this is the meter's RLRE); its content
                # is not used for anything else, so lengths that do not add up cost nothing but a warning.
                self._deviate(
                    "rlre-lengths",
                    exc.offset,
                    f"the RLRE does not decode ({exc}); the association is released all the same",
                    "Gurux C server, protected release (shared/interop/gurux-c-server README item 3)",
                )
                reason = plain[4] if plain[2:4] == b"\x80\x01" and len(plain) > 4 else None
                return Released(reason)
            return Released(rlre.reason)
        if tag == GeneralBlockTransfer.TAG:
            return self._on_general_block_transfer(plain)
        if self._sn is not None and self._request is not None:
            if self._request.kind == _Pending.SN_HLS:
                self._request = None
                if tag == ReadResponse.TAG:
                    return self._on_sn_hls_reply(ReadResponse.decode(plain))
                # Anything else ends the association attempt; an exception-response explains itself below.
                self.state = SessionState.IDLE
            elif tag in (
                ReadResponse.TAG,
                WriteResponse.TAG,
                ConfirmedServiceError.TAG,
                ExceptionResponse.TAG,
            ):
                return self._on_sn(plain)
        decoded, end = decode_apdu_prefix(plain)
        if end < len(plain):
            self._deviate(
                "trailing-bytes",
                end,
                f"{len(plain) - end} bytes after the {type(decoded).__name__} (ignored)",
                "Gurux C server: 18 bytes after the clock value, 11 after the last GET block "
                "(shared/interop/gurux-c-server README items 1 and 2); see docs/tolerance.md",
            )
        if isinstance(decoded, (DataNotification, EventNotificationRequest)):
            return Notification(decoded)
        request = self._request
        invoke = getattr(decoded, "invoke", None)
        if (
            isinstance(invoke, InvokeIdAndPriority)
            and invoke.invoke_id in self._stale
            and (request is None or invoke.invoke_id != request.invoke_id)
        ):
            return Discarded(f"a late answer to an abandoned request (invoke-id {invoke.invoke_id})")
        if isinstance(decoded, ExceptionResponse):
            self._request = None
            if self.state in (SessionState.AWAITING_HLS_REPLY, SessionState.AWAITING_AARE):
                self.state = SessionState.IDLE  # e.g. invocation-counter-error in answer to the AARQ
            raise ExceptionResponseReceived(decoded, request.context if request else "")
        if isinstance(decoded, ConfirmedServiceError):
            self._request = None
            raise ConfirmedServiceErrorReceived(decoded, request.context if request else "")
        if request is None:
            raise ProtocolError(f"the meter sent {type(decoded).__name__} but no request is waiting")
        if isinstance(invoke, InvokeIdAndPriority) and invoke.invoke_id != request.invoke_id:
            raise ProtocolError(
                f"{request.context}: the answer has invoke-id {invoke.invoke_id}, the request had {request.invoke_id}"
            )
        if self.state == SessionState.AWAITING_HLS_REPLY:
            if not isinstance(decoded, ActionResponseNormal):
                raise ProtocolError(f"HLS pass 4: expected an ACTION response, got {type(decoded).__name__}")
            return self._on_hls_reply(decoded)
        if request.kind == _Pending.GET:
            return self._on_get(decoded)
        if request.kind == _Pending.SET:
            return self._on_set(decoded)
        return self._on_action(decoded)

    def _on_general_block_transfer(self, plain: bytes) -> SessionEvent:
        block = GeneralBlockTransfer.decode(plain)
        if block.block_number != self._gbt_expected:
            expected = self._gbt_expected
            self._gbt_buffer.clear()
            self._gbt_expected = 1
            raise ProtocolError(
                f"general-block-transfer: got block {block.block_number}, expected {expected}"
            )
        self._gbt_buffer += block.block_data
        self._gbt_expected += 1
        if not block.last_block:
            if block.streaming:
                return SendApdu(b"", blocks=block.block_number, received_bytes=len(self._gbt_buffer))
            ack = GeneralBlockTransfer(
                last_block=False,
                streaming=False,
                window=1,
                block_number=1,
                block_number_ack=block.block_number,
                block_data=b"",
            )
            # GBT blocks are not ciphered themselves: the APDU they carry is, as a whole.
            return SendApdu(ack.encode(), blocks=block.block_number, received_bytes=len(self._gbt_buffer))
        whole = bytes(self._gbt_buffer)
        self._gbt_buffer.clear()
        self._gbt_expected = 1
        return self.receive(whole)


def _split(raw: bytes, size: int) -> list[bytes]:
    if size < 1:
        raise ProtocolError("the meter's PDU size is too small to carry any block data")
    return [raw[i : i + size] for i in range(0, len(raw), size)] or [b""]
