"""`@idempotent`: put it on a POST (or PUT) view, under the access decorator and above smorest's."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from app.common import jsonparse
from app.common.api import add_doc_parameter
from app.common.session import one_transaction
from app.errors import RuleViolation
from app.extensions import db
from app.idempotency import services
from app.idempotency.services import KEY_HEADER, REPLAYED_HEADERS, StoredResponse

# Control characters are refused: PostgreSQL text cannot hold NUL, and no client means them.
_USABLE_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,255}\Z")


def _part(digest: Any, kind: bytes, name: str, value: bytes) -> None:
    # Length-prefixed, so no two different forms hash alike by moving bytes between parts.
    label = name.encode()
    for piece in (kind, label, value):
        digest.update(len(piece).to_bytes(8, "big"))
        digest.update(piece)


def _hash_multipart(digest: Any) -> None:
    """Fields and each file's bytes, not the raw body: clients draw a new random boundary for every retry."""
    for name, value in sorted(request.form.items(multi=True)):
        _part(digest, b"field", name, value.encode())
    # Parsing is bounded by MAX_CONTENT_LENGTH (413 beyond); large files sit in temporary files, read in chunks.
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        upload.stream.seek(0)
        contents = hashlib.file_digest(upload.stream, "sha256")  # reads in chunks
        upload.stream.seek(0)  # the view reads the file from its start
        _part(digest, b"file", name, contents.digest())


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path}\n".encode())
    if request.mimetype == "multipart/form-data":
        _hash_multipart(digest)
        return digest.hexdigest()
    body = request.get_data(cache=True)
    if request.is_json:
        try:
            body = json.dumps(jsonparse.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            pass  # invalid JSON is hashed as sent; the view will reject it anyway
    digest.update(body)
    return digest.hexdigest()


def _scope() -> str:
    shop = g.get("shop")
    return f"{g.user.id}/{shop.shop_id if shop else '-'}"


def _replay(stored: StoredResponse) -> Response:
    response = current_app.response_class(stored.body, status=stored.status_code)
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _USABLE_KEY.match(key):
            raise RuleViolation(
                "Idempotency-Key must be 1 to 255 characters, none of them control characters.",
                errors={"headers": {KEY_HEADER: ["Length must be between 1 and 255, without control characters."]}},
            )
        ttl = current_app.config["IDEMPOTENCY_TTL"]
        scope, fingerprint = _scope(), _fingerprint()
        stored = services.claim(scope=scope, key=key, fingerprint=fingerprint, ttl=ttl)
        if stored is not None:
            return _replay(stored)
        # The claim, the view's work and the answer commit together, or not at all.
        with one_transaction(db.session):
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except Exception as exc:  # an error answer is an answer too: keep it for the retries
                db.session.rollback()
                response = current_app.make_response(current_app.handle_user_exception(exc))
        if response.status_code >= 500:
            db.session.rollback()  # nothing done, nothing kept: a retry runs again
            return response
        headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
        body = response.get_data(as_text=True)
        stored = services.store_response(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            ttl=ttl,
            response=StoredResponse(response.status_code, body, headers),
        )
        return response if stored is None else _replay(stored)

    add_doc_parameter(wrapper, "IdempotencyKey")
    return wrapper
