"""CLI commands of the importers (scrape, geocode), added to the flask CLI by directory.cli."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from .common import SourceError
from .records import ParseResult
from .registry import IMPORTERS, parse_source

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
def scrape_run(
    source: str, path_or_url: str, dry_run: bool, mapping: str | None, source_name: str | None, show: int
) -> None:
    """Import PATH_OR_URL with the SOURCE importer, in one transaction."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from directory.extensions import db

    from .upsert import run_import

    console = Console(stderr=True)
    now = current_app.config.get("CLOCK", None)
    now = now() if callable(now) else None
    from directory.types import utcnow

    now = now or utcnow()
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
            result = parse_source(source, path_or_url, mapping)
            bar("reading", 1, 1)
            return result

        try:
            run, outcome = run_import(db.session, name, path_or_url, parse, now, dry_run, bar)
        except SourceError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    if not dry_run and outcome is not None:
        from directory.database import analyze

        analyze(db.engine)  # a bulk load: let the planner see the new sizes before the next search
    print_summary(outcome, run.id, dry_run, show)


def print_summary(outcome, run_id: int, dry_run: bool, show: int) -> None:
    """The summary table: per kind, read / added / changed / unchanged / deactivated / repaired / rejected."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"import run {run_id}" + (" (dry run: nothing written)" if dry_run else "")
    verb = "would be " if dry_run else ""
    table = Table(
        "records",
        "read",
        f"{verb}added",
        f"{verb}changed",
        "unchanged",
        f"{verb}deactivated",
        "repaired",
        "rejected",
        title=title,
    )
    result = outcome.result
    for kind in ("organization", "location", "service"):
        counts = result.outcome(kind)
        table.add_row(
            kind,
            str(counts["read"]),
            str(outcome.added[kind]),
            str(outcome.changed[kind]),
            str(outcome.unchanged[kind]),
            str(outcome.deactivated[kind]),
            str(counts["repaired"]),
            str(counts["rejected"]),
        )
    console.print(table)
    if outcome.kept_confirmed:
        console.print(
            f"{outcome.kept_confirmed} capacity record(s) kept: a provider confirmed them more recently"
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
        + (": see the import run" if result.problems else "")
    )


@scrape.command("export")
@click.argument("target", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--include-inactive", is_flag=True, help="also services marked inactive")
def scrape_export(target: str, fmt: str, include_inactive: bool) -> None:
    """Export the directory as HSDS 3.1 (CSV datapackage folder or nested JSON), with the LEAD extensions."""
    from directory.extensions import db

    from .export import export

    counts = export(db.session, target, fmt, include_inactive)
    db.session.rollback()
    click.echo(f"exported to {target}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))


geocode = AppGroup("geocode", help="Place locations on the map.")


@geocode.command("pending")
@click.option("--limit", type=int, default=None, help="at most this many locations")
def geocode_pending(limit: int | None) -> None:
    """Geocode locations that have an address but no coordinates (cached; rate-limited for Nominatim)."""
    from rich.progress import Progress

    from directory.extensions import db
    from directory.geocoding import geocode_pending as run

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


COMMANDS: list = [scrape, geocode]


def _register_job() -> None:
    from directory.jobs import register_job

    from .schedule import JOB

    register_job(JOB)


_register_job()
