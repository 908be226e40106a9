"""The CLI's suite 1/2 options: --auth ecdsa --suite N --signing-key PEM --meter-cert PEM, against the simulator."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from tests.simulator.test_suites import AKS, KEYS, ecdsa_meter  # noqa: F401  (the fixture)

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.simulator import SimulatedMeter, SimulatorThread
from dlmskit.simulator.model import load_model


def test_read_with_hls_ecdsa_suite_2(
    ecdsa_meter: tuple[Path, dict[int, dict[str, Path]]],  # noqa: F811
    tmp_path: Path,
) -> None:
    model_path, keys = ecdsa_meter
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    try:
        common = [
            "--port", str(running.port), "--transport", "wrapper", "--client", "49", "--auth", "ecdsa",
            "--suite", "2", "--security", "auth-enc", "--key", KEYS[2], "--auth-key", AKS[2],
            "--meter-cert", str(keys[2]["meter_cert"]),
        ]  # fmt: skip
        env = {"COLUMNS": "200", "XDG_STATE_HOME": str(tmp_path / "state")}
        runner = CliRunner()
        good = runner.invoke(
            cli, ["read", "0.0.42.0.0.255", *common, "--signing-key", str(keys[2]["client_key"])], env=env
        )
        assert good.exit_code == 0, good.output
        assert "MMM" in good.stdout
        # The suite 1 key of another client: the meter refuses the signature, the CLI says so in words.
        bad = runner.invoke(
            cli, ["read", "0.0.42.0.0.255", *common, "--signing-key", str(keys[1]["client_key"])], env=env
        )
        assert bad.exit_code != 0
        assert "secp256r1" in bad.output and "Traceback" not in bad.output
    finally:
        running.stop()


def test_decode_verifies_signatures_and_deciphers_agreed_keys(tmp_path: Path) -> None:
    from tests.session.test_ecdsa import CLIENT_KEYS, SERVER_KEYS
    from tests.translator.test_suites_trace import KEYS as SESSION_KEYS
    from tests.translator.test_suites_trace import _trace

    from dlmskit.security.certificates import private_key_pem, public_key_pem
    from dlmskit.security.general import KeyAgreementScheme

    items = _trace(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN)
    trace = tmp_path / "trace.txt"
    trace.write_text(
        "\n".join(f"{'TX' if item.line % 2 else 'RX'}: {item.data.hex(' ').upper()}" for item in items) + "\n"
    )
    (tmp_path / "meter.key.pem").write_bytes(private_key_pem(SERVER_KEYS[1]))
    (tmp_path / "client.key.pem").write_bytes(private_key_pem(CLIENT_KEYS[1]))
    (tmp_path / "client.pub.pem").write_bytes(public_key_pem(CLIENT_KEYS[1].public_key()))
    (tmp_path / "meter.pub.pem").write_bytes(public_key_pem(SERVER_KEYS[1].public_key()))
    result = CliRunner().invoke(
        cli,
        [
            "decode",
            "--file",
            str(trace),
            "--key",
            SESSION_KEYS[0].hex(),
            "--auth-key",
            SESSION_KEYS[1].hex(),
            "--private-key",
            str(tmp_path / "meter.key.pem"),
            "--private-key",
            str(tmp_path / "client.key.pem"),
            "--public-key",
            str(tmp_path / "client.pub.pem"),
            "--public-key",
            str(tmp_path / "meter.pub.pem"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "signature verifies" in result.stdout and "GetResponseNormal" in result.stdout


def test_ca_cert_and_policy_bits_options(tmp_path: Path) -> None:
    from tests.simulator.test_suites import CLIENT_TITLE, _ca_meter

    model_path, paths = _ca_meter(tmp_path)
    running = SimulatorThread(
        SimulatedMeter(load_model(model_path), state_dir=tmp_path), link="wrapper", port=0
    )
    try:
        common = [
            "--port", str(running.port), "--transport", "wrapper", "--client", "53", "--auth", "ecdsa",
            "--suite", "1", "--key", KEYS[1], "--auth-key", AKS[1], "--system-title", CLIENT_TITLE.hex(),
            "--signing-key", str(paths["client_key"]), "--meter-cert", str(paths["meter_cert"]),
            "--policy-bits", "0x6C",
        ]  # fmt: skip
        env = {"COLUMNS": "200", "XDG_STATE_HOME": str(tmp_path / "state")}
        runner = CliRunner()
        good = runner.invoke(cli, ["read", "0.0.42.0.0.255", *common, "--ca-cert", str(paths["ca"])], env=env)
        assert good.exit_code == 0, good.output
        wrong = runner.invoke(
            cli, ["read", "0.0.42.0.0.255", *common, "--ca-cert", str(paths["other_ca"])], env=env
        )
        assert wrong.exit_code != 0
        assert "not by the CA CN=another root" in wrong.output and "Traceback" not in wrong.output
    finally:
        running.stop()
