"""Registry tests run on a SQLite file and on PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings

import pytest

import steward

PG = dict(host="127.0.0.1", port=5432, user="postgres", dbname="test")

# A policy whose high tier a COMPAS audit passes, so approval can be reached; same sign-off roles
# as the default policy's high tier.
LENIENT = """\
policy: {name: Lenient test policy, version: "1"}
domains: [criminal_justice, credit, other]
tiers:
  high:
    description: Thresholds loose enough for COMPAS to pass
    assign_when:
      - domain: [criminal_justice, credit]
    checks:
      adverse_impact_ratio: {min: 0.5}
    sign_off: [validator, executive]
  low:
    description: The rest
    checks:
      adverse_impact_ratio: {min: 0.5, severity: warn}
    sign_off: [validator]
"""

RISK = dict(domain="criminal_justice", people_affected=10_000, decisions_per_day=30, human_review=True,
            wrong_decision_cost="high")


def postgres_admin():
    try:
        import psycopg

        return psycopg.connect(**PG, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        reason = f"PostgreSQL at {PG['host']}:{PG['port']} is not reachable ({exc.__class__.__name__}: {exc})"
        if os.environ.get("STEWARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + "; STEWARD_REQUIRE_POSTGRES=1 makes this a failure")
        pytest.skip(reason)


@contextlib.contextmanager
def fresh_postgres():
    """A new, empty PostgreSQL database for one test (or module), dropped afterwards."""
    admin = postgres_admin()
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url():
    with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def lenient_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "lenient.yaml"
    path.write_text(LENIENT)
    return steward.load_policy(path)


def compas_audit(policy, tier="high"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        return steward.audit(steward.datasets.load_compas(), label="two_year_recid", score="decile_score",
                             threshold=5, favourable=0, protected={"race": "Caucasian", "sex": "Male"},
                             policy=policy, tier=tier)


@pytest.fixture(scope="session")
def passing_audit(lenient_policy):
    result = compas_audit(lenient_policy)
    assert result.passed is True
    return result


@pytest.fixture(scope="session")
def failing_audit():
    result = compas_audit("default")
    assert result.passed is False
    return result
