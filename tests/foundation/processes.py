"""The app's real processes for tests: a production environment on the test services, and gunicorn
as `make serve` runs it (gunicorn.conf.py), listening on a socket the test opened on a free port."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import TestConfig
from app.extensions import db

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOOD_SECRET = "q9V-3rXc7LmT1pZs8KfW2nYb6HdJ0gUe4Ao5"
# Variables the app or gunicorn.conf.py read, cleared so the shell running the tests cannot leak in.
APP_VARIABLES = (
    "APP_ENV", "SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "LOG_LEVEL",
    "LOG_FORMAT", "JOBS_INLINE", "SMS_PROVIDER", "SENTRY_DSN", "PORT", "GUNICORN_BIND", "WEB_CONCURRENCY",
    "GUNICORN_THREADS", "PROMETHEUS_MULTIPROC_DIR", "FLASK_APP",
)  # fmt: skip


def production_env(**overrides: str) -> dict[str, str]:
    """A complete, safe production environment on the test database and Redis, with `overrides` on top."""
    services = TestConfig()
    env = {name: value for name, value in os.environ.items() if name not in APP_VARIABLES}
    env.update(
        APP_ENV="production",
        JWT_SECRET_KEY=GOOD_SECRET,
        DATABASE_URL=services.SQLALCHEMY_DATABASE_URI,
        REDIS_URL=services.REDIS_URL,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(overrides)
    return env


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def raw(self, data: bytes, timeout: float = 10) -> bytes:
        """Send `data` as it is on a fresh connection; everything the server answers before closing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as connection:
            connection.sendall(data)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


@contextmanager
def gunicorn(
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = 1,
    config: str = "gunicorn.conf.py",
    app: str = "wsgi:app",
) -> Iterator[Gunicorn]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    log_path = log_dir / f"gunicorn-{port}.log"
    env = {**env, "GUNICORN_BIND": f"fd://{listener.fileno()}", "WEB_CONCURRENCY": str(workers)}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", config, app],
            cwd=REPO,
            env=env,
            pass_fds=(listener.fileno(),),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(port, process, log_path)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        listener.close()


def _wait_until_serving(server: Gunicorn, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.log()[-3000:]}")
        try:
            if server.request("GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer /health in {timeout} s:\n{server.log()[-3000:]}")


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, read from /proc (children first found, grandchildren after)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found.extend(children)
        pending.extend(children)
    return found


class AppProcesses:
    """The app's background processes (`flask jobs worker`, `rq cron`) as production runs them, on the test's
    database and Redis, with `env` on top; each in a session of its own, logged to `log_path`."""

    def __init__(self, app, log_path: Path, **env: str):
        self.env = {
            **os.environ,
            "APP_ENV": "testing",
            "FLASK_APP": "wsgi.py",
            "PYTHONPATH": str(REPO),
            "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "TEST_REDIS_URL": app.config["REDIS_URL"],
            **env,
        }
        self.log_path = log_path
        self.processes: list[subprocess.Popen] = []

    def _start(self, command: list[str]) -> subprocess.Popen:
        with self.log_path.open("a") as log:
            # A session of its own, so stopping it at the end reaches nothing else.
            process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def worker(self, *queues: str) -> subprocess.Popen:
        """`flask jobs worker` on `queues` (all of them when none is named): a work horse forked per job."""
        named = [option for name in queues for option in ("--queue", name)]
        return self._start([sys.executable, "-m", "flask", "jobs", "worker", *named])

    def dispatcher(self) -> subprocess.Popen:
        """`make dispatcher`: the `status` queue in the worker's own process, no work horse."""
        return self._start([sys.executable, "-m", "flask", "jobs", "worker", "--queue", "status", "--simple"])

    def codes(self) -> subprocess.Popen:
        """`make codes`: the `otp` queue (login codes, the message recovery) in the worker's own process."""
        return self._start([sys.executable, "-m", "flask", "jobs", "worker", "--queue", "otp", "--simple"])

    def wait_listening(self, workers: int) -> None:
        """Until `workers` workers (counted since the log began) are up and blocked on their queues."""
        deadline = time.monotonic() + 60
        while self.output.count("*** Listening on") < workers:
            assert time.monotonic() < deadline, self.output[-3000:]
            time.sleep(0.1)

    def cron(self) -> subprocess.Popen:
        rq = str(Path(sys.executable).parent / "rq")
        return self._start([rq, "cron", "app/jobs/cron.py", "--url", self.env["TEST_REDIS_URL"]])

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker and every process it forked: its work horse (RQ puts it in a process group
        of its own) and its scheduler."""
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    @property
    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str, stack) -> float:
    """Poll `condition()` (on fresh reads of the test's session) until it holds; the monotonic time it did. `stack`
    is the processes under test: their output ends the failure's message."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}\n{stack.output[-4000:]}")
