"""CLI commands of the importers (scrape, geocode), added to the flask CLI by directory.cli."""

from __future__ import annotations

COMMANDS: list = []
