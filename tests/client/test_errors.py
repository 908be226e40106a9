"""The refusal exceptions: the right subclass, the object, the member, the result code by name and number."""

from __future__ import annotations

import pytest

from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.client import AccessDenied, MeterRefused, ObjectUndefined, Target, TypeUnmatched
from dlmskit.client.errors import describe_object, refusal
from dlmskit.codec.obis import Obis
from dlmskit.errors import DlmsError

DISCONNECT = Target(Obis(0, 0, 96, 3, 10, 255), 70, 1, "remote_disconnect", is_method=True)
ENERGY = Target(Obis(1, 0, 1, 8, 0, 255), 3, 2, "value")


def test_access_denied_names_everything() -> None:
    error = refusal(
        "call", DISCONNECT, ActionResult.READ_WRITE_DENIED, "this association has no method access"
    )
    assert (
        isinstance(error, AccessDenied) and isinstance(error, MeterRefused) and isinstance(error, DlmsError)
    )
    assert str(error) == (
        "calling remote_disconnect (method 1) of 0.0.96.3.10.255 Disconnect control (class 70): the meter "
        "answered read-write-denied (3): The association in use has no right to invoke this method. "
        "Hint: this association has no method access"
    )
    assert (error.result_name, int(error.result), error.target.index) == ("read-write-denied", 3, 1)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (DataAccessResult.READ_WRITE_DENIED, AccessDenied),
        (DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, AccessDenied),
        (DataAccessResult.OBJECT_UNDEFINED, ObjectUndefined),
        (DataAccessResult.TYPE_UNMATCHED, TypeUnmatched),
        (DataAccessResult.TEMPORARY_FAILURE, MeterRefused),
        (77, MeterRefused),
    ],
)
def test_subclass_by_result_code(code: int, kind: type[MeterRefused]) -> None:
    error = refusal("read", ENERGY, code)
    assert type(error) is kind
    assert str(error).startswith("reading value (attribute 2) of 1.0.1.8.0.255 ")


def test_result_hint_is_the_default_and_unknown_codes_say_so() -> None:
    error = refusal("write", ENERGY, DataAccessResult.TEMPORARY_FAILURE)
    assert "temporary-failure (2)" in str(error) and "Hint: The meter is busy" in str(error)
    unknown = refusal("write", ENERGY, 77)
    assert "unknown result (77)" in str(unknown) and "Hint" not in str(unknown)


def test_object_described_by_obis_name_and_class() -> None:
    assert describe_object(Obis(0, 0, 1, 0, 0, 255), 8) == "0.0.1.0.0.255 Clock (class 8)"
    assert describe_object(Obis(1, 0, 1, 8, 0, 255), 3).endswith("(Register, class 3)")
    assert describe_object(Obis(0, 0, 200, 0, 0, 255), 9999) == "0.0.200.0.0.255 Class 9999 (class 9999)"


def test_a_request_names_its_object_only_when_a_message_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OBIS name and the class name cost more than the GET they describe: a read does not compute
    them, and the words are the same as ever when a message renders them."""
    from dlmskit.apdu.conformance import Conformance
    from dlmskit.client import MeterSettings
    from dlmskit.client import errors as errors_module
    from dlmskit.client.core import ClientCore, Doing, Request
    from dlmskit.session.events import Negotiated

    core = ClientCore(MeterSettings())
    _link, session = core.new_association()
    session.assume_associated(Negotiated(Conformance.GET, 1024, 1024, 6, 7, None, 0))
    named: list[Obis] = []
    real_describe = errors_module.describe

    def counting_describe(code: Obis) -> str | None:
        named.append(code)
        return real_describe(code)

    monkeypatch.setattr(errors_module, "describe", counting_describe)
    step = next(core.read("1.0.1.8.0.255"))
    assert isinstance(step, Request) and isinstance(step.context, Doing)
    assert named == []
    assert str(step.context) == (
        "reading value (attribute 2) of 1.0.1.8.0.255 Active energy import (+A), total (Register, class 3)"
    )
    assert named == [ENERGY.logical_name]
    assert str(step.context) == f"reading {ENERGY}"
