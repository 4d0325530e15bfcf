"""One mechanism for notices: a row per recipient shown in the app, and email where mail is configured.

Every notice is queued for email; the scheduler's `send_notifications` job, which alone knows whether
mail is configured, sends what the committed transactions queued (`deliver_pending`), or, with no mail
server, settles them as in-app only. So a rolled-back change never sends mail, and the domain needs no
mail setting.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import i18n
from ..links import make_confirm_token
from ..models import ConfirmLink, Notification, Referral, User
from ..words import N_, Words, render

MAX_EMAIL_ATTEMPTS = 5


def in_language(text: str | Words, code: str | None) -> str:
    """Marked words in a recipient's language (their account's choice; English when they made none);
    plain text as it is."""
    if code is None or code == i18n.SOURCE_LANGUAGE:
        return render(text)
    return render(text, i18n.translations(code).gettext, code)


def notify(
    session: Session,
    user_ids: Iterable[int],
    kind: str,
    subject: str | Words,
    body: str | Words,
    now: datetime,
    link: str | None = None,
    confirm_link_id: int | None = None,
) -> list[Notification]:
    """Add a notice for each account (once per account), queued for email.

    Subject and body are marked Words, stored in each recipient's own language (the account's `language`,
    chosen with the language switch; English otherwise), so the app and the email read alike.
    `link` is stored and shown in the app, so it must never be a credential; a one-tap confirm link is
    named by `confirm_link_id` instead and signed only into the email, as it is sent."""
    notices = []
    ids = sorted({u for u in user_ids if u is not None})
    languages = (
        dict(session.execute(select(User.id, User.language).where(User.id.in_(ids))).all()) if ids else {}
    )
    for user_id in ids:
        code = languages.get(user_id)
        notice = Notification(
            user_id=user_id,
            created_at=now,
            kind=kind,
            subject=in_language(subject, code)[:200],
            body=in_language(body, code),
            link=link,
            confirm_link_id=confirm_link_id,
            email_status="pending",
        )
        session.add(notice)
        notices.append(notice)
    return notices


def organization_staff(session: Session, organization_id: int) -> list[int]:
    """The active provider accounts of an organization."""
    return list(
        session.scalars(
            select(User.id).where(
                User.organization_id == organization_id, User.role == "provider", User.active.is_(True)
            )
        )
    )


def notify_holds_at_risk(
    session: Session, referral_ids: list[int], now: datetime, reason: str | Words | None = None
) -> None:
    """Tell each case manager whose hold the provider's new numbers (or the reason given) put at risk."""
    why = reason or Words(
        N_("The provider's latest numbers leave fewer free units than the referrals holding them.")
    )
    for referral in session.scalars(select(Referral).where(Referral.id.in_(referral_ids))):
        notify(
            session,
            [referral.created_by],
            "hold_at_risk",
            Words(N_("Hold at risk: %(service)s"), service=referral.service.name),
            Words(
                N_("%(why)s Your hold (referral %(id)s) may not be honoured: call the provider."),
                why=why,
                id=referral.id,
            ),
            now,
            link=f"/referrals/{referral.id}",
        )


def parse_mail_url(mail_url: str) -> tuple[str, int, bool]:
    """smtp://host:port (or smtps://) -> (host, port, use_ssl)."""
    parts = urlsplit(mail_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"MAIL_URL must look like smtp://host:port, not {mail_url!r}")
    return parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), parts.scheme == "smtps"


def one_tap_link(session: Session, notice: Notification, secret_key: str | None, now: datetime) -> str | None:
    """The signed one-tap path of a reminder, made at sending time (None once used or expired)."""
    if notice.confirm_link_id is None or not secret_key:
        return None
    confirm = session.get(ConfirmLink, notice.confirm_link_id)
    if confirm is None or confirm.used_at is not None or confirm.expires_at <= now:
        return None
    return f"/confirm/{make_confirm_token(secret_key, confirm.nonce)}"


def _email_text(session: Session, notice: Notification, base_url: str, secret_key, now: datetime) -> str:
    text = notice.body
    one_tap = one_tap_link(session, notice, secret_key, now)
    if one_tap:
        still = Words(
            N_("Still correct? One tap (no sign-in needed): %(link)s"),
            link=f"{base_url.rstrip('/')}{one_tap}",
        )
        text += f"\n\n{in_language(still, notice.user.language)}\n"
    if notice.link:
        link = notice.link if notice.link.startswith("http") else base_url.rstrip("/") + notice.link
        text += f"\n\n{link}\n"
    return text


def deliver_pending(
    session: Session,
    mail_url: str | None,
    sender: str,
    base_url: str,
    now: datetime,
    limit: int = 200,
    secret_key: str | None = None,
) -> int:
    """Send queued notices by email; mark them sent, or failed after repeated errors. Returns the number sent.

    Without a mail server the queued notices are settled as in-app only ("none"). The caller commits. A
    row is marked before the next is tried, so a crash re-sends at most one.
    """
    if not mail_url:
        session.execute(
            update(Notification).where(Notification.email_status == "pending").values(email_status="none")
        )
        return 0
    host, port, use_ssl = parse_mail_url(mail_url)
    pending = session.scalars(
        select(Notification)
        .where(Notification.email_status == "pending")
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    if not pending:
        return 0
    sent, attempted = 0, set()
    client_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    try:
        with client_class(host, port, timeout=10) as client:
            for notice in pending:
                message = EmailMessage()
                message["From"] = sender
                message["To"] = notice.user.email
                message["Subject"] = notice.subject
                message.set_content(_email_text(session, notice, base_url, secret_key, now))
                attempted.add(notice.id)
                notice.email_attempts += 1
                try:
                    client.send_message(message)
                except smtplib.SMTPException:
                    if notice.email_attempts >= MAX_EMAIL_ATTEMPTS:
                        notice.email_status = "failed"
                    continue
                notice.email_status = "sent"
                notice.emailed_at = now
                sent += 1
    except (OSError, smtplib.SMTPException):
        # The server could not be reached (or dropped us): count an attempt on what was not tried.
        for notice in pending:
            if notice.email_status == "pending" and notice.id not in attempted:
                notice.email_attempts += 1
                if notice.email_attempts >= MAX_EMAIL_ATTEMPTS:
                    notice.email_status = "failed"
    return sent
