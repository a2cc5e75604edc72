"""The OpenAPI document says what clients need once for all endpoints; /docs and /redoc work with no outside network."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_openapi_is_3_1(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] == "Flower CRM"


def test_bearer_auth_is_the_default_security(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token.",
    }
    assert spec["security"] == [{"bearerAuth": []}]


def test_shop_and_idempotency_headers_are_shared_components(spec):
    parameters = spec["components"]["parameters"]
    assert parameters["XShopId"]["in"] == "header"
    assert parameters["XShopId"]["name"] == "X-Shop-Id"
    assert parameters["XShopId"]["schema"]["type"] == "integer"
    assert parameters["IdempotencyKey"]["in"] == "header"
    assert parameters["IdempotencyKey"]["name"] == "Idempotency-Key"
    assert parameters["IdempotencyKey"]["schema"]["type"] == "string"


def test_audit_log_documents_x_pagination_as_a_string(spec):
    operation = spec["paths"]["/api/v1/audit-log"]["get"]
    assert {"$ref": "#/components/parameters/XShopId"} in operation["parameters"]
    assert operation["responses"]["200"]["headers"]["X-Pagination"] == {"$ref": "#/components/headers/Pagination"}
    assert spec["components"]["headers"]["Pagination"]["schema"]["type"] == "string"


def test_no_header_anywhere_is_documented_as_an_object(spec):
    """HTTP headers are strings; an object schema makes every client and fuzzer reject real answers."""
    documented = 0
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for name, header in response.get("headers", {}).items():
                    if "$ref" in header:
                        header = spec["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
                    documented += 1
                    assert header["schema"].get("type") == "string", name
    assert documented >= 1


def test_the_error_shape_is_documented(spec):
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"code", "status", "message", "errors"}


# --- /docs and /redoc -----------------------------------------------------------------------------------

ASSET_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_page_needs_no_outside_network(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "//" + "cdn" not in html
    assets = ASSET_REFERENCE.findall(html)
    assert assets, "the page loads its scripts from somewhere"
    for asset in assets:
        assert asset.startswith("/_assets/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.get_data()) > 1000, asset
        expected = "text/css" if asset.endswith(".css") else "javascript"
        assert expected in served.headers["Content-Type"], asset
    # The page reads the document from this app too.
    assert '"/openapi.json"' in html
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_does_not_call_the_online_validator(client):
    # Swagger UI's default shows a badge fetched from validator.swagger.io for every non-local document.
    html = client.get("/docs").get_data(as_text=True)
    assert re.search(r'"validatorUrl":\s*null', html)


def test_an_unknown_asset_is_a_json_404(client, error_body):
    error_body(client.get("/_assets/swagger-ui/no-such-file.js"), 404)
