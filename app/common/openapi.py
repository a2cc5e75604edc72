"""What every operation of /openapi.json says the same way, written in one place.

An apispec plugin, run on each path after flask-smorest and marshmallow have built it: the
operationId (by resource and verb, with a few names given by hand), the one error shape on every
error answer (typed `errors` where a rule's are fixed), and the response headers the server sends
(X-Request-ID always, Idempotent-Replayed where an Idempotency-Key is taken, Retry-After on 429).
"""

from __future__ import annotations

import http
import re
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from marshmallow import fields

from app.common.schemas import ChangeSchema, Schema

API_PREFIX = "/api/v1/"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
DECIMAL = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
IDEMPOTENCY_PARAMETER = "IdempotencyKey"

# Names the rule below would get wrong or make clumsy; everything else follows the rule.
OPERATION_IDS = {
    ("get", "/health"): "getHealth",
    ("get", "/health/db"): "getDatabaseHealth",
    ("get", "/health/redis"): "getRedisHealth",
    ("post", "/api/v1/auth/login"): "logIn",
    ("post", "/api/v1/auth/logout"): "logOut",
    ("post", "/api/v1/auth/refresh"): "refreshTokens",
    ("post", "/api/v1/auth/exchange"): "exchangeIdentityToken",
    ("get", "/api/v1/auth/me"): "getCurrentUser",
    ("post", "/api/v1/auth/otp/request"): "requestOtp",
    ("post", "/api/v1/auth/otp/verify"): "verifyOtp",
    ("patch", "/api/v1/users/me"): "updateCurrentUser",
    ("post", "/api/v1/users/me/password"): "changeCurrentUserPassword",
    ("get", "/api/v1/audit-log"): "listAuditEntries",
    ("post", "/api/v1/webhooks/{webhook_id}/rotate-secret"): "rotateWebhookSecret",
    ("post", "/api/v1/webhooks/{webhook_id}/ping"): "pingWebhook",
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"): "listWebhookDeliveries",
    ("post", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): "redeliverWebhookDelivery",
    ("get", "/api/v1/queues"): "getQueues",
    ("put", "/api/v1/courier/deliveries/{order_id}/photo"): "uploadDeliveryPhoto",
    ("put", "/api/v1/production-tasks/{task_id}/photo"): "uploadBouquetPhoto",
    ("post", "/api/v1/courier/deliveries/{order_id}/pickup"): "pickUpDelivery",
    ("post", "/api/v1/orders/{order_id}/courier"): "assignOrderCourier",
    ("post", "/api/v1/orders/{order_id}/status"): "changeOrderStatus",
    ("post", "/api/v1/orders/{order_id}/payments"): "createOrderPayment",
    ("get", "/api/v1/customers/{customer_id}/export"): "exportCustomer",
    ("post", "/api/v1/customers/{customer_id}/dates"): "createCustomerDate",
    ("get", "/api/v1/products/{product_id}/cost"): "getProductCost",
    ("put", "/api/v1/products/{product_id}/image"): "uploadProductImage",
    ("get", "/api/v1/products/{product_id}/recipe"): "getProductRecipe",
    ("put", "/api/v1/products/{product_id}/recipe"): "replaceProductRecipe",
    ("get", "/api/v1/warehouse/low-stock"): "listLowStockItems",
    ("get", "/api/v1/warehouse/items"): "listWarehouseItems",
    ("post", "/api/v1/warehouse/items"): "createWarehouseItem",
    ("get", "/api/v1/warehouse/items/{item_id}"): "getWarehouseItem",
    ("patch", "/api/v1/warehouse/items/{item_id}"): "updateWarehouseItem",
    ("get", "/api/v1/reports/sales"): "getSalesReport",
    ("get", "/api/v1/reports/products"): "getProductsReport",
    ("get", "/api/v1/reports/couriers"): "getCouriersReport",
    ("get", "/api/v1/reports/stock"): "getStockReport",
    ("get", "/api/v1/reports/write-offs"): "getWriteOffsReport",
    ("get", "/api/v1/reports/purchase-plan"): "getPurchasePlan",
    ("delete", "/api/v1/api-keys/{key_id}"): "revokeApiKey",
    ("get", "/api/v1/storefront/products"): "listStorefrontProducts",
    ("get", "/api/v1/storefront/delivery-slots"): "listStorefrontDeliverySlots",
    ("post", "/api/v1/storefront/quote"): "quoteStorefrontOrder",
    ("post", "/api/v1/storefront/orders"): "createStorefrontOrder",
    ("get", "/api/v1/storefront/orders/{external_id}"): "getStorefrontOrder",
}
# Folders of the path that name no resource of their own.
NAMESPACES = {"courier", "warehouse", "auth"}
COLLECTION_VERBS = {"get": "list", "post": "create"}
ITEM_VERBS = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}


def _camel(words: list[str]) -> str:
    parts = [part for word in words for part in re.split(r"[-_]", word) if part]
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def operation_id(method: str, path: str) -> str:
    """`listOrders`, `getOrder`, `deliverDelivery`: the verb, then the resource it acts on."""
    if (method, path) in OPERATION_IDS:
        return OPERATION_IDS[(method, path)]
    segments = [s for s in path.removeprefix(API_PREFIX).strip("/").split("/") if s not in NAMESPACES]
    names = [s for s in segments if not s.startswith("{")]
    last_is_id = segments[-1].startswith("{")
    if last_is_id:  # /orders/{id}: the one order
        return ITEM_VERBS.get(method, method) + _camel([_singular(n) for n in names])
    if len(segments) > 1 and segments[-2].startswith("{") and method == "post":  # /orders/{id}/deliver: a step
        return names[-1] + _camel([_singular(n) for n in names[:-1]])
    if method == "get":  # /orders: the list
        return "list" + _camel([_singular(n) for n in names[:-1]] + names[-1:])
    return COLLECTION_VERBS.get(method, method) + _camel([_singular(n) for n in names])


# --- the one error shape, and the rules whose `errors` are fixed ------------------------------------------------


class ErrorSchema(Schema):
    """Every error answer: 404, 401, 409, 422, 429, 500, 503 alike."""

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    status = fields.String(required=True, metadata={"description": "The HTTP status name."})
    message = fields.String(
        required=True, metadata={"description": "What happened and what to do, in the user's language; parse `errors`."}
    )
    errors = fields.Dict(
        required=True,
        metadata={"description": "Machine-readable details: the fields refused, or the rule's own shape; may be {}."},
    )


ERROR = "#/components/schemas/Error"


def _typed_error(errors: dict) -> dict:
    return {"allOf": [{"$ref": ERROR}, {"type": "object", "properties": {"errors": errors}, "required": ["errors"]}]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR_DETAIL_SCHEMAS = {
    "StepConflict": {
        "type": "object",
        "description": "A move the lifecycle does not have now.",
        "properties": {
            "from": {"type": "string", "description": "The current status."},
            "to": {"type": "string", "description": "The status asked for."},
            "allowed": {"type": "array", "items": {"type": "string"}, "description": "Where it may go now."},
        },
        "required": ["from", "to", "allowed"],
    },
    "Shortage": {
        "type": "object",
        "properties": {
            "item_id": {"type": "integer"},
            "name": {"type": "string"},
            "needed": DECIMAL,
            "available": DECIMAL,
            "batch_id": {"type": "integer", "description": "Only when a batch was named."},
        },
        "required": ["item_id", "name", "needed", "available"],
    },
    "ClosedWindow": {
        "type": "object",
        "properties": {"date": {"type": "string", "format": "date"}, "start": {"type": "string"}},
        "required": ["date", "start"],
    },
    "StepConflictError": _typed_error(
        {
            "type": "object",
            "properties": {
                "status": _ref("StepConflict"),
                "delivery": {"type": "object", "description": "Courier steps: the delivery's current state."},
                "task": {"type": "object", "description": "Production steps: the task's current state."},
            },
            "required": ["status"],
        }
    ),
    "StockShortageError": _typed_error(
        {
            "type": "object",
            "properties": {"shortages": {"type": "array", "items": _ref("Shortage")}},
            "required": ["shortages"],
        }
    ),
    "WindowClosedError": _typed_error(
        {
            "type": "object",
            "properties": {
                "window": _ref("ClosedWindow"),
                "reason": {"type": "string", "description": "Why the window takes no more orders (e.g. full)."},
            },
            "required": ["window", "reason"],
        }
    ),
    "PromoCodeRefusedError": _typed_error(
        {
            "type": "object",
            "properties": {"promo_code": {"type": "array", "items": {"type": "string"}}},
            "required": ["promo_code"],
        }
    ),
}

# Where a rule with a fixed `errors` shape answers: operation → status → the shapes it may take.
TYPED_ERRORS = {
    "createOrder": {409: ["WindowClosedError"], 422: ["PromoCodeRefusedError", "Error"]},
    "updateOrder": {409: ["WindowClosedError", "StockShortageError", "Error"]},
    "changeOrderStatus": {409: ["WindowClosedError", "StockShortageError", "StepConflictError"]},
    "pickUpDelivery": {409: ["StepConflictError"]},
    "deliverDelivery": {409: ["StepConflictError"]},
    "failDelivery": {409: ["StepConflictError"]},
    "returnDelivery": {409: ["StepConflictError"]},
    "startProductionTask": {409: ["StepConflictError"]},
    "completeProductionTask": {409: ["StepConflictError", "StockShortageError"]},
    "createWriteOff": {409: ["StockShortageError"]},
}

IDEMPOTENCY_ANSWERS = {
    409: "Another request with this Idempotency-Key is still being answered; retry in a moment.",
    422: "The Idempotency-Key was used with another request body.",
}

# --- response headers -------------------------------------------------------------------------------------------

HEADERS = {
    "RequestId": {
        "description": "This request's id (the one sent, if it was a usable one): quote it when asking for help.",
        "required": True,
        "schema": {"type": "string"},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "RetryAfterMaybe": {
        "description": "Seconds to wait before trying again, when the server knows.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Pagination": {
        "description": "The page's place in the list, as a JSON object in the header's text (PaginationMetadata).",
        "required": True,
        "schema": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/PaginationMetadata"},
        },
    },
}
RETRY_AFTER = {429: "RetryAfter", 503: "RetryAfterMaybe"}
NOT_REPLAYED = {401, 403, 429}


def _phrase(code: int | str) -> str:
    return "Error" if code == "default" else http.HTTPStatus(int(code)).phrase


def error_response_name(code: int | str) -> str:
    return "Error" if code == "default" else _phrase(code).title().replace(" ", "").replace("-", "")


def _error_response(code: int | str, *, description: str | None = None, schema: dict | None = None) -> dict:
    response = {
        "description": description or _phrase(code),
        "content": {"application/json": {"schema": schema or {"$ref": ERROR}}},
        "headers": {"X-Request-ID": "RequestId"},
    }
    if code in RETRY_AFTER:
        response["headers"]["Retry-After"] = RETRY_AFTER[code]
    return response


def _is_error(code: str) -> bool:
    return code == "default" or int(code) >= 400


def _has_parameter(operation: dict, name: str) -> bool:
    parameters = operation.get("parameters", [])
    return any(p == name or (isinstance(p, dict) and p.get("$ref", "").endswith("/" + name)) for p in parameters)


class ContractPlugin(BasePlugin):
    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.spec = spec
        self.error_responses: set[str] = set()
        for name, header in HEADERS.items():
            spec.components.header(name, header)
        for name, schema in ERROR_DETAIL_SCHEMAS.items():
            spec.components.schema(name, schema)

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        schema = kwargs.get("schema")
        if schema is not None and issubclass(resolve_schema_cls(schema), ChangeSchema):
            return {"minProperties": 1}
        return None

    def _shared_error(self, code: int | str) -> str:
        name = error_response_name(code)
        if name not in self.error_responses:
            self.spec.components.response(name, _error_response(code))
            self.error_responses.add(name)
        return name

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **_kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            operation.setdefault("operationId", operation_id(method, path))
            idempotent = _has_parameter(operation, IDEMPOTENCY_PARAMETER)
            # flask-limiter sends Retry-After on every answer of a rate-limited operation, not only on its 429.
            limited = any(str(code) == "429" for code in operation.get("responses", {}))
            typed = TYPED_ERRORS.get(operation["operationId"], {})
            responses = operation.setdefault("responses", {})
            if idempotent:
                declared = {str(code) for code in responses}
                for code, description in IDEMPOTENCY_ANSWERS.items():
                    if str(code) not in declared:
                        responses[code] = {"description": description}
            for code in list(responses):
                responses[code] = self._document(
                    code, responses[code], typed=typed, idempotent=idempotent, limited=limited
                )

    def _document(self, code: int | str, response: Any, *, typed: dict, idempotent: bool, limited: bool) -> Any:
        key = str(code)
        if not _is_error(key):
            if response == "NOT_MODIFIED":  # flask-smorest's 304: the same headers, no body
                response = {"description": "Not Modified", "headers": {"ETag": "ETAG"}}
            response = dict(response) if isinstance(response, dict) else response
            if isinstance(response, dict):
                headers = response.setdefault("headers", {})
                headers.setdefault("X-Request-ID", "RequestId")
                if idempotent:
                    headers.setdefault("Idempotent-Replayed", "IdempotentReplayed")
                if limited:
                    headers.setdefault("Retry-After", "RetryAfterMaybe")
            return response
        status = key if key == "default" else int(key)
        shapes = typed.get(status)
        description = response.get("description") if isinstance(response, dict) else None
        # An error the view answered is stored with the key and replayed; one from the access check is not.
        replayed = idempotent and status != "default" and status < 500 and status not in NOT_REPLAYED
        if not shapes and not replayed and not limited and description is None:
            return self._shared_error(status)  # the shared component, e.g. #/components/responses/NotFound
        schema = None
        if shapes:
            refs = [_ref(name) for name in shapes]
            schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
        documented = _error_response(status, description=description, schema=schema)
        if replayed:
            documented["headers"]["Idempotent-Replayed"] = "IdempotentReplayed"
        if limited:
            documented["headers"].setdefault("Retry-After", "RetryAfterMaybe")
        return documented
