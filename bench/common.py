"""What every benchmark needs: the project on the import path, a database (a temporary SQLite
file unless a URL is given), an app on it, and a line saying what machine ran it."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parser(doc: str, filled: bool = False) -> argparse.ArgumentParser:
    """The benchmark's options, starting with the database it runs on (`filled`: one that
    bench/generate.py filled, required)."""
    options = argparse.ArgumentParser(description=doc.splitlines()[0])
    if filled:
        options.add_argument("--database-url", required=True, help="a database filled by bench/generate.py")
    else:
        options.add_argument("--database-url", help="default: a temporary SQLite file; a PostgreSQL "
                             "URL must name a database created for the benchmark")
    return options


def migrated_app(url: str, tmp: str, **config):
    """An app on the database, its schema brought up to date."""
    from flask_migrate import upgrade

    app = make_app(url, tmp, **config)
    with app.app_context():
        upgrade()
    return app


def database(url: str | None) -> tuple[str, str]:
    """(database URL, a fresh temporary folder for the instance and the signing key)."""
    tmp = tempfile.mkdtemp(prefix="pengaduan-bench-")
    return url or f"sqlite:///{tmp}/bench.sqlite3", tmp


def make_app(url: str, tmp: str, **config):
    from pengaduan import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "PENGADUAN_SIGNING_KEY": os.path.join(tmp, "key.pem"), **config},
                      instance_path=tmp)


def machine(url: str) -> str:
    return (f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"database {url.split(':')[0]}")


def bulk_insert(db, model, rows: list[dict]) -> None:
    """Rows (dicts with the same keys) into the model's table, in the session's transaction:
    COPY on PostgreSQL (several times faster than INSERT for millions of rows), one
    executemany INSERT on SQLite."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        from sqlalchemy import insert

        db.session.execute(insert(model), rows)
        return
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    conn = db.session.connection().connection.driver_connection
    with conn.cursor() as cursor, cursor.copy(
            f"COPY {model.__table__.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Jsonb(v) if isinstance(v, (dict, list)) else v for v in row.values()])


def settle(db) -> None:
    """Planner statistics, and on PostgreSQL the visibility map, as autovacuum keeps them for
    tables that grew over years (a freshly bulk-filled table has neither)."""
    from sqlalchemy import text

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at `fraction` of the sorted samples (0.95: the p95), nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timings(function, rounds: int, warmup: int = 0) -> list[float]:
    """Milliseconds of each of `rounds` calls of `function`, after `warmup` calls untimed."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MB."""
    with open("/proc/self/statm") as fh:
        return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


class PeakRss:
    """The highest resident memory of this process while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        import threading

        self.peak, self._stop = rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())
