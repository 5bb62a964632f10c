"""Gunicorn settings, read from the folder gunicorn starts in (the README's production command
`gunicorn -w 4 -b 0.0.0.0:8000 'run:app'` is run from the project folder)."""


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
