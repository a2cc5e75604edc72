"""Jobs: enqueued only after commit, run by a real RQ worker in an app context, retried, run inline in dev."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask.views import MethodView
from marshmallow import Schema, fields
from rq.job import JobStatus
from sqlalchemy import select

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.auth.access import current_shop, shop_access
from app.common.api import Blueprint
from app.common.types import utcnow
from app.config import TestConfig
from app.extensions import db, queues, redis_client
from app.idempotency.models import IdempotencyRecord
from app.jobs import enqueue_after_commit, enqueue_now, retry_policy
from app.jobs.schedule import PERIODIC
from app.jobs.worker import build_worker
from tests.foundation.conftest_apps import app_with, client_on

STAMP = "probe_stamp"
# The sessions the probe view and the probe job ran in, to tell whether the job had one of its own.
sessions_seen: list = []


def stamp_shop(shop_id: int, text: str) -> int:
    """A job that writes to the database."""
    sessions_seen.append(("job", db.session()))
    entry = audit.record(shop_id=shop_id, actor_id=None, action="job", entity_type=STAMP, entity_id=text)
    db.session.commit()
    return entry.id


def always_fails(counter_key: str) -> None:
    """A job whose provider is down: counts its tries in Redis, then fails."""
    redis_client.incr(counter_key)
    raise RuntimeError("the provider is down")


def stamps() -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == STAMP)).all()


# --- after commit, never on rollback -------------------------------------------------------------


def test_a_job_reaches_the_queue_only_when_the_transaction_commits(shop):
    shop_id = shop.id
    queue = queues.get("default")

    enqueue_after_commit("default", stamp_shop, shop_id, "after-commit")
    db.session.flush()
    assert queue.count == 0

    db.session.commit()
    [job] = queue.get_jobs()
    assert job.func_name == f"{__name__}.stamp_shop"
    assert job.args == (shop_id, "after-commit")


def test_a_rolled_back_transaction_enqueues_nothing(shop):
    shop_id = shop.id
    db.session.commit()

    enqueue_after_commit("default", stamp_shop, shop_id, "rolled-back")
    db.session.rollback()
    db.session.commit()  # a later transaction of the same session must not carry it either

    assert all(queue.count == 0 for queue in queues.all())


def test_a_savepoint_rollback_drops_only_its_own_jobs(shop):
    shop_id = shop.id
    enqueue_after_commit("default", stamp_shop, shop_id, "outer")
    with db.session.begin_nested():
        enqueue_after_commit("default", stamp_shop, shop_id, "kept-savepoint")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        enqueue_after_commit("default", stamp_shop, shop_id, "failed-savepoint")
        with db.session.begin_nested():
            enqueue_after_commit("default", stamp_shop, shop_id, "inside-failed-savepoint")
        raise RuntimeError("the savepoint's work failed")

    assert queues.get("default").count == 0  # releasing a savepoint is not the commit

    db.session.commit()

    assert [job.args[1] for job in queues.get("default").get_jobs()] == ["outer", "kept-savepoint"]


# --- a real worker -----------------------------------------------------------------------------


@pytest.mark.committed
def test_a_worker_runs_the_job_inside_an_app_context(app, shop):
    shop_id = shop.id
    enqueue_after_commit("default", stamp_shop, shop_id, "by-worker")
    db.session.commit()
    [job] = queues.get("default").get_jobs()

    build_worker(app, queues.all(), simple=True).work(burst=True)

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    [entry] = stamps()
    assert (entry.shop_id, entry.entity_id) == (shop_id, "by-worker")
    assert entry.request_id == f"job-{job.id}"  # the worker's log lines and audit entries name the job
    assert job.return_value() == entry.id


@pytest.mark.committed
def test_the_forking_worker_runs_the_job_in_a_work_horse(app, shop):
    shop_id = shop.id
    enqueue_after_commit("default", stamp_shop, shop_id, "by-horse")
    db.session.commit()
    [job] = queues.get("default").get_jobs()

    build_worker(app, queues.all()).work(burst=True)  # as `make worker` runs in production

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    [entry] = stamps()
    assert (entry.entity_id, entry.request_id) == ("by-horse", f"job-{job.id}")


def test_a_worker_given_queues_takes_only_their_jobs(app, shop):
    # The operator's dispatcher: `flask jobs worker --queue status --simple` beside a forking worker for the rest.
    shop_id = shop.id
    enqueue_after_commit("status", stamp_shop, shop_id, "dispatched")
    enqueue_after_commit("default", stamp_shop, shop_id, "left")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst", "--simple", "--queue", "status"])

    assert result.exit_code == 0, result.output
    assert "worker on queues status" in result.output
    assert [entry.entity_id for entry in stamps()] == ["dispatched"]
    assert queues.get("status").count == 0 and queues.get("default").count == 1


def test_a_worker_refuses_a_queue_the_app_does_not_have(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst", "--queue", "sms"])

    assert result.exit_code == 2 and "'sms' is not one of" in result.output


def test_a_failing_job_is_scheduled_again_with_backoff(app):
    job = enqueue_now("default", always_fails, "tries", retry=retry_policy(3))
    before = utcnow()

    build_worker(app, queues.all(), simple=True).work(burst=True)

    job.refresh()
    registry = queues.get("default").scheduled_job_registry
    assert redis_client.get("tries") == b"1"
    assert job.retries_left == 1
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.id in registry
    assert timedelta(seconds=9) <= registry.get_scheduled_time(job) - before <= timedelta(seconds=12)


def test_a_job_that_keeps_failing_ends_in_the_failed_registry(app):
    job = enqueue_now("default", always_fails, "tries", retry=retry_policy(3, first_delay=0))

    build_worker(app, queues.all(), simple=True).work(burst=True)

    job.refresh()
    assert redis_client.get("tries") == b"3"
    assert job.retries_left == 0
    assert job.get_status() == JobStatus.FAILED
    assert job.id in queues.get("default").failed_job_registry
    assert "the provider is down" in job.latest_result().exc_string


def test_one_try_means_no_retry_policy():
    assert retry_policy(1) is None


# --- through a request: Redis down, and the dev mode's inline jobs ------------------------------------


class StampSchema(Schema):
    text = fields.String(required=True)


class StampedSchema(Schema):
    id = fields.Integer()


def _jobs_probe_blueprint() -> Blueprint:
    blp = Blueprint("jobs_probe", __name__, url_prefix="/api/v1/_jobs_probe")

    @blp.route("/stamps")
    class Stamps(MethodView):
        @shop_access()
        @blp.arguments(StampSchema)
        @blp.response(201, StampedSchema)
        def post(self, data):
            shop_id = current_shop().shop_id
            sessions_seen.append(("view", db.session()))
            entry = audit.record(shop_id=shop_id, actor_id=None, action="create", entity_type="order", entity_id=1)
            enqueue_after_commit("default", stamp_shop, shop_id, data["text"])
            db.session.commit()
            return entry

    return blp


@pytest.fixture(autouse=True)
def _forget_sessions():
    yield
    sessions_seen.clear()


def test_with_redis_down_the_request_still_succeeds_and_the_failure_is_logged(app, manager, caplog):
    config = TestConfig()
    config.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    config.RATELIMIT_STORAGE_URI = "memory://"
    with app_with(_jobs_probe_blueprint(), config=config) as down_app, down_app.app_context():
        answer = client_on(down_app, manager).post("/api/v1/_jobs_probe/stamps", json={"text": "lost"})

        assert answer.status_code == 201
        db.session.rollback()  # only what was committed is left
        assert db.session.get(AuditEntry, answer.json["id"]) is not None
    failures = [r for r in caplog.records if r.name == "app.common.session" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["could not enqueue stamp_shop on default after commit"]
    assert failures[0].exc_info is not None


@pytest.mark.committed
def test_inline_mode_runs_the_job_at_once_after_commit_in_its_own_session(app, manager):
    config = TestConfig()
    config.JOBS_INLINE = True
    config.REDIS_URL = config.RATELIMIT_STORAGE_URI = "memory://"
    with app_with(_jobs_probe_blueprint(), config=config) as inline_app:
        answer = client_on(inline_app, manager).post("/api/v1/_jobs_probe/stamps", json={"text": "inline"})

    assert answer.status_code == 201
    [entry] = stamps()
    assert entry.entity_id == "inline"
    [(first, view_session), (second, job_session)] = sessions_seen
    assert (first, second) == ("view", "job")
    assert job_session is not view_session


def test_an_inline_job_that_fails_is_logged_not_raised(app, caplog):
    config = TestConfig()
    config.JOBS_INLINE = True
    config.REDIS_URL = config.RATELIMIT_STORAGE_URI = "memory://"
    with app_with(config=config) as inline_app, inline_app.app_context():
        job = enqueue_now("default", always_fails, "inline-tries", retry=retry_policy(3))
        tries = redis_client.get("inline-tries")

    assert tries == b"1"  # inline runs once, whatever the retry policy
    assert job.get_status() == JobStatus.FAILED
    [failure] = [r for r in caplog.records if r.name == "app.jobs"]
    assert failure.levelno == logging.ERROR
    assert "inline job always_fails failed" in failure.getMessage()
    assert "the provider is down" in failure.getMessage()


# --- periodic jobs -----------------------------------------------------------------------------------


def test_run_due_runs_every_periodic_job_now(app):
    now = utcnow()
    for key, expires_at in (("expired", now - timedelta(seconds=1)), ("live", now + timedelta(hours=1))):
        db.session.add(IdempotencyRecord(scope="1/1", key=key, fingerprint="f" * 64, expires_at=expires_at))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["jobs", "run-due"])

    assert result.exit_code == 0, result.output
    for periodic in PERIODIC:
        assert periodic.func.__name__ in result.output
    assert db.session.scalars(select(IdempotencyRecord.key)).all() == ["live"]
    assert sum(queue.count for queue in queues.all()) == 0  # run here, not left for a worker
