"""Named meter profiles: [meter.NAME] tables, env: secrets, clear errors for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmskit.client import MeterSettings, load_meter_profile, profile_names, resolve_settings
from dlmskit.client.profiles import default_profiles_path
from dlmskit.errors import ArgumentError, ConfigurationError, KeyFormatError
from dlmskit.security.keys import SecretBytes

PROFILES = """
[meter.site-a]
host = "10.0.0.7"
link = "wrapper"
client_address = 1
authentication = "gmac"
system_title = "444C4B0000000001"
block_cipher_key = "env:SITE_A_EK"
authentication_key = "env:SITE_A_AK"
timeout = 3

[meter.lab]
port = 4061
client_address = 32
authentication = "low"
password = "env:LAB_PASSWORD"
read_frame_counter_first = false
"""
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "meters.toml"
    path.write_text(PROFILES, encoding="utf-8")
    return path


def test_profile_with_secrets_from_the_environment(profiles: Path) -> None:
    settings = load_meter_profile("site-a", profiles, environ={"SITE_A_EK": EK, "SITE_A_AK": AK})
    assert (settings.host, settings.link, settings.client_address, settings.timeout) == (
        "10.0.0.7",
        "wrapper",
        1,
        3,
    )
    assert isinstance(settings.block_cipher_key, SecretBytes)
    assert settings.block_cipher_key.reveal() == bytes.fromhex(EK)
    assert settings.security_policy == "auth-enc"
    assert profile_names(profiles) == ["lab", "site-a"]


def test_missing_environment_variable_is_named(profiles: Path) -> None:
    with pytest.raises(
        ConfigurationError, match="environment variable SITE_A_AK, which is not set"
    ) as caught:
        load_meter_profile("site-a", profiles, environ={"SITE_A_EK": EK})
    assert EK not in str(caught.value) and "[meter.site-a]" in str(caught.value)


def test_process_environment_is_the_default(profiles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PASSWORD", "12345678")
    settings = load_meter_profile("lab", profiles)
    assert settings.password == SecretBytes(b"12345678")


def test_overrides_win_over_the_profile(profiles: Path) -> None:
    settings = resolve_settings("lab", profiles, {"port": 5000, "password": "abc"})
    assert (settings.port, settings.client_address) == (5000, 32)
    assert load_meter_profile("lab", profiles, password="x", host="meter").host == "meter"
    base = MeterSettings(port=4100)
    assert resolve_settings(base) is base
    assert resolve_settings(base, overrides={"host": "h"}).host == "h"
    assert resolve_settings(None, overrides={"port": 7}).port == 7
    with pytest.raises(ArgumentError, match=r"unknown setting.*colour"):
        resolve_settings(None, overrides={"colour": "red"})
    with pytest.raises(ArgumentError, match="MeterSettings or a profile name"):
        resolve_settings(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[meter.x]\ncolour = 'red'\n", "unknown setting 'colour'"),
        ("[meter.x]\nport = '4059'\n", "port must be a whole number, not str"),
        ("[meter.x]\nport = true\n", "port must be a whole number, not bool"),
        ("[meter.x]\nmode_e = 1\n", "mode_e must be true or false"),
        ("[meter.x]\nhost = 5\n", "host must be text"),
        ("[meter.x]\nauthentication = 'low'\n", r"\[meter.x\]: authentication 'low' needs the password"),
        ("[meter.x\n", "not valid TOML"),
        ("meter = 5\n", "'meter' must hold tables"),
        ("[meter]\nx = 5\n", "meter.x must be a table"),
    ],
)
def test_profile_mistakes_are_explained(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "meters.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=words):
        load_meter_profile("x", path)


def test_wrong_key_in_a_profile_names_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "meters.toml"
    path.write_text(
        "[meter.x]\nauthentication='gmac'\nblock_cipher_key='FFFFFFFFFFFFFFFF'\n", encoding="utf-8"
    )
    with pytest.raises(KeyFormatError, match=r"\[meter.x\]: block cipher key: this looks like 16 ASCII"):
        load_meter_profile("x", path, environ={})


def test_unknown_profile_and_missing_file(profiles: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no profile \[meter\.nope\]; it has: lab, site-a"):
        load_meter_profile("nope", profiles)
    with pytest.raises(ConfigurationError, match="no meter profile file"):
        load_meter_profile("x", tmp_path / "missing.toml")


def test_default_file_follows_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_profiles_path() == tmp_path / "dlmskit" / "meters.toml"
    (tmp_path / "dlmskit").mkdir()
    (tmp_path / "dlmskit" / "meters.toml").write_text(PROFILES, encoding="utf-8")
    assert load_meter_profile("lab", environ={"LAB_PASSWORD": "pw"}).port == 4061
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_profiles_path() == Path.home() / ".config" / "dlmskit" / "meters.toml"
