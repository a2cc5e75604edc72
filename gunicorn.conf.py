"""gunicorn settings for `make serve` and the Docker image; every knob comes from the environment."""

import os
import shutil
import tempfile
from pathlib import Path

from dotenv import load_dotenv

from app.config import ConfigError, exit_on_config_error, load_config

# The same .env the app reads, so WEB_CONCURRENCY / PORT there apply too (the shell wins).
load_dotenv(override=False)

# The app's settings, checked once here in the master: a worker whose app cannot start is respawned forever.
exit_on_config_error(load_config)


def _int(name: str, default: int) -> int:
    def read() -> int:
        value = os.environ.get(name, str(default))
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a whole number.") from None

    return exit_on_config_error(read)


# gthread, answering the errors gunicorn raises itself (a URI too long ...) as JSON, not HTML.
worker_class = "app.gunicorn_worker.JsonErrorWorker"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so a slow leak never grows; the jitter keeps them from restarting together. Rarely:
# a worker's start costs about 1.7 s of CPU, and every 1000 requests it took a third of a node's throughput.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)

# Each worker builds its own app: no database or Redis connection is shared across a fork.
preload_app = False

# No access log: the app logs each request itself, with the request id and secrets masked.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# The heartbeat file on tmpfs, so a slow disk never makes the master kill a healthy worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# We don't use gunicornc; two servers on one host would otherwise fight over ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True

# Several workers must pool their Prometheus samples in one directory, or /metrics shows one worker's share.
_OWN_METRICS_DIR = str(Path(tempfile.gettempdir()) / f"flowercrm-prometheus-{os.getpid()}")
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set in the master, before any worker imports prometheus_client (which reads it at import time).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR


def on_starting(server):
    """Start /metrics from zero: samples of a previous run's dead workers must not be summed in."""
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not metrics_dir:
        return
    path = Path(metrics_dir)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    server.log.info("prometheus multiprocess directory: %s", path)


def child_exit(server, worker):
    """A dead worker's live gauges must leave the sum."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory if we made it up; one the operator chose is left in place."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
