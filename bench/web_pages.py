"""How fast the web console's pages answer, for a meter with 100 objects (issue 17: "within 200 ms locally").

Serves ``dlmskit web`` with uvicorn on a loopback port, against the simulator's default model grown to 100
objects, associated with HLS-GMAC; then times each page over real HTTP (median and 95th percentile of
``--rounds`` requests, after one warm-up). Measured, not asserted::

    .venv/bin/python bench/web_pages.py [--rounds 30] [--profile-rows 11520]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EK = "000102030405060708090A0B0C0D0E0F"  # the simulator's documented demo keys (docs/simulator.md)
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
ROOT = Path(__file__).resolve().parent.parent


def _model_with(objects: int) -> str:
    from dlmskit.simulator.model import default_model

    text = (ROOT / "src" / "dlmskit" / "simulator" / "default_model.toml").read_text(encoding="utf-8")
    extra = objects - len(default_model().objects)
    for n in range(max(0, extra)):
        text += (
            f'\n[[object]]\nclass_id = 3\nlogical_name = "1.0.{n // 60 + 1}.{n % 60}.200.255"\n'
            f'name = "Bench register {n}"\n'
            'attributes = { value = { type = "double-long-unsigned", value = 1000 }, '
            'scaler_unit = { scaler = -1, unit = "Wh" } }\n'
        )
    return text


class _Http:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.origin = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Accept": "text/html"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
        self.connection.request(method, path, body=body, headers=headers)
        answer = self.connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
        for name, value in answer.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        return answer.status, answer.getheader("location") or "", text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--profile-rows", type=int, default=2000)
    options = parser.parse_args()

    import uvicorn

    from dlmskit.simulator import SimulatedMeter, SimulatorThread
    from dlmskit.simulator.model import parse_model
    from dlmskit.web import create_app

    state = tempfile.mkdtemp(prefix="dlmskit-bench-web-")
    os.environ["XDG_STATE_HOME"] = state
    os.environ["XDG_CONFIG_HOME"] = state
    meter = SimulatorThread(SimulatedMeter(parse_model(_model_with(options.objects))), port=0)
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    web = _Http(port)
    try:
        _, _, page = web.request("GET", "/explorer")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        status, _, _ = web.request(
            "POST",
            "/connect",
            {
                "csrf": csrf,
                "host": "127.0.0.1",
                "port": str(meter.port),
                "authentication": "gmac",
                "block_cipher_key": EK,
                "authentication_key": AK,
            },
        )
        _, _, page = web.request("GET", "/explorer")
        listed = int(re.search(r"\((\d+) objects", page).group(1))  # type: ignore[union-attr]
        seed = (ROOT / "tests" / "translator" / "data" / "seed_001_trace.txt").read_text(encoding="utf-8")
        cases: list[tuple[str, str, str, dict[str, str] | None]] = [
            (f"explorer, tree of {listed} objects", "GET", "/explorer", None),
            ("object page, no read", "GET", "/object/1.0.1.8.0.255?class_id=3", None),
            (
                "object page, read all (3 GETs + scaler)",
                "GET",
                "/object/1.0.1.8.0.255?class_id=3&read=all",
                None,
            ),
            ("clock read (action)", "POST", "/actions/clock", {"csrf": csrf}),
            ("trace page (last 200 frames)", "GET", "/trace", None),
            ("translator, seed trace", "POST", "/translate", {"csrf": csrf, "trace": seed, "format": "text"}),
            ("head-end page (none configured)", "GET", "/headend", None),
        ]
        print(f"dlmskit web, {listed} objects in the association view, HLS-GMAC, {options.rounds} rounds")
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8}")
        for label, method, path, form in cases:
            web.request(method, path, form)
            times = []
            for _ in range(options.rounds):
                start = time.perf_counter()
                status, _, _ = web.request(method, path, form)
                times.append((time.perf_counter() - start) * 1000)
                assert status == 200, (label, status)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{label:45} {statistics.median(times):10.1f} {p95:8.1f}")
        start = time.perf_counter()
        _, location, _ = web.request(
            "POST", "/profile", {"csrf": csrf, "obis": "1.0.99.1.0.255", "last": str(options.profile_rows)}
        )
        job = location.rsplit("/", 1)[-1]
        while True:
            _, _, progress = web.request("GET", f"/profile/job/{job}.json")
            if '"state":"running"' not in progress.replace(" ", ""):
                break
            time.sleep(0.1)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        _, _, data = web.request("GET", f"/profile/job/{job}.json?data=1")
        data_ms = (time.perf_counter() - start) * 1000
        print(
            f"profile, last {options.profile_rows} entries: read in {read_s:.1f} s; "
            f"plot data {len(data) // 1024} KiB in {data_ms:.0f} ms"
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        meter.stop()


if __name__ == "__main__":
    main()
