"""20 parallel writers against PostgreSQL (and SQLite) lose nothing and keep the trail a chain."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from steward.governance import Registry
from tests.governance.conftest import RISK

WRITERS = 20


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_parallel_sign_offs_and_incident_writes(backend, request, tmp_path, lenient_policy, passing_audit):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'r.db'}"
    setup = Registry(url, policy=lenient_policy)
    setup.register_model("m", actor="dev", domain="criminal_justice")
    setup.register_version("m", "1", actor="dev")
    setup.assess_risk("m", RISK, actor="dev")
    setup.record_audit("m", "1", passing_audit, actor="dev")
    inc = setup.open_incident("m", title="t", severity="low", actor="ops")
    for i in range(1, WRITERS, 2):  # each signer is a principal holding the role it signs in
        setup.create_key(f"p{i}", ["validator"], actor="admin")
    before = setup.verify_trail().entries
    # Each writer has its own Registry (own engine and connections), as separate server processes would.
    registries = [Registry(url, policy=lenient_policy) for _ in range(4)]

    def write(i: int):
        reg = registries[i % len(registries)]
        if i % 2:
            return reg.sign_off("m", "1", role="validator", person=f"p{i}", decision="approve", actor=f"p{i}")
        return reg.update_incident(inc["id"], note=f"note {i}", actor=f"ops{i}")

    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            results = list(pool.map(write, range(WRITERS)))
        assert len(results) == WRITERS
        version = setup.version("m", "1")
        assert sorted(x["person"] for x in version["sign_offs"]) == sorted(f"p{i}" for i in range(1, WRITERS, 2))
        timeline = setup.incident(inc["id"])["timeline"]
        assert sorted(e["text"] for e in timeline[1:]) == sorted(f"note {i}" for i in range(0, WRITERS, 2))
        report = setup.verify_trail()
        assert report.ok, report.problems
        assert report.entries == before + WRITERS
    finally:
        for r in registries + [setup]:
            r.close()
