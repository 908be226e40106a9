"""The Alembic environment of the head-end's database, run by :func:`dlmskit.headend.migrations.upgrade`.

No ``alembic.ini``: the caller hands over, in ``config.attributes``, the connection to migrate (already in
the transaction that holds the migration lock) and a list that collects what each step did.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo

_connection = context.config.attributes["connection"]
_applied: list[tuple[str, str, str]] = context.config.attributes["applied"]


def _record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    action = "stamp" if step.is_stamp else ("upgrade" if step.is_upgrade else "downgrade")
    _applied.append(
        (action, str(step.up_revision_id), str(getattr(step.up_revision, "doc", "") or "").strip())
    )


context.configure(connection=_connection, target_metadata=None, on_version_apply=_record)
with context.begin_transaction():  # a no-op: the caller's transaction is already open
    context.run_migrations()
