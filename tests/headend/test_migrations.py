"""The head-end's schema under Alembic: a new database, one made by the runner before Alembic, up and down.

Every test runs on an SQLite file and on the throw-away PostgreSQL server (``database_url``, conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

import dlmskit.cli.commands  # noqa: F401  (registers the commands)
from dlmskit.cli.main import cli
from dlmskit.errors import ConfigurationError
from dlmskit.headend import migrations
from dlmskit.headend.store import SCHEMA_VERSION, Store, metadata, profile_rows, readings


def _differences(store: Store) -> list[object]:
    """What Alembic's autogenerate finds between the migrated database and the store's tables."""
    with store.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _legacy(url: str, version: int) -> None:
    """A database as the runner before Alembic left it at ``version``: its steps' DDL, verbatim, and its
    ``schema_version`` row; a few rows of data to keep."""
    old = sa.MetaData()
    text, big = sa.Text, sa.BigInteger
    steps: dict[int, list[sa.Table]] = {
        1: [
            sa.Table(
                "templates",
                old,
                sa.Column("name", sa.String(100), primary_key=True),
                sa.Column("body", text, nullable=False),
            ),
            sa.Table(
                "meters",
                old,
                sa.Column("name", sa.String(100), primary_key=True),
                sa.Column("template", sa.String(100), nullable=True),
                sa.Column("groups", text, nullable=False, server_default=""),
                sa.Column("body", text, nullable=False),
            ),
            sa.Table(
                "plans",
                old,
                sa.Column("name", sa.String(100), primary_key=True),
                sa.Column("body", text, nullable=False),
            ),
            sa.Table(
                "keys",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("name", sa.String(60), primary_key=True),
                sa.Column("version", sa.Integer, nullable=False),
                sa.Column("nonce", sa.LargeBinary, nullable=False),
                sa.Column("sealed", sa.LargeBinary, nullable=False),
                sa.Column("changed_at", sa.String(40), nullable=False),
            ),
            sa.Table(
                "key_changes",
                old,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("meter", sa.String(100), nullable=False),
                sa.Column("name", sa.String(60), nullable=False),
                sa.Column("version", sa.Integer, nullable=False),
                sa.Column("action", sa.String(20), nullable=False),
                sa.Column("at", sa.String(40), nullable=False),
            ),
            sa.Table(
                "invocation_counters",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("system_title", sa.String(16), primary_key=True),
                sa.Column("key_id", sa.String(60), primary_key=True),
                sa.Column("next_free", big, nullable=False),
            ),
            sa.Table(
                "leases",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("owner", sa.String(100), nullable=False),
                sa.Column("expires", sa.Float, nullable=False),
            ),
            sa.Table(
                "readings",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("logical_name", sa.String(30), primary_key=True),
                sa.Column("attribute", sa.Integer, primary_key=True),
                sa.Column("capture_time", sa.String(40), primary_key=True),
                sa.Column("value", text, nullable=True),
                sa.Column("unit", sa.String(30), nullable=True),
                sa.Column("read_at", sa.String(40), nullable=False),
            ),
            sa.Table(
                "profile_rows",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("profile", sa.String(30), primary_key=True),
                sa.Column("capture_time", sa.String(40), primary_key=True),
                sa.Column("row", text, nullable=False),
            ),
            sa.Table(
                "events",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("log", sa.String(30), primary_key=True),
                sa.Column("capture_time", sa.String(40), primary_key=True),
                sa.Column("code", sa.Integer, primary_key=True),
                sa.Column("row", text, nullable=False),
            ),
            sa.Table(
                "commands",
                old,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("meter", sa.String(100), nullable=False, index=True),
                sa.Column("kind", sa.String(30), nullable=False),
                sa.Column("argument", text, nullable=True),
                sa.Column("state", sa.String(20), nullable=False),
                sa.Column("outcome", text, nullable=True),
                sa.Column("created_at", sa.String(40), nullable=False),
                sa.Column("done_at", sa.String(40), nullable=True),
            ),
            sa.Table(
                "jobs",
                old,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("meter", sa.String(100), nullable=False, index=True),
                sa.Column("plan", sa.String(100), nullable=False),
                sa.Column("started_at", sa.String(40), nullable=False),
                sa.Column("finished_at", sa.String(40), nullable=False),
                sa.Column("outcome", sa.String(20), nullable=False),
                sa.Column("reason", text, nullable=False),
                sa.Column("attempts", sa.Integer, nullable=False),
                sa.Column("stored", sa.Integer, nullable=False),
            ),
        ],
        2: [
            sa.Table(
                "push_counters",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("last", big, nullable=False),
            ),
            sa.Table(
                "pushes",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("invocation_counter", big, primary_key=True),
                sa.Column("received_at", sa.String(40), nullable=False),
                sa.Column("date_time", sa.String(40), nullable=True),
                sa.Column("body", text, nullable=False),
            ),
            sa.Table(
                "quarantine",
                old,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("received_at", sa.String(40), nullable=False),
                sa.Column("source", sa.String(100), nullable=False),
                sa.Column("reason", text, nullable=False),
                sa.Column("apdu", text, nullable=False),
            ),
        ],
        3: [
            sa.Table(
                "fences",
                old,
                sa.Column("meter", sa.String(100), primary_key=True),
                sa.Column("token", big, nullable=False),
            )
        ],
    }
    schema_version = sa.Table("schema_version", old, sa.Column("version", sa.Integer, nullable=False))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        schema_version.create(connection)
        for step in range(1, version + 1):
            for table in steps[step]:
                table.create(connection, checkfirst=True)
        connection.execute(sa.insert(schema_version).values(version=version))
        connection.execute(
            sa.insert(old.tables["readings"]).values(
                meter="m", logical_name="1.0.1.8.0.255", attribute=2, capture_time="2026-01-01T00:00:00Z",
                value="12.5", unit="kWh", read_at="2026-01-01T00:00:05Z",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(old.tables["profile_rows"]).values(
                meter="m", profile="1.0.99.1.0.255", capture_time="2026-01-01T00:00:00Z", row='{"1.0.1.8.0.255": 125}'
            )
        )  # fmt: skip
    engine.dispose()


def test_a_new_database_is_migrated_to_the_newest_revision_once(database_url: str) -> None:
    store = Store(database_url, migrate=False)
    assert (store.version(), store.revision()) == (0, None)
    done = store.migrate()
    assert [line.split(":")[0] for line in done] == [f"upgrade {r}" for r, _ in migrations.revisions()]
    assert (store.revision(), store.version()) == (migrations.HEAD, SCHEMA_VERSION)
    assert store.migrate() == []
    assert _differences(store) == []  # the revisions make exactly the tables store.py queries
    store.close()


@pytest.mark.parametrize("version", [1, 3])
def test_a_database_of_the_runner_before_alembic_is_stamped_then_upgraded(
    database_url: str, version: int
) -> None:
    _legacy(database_url, version)
    store = Store(database_url, migrate=False)
    assert (store.version(), store.revision()) == (version, None)
    done = store.migrate()
    assert done[0].startswith(f"stamp {version:04d}:")
    assert [line.split(":")[0] for line in done[1:]] == [
        f"upgrade {r}" for r, _ in migrations.revisions() if int(r) > version
    ]
    assert store.revision() == migrations.HEAD
    assert not sa.inspect(store.engine).has_table("schema_version")
    assert _differences(store) == []
    assert store.count(readings) == 1 and store.count(profile_rows) == 1  # the data stays
    store.close()


def test_a_database_this_dlmskit_does_not_know_is_refused(database_url: str) -> None:
    store = Store(database_url, migrate=False)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO schema_version (version) VALUES (4)")  # an unreleased step
    with pytest.raises(ConfigurationError, match="schema version 4 of the runner before Alembic"):
        store.migrate()
    assert sa.inspect(store.engine).has_table("schema_version")  # nothing changed
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE schema_version")
    store.migrate("0001")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(ConfigurationError, match="revision 0099, newer than this dlmskit"):
        store.migrate()
    store.close()


def test_migrate_to_a_revision_goes_up_or_down(database_url: str) -> None:
    store = Store(database_url, migrate=False)
    assert [line[:12] for line in store.migrate("0002")] == ["upgrade 0001", "upgrade 0002"]
    assert not sa.inspect(store.engine).has_table("fences")
    store.migrate()
    assert [line[:14] for line in store.migrate("0003")] == [
        "downgrade 0007",
        "downgrade 0006",
        "downgrade 0005",
        "downgrade 0004",
    ]
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("profile_rows")}
    assert "scaled" not in columns and store.revision() == "0003"
    with pytest.raises(ConfigurationError, match="no revision '0042'"):
        store.migrate("0042")
    store.migrate()
    assert _differences(store) == []
    store.close()


def test_revisions_are_numbered_in_order_one_per_file() -> None:
    found = migrations.revisions()
    assert [r for r, _ in found] == [f"{n:04d}" for n in range(1, len(found) + 1)]
    assert found[-1][0] == migrations.HEAD and int(migrations.HEAD) == SCHEMA_VERSION
    files = sorted(p.name for p in (Path(migrations.__file__).parent / "versions").glob("v*.py"))
    assert [re.match(r"v(\d{4})_", name).group(1) for name in files] == [r for r, _ in found]  # type: ignore[union-attr]


def test_the_cli_migrates_and_prints_the_revision(database_url: str, tmp_path: Path) -> None:
    base = ["headend", "--db", database_url, "--key-file", str(tmp_path / "key")]
    result = CliRunner().invoke(cli, [*base, "migrate", "--to", "0003"])
    assert result.exit_code == 0, result.output
    assert "upgrade 0003" in result.output and "schema revision 0003 (was empty)" in result.output
    result = CliRunner().invoke(cli, [*base, "init"])
    assert result.exit_code == 0, result.output
    assert f"schema revision {migrations.HEAD} ({int(migrations.HEAD) - 3} migration(s))" in result.output
    result = CliRunner().invoke(cli, [*base, "migrate"])
    assert f"schema revision {migrations.HEAD} (nothing to do)" in result.output
    result = CliRunner().invoke(cli, [*base, "migrate", "--list"])
    assert f"* {migrations.HEAD}" in result.output
