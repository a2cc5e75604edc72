"""Product images: checked by content, cleaned of EXIF, replaced cleanly, served with caching."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import ExifTags, Image

from app.catalogue import services as catalogue
from tests.warehouse.stockdata import D

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (55.0, 45.0, 21.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (37.0, 37.0, 4.0),
}


def photo(image_format: str = "JPEG", *, size=(40, 20), gps: bool = False, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 60))
    exif = Image.Exif()
    if gps:
        exif[ExifTags.Base.GPSInfo] = GPS
        exif[ExifTags.Base.Make] = "PhoneCo"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    image.save(out, format=image_format, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def product(shop):
    return catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Classic", "price": D("1500")})


def upload(client, product_id: int, data: bytes, filename: str = "bouquet.jpg"):
    return client.put(
        f"/api/v1/products/{product_id}/image",
        data={"image": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def fetch(client, url: str):
    return client.get(urlparse(url).path)


def test_a_phone_photo_is_stored_upright_without_its_gps_position(manager, product, tmp_media):
    original = photo(gps=True, orientation=6)  # taken sideways: 40 x 20, to be turned
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo has GPS

    response = upload(manager, product.id, original)
    assert response.status_code == 200, response.json
    served = fetch(manager, response.json["image_url"])
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert "max-age=" in served.headers["Cache-Control"]
    stored = Image.open(io.BytesIO(served.data))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert b"PhoneCo" not in served.data
    assert stored.size == (20, 40)


@pytest.mark.parametrize(("image_format", "mimetype"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted_and_cleaned(manager, product, tmp_media, image_format, mimetype):
    response = upload(manager, product.id, photo(image_format, gps=True), filename="bouquet.bin")
    assert response.status_code == 200, response.json
    served = fetch(manager, response.json["image_url"])
    assert served.mimetype == mimetype
    assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}


def test_a_new_image_replaces_the_old_file(manager, product, tmp_media):
    first = upload(manager, product.id, photo()).json["image_url"]
    second = upload(manager, product.id, photo("PNG")).json["image_url"]
    assert first != second
    assert fetch(manager, first).status_code == 404
    assert fetch(manager, second).status_code == 200
    assert len([p for p in tmp_media.rglob("*") if p.is_file()]) == 1
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] == second


def test_a_renamed_text_file_is_415(manager, product, tmp_media):
    response = upload(manager, product.id, b"just some notes, not a picture\n" * 20, filename="bouquet.jpg")
    assert response.status_code == 415
    assert response.json["code"] == 415 and "image" in response.json["errors"]
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))


def test_an_image_of_another_type_is_415(manager, product, tmp_media):
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert upload(manager, product.id, gif.getvalue(), filename="bouquet.png").status_code == 415


def test_a_truncated_image_is_422(manager, product, tmp_media):
    big = Image.effect_noise((400, 400), 60).convert("RGB")  # noise compresses badly: plenty of bytes to cut
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=95)
    response = upload(manager, product.id, out.getvalue()[: len(out.getvalue()) // 2])
    assert response.status_code == 422
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] is None


def test_an_11_mb_upload_is_413(manager, product, tmp_media):
    response = upload(manager, product.id, photo() + b"\0" * (11 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_an_image_part_over_10_mb_is_413_even_inside_the_request_limit(manager, product, tmp_media):
    response = upload(manager, product.id, photo() + b"\0" * (10 * 1024 * 1024))
    assert response.status_code == 413
    assert "image" in response.json["errors"]


def test_another_shops_product_is_404_and_nothing_is_stored(as_role, other_shop, product, tmp_media):
    stranger = as_role("manager", shop=other_shop)
    assert upload(stranger, product.id, photo()).status_code == 404
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))


def test_the_image_part_is_required(manager, product, tmp_media):
    response = manager.put(f"/api/v1/products/{product.id}/image", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
