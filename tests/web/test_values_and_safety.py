"""Editors typed from the model, values shown with names, and the binding rule (no meter needed)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.codec import axdr
from dlmskit.cosem import get_class
from dlmskit.errors import ConfigurationError
from dlmskit.web import check_bind, is_loopback
from dlmskit.web.values import editor_for, parse_input, show


def _attribute(class_id: int, name: str) -> object:
    model = get_class(class_id)
    assert model is not None
    found = model.attribute(name)
    assert found is not None
    return found


def test_an_enum_attribute_gets_a_choice_of_its_names() -> None:
    control_mode = _attribute(70, "control_mode")
    editor = editor_for(control_mode.type, control_mode.enum_names)  # type: ignore[attr-defined]
    assert editor.kind == "enum"
    assert 4 in dict(editor.choices) and all(isinstance(label, str) for _, label in editor.choices)
    assert parse_input("4", editor) == 4


def test_a_clock_time_is_edited_as_iso_text() -> None:
    time = _attribute(8, "time")
    editor = editor_for(time.type)  # type: ignore[attr-defined]
    assert editor.kind == "datetime"
    assert parse_input("2026-01-01T12:00:00+01:00", editor) == dt.datetime.fromisoformat(
        "2026-01-01T12:00:00+01:00"
    )
    with pytest.raises(ConfigurationError, match="ISO 8601"):
        parse_input("tomorrow", editor)


def test_integers_are_bounded_by_their_type() -> None:
    editor = editor_for(axdr.DataType.LONG_UNSIGNED)
    assert (editor.kind, editor.minimum, editor.maximum) == ("integer", 0, 65535)
    with pytest.raises(ConfigurationError, match="whole number"):
        parse_input("12a", editor)


def test_scaler_unit_is_shown_with_the_units_name() -> None:
    scaler_unit = _attribute(3, "scaler_unit")
    shown = show(axdr.Structure([axdr.Integer(-1), axdr.Enum(30)]), scaler_unit.type)  # type: ignore[attr-defined]
    assert shown.text == "scaler -1, unit Wh (30)"


def test_an_enum_value_is_shown_with_its_name() -> None:
    control_state = _attribute(70, "control_state")
    shown = show(axdr.Enum(1), control_state.type, control_state.enum_names)  # type: ignore[attr-defined]
    assert shown.type == "enum" and "(1)" in shown.text and shown.text != "1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "meters.example"])
def test_other_addresses_need_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigurationError, match="login token"):
        check_bind(host, None)
    check_bind(host, "a-long-enough-token")


def test_the_command_refuses_to_bind_beyond_loopback_without_a_token() -> None:
    result = CliRunner().invoke(cli, ["web", "--bind", "0.0.0.0"], env={"DLMSKIT_WEB_TOKEN": ""})
    assert result.exit_code == 2
    assert "login token" in result.stderr
