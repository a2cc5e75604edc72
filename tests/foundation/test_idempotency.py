"""`@idempotent` on a real POST view: replays, conflicts, scopes, errors, expiry and a real race."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import timedelta

import pytest
from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import event, func, select, update

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.auth.access import MANAGERS, current_shop, shop_access
from app.common.api import Blueprint
from app.common.types import utcnow
from app.errors import ConflictError
from app.extensions import db
from app.idempotency import services as idempotency
from app.idempotency.decorators import idempotent
from app.idempotency.models import IdempotencyRecord
from tests.factories import MembershipFactory
from tests.foundation.conftest_apps import app_with, client_on
from tests.helpers import ApiClient

URL = "/api/v1/_probe/notes"
UPLOADS = "/api/v1/_probe/uploads"
KEY = {"Idempotency-Key": "order-7f3a"}
DAY = timedelta(hours=24)
NOTE = "probe_note"

# What the probe's service does next; each test sets what it needs (reset after every test).
behaviour: dict = {}


class NoteCreateSchema(Schema):
    text = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=list)


class UploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class NoteSchema(Schema):
    id = fields.Integer()
    text = fields.String(attribute="entity_id")
    request_id = fields.String()


class WorkerKilled(BaseException):
    """The process dies here (SIGKILL, OOM): nothing after this line runs, its connection closes."""


def create_note(*, shop_id: int, actor_id: int, text: str) -> AuditEntry:
    """The probe's service: one row written and committed, with the failure modes a real one has."""
    entry = audit.record(shop_id=shop_id, actor_id=actor_id, action="create", entity_type=NOTE, entity_id=text)
    db.session.flush()
    time.sleep(behaviour.get("sleep", 0))  # a slow service, still inside its transaction
    if behaviour.get("conflict"):
        raise ConflictError("The note conflicts with the shop's state.", errors={"text": ["taken"]})
    if behaviour.get("crash"):
        raise RuntimeError("the database went away")
    db.session.commit()
    if behaviour.pop("killed_after_commit", False):  # once: the retry finds a live process
        raise WorkerKilled
    return entry


def _probe_blueprint() -> Blueprint:
    blp = Blueprint("idempotency_probe", __name__, url_prefix="/api/v1/_probe")

    @blp.route("/notes")
    class Notes(MethodView):
        @shop_access(*MANAGERS)
        @idempotent
        @blp.arguments(NoteCreateSchema)
        @blp.response(201, NoteSchema)
        def post(self, data):
            shop = current_shop()
            entry = create_note(shop_id=shop.shop_id, actor_id=shop.user.id, text=data["text"])
            return entry, 201, {"Location": f"{URL}/{entry.id}", "ETag": f'"note-{entry.id}"'}

    @blp.route("/uploads")
    class Uploads(MethodView):
        @shop_access(*MANAGERS)
        @idempotent
        @blp.arguments(UploadSchema, location="files")
        @blp.response(200, NoteSchema)
        def put(self, files):
            # What the view received: the file read from its first byte, and the form's caption.
            contents = hashlib.sha256(files["file"].stream.read()).hexdigest()[:16]
            shop = current_shop()
            caption = request.form.get("caption", "")
            return create_note(shop_id=shop.shop_id, actor_id=shop.user.id, text=f"{caption}:{contents}")

    return blp


@pytest.fixture(scope="module")
def probe_app(app):
    with app_with(_probe_blueprint()) as test_app:
        yield test_app


@pytest.fixture(autouse=True)
def _reset_behaviour():
    behaviour.clear()
    yield
    behaviour.clear()


@pytest.fixture
def probe(probe_app, request):
    """The probe app; in rolled-back tests its app context stays pushed, as the main app's does."""
    if request.node.get_closest_marker("committed"):
        yield probe_app
        return
    with probe_app.app_context():
        yield probe_app


@pytest.fixture
def manager_on_probe(probe, manager) -> ApiClient:
    return client_on(probe, manager)


def notes_written() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == NOTE))


def test_same_key_and_body_replays_the_first_answer_and_does_the_work_once(manager_on_probe):
    first = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    again = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201
    assert again.data == first.data
    for header in ("Content-Type", "Location", "ETag"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert notes_written() == 1


def test_json_differing_only_in_key_order_and_whitespace_is_the_same_request(manager_on_probe):
    first = manager_on_probe.post(
        URL, data='{"text": "tulips", "tags": ["a", "b"]}', content_type="application/json", headers=KEY
    )
    again = manager_on_probe.post(
        URL, data='{ "tags":["a","b"],\n  "text":"tulips" }', content_type="application/json", headers=KEY
    )

    assert first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert notes_written() == 1


def test_same_key_with_another_body_is_422_naming_the_header(manager_on_probe):
    manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    other = manager_on_probe.post(URL, json={"text": "lilies"}, headers=KEY)

    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["message"]
    assert "Idempotency-Key" in other.json["errors"]["headers"]
    assert notes_written() == 1


def test_a_multipart_retry_is_the_same_request_when_its_fields_and_file_bytes_are(manager_on_probe):
    def upload(data: bytes, caption: str = "door", filename: str = "a.bin"):
        # The test client draws a new random multipart boundary for each request, as phones do.
        return manager_on_probe.put(
            UPLOADS,
            data={"file": (io.BytesIO(data), filename), "caption": caption},
            content_type="multipart/form-data",
            headers=KEY,
        )

    big = bytes(range(256)) * 4096  # 1 MiB: parsed into a temporary file, not memory
    first = upload(big)
    again = upload(big, filename="b.bin")
    other_bytes = upload(big[:-1] + b"x")
    other_caption = upload(big, caption="gate")

    assert first.status_code == 200
    assert first.json["text"] == f"door:{hashlib.sha256(big).hexdigest()[:16]}"  # the view read the whole file
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    assert other_bytes.status_code == 422 and "Idempotency-Key" in other_bytes.json["errors"]["headers"]
    assert other_caption.status_code == 422
    assert notes_written() == 1


def test_keys_belong_to_one_user_in_one_shop(probe, shop, other_shop, login):
    manager = client_on(probe, login("manager"))
    colleague = client_on(probe, login("manager"))
    MembershipFactory(user=manager.user, shop=other_shop, role="admin")
    db.session.commit()
    manager_elsewhere = ApiClient(probe, user=manager.user, shop_id=other_shop.id)

    answers = [c.post(URL, json={"text": "roses"}, headers=KEY) for c in (manager, colleague, manager_elsewhere)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert all("Idempotent-Replayed" not in a.headers for a in answers)
    assert len({a.json["id"] for a in answers}) == 3
    assert notes_written() == 3


def test_a_business_error_is_kept_and_replayed(manager_on_probe):
    behaviour["conflict"] = True
    refused = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    behaviour["conflict"] = False  # the conflict is gone, but the key already has its answer
    retried = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    fresh = manager_on_probe.post(URL, json={"text": "roses"}, headers={"Idempotency-Key": "another"})

    assert refused.status_code == 409
    assert refused.json["errors"] == {"text": ["taken"]}
    assert retried.status_code == 409
    assert retried.data == refused.data
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert fresh.status_code == 201
    assert notes_written() == 1


def test_a_server_error_is_not_kept_so_a_retry_runs_again(manager_on_probe):
    behaviour["crash"] = True
    crashed = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    behaviour["crash"] = False
    retried = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    replayed = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)

    assert crashed.status_code == 500
    assert crashed.json["code"] == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.data == retried.data
    assert notes_written() == 1


def test_an_expired_key_runs_again(manager_on_probe):
    first = manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)
    db.session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    again = manager_on_probe.post(URL, json={"text": "peonies"}, headers=KEY)

    assert first.status_code == 201
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json["id"] != first.json["id"]
    assert notes_written() == 2
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_the_key_is_kept_for_24_hours(manager_on_probe):
    before = utcnow()
    manager_on_probe.post(URL, json={"text": "roses"}, headers=KEY)

    record = db.session.scalars(select(IdempotencyRecord)).one()
    assert record.key == KEY["Idempotency-Key"]
    assert record.status_code == 201
    assert timedelta(hours=24) <= record.expires_at - before < timedelta(hours=24, minutes=1)


def test_without_a_key_every_post_does_the_work(manager_on_probe):
    answers = [manager_on_probe.post(URL, json={"text": "roses"}) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert notes_written() == 2


@pytest.mark.parametrize("key", ["k" * 256, "bad\x00key", "tab\tkey"])
def test_an_unusable_key_is_422(manager_on_probe, key):
    answer = manager_on_probe.post(URL, json={"text": "roses"}, headers={"Idempotency-Key": key})

    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json["errors"]["headers"]
    assert notes_written() == 0


@pytest.mark.committed
def test_two_concurrent_requests_with_one_key_do_the_work_once(probe, manager):
    behaviour["sleep"] = 0.3  # the first request holds its transaction open while the second arrives
    clients = [client_on(probe, manager) for _ in range(2)]
    start = threading.Barrier(len(clients))
    answers: list = [None, None]

    def send(i: int) -> None:
        start.wait()
        answers[i] = clients[i].post(URL, json={"text": "roses"}, headers=KEY)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # The second waits on the key's unique index, then on the stored answer, and replays it.
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].data == answers[1].data
    assert sorted(a.headers.get("Idempotent-Replayed", "no") for a in answers) == ["no", "true"]
    assert notes_written() == 1


@pytest.mark.committed
def test_a_process_killed_after_the_work_committed_leaves_no_claim_and_the_retry_does_it_once(probe, manager):
    behaviour["killed_after_commit"] = True
    with pytest.raises(WorkerKilled):
        client_on(probe, manager).post(URL, json={"text": "roses"}, headers=KEY)

    retried = client_on(probe, manager).post(URL, json={"text": "roses"}, headers=KEY)
    again = client_on(probe, manager).post(URL, json={"text": "roses"}, headers=KEY)

    # The service's commit was not the request's: the work, the claim and the answer went together.
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == retried.data
    assert notes_written() == 1


@pytest.mark.committed
def test_a_duplicate_waiting_on_the_key_runs_the_work_when_the_first_request_dies(probe, manager):
    behaviour.update(sleep=0.5, killed_after_commit=True)  # the first holds the key a while, then dies
    first, second = client_on(probe, manager), client_on(probe, manager)
    outcome: dict = {}

    def send_first() -> None:
        try:
            first.post(URL, json={"text": "roses"}, headers=KEY)
        except WorkerKilled:
            outcome["first"] = "killed"

    thread = threading.Thread(target=send_first)
    thread.start()
    time.sleep(0.2)  # the first has claimed the key and is working
    behaviour["sleep"] = 0
    answer = second.post(URL, json={"text": "roses"}, headers=KEY)
    thread.join(timeout=10)

    assert outcome == {"first": "killed"}
    assert answer.status_code == 201
    assert "Idempotent-Replayed" not in answer.headers  # it waited on the key, then did the work itself
    assert notes_written() == 1


@pytest.mark.committed
def test_an_idempotent_write_commits_once_and_a_replay_not_at_all(probe, manager):
    commits: list[str] = []
    statements: list[str] = []

    def committed(_connection) -> None:
        commits.append("COMMIT")

    def executed(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement.split()[0].upper())

    with probe.app_context():
        engine = db.engine  # the probe app's own
    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", executed)
    try:
        first = client_on(probe, manager).post(URL, json={"text": "roses"}, headers=KEY)
        commits_of_first, statements_of_first = len(commits), list(statements)
        replay = client_on(probe, manager).post(URL, json={"text": "roses"}, headers=KEY)
        statements_of_replay = statements[len(statements_of_first) :]
    finally:
        event.remove(engine, "commit", committed)
        event.remove(engine, "before_cursor_execute", executed)

    assert (first.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert commits_of_first == 1  # claim, work and answer together
    # The replay's claim finds the key taken and changes no row, then it reads the answer: nothing else. Its
    # transaction ends with a COMMIT, not the ROLLBACK that would drop the connection's prepared statements.
    assert [s for s in statements_of_replay if s != "SELECT"] == ["INSERT"]
    assert len(commits) == 2
    # No look-up before the claim, no savepoint around it: the claim and the answer are one statement each.
    assert "SAVEPOINT" not in statements_of_first
    assert statements_of_first.count("INSERT") == 3  # the claim, the note, the answer (an upsert on the claim)


@pytest.mark.committed
def test_a_claim_left_without_an_answer_by_the_previous_release_is_taken_over(probe, manager):
    scope = f"{manager.user.id}/{manager.shop_id}"
    now = utcnow()
    for key, claimed_at in (("dead", now - timedelta(minutes=5)), ("young", now)):
        db.session.add(
            IdempotencyRecord(scope=scope, key=key, fingerprint="f" * 64, created_at=claimed_at, expires_at=now + DAY)
        )
    db.session.commit()

    dead = client_on(probe, manager).post(URL, json={"text": "roses"}, headers={"Idempotency-Key": "dead"})
    young = client_on(probe, manager).post(URL, json={"text": "tulips"}, headers={"Idempotency-Key": "young"})

    assert dead.status_code == 201  # its request died between two commits, long ago: the key is free again
    assert young.status_code == 422  # another body: no takeover of a claim that may still be answered
    assert notes_written() == 1


def test_purge_expired_removes_only_expired_rows():
    now = utcnow()
    for key, expires_at in (("old", now - timedelta(minutes=1)), ("live", now + timedelta(hours=1))):
        db.session.add(IdempotencyRecord(scope="1/1", key=key, fingerprint="f" * 64, expires_at=expires_at))
    db.session.commit()

    removed = idempotency.purge_expired()

    assert removed == 1
    assert db.session.scalars(select(IdempotencyRecord.key)).all() == ["live"]
