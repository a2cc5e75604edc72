"""Product images: checked by content, cleaned of EXIF, replaced cleanly, served with caching."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from app import storage
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


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def assert_refused_and_nothing_kept(response, manager, product, tmp_media, *, said: str) -> None:
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert said in response.json["message"] and list(response.json["errors"]) == ["image"]
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] is None
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))


def test_the_decompression_bomb_of_the_issue_is_422_and_nothing_is_kept(manager, product, tmp_media):
    bomb = encoded(Image.new("L", (7070, 7070)), "PNG", optimize=True)  # 50 megapixels in a few KB
    assert len(bomb) < 250 * 1024

    response = upload(manager, product.id, bomb, filename="bouquet.png")

    assert_refused_and_nothing_kept(response, manager, product, tmp_media, said="слишком много пикселей")
    assert response.json["errors"]["image"] == ["7070x7070 pixels; at most 6000000 for a PNG."]


def test_a_large_phone_photo_is_kept_at_2048_pixels_on_its_long_side(manager, product, tmp_media):
    phone_photo = encoded(Image.new("RGB", (4032, 3024), (200, 30, 60)), "JPEG")  # 12 MP, sideways by EXIF
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    phone_photo = encoded(Image.open(io.BytesIO(phone_photo)), "JPEG", exif=exif.tobytes())

    response = upload(manager, product.id, phone_photo)

    assert response.status_code == 200, response.json
    stored = Image.open(io.BytesIO(fetch(manager, response.json["image_url"]).data))
    assert stored.size == (1536, 2048)  # shrunk, then turned upright


def test_a_progressive_jpeg_has_a_lower_cap_than_a_baseline_one(manager, product, tmp_media):
    picture = Image.new("RGB", (3000, 2100), (20, 160, 60))  # 6.3 megapixels

    baseline = upload(manager, product.id, encoded(picture, "JPEG"))
    assert baseline.status_code == 200, baseline.json
    first_url = baseline.json["image_url"]
    progressive = upload(manager, product.id, encoded(picture, "JPEG", progressive=True))

    assert progressive.status_code == 422
    assert progressive.json["errors"]["image"] == ["3000x2100 pixels; at most 6000000 for a progressive JPEG."]
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] == first_url
    assert fetch(manager, first_url).status_code == 200


def test_a_png_stuffed_with_compressed_text_is_422(manager, product, tmp_media):
    text = PngImagePlugin.PngInfo()
    for index in range(5):  # 5 MB of text in a few KB of file
        text.add_text(f"note{index}", "A" * (PngImagePlugin.MAX_TEXT_CHUNK - 1024), zip=True)
    stuffed = encoded(Image.new("RGB", (40, 20)), "PNG", pnginfo=text)
    assert len(stuffed) < 100 * 1024

    response = upload(manager, product.id, stuffed, filename="bouquet.png")

    assert_refused_and_nothing_kept(response, manager, product, tmp_media, said="повреждено")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_each_format_at_its_pixel_cap_is_accepted_and_one_row_more_is_not(image_format):
    cap = storage.MAX_PIXELS[image_format]
    width = 2000
    at_cap = Image.new("RGB", (width, cap // width), (200, 30, 60))
    over = Image.new("RGB", (width, cap // width + 1), (200, 30, 60))

    kept = storage.clean_image(io.BytesIO(encoded(at_cap, image_format)))
    with pytest.raises(storage.BrokenImage) as refused:
        storage.clean_image(io.BytesIO(encoded(over, image_format)))

    assert max(kept.width, kept.height) == min(storage.STORED_LONG_SIDE, max(at_cap.size))
    expected = f"{width}x{cap // width + 1} pixels; at most {cap} for a {image_format}."
    assert refused.value.errors == {"image": [expected]}


def test_another_shops_product_is_404_and_nothing_is_stored(as_role, other_shop, product, tmp_media):
    stranger = as_role("manager", shop=other_shop)
    assert upload(stranger, product.id, photo()).status_code == 404
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))


def test_the_image_part_is_required(manager, product, tmp_media):
    response = manager.put(f"/api/v1/products/{product.id}/image", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
