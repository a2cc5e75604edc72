"""gunicorn settings of the events service (`make events`): the live event stream, many idle connections.

gevent workers: each connection is a greenlet, so one worker holds thousands of streams; psycopg 3 waits through
gevent by itself, so a query in one stream never blocks the others. Every knob comes from the environment.
"""

import os

from dotenv import load_dotenv

from app.config import ConfigError, exit_on_config_error, load_config

load_dotenv(override=False)
exit_on_config_error(load_config)


def _int(name: str, default: int) -> int:
    def read() -> int:
        value = os.environ.get(name, str(default))
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a whole number.") from None

    return exit_on_config_error(read)


worker_class = "gevent"
# One worker holds the streams of a node; each worker keeps its own LISTEN connection and database pool.
workers = _int("EVENTS_WORKERS", 1)
worker_connections = _int("EVENTS_WORKER_CONNECTIONS", 2000)
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('EVENTS_PORT', '8001')}"
timeout = _int("GUNICORN_TIMEOUT", 30)
# Streams never end by themselves: on a restart clients reconnect at once and resume from Last-Event-ID.
graceful_timeout = _int("EVENTS_GRACEFUL_TIMEOUT", 5)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
