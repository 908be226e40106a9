"""dlmskit.headend: read a fleet of meters from one machine (asyncio, a library first; ``dlmskit headend``).

- :class:`Store` (:mod:`~dlmskit.headend.store`): the database (SQLite by default, or PostgreSQL), migrations;
- :class:`Inventory`: meters, groups, templates and plans, imported from and exported to TOML/CSV;
- :class:`KeyStore`: meters' keys sealed under a master key; :class:`DatabaseCounterStore`: invocation counters;
- :class:`ReadPlan`, :func:`meter_job`: what a job does (sans-I/O), :class:`Engine`: runs it over many meters;
- :class:`Schedule`: when (cron-like, with jitter).
- beyond one machine: :mod:`~dlmskit.headend.queue` (jobs on a Redis Stream), :mod:`~dlmskit.headend.lease`
  (per-meter leases with fencing tokens), :mod:`~dlmskit.headend.scheduler`, :mod:`~dlmskit.headend.worker`
  (the ``redis`` extra).
"""

from __future__ import annotations

from dlmskit.headend.counters import DatabaseCounterStore
from dlmskit.headend.engine import Engine, EngineLimits, JobOutcome
from dlmskit.headend.inventory import Inventory, Meter
from dlmskit.headend.job import JobReport, meter_job, run_job
from dlmskit.headend.keystore import KeyStore, create_key_file, load_master_key
from dlmskit.headend.plans import BUILTIN_PLANS, ReadPlan
from dlmskit.headend.schedule import Schedule, next_run, run_schedules
from dlmskit.headend.store import Store, default_database_url

__all__ = [
    "BUILTIN_PLANS",
    "DatabaseCounterStore",
    "Engine",
    "EngineLimits",
    "Inventory",
    "JobOutcome",
    "JobReport",
    "KeyStore",
    "Meter",
    "ReadPlan",
    "Schedule",
    "Store",
    "create_key_file",
    "default_database_url",
    "load_master_key",
    "meter_job",
    "next_run",
    "run_job",
    "run_schedules",
]
