"""`message` speaks the caller's language: their own, else Accept-Language's, else English; `errors` never changes.

A user's language itself defaults to their shop's (Russian in Russian-speaking countries), so a person the shop
adds without choosing one reads its language.
"""

from __future__ import annotations

import io

import pytest

from app.errors import ConflictError
from app.extensions import db
from tests.factories import ShopFactory
from tests.helpers import ApiClient
from tests.production.workshop import DELIVERIES, delivery_in

LOGIN = "/api/v1/auth/login"
RU_STEP = (
    "Доставка в статусе «готов», перевести её в «доставлен» сейчас нельзя; обновите её, чтобы увидеть следующий шаг."
)
EN_STEP = "The delivery is “ready”, so it cannot become “delivered” now; reload it to see its next step."
RU_INVALID = "Некоторые поля заполнены неверно; исправьте поля, перечисленные в errors, и отправьте снова."
EN_INVALID = "Some fields are not valid; correct the ones named in errors and send again."


def courier_speaking(as_role, language: str):
    courier = as_role("courier")
    courier.user.language = language
    db.session.commit()
    return courier


@pytest.mark.parametrize(("language", "step", "invalid"), [("ru", RU_STEP, RU_INVALID), ("en", EN_STEP, EN_INVALID)])
def test_a_courier_reads_step_conflicts_and_validation_errors_in_their_language(
    front, as_role, error_body, language, step, invalid
):
    courier = courier_speaking(as_role, language)
    order_id = delivery_in(front, "ready", courier)

    # Delivered before being picked up; the app says otherwise in its Accept-Language: the user's own wins.
    not_yet = courier.post(
        f"{DELIVERIES}/{order_id}/deliver", json={}, headers={"Accept-Language": "de, en;q=0.5, ru;q=0.1"}
    )
    body = error_body(not_yet, 409)
    assert body["message"] == step
    assert body["errors"]["status"] == {"from": "ready", "to": "delivered", "allowed": ["out_for_delivery"]}

    garbled = courier.post(f"{DELIVERIES}/{order_id}/deliver", json={"amount_collected": "a lot"})
    body = error_body(garbled, 422)
    assert body["message"] == invalid
    assert body["errors"] == {"json": {"amount_collected": ["Not a valid number."]}}


def test_the_machine_readable_errors_are_the_same_in_both_languages(front, as_role):
    ru, en = courier_speaking(as_role, "ru"), courier_speaking(as_role, "en")
    order_id = delivery_in(front, "ready", ru)
    answers = [c.post(f"{DELIVERIES}/{order_id}/deliver", json={"completed_at": "soon"}) for c in (ru, en)]

    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json["errors"] == answers[1].json["errors"] != {}
    assert answers[0].json["message"] != answers[1].json["message"]


@pytest.mark.parametrize(
    ("country", "phone", "expected"),
    [("RU", "+79165550101", "Доставка не найдена."), ("FR", "+33612345678", "Delivery not found.")],
)
def test_a_person_added_without_a_language_reads_their_shops(app, login, country, phone, expected, error_body):
    shop = ShopFactory(country=country)
    admin = login("admin", shop=shop, language="en" if country == "RU" else "ru")  # the admin's own is theirs
    new_person = {"phone": phone, "name": "New Courier", "role": "courier", "password": "first-login-pass"}
    assert admin.post("/api/v1/users", json=new_person).status_code == 201
    added = ApiClient(app, shop_id=shop.id)
    # Their first login accepts the shop's invitation: from then on they act in it.
    logged_in = added.post(LOGIN, json={"login": phone, "password": "first-login-pass"})
    assert logged_in.status_code == 200, logged_in.json
    added.token = logged_in.json["access_token"]

    assert error_body(added.get(f"{DELIVERIES}/999999"), 404)["message"] == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "Неверный телефон, e-mail или пароль."),
        ("en-GB,en;q=0.9", "Wrong phone, e-mail or password."),
        ("de-DE", "Wrong phone, e-mail or password."),  # neither: English
        (None, "Wrong phone, e-mail or password."),
    ],
)
def test_anonymous_callers_read_their_accept_language(client, error_body, accept, expected):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.post(LOGIN, json={"login": "nobody@example.test", "password": "guess-again"}, headers=headers)

    assert error_body(response, 401)["message"] == expected


RUSSIAN = {"Accept-Language": "ru"}


def test_the_code_request_answers_in_the_callers_language(client):
    asked = client.post("/api/v1/auth/otp/request", json={"phone": "+79165550199"}, headers=RUSSIAN)

    assert asked.status_code == 202
    assert asked.json == {"message": "Если этот телефон принадлежит сотруднику, код уже в пути."}


def test_framework_errors_speak_russian_too(app, client, error_body):
    said = {
        "401 from JWT": error_body(client.get("/api/v1/auth/me", headers=RUSSIAN), 401)["message"],
        "404": error_body(client.get("/api/v1/no-such-thing", headers=RUSSIAN), 404)["message"],
        "405": error_body(client.get(LOGIN, headers=RUSSIAN), 405)["message"],
        "422 from webargs": error_body(client.post(LOGIN, json={"login": "a"}, headers=RUSSIAN), 422)["message"],
        "413": error_body(
            client.post(
                LOGIN,
                data=b"{" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"}",
                content_type="application/json",
                headers=RUSSIAN,
            ),
            413,
        )["message"],
    }

    assert said == {
        "401 from JWT": "Нужен вход: отправьте токен доступа (Bearer).",
        "404": "По этому адресу ничего нет; проверьте адрес.",
        "405": "Этот адрес не принимает такой метод; допустимые перечислены в заголовке Allow.",
        "422 from webargs": RU_INVALID,
        "413": "Запрос слишком большой; отправьте поменьше.",
    }
    # The default sentences of werkzeug and flask-smorest are gone in English as well.
    english = client.post(LOGIN, json={"login": "a"}).json["message"]
    assert english == EN_INVALID and "well-formed" not in english


def test_the_rate_limit_answers_in_russian(client, error_body, monkeypatch, app):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "1 per minute")
    client.post(LOGIN, json={"login": "nobody@example.test", "password": "guess-again"})

    refused = client.post(LOGIN, json={"login": "nobody@example.test", "password": "guess-again"}, headers=RUSSIAN)
    assert error_body(refused, 429)["message"] == "Слишком много попыток; подождите, прежде чем пробовать снова."


def test_an_unsupported_upload_is_refused_in_the_users_language(front, as_role, error_body, tmp_media):
    courier = courier_speaking(as_role, "ru")
    order_id = delivery_in(front, "out_for_delivery", courier)

    response = courier.put(
        f"{DELIVERIES}/{order_id}/photo",
        data={"photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "door.jpg")},
        content_type="multipart/form-data",
    )
    body = error_body(response, 415)
    assert body["message"] == "Это не изображение; загрузите JPEG, PNG, WEBP."
    assert body["errors"] == {"photo": ["Not a JPEG, PNG or WebP image."]}


@pytest.mark.committed  # the rolled-back tests share one session bound to the live database
def test_a_database_outage_is_said_in_the_callers_language(dead_db_app, error_body):
    response = dead_db_app.test_client().post(
        LOGIN, json={"login": "+79160000001", "password": "x" * 8}, headers=RUSSIAN
    )

    assert error_body(response, 503)["message"] == "База данных недоступна; повторите чуть позже."


def test_an_error_kept_in_the_database_or_a_log_reads_as_english_with_its_values():
    gone = ConflictError(
        "No {channel} address is known for this recipient any more; add one, then retry.", params={"channel": "email"}
    )

    assert str(gone) == "No e-mail address is known for this recipient any more; add one, then retry."
