"""Fixtures: an app per test on a fresh migrated database (SQLite, and PostgreSQL when
PENGADUAN_TEST_DATABASE_URL is set), role actors, and a small organisation to work in."""
from __future__ import annotations

import os
import shutil
import uuid
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from organisation import PASSWORD, STAFF, World, organisation, seed_world  # noqa: F401
from pengaduan import create_app
from pengaduan.extensions import db
from pengaduan.models import AuditCheckpoint

PG_URL = os.environ.get("PENGADUAN_TEST_DATABASE_URL")
# Under pytest-xdist each worker process migrates and clones databases of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Argon2 with production parameters costs ~0.1 s a hash; tests create many accounts.
import pengaduan.models.user  # noqa: E402

pengaduan.models.user._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _config(url: str, tmp) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "PENGADUAN_SIGNING_KEY": str(tmp / "signing_key.pem"),
        "PENGADUAN_UPLOAD_DIR": str(tmp / "uploads"),
        "RATELIMIT_ENABLED": False,
    }


def _seed(url: str, seed, tmp) -> None:
    """Run `seed` on the database at `url` and commit, leaving no connection open (a
    PostgreSQL template must have none). No checkpoint is signed: the key here is not the
    one each test's app will have."""
    config = {**_config(url, tmp), "PENGADUAN_CHECKPOINT_EVERY": 0}
    app = create_app(config, instance_path=str(tmp / "instance"))
    with app.app_context():
        seed()
        assert not db.session.scalar(select(func.count()).select_from(AuditCheckpoint))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _migrate(url: str, tmp) -> None:
    from flask_migrate import upgrade

    app = create_app(_config(url, tmp), instance_path=str(tmp / "instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()


class SQLiteDatabases:
    """Migrate once into a template file, seed copies of it into further templates on first
    use; each test gets a copy of its template."""

    def __init__(self, tmp_factory):
        self.dir = tmp_factory.mktemp("sqlite-template")
        self.templates = {None: self.dir / "template.sqlite3"}
        _migrate(f"sqlite:///{self.templates[None]}", self.dir)

    def _template(self, seed):
        if seed not in self.templates:
            target = self.dir / f"{seed.__name__}.sqlite3"
            shutil.copy(self.templates[None], target)
            _seed(f"sqlite:///{target}", seed, self.dir)
            self.templates[seed] = target
        return self.templates[seed]

    def create(self, tmp, seed=None) -> str:
        target = tmp / "test.sqlite3"
        shutil.copy(self._template(seed), target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        pass

    def close(self) -> None:
        pass


AHEAD = 2  # clones made ahead of the tests that will use them, per template


class PostgresDatabases:
    """Migrate PENGADUAN_TEST_DATABASE_URL once; each test gets a database cloned from it.

    Cloning and dropping take a PostgreSQL server a few hundred milliseconds of waiting on
    the disk, so threads of their own do both: while a test runs, the next tests' clones are
    made and the last test's database is dropped. Every database a worker makes is named
    after the URL's (`<name>_<worker>_...`); a worker starts by dropping what an interrupted
    run left under its names, and `close` drops the rest, templates included."""

    def __init__(self, tmp_factory):
        self.url = make_url(PG_URL)
        if WORKER:
            self.url = self.url.set(database=f"{self.url.database}_{WORKER}")
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        for name in self._leftovers():
            self._drop(name)
        self._execute(f'CREATE DATABASE "{self.url.database}"')
        self.dir = tmp_factory.mktemp("pg-template")
        _migrate(self._url(self.url.database), self.dir)
        self.templates = {None: self.url.database}
        self.background = ThreadPoolExecutor(max_workers=AHEAD)
        self.next_clones: dict[str, deque[Future]] = defaultdict(deque)
        self.drops: list[Future] = []

    def _leftovers(self) -> list[str]:
        prefix = self.url.database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
        with self.admin.connect() as conn:
            return list(conn.scalars(text(
                "SELECT datname FROM pg_database WHERE datname = :name OR datname LIKE :prefix"
            ), {"name": self.url.database, "prefix": prefix + "\\_%"}))

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _clone(self, template: str) -> str:
        name = f"{self.url.database}_{uuid.uuid4().hex[:10]}"
        # WAL_LOG copies the template block by block; FILE_COPY would force a checkpoint of
        # the whole server each time, stalling the other workers' writes.
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')
        return name

    def _template(self, seed):
        if seed not in self.templates:
            name = f"{self.url.database}_{seed.__name__}"
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.templates[None]}" STRATEGY WAL_LOG')
            _seed(self._url(name), seed, self.dir)
            self.templates[seed] = name
        return self.templates[seed]

    def create(self, tmp, seed=None) -> str:
        template = self._template(seed)
        queue = self.next_clones[template]
        while len(queue) <= AHEAD:
            queue.append(self.background.submit(self._clone, template))
        return self._url(queue.popleft().result())

    def drop(self, url: str) -> None:
        self.drops.append(self.background.submit(self._drop, make_url(url).database))

    def close(self) -> None:
        """Drop every database this worker made; raise at the end if any could not be."""
        made = [clone for queue in self.next_clones.values() for clone in queue]
        self.background.shutdown(wait=True)
        failures = [f.exception() for f in self.drops + made if f.exception()]
        for name in [f.result() for f in made if not f.exception()] + list(self.templates.values()):
            try:
                self._drop(name)
            except Exception as exc:  # keep dropping the others
                failures.append(exc)
        self.admin.dispose()
        if failures:
            raise RuntimeError(f"{len(failures)} test databases could not be made or dropped: {failures[0]}")


_databases: dict[str, object] = {}


@pytest.fixture(scope="session", autouse=True)
def _close_databases():
    yield
    for databases in _databases.values():
        databases.close()


class SharedTemplates(BytecodeCache):
    """Compiled templates shared by every app the tests build. Each test has an app, and so a
    Jinja environment, of its own; compiling the same templates again in each cost more than
    most tests. A template's entry is keyed by its source's checksum, so an edit is seen."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedTemplates()


def _shared_databases(name: str, tmp_path_factory):
    if name not in _databases:
        cls = SQLiteDatabases if name == "sqlite" else PostgresDatabases
        _databases[name] = cls(tmp_path_factory)
    return _databases[name]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path_factory):
    return _shared_databases(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def postgres_databases(tmp_path_factory):
    """The PostgreSQL test databases, for tests that start whole deployments of their own
    (several nodes, a container) instead of using the `app` fixture. Test modules cannot
    import this file: the name `conftest` may stand for tests/browser/conftest.py."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set PENGADUAN_TEST_DATABASE_URL")
    return _shared_databases("postgresql", tmp_path_factory)


@pytest.fixture(scope="session")
def app_config():
    """The configuration of a test app on a database URL and a folder: `app_config(url, tmp)`."""
    return _config


@pytest.fixture
def app(backend, tmp_path, request):
    # A test that asks for `world` starts from a copy of a template that already holds it.
    url = backend.create(tmp_path, seed_world if "world" in request.fixturenames else None)
    app = create_app(_config(url, tmp_path), instance_path=str(tmp_path / "instance"))
    app.jinja_env.bytecode_cache = TEMPLATES
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


@pytest.fixture
def ctx(app):
    """An application context for calling services directly.

    Not for tests that also send requests with `client`: requests would reuse this context
    (and its `g`), so two browsers would share one CSRF token and language.
    """
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(ctx) -> World:
    """The organisation, read from the database the test started with (see `app`); a test
    module that builds its own app gets it seeded here instead."""
    from pengaduan.models import Unit

    if Unit.by_code("UNIT-A") is None:
        seed_world()
        db.session.commit()
    return organisation()
