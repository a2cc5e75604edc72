"""The scratch database of a benchmark: (re)created, migrated by the app's own migrations, filled by SQL steps.

Shared by bench/reports_bench.py and bench/peak_data.py. Nothing here touches a database whose name does not
start with "bench".
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to touch {name!r}: the scratch database's name must start with 'bench'")
    return name


def _maintenance(url: str):
    connection = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    connection.autocommit = True
    return connection


def recreate_database(url: str) -> None:
    name = database_name(url)
    connection = _maintenance(url)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def database_exists(url: str) -> bool:
    name = database_name(url)
    connection = _maintenance(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        found = cursor.fetchone() is not None
    connection.close()
    return found


def migrate(url: str) -> None:
    """The schema exactly as `flask db upgrade` builds it in production."""
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": url, "FLASK_APP": "wsgi.py"}
    env["PYTHON_DOTENV_DISABLED"] = "1"
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True)


def run_steps(url: str, steps: Iterable[tuple[str, str]], params: dict, *, bulk_tables: Iterable[str] = ()) -> float:
    """Run each (label, SQL) step in one transaction, printing its time; then VACUUM ANALYZE. Seconds taken.

    For speed the steps run with foreign-key triggers off (session_replication_role = replica: the steps must
    make consistent rows themselves), and the plain secondary indexes of `bulk_tables` are dropped first and
    built again after the last step.
    """
    connection = psycopg2.connect(url)
    began = time.perf_counter()
    with connection, connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            (list(bulk_tables),),
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        for what, statement in steps:
            step = time.perf_counter()
            cursor.execute(statement, params)
            print(f"  {what}: {time.perf_counter() - step:.1f} s", flush=True)
        step = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        print(f"  {len(indexes)} indexes built again: {time.perf_counter() - step:.1f} s", flush=True)
    connection.autocommit = True
    with connection.cursor() as cursor:
        step = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze: {time.perf_counter() - step:.1f} s", flush=True)
    connection.close()
    return time.perf_counter() - began


def count_rows(url: str, tables: Iterable[str]) -> dict[str, int]:
    connection = psycopg2.connect(url)
    counts: dict[str, int] = {}
    with connection, connection.cursor() as cursor:
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
    connection.close()
    return counts


def machine() -> str:
    """The CPU, cores, memory and kernel, as a benchmark report names its machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs (nproc){memory}, {platform.system()} {platform.release()}"


def server_version(url: str) -> str:
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    return f"PostgreSQL {version}"
