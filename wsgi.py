"""WSGI entry point for gunicorn and the flask CLI."""

from app import create_app
from app.config import exit_on_config_error

app = exit_on_config_error(create_app)
