"""The API docs' JavaScript and CSS, served from the app: /docs and /redoc work with no outside network."""

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, send_from_directory

SWAGGER_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
REDOC_DIR = Path(__file__).resolve().parent.parent / "static" / "redoc"

assets = Blueprint("assets", __name__, url_prefix="/_assets")


@assets.get("/swagger-ui/<path:filename>")
def swagger_ui(filename: str):
    return send_from_directory(SWAGGER_DIST, filename, max_age=86400)


@assets.get("/redoc/<path:filename>")
def redoc(filename: str):
    return send_from_directory(REDOC_DIR, filename, max_age=86400)
