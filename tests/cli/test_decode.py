"""``dlmskit decode`` and ``dlmskit encode`` run for real: through click's runner and once as a process."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.link.wrapper import WrapperFrame
from dlmskit.translator import parse_xml

DATA = Path(__file__).parents[1] / "translator" / "data"
SEED = DATA / "seed_001_trace.txt"  # Gurux forum trace, shared/seeds/001
SEED_XML = DATA / "seed_001_action.xml"
SRC = Path(__file__).parents[2] / "src"
# Green Book example keys and vector (shared/reference/dlms-facts.md section 3), keys written with spaces.
EK = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
AK = "D0 D1 D2 D3 D4 D5 D6 D7 D8 D9 DA DB DC DD DE DF"
TITLE = "4D4D4D0000BC614E"
GLO_GET = "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B"
SEED_FRAME = "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 2 E9 F1 77 DC 3B 13 F8 6A 86 9A C1 E3 94 5E 6F A2 B5 4D AF 8E 19 18 B3 E7 E0 A0 DD 7E"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_decode_hex_arguments() -> None:
    code, out, _ = run("decode", *SEED_FRAME.split())
    assert code == 0
    assert "TargetAddress = A3  # logical device 1, physical device 35 (2 bytes)" in out
    assert "glo_GetRequest = 3000000002E9F1" in out
    assert "invocation counter 2 (00000002)" in out


def test_decode_file_warns_about_nonce_reuse() -> None:
    code, out, _ = run("decode", "--file", str(SEED))
    assert code == 0
    assert out.startswith("line 4 TX: 7E A0 37")
    assert "warning: nonce reuse: the client used invocation counter 2" in out


def test_decode_standard_input_as_xml_and_json() -> None:
    text = SEED.read_text()
    code, out, _ = run("decode", "-", "--format", "xml", stdin=text)
    assert code == 0
    assert [node.name for node in parse_xml(out)] == ["HDLC"] * 10
    code, out, _ = run("decode", "--file", "-", "--format", "json", stdin=text)
    assert code == 0
    document = json.loads(out)
    assert len(document["items"]) == 10
    assert document["warnings"]


def test_decode_with_green_book_keys_shows_the_plain_get() -> None:
    code, out, _ = run(
        "decode", GLO_GET, "--key", EK, "--auth-key", AK, "--client-title", TITLE, "--format", "xml"
    )
    assert code == 0
    assert "<!-- deciphered with the given keys; the authentication tag verifies -->" in out
    assert '<InstanceId Value="0000010000FF" />' in out


def test_wrong_keys_give_exit_code_1_and_the_rest_of_the_trace() -> None:
    code, out, _ = run(
        "decode",
        "--file",
        str(SEED),
        "--key",
        "00" * 16,
        "--auth-key",
        "00" * 16,
        "--client-title",
        TITLE,
        "--server-title",
        TITLE,
    )
    assert code == 1
    assert out.count("! tag does not verify") == 10
    assert out.count("HDLC len=") == 10


def test_undecodable_item_gives_exit_code_1_after_printing_everything() -> None:
    code, out, _ = run("decode", "-", stdin="C0 01\nC0 01 C1 00 08 00 00 01 00 00 FF 02 00\n")
    assert code == 1
    assert "! cannot decode this APDU" in out
    assert "AttributeId = 02  # time" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("decode", "7E", "A0", "ZZ"), "line 1, column 7: 'Z' is not a hex digit"),
        (("decode", GLO_GET, "--key", "0011", "--auth-key", AK), "block cipher key must be 16 bytes"),
        (
            ("decode", GLO_GET, "--key", "ABCDEFGHIJKLMNOP", "--auth-key", AK),
            "looks like 16 ASCII characters",
        ),
        (
            ("decode", GLO_GET, "--key", EK, "--auth-key", AK, "--client-title", "ABCDEFGH"),
            "4142434445464748",
        ),
        (("decode", GLO_GET, "--key", EK), "give --key and --auth-key together"),
        (("decode",), "give the trace one way"),
        (("decode", "--file", "/nonexistent/trace.txt"), "No such file"),
        (("decode", "--pcap", "/nonexistent/capture.pcap"), "does not exist"),
        (("decode", "--format", "yaml", GLO_GET), "Invalid value for '--format'"),
    ],
)
def test_usage_errors_give_exit_code_2_in_words(args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert message in " ".join((out + err).split())
    assert "Traceback" not in out + err


def test_decode_pcap(tmp_path: Path) -> None:
    apdu = WrapperFrame(0x10, 0x01, bytes.fromhex("C001C100080000010000FF0200")).encode()
    udp = struct.pack(">HHHH", 50000, 4059, 8 + len(apdu), 0) + apdu
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4)) + udp
    packet = bytes(12) + b"\x08\x00" + ip
    capture = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    capture += struct.pack("<IIII", 0, 0, len(packet), len(packet)) + packet
    path = tmp_path / "capture.pcap"
    path.write_bytes(capture)
    code, out, _ = run("decode", "--pcap", str(path))
    assert code == 0
    assert out.startswith("packet 1 TX: 00 01 00 10 00 01 00 0D C0 01")
    assert "WRAPPER len=15" in out


def test_encode_seed_xml_and_standard_input() -> None:
    code, out, _ = run("encode", "--xml", str(SEED_XML))
    assert code == 0
    assert out == "C301810073" + "0000132800FF0101" + "0914" + "0005070108080504050900010907020101020401\n"
    code, out, _ = run("decode", "--format", "xml", out.strip())
    assert code == 0
    code, again, _ = run("encode", "--xml", "-", stdin=out)
    assert again.strip() == "C3018100730000132800FF010109140005070108080504050900010907020101020401"


def test_encode_mistakes_are_one_line() -> None:
    code, out, err = run("encode", "--xml", "-", stdin="<GetRequest>\n<GetRequestNormal>\n</GetRequest>")
    assert code == 2
    assert "line 3, column 3: malformed XML" in " ".join(err.split())
    assert "Traceback" not in out + err


def test_real_process_exit_codes_and_no_tracebacks() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("DLMSKIT_DEBUG", None)

    def process(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dlmskit.cli.main", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    good = process("decode", GLO_GET, "--key", EK, "--auth-key", AK, "--client-title", TITLE)
    assert good.returncode == 0, good.stderr
    assert "GetRequestNormal" in good.stdout
    for args in (
        ("decode", "7E A0 XY"),
        ("decode", GLO_GET, "--key", "00", "--auth-key", AK),
        ("decode", "--file", "/no/such/file"),
    ):
        failed = process(*args)
        assert failed.returncode == 2
        assert "Traceback" not in failed.stderr
        assert failed.stderr.strip()
