"""Make the data of tests/test_upgrade.py: a database filled by an older release's own code,
dumped table by table as JSON.

    python tests/upgrade_fixture.py GIT-REVISION tests/data/upgrade_NNNN.json.gz

takes the tree of GIT-REVISION (`git archive`, the working tree is left alone) and, with that
tree's code on a SQLite file in a temporary folder: `db upgrade`, `demo seed` (units, accounts,
complaints in every state with their clocks and timelines, documents), complaints with
attachments filed through the public form, `sla sweep` (escalations), `audit checkpoint`
(checkpoints are also signed every PENGADUAN_CHECKPOINT_EVERY events). It then dumps every
table of that schema (with the signing key that signed the checkpoints: a key made for this
fixture only, never used anywhere else) for the test to load into the old schema on SQLite
or PostgreSQL. Run it with the project's own virtualenv, from the project folder.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "upgrade-fixture-secret-key"  # keys the fixture's PIN hashes; a test value

FILE_WITH_ATTACHMENTS = r"""
import io, re, sys
from PIL import Image
from pengaduan import create_app
from pengaduan.services.administration.demo import CATEGORIES

app = create_app({"RATELIMIT_ENABLED": False})
category, _, units = CATEGORIES[0]
unit = (units or ["DUKCAPIL"])[0]
for i in range(3):
    client = app.test_client()
    page = client.get("/complaints/new").get_data(as_text=True)
    hidden = dict(re.findall(r'name="(submission|csrf_token)"[^>]*value="([^"]*)"', page))
    photo = io.BytesIO()
    Image.new("RGB", (16, 16), (40 * i, 90, 160)).save(photo, "PNG")
    photo.seek(0)
    response = client.post("/complaints/new", content_type="multipart/form-data", data={
        **hidden, "unit": unit, "category": category, "classification": "pengaduan",
        "title": f"Foto jalan rusak {i}", "description": "Lubang besar di depan kantor desa.",
        "privacy": "public", "name": "Siti Aminah", "email": f"siti{i}@example.id", "consent": "y",
        "attachments": [(photo, f"jalan-{i}.png", "image/png")]})
    if response.status_code != 302:
        sys.exit(f"filing {i}: {response.status_code} {response.get_data(as_text=True)[:2000]}")
print("filed 3 complaints with attachments")
"""


def build(revision: str, folder: Path) -> Path:
    """Fill a SQLite database with the code of `revision`; returns the database file."""
    old = folder / "tree"
    old.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    database = folder / "old.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": SECRET_KEY,
           "PENGADUAN_SIGNING_KEY": str(folder / "signing_key.pem"),
           "PENGADUAN_UPLOAD_DIR": str(folder / "uploads"), "PENGADUAN_SCHEDULER": "off",
           "PENGADUAN_CHECKPOINT_EVERY": "10", "PYTHONPATH": str(old)}
    for args in (["db", "upgrade"], ["demo", "seed"], None, ["sla", "sweep"], ["audit", "checkpoint"],
                 ["audit", "verify"]):
        command = [sys.executable, "-m", "flask", "--app", "run", *args] if args else \
            [sys.executable, "-c", FILE_WITH_ATTACHMENTS]
        done = subprocess.run(command, cwd=old, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        print((done.stdout.strip().splitlines() or [""])[-1])
    return database


def encode(value):
    """A JSON value that `decode` in test_upgrade.py turns back into the same Python value."""
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (dict, list)):
        return {"json": value}
    return value


def dump(database: Path, signing_key: Path, revision: str) -> dict:
    """Every table of the schema (not SQLite's full-text indexes, which the schema's triggers
    fill from the rows) with its columns and rows in primary-key order."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        virtual = [name for (name,) in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"))]
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    skip = lambda name: (name == "alembic_version" or name.startswith("sqlite_")  # noqa: E731
                         or any(name == v or name.startswith(v + "_") for v in virtual))
    metadata = MetaData()
    metadata.reflect(engine, only=lambda name, _: not skip(name))
    tables = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            tables[table.name] = {"columns": [c.name for c in table.columns],
                                  "rows": [[encode(v) for v in row] for row in rows]}
    engine.dispose()
    return {"alembic_revision": head, "source": revision, "secret_key": SECRET_KEY,
            "signing_key_pem": signing_key.read_text(), "tables": tables}


def main() -> None:
    revision, out = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = build(revision, folder)
        data = dump(database, folder / "signing_key.pem", revision)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True, separators=(",", ":"))
    rows = sum(len(t["rows"]) for t in data["tables"].values())
    print(f"{out}: revision {data['alembic_revision']} from {revision}, {len(data['tables'])} tables, "
          f"{rows} rows, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
