"""Result and error codes of DLMS/COSEM, with text a meter engineer can act on.

Every enum here is a :class:`ResultCode`: an ``IntEnum`` whose members carry

- ``standard_name``: the name used in the standard's ASN.1 (``read-write-denied``), for display;
- ``description``: one sentence saying what the meter means;
- ``hint``: the likely cause and what to try (empty when there is nothing useful to say).

Values received from a meter may be outside the enum (manufacturer codes, newer editions), so lookups never
raise: :meth:`ResultCode.lookup` returns ``None`` for an unknown value and :meth:`ResultCode.from_name`
for an unknown name.

:func:`explain` turns a number or text from a log, a trace or another library's error message into every
plausible reading, including the numbers printed by the Gurux libraries (see
``shared/reference/dlms-facts.md`` sections 5, 8 and 9).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

__all__ = [
    "SERVICE_ERROR_DETAILS",
    "AccessError",
    "AcseServiceProvider",
    "AcseServiceUser",
    "ActionResult",
    "ApplicationReferenceError",
    "AssociationResult",
    "ConfirmedServiceErrorChoice",
    "ConfirmedServiceErrorService",
    "DataAccessResult",
    "DefinitionError",
    "Explanation",
    "HardwareResourceError",
    "InitiateError",
    "LoadDataSetError",
    "ResultCode",
    "ServiceError",
    "ServiceErrorDetail",
    "StateError",
    "TaskError",
    "VdeStateError",
    "explain",
    "service_error_detail",
]

_R = TypeVar("_R", bound="ResultCode")


class ResultCode(IntEnum):
    """Base of the result-code enums: an ``IntEnum`` with a standard name, a description and a hint.

    Members are declared as ``NAME = value, "standard-name", "description", "hint"`` (hint optional).
    """

    _value_: int
    standard_name: str
    description: str
    hint: str

    # The defaults exist only so that the usual value lookup, ``DataAccessResult(12)``, type-checks: every
    # member passes a standard name and a description (the tests check it).
    def __new__(
        cls, value: int, standard_name: str = "", description: str = "", hint: str = ""
    ) -> ResultCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.standard_name = standard_name
        member.description = description
        member.hint = hint
        return member

    @classmethod
    def lookup(cls: type[_R], value: int) -> _R | None:
        """The member with this wire value, or ``None`` when the value is not defined (never raises)."""
        try:
            return cls._value2member_map_.get(value)  # type: ignore[return-value]
        except TypeError:  # an unhashable value: compared member by member
            pass
        for member in cls:
            if member.value == value:
                return member
        return None

    @classmethod
    def from_name(cls: type[_R], name: str) -> _R | None:
        """The member called ``name``, or ``None``.

        Both the standard name (``read-write-denied``) and the Python name (``READ_WRITE_DENIED``) are
        accepted, in any case, with ``-``, ``_`` or spaces between the words.
        """
        wanted = _normalise(name)
        for member in cls:
            if wanted in (_normalise(member.standard_name), _normalise(member.name)):
                return member
        return None


def _normalise(name: str) -> str:
    return re.sub(r"[\s_-]+", "-", name.strip()).lower()


class DataAccessResult(ResultCode):
    """Data-Access-Result: the meter's answer to one attribute of a GET or SET (and SN read/write)."""

    SUCCESS = 0, "success", "The meter carried out the request."
    HARDWARE_FAULT = (
        1,
        "hardware-fault",
        "The meter reports a hardware fault while accessing the attribute.",
        "A memory or measuring component of the meter failed; retry once, then have the meter checked.",
    )
    TEMPORARY_FAILURE = (
        2,
        "temporary-failure",
        "The meter cannot serve the request at this moment.",
        "The meter is busy (writing a profile, running a script, closing a billing period) or the object "
        "is locked for a moment; retry after a few seconds.",
    )
    READ_WRITE_DENIED = (
        3,
        "read-write-denied",
        "The association in use has no right to read or write this attribute.",
        "The client (address and authentication level) lacks the access right; check the access rights in "
        "the Association LN object list or connect as a client with more rights (e.g. HLS instead of "
        "public or LLS).",
    )
    OBJECT_UNDEFINED = (
        4,
        "object-undefined",
        "The meter has no object with this class id, logical name and attribute.",
        "Wrong OBIS code, wrong class id, or an attribute the class version does not have; read the "
        "association's object list to see what the meter offers.",
    )
    OBJECT_CLASS_INCONSISTENT = (
        9,
        "object-class-inconsistent",
        "The object exists but belongs to another interface class than the one requested.",
        "Take the class id from the meter's object list instead of assuming it.",
    )
    OBJECT_UNAVAILABLE = (
        11,
        "object-unavailable",
        "The object exists but is not available at this moment.",
        "The function is switched off or not configured in this meter (e.g. an M-Bus channel with no device "
        "installed).",
    )
    TYPE_UNMATCHED = (
        12,
        "type-unmatched",
        "The meter expected another data type than the one sent.",
        "The A-XDR type of the value is wrong; for example a token gateway expects the token as an "
        "octet-string of 20 ASCII digits, not a visible-string.",
    )
    SCOPE_OF_ACCESS_VIOLATED = (
        13,
        "scope-of-access-violated",
        "The request lies outside what this association may access.",
        "The client's role or security policy does not cover this access, e.g. the object needs an "
        "authenticated and encrypted request but the request was sent in plain text.",
    )
    DATA_BLOCK_UNAVAILABLE = (
        14,
        "data-block-unavailable",
        "The meter cannot supply the requested data block.",
        "A block transfer asked for a block the meter no longer holds; read again from the first block.",
    )
    LONG_GET_ABORTED = (
        15,
        "long-get-aborted",
        "The meter aborted a GET that was being sent in several blocks.",
        "The meter ran out of buffer, the transfer timed out or another request came in between; read "
        "again, possibly with a smaller selective-access range.",
    )
    NO_LONG_GET_IN_PROGRESS = (
        16,
        "no-long-get-in-progress",
        "A get-request-next asked for a block but no block transfer is running.",
        "The meter already ended or aborted the transfer (timeout, new association); start the read again.",
    )
    LONG_SET_ABORTED = (
        17,
        "long-set-aborted",
        "The meter aborted a SET that was being sent in several blocks.",
        "A block was missing or late, or another request came in between; send the whole value again.",
    )
    NO_LONG_SET_IN_PROGRESS = (
        18,
        "no-long-set-in-progress",
        "A set-request-with-datablock arrived but no block transfer is running.",
        "The first block was refused or the transfer timed out; start the SET again from block 1.",
    )
    DATA_BLOCK_NUMBER_INVALID = (
        19,
        "data-block-number-invalid",
        "The block number in a block transfer is not the one the meter expected.",
        "A block was lost or sent twice; restart the transfer.",
    )
    OTHER_REASON = (
        250,
        "other-reason",
        "The meter refused the request without giving a standard reason.",
        "Often a value out of the allowed range or a state that does not allow the change; see the "
        "manufacturer's documentation of the object.",
    )


class ActionResult(ResultCode):
    """Action-Result: the meter's answer to an ACTION (method invocation)."""

    SUCCESS = 0, "success", "The meter carried out the method."
    HARDWARE_FAULT = (
        1,
        "hardware-fault",
        "The meter reports a hardware fault while carrying out the method.",
        "For a disconnect control the breaker may not have switched; have the meter checked.",
    )
    TEMPORARY_FAILURE = (
        2,
        "temporary-failure",
        "The meter cannot carry out the method at this moment.",
        "The meter is busy or the breaker is still moving; retry after a few seconds.",
    )
    READ_WRITE_DENIED = (
        3,
        "read-write-denied",
        "The association in use has no right to invoke this method.",
        "Methods such as remote disconnect usually need a higher access level, e.g. an HLS (GMAC) "
        "association instead of LLS.",
    )
    OBJECT_UNDEFINED = (
        4,
        "object-undefined",
        "The meter has no object with this class id, logical name and method.",
        "Wrong OBIS code, wrong class id or a method index the class does not have.",
    )
    OBJECT_CLASS_INCONSISTENT = (
        9,
        "object-class-inconsistent",
        "The object exists but belongs to another interface class than the one requested.",
        "Take the class id from the meter's object list instead of assuming it.",
    )
    OBJECT_UNAVAILABLE = (
        11,
        "object-unavailable",
        "The object exists but the method is not available at this moment.",
        "The function is switched off, or the object's state or mode does not allow it (e.g. a disconnect "
        "control mode that forbids remote reconnection).",
    )
    TYPE_UNMATCHED = (
        12,
        "type-unmatched",
        "The method parameter has another data type than the meter expected.",
        "The A-XDR type of the parameter is wrong; for example a token gateway's enter method expects an "
        "octet-string of 20 ASCII digits, not a visible-string, and disconnect control methods need "
        "integer(0).",
    )
    SCOPE_OF_ACCESS_VIOLATED = (
        13,
        "scope-of-access-violated",
        "The method call lies outside what this association may do.",
        "The client's role or security policy does not cover this method, e.g. it must be sent "
        "authenticated and encrypted.",
    )
    DATA_BLOCK_UNAVAILABLE = (
        14,
        "data-block-unavailable",
        "The meter cannot supply the requested block of the method's result.",
        "Restart the method call.",
    )
    LONG_ACTION_ABORTED = (
        15,
        "long-action-aborted",
        "The meter aborted a method call that was being sent in several blocks.",
        "A block was missing or late, or another request came in between; call the method again.",
    )
    NO_LONG_ACTION_IN_PROGRESS = (
        16,
        "no-long-action-in-progress",
        "A block of a method call arrived but no such block transfer is running.",
        "The transfer already ended or timed out; call the method again from the first block.",
    )
    OTHER_REASON = (
        250,
        "other-reason",
        "The meter refused the method without giving a standard reason.",
        "Often the object's state does not allow the method (e.g. the breaker is already open) or a "
        "parameter value is out of range.",
    )


class StateError(ResultCode):
    """exception-response state-error: the first byte after ``D8``."""

    SERVICE_NOT_ALLOWED = (
        1,
        "service-not-allowed",
        "The meter does not allow this service in its current state.",
        "Usually no association is open: the AARQ was rejected, or the association was released or timed "
        "out.",
    )
    SERVICE_UNKNOWN = (
        2,
        "service-unknown",
        "The meter does not recognise the service (the APDU type).",
        "The APDU type is not supported here, e.g. a ciphered APDU sent in a context without ciphering, or "
        "a short-name service sent to a logical-name meter.",
    )


class ServiceError(ResultCode):
    """exception-response service-error: the second byte after ``D8``."""

    OPERATION_NOT_POSSIBLE = (
        1,
        "operation-not-possible",
        "The meter cannot carry out the service as requested.",
        "The request is well formed but the meter cannot act on it now; check the association and the "
        "object's state.",
    )
    SERVICE_NOT_SUPPORTED = (
        2,
        "service-not-supported",
        "The service is not supported by the meter or not in the negotiated conformance block.",
        "Check the conformance bits in the AARE (e.g. selective access, block transfer, multiple "
        "references) and use only what the meter granted.",
    )
    OTHER_REASON = (
        3,
        "other-reason",
        "The meter refused the APDU without giving a standard reason.",
        "Usually a security mismatch: wrong block cipher or authentication key (e.g. keys typed as ASCII "
        "instead of hex), wrong system title, wrong security policy, or an authentication level the object "
        "does not accept (e.g. LLS where the object needs HLS-GMAC).",
    )
    PDU_TOO_LONG = (
        4,
        "pdu-too-long",
        "The APDU is longer than the meter can receive.",
        "Keep requests within the server-max-receive-pdu-size from the AARE, or use block transfer.",
    )
    DECIPHERING_ERROR = (
        5,
        "deciphering-error",
        "The meter could not decipher or authenticate the APDU.",
        "Wrong block cipher key or authentication key, wrong client system title, or a security control "
        "byte the meter does not accept.",
    )
    INVOCATION_COUNTER_ERROR = (
        6,
        "invocation-counter-error",
        "The invocation counter (frame counter) of the ciphered APDU is not higher than the last one the "
        "meter accepted.",
        "Continue from the counter value the exception-response carries, or read the invocation counter "
        "object 0.0.43.1.x.255 with the public client first.",
    )


class ConfirmedServiceErrorService(ResultCode):
    """confirmed-service-error: which confirmed service failed (the first byte after ``0E``)."""

    INITIATE_ERROR = (
        1,
        "initiateError",
        "The xDLMS initiate (the InitiateRequest inside the AARQ) failed.",
        "The proposed DLMS version, conformance block or PDU size is not acceptable to the meter.",
    )
    GET_STATUS = 2, "getStatus", "A getStatus service failed."
    GET_NAME_LIST = 3, "getNameList", "A getNameList service failed."
    GET_VARIABLE_ATTRIBUTE = 4, "getVariableAttribute", "A getVariableAttribute service failed."
    READ = 5, "read", "A short-name read failed."
    WRITE = 6, "write", "A short-name write failed."
    GET_DATA_SET_ATTRIBUTE = 7, "getDataSetAttribute", "A getDataSetAttribute service failed."
    GET_TI_ATTRIBUTE = 8, "getTIAttribute", "A getTIAttribute service failed."
    CHANGE_SCOPE = 9, "changeScope", "A changeScope service failed."
    START = 10, "start", "A start service failed."
    STOP = 11, "stop", "A stop service failed."
    RESUME = 12, "resume", "A resume service failed."
    MAKE_USABLE = 13, "makeUsable", "A makeUsable service failed."
    INITIATE_LOAD = 14, "initiateLoad", "An initiateLoad service failed."
    LOAD_SEGMENT = 15, "loadSegment", "A loadSegment service failed."
    TERMINATE_LOAD = 16, "terminateLoad", "A terminateLoad service failed."
    INITIATE_UP_LOAD = 17, "initiateUpLoad", "An initiateUpLoad service failed."
    UP_LOAD_SEGMENT = 18, "upLoadSegment", "An upLoadSegment service failed."
    TERMINATE_UP_LOAD = 19, "terminateUpLoad", "A terminateUpLoad service failed."


class ConfirmedServiceErrorChoice(ResultCode):
    """confirmed-service-error: the kind of ServiceError (the second byte after ``0E``).

    The third byte is a value of the detail enum for this kind, see :data:`SERVICE_ERROR_DETAILS`.
    """

    APPLICATION_REFERENCE = 0, "application-reference", "A problem reaching or addressing the application."
    HARDWARE_RESOURCE = 1, "hardware-resource", "The meter lacks a hardware resource (memory, processor...)."
    VDE_STATE_ERROR = 2, "vde-state-error", "The meter's device (VDE) is in a state that does not allow it."
    SERVICE = 3, "service", "A problem with the service itself (PDU size, unsupported service)."
    DEFINITION = 4, "definition", "The object is not defined as the request assumes."
    ACCESS = 5, "access", "Access to the object was refused or failed."
    INITIATE = 6, "initiate", "The xDLMS initiate negotiation failed."
    LOAD_DATA_SET = 7, "load-data-set", "Loading a data set failed."
    CHANGE_SCOPE = 8, "change-scope", "Reserved in the standard (change-scope); not used by COSEM."
    TASK = 9, "task", "A task invocation service failed."
    OTHER = 10, "other", "Another, manufacturer-specific error."


class ApplicationReferenceError(ResultCode):
    """ServiceError application-reference [0]."""

    OTHER = 0, "other", "Another application-reference problem."
    TIME_ELAPSED = 1, "time-elapsed", "The request timed out.", "The meter or the network is slow; retry."
    APPLICATION_UNREACHABLE = (
        2,
        "application-unreachable",
        "The addressed application (logical device) cannot be reached.",
        "Check the server (logical device) address.",
    )
    APPLICATION_REFERENCE_INVALID = (
        3,
        "application-reference-invalid",
        "The addressing of the application is wrong.",
        "Check the client and server addresses.",
    )
    APPLICATION_CONTEXT_UNSUPPORTED = (
        4,
        "application-context-unsupported",
        "The application context is not supported.",
        "Use the context the meter supports (logical or short name referencing, with or without ciphering).",
    )
    PROVIDER_COMMUNICATION_ERROR = (
        5,
        "provider-communication-error",
        "A communication error in the local or the remote equipment.",
    )
    DECIPHERING_ERROR = (
        6,
        "deciphering-error",
        "The deciphering function found an error.",
        "Wrong block cipher key, authentication key or system title.",
    )


class HardwareResourceError(ResultCode):
    """ServiceError hardware-resource [1]."""

    OTHER = 0, "other", "Another hardware resource problem."
    MEMORY_UNAVAILABLE = 1, "memory-unavailable", "The meter has no memory left for the request."
    PROCESSOR_RESOURCE_UNAVAILABLE = (
        2,
        "processor-resource-unavailable",
        "The meter's processor cannot take on the request.",
    )
    MASS_STORAGE_UNAVAILABLE = 3, "mass-storage-unavailable", "The meter's mass storage is not available."
    OTHER_RESOURCE_UNAVAILABLE = 4, "other-resource-unavailable", "Another resource of the meter is missing."


class VdeStateError(ResultCode):
    """ServiceError vde-state-error [2] (VDE: the virtual distributed equipment, i.e. the logical device)."""

    OTHER = 0, "other", "Another state problem."
    NO_DLMS_CONTEXT = (
        1,
        "no-dlms-context",
        "No DLMS context has been established.",
        "Open an association (AARQ) before sending requests.",
    )
    LOADING_DATA_SET = 2, "loading-data-set", "The device is loading a data set."
    STATUS_NOCHANGE = 3, "status-nochange", "The device's status cannot change."
    STATUS_INOPERABLE = 4, "status-inoperable", "The device is inoperable."


class ServiceErrorDetail(ResultCode):
    """ServiceError service [3]."""

    OTHER = 0, "other", "Another service problem."
    PDU_SIZE = (
        1,
        "pdu-size",
        "The PDU is too long.",
        "Keep requests within the meter's max receive PDU size (AARE) or use block transfer.",
    )
    SERVICE_UNSUPPORTED = (
        2,
        "service-unsupported",
        "The service is not in the conformance block.",
        "Use only services the meter granted in the AARE conformance block; some meters also send this "
        "when no association is open.",
    )


class DefinitionError(ResultCode):
    """ServiceError definition [4]."""

    OTHER = 0, "other", "Another definition problem."
    OBJECT_UNDEFINED = (
        1,
        "object-undefined",
        "The object is not defined in the meter.",
        "Check the OBIS code or short name against the meter's object list.",
    )
    OBJECT_CLASS_INCONSISTENT = (
        2,
        "object-class-inconsistent",
        "The object's class does not fit the requested service.",
    )
    OBJECT_ATTRIBUTE_INCONSISTENT = (
        3,
        "object-attribute-inconsistent",
        "The object's attributes are inconsistent with its definition.",
    )


class AccessError(ResultCode):
    """ServiceError access [5]."""

    OTHER = 0, "other", "Another access problem."
    SCOPE_OF_ACCESS_VIOLATED = (
        1,
        "scope-of-access-violated",
        "Access was denied for authorisation reasons.",
        "Connect as a client with more rights or a higher authentication level.",
    )
    OBJECT_ACCESS_VIOLATED = (
        2,
        "object-access-violated",
        "The access is not compatible with the object's attribute (e.g. writing a read-only attribute).",
    )
    HARDWARE_FAULT = 3, "hardware-fault", "The access failed for hardware reasons."
    OBJECT_UNAVAILABLE = 4, "object-unavailable", "The object is not available."


class InitiateError(ResultCode):
    """ServiceError initiate [6]: why the xDLMS InitiateRequest in the AARQ was refused."""

    OTHER = 0, "other", "The meter refused the xDLMS initiate for another reason."
    DLMS_VERSION_TOO_LOW = (
        1,
        "dlms-version-too-low",
        "The proposed DLMS version is too low.",
        "Propose DLMS version 6 in the InitiateRequest.",
    )
    INCOMPATIBLE_CONFORMANCE = (
        2,
        "incompatible-conformance",
        "The proposed conformance block does not contain the services the meter needs.",
        "Propose the conformance bits the meter supports (at least get, set, action for LN).",
    )
    PDU_SIZE_TOO_SHORT = (
        3,
        "pdu-size-too-short",
        "The proposed client max receive PDU size is too small.",
        "Propose a larger max receive PDU size (e.g. 0x04B0 or 0xFFFF).",
    )
    REFUSED_BY_THE_VDE_HANDLER = (
        4,
        "refused-by-the-VDE-Handler",
        "The meter cannot or will not create the association.",
        "Often the dedicated key or the security settings do not fit, or the meter has no free association.",
    )


class LoadDataSetError(ResultCode):
    """ServiceError load-data-set [7]."""

    OTHER = 0, "other", "Another data set loading problem."
    PRIMITIVE_OUT_OF_SEQUENCE = 1, "primitive-out-of-sequence", "The load service came out of sequence."
    NOT_LOADABLE = 2, "not-loadable", "The data set is not loadable."
    DATASET_SIZE_TOO_LARGE = 3, "dataset-size-too-large", "The data set is too large."
    NOT_AWAITED_SEGMENT = 4, "not-awaited-segment", "The meter did not expect this segment."
    INTERPRETATION_FAILURE = 5, "interpretation-failure", "The segment could not be interpreted."
    STORAGE_FAILURE = 6, "storage-failure", "The segment could not be stored."
    DATA_SET_NOT_READY = 7, "data-set-not-ready", "The data set is not in the right state."


class TaskError(ResultCode):
    """ServiceError task [9]."""

    OTHER = 0, "other", "Another task invocation problem."
    NO_REMOTE_CONTROL = 1, "no-remote-control", "Remote control of the task is not allowed."
    TI_STOPPED = 2, "ti-stopped", "The task invocation is stopped."
    TI_RUNNING = 3, "ti-running", "The task invocation is running."
    TI_UNUSABLE = 4, "ti-unusable", "The task invocation is unusable."


SERVICE_ERROR_DETAILS: Mapping[ConfirmedServiceErrorChoice, type[ResultCode]] = {
    ConfirmedServiceErrorChoice.APPLICATION_REFERENCE: ApplicationReferenceError,
    ConfirmedServiceErrorChoice.HARDWARE_RESOURCE: HardwareResourceError,
    ConfirmedServiceErrorChoice.VDE_STATE_ERROR: VdeStateError,
    ConfirmedServiceErrorChoice.SERVICE: ServiceErrorDetail,
    ConfirmedServiceErrorChoice.DEFINITION: DefinitionError,
    ConfirmedServiceErrorChoice.ACCESS: AccessError,
    ConfirmedServiceErrorChoice.INITIATE: InitiateError,
    ConfirmedServiceErrorChoice.LOAD_DATA_SET: LoadDataSetError,
    ConfirmedServiceErrorChoice.TASK: TaskError,
}
"""The detail enum of each ServiceError choice (change-scope and other have none)."""


def service_error_detail(choice: int, value: int) -> ResultCode | None:
    """The detail member for a ServiceError ``choice`` and ``value`` (e.g. 6, 1 -> dlms-version-too-low).

    ``None`` when the choice has no detail enum or either number is not defined (never raises).
    """
    kind = ConfirmedServiceErrorChoice.lookup(choice)
    detail = SERVICE_ERROR_DETAILS.get(kind) if kind is not None else None
    return detail.lookup(value) if detail is not None else None


class AssociationResult(ResultCode):
    """AARE result (``A2 03 02 01 r``)."""

    ACCEPTED = 0, "accepted", "The meter accepted the association."
    REJECTED_PERMANENT = (
        1,
        "rejected-permanent",
        "The meter rejected the association; asking again the same way will fail again.",
        "The diagnostic says why: wrong client address, authentication, application context or keys.",
    )
    REJECTED_TRANSIENT = (
        2,
        "rejected-transient",
        "The meter rejected the association for now; the same request may work later.",
        "The meter is busy or has no free association; wait and retry.",
    )


class AcseServiceUser(ResultCode):
    """AARE diagnostic acse-service-user (``A3 05 A1 03 02 01 d``)."""

    NULL = 0, "null", "No diagnostic (normal for an accepted association)."
    NO_REASON_GIVEN = (
        1,
        "no-reason-given",
        "The meter rejected the association without a reason.",
        "Often a client address the meter does not know, or a wrong password or key.",
    )
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = (
        2,
        "application-context-name-not-supported",
        "The meter does not support the proposed application context.",
        "Switch between logical-name and short-name referencing, or between plain and ciphering contexts.",
    )
    CALLING_AP_TITLE_NOT_RECOGNIZED = (
        3,
        "calling-AP-title-not-recognized",
        "The meter does not accept the client's AP title (the client system title).",
        "The client system title is missing or not the one configured in the meter; ciphered contexts "
        "need it.",
    )
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = (
        4,
        "calling-AP-invocation-identifier-not-recognized",
        "The meter does not accept the client's AP invocation identifier.",
    )
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = (
        5,
        "calling-AE-qualifier-not-recognized",
        "The meter does not accept the client's AE qualifier (e.g. its certificate).",
    )
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = (
        6,
        "calling-AE-invocation-identifier-not-recognized",
        "The meter does not accept the client's AE invocation identifier.",
    )
    CALLED_AP_TITLE_NOT_RECOGNIZED = (
        7,
        "called-AP-title-not-recognized",
        "The meter does not recognise itself in the called AP title.",
    )
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = (
        8,
        "called-AP-invocation-identifier-not-recognized",
        "The meter does not recognise the called AP invocation identifier.",
    )
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = (
        9,
        "called-AE-qualifier-not-recognized",
        "The meter does not recognise the called AE qualifier.",
    )
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = (
        10,
        "called-AE-invocation-identifier-not-recognized",
        "The meter does not recognise the called AE invocation identifier.",
    )
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = (
        11,
        "authentication-mechanism-name-not-recognised",
        "The meter does not support the proposed authentication mechanism.",
        "Use a mechanism the meter supports for this client (e.g. LLS, HLS-GMAC).",
    )
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = (
        12,
        "authentication-mechanism-name-required",
        "This client must authenticate but the AARQ carried no mechanism.",
        "Set the authentication level this client address requires.",
    )
    AUTHENTICATION_FAILURE = (
        13,
        "authentication-failure",
        "The authentication failed.",
        "Wrong password (LLS) or wrong keys (HLS); check that keys are entered as hex, not ASCII.",
    )
    AUTHENTICATION_REQUIRED = (
        14,
        "authentication-required",
        "The meter wants the HLS authentication to be completed.",
        "Not an error by itself: with HLS the AARE says 14 and the client finishes with "
        "reply_to_HLS_authentication (passes 3 and 4).",
    )


class AcseServiceProvider(ResultCode):
    """AARE diagnostic acse-service-provider (``A3 05 A2 03 02 01 d``)."""

    NULL = 0, "null", "No diagnostic."
    NO_REASON_GIVEN = 1, "no-reason-given", "The ACSE provider rejected the association without a reason."
    NO_COMMON_ACSE_VERSION = (
        2,
        "no-common-acse-version",
        "Client and meter share no ACSE protocol version.",
        "Send the AARQ without a protocol-version field or with version 1.",
    )


# ----------------------------------------------------------------------------------------------------
# explain()


@dataclass(frozen=True, slots=True)
class Explanation:
    """One reading of an error number or name: what it is, what it means, what usually causes it."""

    title: str
    meaning: str
    likely_causes: tuple[str, ...] = ()


_KIND: dict[type[ResultCode], str] = {
    DataAccessResult: "Data-Access-Result",
    ActionResult: "Action-Result",
    StateError: "exception-response state-error",
    ServiceError: "exception-response service-error",
    ConfirmedServiceErrorService: "confirmed-service-error service",
    ConfirmedServiceErrorChoice: "confirmed-service-error ServiceError",
    ApplicationReferenceError: "ServiceError application-reference",
    HardwareResourceError: "ServiceError hardware-resource",
    VdeStateError: "ServiceError vde-state-error",
    ServiceErrorDetail: "ServiceError service",
    DefinitionError: "ServiceError definition",
    AccessError: "ServiceError access",
    InitiateError: "ServiceError initiate",
    LoadDataSetError: "ServiceError load-data-set",
    TaskError: "ServiceError task",
    AssociationResult: "AARE result",
    AcseServiceUser: "AARE diagnostic acse-service-user",
    AcseServiceProvider: "AARE diagnostic acse-service-provider",
}

# Enums a bare number can plausibly come from (the detail enums only make sense after a ServiceError choice).
_BARE_NUMBER_KINDS: tuple[type[ResultCode], ...] = (
    DataAccessResult,
    ActionResult,
    StateError,
    ServiceError,
    AssociationResult,
    AcseServiceUser,
    AcseServiceProvider,
)

# Gurux ANSI C / C++ error numbers (facts sheet section 9).
_GURUX_EXCEPTION_RESPONSE = 0x80000000  # | exception-response service-error
_GURUX_CONFIRMED_SERVICE_ERROR = 0x40000000  # | service << 16 | ServiceError choice << 8 | detail value
_GURUX_COMMUNICATION_ERROR = 0x20000000  # | errno (Linux) or GetLastError/WSAGetLastError (Windows)
_GURUX_FIRST_LIBRARY_CODE = 251

# Codes 251 and up (and -3..-1) are raised inside the Gurux client library, not by the meter. Values from the
# facts sheet section 9; -3..-1, 255, 266-268, 271-272 and 275-278 follow from the order of Gurux's published
# DLMS_ERROR_CODE enum (errorcodes.h).
_GURUX_LIBRARY_CODES: dict[int, tuple[str, str, tuple[str, ...]]] = {
    -3: ("unacceptable frame", "The meter did not accept the frame that was sent.", ()),
    -2: (
        "rejected",
        "The meter rejected the frame that was sent.",
        ("Wrong client or server address, or the meter is not in a mode that accepts the frame.",),
    ),
    -1: ("false", "A library function failed without a more specific code.", ()),
    251: ("unknown", "The library met an error it has no code for.", ()),
    252: (
        "send failed",
        "Writing to the serial port or socket failed.",
        ("The port is closed or in use by another program, or the TCP connection was dropped.",),
    ),
    253: (
        "receive failed",
        "No complete answer arrived from the meter.",
        (
            "Wrong serial settings (baud rate, parity) or wrong server address, so the meter stays silent.",
            "The reply timeout is too short for the link (e.g. GPRS or an optical probe).",
        ),
    ),
    254: ("not implemented", "The library does not implement what was asked.", ()),
    255: (
        "DLMS security not implemented",
        "The library was built without the security (ciphering) support the connection needs.",
        (),
    ),
    256: (
        "invalid command",
        "The meter answered with an APDU the library did not expect.",
        ("A ciphered answer without ciphering settings, or a short-name answer to a logical-name request.",),
    ),
    257: (
        "invalid block number",
        "A block transfer block arrived with an unexpected number.",
        ("A lost or repeated block; read again.",),
    ),
    258: (
        "invalid parameter",
        "The library rejected a parameter of the call before sending anything to the meter.",
        (
            "The method parameter was missing or of the wrong type; "
            "Disconnect control methods need integer(0).",
            "A value of the wrong data type for the attribute, or a key or system title of the wrong length.",
        ),
    ),
    259: ("not initialized", "The library settings were not initialised before use.", ()),
    260: (
        "out of memory",
        "The library could not allocate memory.",
        ("On a microcontroller: the PDU or the answer is too big; lower the max PDU size.",),
    ),
    261: (
        "not reply",
        "The received frame is not the answer to the frame sent.",
        ("Frames left over from an earlier session, or another device answering on the same line.",),
    ),
    262: ("invalid logical name", "The logical name (OBIS code) given to the library is not valid.", ()),
    263: ("invalid client address", "The client address is not set.", ()),
    264: ("invalid server address", "The server address is not set.", ()),
    265: (
        "invalid data format",
        "The received bytes are not a valid HDLC frame.",
        (
            "Wrong interface type (HDLC versus wrapper), wrong baud rate or parity, or the meter is still "
            "in IEC 62056-21 mode.",
        ),
    ),
    266: (
        "invalid version number",
        "The wrapper header carries a version other than 1.",
        ("The peer on this TCP port does not speak the DLMS wrapper.",),
    ),
    267: ("client address mismatch", "The frame is addressed to another client.", ()),
    268: ("server address mismatch", "The frame comes from another server address.", ()),
    269: (
        "wrong CRC",
        "A received HDLC frame failed its checksum.",
        ("Line noise, or wrong serial settings (baud rate, parity, data bits).",),
    ),
    270: ("invalid response", "The meter's answer does not fit the request.", ()),
    271: ("invalid tag", "The answer contains a tag the library does not know.", ()),
    272: ("encoding failed", "The library could not encode the request (not enough data).", ()),
    273: (
        "rejected permanent",
        "The meter rejected the association (AARE result rejected-permanent).",
        ("Wrong client address, authentication, application context or keys; see the AARE diagnostic.",),
    ),
    274: (
        "rejected transient",
        "The meter rejected the association for now (AARE result rejected-transient).",
        ("The meter is busy or has no free association; retry later.",),
    ),
    275: ("no reason given", "The meter rejected the association without a reason (AARE diagnostic 1).", ()),
    276: (
        "application context name not supported",
        "The meter does not support the proposed application context (AARE diagnostic 2).",
        ("Switch between logical-name and short-name referencing, or enable or disable ciphering.",),
    ),
    277: (
        "authentication mechanism name not recognised",
        "The meter does not support the authentication mechanism (AARE diagnostic 11).",
        (),
    ),
    278: (
        "authentication mechanism name required",
        "The client address needs authentication but none was proposed (AARE diagnostic 12).",
        (),
    ),
    279: (
        "authentication failure",
        "The meter refused the password or the HLS answer (AARE diagnostic 13).",
        ("Wrong password (LLS) or wrong keys (HLS); keys typed as ASCII instead of hex.",),
    ),
    280: (
        "authentication required",
        "The meter asks for authentication (AARE diagnostic 14).",
        ("Set the authentication level and password or keys for this client address.",),
    ),
    283: (
        "invalid invoke id",
        "The answer carries another invoke id than the request.",
        ("A late answer to an earlier request.",),
    ),
    284: (
        "invocation counter too small",
        "A ciphered answer from the meter had an invocation counter not higher than the previous one.",
        ("A replayed or stale frame, or the client kept a counter from another meter.",),
    ),
    285: (
        "deciphering error",
        "The library could not decipher or authenticate the meter's answer.",
        ("Wrong block cipher key, authentication key or server system title.",),
    ),
}

_DECIMAL = re.compile(r"[+-]?[0-9]{1,30}")  # bounded: int() refuses very long digit strings
_HEXADECIMAL = re.compile(r"0[xX][0-9a-fA-F]{1,30}")
_HEX_BYTES = re.compile(r"(?:[0-9a-fA-F]{2}\s*)+")
_EXCEPTION_RESPONSE_TAG = 0xD8
_CONFIRMED_SERVICE_ERROR_TAG = 0x0E


def explain(code: str | int) -> list[Explanation]:
    """Every plausible reading of an error number or name, most likely first.

    ``code`` may be

    - a number (``12``, ``-2147483645``, ``"0x80000003"``): read as a Data-Access-/Action-Result, an
      exception-response state or service error, an AARE result or diagnostic, and as a number printed by
      the Gurux libraries (0..250 the meter's result passed through, 0x80000000 | n exception-response
      service-error n, 0x40000000 | ... confirmed-service-error, 0x20000000 | errno communication error,
      251 and up errors raised inside the client library);
    - the hex bytes of an exception-response (``"D8 01 03"``) or confirmed-service-error (``"0E 01 06 01"``);
    - a name (``"type-unmatched"``, ``"read_write_denied"``).

    Returns an empty list when there is no reading; never raises for any ``str`` or ``int``.
    """
    if isinstance(code, int):
        return _explain_number(code)
    text = code.strip()
    if _DECIMAL.fullmatch(text):
        return _explain_number(int(text))
    if _HEXADECIMAL.fullmatch(text):
        return _explain_number(int(text, 16))
    if _HEX_BYTES.fullmatch(text):
        readings = _explain_apdu(bytes.fromhex(re.sub(r"\s+", "", text)))
        if readings:
            return readings
    return _explain_name(text)


def _member_reading(member: ResultCode) -> Explanation:
    title = f"{_KIND[type(member)]} {member.value}: {member.standard_name}"
    return Explanation(title, member.description, (member.hint,) if member.hint else ())


def _explain_number(number: int) -> list[Explanation]:
    readings = [
        _member_reading(member) for kind in _BARE_NUMBER_KINDS if (member := kind.lookup(number)) is not None
    ]
    gurux = _explain_gurux(number)
    if gurux is not None:
        readings.append(gurux)
    return readings


def _explain_gurux(number: int) -> Explanation | None:
    if not -(2**31) <= number <= 0xFFFFFFFF:
        return None
    if number in _GURUX_LIBRARY_CODES:
        return _gurux_library_reading(number)
    unsigned = number & 0xFFFFFFFF
    shown = f"Gurux error {number} (0x{unsigned:08X})"
    if unsigned & _GURUX_EXCEPTION_RESPONSE:
        service = unsigned & ~_GURUX_EXCEPTION_RESPONSE
        return _gurux_exception_response(shown, service) if service <= 0xFF else None
    if unsigned & _GURUX_CONFIRMED_SERVICE_ERROR:
        low = unsigned & ~_GURUX_CONFIRMED_SERVICE_ERROR
        if low > 0xFFFFFF:
            return None
        return _confirmed_service_error(shown, low >> 16, (low >> 8) & 0xFF, low & 0xFF)
    if unsigned & _GURUX_COMMUNICATION_ERROR:
        code = unsigned & ~_GURUX_COMMUNICATION_ERROR
        name = errno.errorcode.get(code, "")
        return Explanation(
            f"{shown}: communication error {code}",
            f"The operating system reported error {code} ({name + ': ' if name else ''}{os.strerror(code)} "
            "on this system) while opening, reading or writing the port or socket; on Windows the number "
            "is a GetLastError/WinSock code.",
            (
                "Wrong port name or IP address, port in use by another program, or the meter or modem is "
                "unreachable.",
            ),
        )
    if number < _GURUX_FIRST_LIBRARY_CODE:
        return None  # 0..250: the meter's own result, already read as Data-Access-/Action-Result
    return Explanation(
        f"Gurux error {number}",
        "Not a DLMS result code: Gurux client libraries use 251 and up for errors raised inside the "
        "library, not by the meter; this number is not in dlmskit's table.",
    )


def _gurux_library_reading(number: int) -> Explanation:
    name, meaning, causes = _GURUX_LIBRARY_CODES[number]
    return Explanation(
        f"Gurux client-library error {number}: {name}",
        f"Raised inside the Gurux client library, not by the meter. {meaning}",
        causes,
    )


def _gurux_exception_response(shown: str, service: int) -> Explanation:
    member = ServiceError.lookup(service)
    if member is None:
        return Explanation(
            f"{shown}: exception-response, service-error {service}",
            "The meter answered with an exception-response (D8) whose service-error is not defined.",
        )
    return Explanation(
        f"{shown}: exception-response, service-error {service} {member.standard_name}",
        "The meter answered with an exception-response (D8) instead of the normal response. "
        f"{member.description}",
        (member.hint,) if member.hint else (),
    )


def _confirmed_service_error(shown: str, service: int, choice: int, value: int) -> Explanation:
    service_member = ConfirmedServiceErrorService.lookup(service)
    choice_member = ConfirmedServiceErrorChoice.lookup(choice)
    detail = service_error_detail(choice, value)
    names = [
        member.standard_name if member is not None else str(number)
        for member, number in ((service_member, service), (choice_member, choice), (detail, value))
    ]
    meaning = "The meter answered with a confirmed-service-error (0E)."
    if service_member is not None:
        meaning += f" {service_member.description}"
    if detail is not None:
        meaning += f" {detail.description}"
    causes = tuple(member.hint for member in (service_member, detail) if member is not None and member.hint)
    return Explanation(f"{shown}: confirmed-service-error {' / '.join(names)}", meaning, causes)


def _explain_apdu(apdu: bytes) -> list[Explanation]:
    shown = f"APDU {apdu.hex(' ').upper()}"
    if apdu[0] == _EXCEPTION_RESPONSE_TAG and len(apdu) in (3, 7):
        state = StateError.lookup(apdu[1])
        service = ServiceError.lookup(apdu[2])
        readings = [
            _member_reading(member) if member is not None else Explanation(f"{kind} {number}", "Not defined.")
            for member, kind, number in (
                (state, _KIND[StateError], apdu[1]),
                (service, _KIND[ServiceError], apdu[2]),
            )
        ]
        if len(apdu) == 7:
            expected = int.from_bytes(apdu[3:], "big")
            readings.append(
                Explanation(
                    f"{shown}: expected invocation counter {expected}",
                    f"The meter expects the next ciphered APDU to carry an invocation counter of at least "
                    f"{expected}.",
                )
            )
        return readings
    if apdu[0] == _CONFIRMED_SERVICE_ERROR_TAG and len(apdu) == 4:
        return [_confirmed_service_error(shown, apdu[1], apdu[2], apdu[3])]
    return []


def _explain_name(text: str) -> list[Explanation]:
    readings = [_member_reading(member) for kind in _KIND if (member := kind.from_name(text)) is not None]
    wanted = _normalise(text)
    readings += [
        _gurux_library_reading(number)
        for number, (name, _, _) in _GURUX_LIBRARY_CODES.items()
        if _normalise(name) == wanted
    ]
    return readings
