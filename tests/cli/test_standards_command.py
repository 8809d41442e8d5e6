"""``steward standards``, ``steward teams`` and ``steward monitor ack`` on a local SQLite registry built through
the command line: teams end to end; the report in each format, with JSON, CSV and Markdown agreeing; --fail-on
exit codes; the digest posted to a receiver on loopback (signed when a secret is set); a webhook that cannot be
reached, an unknown team and a bad --at exit 2 with one line; alert acknowledgement and its conflict; the
governance role reads the console but may not manage teams."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from steward.cli import cli
from tests.monitoring._data import CLEAN_ENV

pytest.importorskip("sqlalchemy")

# Records are stamped with the real clock; the report looks 20 days ahead, when the low-tier scorer's low
# incident (14 days to contain in the low tier) is overdue. The digest's week starts at day 13, before that.
AHEAD = (datetime.now(timezone.utc) + timedelta(days=20)).replace(microsecond=0).isoformat()


def key_in(text: str) -> str:
    found = re.search(r"stw_[0-9a-f]{12}_\S+", text)
    assert found, text
    return found.group(0)


class Org:
    def __init__(self, db: str) -> None:
        self.env = {**CLEAN_ENV, "STEWARD_DATABASE_URL": db, "STEWARD_WEBHOOK_SECRET": None}
        self.keys: dict[str, str] = {}

    def run(self, *args: str, key: str | None = None, **env: str | None):
        extra = ["--api-key", self.keys[key]] if key else []
        return CliRunner().invoke(cli, [*args, *extra], env={**self.env, **env})

    def ok(self, *args: str, key: str | None = None, **env: str | None):
        r = self.run(*args, key=key, **env)
        assert r.exit_code == 0, r.output
        return r


def one_line_error(r, code: int = 2) -> str:
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    return lines[0]


@pytest.fixture()
def org(tmp_path) -> Org:
    """Teams Risk (credit: no risk assessment, a high shortfall) and Ops (scorer: low tier, a low incident);
    a model with no team (loose: no risk assessment). Built with the commands under test."""
    o = Org(f"sqlite:///{tmp_path / 'reg.db'}")
    r = o.ok("teams", "add", "Risk", "--contact", "risk@example.org", "--description", "Credit risk models")
    o.keys["admin"] = key_in(r.stderr)  # the first use makes the admin key and acts as the admin
    assert "created team Risk (contact risk@example.org)" in r.stdout
    for name, role in (("Dev", "developer"), ("Gina", "governance"), ("Olga", "operator")):
        o.keys[name] = key_in(o.ok("keys", "create", "--name", name, "--role", role, key="admin").stdout)
    o.ok("teams", "add", "Ops", "--contact", "#ops", key="admin")
    # a developer registers a model only into a team they belong to
    line = one_line_error(o.run("models", "register", "credit", "--domain", "credit", "--team", "Risk", key="Dev"))
    assert "Dev is not a member of team 'Risk'" in line
    o.ok("teams", "add-member", "Risk", "Dev", key="admin")
    o.ok("models", "register", "credit", "--domain", "credit", "--owner", "Ana", "--team", "Risk", key="Dev")
    o.ok("models", "register", "scorer", "--domain", "operations", key="Dev")
    o.ok("models", "register", "loose", "--domain", "other", key="Dev")
    r = o.ok("teams", "assign", "scorer", "Ops", key="admin")
    assert "scorer now belongs to Ops" in r.output
    o.ok("models", "assess", "scorer", "--domain", "operations", "--people-affected", "10", "--decisions-per-day",
         "1", "--human-review", "--wrong-decision-cost", "low", key="Dev")
    o.ok("incident", "open", "scorer", "--title", "Slow [/red] answers", "--severity", "low", key="Dev")
    return o


def test_teams_end_to_end(org):
    org.ok("teams", "remove-member", "Risk", "Dev", key="admin")  # the fixture made Dev a member, to register into Risk
    r = org.ok("teams", "add-member", "Risk", "Dev", key="admin")
    assert "Dev is now a member of Risk (1 members)" in r.output
    org.ok("teams", "add-member", "Risk", "Olga", key="admin")
    org.ok("teams", "add-member", "Ops", "Olga", key="admin")
    r = org.ok("teams", "remove-member", "Risk", "Olga", key="admin")
    assert "Olga is no longer a member of Risk (1 members)" in r.output
    teams = {t["name"]: t for t in json.loads(org.ok("teams", "list", "--json").stdout)}
    assert teams["Risk"]["members"] == ["Dev"] and teams["Risk"]["models"] == ["credit"]
    assert teams["Ops"]["members"] == ["Olga"] and teams["Ops"]["models"] == ["scorer"]
    assert teams["Risk"]["contact"] == "risk@example.org" and teams["Risk"]["created_by"] == "admin"
    # the team filter of the incident and deployment lists
    assert [i["model"] for i in json.loads(org.ok("incident", "list", "--team", "Ops", "--json").stdout)] == ["scorer"]
    assert json.loads(org.ok("incident", "list", "--team", "Risk", "--json").stdout) == []
    assert json.loads(org.ok("deployments", "list", "--team", "Ops", "--json").stdout) == []
    assert "no team named 'Nope'" in one_line_error(org.run("deployments", "list", "--team", "Nope"))
    listed = org.ok("teams", "list").stdout
    assert "Risk" in listed and "risk@example.org" in listed and "scorer" in listed
    shown = org.ok("teams", "show", "Risk").stdout
    assert "Credit risk models" in shown and "members: Dev" in shown and "models: credit" in shown
    assert json.loads(org.ok("teams", "show", "Ops", "--json").stdout)["models"] == ["scorer"]

    # the team is shown and filtered on in the model inventory
    rows = json.loads(org.ok("models", "list", "--json").stdout)
    assert {r["name"]: r["team"] for r in rows} == {"credit": "Risk", "scorer": "Ops", "loose": None}
    assert [r["name"] for r in json.loads(org.ok("models", "list", "--team", "Ops", "--json").stdout)] == ["scorer"]
    table = org.ok("models", "list", "--team", "Risk").stdout
    assert "credit" in table and "Risk" in table and "scorer" not in table
    assert "team: Ops (contact #ops)" in org.ok("models", "show", "scorer").stdout
    assert "team: none" in org.ok("models", "show", "loose").stdout

    # mistakes: one line, exit 2
    assert "a team named 'Ops' already exists" in one_line_error(org.run("teams", "add", "Ops", "--contact", "x",
                                                                        key="admin"))
    assert "already a member of Risk" in one_line_error(org.run("teams", "add-member", "Risk", "Dev", key="admin"))
    assert "Olga is not a member of Risk" in one_line_error(org.run("teams", "remove-member", "Risk", "Olga",
                                                                    key="admin"))
    assert "no principal named 'Nobody'" in one_line_error(org.run("teams", "add-member", "Risk", "Nobody",
                                                                   key="admin"))
    assert "scorer already belongs to Ops" in one_line_error(org.run("teams", "assign", "scorer", "Ops", key="admin"))
    line = one_line_error(org.run("models", "register", "other", "--team", "Nope", key="Dev"))
    assert "no team named 'Nope'; the teams are: Ops, Risk" in line
    assert "no team named 'Nope'" in one_line_error(org.run("models", "list", "--team", "Nope"))
    assert "no team named 'Nope'" in one_line_error(org.run("teams", "show", "Nope"))

    # the trail keeps who changed teams
    trail = json.loads(org.ok("models", "show", "scorer", "--json").stdout)["trail"]
    assert any(e["action"] == "model.team" and e["actor"] == "admin" for e in trail), trail


def test_only_an_admin_manages_teams_and_the_governance_role_reads_the_console(org):
    r = org.run("teams", "add", "Audit", "--contact", "a@example.org", key="Gina")
    assert "Gina (governance) may not do this; it needs one of the roles: admin" in one_line_error(r)
    r = org.run("teams", "assign", "credit", "Ops", key="Dev")
    assert "Dev (developer) may not do this" in one_line_error(r)
    r = org.run("teams", "add", "Audit", "--contact", "a@example.org")
    assert "made as the principal of an API key" in one_line_error(r)
    assert "Audit" not in org.ok("teams", "list").stdout
    r = org.ok("standards", "--format", "json", "--at", AHEAD, key="Gina")
    assert json.loads(r.stdout)["summary"]["models"] == 3
    assert org.ok("teams", "list", key="Gina").exit_code == 0


def test_the_table_for_people(org):
    out = org.ok("standards", "--at", AHEAD).stdout
    assert "3 models: 3 fall short" in " ".join(out.split())
    assert "'Slow [/red] answers'" in out  # stored text is shown literally, not read as markup
    for text in ("Falls short", "Risk assessed under the current policy", "no risk assessment is recorded",
                 "Incidents contained within the tier's response times", "Teams", "(no team)", "risk@example.org",
                 "Practice adoption (from evidence)"):
        assert text in out, (text, out)
    # the falls-short list is sorted by severity: the two high shortfalls before the low one
    rows = [line for line in out.splitlines() if re.search(r"\b(high|low)\b.*\b(credit|loose|scorer)\b", line)]
    assert [re.search(r"\b(credit|loose|scorer)\b", x).group(1) for x in rows][-1] == "scorer", out
    team_only = org.ok("standards", "--team", "Ops", "--at", AHEAD).stdout
    assert "team Ops" in team_only and "credit" not in team_only and "scorer" in team_only


def _md_table(md: str, heading: str) -> list[list[str]]:
    block = md.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]  # without the header


def test_json_csv_and_markdown_agree(org, tmp_path):
    report = json.loads(org.ok("standards", "--format", "json", "--at", AHEAD).stdout)
    assert report["schema"] == "steward.standards/1" and report["at"] == AHEAD
    shortfalls = [(x["model"], x["rule"]) for x in report["shortfalls"]]
    assert sorted(shortfalls) == [("credit", "risk_assessed"), ("loose", "risk_assessed"), ("scorer", "incidents")]
    assert shortfalls[-1] == ("scorer", "incidents") and report["shortfalls"][-1]["severity"] == "low"

    table = list(csv.DictReader(io.StringIO(org.ok("standards", "--format", "csv", "--at", AHEAD).stdout)))
    from_json = {(m["model"], r["rule"]): (r["status"], m["team"] or "", m["status"]) for m in report["models"]
                 for r in m["rules"]}
    from_csv = {(row["model"], row["rule"]): (row["status"], row["team"], row["model_status"]) for row in table}
    assert from_csv == from_json and len(table) == len(from_json) == 3 * len(report["rules"])
    assert sorted(k for k, v in from_csv.items() if v[0] == "falls_short") == sorted(shortfalls)

    md = org.ok("standards", "--format", "md", "--at", AHEAD).stdout
    assert md.startswith("# Steward standards report")
    titles = dict((r["rule"], r["title"]) for r in report["rules"])
    falls = _md_table(md, "Falls short")
    assert [(row[0], row[1], row[4]) for row in falls] == [(x["severity"], x["model"], titles[x["rule"]])
                                                            for x in report["shortfalls"]]
    teams = _md_table(md, "Teams")
    assert [(row[0], int(row[2]), int(row[5])) for row in teams] == [
        (t["team"] or "(no team)", t["models"], t["shortfalls"]) for t in report["teams"]]
    practices = _md_table(md, "Practice adoption (from evidence)")
    assert [(row[0], int(row[1]), int(row[2])) for row in practices] == [
        (a["title"], a["adopted"], a["applicable"]) for a in report["adoption"]["practices"]]

    # --out writes the same text to a file, nothing to stdout
    r = org.ok("standards", "--format", "md", "--at", AHEAD, "--out", str(tmp_path / "report.md"))
    assert r.stdout == "" and (tmp_path / "report.md").read_text(encoding="utf-8") == md
    assert "wrote the standards report (md)" in r.stderr
    r = org.ok("standards", "--at", AHEAD, "--out", str(tmp_path / "report.txt"))
    assert r.stdout == "" and "Falls short" in (tmp_path / "report.txt").read_text(encoding="utf-8")
    r = org.run("standards", "--out", str(tmp_path / "no" / "such" / "dir" / "r.json"), "--format", "json")
    assert "--out" in one_line_error(r)


def test_fail_on_exit_codes(org):
    # Ops has one low shortfall; Risk one high; nobody a critical one
    assert org.run("standards", "--team", "Ops", "--at", AHEAD, "--fail-on", "medium").exit_code == 0
    r = org.run("standards", "--team", "Ops", "--at", AHEAD, "--fail-on", "low", "--format", "json")
    assert r.exit_code == 1 and "1 shortfall(s) of severity low or worse (--fail-on low)" in r.stderr
    assert json.loads(r.stdout)["team"] == "Ops"  # the report is still printed, whole
    assert org.run("standards", "--team", "Risk", "--at", AHEAD, "--fail-on", "high").exit_code == 1
    assert org.run("standards", "--at", AHEAD, "--fail-on", "critical").exit_code == 0
    r = org.run("standards", "--at", AHEAD, "--fail-on", "high", "--format", "csv")
    assert r.exit_code == 1 and "2 shortfall(s) of severity high or worse" in r.stderr
    assert org.run("standards", "--at", AHEAD).exit_code == 0  # without --fail-on it never fails
    # before the incident is overdue, Ops has no shortfall at all
    assert org.run("standards", "--team", "Ops", "--fail-on", "low").exit_code == 0


def test_bad_input_is_one_line_and_exit_2(org):
    line = one_line_error(org.run("standards", "--team", "Nope"))
    assert "no team named 'Nope'; the teams are: Ops, Risk" in line
    line = one_line_error(org.run("standards", "--at", "next tuesday"))
    assert "--at 'next tuesday' is not a date" in line
    assert "--days" in one_line_error(org.run("standards", "--days", "14"))
    r = org.run("standards", "--fail-on", "severe")
    assert r.exit_code == 2 and "--fail-on" in r.output


def test_the_digest_says_what_changed_over_the_week(org):
    digest = json.loads(org.ok("standards", "--digest", "--format", "json", "--at", AHEAD).stdout)
    assert digest["kind"] == "digest"
    assert [(x["model"], x["rule"]) for x in digest["changes"]["new_shortfalls"]] == [("scorer", "incidents")]
    assert digest["changes"]["resolved"] == []
    md = org.ok("standards", "--digest", "--format", "md", "--at", AHEAD).stdout
    assert md.startswith("# Steward weekly standards digest") and "- new: **scorer**" in md
    # a look back of three days starts after the incident was overdue: nothing new
    quiet = json.loads(org.ok("standards", "--digest", "--days", "3", "--format", "json", "--at", AHEAD).stdout)
    assert quiet["changes"]["new_shortfalls"] == []
    table = org.ok("standards", "--digest", "--at", AHEAD).stdout
    assert "Since" in table and "new scorer" in " ".join(table.split())


class _Receiver:
    """A webhook receiver on loopback: records each POST (path, headers, body) and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_the_digest_is_posted_to_a_webhook_signed_with_the_secret(org, tmp_path):
    with _Receiver() as hook:
        r = org.ok("standards", "--webhook", f"{hook.url}/services/T0/SECRETPATH", "--at", AHEAD,
                   STEWARD_WEBHOOK_SECRET="s3cret")
        assert len(hook.received) == 1
        path, headers, body = hook.received[0]
        assert path == "/services/T0/SECRETPATH"
        doc = json.loads(body)
        assert set(doc) == {"text", "digest"}
        assert doc["digest"]["kind"] == "digest" and doc["digest"]["at"] == AHEAD
        assert doc["text"].startswith("# Steward weekly standards digest") and "scorer" in doc["text"]
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Steward-Signature"], expected)
        wrong = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
        assert headers["X-Steward-Signature"] != wrong
        # one line on stdout: where (not the secret path) and the status
        lines = r.stdout.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"posted the standards digest to {hook.url}/…: HTTP 200")
        assert "SECRETPATH" not in r.output

        # without a secret, no signature; --out keeps a copy of the digest; --fail-on still applies
        r = org.run("standards", "--webhook", f"{hook.url}/hook", "--at", AHEAD, "--format", "md",
                    "--out", str(tmp_path / "digest.md"), "--fail-on", "high")
        assert r.exit_code == 1, r.output
        assert "X-Steward-Signature" not in hook.received[1][1]
        assert json.loads(hook.received[1][2])["text"] == (tmp_path / "digest.md").read_text(encoding="utf-8")


def test_a_webhook_that_fails_is_one_line_and_exit_2(org):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(org.run("standards", "--webhook", f"http://127.0.0.1:{port}/hook"))
    assert line.startswith("error: --webhook: posting the digest to") and f"127.0.0.1:{port}" in line
    with _Receiver(status=500) as hook:
        line = one_line_error(org.run("standards", "--webhook", f"{hook.url}/hook"))
        assert "answered HTTP 500" in line and "/hook" not in line and len(hook.received) == 1
    assert "is not an http(s) URL" in one_line_error(org.run("standards", "--webhook", "ftp://example.org/x"))


def test_an_alert_is_acknowledged_once(tmp_path):
    import numpy as np
    import pandas as pd

    from steward.governance import Registry
    from steward.monitoring import build_reference
    from tests.monitoring._data import log_rows

    rng = np.random.default_rng(7)
    ref = log_rows(rng, 6000, 0.0, "2026-10-01", 30)
    log = pd.concat([log_rows(rng, 3000, 0.0, "2026-11-01", 3), log_rows(rng, 3000, 1.0, "2026-11-04", 3)],
                    ignore_index=True)
    log.to_parquet(tmp_path / "log.parquet")
    o = Org(f"sqlite:///{tmp_path / 'reg.db'}")
    reg = Registry(o.env["STEWARD_DATABASE_URL"])
    try:
        o.keys = {"Olga": reg.create_key("Olga", ["operator"], actor="setup")["key"],
                  "Gina": reg.create_key("Gina", ["governance"], actor="setup")["key"]}
        reg.register_model("scorer", actor="setup", domain="operations")
        reference = build_reference(ref, features=["x", "c"], protected=["sex"], reference_groups={"sex": "M"},
                                    score="score", decision="decision", label="label", source="ref").to_dict()
        reg.create_monitor("ext", actor="setup", data=str(tmp_path / "log.parquet"), reference=reference,
                           columns={"time": "ts", "score": "score", "decision": "decision", "label": "label"},
                           model="scorer", tier="low", protected=["sex"])
        alerts = reg.run_monitor("ext", actor="setup", close_all=True)["alerts"]
    finally:
        reg.close()
    assert alerts
    ids = [a["id"] for a in json.loads(o.ok("monitor", "show", "ext", "--format", "json").stdout)["alerts"]]
    first = ids[0]

    def unacknowledged() -> list[str]:
        report = json.loads(o.ok("standards", "--format", "json").stdout)
        rule = next(r for r in report["models"][0]["rules"] if r["rule"] == "monitoring")
        return [line for line in rule["evidence"] if "is not acknowledged" in line]

    assert len(unacknowledged()) == len(ids)
    shown = o.ok("monitor", "show", "ext").stdout
    assert shown.count("not acknowledged") == len(ids)

    line = one_line_error(o.run("monitor", "ack", str(first), "--note", "looking", key="Gina"))
    assert "Gina (governance) may not do this" in line
    r = o.ok("monitor", "ack", str(first), "--note", "Retraining on November data", key="Olga")
    assert f"alert {first} (" in r.stdout and "acknowledged by Olga: Retraining on November data" in r.stdout
    shown = o.ok("monitor", "show", "ext").stdout
    assert f"alert {first} " in shown and "acknowledged by Olga at " in shown and "Retraining on November data" in shown
    assert shown.count("not acknowledged") == len(ids) - 1
    assert len(unacknowledged()) == len(ids) - 1 and not any(f"alert #{first} " in x for x in unacknowledged())

    line = one_line_error(o.run("monitor", "ack", str(first), "--note", "again", key="Olga"))
    assert f"alert {first} was acknowledged by Olga at" in line
    assert "no monitor alert 999" in one_line_error(o.run("monitor", "ack", "999", "--note", "x", key="Olga"))
    assert "--note" in one_line_error(o.run("monitor", "ack", str(ids[-1]), "--note", "  ", key="Olga"))
    r = o.run("monitor", "ack", str(ids[-1]), key="Olga")
    assert r.exit_code == 2 and "--note" in r.output
