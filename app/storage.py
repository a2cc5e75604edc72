"""Files: uploaded images checked and cleaned, then stored on local disk or in S3-compatible storage.

`clean_image` is the one gate for every uploaded picture (product images, proof-of-delivery
photos): JPEG, PNG or WebP by content, at most 10 MB and a per-format pixel cap checked before
decoding, decoded at reduced size where the format allows, kept at most 2048 px on the long side,
re-encoded without EXIF/XMP metadata (a phone photo's GPS position must not leak). `get_storage()` returns the
configured backend (`local` or `s3`); either way a file is served by the app at /media/<key>,
so clients never care where it lives. Keys are random, so files can be cached for ever.

Product images are public. Every other file (proof-of-delivery and bouquet photos: a customer's door, a
card's text) is served only by a signed link that expires (`signed_url`: HMAC-SHA256 over the key and the
expiry, keyed from SECRET_KEY), with `Cache-Control: private`; the API hands out a fresh link in each answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import math
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote, urlencode

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, Response, abort, current_app, has_request_context, request, send_from_directory, url_for
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from app.common.session import after_commit
from app.errors import DomainError, RuleViolation, ServiceUnavailable
from app.extensions import db

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Pillow format -> (content type, file extension)
IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# What is kept: at most this many pixels on the long side, plenty for a product page or a proof at the door.
STORED_LONG_SIDE = 2048
# Pixels accepted per format, so that one upload never takes more than 100 MB to process: a JPEG is decoded at
# a reduced scale (draft), but a progressive one holds every DCT coefficient, and PNG and WebP decode in full
# (WebP in libwebp's canvas, then in Pillow's). Beyond it the upload is a decompression bomb, not a bouquet.
# bench/upload_memory_bench.py measures each at its cap (docs/uploads-benchmark.md).
MAX_PIXELS = {"JPEG": 25_000_000, "PNG": 6_000_000, "WEBP": 2_000_000}
MAX_PROGRESSIVE_JPEG_PIXELS = 6_000_000
# A PNG's compressed text chunks are read whole while its header is: Pillow allows 64 MB of them, we keep 4
# (real files carry a few KB of XMP). More is refused as damaged; the text is thrown away in any case.
PngImagePlugin.MAX_TEXT_MEMORY = 4 * PngImagePlugin.MAX_TEXT_CHUNK
CACHE_SECONDS = int(timedelta(days=365).total_seconds())
CACHE_CONTROL = f"public, max-age={CACHE_SECONDS}, immutable"
STREAM_CHUNK = 64 * 1024
# A signed link's expiry is rounded up to the hour, so answers within the hour carry the same link (and a
# browser's private cache keeps the file); a private file is kept by the browser at most a day.
LINK_EXPIRY_STEP = 3600
PRIVATE_MAX_AGE = 24 * 3600


class ImageTooLarge(DomainError):
    status_code = 413


class UnsupportedImage(DomainError):
    status_code = 415


class BrokenImage(RuleViolation):
    """Looks like an image but does not decode (truncated, corrupt, absurdly large)."""


class StorageUnavailable(ServiceUnavailable):
    """The file store did not answer or refused; nothing was changed, the client may retry."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _size_of(stream: IO[bytes]) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _pixel_cap(image: Image.Image) -> tuple[int, str]:
    """The most pixels accepted for this file, and what to call its kind when it has more."""
    if image.format == "JPEG" and image.info.get("progressive"):
        return MAX_PROGRESSIVE_JPEG_PIXELS, "progressive JPEG"
    return MAX_PIXELS[image.format], image.format


def _stored_size(width: int, height: int) -> tuple[int, int]:
    """The size kept: the long side at most STORED_LONG_SIDE, the aspect ratio as it was."""
    scale = min(1.0, STORED_LONG_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decoded(stream: IO[bytes], field: str) -> tuple[Image.Image, str, bytes | None]:
    """The upload's pixels at the stored size and upright, its format and colour profile.

    The image returned is a new one: the file's object, and a WebP decoder's canvases with it, are gone
    before the caller encodes, so the two never weigh on memory at once.
    """
    # Only our three decoders ever see the bytes; anything else is "not an image".
    with Image.open(stream, formats=list(IMAGE_FORMATS)) as image:
        cap, kind = _pixel_cap(image)
        if image.width * image.height > cap:
            raise BrokenImage(
                "The image has too many pixels: at most {megapixels} megapixels for a {kind}; shrink it.",
                errors={field: [f"{image.width}x{image.height} pixels; at most {cap} for a {kind}."]},
                params={"megapixels": f"{cap / 1e6:g}", "kind": kind},
            )
        target = _stored_size(image.width, image.height)
        image.draft(None, target)  # JPEG: decode at 1/2, 1/4 or 1/8 scale, still no smaller than kept
        image.load()  # a truncated file fails here
        image.thumbnail(target, Image.Resampling.LANCZOS)
        # Bake the EXIF orientation into the pixels, since the EXIF goes.
        return ImageOps.exif_transpose(image), image.format, image.info.get("icc_profile")


def clean_image(stream: IO[bytes], *, field: str = "image", max_bytes: int = MAX_IMAGE_BYTES) -> CleanImage:
    """Check an upload by its content, shrink it to the stored size and re-encode it without metadata.

    413 above `max_bytes`; 415 when it is not a JPEG, PNG or WebP (whatever its name says); 422 when it
    has more pixels than its format's cap (read from the header, before any pixel is decoded) or does not
    decode in full (truncated, corrupt).
    """
    size = _size_of(stream)
    if size > max_bytes:
        raise ImageTooLarge(
            "The image is larger than {megabytes} MB; send a smaller one.",
            errors={field: [f"{size} bytes; at most {max_bytes}."]},
            params={"megabytes": max_bytes // (1024 * 1024)},
        )
    try:
        image, image_format, icc_profile = _decoded(stream, field)
    except UnidentifiedImageError:
        allowed = ", ".join(sorted(IMAGE_FORMATS))
        raise UnsupportedImage(
            "Not an image; upload {formats}.",
            errors={field: ["Not a JPEG, PNG or WebP image."]},
            params={"formats": allowed},
        )
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours, refused it while reading the header
        raise BrokenImage(
            "The image has too many pixels; shrink it.", errors={field: ["Far more pixels than any format allows."]}
        )
    except (OSError, SyntaxError, ValueError):
        raise BrokenImage(
            "The image is damaged or incomplete; upload it again.", errors={field: ["Could not be decoded."]}
        )
    image.info = {}  # no EXIF, XMP or text chunks travel to the saved file
    content_type, extension = IMAGE_FORMATS[image_format]
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options.update(quality=90, optimize=True)
    elif image_format == "WEBP":
        options.update(quality=90, method=0)  # libwebp's leanest encoder: a third of the default's memory
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return CleanImage(out.getvalue(), content_type, extension, image.width, image.height)


def new_key(prefix: str, extension: str) -> str:
    """A random object key under `prefix`: never reused, so caches may keep a file for ever."""
    return f"{prefix.strip('/')}/{secrets.token_urlsafe(12)}.{extension}"


class Storage(Protocol):
    def save(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...

    def serve(self, key: str) -> Response: ...


def _media_url(key: str, **query: Any) -> str:
    """The file's absolute URL: from the request's host, or, outside a request (an event rendered by a job),
    from PUBLIC_BASE_URL, since url_for cannot build one there without SERVER_NAME."""
    if has_request_context():
        return url_for("media.serve", key=key, _external=True, **query)
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/media/{quote(key)}" + (f"?{urlencode(query)}" if query else "")


class LocalStorage:
    """Files under a directory (STORAGE_LOCAL_DIR, `instance/media` by default), served at /media/<key>."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("key escapes the storage directory")
        return path

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return _media_url(key)

    def serve(self, key: str) -> Response:
        return send_from_directory(self.root, key, max_age=CACHE_SECONDS)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Objects in an S3-compatible bucket (MinIO, AWS S3), streamed by the app at /media/<key>.

    Streamed rather than redirected to a presigned URL: the endpoint is often reachable only
    inside the deployment (http://minio:9000), and the URL stays the same whatever the backend.
    """

    def __init__(self, client: Any, bucket: str, region: str):
        self.client = client
        self.bucket = bucket
        self.region = region

    def save(self, key: str, data: bytes, content_type: str) -> None:
        # One PUT: S3 stores an object whole or not at all, so a failure leaves nothing half written.
        put = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "CacheControl": CACHE_CONTROL if is_public(key) else "private",
        }
        try:
            try:
                self.client.put_object(**put)
            except ClientError as error:
                if _error_code(error) != "NoSuchBucket":
                    raise
                self._create_bucket()
                self.client.put_object(**put)
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("save", key, error) from None

    def _create_bucket(self) -> None:
        """A fresh MinIO has no buckets: the first upload makes ours, so setup needs no extra step."""
        log.warning("storage bucket %s does not exist; creating it", self.bucket)
        options: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # S3 rejects us-east-1 as an explicit location
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**options)
        except ClientError as error:
            if _error_code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("delete", key, error) from None

    def url(self, key: str) -> str:
        return _media_url(key)

    def serve(self, key: str) -> Response:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in ("NoSuchKey", "NoSuchBucket", "404"):
                abort(404)
            raise self._unavailable("read", key, error) from None
        except BotoCoreError as error:
            raise self._unavailable("read", key, error) from None
        body = found["Body"]
        # Streamed in chunks, not read whole; closing the response closes the S3 connection too.
        response = Response(body.iter_chunks(STREAM_CHUNK), mimetype=found.get("ContentType"))
        response.call_on_close(body.close)
        response.content_length = found.get("ContentLength")
        response.last_modified = found.get("LastModified")
        if found.get("ETag"):
            response.headers["ETag"] = found["ETag"]
        return response.make_conditional(request)  # 304 for a matching If-None-Match / If-Modified-Since

    def _unavailable(self, action: str, key: str, error: Exception) -> StorageUnavailable:
        log.warning("file storage could not %s %s: %s", action, key, error.__class__.__name__)
        return StorageUnavailable("File storage is unavailable; try again in a minute.", headers={"Retry-After": "30"})


@lru_cache(maxsize=8)
def _s3_client(endpoint_url: str | None, region: str, access_key: str | None, secret_key: str | None) -> Any:
    """One client per setting, shared by threads (boto3 clients are thread-safe; building one is slow)."""
    # Imported here: boto3 costs a quarter second at start-up, which local storage never needs.
    import boto3
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        signature_version="s3v4",
        # MinIO and other S3-compatible servers expect http://host/bucket/key, not bucket.host.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # Fail fast: a request waits on this, and the client gets a 503 it can retry.
        connect_timeout=3,
        read_timeout=10,
        retries={"mode": "standard", "max_attempts": 2},
        # Checksums only where S3 requires them: older S3-compatible servers reject the newer defaults.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # A session per client: boto3's default session is not safe to share while creating clients.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def get_storage() -> Storage:
    """The configured backend (STORAGE_BACKEND): `local` (default) or `s3`."""
    config = current_app.config
    backend = config.get("STORAGE_BACKEND", "local")
    if backend == "local":
        return LocalStorage(config["STORAGE_LOCAL_DIR"])
    if backend == "s3":
        region = config.get("STORAGE_S3_REGION") or "us-east-1"
        client = _s3_client(
            config.get("STORAGE_S3_ENDPOINT_URL") or None,
            region,
            # None, not "": without keys boto3 looks for credentials itself (an IAM role on AWS).
            config.get("STORAGE_S3_ACCESS_KEY") or None,
            config.get("STORAGE_S3_SECRET_KEY") or None,
        )
        return S3Storage(client, config["STORAGE_S3_BUCKET"], region)
    raise RuntimeError(f"STORAGE_BACKEND={backend!r} is not supported; use 'local' or 's3'.")


def delete_quietly(key: str | None) -> None:
    """Remove a file no row points to any more; a failure leaves an orphan, not an error."""
    if not key:
        return
    try:
        get_storage().delete(key)
    except Exception:
        log.warning("could not delete stored file %s", key, exc_info=True)


def delete_after_commit(key: str | None) -> None:
    """Delete a replaced file once the transaction that stopped pointing at it commits; never on rollback."""
    if key:
        after_commit(db.session(), lambda: delete_quietly(key), what=f"delete stored file {key}")


def public_url(key: str | None) -> str | None:
    """A product image's lasting link (public files only; photos go by `signed_url`)."""
    return get_storage().url(key) if key else None


def is_public(key: str) -> bool:
    """Product images (shops/<id>/products/...) are public; every other file needs a signed link."""
    parts = key.split("/")
    return len(parts) > 3 and parts[0] == "shops" and parts[2] == "products"


def _link_signature(key: str, expires: int) -> str:
    secret = hmac.new(current_app.config["SECRET_KEY"].encode(), b"fcrm media links", hashlib.sha256).digest()
    digest = hmac.new(secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_url(key: str | None, *, lifetime: int | None = None) -> str | None:
    """A link to a private file that works until it expires (PHOTO_LINK_SECONDS, 7 days by default)."""
    if not key:
        return None
    seconds = lifetime if lifetime is not None else int(current_app.config.get("PHOTO_LINK_SECONDS", 7 * 86400))
    expires = math.ceil((time.time() + seconds) / LINK_EXPIRY_STEP) * LINK_EXPIRY_STEP
    return _media_url(key, expires=expires, sig=_link_signature(key, expires))


def link_is_valid(key: str, expires: str | None, signature: str | None) -> int | None:
    """Seconds the link has left, or None when it is unsigned, tampered with or expired."""
    if not expires or not signature or not expires.isdigit() or len(expires) > 12:
        return None
    left = int(expires) - int(time.time())
    if left <= 0 or not hmac.compare_digest(_link_signature(key, int(expires)), signature):
        return None
    return left


media = Blueprint("media", __name__, url_prefix="/media")


@media.get("/<path:key>")
def serve(key: str):
    """Product images cached for a year (a changed image gets a new key); photos only by a valid signed link,
    kept by the browser alone (`private`) and no longer than the link lives. A bad or old link is 403."""
    if is_public(key):
        response = get_storage().serve(key)
        response.headers["Cache-Control"] = CACHE_CONTROL
    else:
        left = link_is_valid(key, request.args.get("expires"), request.args.get("sig"))
        if left is None:
            abort(403)
        response = get_storage().serve(key)
        response.headers["Cache-Control"] = f"private, max-age={min(left, PRIVATE_MAX_AGE)}"
        response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
