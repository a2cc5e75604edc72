"""Per-request (or per-job) context that services may read without importing Flask."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
