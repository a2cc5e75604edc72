"""Standard Webhooks signatures, and the endpoint secrets kept encrypted at rest.

The secrets are stored as Fernet tokens under a key derived (HKDF-SHA256) from SECRET_KEY: a copy of the
database alone does not give them away. Changing SECRET_KEY therefore orphans them; rotate each endpoint's
secret afterwards (docs/clients.md, "Webhooks").
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_KEY_INFO = b"flower-crm webhook endpoint secrets v1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        current_app.config["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the endpoint's secret cannot be read with this SECRET_KEY; rotate it") from None


def signature_header(secrets_in_use: list[str], *, msg_id: str, timestamp: datetime, body: bytes) -> str:
    """`webhook-signature`: one `v1,<base64>` per secret in use, space-separated (the spec's rotation form)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_in_use)
