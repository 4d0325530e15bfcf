"""Per-participant keys for crypto-shredding: the free text tied to a participant (goals, override
justifications, referral notes) is sealed with that participant's own key (Fernet: AES-128-CBC with an
HMAC-SHA256, from the `cryptography` package). The keys live in a key store apart from the data (its own
database, KEY_STORE_URL; by default a SQLite file beside the data), with its own backup; purge destroys a
participant's key, so the text in any older backup of the data can no longer be read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

PREFIX = "k1:"  # sealed text; anything else is text written before sealing existed, returned as stored
UNREADABLE = "(text erased: its key was destroyed)"

_metadata = MetaData()
participant_key = Table(
    "participant_key",
    _metadata,
    Column("participant_id", Integer, primary_key=True, autoincrement=False),
    Column("key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class KeyStore:
    """The participants' keys, in a database of their own."""

    def __init__(self, url: str):
        options: dict = {}
        if url in ("sqlite://", "sqlite:///:memory:"):
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.url = url
        self._options = options
        self._engine = None

    @property
    def engine(self):
        """The store's engine, made (with its table) on first use: creating an app touches no file."""
        if self._engine is None:
            with _lock:
                if self._engine is None:
                    if self.url.startswith("sqlite:///"):
                        Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                    engine = create_engine(self.url, **self._options)
                    _metadata.create_all(engine)
                    self._engine = engine
        return self._engine

    def key(self, participant_id: int, create: bool) -> bytes | None:
        """The participant's key; a new one when asked and there is none (None if there is none)."""
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(participant_key.c.key).where(participant_key.c.participant_id == participant_id)
            )
        if found is not None or not create:
            return found.encode() if found is not None else None
        fresh = Fernet.generate_key()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(participant_key).values(
                        participant_id=participant_id, key=fresh.decode(), created_at=datetime.now(UTC)
                    )
                )
        except IntegrityError:  # another worker made it first: use theirs
            return self.key(participant_id, create=False)
        return fresh

    def destroy(self, participant_ids: Iterable[int]) -> int:
        """Destroy these participants' keys (their sealed text becomes unreadable everywhere)."""
        ids = sorted(set(participant_ids))
        if not ids:
            return 0
        with self.engine.begin() as connection:
            return connection.execute(
                delete(participant_key).where(participant_key.c.participant_id.in_(ids))
            ).rowcount

    def count(self) -> int:
        """How many keys the store holds."""
        with self.engine.connect() as connection:
            return len(connection.execute(select(participant_key.c.participant_id)).all())


_stores: dict[str, KeyStore] = {}
_lock = threading.Lock()


def default_url(data_url: str, instance_path: str) -> str:
    """Where the keys go when KEY_STORE_URL is not set: beside a SQLite data file (x.keys.sqlite3), in
    memory for an in-memory database, else a SQLite file in the instance folder named after the database."""
    url = make_url(data_url)
    if url.drivername.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            return "sqlite://"
        data = Path(url.database)
        return "sqlite:///" + str(data.with_name(data.stem + ".keys.sqlite3"))
    return "sqlite:///" + str(Path(instance_path) / f"keys-{url.database or 'directory'}.sqlite3")


def _name(url: URL | str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def register(data_url: URL | str, store_url: str) -> KeyStore:
    """Use the key store at store_url for the database at data_url (one store per database)."""
    with _lock:
        name = _name(data_url)
        store = _stores.get(name)
        if store is None or store.url != store_url:
            store = _stores[name] = KeyStore(store_url)
        return store


def store_for(session) -> KeyStore:
    """The key store of the database this session writes to."""
    name = _name(session.get_bind().url)
    store = _stores.get(name)
    if store is None:
        raise RuntimeError("no key store is registered for this database (create_app registers it)")
    return store


def seal(session, participant_id: int, text: str | None) -> str | None:
    """Encrypt free text with the participant's key (made on first use)."""
    if text is None:
        return None
    key = store_for(session).key(participant_id, create=True)
    assert key is not None
    return PREFIX + Fernet(key).encrypt(text.encode()).decode()


def unseal(session, participant_id: int | None, stored: str | None) -> str | None:
    """The readable text, or UNREADABLE once the participant's key is gone."""
    if stored is None or not stored.startswith(PREFIX):
        return stored
    if participant_id is None or session is None:
        return UNREADABLE
    key = store_for(session).key(participant_id, create=False)
    if key is None:
        return UNREADABLE
    try:
        return Fernet(key).decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        return UNREADABLE
