"""Prometheus metrics at /metrics: request counts and latencies by endpoint."""

from flask import Flask, request
from prometheus_client import CollectorRegistry


def _endpoint() -> str:
    return request.endpoint or "unmatched"


# The exporter labels only its latency histogram with `group_by`; a default label puts the endpoint on the
# request counter too. The histogram is grouped by the route template, which is bounded, unlike the path.
_OPTIONS = {"group_by": "url_rule", "default_labels": {"endpoint": _endpoint}}


def init_metrics(app: Flask) -> None:
    if app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        # gunicorn with several workers: each writes to the shared directory, /metrics sums them.
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        metrics = GunicornInternalPrometheusMetrics(app, **_OPTIONS)
    else:
        from prometheus_flask_exporter import PrometheusMetrics

        # A registry per app, so several apps in one process (tests) don't collide.
        metrics = PrometheusMetrics(app, registry=CollectorRegistry(auto_describe=True), **_OPTIONS)
    metrics.info("flowercrm_info", "Flower CRM", version=app.config["API_VERSION"])
    app.extensions["metrics"] = metrics
