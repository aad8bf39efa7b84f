"""Operations metrics (Prometheus): requests, latency, decisions, database outages,
core disagreements, and the rule set in force.

Each app has its own CollectorRegistry (tests build many apps in one process).
With `--workers N` every worker process counts on its own and a scrape reaches
one of them; set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at each
start) to have /metrics aggregate every worker via prometheus-client's
multiprocess mode.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        # In multiprocess mode the values live in files under PROMETHEUS_MULTIPROC_DIR whatever the registry;
        # a private registry keeps several apps in one process (the tests) from colliding.
        kwargs: dict[str, Any] = {"registry": self.registry}
        self.requests = Counter("visitator_http_requests", "HTTP requests by route template, method and status",
                                ["route", "method", "status"], **kwargs)
        self.latency = Histogram("visitator_http_request_duration_seconds", "HTTP request latency by route template",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, **kwargs)
        self.decisions = Counter("visitator_decisions", "Logged decisions (201) by track and recommended category",
                                 ["spor", "kategori"], **kwargs)
        self.storage_errors = Counter("visitator_storage_unavailable", "Requests answered 503 because the database did not answer",
                                      **kwargs)
        self.core_disagreements = Counter("visitator_kerner_uenige", "Decisions refused because two inference cores disagreed",
                                          ["version"], **kwargs)
        gauge_kwargs = dict(kwargs)
        if self.multiprocess:
            gauge_kwargs["multiprocess_mode"] = "max"
        self.rule_set = Gauge("visitator_rule_set_info", "The rule set version in force today (value 1)",
                              ["navn", "version", "sha256"], **gauge_kwargs)
        self._rule_set_labels: Optional[tuple[str, str, str]] = None

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def observe_decision(self, anbefalinger: tuple[tuple[str, str, str], ...]) -> None:
        """Count a logged decision by its (spor, kategori, tilbud) recommendations."""
        for spor, kategori, _ in anbefalinger:
            self.decisions.labels(spor, kategori).inc()

    def set_rule_set(self, navn: str, version: Optional[str], sha256: Optional[str]) -> None:
        labels = (navn, version or "", sha256 or "")
        if labels == self._rule_set_labels:
            return
        if self._rule_set_labels is not None:
            try:
                self.rule_set.remove(*self._rule_set_labels)
            except KeyError:
                pass
        self.rule_set.labels(*labels).set(1)
        self._rule_set_labels = labels

    def exposition(self) -> bytes:
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST
