"""Schemathesis over the whole /openapi.json, as the admin of a seeded shop.

Every operation in the document is fuzzed, so an endpoint added later is covered with no new
work. Each generated request runs inside a savepoint of the test's rolled-back transaction and
is undone before the next, so every example meets the same seeded shop (Hypothesis needs that to
replay and shrink a failure) and nothing reaches the database for real.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from app import config as app_config
from app import create_app
from app.apikeys import services as apikeys
from app.apikeys.models import Scope
from app.auth import passwords
from app.extensions import db, redis_client
from tests.fuzz_support import point_at_seeded_rows, seed_shop

# What the document promises and a client relies on: no 5xx, documented status codes, content
# types, headers and bodies, 405 with `Allow` for the methods a path does not have, and no
# operation that documents a Bearer token answering 2xx without one.
# Headers a client reads: each one the server sends must be declared on that answer of that operation.
CLIENT_HEADERS = ("ETag", "X-Pagination", "Retry-After", "Idempotent-Replayed", "X-Request-ID")


def sent_headers_are_declared(ctx, response, case) -> None:
    definition = case.operation.responses.find_by_status_code(response.status_code)
    declared = {name.lower() for name, _ in definition.headers.items()} if definition is not None else set()
    undeclared = [name for name in CLIENT_HEADERS if name.lower() in response.headers and name.lower() not in declared]
    assert not undeclared, f"{case.operation.label} answered {response.status_code} with undeclared {undeclared}"


CHECKS = [
    schemathesis.check(sent_headers_are_declared),
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
    checks.ignored_auth,
]

# The document is read at collection time from an app built like the session's (same code, same
# TestConfig; building one connects to nothing), so pytest gets one test per operation; the
# requests go to the session app. (schemathesis.pytest.from_fixture would read the session app's
# own document, but it breaks on pytest 9: it sets `Function._nodeid`, which pytest 9 dropped.)
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    create_app(app_config.TestConfig()),
    config=SchemathesisConfig.from_dict({"generation": {"max-examples": 25}}),
)


@pytest.fixture
def cheap_password_hashing(monkeypatch):
    """argon2 at its lowest cost: its deliberate slowness is tested in tests/auth, here it only eats the budget."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("not-a-real-password"))


@pytest.fixture
def key_headers(admin) -> dict[str, str]:
    """The storefront takes an integration key of the admin's shop, not the admin's token."""
    _, key = apikeys.create_key(shop_id=admin.shop_id, actor_id=None, name="fuzz", scopes=[s.value for s in Scope])
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def seeded_ids(admin) -> dict[str, int]:
    """The admin's shop with a colleague, stock, a supply and a product; their ids by parameter name."""
    return seed_shop(admin.shop_id, admin.user.id)


# 25 examples per operation (plus schemathesis' coverage cases) keeps the run near a minute; fixtures
# are per operation on purpose (the savepoint resets them per example), and large bodies are slow to
# generate, so no health check applies; no example database: a failure prints the curl that replays it.
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@schema.parametrize()
def test_api_answers_what_its_document_promises(
    case, app, admin, key_headers, seeded_ids, tmp_media, cheap_password_hashing
):
    point_at_seeded_rows(case, seeded_ids)
    headers = key_headers if case.operation.path.startswith("/api/v1/storefront/") else admin.headers()
    connection = db.session.get_bind()
    example = connection.begin_nested()
    try:
        case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    finally:
        db.session.remove()
        if example.is_active:
            example.rollback()
        redis_client.flushdb()  # rate-limit counters, OTP codes and queued jobs of this example


# The API's own routes; /metrics (Prometheus text), the docs pages, their assets and /media files
# are not JSON operations and have no place in the document.
API_PREFIXES = ("/api/", "/health")
FLASK_ARGUMENT = re.compile(r"<(?:[^<>]*:)?([^<>:]+)>")


def test_every_api_route_is_in_the_document_the_fuzzer_reads(app, client):
    # A view registered outside flask-smorest would be missing from /openapi.json, and so never fuzzed.
    document = client.get("/openapi.json").json
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"  # the path's shared parameters, not an operation
    }
    routes = {
        (FLASK_ARGUMENT.sub(r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API_PREFIXES)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - documented == set()
    assert {(operation.path, operation.method.upper()) for operation in _operations()} == documented


def _operations():
    return [result.ok() for result in schema.get_all_operations()]


# Faults the fuzzer found, pinned so a random run that misses them cannot let them back in.


def test_a_nul_character_is_refused_naming_the_field_not_a_500(client):
    # PostgreSQL text cannot hold NUL; the driver raised ValueError, which answered 500.
    response = client.post("/api/v1/auth/login", json={"login": "anna\u0000@example.test", "password": "x"})
    assert response.status_code == 422
    assert response.json["errors"] == {"json": {"login": ["Must not contain the NUL character."]}}


def test_a_page_far_past_the_end_is_empty_not_a_500(admin):
    # page * page_size overflowed PostgreSQL's bigint OFFSET.
    response = admin.get("/api/v1/shops", query_string={"page": 92233720368547760, "page_size": 100})
    assert response.status_code == 200
    assert response.json == []


def test_decimal_fields_are_documented_as_the_strings_they_are_with_numeric_bounds(client):
    # apispec wrote Decimal bounds as strings ("9999999999.99"), an invalid schema, and money as a
    # JSON number while the API sends "300.00".
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    decimals = {
        f"{name}.{field}": prop
        for name, schema_ in schemas.items()
        for field, prop in schema_.get("properties", {}).items()
        if prop.get("format") == "decimal"
    }
    assert "WeeklyWindow.delivery_fee" in decimals
    for where, prop in decimals.items():
        assert prop["type"] in ("string", ["string", "null"]), where
        assert re.fullmatch(prop["pattern"], "300.00"), where
        bounds = [prop[key] for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if key in prop]
        assert all(isinstance(bound, int | float) for bound in bounds), where
