"""Prometheus metrics of one service, in a registry of its own (so that two apps in one
process, as in the tests, do not share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kamrules_requests", "HTTP requests by route and status.", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "kamrules_request_seconds",
            "Request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter("kamrules_decisions", "Decisions made, by tier.", ["tier"], registry=self.registry)
        self.reloads = Counter(
            "kamrules_reloads",
            "Rulebook reloads by result (changed, unchanged, invalid, failed).",
            ["result"],
            registry=self.registry,
        )
        self.register_failures = Counter(
            "kamrules_register_write_failures",
            "Decisions not given because the register write failed.",
            registry=self.registry,
        )

        self.commit_wait = Histogram(
            "kamrules_register_commit_seconds",
            "From a request's rows sent to the register's writer process to the answer that they are committed.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.writer_up = Gauge(
            "kamrules_register_writer_up",
            "1 while the register's writer process runs; 0 while it is stopped or restarting (and without a register).",
            registry=self.registry,
        )
        self.writer_restarts = Counter(
            "kamrules_register_writer_restarts",
            "Times the register's writer process was started again after it stopped.",
            registry=self.registry,
        )

    def writer_changed(self, alive: bool, restarted: bool) -> None:
        self.writer_up.set(1 if alive else 0)
        if restarted:
            self.writer_restarts.inc()

    def reloaded(self, result: str) -> None:
        self.reloads.labels(result).inc()

    def export(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
