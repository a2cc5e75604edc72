from flask.views import MethodView
from marshmallow import fields

from app.common.api import Blueprint
from app.common.schemas import Schema
from app.errors import ServiceUnavailable
from app.health import services

blp = Blueprint("health", __name__, url_prefix="/health", description="Liveness and dependencies.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    component = fields.String(required=True, metadata={"example": "process"})


def _check(component: str, ok: bool) -> dict:
    if not ok:
        raise ServiceUnavailable(
            "Cannot reach the {component} service; try again shortly.",
            errors={component: ["unreachable"]},
            params={"component": component},
        )
    return {"status": "ok", "component": component}


@blp.route("")
class Process(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(security=[])
    def get(self):
        """The process is up."""
        return {"status": "ok", "component": "process"}


@blp.route("/db")
class Database(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self):
        """PostgreSQL answers."""
        return _check("database", services.database_ok())


@blp.route("/redis")
class Redis(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self):
        """Redis answers."""
        return _check("redis", services.redis_ok())
