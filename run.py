"""Entry point: `python run.py [--host] [--port] [--demo]`, or `flask --app run ...`.

Upgrades the database to the latest migration, optionally seeds demo data, starts the
embedded scheduler and serves the app with waitress (a production WSGI server).
"""
from __future__ import annotations

import argparse
import logging
import os
from datetime import timedelta

from pengaduan import create_app

app = create_app()


def served_at(host: str, port: int) -> str:
    """The address links in emails use when PENGADUAN_BASE_URL is unset: where this server
    listens (the loopback address when it listens on every interface)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve pengaduan.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--demo", action="store_true", help="seed demo data and print the accounts")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if not os.environ.get("PENGADUAN_BASE_URL"):
        app.config["PENGADUAN_BASE_URL"] = served_at(args.host, args.port)

    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        from pengaduan.workflow.in_use import refuse_to_serve

        refuse_to_serve(app)
        # Nothing is in flight before this process serves: any file without its row was left
        # by a crash of the previous run.
        from pengaduan.extensions import db
        from pengaduan.services.attachments import remove_orphans

        if removed := remove_orphans(older_than=timedelta(0)):
            logging.getLogger("pengaduan").warning("removed %d uploaded files left by a crash", removed)
        db.session.commit()  # database storage: the removal is a change like any other
        if args.demo:
            from pengaduan.services.administration.demo import seed

            for line in seed():
                print(line)
            db.session.commit()

    app.config["PENGADUAN_SCHEDULER"] = os.environ.get("PENGADUAN_SCHEDULER", "embedded")
    from pengaduan.jobs.scheduler import start_embedded

    scheduler = start_embedded(app)
    logging.getLogger("pengaduan").info("serving on http://%s:%s", args.host, args.port)
    from waitress import serve

    try:
        # One place decides whose X-Forwarded-* to believe: the app (http/proxies.py, by
        # PENGADUAN_PROXY_COUNT and PENGADUAN_TRUSTED_PROXIES). So waitress trusts no proxy of
        # its own (trusted_proxy unset) and, behind a proxy, passes the headers on for the app
        # to read or drop by the direct peer; with no proxy it removes them.
        behind_proxy = app.config["PENGADUAN_PROXY_COUNT"] > 0
        serve(app, host=args.host, port=args.port, threads=args.threads,
              trusted_proxy=None, clear_untrusted_proxy_headers=not behind_proxy)
    except KeyboardInterrupt:
        pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


if __name__ == "__main__":
    main()
