"""Product images in S3-compatible storage, against a real S3 HTTP server (moto's) on 127.0.0.1.

The app speaks to it exactly as to MinIO: path-style requests to STORAGE_S3_ENDPOINT_URL.
"""

from __future__ import annotations

import io
import uuid
from urllib.parse import urlparse

import boto3
import pytest
from botocore.config import Config as BotoConfig
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.catalogue import services as catalogue
from app.config import ConfigError, load_config
from app.extensions import db
from tests.catalogue.test_product_images import photo, upload
from tests.warehouse.stockdata import D

ACCESS_KEY, SECRET_KEY = "flowercrm-test", "flowercrm-test-secret"


class LocalS3:
    """moto's S3 server on 127.0.0.1 at a random port, which a test can stop and start again."""

    def __init__(self) -> None:
        self.port = 0
        self.start()

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        self._server.stop()
        self._server._server.server_close()  # stop() alone keeps the port listening; a dead S3 refuses connections

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, region: str = "us-east-1"):
        """Our own look into the bucket, not the app's client."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=BotoConfig(s3={"addressing_style": "path"}),
        )


@pytest.fixture
def s3_server():
    server = LocalS3()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(app, s3_server, tmp_media, monkeypatch):
    """The app stores in a fresh bucket of its own (moto's state is shared by the whole test process)."""
    bucket = f"flowercrm-{uuid.uuid4().hex[:12]}"
    settings = {
        "STORAGE_BACKEND": "s3",
        "STORAGE_S3_ENDPOINT_URL": s3_server.url,
        "STORAGE_S3_BUCKET": bucket,
        "STORAGE_S3_ACCESS_KEY": ACCESS_KEY,
        "STORAGE_S3_SECRET_KEY": SECRET_KEY,
        "STORAGE_S3_REGION": "us-east-1",
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


def keys_in(server: LocalS3, bucket: str) -> list[str]:
    return [entry["Key"] for entry in server.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


def key_of(image_url: str) -> str:
    return urlparse(image_url).path.removeprefix("/media/")


@pytest.fixture
def manager(as_role):
    return as_role("manager")


@pytest.fixture
def product(shop):
    return catalogue.create_product(shop_id=shop.id, actor_id=None, data={"name": "Classic", "price": D("1500")})


def test_an_upload_is_stored_in_the_bucket_without_exif_and_served_at_media(
    manager, shop, product, s3_server, s3_bucket, tmp_media
):
    response = upload(manager, product.id, photo(gps=True, orientation=6))

    assert response.status_code == 200, response.json
    key = key_of(response.json["image_url"])
    assert key.startswith(f"shops/{shop.id}/products/{product.id}/") and key.endswith(".jpg")
    assert keys_in(s3_server, s3_bucket) == [key]
    stored = s3_server.client().get_object(Bucket=s3_bucket, Key=key)
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    data = stored["Body"].read()
    picture = Image.open(io.BytesIO(data))
    assert dict(picture.getexif()) == {}
    assert b"PhoneCo" not in data
    assert picture.size == (20, 40)  # turned upright before the orientation tag was dropped
    assert not tmp_media.exists() or not any(tmp_media.rglob("*.*"))  # nothing went to local disk

    served = manager.get(urlparse(response.json["image_url"]).path)
    assert served.status_code == 200
    assert served.data == data
    assert served.mimetype == "image/jpeg"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["ETag"] == stored["ETag"]

    again = manager.get(f"/media/{key}", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    other = manager.get(f"/media/{key}", headers={"If-None-Match": '"some-other-version", junk'})
    assert other.status_code == 200 and other.data == data


def test_a_new_image_replaces_the_old_object(manager, product, s3_server, s3_bucket):
    first = upload(manager, product.id, photo()).json["image_url"]
    second = upload(manager, product.id, photo("PNG")).json["image_url"]

    assert keys_in(s3_server, s3_bucket) == [key_of(second)]
    gone = manager.get(urlparse(first).path)
    assert gone.status_code == 404
    assert gone.json["code"] == 404
    assert manager.get(urlparse(second).path).mimetype == "image/png"
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] == second


def test_the_first_upload_creates_a_missing_bucket(app, manager, product, s3_server, s3_bucket, monkeypatch):
    fresh = f"flowercrm-new-{uuid.uuid4().hex[:8]}"  # a new MinIO has no buckets at all
    monkeypatch.setitem(app.config, "STORAGE_S3_BUCKET", fresh)
    monkeypatch.setitem(app.config, "STORAGE_S3_REGION", "eu-west-1")

    response = upload(manager, product.id, photo())

    assert response.status_code == 200, response.json
    assert keys_in(s3_server, fresh) == [key_of(response.json["image_url"])]
    location = s3_server.client().get_bucket_location(Bucket=fresh)["LocationConstraint"]
    assert location == "eu-west-1"


def test_when_s3_is_down_an_upload_is_503_and_nothing_is_half_written(manager, product, s3_server, s3_bucket):
    first = upload(manager, product.id, photo()).json["image_url"]
    s3_server.stop()

    response = upload(manager, product.id, photo("PNG"))

    assert response.status_code == 503
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.json["code"] == 503
    assert "хранилище" in response.json["message"].lower()  # the manager's language, Russian
    assert response.headers["Retry-After"]
    assert manager.get(f"/api/v1/products/{product.id}").json["image_url"] == first
    db.session.expire_all()
    image_changes = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "product", AuditEntry.entity_id == str(product.id))
    ).all()
    assert [entry.changes["image_key"][1] for entry in image_changes if "image_key" in entry.changes] == [key_of(first)]
    unreadable = manager.get(urlparse(first).path)
    assert unreadable.status_code == 503 and unreadable.json["code"] == 503

    s3_server.start()  # same port: the same S3 comes back
    assert keys_in(s3_server, s3_bucket) == [key_of(first)]
    assert manager.get(urlparse(first).path).status_code == 200


def test_an_unknown_media_key_is_404_in_the_error_shape(manager, s3_bucket):
    response = manager.get("/media/shops/1/products/1/nothing-here.jpg")
    assert response.status_code == 404
    assert set(response.json) == {"code", "status", "message", "errors"}


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "S3 "}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": ""}, "STORAGE_S3_BUCKET"),
        ({"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": "b1", "STORAGE_S3_ACCESS_KEY": "only-one"}, "SECRET_KEY"),
    ],
)
def test_a_storage_misconfiguration_refuses_to_start(monkeypatch, settings, complaint):
    for name in ("STORAGE_S3_BUCKET", "STORAGE_S3_ACCESS_KEY", "STORAGE_S3_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=complaint):
        load_config("testing")


@pytest.mark.parametrize(
    "settings",
    [
        {"STORAGE_BACKEND": "local"},
        {"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": "flowercrm"},  # keys from an IAM role
        {
            "STORAGE_BACKEND": "s3",
            "STORAGE_S3_BUCKET": "flowercrm",
            "STORAGE_S3_ENDPOINT_URL": "http://minio:9000",
            "STORAGE_S3_ACCESS_KEY": "flowercrm",
            "STORAGE_S3_SECRET_KEY": "flowercrm-minio-secret",
        },
    ],
)
def test_a_complete_storage_configuration_starts(monkeypatch, settings):
    for name in ("STORAGE_S3_BUCKET", "STORAGE_S3_ACCESS_KEY", "STORAGE_S3_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    config = load_config("testing")  # ConfigError if refused
    assert settings["STORAGE_BACKEND"] == config.STORAGE_BACKEND
    assert settings.get("STORAGE_S3_BUCKET", "") == config.STORAGE_S3_BUCKET
