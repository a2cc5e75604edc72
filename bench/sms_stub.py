"""A local stand-in for SMS.RU during the load run: answers POST /sms/send as SMS.RU does and keeps the last code
sent to each number, which the load test reads back with GET /codes/<digits> (as a test's stub would).

    python bench/sms_stub.py 8125
"""

from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import parse_qs

CODE = re.compile(r"\b(\d{6})\b")
_codes: dict[str, str] = {}
_lock = threading.Lock()
_ids = count(1)


class SmsRuStub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        number, text = form.get("to", [""])[0], form.get("msg", [""])[0]
        found = CODE.search(text)
        with _lock:
            sms_id = f"stub-{next(_ids)}"
            if found:
                _codes[number] = found.group(1)
        self._answer(200, {"status": "OK", "status_code": 100, "sms": {number: {"status": "OK", "sms_id": sms_id}}})

    def do_GET(self) -> None:
        number = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/codes/") and number in _codes:
            with _lock:
                code = _codes.pop(number)
            self._answer(200, {"code": code})
        elif self.path == "/health":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"code": None})

    def log_message(self, format, *args) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8125), SmsRuStub).serve_forever()
