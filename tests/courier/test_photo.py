"""Proof of delivery: checked by content like product images, EXIF (GPS) stripped, replaced cleanly."""

from __future__ import annotations

import io
from urllib.parse import urlparse

from PIL import ExifTags, Image

from tests.production.workshop import DELIVERIES, audit_of, delivery_in, ok, order_row, photo, trip_of


def put_photo(client, order_id: int, data: bytes, filename: str = "door.jpg"):
    return client.put(
        f"{DELIVERIES}/{order_id}/photo",
        data={"photo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_the_proof_photo_is_stored_without_its_gps_position(front, boss, as_role, tmp_media):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    original = photo(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    card = ok(put_photo(courier, order_id, original))

    link = urlparse(card["photo_url"])
    served = courier.get(f"{link.path}?{link.query}")  # a signed link (tests/tracking/test_photo_links.py)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert courier.get(link.path).status_code == 403
    assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}
    assert b"PhoneCo" not in served.data
    assert ("delivery_photo", courier.user.id) in audit_of("order", order_id)
    assert (tmp_media / trip_of(order_id).photo_key).exists()
    # The manager finds the proof on the delivery.
    assert ok(boss.get(f"{DELIVERIES}/{order_id}"))["photo_url"] == card["photo_url"]


def test_a_new_photo_replaces_the_old_one_after_delivery_too(front, as_role, tmp_media):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    ok(put_photo(courier, order_id, photo()))
    first_key = trip_of(order_id).photo_key
    ok(courier.post(f"{DELIVERIES}/{order_id}/deliver", json={}))

    ok(put_photo(courier, order_id, photo("PNG"), filename="again.png"))

    assert not (tmp_media / first_key).exists()
    assert trip_of(order_id).photo_key.endswith(".png")


def test_not_an_image_is_415_and_too_large_is_413(front, as_role, tmp_media):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)

    not_image = put_photo(courier, order_id, b"%PDF-1.4 not a photo", filename="door.jpg")
    assert not_image.status_code == 415 and "photo" in not_image.json["errors"]
    huge = put_photo(courier, order_id, b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024))
    assert huge.status_code == 413
    assert put_photo(courier, order_id, b"").status_code in (415, 422)
    assert trip_of(order_id).photo_key is None


def test_a_decompression_bomb_is_422_naming_the_photo_and_nothing_is_kept(front, as_role, tmp_media):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    bomb = io.BytesIO()
    Image.new("L", (7070, 7070)).save(bomb, format="PNG", optimize=True)  # 50 megapixels in a few KB

    refused = put_photo(courier, order_id, bomb.getvalue(), filename="door.png")

    assert refused.status_code == 422
    assert "слишком много пикселей" in refused.json["message"]
    assert refused.json["errors"] == {"photo": ["7070x7070 pixels; at most 6000000 for a PNG."]}
    assert trip_of(order_id).photo_key is None and order_row(order_id).status == "out_for_delivery"
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))


def test_no_photo_before_the_flowers_leave_and_none_on_another_couriers_delivery(front, as_role, tmp_media):
    courier, colleague = as_role("courier"), as_role("courier")
    waiting = delivery_in(front, "ready", courier)
    theirs = delivery_in(front, "out_for_delivery", colleague)

    early = put_photo(courier, waiting, photo())
    assert early.status_code == 409 and early.json["errors"]["status"]["current"] == "ready"
    assert put_photo(courier, theirs, photo()).status_code == 404
    assert trip_of(theirs).photo_key is None and order_row(waiting).status == "ready"
    assert list(tmp_media.rglob("*.jpg")) == []


def test_a_retried_upload_with_its_key_answers_the_first_and_stores_one_file(front, as_role, tmp_media):
    courier = as_role("courier")
    order_id = delivery_in(front, "out_for_delivery", courier)
    key = {"Idempotency-Key": "photo-door-1"}
    door = photo(gps=True)

    def upload(data: bytes, filename: str = "door.jpg"):
        # Each request draws its own multipart boundary, as a phone's retry does.
        return courier.put(
            f"{DELIVERIES}/{order_id}/photo",
            data={"photo": (io.BytesIO(data), filename)},
            content_type="multipart/form-data",
            headers=key,
        )

    first = upload(door)
    again = upload(door, filename="IMG_0001.jpg")

    assert ok(first)["photo_url"] is not None
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(list(tmp_media.rglob("*.jpg"))) == 1
    assert [action for action, _ in audit_of("order", order_id)].count("delivery_photo") == 1

    other = upload(photo("PNG"), filename="door.png")
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]["headers"]
    assert list(tmp_media.rglob("*.png")) == []
    assert trip_of(order_id).photo_key.endswith(".jpg")
