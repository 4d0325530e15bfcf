"""Run the real app as its own server process on a free loopback port (for load tests and benchmarks)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerURL(str):
    """The base URL of a live server, carrying the server's process id (for fault tests)."""

    pid: int


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(
    database_url: str, extra_env: dict | None = None, gunicorn_workers: int = 0, cwd: Path | None = None
):
    """Start `flask serve` (or gunicorn with N workers) on the database; yield its base URL; stop it.
    cwd: the checkout to serve (default this one; the weak-signal benchmark serves an older commit too)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-server-key-" + "x" * 32,
        "SCHEDULER": "off",
        "FLASK_APP": "directory",
        **(extra_env or {}),
    }
    if gunicorn_workers:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(gunicorn_workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "directory.wsgi:app",
        ]
    else:
        command = [sys.executable, "-m", "flask", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # Output goes to a file, not a pipe: a chatty server must never block on a full pipe.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(command, cwd=cwd or ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def request(
    base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None, timeout=30
):
    """One HTTP request; returns (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, None
