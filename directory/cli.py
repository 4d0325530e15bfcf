"""The flask CLI (contract.md): init-db, seed-demo, users, backup, scrape, geocode, jobs, audit.

Exit 0 ok, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from scrapers.common import SourceError
from scrapers.records import ParseResult
from scrapers.registry import IMPORTERS, parse_source

from .config import DATA_DIR
from .domain.access import ROLES
from .extensions import db
from .models import ApiToken, Organization, Service, User
from .types import utcnow


def fail(message: str) -> None:
    """Print to stderr and exit 1 (the operation failed)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def init_database() -> dict[str, int]:
    """Create or upgrade the schema and load the reference data; safe to run twice."""
    from .domain.reference import load_reference
    from .migrate import upgrade

    upgrade(db.engine)
    counts = load_reference(db.session, DATA_DIR / "taxonomy.toml", current_app.config["SITE"])
    db.session.commit()
    current_app.extensions.pop("directory_reference", None)
    return counts


def database_is_empty() -> bool:
    """Whether the directory holds no service yet."""
    return (db.session.scalar(select(func.count()).select_from(Service)) or 0) == 0


def hash_token(token: str) -> str:
    """API tokens are random, so a fast SHA-256 is the right hash (a slow hash is for passwords)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """Create and store a new API token for the user; return it (shown once)."""
    token = "ldt_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return token


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the schema (migrations) and load reference data."""
    counts = init_database()
    click.echo("database ready: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command("seed-demo")
@click.option("--services", "services", type=click.IntRange(1, 200_000), default=300, show_default=True)
@click.option("--seed", "seed", type=int, default=7, show_default=True)
@click.option(
    "--spread", type=click.Choice(["metro", "national"]), help="where to place services (default: by count)"
)
@click.option("--force", is_flag=True, help="seed even if the directory already has services")
@click.option("--if-empty", is_flag=True, help="do nothing (exit 0) if the directory already has services")
def seed_demo_command(services: int, seed: int, spread: str | None, force: bool, if_empty: bool) -> None:
    """Load the deterministic demo site (timestamps relative to now) and print the demo logins."""
    from . import demo
    from .database import analyze

    if current_app.config["DIRECTORY_ENV"] == "production":
        fail("seed-demo is for development: production refuses demo users")
    init_database()
    if not database_is_empty() and not force:
        if if_empty:
            click.echo("the directory has services already: demo not loaded again")
            print_logins(demo_logins())
            return
        fail("the directory already has services; use --force to add the demo anyway")
    summary = demo.seed(db.session, current_app.config["SITE"], services=services, seed=seed, spread=spread)
    db.session.commit()
    analyze(db.engine)
    click.echo(f"demo site loaded: {summary.services} services, {summary.organizations} organizations")
    published = publish_transparency()
    if published:
        click.echo(f"transparency: published {', '.join(published)}")
    print_logins(summary.logins)


def demo_logins() -> list[tuple[str, str, str]]:
    """The demo accounts present in the database, with the demo password."""
    from .demo import DEMO_PASSWORD

    rows = db.session.execute(select(User.email, User.role).where(User.is_demo.is_(True)).order_by(User.id))
    return [(email, DEMO_PASSWORD, role) for email, role in rows]


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    """Print the demo accounts."""
    if not logins:
        return
    click.echo("demo logins (development only):")
    for email, password, role in logins:
        click.echo(f"  {role:<16} {email:<40} password: {password}")


users = AppGroup("users", help="Manage accounts.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--org", "org_id", type=int, help="organization id (providers)")
@click.option("--org-admin", is_flag=True, help="provider who manages the organization's staff")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_create(email: str, role: str, org_id: int | None, org_admin: bool, password_stdin: bool) -> None:
    """Create an account."""
    from werkzeug.security import generate_password_hash

    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        click.echo("error: EMAIL is not an email address", err=True)
        sys.exit(2)
    if role == "provider" and org_id is None:
        click.echo("error: a provider needs --org ORG_ID", err=True)
        sys.exit(2)
    if org_id is not None and db.session.get(Organization, org_id) is None:
        fail(f"no organization {org_id}")
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        fail(f"an account {email} exists already")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 12:
            fail("the password must have at least 12 characters")
    user = User(
        email=email,
        role=role,
        organization_id=org_id,
        org_admin=org_admin and role == "provider",
        password_hash=generate_password_hash(password) if password else None,
    )
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {email} (id {user.id})")


@users.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for the account, and nothing else."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        fail(f"no active account {email}")
    if user.is_demo and current_app.config["DIRECTORY_ENV"] == "production":
        fail("production refuses demo accounts (their password is published): no token for them")
    token = issue_token(user)
    db.session.commit()
    click.echo(token)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Online backup of the SQLite database (for PostgreSQL use pg_dump, see README)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        fail("backup covers SQLite; for PostgreSQL run pg_dump (README.md, Production)")
    if path.exists():
        fail(f"{path} exists already")
    source = sqlite3.connect(url.database)
    try:
        target = sqlite3.connect(path)
        with target:
            source.backup(target)
        target.close()
    finally:
        source.close()
    click.echo(f"backup written to {path}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=click.IntRange(1, 65535), show_default=True)
def serve_command(host: str, port: int) -> None:
    """Serve the app for development (make run), with the scheduler in this process when SCHEDULER=on."""
    from .config import refuse_demo_users

    app = current_app._get_current_object()
    refuse_demo_users(app)
    click.echo(f"{app.config['SITE'].name}: http://{host}:{port}/")
    print_logins(demo_logins())
    db.session.remove()  # end this command's transaction: requests run in their own contexts
    if app.config["SCHEDULER"] == "on":
        from .jobs import start_in_process

        start_in_process(app)
        click.echo("scheduler: running in this process (SCHEDULER=on)")
    from werkzeug.serving import run_simple

    # No reloader: it would run this process twice (and the scheduler with it). Flask's app.run() refuses
    # to run inside a CLI command, so the WSGI server is started directly.
    run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)


jobs_group = AppGroup("jobs", help="Scheduled jobs.")


@jobs_group.command("list")
def jobs_list() -> None:
    """Show the jobs, when each last ran, its result, and when it is next due."""
    from .jobs import JOBS
    from .models import JobLease

    leases = {lease.name: lease for lease in db.session.scalars(select(JobLease))}
    for job in JOBS:
        lease = leases.get(job.name)
        last = lease.last_started_at if lease else None
        due = (
            (last + timedelta(seconds=job.every_seconds)).isoformat(timespec="seconds")
            if last
            else "at start"
        )
        click.echo(f"{job.name:<20} every {job.every_seconds:>4}s  next: {due}")
        if lease and lease.last_started_at:
            click.echo(
                f"{'':<20} last: {lease.last_started_at.isoformat(timespec='seconds')} "
                f"{lease.last_status}: {lease.last_result}"
            )
        else:
            click.echo(f"{'':<20} never run")


@jobs_group.command("run")
@click.option("--once", "once", metavar="NAME", help="run one job once (under its lease) and exit")
def jobs_run(once: str | None) -> None:
    """Run the scheduler as its own process (production), or one job once."""
    from .config import refuse_demo_users
    from .jobs import JOBS, holder_name, make_scheduler, run_job

    app = current_app._get_current_object()
    refuse_demo_users(app)
    if once:
        job = next((j for j in JOBS if j.name == once), None)
        if job is None:
            click.echo(f"error: unknown job {once!r}; known: {', '.join(j.name for j in JOBS)}", err=True)
            sys.exit(2)
        result = run_job(app, job, holder_name())
        click.echo(result if result is not None else f"{once}: another process holds the lease; not run")
        return
    click.echo(f"scheduler: {len(JOBS)} jobs; Ctrl-C to stop")
    scheduler = make_scheduler(app, blocking=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


audit_group = AppGroup("audit", help="The tamper-evident audit log.")


@audit_group.command("verify")
@click.option(
    "--anchor",
    "anchor_source",
    metavar="FILE_OR_URL",
    help="anchors kept outside the database (audit anchor lines, or a transparency JSON document)",
)
def audit_verify(anchor_source: str | None) -> None:
    """Recompute the hash chain; exit 1 naming the first broken event, or an anchored head the log lost."""
    from .domain.audit import AnchorFormatError, check_anchors, parse_anchors, verify

    anchors = []
    if anchor_source:
        try:
            anchors = parse_anchors(read_anchor_source(anchor_source))
        except (OSError, AnchorFormatError, UnicodeDecodeError) as exc:
            fail(f"cannot read the anchors from {anchor_source}: {exc}")
    result = verify(db.session)
    if not result.ok:
        fail(
            f"audit chain broken at event {result.first_bad_id}: {result.reason} "
            f"({result.events} events verified)"
        )
    problems = check_anchors(db.session, anchors)
    if problems:
        fail(
            "the log no longer holds what was anchored (rewritten with its stored head?): "
            + "; ".join(problems)
        )
    if anchors:
        click.echo(
            f"audit chain intact: {result.events} events; "
            f"{len(anchors)} anchored head(s) held (latest sequence {max(a.sequence for a in anchors)})"
        )
    else:
        click.echo(f"audit chain intact: {result.events} events")


def read_anchor_source(source: str, max_bytes: int = 10_000_000) -> str:
    """The text of an anchor file, or of an http(s) URL (10 s timeout, at most 10 MB)."""
    import urllib.request

    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as answer:  # noqa: S310 - scheme checked above
            return answer.read(max_bytes).decode("utf-8")
    with open(source, encoding="utf-8") as handle:
        return handle.read(max_bytes)


@audit_group.command("anchor")
def audit_anchor() -> None:
    """Print the chain head as one JSON line {"sequence", "hash", "at"}: keep it outside the database."""
    from .domain.audit import head

    clock = current_app.config.get("CLOCK")
    click.echo(head(db.session, clock() if callable(clock) else utcnow()).as_json())


transparency_group = AppGroup("transparency", help="The public figures of closed periods.")


def site_clock():
    """The site clock of the running app (tests may fix its CLOCK)."""
    from .domain.clock import SiteClock

    return SiteClock(current_app.config["SITE"].time_zone, current_app.config.get("CLOCK") or utcnow)


def publish_transparency() -> list[str]:
    """Store the figures of every closed period not published yet, in its own transaction."""
    from .domain.access import SYSTEM
    from .domain.transparency import publish_closed

    published = publish_closed(
        db.session, SYSTEM, site_clock(), current_app.config["SITE"].transparency_period
    )
    db.session.commit()
    return published


@transparency_group.command("publish")
def transparency_publish() -> None:
    """Compute and store the figures of every period that has closed (each once)."""
    published = publish_transparency()
    click.echo(f"published: {', '.join(published)}" if published else "nothing new to publish")


@transparency_group.command("revise")
@click.argument("period")
@click.option("--reason", required=True, help="why the figures change (published with the revision)")
def transparency_revise(period: str, reason: str) -> None:
    """Recompute a published period; if its figures changed, publish a dated revision with the reason."""
    from .domain.access import SYSTEM
    from .domain.errors import DomainError
    from .domain.transparency import revise

    try:
        revised = revise(
            db.session, SYSTEM, site_clock(), current_app.config["SITE"].transparency_period, period, reason
        )
    except DomainError as exc:
        db.session.rollback()
        fail(exc.message)
    db.session.commit()
    click.echo(
        f"published {revised}" if revised else f"{period}: the figures are unchanged; nothing published"
    )


dashboard_group = AppGroup("dashboard", help="The project manager's audit dashboard.")


@dashboard_group.command("rebuild-rollups")
def dashboard_rebuild_rollups() -> None:
    """Recompute the referrals' daily rollups from the referrals (after writes that bypassed the app)."""
    from .domain.rollups import rebuild

    rows = rebuild(db.session)
    db.session.commit()
    click.echo(f"rollups rebuilt: {rows} rows")


@click.command("purge")
@click.option(
    "--before", "before", required=True, metavar="DATE", help="YYYY-MM-DD: purge participants idle since"
)
def purge_command(before: str) -> None:
    """Remove participant records and free text past retention; aggregates and the audit chain stay valid."""
    from .database import begin_write
    from .domain.retention import purge

    try:
        cutoff = datetime.strptime(before, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        click.echo("error: --before must be a date YYYY-MM-DD", err=True)
        sys.exit(2)
    begin_write(db.session)
    counts = purge(db.session, cutoff, utcnow())
    db.session.commit()
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


consent_group = AppGroup("consent", help="Consent and per-participant encryption.")


@consent_group.command("reseal")
@click.option("--dry-run", is_flag=True, help="only count the plain texts that would be sealed")
def consent_reseal(dry_run: bool) -> None:
    """Seal free text written before per-participant encryption (goals, justifications, notes) with each
    participant's key, so purge reaches it in backups; safe to run again (sealed text is left alone)."""
    from .domain.reseal import pending, reseal

    if dry_run:
        counts = pending(db.session)
        click.echo("would seal " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return
    counts = reseal(db.session, utcnow())
    db.session.commit()
    click.echo("sealed " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command("simulate-month")
@click.option("--seed", type=int, default=1, show_default=True)
def simulate_month_command(seed: int) -> None:
    """Play a scripted month of referrals of every kind on the current site (for demos of the audit)."""
    from .database import begin_write
    from .simulate import simulate_month

    if current_app.config["DIRECTORY_ENV"] == "production":
        fail("simulate-month is for development only")
    begin_write(db.session)
    log = simulate_month(db.session, current_app.config["SITE"], utcnow(), seed=seed)
    db.session.commit()
    click.echo(f"simulated {len(log.checks)} checks and {len(log.referrals)} referrals over 30 days")
    click.echo(f"transparency: published {', '.join(log.published) or 'nothing new'} (closed periods only)")


scrape = AppGroup("scrape", help="Import directory data from other sources.")


@scrape.command("list")
def scrape_list() -> None:
    """List the importers."""
    from rich.console import Console
    from rich.table import Table

    table = Table("source", "reads", title="importers")
    for importer in IMPORTERS.values():
        table.add_row(importer.name, importer.description)
    Console().print(table)


class _Bar:
    """A rich progress bar fed by the writer's (stage, done, total) reports."""

    def __init__(self, progress):
        self.progress, self.tasks = progress, {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=max(total, 1))
        self.progress.update(task, completed=done, total=max(total, 1))


@scrape.command("run")
@click.argument("source", type=click.Choice(sorted(IMPORTERS)))
@click.argument("path_or_url")
@click.option("--dry-run", is_flag=True, help="show what would be added, changed, deactivated, rejected")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False), help="column mapping or selectors")
@click.option("--as", "source_name", help="the name this feed is stored under (default: SOURCE)")
@click.option("--problems", "show", type=int, default=20, show_default=True, help="problems to list")
@click.option("--domain", help="hsds: the IIP domain of services neither taxonomy nor words place")
@click.option(
    "--swap-coordinates",
    "swap",
    type=click.Choice(["auto", "no"]),
    default="auto",
    show_default=True,
    help="a file whose latitude and longitude columns are swapped: auto reads it the other way round "
    "(one note), no refuses the file",
)
def scrape_run(
    source: str,
    path_or_url: str,
    dry_run: bool,
    mapping: str | None,
    source_name: str | None,
    show: int,
    domain: str | None,
    swap: str,
) -> None:
    """Import PATH_OR_URL with the SOURCE importer, in one transaction."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .domain.imports import run_import

    console = Console(stderr=True)
    clock = current_app.config.get("CLOCK")
    now = clock() if callable(clock) else utcnow()
    name = source_name or source
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = _Bar(progress)

        def parse() -> ParseResult:
            bar("reading", 0, 1)
            allow = getattr(current_app.config.get("SITE"), "fetch_allow", ())
            result = parse_source(source, path_or_url, mapping, allow, domain, swap)
            bar("reading", 1, 1)
            return result

        try:
            switch_off = getattr(current_app.config.get("SITE"), "missing_services", "flag") == "switch_off"
            run, outcome = run_import(db.session, name, path_or_url, parse, now, dry_run, bar, switch_off)
        except SourceError as exc:
            message = str(exc)
            where = Path(path_or_url).name
            click.echo(f"error: {message if where in message else f'{path_or_url}: {message}'}", err=True)
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - any input ends with a message and exit 1, never a traceback
            # The run is recorded as failed and rolled back (run_import): nothing was written.
            click.echo(
                f"error: {path_or_url}: the {source} importer could not read it "
                f"({exc.__class__.__name__}: {exc}); nothing was written",
                err=True,
            )
            sys.exit(1)
    if not dry_run and outcome is not None:
        from .database import analyze

        analyze(db.engine)  # a bulk load: let the planner see the new sizes before the next search
    print_summary(outcome, run.id, dry_run, show)


def print_summary(outcome, run_id: int, dry_run: bool, show: int) -> None:
    """The summary table: per kind, read = added + changed + unchanged + merged + rejected, then deactivated
    and the records kept with a repair or a dropped value; which way records without a place went."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"import run {run_id}" + (" (dry run: nothing written)" if dry_run else "")
    verb = "would be " if dry_run else ""
    columns = (
        "read",
        "added",
        "changed",
        "unchanged",
        "merged",
        "rejected",
        "deactivated",
        "repaired",
        "dropped",
    )
    labels = [f"{verb}{c}" if c in ("added", "changed", "deactivated") else c for c in columns]
    table = Table("records", *labels, title=title)
    accounts = outcome.accounts()
    for kind, row in accounts.items():
        table.add_row(kind, *(str(row[c]) for c in columns))
    console.print(table)
    for kind, row in accounts.items():
        if row["unaccounted"]:
            console.print(f"warning: {row['unaccounted']} {kind} record(s) read but not accounted for")
    result = outcome.result
    if result.no_location is not None:
        console.print(
            "services without a place: imported with no location (the mapping allows it)"
            if result.no_location
            else "services without a place: rejected (the mapping does not allow 'no location')"
        )
    if outcome.kept_confirmed:
        console.print(
            f"{outcome.kept_confirmed} capacity record(s) kept: a provider confirmed them more recently"
        )
    if outcome.switched_off:
        console.print(
            f"{outcome.switched_off} service(s) missing from the feed that people relied on "
            f"{verb}switched off (the site's [imports] missing_services); {outcome.holds_at_risk} hold(s) "
            "on them marked at risk, their case managers, providers and the project managers told: see "
            f"`flask scrape problems {run_id}`"
        )
    if outcome.kept_edits or outcome.replaced_edits:
        console.print(
            f"providers' own edits: {outcome.kept_edits} field(s) kept as the provider wrote them; "
            f"{outcome.replaced_edits} the source changed since {verb}taken from the source and listed for "
            "the provider"
        )
    if outcome.flagged_missing:
        console.print(
            f"{outcome.flagged_missing} service(s) missing from the feed {verb}kept "
            "active and flagged to their provider and the project managers (recently confirmed, LEAD-funded "
            f"units or open holds): see `flask scrape problems {run_id}`"
        )
    rejected = [p for p in result.problems if p.action == "rejected"]
    if rejected and show:
        problems = Table(
            "where", "record", "rejected because", title=f"rejected ({len(rejected)}, first {show})"
        )
        for problem in rejected[:show]:
            problems.add_row(problem.where, problem.record or "", problem.problem)
        console.print(problems)
    click.echo(
        f"{len(result.problems)} problem(s) recorded on import run {run_id}"
        + (f": list them with `flask scrape problems {run_id}`" if result.problems else "")
    )


@scrape.command("problems")
@click.argument("run_id", type=int)
@click.option("--csv", "as_csv", is_flag=True, help="all problems as CSV on standard output")
def scrape_problems(run_id: int, as_csv: bool) -> None:
    """List the problems import run RUN_ID recorded: record, file and line or JSON path, field, action."""
    from rich.console import Console
    from rich.table import Table

    from .domain.errors import NotFound
    from .domain.imports import PROBLEM_COLUMNS, problems_csv, run_problems

    try:
        run, rows = run_problems(db.session, run_id)
    except NotFound as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        db.session.rollback()
    if as_csv:
        click.echo(problems_csv(rows), nl=False)
        return
    table = Table(
        *PROBLEM_COLUMNS, title=f"import run {run.id} ({run.source}, {run.status}): {len(rows)} problem(s)"
    )
    for row in rows:
        table.add_row(*(str(row[name]) for name in PROBLEM_COLUMNS))
    Console().print(table)


@scrape.command("export")
@click.argument("target", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--include-inactive", is_flag=True, help="also services marked inactive")
@click.option(
    "--include-confidential",
    is_flag=True,
    help="also the addresses and coordinates of confidential locations (a staff-only copy)",
)
def scrape_export(target: str, fmt: str, include_inactive: bool, include_confidential: bool) -> None:
    """Export the directory as HSDS 3.1 (CSV datapackage folder or nested JSON), with the LEAD extensions."""
    from .domain.hsds_export import WITHHELD, export

    counts = export(db.session, target, fmt, include_inactive, include_confidential)
    db.session.rollback()
    withheld = counts.pop(WITHHELD)
    click.echo(f"exported to {target}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    if include_confidential:
        click.echo("confidential locations: addresses and coordinates INCLUDED (--include-confidential)")
    else:
        click.echo(
            f"confidential locations: {withheld} exported without address or coordinates "
            "(--include-confidential to include them)"
        )


geocode = AppGroup("geocode", help="Place locations on the map.")


@geocode.command("pending")
@click.option("--limit", type=int, default=None, help="at most this many locations")
def geocode_pending(limit: int | None) -> None:
    """Geocode locations that have an address but no coordinates (cached; rate-limited for Nominatim)."""
    from rich.progress import Progress

    from .geocoding import geocode_pending as run

    config = current_app.config
    with Progress(transient=True) as progress:
        task = progress.add_task("geocoding", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            counts = run(db.session, config, limit=limit, progress=report)
        except SourceError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    app.cli.add_command(scrape)
    app.cli.add_command(geocode)
    app.cli.add_command(serve_command)
    app.cli.add_command(jobs_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(transparency_group)
    app.cli.add_command(dashboard_group)
    app.cli.add_command(purge_command)
    app.cli.add_command(consent_group)
    app.cli.add_command(simulate_month_command)
    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users)
    app.cli.add_command(backup_command)
