"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL with TEST_DATABASE_URL), the app,
its client and CLI runner, and a demo site seeded once per session for read-only tests."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from directory import create_app
from directory.cli import init_database
from directory.extensions import db

PG_ENV = "TEST_DATABASE_URL"
SECRET = "test-secret-key-" + "x" * 32
# A fixed moment for tests that need a controlled clock (a Tuesday, 10:00 in Seattle).
FIXED_NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def pytest_collection_modifyitems(items):
    """Every test that touches a database is marked `db`, so CI can run them again on PostgreSQL."""
    db_fixtures = {"database_url", "databases", "demo_database_url", "app", "client", "runner", "session"}
    db_fixtures |= {"demo_app", "demo_client"}
    for item in items:
        if db_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


class DatabaseFactory:
    """Hands out fresh, migrated databases cheaply: copies of one migrated template."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.pg_url = os.environ.get(PG_ENV)
        self.created: list[str] = []
        self.templates: dict[str, str] = {}

    @property
    def is_postgres(self) -> bool:
        return bool(self.pg_url)

    @contextmanager
    def _admin(self):
        """An autocommit connection to the server's maintenance database, closed after use."""
        engine = create_engine(make_url(self.pg_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _new_name(self) -> str:
        return "lead_test_" + uuid.uuid4().hex[:12]

    def template(self, name: str, build) -> str:
        """Return the URL of a template database built once by build(url)."""
        if name in self.templates:
            return self.templates[name]
        if self.is_postgres:
            db_name = self._new_name()
            with self._admin() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            self.created.append(db_name)
            url = make_url(self.pg_url).set(database=db_name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        build(url)
        if self.is_postgres:
            # Connections to a template must be closed before CREATE DATABASE ... TEMPLATE.
            with self._admin() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": make_url(url).database},
                )
        self.templates[name] = url
        return url

    def copy(self, template_url: str) -> str:
        """A fresh database with the template's content."""
        if self.is_postgres:
            db_name = self._new_name()
            source = make_url(template_url).database
            with self._admin() as conn:
                # A read-only app on the template (demo_app) may hold pooled connections; PostgreSQL copies
                # only a database nobody is connected to. Those apps ping before use and reconnect.
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": source},
                )
                conn.execute(text(f'CREATE DATABASE "{db_name}" TEMPLATE "{source}"'))
            self.created.append(db_name)
            return make_url(self.pg_url).set(database=db_name).render_as_string(hide_password=False)
        source = Path(make_url(template_url).database)
        target = self.tmp / f"db_{uuid.uuid4().hex[:12]}.sqlite3"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"

    def drop_all(self) -> None:
        if not self.is_postgres:
            return
        with self._admin() as conn:
            for name in reversed(self.created):
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


_APPS_MADE: list = []  # apps made during the current test, whose pools are closed when it ends


@pytest.fixture(autouse=True)
def _close_pools_of_apps_made_in_the_test():
    """Close the connection pools of every app a test made. A pool left open is closed by the garbage
    collector at some later moment, and psycopg then warns inside whichever test happens to be running."""
    yield
    while _APPS_MADE:
        made = _APPS_MADE.pop()
        with made.app_context():
            db.session.remove()
            db.engine.dispose()


def make_app(url: str, **overrides):
    """An app on the given database, in testing mode (its pool is closed when the test ends)."""
    config = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "TESTING": True,
        "SCHEDULER": "off",
        "GEOCODER": "offline",
        # Form tests post without tokens; the CSRF tests turn it back on.
        "WTF_CSRF_ENABLED": False,
    }
    if url.startswith("postgresql"):
        # Keys of a PostgreSQL test database in memory (one store per database), not in instance/.
        config["KEY_STORE_URL"] = "sqlite://"
    config.update(overrides)
    application = create_app(config)
    _APPS_MADE.append(application)
    return application


def _migrate(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        init_database()
        db.session.remove()
        db.engine.dispose()


def _seed_demo(url: str) -> None:
    from directory import demo

    app = make_app(url)
    with app.app_context():
        init_database()
        demo.seed(db.session, app.config["SITE"], services=300, seed=7, now=FIXED_NOW)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[DatabaseFactory]:
    """The per-session database factory."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture
def database_url(databases: DatabaseFactory) -> str:
    """A fresh database with the schema and reference data, for one test."""
    return databases.copy(databases.template("migrated", _migrate))


@pytest.fixture
def app(database_url: str):
    """The app on a fresh database, with a fixed clock."""
    application = make_app(database_url, CLOCK=lambda: FIXED_NOW)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """An HTTP client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The database session inside an app context."""
    with app.app_context():
        yield db.session


@pytest.fixture(scope="session")
def demo_database_url(databases: DatabaseFactory) -> str:
    """A database holding the demo site seeded at FIXED_NOW (built once; copy before writing)."""
    return databases.template("demo", _seed_demo)


@pytest.fixture(scope="session")
def demo_app(demo_database_url: str):
    """An app on the shared demo database: read-only tests only."""
    application = make_app(demo_database_url, CLOCK=lambda: FIXED_NOW)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_client(demo_app):
    """An HTTP client on the shared demo site."""
    return demo_app.test_client()
