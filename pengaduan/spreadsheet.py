"""CSV meant to be opened in a spreadsheet: a cell a spreadsheet would run as a formula
(text typed by a citizen starting with =, +, -, @) is written with a leading apostrophe."""
from __future__ import annotations

import csv

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class Writer:
    """csv.writer with every cell made safe."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row) -> None:
        self._writer.writerow([cell(value) for value in row])
