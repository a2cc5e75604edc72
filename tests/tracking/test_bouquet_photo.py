"""The florist's photo of the finished bouquet: who may add it, what is refused, and what it replaces."""

from __future__ import annotations

import io
from urllib.parse import urlparse

from PIL import Image

from app.extensions import db
from app.production.models import ProductionTask
from tests.production.workshop import ORDERS, TASKS, audit_of, confirmed, ok, photo, tasks_of
from tests.tracking.flow import bouquet_photo, order_body


def _started(front, boss, florist) -> int:
    order_id = confirmed(front, boss, order_body(front))
    task_id = tasks_of(order_id)[0].id
    ok(florist.post(f"{TASKS}/{task_id}/start"))
    return task_id


def _key(task_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(ProductionTask, task_id).photo_key


def test_the_tasks_florist_adds_the_photo_without_its_gps_and_the_task_shows_it(front, boss, as_role, tmp_media):
    florist = as_role("florist")
    task_id = _started(front, boss, florist)

    task = ok(bouquet_photo(florist, task_id, photo(gps=True)))

    link = urlparse(task["photo_url"])
    served = florist.get(f"{link.path}?{link.query}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}
    assert b"PhoneCo" not in served.data
    assert _key(task_id).startswith(f"shops/{front.shop_id}/tasks/{task_id}/")
    assert ("photo", florist.user.id) in audit_of("production_task", task_id)
    assert ok(boss.get(f"{TASKS}/{task_id}"))["photo_url"] == task["photo_url"]


def test_a_new_photo_replaces_the_old_one_and_managers_may_add_it_too(front, boss, as_role, tmp_media):
    florist = as_role("florist")
    task_id = _started(front, boss, florist)
    ok(bouquet_photo(florist, task_id))
    first = _key(task_id)
    ok(florist.post(f"{TASKS}/{task_id}/complete"))

    ok(bouquet_photo(boss, task_id, photo("PNG"), filename="again.png"))

    assert not (tmp_media / first).exists()
    assert _key(task_id).endswith(".png")


def test_another_florist_a_courier_and_another_shop_cannot_add_it(front, boss, as_role, other_shop, tmp_media):
    florist, colleague, courier = as_role("florist"), as_role("florist"), as_role("courier")
    task_id = _started(front, boss, florist)
    stranger = as_role("manager", shop=other_shop)

    assert bouquet_photo(colleague, task_id).status_code == 404  # another florist's task is not theirs to see
    assert bouquet_photo(courier, task_id).status_code == 403
    assert bouquet_photo(stranger, task_id).status_code == 404
    assert _key(task_id) is None


def test_an_unassigned_or_unstarted_task_is_refused(front, boss, as_role, tmp_media):
    florist = as_role("florist")
    order_id = confirmed(front, boss, order_body(front))
    task_id = tasks_of(order_id)[0].id

    assert bouquet_photo(florist, task_id).status_code == 403  # not theirs (yet)
    refused = bouquet_photo(boss, task_id)
    assert refused.status_code == 409 and refused.json["errors"]["task"]["status"] == "pending"
    ok(boss.post(f"{ORDERS}/{order_id}/status", json={"status": "cancelled", "comment": "changed plans"}))
    assert bouquet_photo(boss, task_id).status_code == 409
    assert _key(task_id) is None


def test_bad_files_are_refused_like_proof_photos(front, boss, as_role, tmp_media):
    florist = as_role("florist")
    task_id = _started(front, boss, florist)

    not_image = bouquet_photo(florist, task_id, b"%PDF-1.4 not a photo")
    assert not_image.status_code == 415 and "photo" in not_image.json["errors"]
    assert bouquet_photo(florist, task_id, b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024)).status_code == 413
    assert bouquet_photo(florist, task_id, b"").status_code in (415, 422)
    bomb = io.BytesIO()
    Image.new("L", (7070, 7070)).save(bomb, format="PNG", optimize=True)
    assert bouquet_photo(florist, task_id, bomb.getvalue(), filename="b.png").status_code == 422
    assert _key(task_id) is None
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))
