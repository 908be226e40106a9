"""Model files: the built-in model, the documented example, and errors that name the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlmskit.errors import ConfigurationError
from dlmskit.simulator import SimulatedMeter, default_model, load_model, parse_model

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_default_model_is_the_documented_meter() -> None:
    model = default_model()
    assert model.meter.system_title == bytes.fromhex("4D4D4D0000BC614E")
    assert [a.client_sap for a in model.associations] == [16, 32, 1]
    assert model.association(32) is not None and model.association(32).secret == b"12345678"  # type: ignore[union-attr]
    assert len(SimulatedMeter(model).objects) == len(model.objects)


def test_the_docs_show_the_default_model_in_full() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert default_model().text in blocks
    for block in blocks:
        parse_model(block, "docs/simulator.md")


def _error(text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        SimulatedMeter(parse_model(text, "meter.toml"))
    return str(caught.value)


def _edit(old: str, new: str) -> str:
    text = default_model().text
    assert old in text
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return text[: text.rindex(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('mechanism = "low"', 'mechanism = "lo"', "unknown mechanism 'lo'"),
        ('logical_name = "1.0.1.8.0.255"', 'logical_name = "1.0.1.8.0"', "as an OBIS code"),
        ('password = "12345678"', "password = 12345678", "password must be text"),
        ("time_zone = -420", "time_zone = 99999", "time_zone"),
        ('scaler = -1, unit = "V"', 'scaler = -1, unit = "Vx"', "unknown unit"),
        ("energy = { rate_w = 1200 }", "energy = { rate = 1200 }", "energy is a table"),
        ("frame_counter = 1", "frame_counter = 7", "no [[association]] with client_sap = 7"),
        ('token_format = "ascii"', 'token_format = "hex"', "token_format"),
        ('"1.0.32.7.0.255"]', '"1.0.32.7.0.254"]', "no such object"),
        ('block_cipher_key = "000102030405060708090A0B0C0D0E0F"', 'block_cipher_key = "0001"', "16 bytes"),
        ('token = "1111 2222 3333 4444 5555"', 'token = "1111 2222"', "20 digits"),
        ("measuring_period = 900", "wobble = 1\nmeasuring_period = 900", "unknown key 'wobble'"),
        ('client_sap = 1\nname = "management"', 'client_sap = 32\nname = "management"', "32 is used twice"),
    ],
)
def test_semantic_errors_name_the_line(old: str, new: str, words: str) -> None:
    text = _edit(old, new)
    message = _error(text)
    assert message.startswith(f"meter.toml line {_line_of(text, new.splitlines()[0])}:"), message
    assert words in message


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[meter]\nseed = = 1\n")
    with pytest.raises(ConfigurationError, match=r"broken.toml: not valid TOML: .*line 2"):
        load_model(path)


def test_missing_file_is_said_in_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the model file"):
        load_model(tmp_path / "nope.toml")


def test_a_minimal_model() -> None:
    meter = SimulatedMeter(
        parse_model(
            """
[meter]
serial_number = "42"

[[association]]
client_sap = 16
access = { default = { read = ["*"] } }

[[object]]
class_id = 1
logical_name = "0.0.96.1.0.255"
attributes = { value = { type = "visible-string", value = "42" } }
"""
        )
    )
    assert meter.settings.system_title == b"MMM" + (42).to_bytes(5, "big")
    assert meter.object("0.0.96.1.0.255").read(2, None, None) == "42"
