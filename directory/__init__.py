"""The LEAD resource directory: create_app() builds the Flask application, with no side effects."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import (
    PROJECT_ROOT,
    check_production,
    defaults,
    development_secret_key,
    from_environment,
    load_site,
)
from .extensions import csrf, db, login_manager


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app: config, extensions, blueprints, error handlers and CLI. Starts nothing."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    """Load defaults, then instance/config.py, then the environment, then test overrides."""
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    production = app.config["DIRECTORY_ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            check_production(app.config)
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SECRET_KEY"] = development_secret_key(app.instance_path)
    check_production(app.config)
    if app.config.get("SCHEDULER") is None:
        app.config["SCHEDULER"] = "off" if production else "on"
    app.config["SESSION_COOKIE_SECURE"] = production
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        # A relative SQLite path is taken relative to the project, not the working directory.
        url = "sqlite:///" + str(PROJECT_ROOT / url.removeprefix("sqlite:///"))
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    engine_options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("pool_pre_ping", True)
    if url.startswith("sqlite"):
        from .database import WriteLockedConnection

        engine_options.setdefault(
            "connect_args",
            {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000, "factory": WriteLockedConnection},
        )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    app.config["SITE"] = load_site(app.config["SITE_CONFIG"])


def register_extensions(app: Flask) -> None:
    """Bind the extensions and set up the database connection behaviour."""
    from . import auth  # noqa: F401 - registers the user loader
    from .database import configure_engine

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    from sqlalchemy.orm import Session

    from .domain import listing, rollups

    with app.app_context():
        configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
        register_key_store(app)
    listing.install(Session)  # keyword index follows every flush, whatever session does it
    # The audit's daily tallies follow every referral write, in the same flush, cut at the site's midnight.
    rollups.install(getattr(app.config.get("SITE"), "time_zone", None) or "UTC")


def register_key_store(app: Flask) -> None:
    """The participants' keys, in a store apart from the data (KEY_STORE_URL; domain/keys.py)."""
    from .domain import keys

    url = app.config.get("KEY_STORE_URL") or keys.default_url(
        app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path
    )
    keys.register(db.engine.url, url)


def register_blueprints(app: Flask) -> None:
    """Attach the web blueprints (and the request hooks for authentication and write locks)."""
    from .logs import install_request_logging
    from .web import (
        access_log,
        api,
        assets,
        auth,
        context,
        import_problems,
        language,
        mapview,
        pm,
        provider,
        public,
        reads,
        referrals,
        security,
        transactions,
    )
    from .web.ids import IdConverter

    app.url_map.converters["id"] = IdConverter
    install_request_logging(app)
    assets.install(app)  # before the other hooks: gzip and the cache policy see the finished response
    security.install(app)
    language.install(app)  # Flask-Babel: the page's language from the reader's choice, browser or site
    context.install(app)  # template filters: times in the site's zone and the reader's language
    reads.install(app)  # before auth: its token lookup is the first statement
    auth.install(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(provider.bp)
    app.register_blueprint(referrals.bp)
    app.register_blueprint(pm.bp)
    app.register_blueprint(import_problems.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(mapview.bp)
    app.register_blueprint(access_log.bp)
    app.register_blueprint(language.bp)
    transactions.install(app)  # last: its after_request runs first, before headers and logging


def register_errorhandlers(app: Flask) -> None:
    """JSON errors under /api, HTML pages elsewhere; never a 500 for client input."""
    from .web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the flask CLI commands."""
    from .cli import register

    register(app)


__all__ = ["create_app"]
