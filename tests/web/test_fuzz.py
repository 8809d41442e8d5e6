"""Schemathesis against the app's own OpenAPI document, on a populated registry (SQLite).

Every operation gets generated requests, valid and invalid, with a key holding every role so the
authenticated routes run to the registry. No response may be a 5xx, every status must be one the
document states for that operation, in the content type it states, and invalid input must be
refused. Bounded: a few examples per operation and no deadline per example (the first request of
an operation may build the OpenAPI document).
"""

from __future__ import annotations

import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the fuzz test needs schemathesis: pip install 'steward[dev]'")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from steward.governance import ROLES, Registry  # noqa: E402
from steward.web import create_app  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 25  # per operation and mode: about 30 operations x 2 modes, well under a minute in all


@pytest.fixture(scope="module")
def fuzzed(populated, tmp_path_factory):
    """The app over a copy of the populated registry, and a key holding every role."""
    folder = tmp_path_factory.mktemp("fuzz")
    for f in populated[0].parent.glob(populated[0].name + "*"):  # the database and the trail key beside it
        shutil.copy2(f, folder / f.name)  # keeps the key file private (mode 600)
    reg = Registry(f"sqlite:///{folder / populated[0].name}")
    key = reg.create_key("Fuzz Everyone", [r for r in ROLES if r != "caller"], actor="setup")["key"]
    yield create_app(reg), key
    reg.close()


def on_the_wire(case) -> bool:
    """Whether a generated case stays what it was once sent: in a query string a list of one item
    reads as that item, and an empty list or object as nothing, so such "invalid" values are not."""
    return not any(isinstance(v, (list, dict)) and len(v) <= 1 for v in (case.query or {}).values())


# Each operation is driven here rather than by schemathesis' pytest plugin, whose lazy fixture
# loading does not work with pytest 9; the strategies and checks are schemathesis' own.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_api_answers_every_generated_request_as_documented(fuzzed, mode):
    app, key = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode).filter(on_the_wire))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answer(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        try:
            answer()
        except Unsatisfiable:  # nothing about this operation can be invalid (GET /api/health takes no input)
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
