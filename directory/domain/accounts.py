"""Accounts and their sessions: ending every session and API token of an account, changing a password,
deactivating, and the ended-session registry that makes a single sign-out final."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import writes
from ..models import ApiToken, EndedSession, User
from ..words import N_, Words
from . import audit
from .errors import ValidationError

MIN_PASSWORD_LENGTH = 12


def sid_hash(sid: str) -> str:
    """Session ids are random: SHA-256 is enough, and the database never holds a usable cookie value."""
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


def session_ended(sid: str):
    """An EXISTS clause: true when this session id was signed out."""
    return exists().where(EndedSession.sid_hash == sid_hash(sid))


@writes
def end_session(session: Session, user_id: int, sid: str, now: datetime, expires_at: datetime) -> None:
    """Sign out one session for good: its cookie, even copied before, signs nobody in again."""
    # Rows past their cookie's absolute lifetime prove nothing any more: drop them as we go.
    session.execute(delete(EndedSession).where(EndedSession.expires_at < now))
    hashed = sid_hash(sid)
    if session.get(EndedSession, hashed) is None:
        session.add(EndedSession(sid_hash=hashed, user_id=user_id, ended_at=now, expires_at=expires_at))


def _end_everything(session: Session, user_id: int, now: datetime) -> int:
    """Raise the account's session epoch and revoke its API tokens; return the number of tokens revoked."""
    session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.expire_all()  # the ORM's copies of the account now hold the old epoch
    return revoked or 0


@writes
def sign_out_everywhere(session: Session, actor_id: int, user_id: int, now: datetime) -> int:
    """End every session and API token of the account (its own choice, or an admin's for a lost phone)."""
    revoked = _end_everything(session, user_id, now)
    audit.append(
        session, actor_id, "account.sign_out_everywhere", "user", user_id, {"tokens_revoked": revoked}, now
    )
    return revoked


@writes
def change_password(session: Session, user: User, current: str, new: str, confirm: str, now: datetime) -> int:
    """Change the account's own password; every session and API token of the account ends with it."""
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise ValidationError(Words(N_("the current password is wrong")), "current_password")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            Words(
                N_("the new password needs at least %(min_password_length)s characters"),
                min_password_length=MIN_PASSWORD_LENGTH,
            ),
            "new_password",
        )
    if len(new) > 200:
        raise ValidationError(
            Words(N_("the new password is too long (200 characters at most)")), "new_password"
        )
    if new != confirm:
        raise ValidationError(Words(N_("the two new passwords differ")), "confirm_password")
    user_id = user.id
    user.password_hash = generate_password_hash(new)
    session.flush()
    revoked = _end_everything(session, user_id, now)
    audit.append(
        session, user_id, "account.password_change", "user", user_id, {"tokens_revoked": revoked}, now
    )
    return revoked


@writes
def set_active(session: Session, actor_id: int, user_id: int, active: bool, now: datetime) -> None:
    """Deactivate (ending every session and API token) or reactivate an account."""
    user = session.get(User, user_id)
    if user is None:
        raise ValidationError(Words(N_("no account %(user_id)s"), user_id=user_id), "user_id")
    user.active = active
    session.flush()
    revoked = _end_everything(session, user_id, now) if not active else 0
    audit.append(
        session,
        actor_id,
        "account.deactivate" if not active else "account.reactivate",
        "user",
        user_id,
        {"tokens_revoked": revoked},
        now,
    )


def accounts(session: Session) -> list[User]:
    """Every account, for the admin's list."""
    return list(session.scalars(select(User).order_by(User.role, User.email)))
