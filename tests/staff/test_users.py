"""Staff of a shop: inviting, changing, deactivating, and the caller's own account."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.users.models import Membership, User
from tests.factories import TEST_PASSWORD, MembershipFactory, ShopFactory, UserFactory
from tests.helpers import ApiClient
from tests.staff.conftest import client_as

NEW_PASSWORD = "tulips in the rain"


def log_in(app, login: str, password: str):
    return ApiClient(app).post("/api/v1/auth/login", json={"login": login, "password": password})


def bearer(token: str, shop_id: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if shop_id is not None:
        headers["X-Shop-Id"] = str(shop_id)
    return headers


def audit_entries(shop_id: int, user_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.shop_id == shop_id, AuditEntry.entity_type == "user", AuditEntry.entity_id == str(user_id)
            )
            .order_by(AuditEntry.id)
        )
    )


# --- inviting -----------------------------------------------------------------------------------


def test_invite_by_local_phone_creates_an_account_that_can_log_in(app, admin, shop):
    response = admin.post(
        "/api/v1/users",
        json={
            "name": "Fiona",
            "phone": "8 (916) 555-12-34",
            "email": "Fiona@Example.test",
            "role": "florist",
            "password": NEW_PASSWORD,
            "language": "en",
        },
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["phone"], body["name"], body["role"]) == ("+79165551234", "Fiona", "florist")
    assert "password" not in response.json
    user = db.session.scalars(select(User).where(User.phone == "+79165551234")).one()
    assert (user.email, user.language, user.is_active, user.has_password) == ("fiona@example.test", "en", True, True)
    login = log_in(app, "+79165551234", NEW_PASSWORD)
    assert login.status_code == 200
    assert login.json["user"]["memberships"] == [{"shop_id": shop.id, "role": "florist"}]
    # The account's creation is audited with no shop (the shop would learn the phone was new);
    # the shop's log has the person's own acceptance, at their first login.
    [created] = audit_entries(None, user.id)
    assert created.action == "create" and created.actor_id == admin.user.id
    assert "password_hash" not in created.changes and NEW_PASSWORD not in json.dumps(created.changes)
    [joined] = audit_entries(shop.id, user.id)
    assert joined.action == "accept_invitation" and joined.actor_id == user.id
    assert joined.changes["role"] == [None, "florist"]


def test_invite_without_password_is_an_otp_only_account(admin):
    response = admin.post("/api/v1/users", json={"name": "Kirill", "phone": "+79165550000", "role": "courier"})

    assert response.status_code == 201
    assert db.session.scalar(select(User.password_hash).where(User.phone == "+79165550000")) is None


def test_invite_parses_the_phone_with_the_shops_country(app, login):
    berlin = ShopFactory(country="DE", timezone="Europe/Berlin")
    boss = login("admin", shop=berlin)

    response = boss.post("/api/v1/users", json={"name": "Jonas", "phone": "030 12345678", "role": "courier"})

    assert response.status_code == 201, response.json
    assert response.json["phone"] == "+493012345678"


def test_invited_staff_without_a_language_get_the_shops(admin, login):
    berlin = ShopFactory(country="DE", timezone="Europe/Berlin")
    boss = login("admin", shop=berlin)

    here = admin.post("/api/v1/users", json={"name": "Kirill", "phone": "+79165550001", "role": "courier"})
    there = boss.post("/api/v1/users", json={"name": "Jonas", "phone": "030 12345679", "role": "courier"})

    assert [here.status_code, there.status_code] == [201, 201]
    languages = [db.session.scalar(select(User.language).where(User.phone == r.json["phone"])) for r in (here, there)]
    assert languages == ["ru", "en"]


def test_invite_rejects_a_phone_that_is_not_one(admin):
    response = admin.post("/api/v1/users", json={"name": "X", "phone": "12345", "role": "courier"})

    assert response.status_code == 422
    assert "phone" in response.json["errors"]


def test_inviting_someone_from_another_shop_joins_them_on_acceptance_not_as_a_duplicate(app, admin, shop, other_shop):
    person = UserFactory(name="Olga", phone="+79165557777")
    MembershipFactory(user=person, shop=other_shop, role="manager")
    db.session.commit()
    users_before = db.session.scalar(select(func.count()).select_from(User))

    response = admin.post("/api/v1/users", json={"name": "Someone Else", "phone": "8 916 555 77 77", "role": "florist"})
    accepted = ApiClient(app, user=person).post(f"/api/v1/users/me/invitations/{response.json['id']}/accept")

    assert (response.status_code, accepted.status_code) == (201, 200)
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    assert admin.get(f"/api/v1/users/{person.id}").json["name"] == "Olga"  # the person's own account, untouched
    me = client_as(app, person, shop).get("/api/v1/auth/me").json
    assert sorted((m["shop_id"], m["role"]) for m in me["memberships"]) == sorted(
        [(shop.id, "florist"), (other_shop.id, "manager")]
    )
    [entry] = audit_entries(shop.id, person.id)
    assert (entry.action, entry.actor_id, entry.changes["role"]) == ("accept_invitation", person.id, [None, "florist"])


def test_inviting_someone_already_on_the_staff_is_409(admin, florist):
    response = admin.post("/api/v1/users", json={"name": "Again", "phone": florist.user.phone, "role": "courier"})

    assert response.status_code == 409
    assert "phone" in response.json["errors"]


def test_account_fields_given_for_an_existing_account_are_not_applied_to_it(app, admin, other_shop):
    person = MembershipFactory(shop=other_shop, role="florist").user
    db.session.commit()
    before = (person.name, person.email, person.language, person.password_hash, person.external_id)

    response = admin.post(
        "/api/v1/users",
        json={
            "name": "P",
            "phone": person.phone,
            "role": "florist",
            "password": "somebody elses",
            "email": "shop@typed.test",
            "language": "en",
            "external_id": "partner-99",
        },
    )

    assert response.status_code == 201
    db.session.refresh(person)
    assert (person.name, person.email, person.language, person.password_hash, person.external_id) == before
    assert log_in(app, person.phone, "somebody elses").status_code == 401
    assert db.session.scalar(select(func.count()).where(Membership.user_id == person.id)) == 1


def test_a_new_phone_with_a_taken_email_is_added_without_the_email(admin, manager):
    taken = manager.user.email
    response = admin.post(
        "/api/v1/users",
        json={"name": "N", "phone": "+79165551111", "role": "florist", "email": taken.upper()},
    )

    assert response.status_code == 201  # a 409 would tell that the phone is new and the e-mail has an account
    assert db.session.scalar(select(User.email).where(User.phone == "+79165551111")) is None
    assert db.session.scalar(select(User.id).where(User.email == taken)) == manager.user.id


def test_the_same_idempotency_key_replays_the_invite(admin):
    body = {"name": "Once", "phone": "+79165552222", "role": "courier"}
    headers = {"Idempotency-Key": "invite-once"}

    first = admin.post("/api/v1/users", json=body, headers=headers)
    second = admin.post("/api/v1/users", json=body, headers=headers)
    other_body = admin.post("/api/v1/users", json={**body, "name": "Twice"}, headers=headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json == first.json
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert other_body.status_code == 422
    assert db.session.scalar(select(func.count()).where(User.phone == "+79165552222")) == 1


# --- what managers may not do -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_manager_cannot_invite_admins_or_managers(manager, role):
    response = manager.post("/api/v1/users", json={"name": "Boss", "phone": "+79165553333", "role": role})

    assert response.status_code == 403
    assert db.session.scalar(select(User).where(User.phone == "+79165553333")) is None


@pytest.mark.parametrize("target_role", ["admin", "manager"])
def test_a_manager_cannot_touch_an_admin_or_another_manager(manager, member, shop, target_role):
    target, _ = member(shop, target_role)

    patched = manager.patch(f"/api/v1/users/{target.id}", json={"name": "Renamed"})
    demoted = manager.patch(f"/api/v1/users/{target.id}", json={"role": "courier"})
    deleted = manager.delete(f"/api/v1/users/{target.id}")

    assert (patched.status_code, demoted.status_code, deleted.status_code) == (403, 403, 403)
    db.session.refresh(target)
    assert target.name != "Renamed"
    assert target.memberships[0].role == target_role


@pytest.mark.parametrize("new_role", ["admin", "manager"])
def test_a_manager_cannot_promote_a_florist(manager, florist, new_role):
    response = manager.patch(f"/api/v1/users/{florist.user.id}", json={"role": new_role})

    assert response.status_code == 403
    assert "role" in response.json["errors"]


def test_a_manager_moves_a_florist_to_courier_and_the_new_role_applies_at_once(manager, florist):
    assert florist.get("/api/v1/users").status_code == 403

    response = manager.patch(f"/api/v1/users/{florist.user.id}", json={"role": "manager"})
    assert response.status_code == 403
    response = manager.patch(f"/api/v1/users/{florist.user.id}", json={"role": "courier"})

    assert response.status_code == 200
    assert response.json["role"] == "courier"


def test_an_admin_promotes_a_florist_to_manager_who_then_manages_staff(admin, florist):
    response = admin.patch(f"/api/v1/users/{florist.user.id}", json={"role": "manager"})

    assert response.status_code == 200
    assert florist.get("/api/v1/users").status_code == 200  # same token: roles are read per request


# --- the last admin -----------------------------------------------------------------------------


def test_the_last_admin_cannot_demote_themselves(admin):
    response = admin.patch(f"/api/v1/users/{admin.user.id}", json={"role": "manager"})

    assert response.status_code == 409
    assert "role" in response.json["errors"]
    assert admin.get("/api/v1/audit-log").status_code == 200


@pytest.mark.parametrize("how", ["delete", "patch"])
def test_the_last_admin_cannot_deactivate_themselves(admin, how):
    if how == "delete":
        response = admin.delete(f"/api/v1/users/{admin.user.id}")
    else:
        response = admin.patch(f"/api/v1/users/{admin.user.id}", json={"is_active": False})

    assert response.status_code == 409
    assert "is_active" in response.json["errors"]
    assert admin.get("/api/v1/auth/me").status_code == 200


def test_with_a_second_admin_an_admin_may_step_down(admin, login):
    login("admin")

    response = admin.patch(f"/api/v1/users/{admin.user.id}", json={"role": "manager"})

    assert response.status_code == 200
    assert admin.get("/api/v1/audit-log").status_code == 403


def test_a_deactivated_admin_does_not_count_as_the_other_admin(admin, login):
    gone = login("admin")
    assert admin.delete(f"/api/v1/users/{gone.user.id}").status_code == 204

    response = admin.patch(f"/api/v1/users/{admin.user.id}", json={"role": "manager"})

    assert response.status_code == 409


def test_another_shops_admins_do_not_count(admin, other_shop, member):
    member(other_shop, "admin")

    assert admin.delete(f"/api/v1/users/{admin.user.id}").status_code == 409


# --- deactivation -------------------------------------------------------------------------------


def test_deactivation_ends_the_persons_tokens_at_once_and_keeps_them_listed(app, admin, florist, shop):
    logged_in = log_in(app, florist.user.phone, TEST_PASSWORD).json
    assert florist.get("/api/v1/auth/me").status_code == 200

    response = admin.delete(f"/api/v1/users/{florist.user.id}")

    assert response.status_code == 204
    assert florist.get("/api/v1/auth/me").status_code == 401
    refresh = ApiClient(app).post("/api/v1/auth/refresh", headers=bearer(logged_in["refresh_token"]))
    assert refresh.status_code == 401
    assert log_in(app, florist.user.phone, TEST_PASSWORD).status_code == 401
    row = admin.get(f"/api/v1/users/{florist.user.id}").json
    assert row["is_active"] is False and row["deactivated_at"] is not None
    inactive = admin.get("/api/v1/users", query_string={"active": "false"}).json
    assert [person["id"] for person in inactive] == [florist.user.id]
    [entry] = [e for e in audit_entries(shop.id, florist.user.id) if e.action == "deactivate"]
    assert entry.changes == {"is_active": [True, False], "account_active": [True, False]}
    assert admin.delete(f"/api/v1/users/{florist.user.id}").status_code == 204  # again: nothing changes


def test_deactivation_in_one_shop_leaves_the_other_shop_alone(app, admin, shop, other_shop, member):
    person, in_other = member(other_shop, "manager")
    member(shop, "courier", user=person)
    in_this = client_as(app, person, shop)

    assert admin.delete(f"/api/v1/users/{person.id}").status_code == 204

    assert in_this.get("/api/v1/auth/me").status_code == 200  # the same token still works ...
    assert in_other.get("/api/v1/users").status_code == 200  # ... in the shop they still work in
    assert in_this.get("/api/v1/shops/" + str(shop.id)).status_code == 404
    assert in_this.get("/api/v1/audit-log", headers={"X-Shop-Id": str(shop.id)}).status_code == 404
    memberships = in_this.get("/api/v1/auth/me").json["memberships"]
    assert memberships == [{"shop_id": other_shop.id, "role": "manager"}]
    assert log_in(app, person.phone, TEST_PASSWORD).status_code == 200


def test_reactivation_lets_the_person_log_in_again_but_old_tokens_stay_dead(app, admin, courier):
    admin.delete(f"/api/v1/users/{courier.user.id}")

    response = admin.patch(f"/api/v1/users/{courier.user.id}", json={"is_active": True})

    assert response.status_code == 200 and response.json["is_active"] is True
    assert courier.get("/api/v1/auth/me").status_code == 401
    assert log_in(app, courier.user.phone, TEST_PASSWORD).status_code == 200


def test_inviting_a_person_deactivated_here_points_to_reactivation(admin, courier):
    admin.delete(f"/api/v1/users/{courier.user.id}")

    response = admin.post("/api/v1/users", json={"name": "C", "phone": courier.user.phone, "role": "courier"})

    assert response.status_code == 409
    assert "is_active" in response.json["errors"]["phone"][0]


def test_a_person_deactivated_everywhere_else_logs_in_to_accept_and_joins(app, admin, shop, other_shop, member):
    person, _ = member(other_shop, "florist")
    other_admin = member(other_shop, "admin")[1]
    assert other_admin.delete(f"/api/v1/users/{person.id}").status_code == 204
    assert log_in(app, person.phone, TEST_PASSWORD).status_code == 401

    response = admin.post("/api/v1/users", json={"name": "F", "phone": person.phone, "role": "florist"})
    login = log_in(app, person.phone, TEST_PASSWORD)  # they may log in again, to answer
    mine = bearer(login.json["access_token"])
    accepted = ApiClient(app).post(f"/api/v1/users/me/invitations/{response.json['id']}/accept", headers=mine)

    assert response.status_code == 201
    assert (login.status_code, login.json["user"]["memberships"]) == (200, [])
    assert accepted.status_code == 200
    assert ApiClient(app).get("/api/v1/auth/me", headers=mine).json["memberships"] == [
        {"shop_id": shop.id, "role": "florist"}
    ]


# --- details, validation, audit -----------------------------------------------------------------


def test_patch_writes_the_changed_fields_to_the_audit_log(admin, florist, shop):
    old_name, old_email = florist.user.name, florist.user.email
    response = admin.patch(
        f"/api/v1/users/{florist.user.id}",
        json={"name": "Fiona Flores", "role": "courier", "language": "ru", "email": "FIONA@example.test"},
    )

    assert response.status_code == 200
    assert (response.json["name"], response.json["email"]) == ("Fiona Flores", "fiona@example.test")
    log = admin.get("/api/v1/audit-log", query_string={"entity": "user", "entity_id": florist.user.id}).json
    assert len(log) == 1
    assert log[0]["actor_id"] == admin.user.id and log[0]["action"] == "update"
    assert log[0]["changes"] == {
        "name": [old_name, "Fiona Flores"],
        "email": [old_email, "fiona@example.test"],
        "role": ["florist", "courier"],
    }  # language was already ru: unchanged fields are not listed


def test_a_patch_that_changes_nothing_writes_no_audit_entry(admin, florist, shop):
    assert admin.patch(f"/api/v1/users/{florist.user.id}", json={"name": florist.user.name}).status_code == 200
    assert audit_entries(shop.id, florist.user.id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"role": "boss"}, "role"),
        ({"language": "de"}, "language"),
        ({"name": ""}, "name"),
        ({"name": "Nul\x00Byte"}, "name"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"phone": "+79160000000"}, "phone"),  # not changeable here: it is how the person logs in
    ],
)
def test_patch_validation_errors_name_the_field(admin, florist, body, field):
    response = admin.patch(f"/api/v1/users/{florist.user.id}", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_patch_with_someone_elses_email_is_409_naming_email(admin, florist, manager):
    response = admin.patch(f"/api/v1/users/{florist.user.id}", json={"email": manager.user.email})

    assert response.status_code == 409
    assert "email" in response.json["errors"]


def test_an_unknown_id_is_404(admin):
    assert admin.get("/api/v1/users/999999").status_code == 404
    assert admin.patch("/api/v1/users/999999", json={"name": "x"}).status_code == 404


# --- the list -----------------------------------------------------------------------------------


def test_list_filters_by_role_active_and_text(admin, shop, other_shop, member):
    anna, _ = member(shop, "florist", name="Anna Petrova", email="anna@roses.test", phone="+79031234567")
    member(shop, "courier", name="Boris")
    gone, _ = member(shop, "florist", name="Gone Florist")
    member(other_shop, "florist", name="Anna Elsewhere")
    admin.delete(f"/api/v1/users/{gone.id}")

    def names(**query):
        response = admin.get("/api/v1/users", query_string=query)
        assert response.status_code == 200
        return sorted(person["name"] for person in response.json)

    assert names(role="florist") == ["Anna Petrova", "Gone Florist"]
    assert names(role="florist", active="true") == ["Anna Petrova"]
    assert names(active="false") == ["Gone Florist"]
    assert names(q="anna") == ["Anna Petrova"]
    assert names(q="ROSES.test") == ["Anna Petrova"]
    assert names(q="903 123") == ["Anna Petrova"]
    assert names(q="Boris 5") == []  # words with a digit are not a phone search
    assert names(q="%") == []
    assert admin.get("/api/v1/users", query_string={"role": "boss"}).status_code == 422
    assert admin.get("/api/v1/users", query_string={"q": "a\x00b"}).status_code == 422


def test_list_runs_the_same_statements_for_5_and_50_people(admin, shop, count_queries):
    for _ in range(60):
        MembershipFactory(shop=shop, role="florist")
    db.session.commit()

    db.session.expire_all()  # each request starts cold, as in production
    with count_queries() as small:
        five = admin.get("/api/v1/users", query_string={"page_size": 5})
    db.session.expire_all()
    with count_queries() as large:
        fifty = admin.get("/api/v1/users", query_string={"page_size": 50, "page": 1})

    assert (len(five.json), len(fifty.json)) == (5, 50)
    assert json.loads(fifty.headers["X-Pagination"])["total"] == 61
    assert len(small) == len(large)
    assert len(large) <= 6


# --- my own account -----------------------------------------------------------------------------


def test_anyone_updates_their_own_name_language_and_telegram_chat(courier, shop):
    response = courier.patch(
        "/api/v1/users/me", json={"name": "Kirill K.", "language": "en", "telegram_chat_id": "123456789"}
    )

    assert response.status_code == 200
    assert (response.json["name"], response.json["language"], response.json["telegram_chat_id"]) == (
        "Kirill K.",
        "en",
        "123456789",
    )
    [entry] = audit_entries(shop.id, courier.user.id)
    assert entry.action == "update_self" and entry.changes["telegram_chat_id"] == [None, "123456789"]
    assert courier.patch("/api/v1/users/me", json={"telegram_chat_id": None}).json["telegram_chat_id"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"telegram_chat_id": "@kirill"}, "telegram_chat_id"),
        ({"language": "xx"}, "language"),
        ({"role": "admin"}, "role"),
        ({"is_active": True}, "is_active"),
    ],
)
def test_my_own_account_rejects_what_is_not_mine_to_change(courier, body, field):
    response = courier.patch("/api/v1/users/me", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_password_change_ends_other_sessions_and_returns_a_working_pair(app, florist, shop):
    other_login = log_in(app, florist.user.phone, TEST_PASSWORD).json

    response = florist.post(
        "/api/v1/users/me/password", json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200, response.json
    pair = response.json
    assert florist.get("/api/v1/auth/me").status_code == 401
    assert ApiClient(app).get("/api/v1/auth/me", headers=bearer(other_login["access_token"])).status_code == 401
    old_refresh = ApiClient(app).post("/api/v1/auth/refresh", headers=bearer(other_login["refresh_token"]))
    assert old_refresh.status_code == 401
    assert ApiClient(app).get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 200
    refreshed = ApiClient(app).post("/api/v1/auth/refresh", headers=bearer(pair["refresh_token"]))
    assert refreshed.status_code == 200
    assert log_in(app, florist.user.phone, TEST_PASSWORD).status_code == 401
    assert log_in(app, florist.user.phone, NEW_PASSWORD).status_code == 200
    [entry] = audit_entries(shop.id, florist.user.id)
    assert entry.action == "change_password" and entry.changes == {"password": ["***", "***"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": "not my password", "new_password": NEW_PASSWORD}, "current_password"),
    ],
)
def test_password_change_needs_the_current_password(florist, body, field):
    response = florist.post("/api/v1/users/me/password", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]
    assert florist.get("/api/v1/auth/me").status_code == 200  # nothing ended


def test_a_new_password_has_at_least_8_characters(florist):
    response = florist.post(
        "/api/v1/users/me/password", json={"current_password": TEST_PASSWORD, "new_password": "short"}
    )

    assert response.status_code == 422
    assert "new_password" in response.json["errors"]["json"]


def test_staff_without_a_password_set_their_first_one_without_a_current_one(app, login):
    courier = login("courier", password_hash=None)

    response = courier.post("/api/v1/users/me/password", json={"new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert log_in(app, courier.user.phone, NEW_PASSWORD).status_code == 200


# --- the identity service's id ------------------------------------------------------------------


def test_an_admin_links_a_new_person_to_the_identity_service_and_they_can_exchange(app, admin, shop, monkeypatch):
    partner_secret = "partner-shared-secret-at-least-32-characters"
    for key, value in {
        "EXTERNAL_JWT_ISSUER": "https://id.partner.test",
        "EXTERNAL_JWT_ALGORITHM": "HS256",
        "EXTERNAL_JWT_SECRET": partner_secret,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    response = admin.post(
        "/api/v1/users",
        json={"name": "Pavel", "phone": "+79165554401", "role": "courier", "external_id": "partner-7"},
    )

    assert response.status_code == 201, response.json
    user_id = db.session.scalar(select(User.id).where(User.phone == "+79165554401"))
    [entry] = audit_entries(None, user_id)
    assert entry.changes["external_id"] == [None, "partner-7"]
    now = int(time.time())
    claims = {"iss": "https://id.partner.test", "sub": "partner-7", "iat": now, "exp": now + 60}
    exchanged = ApiClient(app).post(
        "/api/v1/auth/exchange", headers=bearer(jwt.encode(claims, partner_secret, algorithm="HS256"))
    )
    assert exchanged.status_code == 200, exchanged.json
    assert exchanged.json["user"]["id"] == user_id
    # Their first login, by exchange, was their answer: they are on the staff with the link.
    assert exchanged.json["user"]["memberships"] == [{"shop_id": shop.id, "role": "courier"}]
    assert admin.get(f"/api/v1/users/{user_id}").json["external_id"] == "partner-7"


def test_an_admin_changes_and_unlinks_the_external_id_and_it_is_audited(admin, florist, shop):
    linked = admin.patch(f"/api/v1/users/{florist.user.id}", json={"external_id": "partner-8"})
    unlinked = admin.patch(f"/api/v1/users/{florist.user.id}", json={"external_id": None})

    assert (linked.status_code, unlinked.status_code) == (200, 200)
    assert (linked.json["external_id"], unlinked.json["external_id"]) == ("partner-8", None)
    changes = [entry.changes for entry in audit_entries(shop.id, florist.user.id)]
    assert changes == [{"external_id": [None, "partner-8"]}, {"external_id": ["partner-8", None]}]


def test_a_manager_may_not_set_an_external_id_nor_see_one(manager, florist):
    florist.user.external_id = "partner-9"
    db.session.commit()

    invited = manager.post(
        "/api/v1/users", json={"name": "Q", "phone": "+79165554402", "role": "courier", "external_id": "mine"}
    )
    patched = manager.patch(f"/api/v1/users/{florist.user.id}", json={"external_id": "mine"})
    seen = manager.get(f"/api/v1/users/{florist.user.id}")

    assert (invited.status_code, patched.status_code) == (403, 403)
    assert "external_id" in invited.json["errors"] and "external_id" in patched.json["errors"]
    assert db.session.scalar(select(User).where(User.phone == "+79165554402")) is None
    db.session.refresh(florist.user)
    assert florist.user.external_id == "partner-9"
    assert seen.status_code == 200 and "external_id" not in seen.json
    assert all("external_id" not in person for person in manager.get("/api/v1/users").json)


def test_an_external_id_taken_by_another_account_is_409_naming_it_or_left_off_a_new_phone(admin, florist, other_shop):
    elsewhere = MembershipFactory(shop=other_shop, role="courier").user
    elsewhere.external_id = "partner-10"
    db.session.commit()

    patched = admin.patch(f"/api/v1/users/{florist.user.id}", json={"external_id": "partner-10"})
    invited = admin.post(
        "/api/v1/users", json={"name": "R", "phone": "+79165554403", "role": "courier", "external_id": "partner-10"}
    )

    assert (patched.status_code, invited.status_code) == (409, 201)
    assert "external_id" in patched.json["errors"]
    db.session.refresh(florist.user)
    assert florist.user.external_id is None
    # For a new phone a 409 would tell that the phone is new and the id has an account: it is left off.
    assert db.session.scalar(select(User.external_id).where(User.phone == "+79165554403")) is None


@pytest.mark.parametrize("external_id", ["", "x" * 129, "a\x00b"])
def test_an_external_id_that_is_not_one_is_422(admin, florist, external_id):
    response = admin.patch(f"/api/v1/users/{florist.user.id}", json={"external_id": external_id})

    assert response.status_code == 422
    assert "external_id" in response.json["errors"]["json"]


# --- a person who works in several shops ----------------------------------------------------------


def test_a_person_of_another_shop_once_joined_shows_neither_their_email_nor_their_login(app, admin, shop, other_shop):
    person = UserFactory(name="Olga", phone="+79165557788", email="olga@elsewhere.test", external_id="partner-11")
    MembershipFactory(user=person, shop=other_shop, role="admin")
    db.session.commit()

    response = admin.post("/api/v1/users", json={"name": "Typed Name", "phone": person.phone, "role": "courier"})
    ApiClient(app, user=person).post(f"/api/v1/users/me/invitations/{response.json['id']}/accept")

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["phone"], body["role"], body["name"]) == (person.phone, "courier", "Typed Name")
    assert "olga@elsewhere.test" not in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.name == "Olga"  # the name the inviter typed is not written over theirs
    for view in (
        admin.get(f"/api/v1/users/{person.id}").json,
        admin.get("/api/v1/users", query_string={"q": "Olga"}).json[0],
    ):
        assert (view["email"], view["has_password"]) == (None, None)


def test_a_person_only_of_this_shop_shows_their_email_and_login(admin, florist):
    body = admin.get(f"/api/v1/users/{florist.user.id}").json

    assert (body["email"], body["has_password"]) == (florist.user.email, True)


@pytest.mark.parametrize(
    "body",
    [{"name": "Renamed"}, {"email": "new@mine.test"}, {"language": "en"}, {"external_id": "partner-12"}],
)
def test_a_shop_cannot_change_the_account_of_a_person_who_also_works_elsewhere(admin, shop, other_shop, member, body):
    person, _ = member(other_shop, "admin", language="ru")
    member(shop, "florist", user=person)
    before = (person.name, person.email, person.language, person.external_id)

    response = admin.patch(f"/api/v1/users/{person.id}", json=body)

    assert response.status_code == 409
    [field] = body
    assert "PATCH /users/me" in response.json["errors"][field][0]
    assert "другом магазине" in response.json["message"]
    db.session.refresh(person)
    assert (person.name, person.email, person.language, person.external_id) == before
    assert audit_entries(shop.id, person.id) == []


def test_the_shop_still_changes_their_role_here_and_they_rename_themselves(app, admin, shop, other_shop, member):
    person, in_other = member(other_shop, "admin")
    member(shop, "florist", user=person)

    moved = admin.patch(f"/api/v1/users/{person.id}", json={"role": "courier", "name": person.name})
    renamed = in_other.patch("/api/v1/users/me", json={"name": "Their Own Name"})

    assert moved.status_code == 200 and moved.json["role"] == "courier"
    assert renamed.status_code == 200
    assert admin.get(f"/api/v1/users/{person.id}").json["name"] == "Their Own Name"


def test_once_they_leave_the_other_shop_this_shop_may_change_their_details(admin, shop, other_shop, member):
    person, _ = member(other_shop, "florist")
    member(shop, "florist", user=person)
    other_admin = member(other_shop, "admin")[1]
    assert other_admin.delete(f"/api/v1/users/{person.id}").status_code == 204

    response = admin.patch(f"/api/v1/users/{person.id}", json={"name": "Only Ours Now"})

    assert response.status_code == 200
    assert (response.json["name"], response.json["email"]) == ("Only Ours Now", person.email)
