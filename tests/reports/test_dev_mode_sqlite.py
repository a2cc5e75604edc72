"""The dev mode's SQLite gives the same reports as PostgreSQL.

SQLite has no time zones: there the shop's UTC offsets are worked out in Python and handed to SQL
(app/reports/periods.py). The same data sets are built in a fresh SQLite database by a child
process in the dev mode, and every report must come out equal to the one PostgreSQL computes
here, New York's change to summer time included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.reports.reportdata import every_report

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHILD = """
import json
from flask_migrate import upgrade
from app import create_app
from app.extensions import db, init_migrations
from tests.reports.reportdata import every_report

app = create_app("development")
init_migrations(app)
with app.app_context():
    upgrade()
    reports = every_report()
    db.session.commit()
print("REPORTS " + json.dumps(reports))
"""


def _in_sqlite(tmp_path: Path) -> dict:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
            "PYTHON_DOTENV_DISABLED": "1",
            "STORAGE_LOCAL_DIR": str(tmp_path / "media"),
            "PYTHONPATH": str(PROJECT_DIR),
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORTS "))
    return json.loads(line.removeprefix("REPORTS "))


def test_every_report_on_sqlite_equals_postgresql(tmp_path):
    on_postgresql = json.loads(json.dumps(every_report()))

    on_sqlite = _in_sqlite(tmp_path)

    assert on_sqlite.keys() == on_postgresql.keys()
    for name in on_postgresql:
        assert on_sqlite[name] == on_postgresql[name], name
    assert on_postgresql["New York by day"]["totals"]["orders"] == 3
    assert [p["orders"] for p in on_postgresql["New York by day"]["periods"]] == [1, 1, 1, 0]
