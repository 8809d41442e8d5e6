"""One local Spark session for every Spark test (starting one costs seconds).

The tests here are marked ``spark``: deselect them locally with ``-m 'not spark'``. Without PySpark or Java they
are skipped, unless ``STEWARD_REQUIRE_SPARK=1`` (set by ``.ci/run``) makes that a failure."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/spark/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark():
    from steward.engine._spark import require_spark, spark_session
    from steward.errors import MissingExtraError

    try:
        require_spark()
    except MissingExtraError as exc:
        if os.environ.get("STEWARD_REQUIRE_SPARK") == "1":
            pytest.fail(f"{exc}; STEWARD_REQUIRE_SPARK=1 makes this a failure")
        pytest.skip(str(exc))
    session = spark_session(master="local[2]")
    yield session
    session.stop()
