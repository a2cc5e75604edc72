"""A client generated from /openapi.json compiles and types every answer with no cast and no guess.

The document is checked the way client developers meet it: validated, linted by Redocly, turned
into a Python client by openapi-python-client (any warning is a failure: it means a dropped model
or an answer the client cannot type), and read for what a generator relies on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from app import config as app_config
from app import create_app

ROOT = Path(__file__).resolve().parents[2]
REDOCLY_DIR = ROOT / "tools" / "redocly"
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_KEYS = {"code", "status", "message", "errors"}


@pytest.fixture(scope="module")
def spec() -> dict:
    with create_app(app_config.TestConfig()).test_client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


@pytest.fixture(scope="module")
def spec_file(spec, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(spec))
    return path


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _resolve(spec: dict, obj: dict) -> dict:
    while "$ref" in obj:
        section, name = obj["$ref"].split("/")[-2:]
        obj = spec["components"][section][name]
    return obj


def _refers_to_error(spec: dict, schema: dict) -> bool:
    """The Error schema itself, one that extends it (allOf), or a choice among those."""
    if schema.get("$ref") == "#/components/schemas/Error":
        return True
    if "$ref" in schema:
        return _refers_to_error(spec, _resolve(spec, schema))
    if "allOf" in schema:
        return any(_refers_to_error(spec, part) for part in schema["allOf"])
    if "anyOf" in schema:
        return all(_refers_to_error(spec, part) for part in schema["anyOf"])
    return False


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_every_operation_has_a_unique_camel_case_operation_id(spec):
    ids = [operation.get("operationId") for _, operation in _operations(spec)]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    named = {where: operation["operationId"] for where, operation in _operations(spec)}
    assert named["GET /api/v1/orders"] == "listOrders"
    assert named["GET /api/v1/orders/{order_id}"] == "getOrder"
    assert named["POST /api/v1/orders"] == "createOrder"
    assert named["POST /api/v1/orders/{order_id}/status"] == "changeOrderStatus"
    assert named["POST /api/v1/courier/deliveries/{order_id}/deliver"] == "deliverDelivery"


def test_servers_say_where_the_paths_start(spec):
    assert spec["servers"] == [{"url": "/", "description": "The server that serves this document."}]


def test_the_error_schema_requires_its_four_keys(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == ERROR_KEYS
    assert set(error["required"]) == ERROR_KEYS


def test_every_error_answer_references_the_error_schema(spec):
    checked = 0
    for where, operation in _operations(spec):
        for code, response in operation["responses"].items():
            if code != "default" and int(code) < 400:
                continue
            response = _resolve(spec, response)
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            assert schema is not None, f"{where} {code} has no body schema"
            assert _refers_to_error(spec, schema), f"{where} {code}: {schema}"
            checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    ("where", "code", "detail", "keys"),
    [
        ("POST /api/v1/courier/deliveries/{order_id}/deliver", "409", "StepConflict", {"from", "to", "allowed"}),
        ("POST /api/v1/orders/{order_id}/status", "409", "Shortage", {"item_id", "name", "needed", "available"}),
        ("POST /api/v1/orders", "409", "ClosedWindow", {"date", "start"}),
        ("POST /api/v1/warehouse/write-offs", "409", "Shortage", {"item_id", "name", "needed", "available"}),
    ],
)
def test_rules_with_a_fixed_errors_shape_declare_it(spec, where, code, detail, keys):
    method, path = where.split(" ")
    document = json.dumps(_resolve(spec, spec["paths"][path][method.lower()]["responses"][code]))
    shapes = re.findall(r'"#/components/schemas/(\w+Error)"', document)
    assert shapes, document
    reachable = json.dumps([spec["components"]["schemas"][name] for name in shapes])
    assert f'"#/components/schemas/{detail}"' in reachable
    assert set(spec["components"]["schemas"][detail]["required"]) == keys


def test_a_promo_code_refusal_declares_its_errors(spec):
    answer = _resolve(spec, spec["paths"]["/api/v1/orders"]["post"]["responses"]["422"])
    schema = answer["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/PromoCodeRefusedError"} in schema["anyOf"]


def _schemas_with_properties(spec: dict):
    yield from spec["components"]["schemas"].items()
    for where, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            parameter = _resolve(spec, parameter)
            yield f"{where} {parameter['name']}", {"properties": {parameter["name"]: parameter.get("schema", {})}}


def test_no_field_has_a_default_generators_would_make_required(spec):
    # openapi-typescript types a property with a `default` as always present; the default is said in words.
    for name, schema in _schemas_with_properties(spec):
        required = set(schema.get("required", []))
        for field, prop in schema.get("properties", {}).items():
            assert "default" not in prop, f"{name}.{field}"
            assert field not in required or "default" not in prop
    deliver = spec["components"]["schemas"]["Deliver"]
    assert "comment" not in deliver.get("required", [])
    assert "Default" in deliver["properties"]["comment"]["description"]
    for schema, field in (("StatusChangeCreate", "comment"), ("OrderCreate", "source")):
        assert field not in spec["components"]["schemas"][schema].get("required", [])


def test_the_deliver_body_is_optional(spec):
    body = spec["paths"]["/api/v1/courier/deliveries/{order_id}/deliver"]["post"]["requestBody"]
    assert body.get("required") is not True


def test_no_type_lists_a_type_twice(spec):
    types = re.findall(r'"type": (\[[^\]]*\])', json.dumps(spec))
    assert all(len(json.loads(t)) == len(set(json.loads(t))) for t in types)
    assert spec["components"]["schemas"]["Delivery"]["properties"]["photo_url"]["type"] == ["string", "null"]


def _headers(spec: dict, response: dict) -> dict:
    return {name: _resolve(spec, header) for name, header in _resolve(spec, response).get("headers", {}).items()}


def test_every_answer_declares_the_headers_the_server_sends(spec):
    for where, operation in _operations(spec):
        idempotent = {"$ref": "#/components/parameters/IdempotencyKey"} in operation.get("parameters", [])
        for code, response in operation["responses"].items():
            headers = _headers(spec, response)
            assert headers["X-Request-ID"]["required"] is True, f"{where} {code}"
            if code == "429":
                assert headers["Retry-After"]["required"] is True, where
            if idempotent and code.startswith("2"):
                assert "Idempotent-Replayed" in headers, f"{where} {code}"
        if idempotent:
            # A retry with another body is refused; one racing the first waits or is told to retry.
            assert {"409", "422"} <= set(operation["responses"]), where


def test_x_pagination_is_json_text_described_by_its_schema(spec):
    pagination = _headers(spec, spec["paths"]["/api/v1/orders"]["get"]["responses"]["200"])["X-Pagination"]
    assert pagination["schema"]["type"] == "string"
    assert pagination["schema"]["contentMediaType"] == "application/json"
    assert pagination["schema"]["contentSchema"] == {"$ref": "#/components/schemas/PaginationMetadata"}
    assert pagination["required"] is True
    assert "total" in spec["components"]["schemas"]["PaginationMetadata"]["properties"]


def test_each_endpoint_says_which_token_it_wants(spec):
    schemes = spec["components"]["securitySchemes"]
    assert "access" in schemes["bearerAuth"]["description"]
    assert "refresh" in schemes["refreshToken"]["description"]
    assert spec["paths"]["/api/v1/auth/refresh"]["post"]["security"] == [{"refreshToken": []}]
    assert spec["paths"]["/api/v1/orders"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []


def test_uploads_are_binary_files(spec):
    for path in ("/api/v1/courier/deliveries/{order_id}/photo", "/api/v1/products/{product_id}/image"):
        content = spec["paths"][path]["put"]["requestBody"]["content"]
        schema = _resolve(spec, content["multipart/form-data"]["schema"])
        (field,) = schema["properties"].values()
        assert field["format"] == "binary"


def test_changes_with_nothing_to_change_are_refused_in_the_document(spec):
    for name in ("ShopUpdate", "MeUpdate"):
        assert spec["components"]["schemas"][name]["minProperties"] == 1


def test_a_generated_python_client_has_no_warning(spec_file, tmp_path):
    # openapi-python-client warns (and drops the model) on anything it cannot type; its ruff hook needs the venv's ruff.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec_file),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "flower_client"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    package = tmp_path / "flower_client"
    assert (package / "api" / "courier" / "deliver_delivery.py").exists()
    assert (package / "models" / "write_off.py").exists()
    # The generated package imports, typed answers and all.
    check = subprocess.run(
        [sys.executable, "-c", "import flower_client.api.orders.list_orders, flower_client.models.write_off"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.skipif(shutil.which("npx") is None, reason="Node.js is not installed")
def test_redocly_lint_reports_no_error(spec_file):
    if not (REDOCLY_DIR / "node_modules").exists():
        pytest.skip("run `npm ci` in tools/redocly (.ci/run does)")
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    result = subprocess.run(
        ["npx", "--no-install", "redocly", "lint", str(spec_file), "--format", "stylish"],
        cwd=REDOCLY_DIR,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\berror\b", output), output


# --- the server does what the document says ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}])
def test_a_shop_change_with_nothing_to_change_is_a_422(admin, body):
    response = admin.patch(f"/api/v1/shops/{admin.shop_id}", json=body)
    assert response.status_code == 422, response.json
    assert set(response.json) == ERROR_KEYS


@pytest.mark.parametrize("body", [None, {}])
def test_a_profile_change_with_nothing_to_change_is_a_422(admin, body):
    response = admin.patch("/api/v1/users/me", json=body)
    assert response.status_code == 422, response.json
    assert admin.patch("/api/v1/users/me", json={"name": "Anna"}).status_code == 200


def test_twelve_point_zero_is_the_integer_twelve_and_twelve_and_a_half_is_not(admin):
    customer = admin.post("/api/v1/customers", json={"name": "Vera", "phone": "+79161234567"}).json
    url = f"/api/v1/customers/{customer['id']}/dates"
    response = admin.post(url, json={"label": "Birthday", "month": 12.0, "day": 5.0})
    assert response.status_code == 201, response.json
    assert (response.json["month"], response.json["day"]) == (12, 5)
    refused = admin.post(url, json={"label": "Name day", "month": 12.5, "day": 5})
    assert refused.status_code == 422
    assert "month" in refused.json["errors"]["json"]


def _request_schemas(spec: dict) -> set[str]:
    """Every component schema a request body uses, nested ones too."""
    names = {
        ref
        for _, operation in _operations(spec)
        for ref in re.findall(r"#/components/schemas/(\w+)", json.dumps(operation.get("requestBody", {})))
    }
    while True:
        nested = {
            ref
            for name in names
            for ref in re.findall(r"#/components/schemas/(\w+)", json.dumps(spec["components"]["schemas"][name]))
        }
        if nested <= names:
            return names
        names |= nested


def test_the_limits_the_server_enforces_are_in_the_document(spec):
    unbounded = []
    for name in sorted(_request_schemas(spec)):
        for field, prop in spec["components"]["schemas"][name].get("properties", {}).items():
            kinds = prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]
            if prop.get("readOnly"):
                continue
            if prop.get("format") == "decimal":
                bounded = "maximum" in prop and ({"minimum", "exclusiveMinimum"} & prop.keys())
            elif "integer" in kinds:
                bounded = "maximum" in prop
            elif "string" in kinds:
                bounded = {"maxLength", "enum", "format", "pattern"} & prop.keys()
            else:
                continue
            if not bounded:
                unbounded.append(f"{name}.{field}")
    assert unbounded == []
    quantity = spec["components"]["schemas"]["SupplyLineCreate"]["properties"]["quantity"]
    assert quantity["exclusiveMinimum"] == 0 and "minimum" not in quantity  # a supply of 0 is refused


def test_a_replayed_answer_carries_the_headers_its_operation_declares(spec, admin):
    body = {"name": "Vera", "phone": "+79161234568"}
    first = admin.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "vera-1"})
    again = admin.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "vera-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    declared = _headers(spec, spec["paths"]["/api/v1/customers"]["post"]["responses"]["201"])
    assert {"Idempotent-Replayed", "X-Request-ID", "ETag"} <= declared.keys()
    assert {"X-Request-ID", "ETag"} <= set(again.headers.keys())
