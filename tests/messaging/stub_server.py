"""A local HTTP server standing in for SMS.RU and Telegram: it records what it receives and answers
as scripted (fail N times, fail always, answer slowly), speaking real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = dict | str | bytes | Callable[["Received"], dict | str | bytes]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The message text, whichever API it came through."""
        if self.headers.get("content-type", "").startswith("application/json"):
            return self.json["text"]
        return self.form["msg"]


@dataclass
class Answer:
    status: int
    body: Body
    delay: float = 0.0


@dataclass
class StubServer:
    """`with StubServer() as stub:` serves on `stub.url` until the block ends."""

    requests: list[Received] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=lambda: Answer(200, {"ok": True}))
    # Asked first for every request: an Answer for it, or None for the script and the default.
    route: Callable[[Received], Answer | None] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def then(self, status: int, body: Body, *, times: int = 1, delay: float = 0.0) -> StubServer:
        """Answer the next `times` requests so (in order, before the default answer)."""
        self.script.extend(Answer(status, body, delay) for _ in range(times))
        return self

    def always(self, status: int, body: Body, *, delay: float = 0.0) -> StubServer:
        """Answer every request after the scripted ones so."""
        self.default = Answer(status, body, delay)
        return self

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self, received: Received) -> Answer:
        with self._lock:
            self.requests.append(received)
            routed = self.route(received) if self.route is not None else None
            if routed is not None:
                return routed
            return self.script.pop(0) if self.script else self.default

    def _handler_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                answer = stub._next_answer(received)
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body(received) if callable(answer.body) else answer.body
                if isinstance(body, dict):
                    payload, content_type = json.dumps(body, ensure_ascii=False).encode(), "application/json"
                else:
                    payload = body.encode() if isinstance(body, str) else body
                    content_type = "text/plain; charset=utf-8"
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            do_GET = do_POST

            def log_message(self, format, *args) -> None:
                pass

        return Handler


# SMS.RU's answers, as its documentation shows them.
def smsru_sent(received: Received) -> dict:
    number = received.form["to"]
    return {
        "status": "OK",
        "status_code": 100,
        "sms": {number: {"status": "OK", "status_code": 100, "sms_id": f"000000-{len(received.body)}"}},
        "balance": 100.5,
    }


SMSRU_BAD_API_ID = {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
SMSRU_UNAVAILABLE = {"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"}


def smsru_number_refused(received: Received) -> dict:
    number = received.form["to"]
    return {
        "status": "OK",
        "status_code": 100,
        "sms": {
            number: {
                "status": "ERROR",
                "status_code": 207,
                "status_text": "На этот номер нельзя отправлять сообщения",
            }
        },
        "balance": 100.5,
    }


def smsru_status(code: int, text: str) -> Callable[[Received], dict]:
    """SMS.RU's answer to sms/status: the message's status `code` (103 delivered, -1 no such message)."""

    def answer(received: Received) -> dict:
        sms_id = received.form["sms_id"]
        status = "OK" if code >= 100 else "ERROR"
        return {
            "status": "OK",
            "status_code": 100,
            "sms": {sms_id: {"status": status, "status_code": code, "status_text": text}},
        }

    return answer


def telegram_sent(received: Received) -> dict:
    return {"ok": True, "result": {"message_id": 4242, "chat": {"id": received.json["chat_id"]}}}


TELEGRAM_CHAT_NOT_FOUND = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
