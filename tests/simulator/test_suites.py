"""Suites 1 and 2 end to end: HLS-ECDSA associations of the simulator from the model, our client over TCP."""

from __future__ import annotations

import datetime
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dlmskit.client import DlmsClient
from dlmskit.codec import axdr
from dlmskit.errors import ConfigurationError, DlmsError
from dlmskit.security import agreement
from dlmskit.security.certificates import (
    CertificateError,
    CertificateUsage,
    ca_certificate,
    certificate_public_key,
    issue_certificate,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    self_signed_certificate,
)
from dlmskit.security.ecc import encode_public_key, generate_private_key
from dlmskit.simulator import SimulatedMeter, SimulatorThread
from dlmskit.simulator.model import load_model, parse_model

SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("444C4B0000000001")
KEYS = {1: "000102030405060708090A0B0C0D0E0F", 2: "000102030405060708090A0B0C0D0E0F" * 2}
AKS = {1: "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF", 2: "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF" * 2}


def _write_keys(directory: Path, suite: int) -> dict[str, Path]:
    """Key pairs of both sides as PEM files: private keys, the meter's certificate, the client's public key."""
    meter_key, client_key = generate_private_key(suite), generate_private_key(suite)
    paths = {
        "meter_key": directory / f"meter{suite}.key.pem",
        "meter_cert": directory / f"meter{suite}.cert.pem",
        "client_key": directory / f"client{suite}.key.pem",
        "client_pub": directory / f"client{suite}.pub.pem",
    }
    paths["meter_key"].write_bytes(private_key_pem(meter_key))
    certificate = self_signed_certificate(meter_key, SERVER_TITLE)
    paths["meter_cert"].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths["client_key"].write_bytes(private_key_pem(client_key))
    paths["client_pub"].write_bytes(public_key_pem(client_key.public_key()))
    return paths


def _association(sap: int, suite: int, paths: dict[str, Path], policy: str, signed: bool = False) -> str:
    return f"""
[[association]]
client_sap = {sap}
name = "suite {suite}"
mechanism = "ecdsa"
security_suite = {suite}
security_policy = "{policy}"
block_cipher_key = "{KEYS[suite]}"
authentication_key = "{AKS[suite]}"
signing_key = "{paths["meter_key"].name}"
client_public_key = "{paths["client_pub"].name}"
signed_apdus = {"true" if signed else "false"}

[association.access]
default = {{ read = ["*"], methods = ["*"] }}

[[object]]
class_id = 64
version = 1
logical_name = "0.0.43.0.{sap}.255"
name = "Security setup (suite {suite})"
association = {sap}
"""


@pytest.fixture
def ecdsa_meter(tmp_path: Path) -> tuple[Path, dict[int, dict[str, Path]]]:
    """A model file (default model plus HLS-ECDSA clients 48: suite 1, 49: suite 2) and the key files."""
    text = resources.files("dlmskit.simulator").joinpath("default_model.toml").read_text(encoding="utf-8")
    keys = {suite: _write_keys(tmp_path, suite) for suite in (1, 2)}
    extra = (
        _association(48, 1, keys[1], "auth-enc")
        + _association(49, 2, keys[2], "auth-enc")
        + _association(51, 2, keys[2], "auth-enc", signed=True)
        + _association(52, 1, keys[1], "auth-enc").replace(
            'security_policy = "auth-enc"', "security_policy_bits = 0xAC"
        )
    )
    text = text.replace("# -- identity", extra + "\n# -- identity", 1)
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    return path, keys


@pytest.mark.parametrize(("sap", "suite"), [(48, 1), (49, 2)])
def test_our_client_associates_with_hls_ecdsa_and_reads(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path, sap: int, suite: int
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    try:
        with DlmsClient.connect(
            port=running.port,
            link="wrapper",
            client_address=sap,
            authentication="ecdsa",
            security_suite=suite,
            security_policy="auth-enc",
            block_cipher_key=KEYS[suite],
            authentication_key=AKS[suite],
            signing_key=keys[suite]["client_key"],
            meter_certificate=keys[suite]["meter_cert"],
            invocation_counter_path=tmp_path / "counters.json",
        ) as client:
            name = client.read("0.0.42.0.0.255")
            assert isinstance(name, bytes) and len(name) == 16
            assert client.negotiated is not None and client.negotiated.mechanism == 7
        # A client whose key the meter does not know is refused, in words.
        wrong = tmp_path / "wrong.key.pem"
        wrong.write_bytes(private_key_pem(generate_private_key(suite)))
        with (
            pytest.raises(DlmsError, match="refused our HLS answer"),
            DlmsClient.connect(
                port=running.port,
                link="wrapper",
                client_address=sap,
                authentication="ecdsa",
                security_suite=suite,
                security_policy="auth-enc",
                block_cipher_key=KEYS[suite],
                authentication_key=AKS[suite],
                signing_key=wrong,
                meter_certificate=keys[suite]["meter_cert"],
                invocation_counter_path=tmp_path / "counters.json",
            ),
        ):
            pass
    finally:
        running.stop()


@pytest.mark.parametrize(("sap", "suite"), [(48, 1), (49, 2)])
@pytest.mark.parametrize("scheme", ["one-pass-dh", "static-unified"])
@pytest.mark.parametrize("sign_first", [False, True])
def test_key_agreement_schemes_signed_and_ciphered(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]],
    tmp_path: Path,
    sap: int,
    suite: int,
    scheme: str,
    sign_first: bool,
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="hdlc", port=0)
    frames: list[bytes] = []
    try:
        with DlmsClient.connect(
            port=running.port,
            client_address=sap,
            authentication="ecdsa",
            security_suite=suite,
            security_policy="auth-enc",
            block_cipher_key=KEYS[suite],
            authentication_key=AKS[suite],
            signing_key=keys[suite]["client_key"],
            meter_certificate=keys[suite]["meter_cert"],
            key_agreement=scheme,
            sign_apdus=True,
            sign_before_ciphering=sign_first,
            invocation_counter_path=tmp_path / "counters.json",
            on_apdu=lambda direction, apdu: frames.append(bytes(apdu)),
        ) as client:
            assert client.read("0.0.96.1.0.255")
            assert client.read("0.0.1.0.0.255", 2)
    finally:
        running.stop()
    # After the AARQ/AARE, every APDU both ways was general-signing around general-ciphering.
    tags = {apdu[0] for apdu in frames}
    assert (0xDD if sign_first else 0xDF) in tags and not tags & {0xC0, 0xC4, 0xC8, 0xCC}


def test_model_checks_ecdsa_associations(ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]]) -> None:
    model_path, _ = ecdsa_meter
    text = model_path.read_text(encoding="utf-8")
    # Suite 1 keys for a suite 2 association are refused with the key's name.
    broken = text.replace('signing_key = "meter2.key.pem"', 'signing_key = "meter1.key.pem"')
    with pytest.raises(ConfigurationError, match="signing_key"):
        parse_model(broken, str(model_path))
    missing = text.replace('client_public_key = "client1.pub.pem"\n', "")
    with pytest.raises(ConfigurationError, match='"ecdsa" needs'):
        parse_model(missing, str(model_path))


def _connect(
    running: SimulatorThread, tmp_path: Path, key: Path, cert: Path, ek: str = KEYS[1]
) -> DlmsClient:
    return DlmsClient.connect(
        port=running.port,
        link="wrapper",
        client_address=48,
        authentication="ecdsa",
        security_suite=1,
        security_policy="auth-enc",
        block_cipher_key=ek,
        authentication_key=AKS[1],
        signing_key=key,
        meter_certificate=cert,
        invocation_counter_path=tmp_path / "counters.json",
    )


def test_security_setup_v1_key_agreement_and_certificates(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path
) -> None:
    model_path, keys = ecdsa_meter
    paths = keys[1]
    setup = "0.0.43.0.48.255"
    client_key = load_private_key(paths["client_key"])
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    try:
        with _connect(running, tmp_path, paths["client_key"], paths["meter_cert"]) as client:
            assert client.read(setup, 3) == 1  # security_suite
            assert client.read(setup, 2) == 0x6C  # requests and responses authenticated and encrypted
            listed = client.read(setup, 6)
            assert len(listed) == 1 and listed[0][0] == 0 and listed[0][4] == b"CN=4D4D4D0000BC614E"
            # Ephemeral Unified Model: a new global unicast key for the next association.
            ephemeral, data = agreement.start(1, client_key)
            answer = client.call(
                setup, 3, axdr.Array([axdr.Structure([axdr.Enum(0), axdr.OctetString(data)])])
            )
            new_ek = agreement.finish(
                1,
                ephemeral,
                bytes(answer[0][1]),
                server_signing_key=load_public_key(paths["meter_cert"]),
                client_system_title=CLIENT_TITLE,
                server_system_title=SERVER_TITLE,
            )
            # The meter's certificate, exported by entity (server), type (signature) and system title.
            der = client.call(
                setup,
                7,
                axdr.Structure(
                    [
                        axdr.Enum(0),
                        axdr.Structure([axdr.Enum(0), axdr.Enum(0), axdr.OctetString(SERVER_TITLE)]),
                    ]
                ),
            )
            exported = x509.load_der_x509_certificate(bytes(der))
            assert encode_public_key(certificate_public_key(exported)) == encode_public_key(
                load_public_key(paths["meter_cert"])
            )
            # A new client key pair: its certificate imported, used from the next association on.
            new_client = generate_private_key(1)
            certificate = self_signed_certificate(new_client, CLIENT_TITLE)
            client.call(setup, 6, axdr.OctetString(certificate.public_bytes(serialization.Encoding.DER)))
        (tmp_path / "new.key.pem").write_bytes(private_key_pem(new_client))
        with (  # the old global key is gone
            pytest.raises(DlmsError),
            _connect(running, tmp_path, tmp_path / "new.key.pem", paths["meter_cert"]),
        ):
            pass
        with _connect(
            running, tmp_path, tmp_path / "new.key.pem", paths["meter_cert"], new_ek.hex()
        ) as client:
            # generate_key_pair(digital signature): the meter's key and certificate change; a CSR for it.
            client.call(setup, 4, axdr.Enum(0))
            csr = x509.load_der_x509_csr(bytes(client.call(setup, 5, axdr.Enum(0))))
            assert csr.is_signature_valid
            der = client.call(
                setup,
                7,
                axdr.Structure(
                    [
                        axdr.Enum(0),
                        axdr.Structure([axdr.Enum(0), axdr.Enum(0), axdr.OctetString(SERVER_TITLE)]),
                    ]
                ),
            )
            (tmp_path / "meter-new.pem").write_bytes(
                x509.load_der_x509_certificate(bytes(der)).public_bytes(serialization.Encoding.PEM)
            )
            # remove_certificate by serial number and issuer: the imported client certificate.
            listed = client.read(setup, 6)
            entry = next(e for e in listed if e[0] == 1)
            client.call(setup, 8, axdr.Structure([axdr.Enum(1), axdr.Structure([entry[2], entry[3]])]))
            assert all(e[0] != 1 for e in client.read(setup, 6))
        with (  # the meter's old certificate no longer fits
            pytest.raises(DlmsError, match="does not verify"),
            _connect(running, tmp_path, tmp_path / "new.key.pem", paths["meter_cert"], new_ek.hex()),
        ):
            pass
        with _connect(
            running, tmp_path, tmp_path / "new.key.pem", tmp_path / "meter-new.pem", new_ek.hex()
        ) as client:
            assert client.read("0.0.96.1.0.255")
    finally:
        running.stop()


def test_signed_apdus_required_by_the_model(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    options = {
        "port": running.port,
        "link": "wrapper",
        "client_address": 51,
        "authentication": "ecdsa",
        "security_suite": 2,
        "security_policy": "auth-enc",
        "block_cipher_key": KEYS[2],
        "authentication_key": AKS[2],
        "signing_key": keys[2]["client_key"],
        "meter_certificate": keys[2]["meter_cert"],
        "invocation_counter_path": tmp_path / "counters.json",
    }
    try:
        with DlmsClient.connect(**options, sign_apdus=True) as client:  # type: ignore[arg-type]
            assert client.read("0.0.43.0.51.255", 2) == 0xFC  # authenticated, encrypted and signed, both ways
        with (
            pytest.raises(DlmsError, match="requires signed APDUs"),
            DlmsClient.connect(**options),  # type: ignore[arg-type]
        ):
            pass  # unsigned HLS pass 3: the meter refuses it
    finally:
        running.stop()


def test_key_agreement_suite_2_gives_a_256_bit_key(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path
) -> None:
    model_path, keys = ecdsa_meter
    paths = keys[2]
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    options = {
        "port": running.port,
        "link": "wrapper",
        "client_address": 49,
        "authentication": "ecdsa",
        "security_suite": 2,
        "security_policy": "auth-enc",
        "authentication_key": AKS[2],
        "signing_key": paths["client_key"],
        "meter_certificate": paths["meter_cert"],
        "invocation_counter_path": tmp_path / "counters.json",
    }
    try:
        with DlmsClient.connect(**options, block_cipher_key=KEYS[2]) as client:  # type: ignore[arg-type]
            ephemeral, data = agreement.start(2, load_private_key(paths["client_key"]))
            request = axdr.Array([axdr.Structure([axdr.Enum(0), axdr.OctetString(data)])])
            answer = client.call("0.0.43.0.49.255", "key_agreement", request)
        new_ek = agreement.finish(
            2,
            ephemeral,
            bytes(answer[0][1]),
            server_signing_key=load_public_key(paths["meter_cert"]),
            client_system_title=CLIENT_TITLE,
            server_system_title=SERVER_TITLE,
        )
        assert len(new_ek) == 32
        with DlmsClient.connect(**options, block_cipher_key=new_ek.hex()) as client:  # type: ignore[arg-type]
            assert client.read("0.0.96.1.0.255")
    finally:
        running.stop()


def test_policy_bits_of_the_model_protect_each_direction(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    frames: list[tuple[str, bytes]] = []
    try:
        # 0xAC (Security setup version 1): requests authenticated and encrypted, responses authenticated and
        # signed, not encrypted.
        with DlmsClient.connect(
            port=running.port,
            link="wrapper",
            client_address=52,
            authentication="ecdsa",
            security_suite=1,
            security_policy_bits=0xAC,
            block_cipher_key=KEYS[1],
            authentication_key=AKS[1],
            signing_key=keys[1]["client_key"],
            meter_certificate=keys[1]["meter_cert"],
            invocation_counter_path=tmp_path / "counters.json",
            on_apdu=lambda direction, apdu: frames.append((direction, bytes(apdu))),
        ) as client:
            assert client.read("0.0.43.0.52.255", 2) == 0xAC
    finally:
        running.stop()
    sent = [apdu for direction, apdu in frames if direction == "tx" and apdu[0] not in (0x60, 0x62)]
    received = [apdu for direction, apdu in frames if direction != "tx" and apdu[0] not in (0x61, 0x63)]
    assert sent and all(apdu[0] in (0xC8, 0xCB) and apdu[2] == 0x31 for apdu in sent)
    assert received and all(apdu[0] == 0xDF for apdu in received)


def test_model_checks_policy_bits(ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]]) -> None:
    model_path, _ = ecdsa_meter
    text = model_path.read_text(encoding="utf-8")
    with pytest.raises(ConfigurationError, match="bits 0 and 1"):
        parse_model(
            text.replace("security_policy_bits = 0xAC", "security_policy_bits = 0xAD"), str(model_path)
        )
    with pytest.raises(ConfigurationError, match="needs security_policy"):
        parse_model(
            text.replace(
                "security_policy_bits = 0xAC", 'security_policy_bits = 0xAC\nsecurity_policy = "enc"'
            ),
            str(model_path),
        )


# -- certificates checked against a CA, in the client and in the simulator ---------------------------------


def _ca_meter(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    ca_key = generate_private_key(1)
    ca = ca_certificate(ca_key, "DLMS test root")
    meter_key, client_key = generate_private_key(1), generate_private_key(1)
    pem = serialization.Encoding.PEM
    files = {
        "ca": (ca.public_bytes(pem)),
        "meter_key": private_key_pem(meter_key),
        "meter_cert": issue_certificate(
            meter_key.public_key(), SERVER_TITLE, ca_key=ca_key, ca=ca
        ).public_bytes(pem),
        "client_key": private_key_pem(client_key),
        "client_cert": issue_certificate(
            client_key.public_key(), CLIENT_TITLE, ca_key=ca_key, ca=ca
        ).public_bytes(pem),
        "wrong_title": issue_certificate(
            meter_key.public_key(), bytes.fromhex("4D4D4D0000000009"), ca_key=ca_key, ca=ca
        ).public_bytes(pem),
        "agreement_only": issue_certificate(
            meter_key.public_key(), SERVER_TITLE, ca_key=ca_key, ca=ca, usage=CertificateUsage.KEY_AGREEMENT
        ).public_bytes(pem),
        "expired": issue_certificate(
            meter_key.public_key(),
            SERVER_TITLE,
            ca_key=ca_key,
            ca=ca,
            not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        ).public_bytes(pem),
        "other_ca": ca_certificate(generate_private_key(1), "another root").public_bytes(pem),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(data)
    text = resources.files("dlmskit.simulator").joinpath("default_model.toml").read_text(encoding="utf-8")
    association = f"""
[[association]]
client_sap = 53
name = "suite 1, CA-checked client certificate"
mechanism = "ecdsa"
security_suite = 1
security_policy = "auth-enc"
block_cipher_key = "{KEYS[1]}"
authentication_key = "{AKS[1]}"
signing_key = "meter_key.pem"
client_public_key = "client_cert.pem"
ca_certificate = "ca.pem"

[association.access]
default = {{ read = ["*"], methods = ["*"] }}
"""
    model = tmp_path / "model.toml"
    model.write_text(text.replace("# -- identity", association + "\n# -- identity", 1), encoding="utf-8")
    return model, paths


def test_certificates_checked_against_the_ca_both_ways(tmp_path: Path) -> None:
    model_path, paths = _ca_meter(tmp_path)
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )

    def options(meter_cert: str, ca: str = "ca", title: bytes = CLIENT_TITLE) -> dict[str, object]:
        return {
            "port": running.port,
            "link": "wrapper",
            "client_address": 53,
            "authentication": "ecdsa",
            "security_suite": 1,
            "security_policy": "auth-enc",
            "system_title": title.hex(),
            "block_cipher_key": KEYS[1],
            "authentication_key": AKS[1],
            "signing_key": paths["client_key"],
            "meter_certificate": paths[meter_cert],
            "ca_certificate": paths[ca],
            "invocation_counter_path": tmp_path / "counters.json",
        }

    try:
        with DlmsClient.connect(**options("meter_cert")) as client:  # type: ignore[arg-type]
            assert isinstance(client.read("0.0.42.0.0.255"), bytes)
        # Refused by the client before any byte is sent: wrong CA, expired, wrong key usage.
        with pytest.raises(CertificateError, match="not by the CA CN=another root"):
            DlmsClient.connect(**options("meter_cert", ca="other_ca"))  # type: ignore[arg-type]
        with pytest.raises(CertificateError, match="valid from 2020-01-01"):
            DlmsClient.connect(**options("expired"))  # type: ignore[arg-type]
        with pytest.raises(CertificateError, match="does not allow digitalSignature"):
            DlmsClient.connect(**options("agreement_only"))  # type: ignore[arg-type]
        # A certificate of the CA for another system title than the meter's: refused at the AARE.
        with pytest.raises(DlmsError, match="not the one its certificate names"):
            DlmsClient.connect(**options("wrong_title"))  # type: ignore[arg-type]
        # The meter refuses a client whose system title is not the one its certificate names.
        with pytest.raises(DlmsError, match=r"calling-AP-title|system title"):
            DlmsClient.connect(**options("meter_cert", title=bytes.fromhex("444C4B0000000002")))  # type: ignore[arg-type]
    finally:
        running.stop()


def test_model_refuses_a_client_certificate_of_another_ca(tmp_path: Path) -> None:
    model_path, _paths = _ca_meter(tmp_path)
    text = model_path.read_text(encoding="utf-8")
    with pytest.raises(
        ConfigurationError,
        match="CN=444C4B0000000001 is refused: it is issued by CN=DLMS test root, not by the CA",
    ):
        parse_model(
            text.replace('ca_certificate = "ca.pem"', 'ca_certificate = "other_ca.pem"'), str(model_path)
        )


@pytest.mark.parametrize(("sap", "suite"), [(48, 1), (49, 2)])
def test_client_key_agreement_method(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]], tmp_path: Path, sap: int, suite: int
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    try:
        with DlmsClient.connect(
            port=running.port,
            link="wrapper",
            client_address=sap,
            authentication="ecdsa",
            security_suite=suite,
            security_policy="auth-enc",
            block_cipher_key=KEYS[suite],
            authentication_key=AKS[suite],
            signing_key=keys[suite]["client_key"],
            meter_certificate=keys[suite]["meter_cert"],
            invocation_counter_path=tmp_path / "counters.json",
        ) as client:
            old = client.settings
            new = client.key_agreement(authentication_key=True, logical_name=f"0.0.43.0.{sap}.255")
        assert (
            new.block_cipher_key != old.block_cipher_key and new.authentication_key != old.authentication_key
        )
        with pytest.raises(DlmsError):  # the old keys are gone
            DlmsClient(old).open().close()
        with DlmsClient(new) as client:  # both sides agreed the same new keys
            assert isinstance(client.read("0.0.42.0.0.255"), bytes)
    finally:
        running.stop()
