"""Tests that need a program from Debian's packages (nginx, redis-server, ...): skipped with
the reason when it is absent, failed instead when CI requires it (.ci/run installs the
packages and sets PENGADUAN_REQUIRE_<TOOL>=1)."""
from __future__ import annotations

import os

import pytest


def require(tool: str, reason: str | None) -> None:
    """`reason` says why the program cannot run here (None: it can)."""
    if reason is None:
        return
    if os.environ.get(f"PENGADUAN_REQUIRE_{tool}") == "1":
        pytest.fail(f"PENGADUAN_REQUIRE_{tool}=1 but {reason}", pytrace=False)
    pytest.skip(reason)
