"""Apache Spark as an engine: the session, and recognising a Spark DataFrame without importing Spark.

Steward's statistics are additive (cells, window statistics, slice counts), so on Spark each is a
``groupBy().agg()`` (or per-partition partial statistics merged on the driver), and everything after the
counting runs on the driver unchanged. PySpark is the ``spark`` extra; it also needs a Java runtime (17 or
later). A missing one is a one-line error naming what to install; ``import steward`` never imports Spark.

>>> spark = spark_session()  # doctest: +SKIP
>>> steward.audit(spark.read.parquet("s3://bank/decisions/"), label="y", prediction="d", protected=["sex"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from typing import Any

from steward.errors import MissingExtraError

__all__ = ["spark_session", "is_spark_frame", "require_spark", "INSTALL"]

INSTALL = "pip install 'steward[spark]'"


def is_spark_frame(obj: Any) -> bool:
    """True for a PySpark DataFrame (classic or Spark Connect), judged by its class's module: no import."""
    for cls in type(obj).__mro__:
        if cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql"):
            return True
    return False


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def require_spark() -> Any:
    """The ``pyspark`` module, or a one-line error: PySpark missing (the extra), or no Java to run it."""
    try:
        import pyspark
    except ImportError:
        raise MissingExtraError(f"the Spark engine needs PySpark: {INSTALL} (and Java 17 or later)") from None
    if int(pyspark.__version__.split(".")[0]) < 4:
        raise MissingExtraError(f"the Spark engine needs PySpark 4 or later, found {pyspark.__version__}: {INSTALL}")
    if _java() is None:
        raise MissingExtraError("the Spark engine needs a Java runtime (17 or later) to start Spark: install one "
                                "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
    return pyspark


def spark_session(session: Any = None, *, master: str = "local[*]", app_name: str = "steward",
                  config: dict[str, str] | None = None) -> Any:
    """``session`` unchanged when given (a cluster's, Databricks'); else the active session, or a new local one:
    ``master`` (``local[*]``: every core), no web UI, this interpreter's Python for the workers, and a small
    number of shuffle partitions (Steward's aggregations produce few groups). Under ``spark-submit`` the
    master and settings it was given are kept (``master`` is not applied)."""
    if session is not None:
        return session
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # launched by spark-submit: keep its --master and its settings
        master = ""
    else:
        builder = builder.master(master)
    if master.startswith("local"):  # a local session listens on loopback only, and logs errors only
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        log4j = os.path.join(os.path.dirname(__file__), "log4j2-spark.properties")
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}"))
    builder = (builder
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.log.level", "ERROR")
               .config("spark.sql.shuffle.partitions", "8")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    for k, v in (config or {}).items():
        builder = builder.config(k, v)
    with warnings.catch_warnings():  # PySpark 4 warns that it does not fully support pandas 3; Steward moves no
        warnings.filterwarnings("ignore", message=".*pandas >= 3", category=FutureWarning)  # frames through it
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
