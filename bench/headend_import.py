"""How fast the head-end imports an inventory file: meters a second for a fleet of N meters with two keys each.

    python -m bench.headend_import [--meters 10000] [--format toml|csv|both] [--repeat 1] [--postgresql URL]

The file is the shape ``dlmskit simulate --fleet N --inventory F`` writes (one template; per meter its host,
port, HDLC address, system title, logical device name and its two keys), written by this bench so that no
simulator runs. Each import goes into a new SQLite file (or a new schema on ``--postgresql URL``: the tables
are dropped first). Wall time and process CPU time are printed; on a shared machine give the load average
(``uptime``) with the figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dlmskit.headend import Inventory, KeyStore, Store
from dlmskit.headend.store import metadata
from dlmskit.security.keys import SecretBytes

MASTER = SecretBytes(bytes(range(32)), label="bench master key")


def _meter(index: int) -> dict[str, object]:
    return {
        "name": f"SIM{index:06d}",
        "template": "fleet-gmac",
        "groups": ["fleet"],
        "host": "127.0.0.1",
        "port": 40000 + index % 20000,
        "server_physical": 16 + index % 1000,
        "meter_system_title": f"4B464D{index:010X}",
        "logical_device_name": f"KFM{index:013d}",
        "block_cipher_key": f"{index:032X}",
        "authentication_key": f"{index + 1:032X}",
    }


def write_toml(path: Path, count: int) -> Path:
    lines = [
        "[template.fleet-gmac]",
        'link = "hdlc"',
        "client_address = 1",
        'authentication = "gmac"',
        'security_policy = "auth-enc"',
        "server_logical = 1",
        "timeout = 5.0",
        "",
    ]
    for index in range(1, count + 1):
        lines.append("[[meter]]")
        for key, value in _meter(index).items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_csv(path: Path, count: int) -> Path:
    out = io.StringIO()
    rows = [_meter(index) for index in range(1, count + 1)]
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "groups": ";".join(row["groups"])})  # type: ignore[arg-type]
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _fresh(url: str) -> Store:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()
    return Store(url)


def measure(file: Path, url: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, meters) of one import of ``file`` into a fresh database at ``url``."""
    store = _fresh(url)
    try:
        inventory = Inventory(store, KeyStore(store, MASTER))
        wall, cpu = time.perf_counter(), time.process_time()
        report = inventory.import_file(file)
        return time.perf_counter() - wall, time.process_time() - cpu, report.meters
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=10000)
    parser.add_argument("--format", choices=["toml", "csv", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--postgresql", metavar="URL", help="Import into this PostgreSQL database.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlmskit-import-") as folder:
        root = Path(folder)
        forms = ["toml", "csv"] if options.format == "both" else [options.format]
        for form in forms:
            file = (write_toml if form == "toml" else write_csv)(root / f"fleet.{form}", options.meters)
            for attempt in range(options.repeat):
                url = options.postgresql or f"sqlite:///{root / f'{form}{attempt}.sqlite'}"
                wall, cpu, meters = measure(file, url)
                where = "postgresql" if options.postgresql else "sqlite"
                print(
                    f"{form:4} {where:10} {meters} meters: {wall:7.2f} s wall, {cpu:7.2f} s CPU, "
                    f"{meters / wall:8.0f} meters/s"
                )


if __name__ == "__main__":
    main()
