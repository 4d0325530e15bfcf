"""Alembic environment: runs on the connection handed over by directory.migrate (batch mode for SQLite)."""

from alembic import context

from directory import models  # noqa: F401 - registers every table on the metadata
from directory.extensions import db
from directory.types import UTCDateTime

config = context.config
target_metadata = db.metadata


def render_item(type_, obj, _autogen_context):
    """Render our UTC type as the plain column type it stores, so migrations need no app import."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    """Run migrations on the connection in config.attributes (set by directory.migrate)."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER constraints: Alembic copies the table instead
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
