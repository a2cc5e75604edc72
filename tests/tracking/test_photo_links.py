"""Photos (proof of delivery, the bouquet) are served only by signed links that expire; product images stay
public. Local disk and S3 alike: the app streams the file either way."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import time_machine
from flask_jwt_extended import create_access_token

from app.common.types import utcnow
from tests.catalogue.test_product_images import photo as product_photo
from tests.catalogue.test_product_images import upload as product_upload
from tests.catalogue.test_storage_s3 import LocalS3, keys_in
from tests.production.workshop import DELIVERIES, TASKS, ok
from tests.tracking.flow import deliver, on_the_way


def _split(url: str) -> tuple[str, dict[str, str]]:
    link = urlparse(url)
    return link.path, {name: values[0] for name, values in parse_qs(link.query).items()}


def _get(client, path: str, query: dict[str, str] | None = None):
    return client.get(f"{path}?{urlencode(query)}" if query else path)


@pytest.fixture
def delivered(front, boss, as_role, tmp_media):
    tracked = on_the_way(front, boss, as_role)
    deliver(tracked)
    return tracked


def test_the_delivery_card_and_the_task_carry_working_signed_links(boss, delivered, client):
    card = ok(boss.get(f"{DELIVERIES}/{delivered.order_id}"))
    task = ok(boss.get(f"{TASKS}/{delivered.task_id}"))
    listed = ok(boss.get(TASKS, query_string={"order_id": delivered.order_id}))

    for url in (card["photo_url"], task["photo_url"], listed[0]["photo_url"]):
        path, query = _split(url)
        assert set(query) == {"expires", "sig"}
        assert int(query["expires"]) > utcnow().timestamp() + 6 * 86400  # a week, give or take the hour
        served = _get(client, path, query)  # no login needed: the link is the key
        assert served.status_code == 200 and served.mimetype in ("image/png", "image/jpeg")
        assert served.headers["Cache-Control"].startswith("private")
        assert "public" not in served.headers["Cache-Control"]


def test_a_photo_is_never_served_without_a_valid_signature(boss, delivered, client):
    path, query = _split(ok(boss.get(f"{DELIVERIES}/{delivered.order_id}"))["photo_url"])
    other_path, other_query = _split(ok(boss.get(f"{TASKS}/{delivered.task_id}"))["photo_url"])

    assert _get(client, path).status_code == 403  # unsigned
    assert _get(boss, path).status_code == 403  # a login is no signature either
    assert _get(client, path, {"expires": query["expires"]}).status_code == 403
    assert _get(client, path, {"sig": query["sig"]}).status_code == 403
    later = str(int(query["expires"]) + 3600)
    assert _get(client, path, {**query, "expires": later}).status_code == 403  # a longer life is forged
    flipped = query["sig"][:-2] + ("AA" if not query["sig"].endswith("AA") else "BB")
    assert _get(client, path, {**query, "sig": flipped}).status_code == 403
    assert _get(client, path, other_query).status_code == 403  # another photo's signature
    assert _get(client, path, {**query, "expires": "x" + query["expires"]}).status_code == 403
    assert _get(client, path, query).status_code == 200


def test_an_expired_link_is_refused_and_a_fresh_card_has_a_new_one(boss, delivered, client):
    path, query = _split(ok(boss.get(f"{DELIVERIES}/{delivered.order_id}"))["photo_url"])

    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        assert _get(client, path, query).status_code == 403
        boss.token = create_access_token(identity=boss.user)  # a week on, the manager logs in again
        fresh_path, fresh_query = _split(ok(boss.get(f"{DELIVERIES}/{delivered.order_id}"))["photo_url"])
        assert fresh_path == path and fresh_query != query
        assert _get(client, fresh_path, fresh_query).status_code == 200


def test_the_tracking_page_links_work_and_expire_like_the_others(delivered, client):
    data = ok(client.get(f"{delivered.path}.json"))
    for url in (data["delivery_photo_url"], data["bouquet_photo_url"]):
        path, query = _split(url)
        assert _get(client, path, query).status_code == 200
        assert _get(client, path).status_code == 403
    html = client.get(delivered.path).get_data(as_text=True)
    assert len(re.findall(r'<img src="[^"]*/media/[^"]*expires=\d+&amp;sig=', html)) == 2


def test_product_images_stay_public_and_cached(manager, shop, tmp_media):
    from app.catalogue import services as catalogue
    from tests.warehouse.stockdata import D

    product = catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Classic", "price": D("1500")})
    url = ok(product_upload(manager, product.id, product_photo()))["image_url"]

    path, query = _split(url)
    assert query == {}
    served = _get(manager.__class__(manager.app), path)  # anonymous
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_in_s3_mode_photos_are_private_objects_served_only_when_signed(
    app, front, boss, as_role, monkeypatch, tmp_media
):
    import uuid

    server = LocalS3()
    try:
        bucket = f"flowercrm-{uuid.uuid4().hex[:12]}"
        for name, value in {
            "STORAGE_BACKEND": "s3",
            "STORAGE_S3_ENDPOINT_URL": server.url,
            "STORAGE_S3_BUCKET": bucket,
            "STORAGE_S3_ACCESS_KEY": "flowercrm-test",
            "STORAGE_S3_SECRET_KEY": "flowercrm-test-secret",
            "STORAGE_S3_REGION": "us-east-1",
        }.items():
            monkeypatch.setitem(app.config, name, value)
        server.client().create_bucket(Bucket=bucket)
        tracked = on_the_way(front, boss, as_role)
        deliver(tracked)

        keys = keys_in(server, bucket)
        assert len(keys) == 2 and not any(tmp_media.rglob("*.*")) if tmp_media.exists() else len(keys) == 2
        for key in keys:
            assert server.client().get_object(Bucket=bucket, Key=key)["CacheControl"] == "private"
        path, query = _split(ok(boss.get(f"{DELIVERIES}/{tracked.order_id}"))["photo_url"])
        assert _get(boss, path).status_code == 403
        served = _get(boss, path, query)
        assert served.status_code == 200 and served.headers["Cache-Control"].startswith("private")
    finally:
        server.stop()


def test_a_link_made_outside_a_request_starts_with_the_public_base_url_and_works(app, client, delivered):
    from app.storage import signed_url
    from tests.production.workshop import trip_of

    url = signed_url(trip_of(delivered.order_id).photo_key)  # as an event rendered by a job makes it

    assert url.startswith(f"{app.config['PUBLIC_BASE_URL']}/media/shops/")
    path, query = _split(url)
    assert _get(client, path, query).status_code == 200
