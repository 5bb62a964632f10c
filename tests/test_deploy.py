"""The deployment kit in deploy/ (README "The deployment kit"): the systemd units checked by
`systemd-analyze verify` with the paths they name made real, the settings example against what
pengaduan/config.py reads, the compose file's services, the Prometheus examples against the
metrics the app exports, and the container image built and started with podman.

Without systemd-analyze or podman those tests are skipped, unless PENGADUAN_REQUIRE_SYSTEMD=1
or PENGADUAN_REQUIRE_PODMAN=1 (CI) makes the absence a failure.
"""
from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from live import free_port
from pengaduan.config import load_config
from redis_server import RedisServer, skip_unless_available as skip_without_redis
from system_tools import require

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = DEPLOY / "pengaduan.env.example"
SERVICES = ("pengaduan-web.service", "pengaduan-worker.service", "pengaduan-backup.service")
# Where the units expect the project, its virtual environment and the settings.
PROJECT, VENV, ENV_FILE = "/opt/pengaduan", "/opt/pengaduan/.venv", "/etc/pengaduan/pengaduan.env"
INSTANCE = "/opt/pengaduan/instance"


# --- systemd ---------------------------------------------------------------------------------

def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}}, continuation lines joined."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    text = re.sub(r"\\\n\s*", " ", (UNITS / name).read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def render(target: Path) -> Path:
    """The units with the project folder and the virtual environment they name pointing at this
    checkout and the Python running the tests, and the settings at an existing file: what
    `systemd-analyze verify` checks (every command it would start exists and is executable)
    is then about this project's own commands."""
    target.mkdir()
    env_file = target / "pengaduan.env"
    shutil.copy(ENV_EXAMPLE, env_file)
    for path in sorted(UNITS.iterdir()):
        text = (path.read_text().replace(VENV, sys.prefix).replace(PROJECT, str(ROOT))
                .replace(ENV_FILE, str(env_file)))
        (target / path.name).write_text(text)
    return target


def test_units_pass_systemd_analyze_verify(tmp_path):
    """Each unit as systemd loads it: no unknown key, no key in the wrong section, no command
    missing (verify prints a warning and still exits 0 for the first two: any output fails)."""
    if shutil.which("systemd-analyze") is None:
        require("SYSTEMD", "systemd-analyze is not installed (apt-get install systemd)")
    rendered = render(tmp_path / "units")
    names = sorted(p.name for p in UNITS.iterdir())
    assert set(SERVICES) | {"pengaduan-backup.timer"} <= set(names)
    result = subprocess.run(["systemd-analyze", "verify", *(f"./{n}" for n in names)], cwd=rendered,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr
    # The check can fail: a command that does not exist is reported.
    broken = rendered / "pengaduan-worker.service"
    broken.write_text(broken.read_text().replace("/bin/flask ", "/bin/no-such-flask "))
    result = subprocess.run(["systemd-analyze", "verify", "./pengaduan-worker.service"], cwd=rendered,
                            capture_output=True, text=True, timeout=60)
    assert "no-such-flask" in result.stdout + result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_services_run_hardened_as_the_app_user(name):
    """Every service: the dedicated user, the settings file, the project folder, and a system it
    may not change but for its own folders."""
    service = unit(name)["Service"]
    assert service["User"] == ["pengaduan"] and service["Group"] == ["pengaduan"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["WorkingDirectory"] == [PROJECT]  # gunicorn.conf.py, run.py, workflows/
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
                       "CapabilityBoundingSet": ""}.items():
        assert service[key] == [value], key
    writable = service["ReadWritePaths"][0].split()
    if name == "pengaduan-backup.service":
        assert writable == ["/var/backups/pengaduan", INSTANCE]  # and records its run (SQLite)
    else:
        assert writable == [INSTANCE]  # the generated keys and the local uploads


def test_web_unit_serves_gunicorn_with_shared_metrics_and_graceful_stops():
    service = unit("pengaduan-web.service")["Service"]
    command = service["ExecStart"][0].split()
    assert command[0] == f"{VENV}/bin/gunicorn" and command[-1] == "run:app"
    assert "--preload" not in command  # the README: it would start work before forking
    assert service["Type"] == ["notify"]  # gunicorn tells systemd when it serves
    runtime = service["RuntimeDirectory"][0].split()
    metrics = dict(v.split("=", 1) for v in service["Environment"])["PROMETHEUS_MULTIPROC_DIR"]
    # A folder systemd empties at each start: a stale worker's figures never count twice.
    assert metrics.removeprefix("/run/") in runtime
    assert service["ExecReload"] == ["""/bin/sh -c 'kill -s HUP "$MAINPID"'"""]  # new workers, old finish
    assert service["KillSignal"] == ["SIGTERM"] and service["KillMode"] == ["mixed"]


def test_worker_unit_always_restarts_and_backup_timer_is_persistent():
    worker = unit("pengaduan-worker.service")
    assert worker["Service"]["ExecStart"] == [f"{VENV}/bin/flask --app run sla worker"]
    assert worker["Service"]["Restart"] == ["always"]
    assert worker["Unit"]["StartLimitIntervalSec"] == ["0"]  # never gives up on a database outage
    backup = unit("pengaduan-backup.service")["Service"]
    assert "flask --app run backup create --out" in backup["ExecStart"][0]
    assert backup["Type"] == ["oneshot"]
    timer = unit("pengaduan-backup.timer")["Timer"]
    assert timer["Persistent"] == ["true"] and timer["OnCalendar"]


def test_commands_the_units_start_exist():
    """The flask commands in the units' ExecStart lines, asked for their help from the project
    folder as the units start them (a renamed command would fail here, not on the server)."""
    commands = [unit("pengaduan-worker.service")["Service"]["ExecStart"][0],
                re.search(r"flask --app run backup create", unit("pengaduan-backup.service")["Service"]
                          ["ExecStart"][0]).group(0)]
    for command in commands:
        argv = command.split()
        argv[0] = str(Path(sys.prefix) / "bin" / "flask")
        result = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True,
                                timeout=120, env={**os.environ, "DATABASE_URL": "sqlite://"})
        assert result.returncode == 0, result.stdout + result.stderr


# --- the settings example ----------------------------------------------------------------------

SETTING = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def example() -> tuple[dict[str, str], dict[str, str]]:
    """(settings set, settings shown commented out) of the example file."""
    active, commented = {}, {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := SETTING.match(line):
            (commented if line.startswith("#") else active)[match.group(1)] = match.group(2)
    return active, commented


def names_config_reads() -> set[str]:
    """The environment variables pengaduan/config.py reads: every upper-case name passed to a
    call there (env.get("X"), _whole(env, "X", ...)); the keys of the config it returns are not
    call arguments."""
    tree = ast.parse((ROOT / "pengaduan" / "config.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and re.fullmatch(r"[A-Z][A-Z0-9_]+", arg.value):
                    names.add(arg.value)
    return names


def test_env_example_names_every_setting_and_only_settings():
    """Every setting config.py reads is in the example (set, or shown commented out), and the
    example names nothing config.py does not read (a misspelt name would be ignored silently)."""
    active, commented = example()
    named = set(active) | set(commented)
    read = names_config_reads()
    assert {"DATABASE_URL", "PENGADUAN_BASE_URL", "RATELIMIT_STORAGE_URI"} <= read  # the parse works
    assert not named - read, f"not read by pengaduan/config.py: {sorted(named - read)}"
    assert not read - named, f"missing from {ENV_EXAMPLE.name}: {sorted(read - named)}"
    assert not set(active) & set(commented)


def test_env_example_is_accepted_and_holds_no_secret(tmp_path):
    """The example's values start the app as they stand, and with each commented line set in
    turn; every secret in it is left empty."""
    active, commented = example()
    config = load_config(str(tmp_path / "instance"), env=dict(active))
    assert config["PENGADUAN_PROXY_COUNT"] == 1 and config["SESSION_COOKIE_SECURE"]
    assert config["PENGADUAN_SCHEDULER"] == "off"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    for name, value in commented.items():
        load_config(str(tmp_path / "instance"), env={**active, name: value})
    for name in ("SECRET_KEY", "MAIL_PASSWORD", "PENGADUAN_IMAP_PASSWORD", "PENGADUAN_METRICS_TOKEN"):
        assert commented.get(name, active.get(name)) == "", name
    assert not re.search(r"://[^/@\s]+:[^/@\s]+@", active["DATABASE_URL"])


def test_cli_wrapper_reads_the_settings_file_as_the_units_do(tmp_path):
    """deploy/pengaduan-cli (installed as /usr/local/bin/pengaduan) runs flask with every line of
    the settings file read as systemd reads it (spaces inside a value kept, blanks around it and
    one pair of quotes around it dropped, an indented line and a `;` comment accepted), from the
    project folder; a line that is not KEY=value stops it."""
    database = tmp_path / "cli.sqlite3"
    env_file = tmp_path / "pengaduan.env"
    env_file.write_text(ENV_EXAMPLE.read_text() + f"DATABASE_URL=sqlite:///{database}\n"
                        "RATELIMIT_STORAGE_URI=memory://\nPENGADUAN_OFFICE_NAME=Dinas  Kominfo\n"
                        "  ; a comment as systemd allows it\n  MAIL_DEFAULT_SENDER = \"Lapor  <l@example.go.id>\" \n")
    env = {**os.environ, "PENGADUAN_USER": pwd.getpwuid(os.geteuid()).pw_name, "PENGADUAN_HOME": str(ROOT),
           "PENGADUAN_VENV": sys.prefix, "PENGADUAN_ENV_FILE": str(env_file)}
    env.pop("DATABASE_URL", None)
    cli = str(DEPLOY / "pengaduan-cli")
    result = subprocess.run([cli, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and database.exists(), result.stderr[-3000:]
    result = subprocess.run([cli, "shell"], env=env, capture_output=True, text=True, timeout=120, input=(
        "print(repr((app.config['PENGADUAN_OFFICE_NAME'], app.config['PENGADUAN_PROXY_COUNT'],"
        " app.config['MAIL_DEFAULT_SENDER'])))\n"))
    assert "('Dinas  Kominfo', 1, 'Lapor  <l@example.go.id>')" in result.stdout, \
        result.stdout + result.stderr[-3000:]
    env_file.write_text("DATABASE_URL sqlite://\n")
    result = subprocess.run([cli, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not KEY=value" in result.stderr


# --- compose and Prometheus ----------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_migrations_before_web_and_worker():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "migrate"} <= set(services)
    app_services = ("migrate", "web", "worker")
    for name in app_services:
        service = services[name]
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() \
            == DEPLOY / "Containerfile"
        assert service["env_file"] == "pengaduan.env"
        assert "instance:/app/instance" in service["volumes"]  # one set of keys for all three
        assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/pengaduan")
        assert service["environment"]["RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert services["migrate"]["command"] == ["flask", "--app", "run", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"] == ["flask", "--app", "run", "sla", "worker"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    # No password in the file: it comes from the shell's environment.
    assert "${POSTGRES_PASSWORD:?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_prometheus_examples_name_the_metrics_the_app_exports():
    """The scrape job reads its token from a file, and every pengaduan_* series the alerts use is
    one pengaduan/monitoring exports (a renamed metric would leave an alert that never fires)."""
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job, = (j for j in scrape["scrape_configs"] if j["job_name"] == "pengaduan")
    assert job["metrics_path"] == "/metrics"
    assert set(job["authorization"]) == {"type", "credentials_file"}  # never the token itself
    rules = yaml.safe_load((DEPLOY / "prometheus" / "pengaduan-alerts.yml").read_text())
    exprs = [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]
    used = {re.sub(r"_(total|count|sum|bucket)$", "", name)
            for name in re.findall(r"\bpengaduan_[a-z_]+", " ".join(exprs))}
    source = "".join(p.read_text() for p in (ROOT / "pengaduan" / "monitoring").glob("*.py"))
    exported = set(re.findall(r"\"(pengaduan_[a-z_]+)\"", source))
    assert used and not used - exported, f"not exported: {sorted(used - exported)}"
    # The README's rules to start from are these very ones (same names, same expressions).
    readme = (ROOT / "README.md").read_text()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", readme, re.S)
              if "alert: Pengaduan" in block]
    shown = {rule["alert"]: str(rule["expr"]) for block in blocks for group in block["groups"]
             for rule in group["rules"]}
    ours = {rule["alert"]: str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]}
    assert shown == ours


# --- the container image -------------------------------------------------------------------------

# The base when no registry is reachable: Debian bookworm made with debootstrap, with Python and
# the libraries the Containerfile would otherwise install. Its tag names its recipe, so a
# changed recipe makes a new base and an unchanged one is reused by every later run.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "libpango-1.0-0", "libpangoft2-1.0-0",
                 "fonts-dejavu-core", "postgresql-client")
BASE_MIRROR = "http://deb.debian.org/debian"
# Tags of this run's own: a run at the same time builds and tags its own (the layer cache is
# shared), and the names are removed at the end (the layers stay for the next build).
RUN_TAG = f"run-{uuid.uuid4().hex[:12]}"
IMAGE = f"localhost/pengaduan-ci:{RUN_TAG}"


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def container_options() -> list[str]:
    """Options for every container podman starts here: the runtime (runc when installed: crun
    refuses a host with cgroup v1 and v2 controllers mixed) and resource limits no higher than
    this process's own (a container manager without CAP_SYS_RESOURCE may not raise them)."""
    options = []
    runtime = os.environ.get("PENGADUAN_PODMAN_RUNTIME") or ("runc" if shutil.which("runc") else "")
    if runtime:
        options += ["--runtime", runtime]
    nofile, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    nofile = nofile if nofile != resource.RLIM_INFINITY else 65536
    nproc = min(nproc if nproc != resource.RLIM_INFINITY else 4096, 4096)
    return options, ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def local_base(tmp_path: Path) -> str:
    """PENGADUAN_PODMAN_BASE when given, else the debootstrap base (made once, then reused). The
    host's CA bundle goes in with it: a build behind a TLS-inspecting proxy reaches PyPI."""
    if given := os.environ.get("PENGADUAN_PODMAN_BASE"):
        return given
    recipe = hashlib.sha256(" ".join(("bookworm", "minbase", *BASE_PACKAGES)).encode()).hexdigest()[:12]
    tag = f"localhost/pengaduan-ci-base:bookworm-{recipe}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
        require("PODMAN", "no base image: debootstrap is not installed (apt-get install "
                               "debootstrap) and PENGADUAN_PODMAN_BASE is unset")
    rootfs = tmp_path / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                    "bookworm", str(rootfs), BASE_MIRROR], check=True, capture_output=True, timeout=900)
    shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    for deb in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        shutil.copy(bundle, rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(["podman", "import", "-", tag], stdin=tar.stdout, capture_output=True,
                              text=True, timeout=600)
    tar.wait()
    assert imported.returncode == 0, imported.stderr
    return tag


@pytest.fixture(scope="module", autouse=True)
def _untag_this_runs_images():
    """This run's image names are removed when the module's tests are done."""
    yield
    if podman_missing() is None:
        for tag in (IMAGE, SERVER):
            podman("untag", tag, tag, check=False)


def podman_missing() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman)"
    if os.geteuid() != 0:
        return "the image test runs podman as root (rootful), and the tests are not root"
    return None


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def build_image(tmp_path: Path) -> tuple[list[str], list[str]]:
    """deploy/Containerfile built with podman, its base passed as BASE (as an office without a
    registry would), with layer caching: only the code's layers are rebuilt on a later run.
    One build at a time (two tests in two processes wait for each other and share the cache)."""
    if reason := podman_missing():
        require("PODMAN", reason)
    runtime, limits = container_options()
    with open("/tmp/pengaduan-ci-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = local_base(tmp_path)
        started = time.monotonic()
        podman(*runtime, "build", *limits, "--layers", "-f", str(DEPLOY / "Containerfile"),
               "--build-arg", f"BASE={base}", "-t", IMAGE, str(ROOT), timeout=1200)
        print(f"image built in {time.monotonic() - started:.0f} s")
    return runtime, limits


def wait_for(url: str, status: int = 200, seconds: float = 90) -> tuple[int | None, str]:
    deadline = time.monotonic() + seconds
    answer: tuple[int | None, str] = (None, "")
    while time.monotonic() < deadline:
        try:
            answer = get(url)
            if answer[0] == status:
                break
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    return answer


def test_container_image_builds_migrates_serves_and_stops_gracefully(tmp_path):
    """The image as compose runs it, on SQLite: the migrate step on the instance volume, the web
    answering /healthz (published port) and /metrics as a user other than root, the worker
    running, both stopped by SIGTERM with exit status 0 (gunicorn finishes the requests in
    flight)."""
    runtime, limits = build_image(tmp_path)
    suffix = uuid.uuid4().hex[:8]
    volume, web, worker = f"pengaduan-ci-instance-{suffix}", f"pengaduan-ci-web-{suffix}", \
        f"pengaduan-ci-worker-{suffix}"
    env = ["-e", "DATABASE_URL=sqlite:////app/instance/pengaduan.sqlite3", "-e", "PENGADUAN_SCHEDULER=off"]
    try:
        podman(*runtime, "run", *limits, "--rm", "-v", f"{volume}:/app/instance", *env, IMAGE,
               "flask", "--app", "run", "db", "upgrade", timeout=300)
        port = free_port()
        podman(*runtime, "run", *limits, "-d", "--name", web, "-p", f"127.0.0.1:{port}:8000",
               "-v", f"{volume}:/app/instance", *env, IMAGE)
        podman(*runtime, "run", *limits, "-d", "--name", worker, "-v", f"{volume}:/app/instance", *env,
               IMAGE, "flask", "--app", "run", "sla", "worker")
        status, body = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, podman("logs", web, check=False).stderr[-3000:]
        assert json.loads(body) == {"status": "ok", "database": "ok"}
        assert get(f"http://127.0.0.1:{port}/")[0] == 200
        # /metrics from inside the container (its own address is allowed): one gunicorn adding
        # up its workers' figures through the multiprocess folder.
        metrics = podman("exec", web, "python3", "-c", "import urllib.request; print(urllib.request."
                         "urlopen('http://127.0.0.1:8000/metrics', timeout=10).read().decode())")
        assert "pengaduan_http_requests_total" in metrics.stdout
        assert podman("exec", web, "id", "-u").stdout.strip() != "0"
        assert podman("exec", web, "sh", "-c", "ls /tmp/pengaduan-metrics").stdout.strip()
        assert podman("inspect", "--format", "{{.State.Running}}", worker).stdout.strip() == "true"
        for name in (web, worker):
            podman("stop", "-t", "60", name, timeout=120)
            code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            assert code == "0", podman("logs", name, check=False).stderr[-3000:]
    finally:
        podman("rm", "-f", web, worker, check=False)
        podman("volume", "rm", "-f", volume, check=False)


# Stand-ins for the official PostgreSQL and Redis images the compose file names (no registry is
# reachable here): Debian's packages behind the same contract (POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB create the role and database on an empty volume; Redis answers any address).
STAND_IN_POSTGRES = """\
ARG BASE
FROM ${BASE}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \\
    && rm -rf /var/lib/apt/lists/* \\
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \\
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
RUN printf '%s\\n' '#!/bin/sh' 'set -eu' \\
    'if [ ! -s "$PGDATA/PG_VERSION" ]; then' \\
    '  printf "%s\\n" "$POSTGRES_PASSWORD" > /tmp/pw' \\
    '  initdb -D "$PGDATA" --encoding UTF8 --locale C.UTF-8 -U "$POSTGRES_USER" --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256' \\
    '  rm /tmp/pw && echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"' \\
    '  pg_ctl -D "$PGDATA" -o "-c listen_addresses=" -w start && createdb -U "$POSTGRES_USER" "$POSTGRES_DB"' \\
    '  pg_ctl -D "$PGDATA" -m fast -w stop' \\
    'fi' \\
    'exec postgres -D "$PGDATA" -c listen_addresses=*' > /usr/local/bin/entrypoint && chmod 0755 /usr/local/bin/entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
ENTRYPOINT ["/usr/local/bin/entrypoint"]
"""
STAND_IN_REDIS = """\
ARG BASE
FROM ${BASE}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \\
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/bin/sh", "-c", "exec \\"$@\\" --protected-mode no --bind 0.0.0.0", "redis"]
CMD ["redis-server"]
"""


def test_compose_file_runs_with_podman_compose(tmp_path):
    """deploy/compose.yaml as it stands, run by podman-compose with the app's image and stand-ins
    for PostgreSQL and Redis: the database and Redis healthy, the migrate step, then the web and
    the worker (in that order by hand: podman 4.3 cannot wait for a health check, and a
    podman-compose on it skips those conditions); the web answers /healthz (its compose health
    check passes too) and /readyz once the worker ran, through the names and password the file
    wires; `backup create` and `users create` run in the web container."""
    runtime, limits = build_image(tmp_path)
    compose_tool = os.environ.get("PENGADUAN_PODMAN_COMPOSE") or shutil.which("podman-compose")
    if not compose_tool:
        require("PODMAN", "podman-compose is not installed (pip install podman-compose, in a "
                               "virtual environment of its own: .ci/run)")
    base = local_base(tmp_path)
    with open("/tmp/pengaduan-ci-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name, text in (("postgres", STAND_IN_POSTGRES), ("redis", STAND_IN_REDIS)):
            (tmp_path / f"Containerfile.{name}").write_text(text)
            podman(*runtime, "build", *limits, "--layers", "--build-arg", f"BASE={base}", "-f",
                   str(tmp_path / f"Containerfile.{name}"), "-t", f"localhost/pengaduan-ci-{name}:latest",
                   str(tmp_path), timeout=900)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", project / "compose.yaml")
    shutil.copy(ENV_EXAMPLE, project / "pengaduan.env")
    name, port = f"pengaduanci{uuid.uuid4().hex[:8]}", free_port()
    env = {**os.environ, "POSTGRES_PASSWORD": uuid.uuid4().hex, "PENGADUAN_IMAGE": IMAGE,
           "POSTGRES_IMAGE": "localhost/pengaduan-ci-postgres:latest",
           "REDIS_IMAGE": "localhost/pengaduan-ci-redis:latest", "PENGADUAN_WEB_PORT": str(port)}
    base_args = [compose_tool, f"--podman-args={' '.join(runtime)}", f"--podman-run-args={' '.join(limits)}",
                 "-p", name, "-f", str(project / "compose.yaml")]

    def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*base_args, *args], cwd=project, env=env, capture_output=True,
                                text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)}: {result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result

    def healthy(service: str) -> bool:
        return podman("healthcheck", "run", f"{name}_{service}_1", check=False).returncode == 0

    try:
        compose("up", "-d", "postgres", "redis")
        deadline = time.monotonic() + 90
        while not (healthy("postgres") and healthy("redis")):
            assert time.monotonic() < deadline, "PostgreSQL and Redis did not become healthy"
            time.sleep(0.5)
        compose("run", "--rm", "migrate")
        compose("up", "-d", "--no-deps", "web", "worker")
        status, body = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, compose("logs", "web", check=False).stdout[-3000:]
        assert healthy("web")
        status, body = wait_for(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["ready"] is True, body
        # The host's nginx is the trusted proxy: the address it forwards is the client's (here
        # one /metrics allows, then one it does not).
        for client, expected in (("127.0.0.1", 200), ("203.0.113.7", 404)):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                             headers={"X-Forwarded-For": client})
            try:
                answer = urllib.request.urlopen(request, timeout=10).status
            except urllib.error.HTTPError as exc:
                answer = exc.code
            assert answer == expected, client
        made = compose("exec", "web", "flask", "--app", "run", "backup", "create", "--out",
                       "/app/instance/backups/first")
        assert "backup written to /app/instance/backups/first: postgresql database" in made.stdout
        compose("exec", "web", "flask", "--app", "run", "users", "create", "admin@example.go.id",
                "--role", "admin")
    finally:
        compose("down", "-v", check=False)


# A Debian server in a container: systemd as PID 1 and the packages of the walk-through's first
# step (read from the README), plus the app's virtual environment from its image (the README's
# `pip install -r requirements.txt`, done once by the Containerfile instead of at every run).
SERVER_IMAGE = """\
ARG APP
ARG BASE
FROM ${APP} AS app
FROM ${BASE}
ARG PACKAGES
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
       systemd systemd-sysv adduser openssl $PACKAGES
COPY --from=app /venv /venv
# Debian's Redis unit asks for a user namespace of its own, which no container here may make.
RUN mkdir -p /etc/systemd/system/redis-server.service.d \\
    && printf '[Service]\\nPrivateUsers=no\\n' > /etc/systemd/system/redis-server.service.d/container.conf
CMD ["/lib/systemd/systemd"]
"""
SERVER = f"localhost/pengaduan-ci-server:{RUN_TAG}"
SITE = "pengaduan.example.go.id"
LIVE = f"/etc/letsencrypt/live/{SITE}"

# What the walk-through's commands need changed to run in a container without the Internet's
# name for the site: each (README text, what runs instead), every one required to be found.
STAND_INS = [
    ("timedatectl set-ntp true", "true  # a container keeps the host's clock"),
    ("python3 -m venv /opt/pengaduan/.venv\n/opt/pengaduan/.venv/bin/pip install -r "
     "/opt/pengaduan/requirements.txt", "ln -s /venv /opt/pengaduan/.venv"),
    ("editor /etc/pengaduan/pengaduan.env", "true  # the example's values"),
    # No certificate authority reaches this container: a self-signed certificate where certbot
    # would put one.
    (f"certbot certonly --webroot -w /var/www/letsencrypt -d {SITE} \\\n"
     "    -m admin@example.go.id --agree-tos --no-eff-email --deploy-hook \"systemctl reload nginx\"",
     f"mkdir -p {LIVE} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN={SITE} "
     f"-keyout {LIVE}/privkey.pem -out {LIVE}/fullchain.pem"),
    # One server: only 127.0.0.1:8000 in the upstream, as the walk-through says.
    ("editor /etc/nginx/sites-available/pengaduan.conf",
     "sed -i '/server 10\\.0\\.0\\.12:8000/d' /etc/nginx/sites-available/pengaduan.conf"),
    (f"curl -sI https://{SITE}/", f"curl -sIk --resolve {SITE}:443:127.0.0.1 https://{SITE}/"),
    # The container's network is the host's business: the rules are written, not loaded.
    ("systemctl enable --now nftables", "true  # no firewall inside a container"),
]


def walkthrough() -> list[str]:
    """The shell blocks of README "From an empty Debian server to a running service", in order,
    with the stand-ins above."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### From an empty Debian server to a running service", 1)[1].split("\n### ", 1)[0]
    blocks = [textwrap.dedent(body) for _indent, body in re.findall(r"\n( *)```sh\n(.*?)\n\1```", section, re.S)]
    script = "\n#--\n".join(blocks)
    for old, new in STAND_INS:
        assert old in script, f"the walk-through no longer has: {old}"
        script = script.replace(old, new)
    return script.split("\n#--\n")


def release_archive(target: Path) -> Path:
    """The project as its release archive holds it (the files git knows of, as they are now)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True).stdout
    archive = target / "pengaduan-VERSION.tar.gz"
    existing = b"\0".join(f for f in files.split(b"\0") if f and (ROOT / f.decode()).exists())
    subprocess.run(["tar", "-czf", str(archive), "--null", "-T", "-", "--transform", "s,^,pengaduan/,"],
                   cwd=ROOT, input=existing, check=True)
    return archive


def mount_options(container: str, pid: str) -> dict[str, str]:
    """{mount point: options} in the mount namespace of a process of the container."""
    lines = podman("exec", container, "cat", f"/proc/{pid}/mountinfo").stdout.splitlines()
    return {line.split()[4]: line.split()[5] for line in lines}


def test_readme_walkthrough_runs_on_a_debian_server_under_systemd(tmp_path):
    """The walk-through as an administrator copies it, on a Debian server in a container
    (systemd as PID 1; podman): every shell block of the README's part in order, with the
    stand-ins above (no certificate authority, no public name, the virtual environment from
    the image). Then: the web answers through nginx over TLS; it runs in a mount namespace where
    the system is read-only but the instance folder, with a private /tmp and the metrics folder
    systemd made; a reload (HUP) keeps the master and starts new workers; the backup timer's
    service wrote a backup; two-step verification became required; /readyz is ready; stopping
    ends the web and the worker cleanly."""
    runtime, limits = build_image(tmp_path)
    if shutil.which("systemd-analyze") is None:
        require("SYSTEMD", "systemd is not installed (apt-get install systemd)")
    blocks = walkthrough()
    packages = re.search(r"apt-get install -y --no-install-recommends ((?:.*\\\n)*.*)", blocks[0])
    packages = " ".join(packages.group(1).replace("\\", " ").split())
    folder = tmp_path / "server-image"
    folder.mkdir()
    (folder / "Containerfile").write_text(SERVER_IMAGE)
    with open("/tmp/pengaduan-ci-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        podman(*runtime, "build", *limits, "--layers", "--build-arg", f"APP={IMAGE}",
               "--build-arg", f"BASE={local_base(tmp_path)}", "--build-arg", f"PACKAGES={packages}",
               "-t", SERVER, str(folder), timeout=1200)
    name = f"pengaduan-ci-server-{uuid.uuid4().hex[:8]}"
    # SYS_ADMIN: systemd inside builds each service's mount namespace (ProtectSystem= and the
    # like); without it, it would run the services without their sandbox.
    podman(*runtime, "run", *limits, "-d", "--name", name, "--systemd=always", "--cap-add", "SYS_ADMIN",
           SERVER)

    def sh(script: str, check: bool = True) -> subprocess.CompletedProcess:
        result = podman("exec", "-w", "/root", name, "bash", "-e", "-c", script,
                        timeout=600, check=False)
        if check and result.returncode != 0:
            journal = podman("exec", name, "journalctl", "--no-pager", "-n", "60", check=False).stdout
            raise AssertionError(f"{script}\n--- exit {result.returncode}\n{result.stdout[-3000:]}"
                                 f"{result.stderr[-3000:]}\n--- journal\n{journal}")
        return result

    try:
        deadline = time.monotonic() + 180
        while sh("systemctl is-system-running", check=False).stdout.strip() not in ("running", "degraded"):
            assert time.monotonic() < deadline, "systemd did not finish booting"
            time.sleep(0.5)
        podman("cp", str(release_archive(tmp_path)), f"{name}:/root/pengaduan-VERSION.tar.gz")
        outputs = [sh(block).stdout for block in blocks]
        everything = "\n".join(outputs)
        assert '{"database":"ok","status":"ok"}' in everything  # step 6, gunicorn itself
        assert re.search(r"^\d{8}T\d{6}Z$", everything, re.M)  # step 9, the backup's folder
        assert "pengaduan-backup.timer" in everything
        assert re.search(r"^pengaduan_backup_age_seconds \d", everything, re.M)  # step 10
        # nginx applies a reload a moment after `systemctl reload` returns, and the worker
        # restarted by step 8 starts its jobs as soon as it can: both asked until they answer.
        sh(f"for i in $(seq 1 60); do curl -sIk --resolve {SITE}:443:127.0.0.1 https://{SITE}/ "
           "| grep -q '^HTTP/2 200' && exit 0; sleep 1; done; exit 1")  # step 7, through nginx
        sh("for i in $(seq 1 60); do curl -sf http://127.0.0.1:8000/readyz | grep -q '\"ready\": *true' "
           "&& exit 0; sleep 1; done; exit 1")
        assert "\nPENGADUAN_REQUIRE_2FA_ROLES=admin,auditor\n" in sh("cat /etc/pengaduan/pengaduan.env").stdout

        # systemd's own rating of the sandbox: exposure 0 (none) to 10 (its threshold counts tenths);
        # the units rate 1.4 to 1.6, nginx and PostgreSQL as Debian ships them 9.6.
        for unit_name in ("pengaduan-web", "pengaduan-worker", "pengaduan-backup"):
            sh(f"systemd-analyze security --no-pager --threshold=20 {unit_name}")
        pid = sh("systemctl show -p MainPID --value pengaduan-web").stdout.strip()
        mounts = mount_options(name, pid)
        assert mounts["/"].split(",")[0] == "ro", mounts["/"]
        assert mounts["/opt/pengaduan/instance"].split(",")[0] == "rw"
        assert "/tmp" in mounts and mounts != mount_options(name, "1")  # a namespace of its own
        assert sh("ls /run/pengaduan-web").stdout.split() == ["gunicorn.ctl", "metrics"]
        assert sh("ls /run/pengaduan-web/metrics").stdout.strip()  # the workers' figures
        assert sh("stat -c %U /opt/pengaduan/instance/secret_key").stdout.strip() == "pengaduan"
        # Reload: HUP, new workers, the master stays and keeps answering.
        sh("systemctl reload pengaduan-web")
        assert sh("systemctl show -p MainPID --value pengaduan-web").stdout.strip() == pid
        sh("for i in $(seq 1 120); do journalctl -u pengaduan-web --no-pager | grep -q 'Hang up: Master' "
           "&& exit 0; sleep 0.5; done; exit 1")
        sh("curl -sf http://127.0.0.1:8000/healthz")
        sh("systemctl stop pengaduan-web pengaduan-worker")
        for service in ("pengaduan-web", "pengaduan-worker"):
            assert sh(f"systemctl show -p Result --value {service}").stdout.strip() == "success", \
                sh(f"journalctl -u {service} --no-pager | tail -20", check=False).stdout
        assert sh("test -e /run/pengaduan-web", check=False).returncode != 0  # removed at the stop
    finally:
        podman("rm", "-f", name, check=False)


def test_container_image_on_postgresql_with_redis_takes_a_backup(tmp_path_factory, request):
    """The image against PostgreSQL and Redis (the host's, through the host's network), as the
    compose file combines them: migrations at head, the web ready (/readyz) once the worker
    has run, rate limits counted in Redis, and `backup create` inside the image (its pg_dump
    against the server) writing a backup with its manifest."""
    if not os.environ.get("PENGADUAN_TEST_DATABASE_URL"):
        pytest.skip("the PostgreSQL run of the image needs PENGADUAN_TEST_DATABASE_URL")
    skip_without_redis()
    tmp = tmp_path_factory.mktemp("image-pg")
    runtime, limits = build_image(tmp)
    databases = request.getfixturevalue("postgres_databases")
    url = databases.create(tmp)
    redis = RedisServer(tcp=True)  # the container reaches the host's port, not its sockets
    suffix = uuid.uuid4().hex[:8]
    volume, web, worker = f"pengaduan-ci-instance-{suffix}", f"pengaduan-ci-web-{suffix}", \
        f"pengaduan-ci-worker-{suffix}"
    port = free_port()
    run = [*runtime, "run", *limits, "--network", "host", "-v", f"{volume}:/app/instance",
           "-e", f"DATABASE_URL={url}", "-e", f"RATELIMIT_STORAGE_URI={redis.url}",
           "-e", "PENGADUAN_SCHEDULER=off", "-e", f"GUNICORN_CMD_ARGS=--bind 127.0.0.1:{port} --workers 2"]
    try:
        podman(*run, "--rm", IMAGE, "flask", "--app", "run", "db", "upgrade", timeout=300)
        podman(*run, "-d", "--name", worker, IMAGE, "flask", "--app", "run", "sla", "worker")
        podman(*run, "-d", "--name", web, IMAGE)
        status, body = wait_for(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, body + podman("logs", web, check=False).stderr[-3000:]
        assert get(f"http://127.0.0.1:{port}/track")[0] == 200
        # A limited route (whatever it answers, the attempt is counted first) counts in Redis.
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/track/NOSUCHCODE/pin", data=b"", method="POST"), timeout=10)
        except urllib.error.HTTPError:
            pass
        assert redis.keys(), "no rate limit counted in Redis"
        made = podman(*run, "--rm", IMAGE, "flask", "--app", "run", "backup", "create", "--out",
                      "/app/instance/backups/first", timeout=300)
        assert "backup written to /app/instance/backups/first" in made.stdout, made.stdout + made.stderr
        listed = podman(*run, "--rm", IMAGE, "ls", "/app/instance/backups/first").stdout.split()
        assert "manifest.json" in listed, listed
    finally:
        podman("rm", "-f", web, worker, check=False)
        podman("volume", "rm", "-f", volume, check=False)
        redis.close()
        databases.drop(url)
