"""Result codes: values and names from the standard, lookups that never raise, explain() on the seeds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.apdu.results import (
    SERVICE_ERROR_DETAILS,
    AccessError,
    AcseServiceProvider,
    AcseServiceUser,
    ActionResult,
    ApplicationReferenceError,
    AssociationResult,
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    DataAccessResult,
    DefinitionError,
    Explanation,
    HardwareResourceError,
    InitiateError,
    LoadDataSetError,
    ResultCode,
    ServiceError,
    ServiceErrorDetail,
    StateError,
    TaskError,
    VdeStateError,
    explain,
    service_error_detail,
)

# Values and standard names: shared/reference/dlms-facts.md sections 5 and 8, and the public ASN.1 of
# IEC 62056-5-3 (ServiceError) as reproduced in open-source DLMS stacks.
STANDARD: dict[type[ResultCode], dict[int, str]] = {
    DataAccessResult: {
        0: "success",
        1: "hardware-fault",
        2: "temporary-failure",
        3: "read-write-denied",
        4: "object-undefined",
        9: "object-class-inconsistent",
        11: "object-unavailable",
        12: "type-unmatched",
        13: "scope-of-access-violated",
        14: "data-block-unavailable",
        15: "long-get-aborted",
        16: "no-long-get-in-progress",
        17: "long-set-aborted",
        18: "no-long-set-in-progress",
        19: "data-block-number-invalid",
        250: "other-reason",
    },
    ActionResult: {
        0: "success",
        1: "hardware-fault",
        2: "temporary-failure",
        3: "read-write-denied",
        4: "object-undefined",
        9: "object-class-inconsistent",
        11: "object-unavailable",
        12: "type-unmatched",
        13: "scope-of-access-violated",
        14: "data-block-unavailable",
        15: "long-action-aborted",
        16: "no-long-action-in-progress",
        250: "other-reason",
    },
    StateError: {1: "service-not-allowed", 2: "service-unknown"},
    ServiceError: {
        1: "operation-not-possible",
        2: "service-not-supported",
        3: "other-reason",
        4: "pdu-too-long",
        5: "deciphering-error",
        6: "invocation-counter-error",
    },
    ConfirmedServiceErrorService: {
        1: "initiateError",
        2: "getStatus",
        3: "getNameList",
        4: "getVariableAttribute",
        5: "read",
        6: "write",
        7: "getDataSetAttribute",
        8: "getTIAttribute",
        9: "changeScope",
        10: "start",
        11: "stop",
        12: "resume",
        13: "makeUsable",
        14: "initiateLoad",
        15: "loadSegment",
        16: "terminateLoad",
        17: "initiateUpLoad",
        18: "upLoadSegment",
        19: "terminateUpLoad",
    },
    ConfirmedServiceErrorChoice: {
        0: "application-reference",
        1: "hardware-resource",
        2: "vde-state-error",
        3: "service",
        4: "definition",
        5: "access",
        6: "initiate",
        7: "load-data-set",
        8: "change-scope",
        9: "task",
        10: "other",
    },
    ApplicationReferenceError: {
        0: "other",
        1: "time-elapsed",
        2: "application-unreachable",
        3: "application-reference-invalid",
        4: "application-context-unsupported",
        5: "provider-communication-error",
        6: "deciphering-error",
    },
    HardwareResourceError: {
        0: "other",
        1: "memory-unavailable",
        2: "processor-resource-unavailable",
        3: "mass-storage-unavailable",
        4: "other-resource-unavailable",
    },
    VdeStateError: {
        0: "other",
        1: "no-dlms-context",
        2: "loading-data-set",
        3: "status-nochange",
        4: "status-inoperable",
    },
    ServiceErrorDetail: {0: "other", 1: "pdu-size", 2: "service-unsupported"},
    DefinitionError: {
        0: "other",
        1: "object-undefined",
        2: "object-class-inconsistent",
        3: "object-attribute-inconsistent",
    },
    AccessError: {
        0: "other",
        1: "scope-of-access-violated",
        2: "object-access-violated",
        3: "hardware-fault",
        4: "object-unavailable",
    },
    InitiateError: {
        0: "other",
        1: "dlms-version-too-low",
        2: "incompatible-conformance",
        3: "pdu-size-too-short",
        4: "refused-by-the-VDE-Handler",
    },
    LoadDataSetError: {
        0: "other",
        1: "primitive-out-of-sequence",
        2: "not-loadable",
        3: "dataset-size-too-large",
        4: "not-awaited-segment",
        5: "interpretation-failure",
        6: "storage-failure",
        7: "data-set-not-ready",
    },
    TaskError: {0: "other", 1: "no-remote-control", 2: "ti-stopped", 3: "ti-running", 4: "ti-unusable"},
    AssociationResult: {0: "accepted", 1: "rejected-permanent", 2: "rejected-transient"},
    AcseServiceUser: {
        0: "null",
        1: "no-reason-given",
        2: "application-context-name-not-supported",
        3: "calling-AP-title-not-recognized",
        4: "calling-AP-invocation-identifier-not-recognized",
        5: "calling-AE-qualifier-not-recognized",
        6: "calling-AE-invocation-identifier-not-recognized",
        7: "called-AP-title-not-recognized",
        8: "called-AP-invocation-identifier-not-recognized",
        9: "called-AE-qualifier-not-recognized",
        10: "called-AE-invocation-identifier-not-recognized",
        11: "authentication-mechanism-name-not-recognised",
        12: "authentication-mechanism-name-required",
        13: "authentication-failure",
        14: "authentication-required",
    },
    AcseServiceProvider: {0: "null", 1: "no-reason-given", 2: "no-common-acse-version"},
}
ENUMS = list(STANDARD)
MEMBERS = [member for enum in ENUMS for member in enum]


@pytest.mark.parametrize("enum", ENUMS, ids=lambda enum: enum.__name__)
def test_values_and_standard_names(enum: type[ResultCode]) -> None:
    assert {member.value: member.standard_name for member in enum} == STANDARD[enum]


@pytest.mark.parametrize("member", MEMBERS, ids=repr)
def test_every_member_is_documented(member: ResultCode) -> None:
    assert isinstance(member, int)
    assert member.description[0].isupper()
    assert member.description.endswith(".")
    assert member.hint == "" or member.hint.endswith(".")


@pytest.mark.parametrize("member", MEMBERS, ids=repr)
def test_lookups_find_every_member(member: ResultCode) -> None:
    enum = type(member)
    assert enum.lookup(member.value) is member
    assert enum(member.value) is member
    assert enum.from_name(member.standard_name) is member
    assert enum.from_name(member.name) is member
    assert enum.from_name(member.name.lower()) is member
    assert enum.from_name(member.standard_name.upper().replace("-", " ")) is member


def test_python_names_follow_the_standard() -> None:
    assert DataAccessResult.READ_WRITE_DENIED.standard_name == "read-write-denied"
    assert AcseServiceUser.CALLING_AP_TITLE_NOT_RECOGNIZED.standard_name == "calling-AP-title-not-recognized"
    assert InitiateError.REFUSED_BY_THE_VDE_HANDLER.value == 4


@settings(max_examples=100)
@given(st.integers())
def test_lookup_of_unknown_values_returns_none(value: int) -> None:
    for enum in ENUMS:
        member = enum.lookup(value)
        assert member is None if value not in STANDARD[enum] else member == value


@pytest.mark.parametrize("enum", ENUMS, ids=lambda enum: enum.__name__)
def test_from_name_of_unknown_names_returns_none(enum: type[ResultCode]) -> None:
    assert enum.from_name("no-such-result") is None
    assert enum.from_name("") is None


def test_service_error_details() -> None:
    # confirmed-service-error 0E 01 06 01 = initiate error, dlms-version-too-low (dlms-facts.md section 8).
    assert service_error_detail(6, 1) is InitiateError.DLMS_VERSION_TOO_LOW
    assert service_error_detail(5, 2) is AccessError.OBJECT_ACCESS_VIOLATED
    assert service_error_detail(3, 2) is ServiceErrorDetail.SERVICE_UNSUPPORTED
    assert service_error_detail(6, 9) is None
    assert service_error_detail(8, 0) is None  # change-scope has no detail enum
    assert service_error_detail(99, 0) is None
    assert set(SERVICE_ERROR_DETAILS) == set(ConfirmedServiceErrorChoice) - {
        ConfirmedServiceErrorChoice.CHANGE_SCOPE,
        ConfirmedServiceErrorChoice.OTHER,
    }


# -- explain -----------------------------------------------------------------------------------------------


def titles(code: str | int) -> list[str]:
    return [reading.title for reading in explain(code)]


def test_seed_12_type_unmatched() -> None:
    # Seed 001: a token gateway enter() with a visible-string answered "com_method failed. 12".
    readings = explain(12)
    assert readings[0].title == "Data-Access-Result 12: type-unmatched"
    assert readings[1].title == "Action-Result 12: type-unmatched"
    assert "another data type" in readings[1].meaning
    assert any("octet-string of 20 ASCII digits" in cause for cause in readings[1].likely_causes)
    assert "AARE diagnostic acse-service-user 12: authentication-mechanism-name-required" in titles(12)


@pytest.mark.parametrize("code", [-2147483645, "-2147483645", "0x80000003", "0X80000003", 0x80000003])
def test_seed_minus_2147483645_exception_response_other_reason(code: str | int) -> None:
    # Seed 000: "com_method failed. -2147483645" with LLS, fixed by HLS-GMAC and keys entered as hex.
    (reading,) = explain(code)
    assert "(0x80000003): exception-response, service-error 3 other-reason" in reading.title
    assert "exception-response" in reading.meaning
    (cause,) = reading.likely_causes
    for words in ("keys typed as ASCII instead of hex", "system title", "security policy", "HLS-GMAC"):
        assert words in cause


def test_seed_258_invalid_parameter() -> None:
    # Seed 000: "com_method failed. 258" for a disconnect method called without its integer(0) parameter.
    (reading,) = explain(258)
    assert reading.title == "Gurux client-library error 258: invalid parameter"
    assert "not by the meter" in reading.meaning
    assert reading.likely_causes[0] == (
        "The method parameter was missing or of the wrong type; Disconnect control methods need integer(0)."
    )


@pytest.mark.parametrize("name", ["type-unmatched", "type_unmatched", "TYPE_UNMATCHED", " Type Unmatched "])
def test_explain_names(name: str) -> None:
    assert titles(name) == ["Data-Access-Result 12: type-unmatched", "Action-Result 12: type-unmatched"]


def test_explain_name_found_in_several_enums() -> None:
    assert titles("read_write_denied") == [
        "Data-Access-Result 3: read-write-denied",
        "Action-Result 3: read-write-denied",
    ]
    assert "exception-response service-error 3: other-reason" in titles("other-reason")
    assert "Data-Access-Result 250: other-reason" in titles("other-reason")
    assert "AARE diagnostic acse-service-user 13: authentication-failure" in titles("authentication-failure")
    assert "Gurux client-library error 279: authentication failure" in titles("authentication-failure")
    assert titles("invalid parameter") == ["Gurux client-library error 258: invalid parameter"]


def test_explain_exception_response_bytes() -> None:
    assert titles("D8 01 03") == [
        "exception-response state-error 1: service-not-allowed",
        "exception-response service-error 3: other-reason",
    ]
    readings = explain("d80206 0000002A")
    assert [reading.title for reading in readings[:2]] == [
        "exception-response state-error 2: service-unknown",
        "exception-response service-error 6: invocation-counter-error",
    ]
    assert "at least 42" in readings[2].meaning
    assert titles("D8 07 09") == ["exception-response state-error 7", "exception-response service-error 9"]


def test_explain_confirmed_service_error_bytes() -> None:
    # 0E 01 06 01: initiate error, dlms-version-too-low (shared/reference/dlms-facts.md section 8).
    (reading,) = explain("0E010601")
    assert (
        reading.title
        == "APDU 0E 01 06 01: confirmed-service-error initiateError / initiate / dlms-version-too-low"
    )
    assert "DLMS version is too low" in reading.meaning
    assert "Propose DLMS version 6 in the InitiateRequest." in reading.likely_causes
    (unknown,) = explain("0E 63 0A 05")
    assert unknown.title.endswith("confirmed-service-error 99 / other / 5")


def test_explain_gurux_confirmed_service_error() -> None:
    (reading,) = explain(0x40000000 | 1 << 16 | 6 << 8 | 3)
    assert (
        "(0x40010603): confirmed-service-error initiateError / initiate / pdu-size-too-short" in reading.title
    )


def test_explain_gurux_communication_error() -> None:
    (reading,) = explain(0x20000000 | 2)
    assert reading.title == "Gurux error 536870914 (0x20000002): communication error 2"
    assert "ENOENT" in reading.meaning


def test_explain_gurux_library_codes() -> None:
    assert titles(285) == ["Gurux client-library error 285: deciphering error"]
    assert titles(-2) == ["Gurux client-library error -2: rejected"]
    assert titles(1000) == ["Gurux error 1000"]
    assert titles(273) == ["Gurux client-library error 273: rejected permanent"]


def test_explain_small_numbers_read_in_every_plausible_enum() -> None:
    assert titles(2) == [
        "Data-Access-Result 2: temporary-failure",
        "Action-Result 2: temporary-failure",
        "exception-response state-error 2: service-unknown",
        "exception-response service-error 2: service-not-supported",
        "AARE result 2: rejected-transient",
        "AARE diagnostic acse-service-user 2: application-context-name-not-supported",
        "AARE diagnostic acse-service-provider 2: no-common-acse-version",
    ]
    assert titles(17) == ["Data-Access-Result 17: long-set-aborted"]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "nonsense",
        "C7",
        "D8",
        "D8 01",
        "0x",
        "1" * 5000,
        "0x" + "F" * 40,
        2**40,
        -(2**40),
        0x800001FF,
    ],
)
def test_explain_without_reading_returns_nothing(code: str | int) -> None:
    assert explain(code) == []


def test_explanation_is_a_frozen_value() -> None:
    reading = Explanation("t", "m")
    assert reading.likely_causes == ()
    with pytest.raises(AttributeError):
        reading.title = "other"  # type: ignore[misc]


@settings(max_examples=200)
@given(
    st.integers(-(2**40), 2**40)
    | st.text(max_size=20)
    | st.binary(max_size=8).map(lambda data: data.hex(" "))
)
def test_explain_never_raises(code: str | int) -> None:
    for reading in explain(code):
        assert reading.title
        assert reading.meaning
