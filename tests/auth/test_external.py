"""Tokens of a trusted identity service, traded at /auth/exchange for our own pair; off by default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.config import BaseConfig, ConfigError
from app.extensions import db
from tests.auth.conftest import EXCHANGE, ME, REFRESH, bearer
from tests.factories import UserFactory

ISSUER = "https://id.partner.example"
SHARED_SECRET = "partner-shared-secret-long-enough-for-hs256-and-even-for-hs512-000"


def _rsa_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


PARTNER_KEY, PARTNER_PUBLIC_PEM = _rsa_pair()
STRANGER_KEY, _ = _rsa_pair()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides) -> dict:
    claims = {"iss": ISSUER, "sub": "partner-user-42", "exp": int(time.time()) + 300, "iat": int(time.time())}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def partner_user():
    user = UserFactory(external_id="partner-user-42")
    db.session.commit()
    return user


@pytest.fixture
def hs256(app, monkeypatch):
    for key, value in {
        "EXTERNAL_JWT_ISSUER": ISSUER,
        "EXTERNAL_JWT_ALGORITHM": "HS256",
        "EXTERNAL_JWT_SECRET": SHARED_SECRET,
    }.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def rs256(app, monkeypatch):
    for key, value in {
        "EXTERNAL_JWT_ISSUER": ISSUER,
        "EXTERNAL_JWT_ALGORITHM": "RS256",
        "EXTERNAL_JWT_PUBLIC_KEY": PARTNER_PUBLIC_PEM,
    }.items():
        monkeypatch.setitem(app.config, key, value)


def test_exchange_is_off_by_default(http, partner_user):
    token = jwt.encode(_claims(), SHARED_SECRET, algorithm="HS256")

    response = http.post(EXCHANGE, headers=bearer(token))

    assert response.status_code == 404
    assert response.json["message"] == "Trusted identity service tokens are not enabled."


def test_hs256_identity_token_is_traded_for_our_own_working_pair(http, hs256, partner_user):
    token = jwt.encode(_claims(), SHARED_SECRET, algorithm="HS256")

    response = http.post(EXCHANGE, headers=bearer(token))

    assert response.status_code == 200
    pair = response.json
    assert pair["user"]["id"] == partner_user.id
    assert http.get(ME, headers=bearer(pair["access_token"])).json["id"] == partner_user.id
    assert http.post(REFRESH, headers=bearer(pair["refresh_token"])).status_code == 200
    # The partner's own token is not one of ours.
    assert http.get(ME, headers=bearer(token)).status_code == 401


def test_rs256_identity_token_is_traded_for_our_pair(http, rs256, partner_user):
    token = jwt.encode(_claims(), PARTNER_KEY, algorithm="RS256")

    response = http.post(EXCHANGE, headers=bearer(token))

    assert response.status_code == 200
    assert response.json["user"]["id"] == partner_user.id


def test_user_claim_is_configurable(app, http, hs256, partner_user, monkeypatch):
    monkeypatch.setitem(app.config, "EXTERNAL_JWT_USER_CLAIM", "uid")
    token = jwt.encode(_claims(sub="someone-else", uid="partner-user-42"), SHARED_SECRET, algorithm="HS256")

    assert http.post(EXCHANGE, headers=bearer(token)).json["user"]["id"] == partner_user.id


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: jwt.encode(_claims(), "some-other-secret-of-at-least-32-chars", "HS256"), id="wrong-key"),
        pytest.param(lambda: jwt.encode(_claims(exp=int(time.time()) - 600), SHARED_SECRET, "HS256"), id="expired"),
        pytest.param(lambda: jwt.encode(_claims(exp=None), SHARED_SECRET, "HS256"), id="no-exp"),
        pytest.param(lambda: jwt.encode(_claims(iss="https://evil.example"), SHARED_SECRET, "HS256"), id="wrong-iss"),
        pytest.param(lambda: jwt.encode(_claims(sub="nobody"), SHARED_SECRET, "HS256"), id="unknown-user"),
        pytest.param(lambda: jwt.encode(_claims(), SHARED_SECRET, "HS512"), id="other-algorithm"),
        pytest.param(lambda: jwt.encode(_claims(), None, "none"), id="alg-none"),
        pytest.param(lambda: "not-a-token", id="garbage"),
        pytest.param(lambda: "", id="no-token"),
    ],
)
def test_bad_identity_tokens_are_401(http, hs256, partner_user, token):
    response = http.post(EXCHANGE, headers=bearer(token()) if token() else {})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_deactivated_users_identity_token_is_401(http, hs256, partner_user):
    partner_user.is_active = False
    db.session.commit()

    response = http.post(EXCHANGE, headers=bearer(jwt.encode(_claims(), SHARED_SECRET, algorithm="HS256")))

    assert response.status_code == 401


def test_rs256_rejects_another_key_and_the_public_key_used_as_an_hmac_secret(http, rs256, partner_user):
    stranger = jwt.encode(_claims(), STRANGER_KEY, algorithm="RS256")
    # The classic confusion attack: HS256 "signed" with the public key, which everyone has.
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(_claims())}"
    mac = hmac.new(PARTNER_PUBLIC_PEM.encode(), signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    assert http.post(EXCHANGE, headers=bearer(stranger)).status_code == 401
    assert http.post(EXCHANGE, headers=bearer(confused)).status_code == 401


def test_audience_is_checked_when_configured(app, http, hs256, partner_user, monkeypatch):
    monkeypatch.setitem(app.config, "EXTERNAL_JWT_AUDIENCE", "flower-crm")

    ours = jwt.encode(_claims(aud="flower-crm"), SHARED_SECRET, algorithm="HS256")
    theirs = jwt.encode(_claims(aud="another-app"), SHARED_SECRET, algorithm="HS256")
    none = jwt.encode(_claims(), SHARED_SECRET, algorithm="HS256")

    assert http.post(EXCHANGE, headers=bearer(ours)).status_code == 200
    assert http.post(EXCHANGE, headers=bearer(theirs)).status_code == 401
    assert http.post(EXCHANGE, headers=bearer(none)).status_code == 401


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"EXTERNAL_JWT_ALGORITHM": "none"}, "HS256 or RS256"),
        ({"EXTERNAL_JWT_ALGORITHM": "HS256", "EXTERNAL_JWT_SECRET": "short"}, "EXTERNAL_JWT_SECRET"),
        ({"EXTERNAL_JWT_ALGORITHM": "RS256", "EXTERNAL_JWT_PUBLIC_KEY": ""}, "EXTERNAL_JWT_PUBLIC_KEY"),
    ],
)
def test_a_half_configured_identity_service_refuses_to_start(monkeypatch, settings, problem):
    monkeypatch.setenv("EXTERNAL_JWT_ISSUER", ISSUER)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=problem):
        BaseConfig().validate()


def test_public_key_may_be_given_on_one_line(monkeypatch):
    monkeypatch.setenv("EXTERNAL_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("EXTERNAL_JWT_PUBLIC_KEY", PARTNER_PUBLIC_PEM.replace("\n", "\\n"))

    config = BaseConfig()
    config.validate()

    assert config.EXTERNAL_JWT_PUBLIC_KEY == PARTNER_PUBLIC_PEM
