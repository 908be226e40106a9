"""MeterSettings for suites 1 and 2: what is refused, in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmskit.client.settings import MeterSettings
from dlmskit.errors import ConfigurationError, KeyFormatError
from dlmskit.security.certificates import private_key_pem, public_key_pem
from dlmskit.security.ecc import generate_private_key


@pytest.fixture
def pems(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for suite in (1, 2):
        key = generate_private_key(suite)
        files[f"key{suite}"] = tmp_path / f"key{suite}.pem"
        files[f"key{suite}"].write_bytes(private_key_pem(key))
        files[f"pub{suite}"] = tmp_path / f"pub{suite}.pem"
        files[f"pub{suite}"].write_bytes(public_key_pem(key.public_key()))
    return files


def test_ecdsa_settings(pems: dict[str, Path]) -> None:
    settings = MeterSettings(
        authentication="hls-ecdsa", security_suite=1, signing_key=pems["key1"], meter_certificate=pems["pub1"]
    )
    assert settings.authentication == "ecdsa" and int(settings.mechanism) == 7
    with pytest.raises(ConfigurationError, match="security_suite 1 or 2"):
        MeterSettings(authentication="ecdsa", signing_key=pems["key1"], meter_certificate=pems["pub1"])
    with pytest.raises(ConfigurationError, match="secp384r1 key belongs to security suite 2"):
        MeterSettings(
            authentication="ecdsa", security_suite=1, signing_key=pems["key2"], meter_certificate=pems["pub1"]
        )
    with pytest.raises(KeyFormatError, match="cannot read the private key file"):
        MeterSettings(
            authentication="ecdsa",
            security_suite=1,
            signing_key="missing.pem",
            meter_certificate=pems["pub1"],
        )


def test_suite_2_keys_are_32_bytes_and_key_agreement_needs_a_policy(pems: dict[str, Path]) -> None:
    with pytest.raises(KeyFormatError, match="32 bytes"):
        MeterSettings(
            security_suite=2,
            security_policy="auth-enc",
            block_cipher_key="00" * 16,
            authentication_key="00" * 32,
        )
    common = {"security_suite": 1, "signing_key": pems["key1"], "meter_certificate": pems["pub1"]}
    with pytest.raises(ConfigurationError, match="give a security_policy"):
        MeterSettings(key_agreement="one-pass-dh", **common)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown key_agreement"):
        MeterSettings(
            key_agreement="ephemeral",
            security_policy="auth-enc",
            block_cipher_key="00" * 16,
            authentication_key="00" * 16,
            **common,
        )  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="sign_apdus"):
        MeterSettings(sign_apdus=True)
