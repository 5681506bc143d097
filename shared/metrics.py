"""Prometheus metrics of a service: request counts and latency per route template, and the figures
operators page on, read from the database at scrape time.

- Requests are labelled by the route template (`/v1/cases/{case_id}`); a request answered before
  routing (404, 413, 422 for a NUL in the query, 503 while starting) is `unmatched`, so random paths
  never grow the registry.
- With `WORKERS>1` (shared/serve.py) every process writes its counts under `PROMETHEUS_MULTIPROC_DIR`
  (a directory per run, made by serve.py) and a scrape, whichever process answers it, sums them all
  (prometheus_client's multiprocess mode); a process marks itself dead when it stops.
- Database figures (outbox backlog and oldest age, breached deadlines, sweep lag, dead letters,
  deliveries by state) are `Reading`s a service computes on each scrape with cheap queries through its
  repositories; they are not kept per process, so they are the same whichever process answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

UNMATCHED = "unmatched"  # the route label of a request no route answered
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode when this process runs in it (set before prometheus_client
    was imported, by shared/serve.py for WORKERS>1)."""
    return os.environ.get(MULTIPROCESS_ENV) or None


@dataclass(frozen=True)
class Reading:
    """One gauge sample read from the database at scrape time."""

    name: str
    help: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


class RequestMetrics:
    """The request counter and latency histogram of one service process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        label = route or UNMATCHED
        self.requests.labels(method, label, str(status)).inc()
        self.latency.labels(method, label).observe(seconds)

    def exposition(self, readings: Iterable[Reading] = ()) -> bytes:
        """The text format of a scrape: every process's request metrics (summed in multiprocess mode)
        and the database readings."""
        scrape = CollectorRegistry()
        if multiprocess_dir():
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(scrape)
        else:
            scrape.register(_Collected(self.registry))
        scrape.register(_Readings(list(readings)))
        return generate_latest(scrape)


def mark_process_dead() -> None:
    """At shutdown in multiprocess mode: this process's live gauges are no longer counted."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


class _Collected:
    """Another registry's metrics inside a scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        return iter(self.registry.collect())


class _Readings:
    def __init__(self, readings: list[Reading]) -> None:
        self.readings = readings

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for r in self.readings:
            family = families.get(r.name)
            if family is None:
                family = families[r.name] = GaugeMetricFamily(r.name, r.help, labels=sorted(r.labels))
            family.add_metric([r.labels[k] for k in sorted(r.labels)], r.value)
        return iter(families.values())
