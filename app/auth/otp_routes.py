"""OTP login views, on the auth blueprint (imported before it is registered)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import fields, validate

from app.auth import otp
from app.auth.ratelimits import TOO_MANY, configured, failed_login, hashed
from app.auth.routes import blp
from app.auth.schemas import TokenPairSchema
from app.common.net import client_ip
from app.common.phones import InvalidPhone, normalize_phone
from app.common.schemas import PhoneField, Schema
from app.errors import human_message
from app.extensions import limiter


def _phone_key() -> str:
    """The phone in the body, read before validation, however it is written; hashed in the counter's key."""
    body = request.get_json(silent=True)
    raw = body.get("phone") if isinstance(body, dict) else None
    raw = raw.strip() if isinstance(raw, str) else "-"
    try:
        return hashed("otp-phone", normalize_phone(raw))
    except InvalidPhone:
        return hashed("otp-phone", raw[:64])


def _ip_key() -> str:
    return f"otp-ip:{client_ip()}"


class OtpRequestSchema(Schema):
    phone = PhoneField(required=True)


class OtpRequestedSchema(Schema):
    message = fields.String(required=True, metadata={"example": otp.REQUESTED_MESSAGE})


class OtpVerifySchema(Schema):
    phone = PhoneField(required=True)
    code = fields.String(
        required=True,
        load_only=True,
        validate=validate.Regexp(r"^\d{6}$", error="Six digits."),
        metadata={"example": "123456"},
    )


@blp.route("/otp/request")
class OtpRequest(MethodView):
    @limiter.limit(configured("RATELIMIT_OTP_REQUEST_PER_IP"), key_func=_ip_key, error_message=TOO_MANY)
    @limiter.limit(configured("RATELIMIT_OTP_REQUEST_PER_PHONE"), key_func=_phone_key, error_message=TOO_MANY)
    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpRequestedSchema)
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def post(self, data):
        """Ask for a login code by SMS or Telegram. The answer is the same whether or not the phone is known."""
        otp.request_code(phone=data["phone"])
        return {"message": human_message(otp.REQUESTED_MESSAGE)}


@blp.route("/otp/verify")
class OtpVerify(MethodView):
    # Per IP, so one client cannot guess across many phones; per phone, so many clients cannot guess one code.
    @limiter.limit(configured("RATELIMIT_OTP_VERIFY_PER_IP"), key_func=_ip_key, error_message=TOO_MANY)
    @limiter.limit(configured("RATELIMIT_OTP_VERIFY_PER_PHONE"), key_func=_phone_key, error_message=TOO_MANY)
    # Only wrong codes count towards the day's cap: a courier who logs in fine is never locked out by it.
    @limiter.limit(
        configured("RATELIMIT_OTP_VERIFY_PER_PHONE_DAILY"),
        key_func=_phone_key,
        deduct_when=failed_login,
        error_message=TOO_MANY,
    )
    @blp.arguments(OtpVerifySchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.alt_response(503, "SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def post(self, data):
        """Log in with the code: a token pair. Five wrong codes end it; a used code does not work again."""
        return otp.log_in_with_code(phone=data["phone"], code=data["code"])
