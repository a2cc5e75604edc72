"""WSGI entry point of the events service (`make events`): the live event stream, under gunicorn's gevent worker."""

from app import create_app
from app.config import exit_on_config_error
from app.events.stream import serve_stream_only

app = serve_stream_only(exit_on_config_error(create_app))
