"""Staff accounts and their places in shops.

Deactivation is per shop. DELETE /users/{id} (or PATCH `is_active: false`) stamps the membership's
`deactivated_at`: the row stays as history and the person loses that shop at once, since roles are
read per request. When it was their last active shop they can no longer log in at all: the user's
`is_active` goes False and every token they hold ends (`revoke_all_for_user`). A person who still
works in another shop keeps that shop and their tokens; one shop cannot lock them out of another.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, contains_eager, joinedload, with_expression

from app.audit import services as audit
from app.auth.passwords import hash_password, verify_password
from app.auth.tokens import Caller, revoke_all_for_user, start_session
from app.common.pagination import page_of
from app.common.phones import InvalidPhone, normalize_phone
from app.common.types import utcnow
from app.errors import ConflictError, NotFoundError, PermissionDenied, RuleViolation
from app.extensions import db
from app.messaging.services import channel_for_user, queue_message
from app.shops.models import Shop
from app.shops.services import shop_language
from app.users.models import InvitationStatus, Membership, Role, StaffInvitation, User

USER_FIELDS = ["phone", "email", "name", "language", "is_active"]
# The person's own account, shared by every shop they work in: one shop may not change it for the others.
ACCOUNT_FIELDS = ("name", "email", "language", "external_id")
MANAGED_BY_MANAGERS = frozenset({Role.FLORIST, Role.COURIER})
PHONE_CHARACTERS = frozenset("0123456789+-() ")
INVITATION = "invitation"
INVITATION_LIFETIME = timedelta(days=7)
ALREADY_ADDED = "This phone is already on this shop's staff or invited."
ALREADY_ADDED_HINT = "Already added: see GET /users and GET /invitations."
# Unique constraints (named by the metadata's convention) → the field a client should fix.
CONFLICT_FIELDS = {
    "uq_users_phone": ("phone", "Another account already has this phone."),
    "uq_users_email": ("email", "Another account already has this e-mail."),
    "uq_users_external_id": ("external_id", "Another account is already linked to this external id."),
    "uq_memberships_user_id_shop_id": ("phone", "This person is already on this shop's staff."),
}


@cache
def _active_staff_statement() -> Select:
    # Built once, on first use, when every model is mapped (building a statement costs about as much as running it).
    return (
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.shop_id == bindparam("shop_id"),
            Membership.user_id == bindparam("user_id"),
            Membership.role == bindparam("role"),
            Membership.is_active,
            User.is_active.is_(True),
        )
    )


def is_active_staff(*, shop_id: int, user_id: int, role: Role) -> bool:
    """Whether the user works in the shop in `role` now: an active account and a membership not deactivated."""
    params = {"shop_id": shop_id, "user_id": user_id, "role": role.value}
    return db.session.scalar(_active_staff_statement(), params) is not None


def find_by_phone(phone: str) -> User | None:
    return db.session.scalars(select(User).where(User.phone == phone)).first()


def create_user(
    *,
    phone: str,
    name: str,
    actor_id: int | None,
    email: str | None = None,
    password: str | None = None,
    language: str = "ru",
    shop_id: int | None = None,
    role: Role | None = None,
    external_id: str | None = None,
    commit: bool = True,
) -> User:
    """A new staff user, with a role in `shop_id` when given."""
    user = User(
        phone=phone,
        email=email.strip().lower() if email else None,
        name=name,
        language=language,
        password_hash=hash_password(password) if password else None,
        is_active=True,
        external_id=external_id,
    )
    db.session.add(user)
    db.session.flush()
    if shop_id is not None and role is not None:
        user.memberships.append(Membership(shop_id=shop_id, role=role.value))
    audit.record(
        shop_id=shop_id,
        actor_id=actor_id,
        action="create",
        entity_type="user",
        entity_id=user.id,
        changes={
            **audit.snapshot(user, USER_FIELDS + (["external_id"] if external_id else [])),
            **({"role": [None, role.value]} if role else {}),
        },
    )
    if commit:
        db.session.commit()
    return user


# --- staff of a shop --------------------------------------------------------------------------


def _staff_query():
    # The user comes in the same statement; their memberships are not needed for a staff row.
    elsewhere = aliased(Membership)
    shared = exists().where(
        elsewhere.user_id == Membership.user_id, elsewhere.shop_id != Membership.shop_id, elsewhere.is_active
    )
    return (
        select(Membership)
        .join(Membership.user)
        .options(
            contains_eager(Membership.user).lazyload(User.memberships),
            with_expression(Membership.shared_with_other_shops, shared),
        )
        # The flag is not a column: an object already in the session would otherwise keep it unloaded.
        .execution_options(populate_existing=True)
    )


def list_staff(
    *,
    shop_id: int,
    role: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    page: int,
    page_size: int,
) -> tuple[list[Membership], int]:
    """The shop's staff (active and deactivated unless `active` says), by name."""
    stmt = _staff_query().where(Membership.shop_id == shop_id)
    if role:
        stmt = stmt.where(Membership.role == role)
    if active is not None:
        stmt = stmt.where(Membership.is_active if active else Membership.deactivated_at.is_not(None))
    if q:
        text = q.strip()
        conditions = [User.name.icontains(text, autoescape=True), User.email.icontains(text, autoescape=True)]
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits and set(text) <= PHONE_CHARACTERS:  # "916 55" is a phone fragment; "Room 5" is not
            conditions.append(User.phone.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*conditions))
    stmt = stmt.order_by(User.name, User.id)
    return page_of(stmt, page=page, page_size=page_size)


def get_staff(*, shop_id: int, user_id: int) -> Membership:
    """The person's membership of this shop (deactivated ones too); another shop's staff is 404."""
    membership = db.session.scalars(
        _staff_query().where(Membership.shop_id == shop_id, Membership.user_id == user_id)
    ).first()
    if membership is None:
        raise NotFoundError("User not found.")
    return membership


def _ensure_may_manage(actor_role: Role, *roles: Role) -> None:
    if actor_role is Role.ADMIN:
        return
    if actor_role is Role.MANAGER and all(role in MANAGED_BY_MANAGERS for role in roles):
        return
    raise PermissionDenied(
        "Managers manage florists and couriers only; admins manage every role.",
        errors={"role": [f"A {actor_role.value} may not manage a {'/'.join(r.value for r in roles)}."]},
    )


def _lock_shop(shop_id: int) -> Shop:
    # Staff changes of one shop queue up here, so two admins demoting each other cannot both win.
    return db.session.scalars(select(Shop).where(Shop.id == shop_id).with_for_update()).one()


def _ensure_another_admin(*, shop_id: int, leaving: Membership, field: str) -> None:
    others = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.shop_id == shop_id,
            Membership.role == Role.ADMIN.value,
            Membership.is_active,
            Membership.id != leaving.id,
        )
    )
    if not others:
        raise ConflictError(
            "A shop keeps at least one active admin: make someone else admin first.",
            errors={field: ["This is the shop's last admin."]},
        )


def _ensure_may_link_external_id(actor_role: Role) -> None:
    # The external id decides who POST /auth/exchange logs in as: only an admin may set it.
    if actor_role is not Role.ADMIN:
        raise PermissionDenied(
            "Only an admin links a person to the identity service.",
            errors={"external_id": [f"A {actor_role.value} may not set external_id."]},
        )


def _taken(column, value: str | None, *, user_id: int | None) -> bool:
    """Another account than `user_id` already has this e-mail or external id."""
    if not value:
        return False
    stmt = select(User.id).where(column == value)
    if user_id is not None:
        stmt = stmt.where(User.id != user_id)
    return db.session.scalar(stmt) is not None


def _ensure_external_id_free(external_id: str | None, *, user_id: int) -> None:
    if _taken(User.external_id, external_id, user_id=user_id):
        text = CONFLICT_FIELDS["uq_users_external_id"][1]
        raise ConflictError(text, errors={"external_id": [text]})


def _ensure_account_untouched(user: User, data: dict[str, Any]) -> None:
    # They may be admin elsewhere: a rename or a new e-mail from this shop would change it for that one too.
    touched = [
        field
        for field in ACCOUNT_FIELDS
        if field in data
        and (_normalize_email(data[field]) if field == "email" else data[field]) != getattr(user, field)
    ]
    if touched:
        text = "Also works in another shop: they change this themselves (PATCH /users/me)."
        raise ConflictError(
            "This person also works in another shop; only they change their name, e-mail, language or identity link.",
            errors={field: [text] for field in touched},
        )


def _normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def _ensure_email_free(email: str | None, *, user_id: int) -> None:
    if _taken(User.email, email, user_id=user_id):
        raise ConflictError("The e-mail is taken.", errors={"email": [CONFLICT_FIELDS["uq_users_email"][1]]})


def _commit_or_conflict() -> None:
    """Commit; a unique constraint lost to a concurrent request is a 409 naming the field."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        message = str(exc.orig)
        for constraint, (field, text) in CONFLICT_FIELDS.items():
            if constraint in message:
                raise ConflictError(text, errors={field: [text]}) from None
        raise


def invite_staff(
    *,
    shop_id: int,
    actor: Caller,
    actor_role: Role,
    name: str,
    phone: str,
    role: str,
    email: str | None = None,
    password: str | None = None,
    language: str | None = None,
    external_id: str | None = None,
) -> StaffInvitation:
    """Offer the shop's role to the person with this phone; the answer is the same whoever owns it.

    Someone who already has an account is invited: they join only when they accept, and until then the shop
    learns nothing about them; the account fields given here are not applied to it. A phone new to the system
    gets its account (name, password, language as given; the e-mail and external id unless another account has
    them, which is not told) and the same pending invitation, which its first login accepts.
    """
    now = utcnow()
    new_role = Role(role)
    _ensure_may_manage(actor_role, new_role)
    if external_id is not None:
        _ensure_may_link_external_id(actor_role)
    shop = _lock_shop(shop_id)
    try:
        phone = normalize_phone(phone, shop.country)
    except InvalidPhone as exc:
        raise RuleViolation("The phone is not valid.", errors={"phone": [str(exc)]}) from None

    invitation = StaffInvitation(
        shop_id=shop_id,
        phone=phone,
        name=name,
        role=new_role.value,
        status=InvitationStatus.PENDING.value,
        invited_by_id=actor.id,
        expires_at=now + INVITATION_LIFETIME,
    )
    user = find_by_phone(phone)
    if user is None:
        # A 409 here would tell the shop the phone is new and the e-mail has an account: a taken one is left out.
        email = _normalize_email(email)
        user = create_user(
            phone=phone,
            name=name,
            email=None if _taken(User.email, email, user_id=None) else email,
            password=password,
            language=language or shop_language(shop.country),
            external_id=None if _taken(User.external_id, external_id, user_id=None) else external_id,
            actor_id=actor.id,
            commit=False,
        )
        invitation.opened_account = True
    else:
        _ensure_not_already_added(shop_id=shop_id, user=user, now=now)
        # A person no shop employs any more may log in again, only to answer (they act in no shop until then).
        user.is_active = True
    invitation.user_id = user.id
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        shop_id=shop_id,
        actor_id=actor.id,
        action="invite",
        entity_type=INVITATION,
        entity_id=invitation.id,
        changes={"role": [None, new_role.value]},
    )
    if not invitation.opened_account:  # the shop that typed a new person's details tells them how to log in
        _tell_invitee(invitation, user=user, shop=shop)
    _commit_or_conflict()
    return invitation


def _ensure_not_already_added(*, shop_id: int, user: User, now: datetime) -> None:
    # The shop is told only what it already knows: it added this phone before, or let this person go.
    membership = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.shop_id == shop_id)
    ).first()
    if membership is not None and not membership.is_active:
        hint = "Deactivated here: PATCH is_active to true."
        raise ConflictError("This person was deactivated in this shop.", errors={"phone": [hint]})
    waiting = db.session.scalars(
        select(StaffInvitation)
        .where(
            StaffInvitation.shop_id == shop_id,
            StaffInvitation.user_id == user.id,
            StaffInvitation.status == InvitationStatus.PENDING.value,
        )
        .with_for_update()
    ).all()
    for old in waiting:
        if old.expires_at <= now:
            old.status = InvitationStatus.EXPIRED.value
    if membership is not None or any(old.status == InvitationStatus.PENDING.value for old in waiting):
        raise ConflictError(ALREADY_ADDED, errors={"phone": [ALREADY_ADDED_HINT]})


def _tell_invitee(invitation: StaffInvitation, *, user: User, shop: Shop) -> None:
    # Not in the shop's message log (shop_id None): how the person is reached is theirs, not the shop's.
    channel, address = channel_for_user(user)
    queue_message(
        kind="staff_invitation",
        channel=channel,
        to=address,
        template="staff_invitation",
        language=user.language,
        occurrence_key=f"staff_invitation:{invitation.id}",
        context={"shop": shop.name, "days": INVITATION_LIFETIME.days},
        user_id=user.id,
    )


# --- invitations, as the shop sees them --------------------------------------------------------------


def _state_filter(status: str, now: datetime) -> ColumnElement[bool]:
    """Invitations whose status, as people see it (pending past its time reads expired), is `status`."""
    pending = StaffInvitation.status == InvitationStatus.PENDING.value
    if status == InvitationStatus.PENDING.value:
        return pending & (StaffInvitation.expires_at > now)
    if status == InvitationStatus.EXPIRED.value:
        return (StaffInvitation.status == status) | (pending & (StaffInvitation.expires_at <= now))
    return StaffInvitation.status == status


def list_invitations(
    *, shop_id: int, status: str | None = None, page: int, page_size: int
) -> tuple[list[StaffInvitation], int]:
    """The shop's invitations, newest first: what it typed, the role and the answer."""
    stmt = select(StaffInvitation).where(StaffInvitation.shop_id == shop_id)
    if status:
        stmt = stmt.where(_state_filter(status, utcnow()))
    stmt = stmt.order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc())
    return page_of(stmt, page=page, page_size=page_size)


def revoke_invitation(*, shop_id: int, actor: Caller, actor_role: Role, invitation_id: int) -> None:
    """Take back an invitation still waiting for its answer; revoked already is fine."""
    invitation = db.session.scalars(
        select(StaffInvitation)
        .where(StaffInvitation.id == invitation_id, StaffInvitation.shop_id == shop_id)
        .with_for_update()
    ).first()
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    _ensure_may_manage(actor_role, Role(invitation.role))
    state = invitation.state(utcnow())
    if state == InvitationStatus.REVOKED.value:
        return
    if state != InvitationStatus.PENDING.value:
        raise ConflictError(
            "This invitation is “{status}”; only a waiting one can be revoked.",
            errors={"status": [state]},
            params={"status": state},
        )
    invitation.status, invitation.answered_at = InvitationStatus.REVOKED.value, utcnow()
    audit.record(
        shop_id=shop_id,
        actor_id=actor.id,
        action="revoke",
        entity_type=INVITATION,
        entity_id=invitation.id,
        changes={"status": [state, invitation.status]},
    )
    db.session.commit()


# --- invitations, as the invited person sees them -----------------------------------------------------


def my_invitations(*, user: Caller, page: int, page_size: int) -> tuple[list[StaffInvitation], int]:
    """The invitations waiting for the caller's answer, newest first, with the shop's name."""
    stmt = (
        select(StaffInvitation)
        .where(StaffInvitation.user_id == user.id, _state_filter(InvitationStatus.PENDING.value, utcnow()))
        .options(joinedload(StaffInvitation.shop))
        .order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc())
    )
    return page_of(stmt, page=page, page_size=page_size)


def answer_invitation(*, user: User, invitation_id: int, accept: bool) -> StaffInvitation:
    """Accept (the membership is made) or decline an invitation to the caller; the same answer again is a no-op."""
    wanted = (InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED).value
    # The row lock queues a twin accept (or the shop's revoke) behind this one: one membership, one answer.
    invitation = db.session.scalars(
        select(StaffInvitation)
        .where(StaffInvitation.id == invitation_id, StaffInvitation.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    now = utcnow()
    state = invitation.state(now)
    if state == wanted:
        db.session.commit()
        return invitation
    if state != InvitationStatus.PENDING.value:
        raise ConflictError(
            "This invitation is “{status}”; it can no longer be answered. Ask the shop to invite you again.",
            errors={"status": [state]},
            params={"status": state},
        )
    if accept:
        _join(invitation, user=user, now=now)
    else:
        invitation.status, invitation.answered_at = wanted, now
        audit.record(
            shop_id=invitation.shop_id,
            actor_id=None,
            action="decline",
            entity_type=INVITATION,
            entity_id=invitation.id,
            changes={"status": [state, wanted]},
        )
    db.session.commit()
    return invitation


def join_on_first_login(user: User) -> None:
    """The person a shop opened the account for joins it when they first log in; the caller commits.

    They have no other shop, so logging in is their answer; until then the shop saw them only as invited.
    """
    # The row lock (and the status re-checked after it) makes two first logins at once one membership.
    invitation = db.session.scalars(
        select(StaffInvitation)
        .where(
            StaffInvitation.user_id == user.id,
            StaffInvitation.opened_account,
            StaffInvitation.status == InvitationStatus.PENDING.value,
        )
        .with_for_update()
    ).first()
    now = utcnow()
    if invitation is not None and invitation.state(now) == InvitationStatus.PENDING.value:
        _join(invitation, user=user, now=now)


def _join(invitation: StaffInvitation, *, user: User, now: datetime) -> None:
    invitation.status, invitation.answered_at = InvitationStatus.ACCEPTED.value, now
    db.session.add(Membership(user_id=user.id, shop_id=invitation.shop_id, role=invitation.role))
    # The shop learns who the person is only now, from their own acceptance.
    audit.record(
        shop_id=invitation.shop_id,
        actor_id=user.id,
        action="accept_invitation",
        entity_type="user",
        entity_id=user.id,
        changes={"invitation_id": [None, invitation.id], "role": [None, invitation.role]},
    )


def update_staff(*, shop_id: int, actor: Caller, actor_role: Role, user_id: int, data: dict[str, Any]) -> Membership:
    """Change a person's details, role in this shop, or active state here."""
    _lock_shop(shop_id)
    membership = get_staff(shop_id=shop_id, user_id=user_id)
    user = membership.user
    current_role = Role(membership.role)
    _ensure_may_manage(actor_role, current_role)
    data = dict(data)
    new_role = Role(data.pop("role")) if "role" in data else None
    if new_role is not None:
        _ensure_may_manage(actor_role, new_role)
    active = data.pop("is_active", None)

    if membership.shared_with_other_shops:
        _ensure_account_untouched(user, data)
    if "external_id" in data:
        _ensure_may_link_external_id(actor_role)
        _ensure_external_id_free(data["external_id"], user_id=user.id)
    if "email" in data:
        data["email"] = _normalize_email(data["email"])
        _ensure_email_free(data["email"], user_id=user.id)
    changes = audit.apply_changes(user, data)

    was_seated_admin = membership.is_active and current_role is Role.ADMIN
    if new_role is not None and new_role is not current_role:
        if was_seated_admin:
            _ensure_another_admin(shop_id=shop_id, leaving=membership, field="role")
        changes["role"] = [current_role.value, new_role.value]
        membership.role = new_role.value
    if active is False and membership.is_active:
        if was_seated_admin and "role" not in changes:
            _ensure_another_admin(shop_id=shop_id, leaving=membership, field="is_active")
        changes.update(_deactivate(membership))
    elif active is True and not membership.is_active:
        changes.update(_reactivate(membership))

    if changes:
        audit.record(
            shop_id=shop_id, actor_id=actor.id, action="update", entity_type="user", entity_id=user.id, changes=changes
        )
    _commit_or_conflict()
    return get_staff(shop_id=shop_id, user_id=user_id)


def deactivate_staff(*, shop_id: int, actor: Caller, actor_role: Role, user_id: int) -> None:
    """Take the person off this shop's staff; already deactivated is fine (nothing changes)."""
    _lock_shop(shop_id)
    membership = get_staff(shop_id=shop_id, user_id=user_id)
    role = Role(membership.role)
    _ensure_may_manage(actor_role, role)
    if not membership.is_active:
        return
    if role is Role.ADMIN:
        _ensure_another_admin(shop_id=shop_id, leaving=membership, field="is_active")
    changes = _deactivate(membership)
    audit.record(
        shop_id=shop_id, actor_id=actor.id, action="deactivate", entity_type="user", entity_id=user_id, changes=changes
    )
    db.session.commit()


def _deactivate(membership: Membership) -> dict[str, list[Any]]:
    membership.deactivated_at = utcnow()
    user = membership.user
    changes: dict[str, list[Any]] = {"is_active": [True, False]}
    elsewhere = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == user.id, Membership.is_active, Membership.id != membership.id)
    )
    if not elsewhere:  # no shop left: they may not log in, and what they hold ends now
        user.is_active = False
        revoke_all_for_user(user, reason="deactivated")
        changes["account_active"] = [True, False]
    return changes


def _reactivate(membership: Membership) -> dict[str, list[Any]]:
    membership.deactivated_at = None
    changes: dict[str, list[Any]] = {"is_active": [False, True]}
    if not membership.user.is_active:
        membership.user.is_active = True
        changes["account_active"] = [False, True]
    return changes


# --- the caller's own account -----------------------------------------------------------------


def _record_for_own_shops(user: User, *, action: str, changes: dict[str, Any]) -> None:
    # A person's own change is shown in the audit log of every shop they work in.
    audit.record_in_own_shops(user, action=action, entity_type="user", entity_id=user.id, changes=changes)


def update_me(*, user: User, data: dict[str, Any]) -> User:
    """The caller's own name, language and Telegram chat."""
    changes = audit.apply_changes(user, data)
    if changes:
        _record_for_own_shops(user, action="update_self", changes=changes)
        db.session.commit()
    return user


def change_password(*, user: User, new_password: str, current_password: str | None = None) -> dict:
    """Set a new password, end every other session, and return a fresh token pair."""
    if user.password_hash is not None:
        if not current_password:
            raise RuleViolation(
                "Give your current password.", errors={"current_password": ["Required: you have a password."]}
            )
        if not verify_password(user.password_hash, current_password):
            raise RuleViolation("The current password is wrong.", errors={"current_password": ["Wrong password."]})
    user.password_hash = hash_password(new_password)
    revoke_all_for_user(user, reason="password_changed")
    _record_for_own_shops(user, action="change_password", changes={"password": ["***", "***"]})
    # start_session commits: the new password, the revocations, the audit and the new login together.
    return start_session(user, method="password")
