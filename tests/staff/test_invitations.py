"""Adding a person: an invitation they answer (a new phone by its first login); the shop learns nothing before."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth import otp
from app.common.types import utcnow
from app.extensions import db, queues
from app.jobs.worker import build_worker
from app.messaging.models import MessageLog
from app.users.models import Membership, StaffInvitation, User
from tests.factories import TEST_PASSWORD, MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient
from tests.messaging.stub_server import StubServer, smsru_sent

USERS, INVITATIONS, MINE = "/api/v1/users", "/api/v1/invitations", "/api/v1/users/me/invitations"


@pytest.fixture
def olga(other_shop):
    """A manager of the other shop, with her own name, e-mail and password."""
    person = UserFactory(name="Olga Real", phone="+79165557788", email="olga@elsewhere.test", language="en")
    MembershipFactory(user=person, shop=other_shop, role="manager")
    db.session.commit()
    return person


def invite(client, phone: str, role: str = "florist", **fields):
    return client.post(USERS, json={"name": "Typed Name", "phone": phone, "role": role, **fields})


def as_person(app, user) -> ApiClient:
    """The person's own app: a token, no X-Shop-Id."""
    return ApiClient(app, user=user)


def about(person, shop_id: int) -> list[tuple]:
    """The shop's audit entries by the person or about their account."""
    return [e for e in entries(shop_id) if e[3] == person.id or (e[1] == "user" and e[2] == str(person.id))]


def entries(shop_id: int) -> list[tuple]:
    return [
        (e.action, e.entity_type, e.entity_id, e.actor_id)
        for e in db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop_id).order_by(AuditEntry.id))
    ]


def memberships(user_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Membership.shop_id, Membership.role).where(Membership.user_id == user_id, Membership.is_active)
    )
    return sorted(tuple(row) for row in rows)


# --- what the inviting shop sees ------------------------------------------------------------------------


def test_a_new_phone_and_an_existing_account_get_the_same_answer(admin, olga):
    new = invite(admin, "+79165550101")
    known = invite(admin, "8 916 555 77 88")

    assert (new.status_code, known.status_code) == (201, 201)
    assert sorted(new.json) == sorted(known.json) == ["created_at", "expires_at", "id", "name", "phone", "role"]
    assert (known.json["name"], known.json["phone"], known.json["role"]) == ("Typed Name", olga.phone, "florist")
    text = known.get_data(as_text=True)
    assert "Olga Real" not in text and "olga@elsewhere.test" not in text
    invitation = db.session.get(StaffInvitation, known.json["id"])  # the id is the invitation's, not the account's
    assert (invitation.user_id, invitation.status) == (olga.id, "pending")


def test_until_they_accept_the_shop_sees_only_the_invitation(app, admin, shop, other_shop, olga):
    audit_before = entries(other_shop.id)
    invited = invite(admin, olga.phone, "courier", password="shop typed this", email="x@shop.test", language="ru")

    assert admin.get(f"{USERS}/{olga.id}").status_code == 404
    assert admin.patch(f"{USERS}/{olga.id}", json={"role": "manager"}).status_code == 404
    assert olga.id not in [row["id"] for row in admin.get(USERS).json]
    [listed] = admin.get(INVITATIONS, query_string={"status": "pending"}).json
    assert (listed["id"], listed["name"], listed["status"], listed["user_id"]) == (
        invited.json["id"],
        "Typed Name",
        "pending",
        None,
    )
    assert about(olga, shop.id) == []
    # Her account and her other shop are untouched; she still works there without X-Shop-Id.
    db.session.refresh(olga)
    assert (olga.name, olga.email, olga.language) == ("Olga Real", "olga@elsewhere.test", "en")
    assert ApiClient(app).post("/api/v1/auth/login", json={"login": olga.phone, "password": TEST_PASSWORD}).json[
        "user"
    ]["memberships"] == [{"shop_id": other_shop.id, "role": "manager"}]
    assert as_person(app, olga).get(USERS).status_code == 200
    assert memberships(olga.id) == [(other_shop.id, "manager")]
    assert entries(other_shop.id)[: len(audit_before)] == audit_before


def test_the_invitee_is_told_outside_the_shops_message_log(admin, shop, olga):
    invite(admin, olga.phone)

    message = db.session.scalars(select(MessageLog).where(MessageLog.kind == "staff_invitation")).one()
    assert (message.shop_id, message.user_id, message.language, message.status) == (None, olga.id, "en", "queued")
    assert message.context["shop"] == shop.name
    assert admin.get("/api/v1/notifications").json == []


def test_a_worker_sends_the_invitation_by_sms_in_the_persons_language(app, admin, shop, olga, monkeypatch):
    with StubServer() as sms_ru:
        monkeypatch.setitem(app.config, "SMS_PROVIDER", "smsru")
        monkeypatch.setitem(app.config, "SMSRU_API_URL", sms_ru.url)
        monkeypatch.setitem(app.config, "SMSRU_API_ID", "test-api-id")
        sms_ru.always(200, smsru_sent)

        phone, shop_name = olga.phone, shop.name  # the worker ends the test's session
        invite(admin, phone)
        build_worker(app, [queues.get("messages")], simple=True).work(burst=True)

    [sent] = sms_ru.requests
    assert sent.form["to"] == phone.lstrip("+")
    assert sent.text.startswith(f"Flower CRM: the shop {shop_name} invites you") and "accept" in sent.text
    assert db.session.scalars(select(MessageLog.status).where(MessageLog.kind == "staff_invitation")).one() == "sent"


def shop_view(client, user_id: int) -> dict:
    """All the shop can read about a person it added: its invitation, whether it lists them, their page."""
    [listed] = [row for row in client.get(INVITATIONS).json if row["phone"] == db.session.get(User, user_id).phone]
    differing = ("id", "phone", "created_at", "expires_at")  # the two invitations' own, whoever the phone is
    return {
        "invitation": {key: value for key, value in listed.items() if key not in differing},
        "on_staff": user_id in [row["id"] for row in client.get(USERS).json],
        "page": client.get(f"{USERS}/{user_id}").status_code,
        "patch": client.patch(f"{USERS}/{user_id}", json={"role": "courier"}).status_code,
    }


def test_until_they_act_a_new_phone_reads_like_an_existing_account(admin, shop, olga):
    audit_before = entries(shop.id)
    new = invite(admin, "+79165550102", password="their first password", email="new@shop.test")
    known = invite(admin, olga.phone, password="their first password", email="new2@shop.test")
    newcomer = db.session.scalars(select(User).where(User.phone == "+79165550102")).one()

    assert (new.status_code, known.status_code) == (201, 201)
    assert shop_view(admin, newcomer.id) == shop_view(admin, olga.id)
    assert shop_view(admin, newcomer.id) == {
        "invitation": {
            "name": "Typed Name",
            "role": "florist",
            "status": "pending",
            "user_id": None,
            "invited_by_id": admin.user.id,
            "answered_at": None,
        },
        "on_staff": False,
        "page": 404,
        "patch": 404,
    }
    # The shop's audit log shows the two invitations alike, and nothing about either account.
    assert [e[:2] for e in entries(shop.id)[len(audit_before) :]] == [("invite", "invitation")] * 2
    assert about(newcomer, shop.id) == about(olga, shop.id) == []
    assert (newcomer.name, newcomer.email, newcomer.has_password) == ("Typed Name", "new@shop.test", True)
    assert memberships(newcomer.id) == []


def test_a_new_phone_with_an_e_mail_another_account_has_is_added_without_it(admin, olga):
    new = invite(admin, "+79165550104", email="OLGA@elsewhere.test")
    known = invite(admin, olga.phone, email="olga@elsewhere.test")

    assert (new.status_code, known.status_code) == (201, 201)
    assert sorted(new.json) == sorted(known.json)
    newcomer = db.session.scalars(select(User).where(User.phone == "+79165550104")).one()
    assert newcomer.email is None
    db.session.refresh(olga)
    assert olga.email == "olga@elsewhere.test"


@pytest.fixture
def otp_instantly(monkeypatch):
    monkeypatch.setattr(otp, "ANSWER_FLOOR_SECONDS", 0)


def first_login(app, phone: str, how: str) -> dict:
    http = ApiClient(app)
    if how == "password":
        return http.post("/api/v1/auth/login", json={"login": phone, "password": "their first password"}).json
    http.post("/api/v1/auth/otp/request", json={"phone": phone})
    code = queues.get("otp").get_jobs()[-1].args[2]["code"]
    return http.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code}).json


@pytest.mark.parametrize("how", ["password", "otp"])
def test_a_new_persons_first_login_accepts_and_puts_them_on_the_staff(app, admin, shop, otp_instantly, how):
    added = invite(admin, "+79165550105", "courier", password="their first password").json
    newcomer = db.session.scalars(select(User).where(User.phone == "+79165550105")).one()

    tokens = first_login(app, "+79165550105", how)
    again = first_login(app, "+79165550105", "password")

    assert tokens["user"]["memberships"] == again["user"]["memberships"] == [{"shop_id": shop.id, "role": "courier"}]
    assert memberships(newcomer.id) == [(shop.id, "courier")]
    staff = admin.get(f"{USERS}/{newcomer.id}").json
    assert (staff["name"], staff["role"]) == ("Typed Name", "courier")
    assert newcomer.id in [row["id"] for row in admin.get(USERS).json]
    [listed] = admin.get(INVITATIONS).json
    assert (listed["id"], listed["status"], listed["user_id"]) == (added["id"], "accepted", newcomer.id)
    assert [e for e in entries(shop.id) if e[0] == "accept_invitation"] == [
        ("accept_invitation", "user", str(newcomer.id), newcomer.id)
    ]
    # The shop that typed their details tells them to log in: no invitation message of ours.
    assert db.session.scalar(select(func.count()).select_from(MessageLog).where(MessageLog.kind != "otp")) == 0


def test_a_first_login_accepts_only_the_invitation_that_opened_the_account(app, admin, shop, login, other_shop):
    invite(admin, "+79165550106", password="their first password")
    second = invite(login("admin", shop=other_shop), "+79165550106").json

    tokens = first_login(app, "+79165550106", "password")

    assert tokens["user"]["memberships"] == [{"shop_id": shop.id, "role": "florist"}]
    assert db.session.get(StaffInvitation, second["id"]).status == "pending"


def test_an_opening_invitation_revoked_or_expired_is_not_accepted_at_login(app, admin, shop):
    revoked = invite(admin, "+79165550107", password="their first password").json
    admin.delete(f"{INVITATIONS}/{revoked['id']}")
    invite(admin, "+79165550108", password="their first password")

    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        late = first_login(app, "+79165550108", "password")
    after_revoke = first_login(app, "+79165550107", "password")

    assert late["user"]["memberships"] == after_revoke["user"]["memberships"] == []
    assert [row["id"] for row in admin.get(USERS).json] == [admin.user.id]


def test_adding_the_same_phone_again_is_one_409_whether_invited_or_on_the_staff(admin, olga, member, shop):
    on_staff, _ = member(shop, "courier")
    invite(admin, olga.phone)
    invite(admin, "+79165550103")
    invitations_before = db.session.scalar(select(func.count()).select_from(StaffInvitation))

    answers = [invite(admin, phone) for phone in (olga.phone, "+79165550103", on_staff.phone)]

    assert [answer.status_code for answer in answers] == [409, 409, 409]
    assert answers[0].json["errors"] == answers[1].json["errors"] == answers[2].json["errors"]
    assert answers[0].json["message"] == answers[1].json["message"] == answers[2].json["message"]
    assert db.session.scalar(select(func.count()).select_from(StaffInvitation)) == invitations_before


# --- what the invited person sees and answers -----------------------------------------------------------


def test_the_invitee_accepts_and_joins_with_the_role_offered(app, admin, shop, other_shop, olga):
    invited = invite(admin, olga.phone, "courier").json
    person = as_person(app, olga)

    [waiting] = person.get(MINE).json
    accepted = person.post(f"{MINE}/{invited['id']}/accept")
    again = person.post(f"{MINE}/{invited['id']}/accept")

    assert (waiting["shop"], waiting["role"], waiting["status"]) == (
        {"id": shop.id, "name": shop.name},
        "courier",
        "pending",
    )
    assert (accepted.status_code, accepted.json["status"], again.status_code) == (200, "accepted", 200)
    assert memberships(olga.id) == sorted([(shop.id, "courier"), (other_shop.id, "manager")])
    assert admin.get(f"{USERS}/{olga.id}").json["name"] == "Olga Real"
    [listed] = admin.get(INVITATIONS).json
    assert (listed["status"], listed["user_id"]) == ("accepted", olga.id)
    assert ("accept_invitation", "user", str(olga.id), olga.id) in entries(shop.id)
    assert person.get(MINE).json == []


def test_a_declined_invitation_tells_the_shop_only_that(app, admin, shop, other_shop, olga):
    invited = invite(admin, olga.phone).json
    person = as_person(app, olga)

    declined = person.post(f"{MINE}/{invited['id']}/decline")
    late_accept = person.post(f"{MINE}/{invited['id']}/accept")

    assert (declined.status_code, declined.json["status"]) == (200, "declined")
    assert (late_accept.status_code, late_accept.json["errors"]) == (409, {"status": ["declined"]})
    [listed] = admin.get(INVITATIONS).json
    assert (listed["status"], listed["user_id"]) == ("declined", None)
    assert ("decline", "invitation", str(invited["id"]), None) in entries(shop.id)
    assert about(olga, shop.id) == []
    assert memberships(olga.id) == [(other_shop.id, "manager")]


def test_a_revoked_invitation_can_no_longer_be_accepted(app, admin, shop, olga):
    invited = invite(admin, olga.phone).json
    person = as_person(app, olga)

    revoked = admin.delete(f"{INVITATIONS}/{invited['id']}")
    revoked_again = admin.delete(f"{INVITATIONS}/{invited['id']}")
    accept = person.post(f"{MINE}/{invited['id']}/accept")

    assert (revoked.status_code, revoked_again.status_code) == (204, 204)
    assert (accept.status_code, accept.json["errors"]) == (409, {"status": ["revoked"]})
    assert person.get(MINE).json == []
    assert shop.id not in [shop_id for shop_id, _ in memberships(olga.id)]


def test_an_accepted_invitation_is_not_revoked_the_person_is_deactivated_instead(app, admin, olga):
    invited = invite(admin, olga.phone).json
    as_person(app, olga).post(f"{MINE}/{invited['id']}/accept")

    response = admin.delete(f"{INVITATIONS}/{invited['id']}")

    assert (response.status_code, response.json["errors"]) == (409, {"status": ["accepted"]})


def test_an_invitation_expires_after_seven_days_and_the_shop_may_invite_again(app, admin, shop, olga):
    invited = invite(admin, olga.phone).json

    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        person, boss = as_person(app, olga), ApiClient(app, user=admin.user, shop_id=shop.id)  # fresh tokens
        mine = person.get(MINE).json
        accept = person.post(f"{MINE}/{invited['id']}/accept")
        listed = boss.get(INVITATIONS, query_string={"status": "expired"}).json
        again = invite(boss, olga.phone)

    assert mine == []
    assert (accept.status_code, accept.json["errors"]) == (409, {"status": ["expired"]})
    assert [row["id"] for row in listed] == [invited["id"]]
    assert again.status_code == 201 and again.json["id"] != invited["id"]


def test_someone_elses_invitation_is_404_to_them(app, admin, olga, member, shop):
    invited = invite(admin, olga.phone).json
    stranger, _ = member(ShopFactory(), "florist")
    them = as_person(app, stranger)

    for answer in ("accept", "decline"):
        assert them.post(f"{MINE}/{invited['id']}/{answer}").status_code == 404
    assert them.get(MINE).json == []
    assert shop.id not in [shop_id for shop_id, _ in memberships(stranger.id)]


# --- a person's own actions are audited where they work ---------------------------------------------------


def test_own_actions_go_only_to_shops_the_person_works_in(app, admin, shop, other_shop, olga):
    invited = invite(admin, olga.phone).json
    before_here = entries(shop.id)
    person = as_person(app, olga)
    tokens = ApiClient(app).post("/api/v1/auth/login", json={"login": olga.phone, "password": TEST_PASSWORD}).json

    person.patch("/api/v1/users/me", json={"telegram_chat_id": "424242"})
    ApiClient(app).post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})

    assert entries(shop.id) == before_here
    there = [(action, actor) for action, _, _, actor in entries(other_shop.id)]
    assert ("update_self", olga.id) in there and ("logout", olga.id) in there
    person.post(f"{MINE}/{invited['id']}/accept")
    person.patch("/api/v1/users/me", json={"telegram_chat_id": "434343"})
    assert ("update_self", "user", str(olga.id), olga.id) in entries(shop.id)


# --- who may ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "list_status", "revoke_florist", "revoke_admin"),
    [("admin", 200, 204, 204), ("manager", 200, 204, 403), ("florist", 403, 403, 403), ("courier", 403, 403, 403)],
)
def test_who_may_see_and_revoke_invitations(login, admin, shop, role, list_status, revoke_florist, revoke_admin):
    for_florist = invite(admin, UserFactory().phone, "florist").json
    for_admin = invite(admin, UserFactory().phone, "admin").json
    caller = login(role)

    assert caller.get(INVITATIONS).status_code == list_status
    assert caller.delete(f"{INVITATIONS}/{for_florist['id']}").status_code == revoke_florist
    assert caller.delete(f"{INVITATIONS}/{for_admin['id']}").status_code == revoke_admin


def test_another_shops_invitations_are_404_and_never_listed(admin, login, other_shop, olga):
    theirs = invite(login("admin", shop=other_shop), UserFactory().phone).json

    assert admin.delete(f"{INVITATIONS}/{theirs['id']}").status_code == 404
    assert admin.get(INVITATIONS).json == []
    assert db.session.get(StaffInvitation, theirs["id"]).status == "pending"


def test_invitee_endpoints_need_a_login(app):
    anonymous = ApiClient(app)

    assert anonymous.get(MINE).status_code == 401
    assert anonymous.post(f"{MINE}/1/accept").status_code == 401


# --- at the same moment ----------------------------------------------------------------------------------


def at_once(*calls: Callable[[], int]) -> list[int]:
    """Run the calls in threads released together; their answers' statuses, in the order given."""
    start, statuses = threading.Barrier(len(calls)), [0] * len(calls)

    def run(index: int, call: Callable[[], int]) -> None:
        start.wait()
        statuses[index] = call()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def _invited_elsewhere(app) -> tuple[ApiClient, ApiClient, int, int, int]:
    """A shop's admin invites a florist of another shop: (admin, person, shop id, person id, invitation id)."""
    shop, elsewhere = ShopFactory(), ShopFactory()
    boss, person = UserFactory(), UserFactory()
    MembershipFactory(user=boss, shop=shop, role="admin")
    MembershipFactory(user=person, shop=elsewhere, role="florist")
    db.session.commit()
    admin_client, person_client = ApiClient(app, user=boss, shop_id=shop.id), ApiClient(app, user=person)
    ids = shop.id, person.id
    return admin_client, person_client, *ids, invite(admin_client, person.phone).json["id"]


def joined(person_id: int, shop_id: int) -> int:
    db.session.remove()
    return db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == person_id, Membership.shop_id == shop_id)
    )


@pytest.mark.committed
def test_accepting_twice_at_once_makes_one_membership(app):
    _, person, shop_id, person_id, invitation_id = _invited_elsewhere(app)
    twin = ApiClient(app)
    twin.token = person.token

    statuses = at_once(*(lambda c=c: c.post(f"{MINE}/{invitation_id}/accept").status_code for c in (person, twin)))

    assert statuses == [200, 200]
    assert joined(person_id, shop_id) == 1
    accepted = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "accept_invitation")
    assert db.session.scalar(accepted) == 1


@pytest.mark.committed
def test_an_accept_and_a_revoke_at_once_end_one_way_or_the_other(app):
    for _ in range(3):
        admin_client, person, shop_id, person_id, invitation_id = _invited_elsewhere(app)

        statuses = at_once(
            lambda p=person, i=invitation_id: p.post(f"{MINE}/{i}/accept").status_code,
            lambda a=admin_client, i=invitation_id: a.delete(f"{INVITATIONS}/{i}").status_code,
        )

        members = joined(person_id, shop_id)
        status = db.session.get(StaffInvitation, invitation_id).status
        assert (status, members, statuses) in [("accepted", 1, [200, 409]), ("revoked", 0, [409, 204])]


@pytest.mark.committed
def test_two_first_logins_at_once_make_one_membership(app):
    shop, boss = ShopFactory(), UserFactory()
    MembershipFactory(user=boss, shop=shop, role="admin")
    db.session.commit()
    invite(ApiClient(app, user=boss, shop_id=shop.id), "+79165550109", password="their first password")
    shop_id, person_id = shop.id, db.session.scalar(select(User.id).where(User.phone == "+79165550109"))
    body = {"login": "+79165550109", "password": "their first password"}

    statuses = at_once(*(lambda: ApiClient(app).post("/api/v1/auth/login", json=body).status_code for _ in range(2)))

    assert statuses == [200, 200]
    assert joined(person_id, shop_id) == 1
    assert [entry[0] for entry in entries(shop_id)].count("accept_invitation") == 1
