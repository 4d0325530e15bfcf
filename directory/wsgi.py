"""WSGI entry point for production servers: gunicorn "directory.wsgi:app"."""

from . import create_app
from .config import refuse_demo_users
from .logs import configure_logging

configure_logging()
app = create_app()
refuse_demo_users(app)
