"""Who is calling and in which shop: the decorators every view uses.

`shop_access(roles)` authenticates the caller, resolves the request's shop from `X-Shop-Id`
(optional when the user belongs to exactly one shop) and checks the role there. A shop the
caller does not belong to is 404, like any other shop's row; a role that may not do this is 403.

`g.user` is the caller as the token check read them (`tokens.Caller`: plain values, not an ORM row); the views
that change the account itself ask for its row (`current_account`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from flask import g, request
from flask_jwt_extended import current_user, verify_jwt_in_request

from app.auth.tokens import Caller, Member
from app.common.api import add_doc_parameter
from app.errors import NotFoundError, PermissionDenied, RuleViolation, Unauthorized
from app.extensions import db
from app.users.models import Role, User

SHOP_HEADER = "X-Shop-Id"
STAFF_ROLES = tuple(Role)
MANAGERS = (Role.ADMIN, Role.MANAGER)


@dataclass(frozen=True)
class ShopContext:
    user: Caller
    shop_id: int
    role: Role


def _resolve_membership(user: Caller) -> Member:
    raw = request.headers.get(SHOP_HEADER)
    if raw is None:
        if len(user.memberships) == 1:
            return user.memberships[0]
        if not user.memberships:
            raise NotFoundError("You are not a member of any shop; ask a shop to invite you.")
        raise RuleViolation(
            "Choose a shop: you belong to several. Send its id in X-Shop-Id.",
            errors={"headers": {SHOP_HEADER: ["Required when you belong to more than one shop."]}},
        )
    try:
        shop_id = int(raw)
    except ValueError:
        raise RuleViolation(
            "X-Shop-Id must be a shop id.", errors={"headers": {SHOP_HEADER: ["Not a valid integer."]}}
        ) from None
    for membership in user.memberships:
        if membership.shop_id == shop_id:
            return membership
    raise NotFoundError("Shop not found.")


def _document(view: Callable, *, with_shop: bool, roles: Iterable[Role] | None) -> None:
    apidoc = view.__dict__.setdefault("_apidoc", {})
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    # Names, not raw $refs, so apispec emits the lazily registered components they point to.
    responses["401"] = "UNAUTHORIZED"
    if with_shop:
        add_doc_parameter(view, "XShopId")
        responses["403"] = "FORBIDDEN"
        responses["404"] = "NOT_FOUND"
        responses["422"] = "UNPROCESSABLE_ENTITY"
    if roles:
        note = "Roles: " + ", ".join(r.value for r in roles) + "."
        manual["description"] = (manual.get("description", "") + "\n\n" + note).strip()


def _verify_user() -> None:
    verify_jwt_in_request()
    g.user = current_user
    g.language = current_user.language  # read now: a rolled-back session would have to reload it for the error


def authenticated(view: Callable) -> Callable:
    """Any active user with a valid access token; no shop needed."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        _verify_user()
        return view(*args, **kwargs)

    _document(wrapper, with_shop=False, roles=None)
    return wrapper


def shop_access(*roles: Role) -> Callable:
    """An active user acting in a shop they belong to, with one of `roles` there (any role if none)."""
    allowed = set(roles) if roles else set(STAFF_ROLES)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            _verify_user()
            membership = _resolve_membership(current_user)
            role = Role(membership.role)
            if role not in allowed:
                raise PermissionDenied(
                    "Your role may not do this; ask the shop's admin.", errors={"role": [role.value]}
                )
            g.shop = ShopContext(user=current_user, shop_id=membership.shop_id, role=role)
            return view(*args, **kwargs)

        _document(wrapper, with_shop=True, roles=roles or None)
        return wrapper

    return decorator


def current_shop() -> ShopContext:
    return g.shop


def current_account() -> User:
    """The caller's own row, for the views that change the account: two statements more than the token check (the
    user and, as `User.memberships` loads, their memberships)."""
    user = db.session.get(User, current_user.id)
    if user is None:  # erased since the check, in the same instant
        raise Unauthorized("The token's user is unknown or inactive.")
    return user
