"""An app whose Redis is a dead port, run in its own process by test_redis_down.py.

The rate limiter is one extension object per process, so a second app with another storage must
not share the test run's process. Reads {"phone", "password"} on stdin and prints, as JSON, what
each step answered.
"""

from __future__ import annotations

import json
import sys

from app import create_app
from app.config import TestConfig

DEAD_REDIS = "redis://127.0.0.1:1/0"


def main() -> None:
    credentials = json.load(sys.stdin)
    config = TestConfig()
    config.REDIS_URL = DEAD_REDIS
    config.RATELIMIT_STORAGE_URI = DEAD_REDIS
    config.RATELIMIT_LOGIN_PER_IP = "3 per minute"
    app = create_app(config)
    http = app.test_client()
    steps: dict[str, object] = {}
    login_body = {"login": credentials["phone"], "password": credentials["password"]}

    def auth(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def log_in() -> tuple[int, dict]:
        response = http.post("/api/v1/auth/login", json=login_body)
        return response.status_code, response.get_json()

    steps["login"], first = log_in()
    steps["me"] = http.get("/api/v1/auth/me", headers=auth(first["access_token"])).status_code
    rotated = http.post("/api/v1/auth/refresh", headers=auth(first["refresh_token"]))
    steps["refresh"] = rotated.status_code
    second = rotated.get_json()
    steps["me_after_refresh"] = http.get("/api/v1/auth/me", headers=auth(second["access_token"])).status_code
    steps["replayed_refresh"] = http.post("/api/v1/auth/refresh", headers=auth(first["refresh_token"])).status_code
    steps["me_after_replay"] = http.get("/api/v1/auth/me", headers=auth(second["access_token"])).status_code

    steps["second_login"], third = log_in()
    steps["logout"] = http.post("/api/v1/auth/logout", headers=auth(third["access_token"])).status_code
    steps["refresh_after_logout"] = http.post("/api/v1/auth/refresh", headers=auth(third["refresh_token"])).status_code
    steps["me_after_logout"] = http.get("/api/v1/auth/me", headers=auth(third["access_token"])).status_code

    steps["third_login"], _ = log_in()
    limited = http.post("/api/v1/auth/login", json=login_body)
    steps["fourth_login"] = limited.status_code
    steps["fourth_login_body"] = limited.get_json()
    steps["fourth_login_retry_after"] = limited.headers.get("Retry-After")
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
