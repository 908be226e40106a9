"""Prometheus metrics of the engine (``prometheus-client``): sessions, outcomes by reason, latencies, queue depth.

:class:`EngineMetrics` registers its metrics in a registry of its own (or the one given), so that several
engines or tests never collide; :meth:`EngineMetrics.serve` exposes them over HTTP for Prometheus to scrape
(``dlmskit headend serve --metrics-port 9108``). :class:`QueueMetrics` adds what the workers on Redis and
their scheduler show (``dlmskit headend worker|scheduler --metrics-port``): the queue's backlog, jobs
pending, retries waiting and due, retries scheduled, Redis outages, jobs appended, whether a scheduler is
the active one.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

__all__ = ["EngineMetrics", "QueueMetrics"]

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class EngineMetrics:
    """The metrics one engine keeps up to date."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.sessions = Gauge("dlmskit_headend_sessions", "Sessions open now", registry=self.registry)
        self.queued = Gauge(
            "dlmskit_headend_queue_depth", "Meters waiting for a session slot", registry=self.registry
        )
        self.outcomes = Counter(
            "dlmskit_headend_jobs", "Finished jobs by outcome", ["outcome"], registry=self.registry
        )
        self.attempts = Counter("dlmskit_headend_attempts", "Session attempts", registry=self.registry)
        self.latency = Histogram(
            "dlmskit_headend_job_seconds",
            "Time of one attempt (connect, associate, read, store, release)",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stored = Counter("dlmskit_headend_rows_stored", "New rows stored", registry=self.registry)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return bytes(generate_latest(self.registry))

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Serve the metrics on ``http://address:port/metrics`` from a background thread."""
        start_http_server(port, addr=address, registry=self.registry)


class QueueMetrics(EngineMetrics):
    """The engine's metrics and those of the queue on Redis (a worker's or a scheduler's)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.backlog = Gauge(
            "dlmskit_headend_stream_backlog",
            "Jobs on the stream not yet read by a worker",
            registry=self.registry,
        )
        self.pending = Gauge(
            "dlmskit_headend_stream_pending",
            "Jobs read by a worker and not yet acknowledged",
            registry=self.registry,
        )
        self.retries_waiting = Gauge(
            "dlmskit_headend_retries_waiting", "Retries waiting for their time", registry=self.registry
        )
        self.retries_due = Gauge(
            "dlmskit_headend_retries_due",
            "Retries due and not yet back on the stream",
            registry=self.registry,
        )
        self.retries = Counter(
            "dlmskit_headend_retries",
            "Jobs put back for a retry, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.outages = Counter(
            "dlmskit_headend_redis_outages", "Times Redis went away", registry=self.registry
        )
        self.appended = Counter(
            "dlmskit_headend_jobs_appended", "Jobs appended by this scheduler", registry=self.registry
        )
        self.active = Gauge(
            "dlmskit_headend_scheduler_active",
            "1 while this scheduler holds the lock",
            registry=self.registry,
        )

    async def observe(self, queue: Any) -> None:
        """Read the queue's depths (a :class:`~dlmskit.headend.queue.JobQueue`) into the gauges."""
        depths = await queue.depths()
        self.backlog.set(depths["backlog"])
        self.pending.set(depths["pending"])
        self.retries_waiting.set(depths["retries_waiting"])
        self.retries_due.set(depths["retries_due"])
