from flask import g, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from app.auth import services
from app.auth.access import authenticated
from app.auth.ratelimits import exchange_per_ip, login_per_identifier, login_per_ip, refresh_per_ip
from app.auth.schemas import LoginSchema, LogoutSchema, TokenPairSchema
from app.common.api import Blueprint
from app.users.schemas import UserWithMembershipsSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Logging in and tokens.")

REFRESH_TOKEN_DOC = [{"refreshToken": []}]
IDENTITY_TOKEN_DOC = [{"identityToken": []}]


@blp.route("/login")
class Login(MethodView):
    @login_per_ip
    @login_per_identifier
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.doc(security=[])
    def post(self, credentials):
        """Log in with a phone or e-mail and a password."""
        return services.log_in_with_password(identifier=credentials["login"], password=credentials["password"])


@blp.route("/refresh")
class Refresh(MethodView):
    @refresh_per_ip
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.doc(security=REFRESH_TOKEN_DOC)
    def post(self):
        """A new token pair for the refresh token sent as the Bearer token (which is then used up).

        Sending a refresh token that was already used ends the whole login: every token of it.
        """
        verify_jwt_in_request(refresh=True)
        return services.rotate_refresh_token(user=current_user, claims=get_jwt())


@blp.route("/logout")
class Logout(MethodView):
    @authenticated
    @blp.arguments(LogoutSchema, required=False)
    @blp.response(204)
    def post(self, body):
        """End this login: its refresh tokens and the access token sent."""
        services.log_out(user=g.user, claims=get_jwt(), refresh_token=(body or {}).get("refresh_token"))


@blp.route("/exchange")
class Exchange(MethodView):
    @exchange_per_ip
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, "UNAUTHORIZED")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(429, "TOO_MANY_REQUESTS")
    @blp.doc(security=IDENTITY_TOKEN_DOC)
    def post(self):
        """Our own token pair for a token of the trusted identity service, sent as the Bearer token.

        404 unless the identity service is configured (EXTERNAL_JWT_ISSUER).
        """
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return services.exchange_identity_token(token=token.strip() if scheme.lower() == "bearer" else "")


@blp.route("/me")
class Me(MethodView):
    @authenticated
    @blp.response(200, UserWithMembershipsSchema)
    def get(self):
        """The caller, with their shops and roles."""
        return g.user
