"""The audit chain's anchor: `flask audit anchor` prints the head; `flask audit verify --anchor` proves the
log still holds every anchored head, from a file of anchor lines, a URL, or a transparency document. A
rewrite of an event with every later hash and the stored head recomputed passes plain `verify` (the
attack) and fails with the anchor."""

import hashlib
import http.server
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from directory.domain import audit
from directory.models import AuditEvent, AuditHead
from tests.conftest import FIXED_NOW


def write_events(session, n, start=0):
    for i in range(start, start + n):
        audit.append(session, 7, "test.event", "thing", i, {"n": i}, FIXED_NOW + timedelta(seconds=i))
    session.commit()


def anchor_line(runner) -> str:
    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def rewrite_and_recompute(session, event_id: int, payload: dict) -> None:
    """The attacker's rewrite: change one event, recompute every later hash (the canonical form is in the
    code, so an attacker with database access can), and store the new head."""
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    prev = audit.GENESIS
    # Unique hashes: move them out of the way first.
    for event in events:
        event.hash = hashlib.sha256(f"tmp{event.id}".encode()).hexdigest()
    session.flush()
    for event in events:
        if event.id == event_id:
            event.payload = payload
        content = audit.canonical(
            event.id,
            event.at,
            event.actor_id,
            event.action,
            event.object_type,
            event.object_id,
            event.payload,
        )
        event.prev_hash = prev
        event.hash = audit.chain_hash(prev, content)
        prev = event.hash
    head = session.get(AuditHead, 1)
    head.last_hash = prev
    session.commit()


def test_anchor_prints_the_head_as_one_json_line(session, runner):
    write_events(session, 5)
    anchor = json.loads(anchor_line(runner))
    last = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert set(anchor) == {"sequence", "hash", "at"}
    assert anchor["sequence"] == 5 and anchor["hash"] == last.hash
    assert anchor["at"].startswith("2026-11-24T18:00:04")


def test_an_empty_chain_anchors_at_genesis(session, runner):
    anchor = json.loads(anchor_line(runner))
    assert anchor["sequence"] == 0 and anchor["hash"] == "0" * 64


def test_verify_with_anchors_passes_while_the_log_grows(session, runner, tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    write_events(session, 3)
    lines = [anchor_line(runner)]
    write_events(session, 4, start=3)
    lines.append(anchor_line(runner))
    write_events(session, 2, start=7)  # events after the last anchor are fine
    anchors.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchors)])
    assert result.exit_code == 0, result.output
    assert "9 events" in result.output and "2 anchored head(s) held" in result.output


def test_a_rewrite_with_recomputed_hashes_and_head_fails_only_with_the_anchor(session, runner, tmp_path):
    write_events(session, 10)
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(anchor_line(runner) + "\n")
    write_events(session, 2, start=10)
    rewrite_and_recompute(session, 4, {"n": 999})
    assert session.get(AuditEvent, 4).payload == {"n": 999}
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 0, "the attack must defeat the plain check, or this test proves nothing"
    anchored = runner.invoke(args=["audit", "verify", "--anchor", str(anchors)])
    assert anchored.exit_code == 1
    assert "anchored event 10" in anchored.output and "rewritten" in anchored.output


def test_an_event_rewritten_after_the_anchor_is_not_covered_by_it(session, runner, tmp_path):
    """What the anchor does not protect: events appended after the last anchor."""
    write_events(session, 5)
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(anchor_line(runner) + "\n")
    write_events(session, 3, start=5)
    rewrite_and_recompute(session, 7, {"n": -1})
    assert runner.invoke(args=["audit", "verify", "--anchor", str(anchors)]).exit_code == 0


def test_a_truncated_log_fails_the_anchor(session, runner, tmp_path):
    write_events(session, 6)
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(anchor_line(runner) + "\n")
    session.execute(text("DELETE FROM audit_event WHERE id > 3"))
    head = session.get(AuditHead, 1)
    head.last_event_id, head.last_hash = 3, session.get(AuditEvent, 3).hash
    session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchors)])
    assert result.exit_code == 1 and "anchored event 6" in result.output and "missing" in result.output


@pytest.mark.parametrize(
    "content",
    ["not json at all\n", '{"sequence": -1, "hash": "00"}\n', '{"periods": []}', "", '{"sequence": 1}'],
)
def test_a_bad_anchor_document_is_a_clear_error(session, runner, tmp_path, content):
    write_events(session, 2)
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(args=["audit", "verify", "--anchor", str(path)])
    assert result.exit_code == 1 and "cannot read the anchors" in result.output


def test_a_missing_anchor_file_is_a_clear_error(session, runner, tmp_path):
    result = runner.invoke(args=["audit", "verify", "--anchor", str(tmp_path / "nowhere.jsonl")])
    assert result.exit_code == 1 and "cannot read the anchors" in result.output


class _Serve:
    """A small HTTP server on 127.0.0.1 answering one document at /anchors."""

    def __init__(self, body: bytes):
        body_bytes = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                if self.path != "/anchors":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body_bytes)))
                self.end_headers()
                self.wfile.write(body_bytes)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def transparency_document(*heads: dict) -> bytes:
    periods = [
        {"period": f"2026-{10 + i:02d}", "referrals": "fewer than 5", "audit_head": head}
        for i, head in enumerate(heads)
    ]
    periods.append({"period": "2026-12", "referrals": 0, "audit_head": None})  # the open period: none yet
    return json.dumps({"site": "test", "periods": periods}).encode()


def test_verify_fetches_anchors_from_a_url_and_reads_a_transparency_document(session, runner):
    write_events(session, 4)
    first = json.loads(anchor_line(runner))
    write_events(session, 4, start=4)
    second = json.loads(anchor_line(runner))
    with _Serve(transparency_document(first, second)) as base:
        held = runner.invoke(args=["audit", "verify", "--anchor", f"{base}/anchors"])
        assert held.exit_code == 0, held.output
        assert "2 anchored head(s) held (latest sequence 8)" in held.output
        missing = runner.invoke(args=["audit", "verify", "--anchor", f"{base}/elsewhere"])
        assert missing.exit_code == 1 and "cannot read the anchors" in missing.output
        rewrite_and_recompute(session, 2, {"n": 42})
        broken = runner.invoke(args=["audit", "verify", "--anchor", f"{base}/anchors"])
    assert broken.exit_code == 1
    assert "anchored event 4" in broken.output and "anchored event 8" in broken.output


def test_parse_anchors_accepts_the_published_shapes():
    head = {"sequence": 3, "hash": "a" * 64, "at": "2026-11-24T18:00:00+00:00"}
    one = json.dumps(head)
    assert [a.sequence for a in audit.parse_anchors(one)] == [3]
    assert [a.sequence for a in audit.parse_anchors(f"{one}\n\n{json.dumps({**head, 'sequence': 5})}\n")] == [
        3,
        5,
    ]
    assert [a.sequence for a in audit.parse_anchors(json.dumps([head, head]))] == [3, 3]
    nested = {"periods": [{"audit_head": head}, {"audit_head": {**head, "sequence": 9}}]}
    assert [a.sequence for a in audit.parse_anchors(json.dumps(nested))] == [3, 9]
    with pytest.raises(audit.AnchorFormatError):
        audit.parse_anchors(json.dumps({**head, "hash": "A" * 64}))
    with pytest.raises(audit.AnchorFormatError):
        audit.parse_anchors(json.dumps({**head, "sequence": True}))
