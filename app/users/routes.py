from flask import g
from flask.views import MethodView

from app.auth.access import MANAGERS, authenticated, current_account, current_shop, shop_access
from app.auth.schemas import TokenPairSchema
from app.common.api import Blueprint
from app.idempotency.decorators import idempotent
from app.users import services
from app.users.schemas import (
    InvitationQueryArgsSchema,
    MeUpdateSchema,
    MyInvitationSchema,
    PasswordChangeSchema,
    StaffAddedSchema,
    StaffCreateSchema,
    StaffInvitationSchema,
    StaffQueryArgsSchema,
    StaffSchema,
    StaffUpdateSchema,
    UserWithMembershipsSchema,
)

invitations_blp = Blueprint(
    "invitations",
    __name__,
    url_prefix="/api/v1/invitations",
    description=(
        "The shop's invitations: what it typed, the role and the answer. A person who already has an account joins "
        "only by accepting; until then the shop sees nothing of their account."
    ),
)
blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description=(
        "Staff of the shop. Admins manage every role, managers florists and couriers. "
        "Deactivation is per shop: the person loses this shop at once; with no shop left they cannot log in."
    ),
)


@blp.route("")
class StaffList(MethodView):
    @shop_access(*MANAGERS)
    @blp.arguments(StaffQueryArgsSchema, location="query")
    @blp.response(200, StaffSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's staff with their role here, by name: active and deactivated, unless `active` says."""
        staff, total = services.list_staff(
            shop_id=current_shop().shop_id,
            role=args.get("role"),
            active=args.get("active"),
            q=args.get("q"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return staff

    @shop_access(*MANAGERS)
    @idempotent
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffAddedSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Add a person by phone: they are invited and join when they accept (a phone new to the system gets an
        account, and its first login accepts). The answer, the staff list and the invitations read the same either
        way until then."""
        context = current_shop()
        return services.invite_staff(shop_id=context.shop_id, actor=context.user, actor_role=context.role, **data)


@blp.route("/<int(max=2147483647):user_id>")
class StaffMember(MethodView):
    @shop_access(*MANAGERS)
    @blp.etag
    @blp.response(200, StaffSchema)
    def get(self, user_id):
        """One person of the shop's staff (deactivated ones too)."""
        return services.get_staff(shop_id=current_shop().shop_id, user_id=user_id)

    @shop_access(*MANAGERS)
    @blp.arguments(StaffUpdateSchema)
    @blp.response(200, StaffSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, user_id):
        """Change a person's details, their role here, or whether they are active here."""
        context = current_shop()
        return services.update_staff(
            shop_id=context.shop_id, actor=context.user, actor_role=context.role, user_id=user_id, data=data
        )

    @shop_access(*MANAGERS)
    @blp.response(204)
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, user_id):
        """Deactivate the person in this shop; their history stays."""
        context = current_shop()
        services.deactivate_staff(shop_id=context.shop_id, actor=context.user, actor_role=context.role, user_id=user_id)


@blp.route("/me")
class Me(MethodView):
    @authenticated
    @blp.arguments(MeUpdateSchema)
    @blp.response(200, UserWithMembershipsSchema)
    def patch(self, data):
        """Your own name, language and Telegram chat."""
        return services.update_me(user=current_account(), data=data)


@blp.route("/me/password")
class MyPassword(MethodView):
    @authenticated
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, TokenPairSchema)
    def post(self, data):
        """Change your password: every other session ends; the answer is your new token pair."""
        return services.change_password(user=current_account(), **data)


@blp.route("/me/invitations")
class MyInvitations(MethodView):
    @authenticated
    @blp.response(200, MyInvitationSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The invitations waiting for your answer: which shop, which role, until when."""
        invitations, total = services.my_invitations(
            user=g.user, page=pagination_parameters.page, page_size=pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return invitations


@blp.route("/me/invitations/<int(max=2147483647):invitation_id>/accept")
class AcceptInvitation(MethodView):
    @authenticated
    @idempotent
    @blp.response(200, MyInvitationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, invitation_id):
        """Join the shop with the role offered; accepting again answers the same. 409 once declined, revoked or
        expired."""
        return services.answer_invitation(user=current_account(), invitation_id=invitation_id, accept=True)


@blp.route("/me/invitations/<int(max=2147483647):invitation_id>/decline")
class DeclineInvitation(MethodView):
    @authenticated
    @idempotent
    @blp.response(200, MyInvitationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, invitation_id):
        """Say no: the shop sees the invitation declined, nothing of your account."""
        return services.answer_invitation(user=current_account(), invitation_id=invitation_id, accept=False)


@invitations_blp.route("")
class Invitations(MethodView):
    @shop_access(*MANAGERS)
    @invitations_blp.arguments(InvitationQueryArgsSchema, location="query")
    @invitations_blp.response(200, StaffInvitationSchema(many=True))
    @invitations_blp.paginate()
    def get(self, args, pagination_parameters):
        """The shop's invitations, newest first; `status=pending` for those still waiting."""
        invitations, total = services.list_invitations(
            shop_id=current_shop().shop_id,
            status=args.get("status"),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return invitations


@invitations_blp.route("/<int(max=2147483647):invitation_id>")
class InvitationById(MethodView):
    @shop_access(*MANAGERS)
    @invitations_blp.response(204)
    @invitations_blp.alt_response(409, response="CONFLICT")
    def delete(self, invitation_id):
        """Revoke an invitation still waiting; 409 once it was answered or expired."""
        context = current_shop()
        services.revoke_invitation(
            shop_id=context.shop_id, actor=context.user, actor_role=context.role, invitation_id=invitation_id
        )
