"""With Redis stopped, logging in, refreshing and logging out still work, and the limits still hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import TEST_PASSWORD

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.committed
def test_an_app_without_redis_logs_in_refreshes_revokes_and_still_limits(staff):
    run = subprocess.run(
        [sys.executable, "-m", "tests.auth.redis_down_app"],
        input=json.dumps({"phone": staff.phone, "password": TEST_PASSWORD}),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "APP_ENV": "testing"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    steps = json.loads(run.stdout.strip().splitlines()[-1])

    # PostgreSQL alone carries password login and the refresh rotation.
    assert (steps["login"], steps["me"], steps["refresh"], steps["me_after_refresh"]) == (200, 200, 200, 200)
    # Reuse detection and logout are rows in PostgreSQL, so they hold with Redis gone.
    assert (steps["replayed_refresh"], steps["me_after_replay"]) == (401, 401)
    assert (steps["second_login"], steps["logout"]) == (200, 204)
    assert (steps["refresh_after_logout"], steps["me_after_logout"]) == (401, 401)
    # The limiter fell back to process memory: the 4th login in a minute (limit 3) is refused.
    assert (steps["third_login"], steps["fourth_login"]) == (200, 429)
    assert steps["fourth_login_body"]["code"] == 429
    assert int(steps["fourth_login_retry_after"]) > 0
    assert "Rate limit storage unreachable - falling back to in-memory storage" in run.stderr
    # Logout still tries to remember the access token in Redis; the requests' own check never asks Redis.
    assert "Redis unreachable while revoking a token" in run.stderr
    assert "checking a revoked token" not in run.stderr
    assert "eyJ" not in run.stderr and staff.phone not in run.stderr  # no token, no phone in the logs
