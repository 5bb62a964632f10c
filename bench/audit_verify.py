"""Audit-chain verification throughput on a filled database.

    python bench/generate.py --complaints 100000 --database-url URL   # once
    python bench/audit_verify.py --database-url URL [--rounds 3]

Runs the same check as `flask --app run audit verify` (every event's hash, its link to the
previous one, the indexed columns against the hashed body, the signed checkpoints), and
prints events per second for each round.
"""
from __future__ import annotations

import time

from common import database, machine, migrated_app, parser


def main() -> None:
    options = parser(__doc__, filled=True)
    options.add_argument("--rounds", type=int, default=3)
    args = options.parse_args()
    url, tmp = database(args.database_url)

    from pengaduan.audit import public_key_hex, verify_chain
    from pengaduan.database import read_only
    from pengaduan.extensions import db

    app = migrated_app(url, tmp)
    print(machine(url))
    with app.app_context(), read_only():
        key = public_key_hex()
        for _ in range(args.rounds):
            started = time.perf_counter()
            result = verify_chain(db.session, key)
            seconds = time.perf_counter() - started
            db.session.rollback()
            assert result.ok, result.problem
            print(f"verified {result.count:,} events in {seconds:.2f} s: {result.count / seconds:,.0f} events/s")


if __name__ == "__main__":
    main()
