"""Gunicorn settings, read from the folder gunicorn starts in (deploy/systemd/pengaduan-web.service
and the image run `gunicorn --bind 127.0.0.1:8000 --workers 4 run:app` from the project folder)."""

# A request may take up to 120 s (a large evidence pack or report is built before it is sent):
# the same as nginx's proxy_read_timeout in deploy/nginx/pengaduan.conf, so that neither kills
# such a request before the other gives up. gunicorn's default (30 s) would kill the worker first.
timeout = 120
# A stop or restart (SIGTERM) lets the requests in flight finish for as long as one may take;
# systemd's TimeoutStopSec and compose's stop_grace_period are longer than this.
graceful_timeout = 120


def on_starting(server):
    """Before any worker is forked: refuse to serve a workflow file lacking a state, trigger
    or running clock the database uses (as `python run.py` and `sla worker` do), instead of
    serving errors on the pages that look the missing name up. A database that cannot be
    reached is only warned about: the workers answer 503 until it is back. The check's own
    app and its connections are gone before the workers start; each worker loads `run:app`
    itself. A reload (HUP) keeps the master and does not check again: restart instead after
    changing the workflow file."""
    from pengaduan import create_app
    from pengaduan.extensions import db
    from pengaduan.monitoring.metrics import clear_multiprocess_dir
    from pengaduan.workflow.in_use import refuse_to_serve

    clear_multiprocess_dir()  # with PROMETHEUS_MULTIPROC_DIR: the last run's figures go
    app = create_app()
    try:
        refuse_to_serve(app, database_required=False)
    finally:
        with app.app_context():
            db.engine.dispose()


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set (/metrics adds up every worker's figures), a worker
    that exited leaves its counters but no longer its live gauges."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
