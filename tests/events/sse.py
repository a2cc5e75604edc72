"""The events service for tests, as `make events` starts it, and a Server-Sent Events reader over real HTTP."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.config import TestConfig
from tests.foundation.processes import Gunicorn, gunicorn, production_env

STREAM = "/api/v1/events/stream"
HEARTBEAT_SECONDS = 1
AUTH_CHECK_SECONDS = 1


@contextmanager
def events_service(log_dir: Path, **overrides: str) -> Iterator[Gunicorn]:
    """gunicorn.events.conf.py (gevent) serving events_wsgi:app on the test database and Redis, on a free port.

    The fallback poll is slow (60 s) so that events arriving within a second prove the NOTIFY wake-up.
    """
    settings = {
        "JWT_SECRET_KEY": TestConfig().JWT_SECRET_KEY,  # the tokens the tests' in-process API hands out
        "EVENTS_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "EVENTS_AUTH_CHECK_SECONDS": str(AUTH_CHECK_SECONDS),
        "EVENTS_POLL_SECONDS": "60",
        "LOG_LEVEL": "info",
    }
    env = production_env(**{**settings, **overrides})
    with gunicorn(env, log_dir, config="gunicorn.events.conf.py", app="events_wsgi:app") as server:
        yield server


@dataclass
class Sse:
    position: int
    type: str
    data: dict[str, Any]


class StreamReader:
    """GET the stream and parse what arrives, in a thread: events, comments, and the end of the stream."""

    def __init__(self, port: int, path: str = STREAM, *, headers: dict[str, str] | None = None, **params: Any):
        self.url = f"http://127.0.0.1:{port}{path}"
        self.items: queue.Queue = queue.Queue()
        self.status: int | None = None
        self.content_type = ""
        self.body: Any = None
        self._answered = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._read, args=(headers or {}, params), daemon=True)
        self._thread.start()
        assert self._answered.wait(15), "the stream did not answer in 15 s"

    def _read(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
                client.stream("GET", self.url, headers=headers, params=params) as response,
            ):
                self._response = response
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    self.body = json.loads(response.read())
                    self._answered.set()
                    return
                self._answered.set()
                self._parse(response.iter_lines())
        except (httpx.HTTPError, RuntimeError, ValueError) as exc:
            self.items.put(("error", repr(exc)))
        finally:
            self._answered.set()
            self.items.put(("end", None))

    def _parse(self, lines: Iterator[str]) -> None:
        fields: dict[str, str] = {}
        for line in lines:
            if line == "":
                if "data" in fields:
                    self.items.put(("event", Sse(int(fields["id"]), fields["event"], json.loads(fields["data"]))))
                fields = {}
            elif line.startswith(":"):
                self.items.put(("comment", line[1:].strip()))
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    def next(self, timeout: float = 5) -> tuple[str, Any]:
        return self.items.get(timeout=timeout)

    def events(self, count: int, timeout: float = 5) -> list[Sse]:
        """The next `count` events, skipping comments; fails if they do not come in time."""
        got: list[Sse] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            try:
                kind, value = self.next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"only {len(got)} of {count} events in {timeout} s: {got}") from None
            if kind == "event":
                got.append(value)
            elif kind in ("end", "error"):
                raise AssertionError(f"the stream ended after {len(got)} of {count} events ({value})")
        return got

    def quiet_for(self, seconds: float) -> list[Sse]:
        """Events arriving within `seconds` (comments skipped)."""
        got: list[Sse] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                kind, value = self.next(left)
            except queue.Empty:
                break
            if kind == "event":
                got.append(value)
        return got

    def wait_end(self, timeout: float) -> list[str]:
        """Wait for the server to close the stream; the comments seen meanwhile."""
        comments = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                kind, value = self.next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the stream was still open after {timeout} s") from None
            if kind == "comment":
                comments.append(value)
            if kind in ("end", "error"):
                return comments

    def close(self) -> None:
        if self._response is not None:
            try:
                self._response.close()
            except (httpx.HTTPError, RuntimeError):
                pass
        self._thread.join(5)
