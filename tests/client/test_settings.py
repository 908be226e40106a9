"""MeterSettings: defaults that reach the simulator, key parsing with the ASCII-mistake message, validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dlmskit.client import MeterSettings, default_counter_store_path
from dlmskit.codec.obis import Obis
from dlmskit.errors import ArgumentError, ConfigurationError, KeyFormatError
from dlmskit.security.hls import Mechanism
from dlmskit.security.keys import SecretBytes
from dlmskit.session.protection import SecurityPolicy

EK = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def test_defaults_reach_the_simulators_public_client() -> None:
    settings = MeterSettings()
    assert (settings.host, settings.port, settings.link) == ("127.0.0.1", 4059, "hdlc")
    assert (settings.client_address, settings.server_logical, settings.server_physical) == (16, 1, 17)
    assert settings.mechanism == Mechanism.NONE and settings.policy == SecurityPolicy.NONE
    assert not settings.ciphered
    assert settings.where() == "tcp 127.0.0.1:4059, hdlc server 1/17, client 16 (none)"


def test_gmac_defaults_to_authenticated_and_encrypted_and_keeps_keys_secret() -> None:
    settings = MeterSettings(
        client_address=1, authentication="HLS-GMAC", block_cipher_key=EK, authentication_key=AK
    )
    assert settings.authentication == "gmac" and settings.policy == SecurityPolicy.AUTHENTICATED_ENCRYPTED
    assert isinstance(settings.block_cipher_key, SecretBytes)
    assert settings.block_cipher_key.reveal() == bytes(range(16))
    text = repr(settings)
    assert "0001020304" not in text and "D0D1D2" not in text.upper()
    assert "redacted" in text


def test_the_ascii_key_mistake_is_explained() -> None:
    # The seed's mistake: the vendor's "FFFFFFFFFFFFFFFF" typed where 32 hex digits were meant.
    with pytest.raises(KeyFormatError, match="16 ASCII characters") as caught:
        MeterSettings(authentication="gmac", block_cipher_key="FFFFFFFFFFFFFFFF", authentication_key=AK)
    assert "4646" in str(caught.value)
    with pytest.raises(KeyFormatError, match="ASCII characters; a system title is 8 bytes"):
        MeterSettings(system_title="ABCDEFGH")


def test_passwords_are_kept_as_secret_bytes() -> None:
    settings = MeterSettings(client_address=32, authentication="lls", password="12345678")
    assert settings.authentication == "low" and isinstance(settings.password, SecretBytes)
    assert settings.password.reveal() == b"12345678"
    assert "12345678" not in repr(settings)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"authentication": "low"}, "needs the password"),
        ({"authentication": "md5"}, "needs the secret"),
        ({"authentication": "gmac", "block_cipher_key": EK}, "needs block_cipher_key and authentication_key"),
        ({"security_policy": "auth"}, "needs block_cipher_key"),
        ({"link": "udp"}, "link is 'hdlc' or 'wrapper'"),
        ({"device": "/dev/ttyUSB0", "link": "wrapper"}, "a serial line uses HDLC"),
        ({"mode_e": True}, "needs a serial device"),
        ({"client_address": 300}, "client_address must be 0..127"),
        ({"port": 0}, "port must be 1..65535"),
        ({"timeout": 0}, "timeouts must be positive"),
        ({"hdlc_window_size": 8}, "hdlc_window_size must be 1..7"),
        ({"max_pdu_size": 5}, "max_pdu_size must be 12..65535"),
        ({"dedicated_key": True, "block_cipher_key": EK, "authentication_key": AK}, "dedicated_key needs"),
        ({"system_title": b"short"}, "system_title is 8 bytes"),
    ],
)
def test_settings_that_cannot_work_are_refused_in_words(options: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        MeterSettings(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"authentication": "kerberos"}, "unknown authentication 'kerberos'; use one of: none, low"),
        ({"security_policy": "strong"}, "unknown security policy"),
        (
            {"port": "4777"},
            "port must be a whole number \\(int\\), not str '4777'; write port=4777 without quotes",
        ),
        ({"timeout": "5"}, "timeout must be a number of seconds"),
        ({"mode_e": 1}, "mode_e must be True or False, not int"),
    ],
)
def test_settings_of_the_wrong_type_or_name_are_argument_errors(
    options: dict[str, object], words: str
) -> None:
    with pytest.raises(ArgumentError, match=words):
        MeterSettings(**options)  # type: ignore[arg-type]


def test_replace_keeps_parsed_values() -> None:
    settings = MeterSettings(
        client_address=1, authentication="gmac", block_cipher_key=EK, authentication_key=AK
    )
    moved = dataclasses.replace(settings, host="10.0.0.7", link="wrapper", client_address=1000)
    assert moved.block_cipher_key == settings.block_cipher_key and moved.link == "wrapper"
    assert settings.frame_counter_logical_name == Obis(0, 0, 43, 1, 1, 255)
    assert moved.frame_counter_obis is None
    with pytest.raises(ConfigurationError, match="give frame_counter_obis"):
        moved.frame_counter_logical_name  # noqa: B018
    named = dataclasses.replace(moved, frame_counter_obis="0-0:43.1.7")
    assert named.frame_counter_logical_name == Obis(0, 0, 43, 1, 7, 255)
    assert moved.where() == "tcp 10.0.0.7:4059, wrapper wPort 1, client 1000 (gmac)"


def test_counter_store_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_counter_store_path() == tmp_path / "dlmskit" / "client" / "invocation-counters.json"
    assert MeterSettings().counter_store_path == default_counter_store_path()
    assert (
        MeterSettings(invocation_counter_path=tmp_path / "c.json").counter_store_path == tmp_path / "c.json"
    )
    monkeypatch.delenv("XDG_STATE_HOME")
    assert (
        default_counter_store_path()
        == Path.home() / ".local" / "state" / "dlmskit" / "client" / "invocation-counters.json"
    )


def test_the_keyword_arguments_of_connect_are_the_settings() -> None:
    # connect(**settings: Unpack[MeterOptions]): a setting added to MeterSettings must be added to
    # MeterOptions too, or it cannot be passed to connect() without a mypy error.
    from dlmskit.client import MeterOptions

    assert set(MeterOptions.__annotations__) == {f.name for f in dataclasses.fields(MeterSettings)}
