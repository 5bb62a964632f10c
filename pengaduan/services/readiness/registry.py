"""The registry of evidence sources: named, parameterised queries that tell, for every unit at
once, what the system holds for one readiness item and whether it is enough.

A rule file (workflows/assessment/*.yaml) names a source and gives its parameters; a source
declares the parameters it takes, their types and defaults, so a file naming an unknown
source or a bad parameter is refused before anything is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

STATUSES = ("green", "amber", "red")  # best first
STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}


def worst(statuses) -> str:
    """The worst of the statuses given (green when none)."""
    return max(statuses, key=STATUS_RANK.__getitem__, default="green")


@dataclass(frozen=True)
class Param:
    """One parameter of a source: its type (`int`, `bool`, `name`, `names`), whether it is required,
    its default, the names it may take, and the least whole number it accepts."""

    type: str
    default: object = None
    required: bool = False
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    least: int = 0
    help: str = ""

    def allowed(self) -> tuple[str, ...] | None:
        return self.choices() if callable(self.choices) else self.choices

    def read(self, value) -> object:
        """The value checked and normalised; ValueError says what is wrong."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("must be a whole number")
            if value < self.least:
                raise ValueError(f"must be at least {self.least}")
            return value
        names = [value] if self.type == "name" else value
        if self.type == "name" and not isinstance(value, str):
            raise ValueError("must be a single name")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError("must be a list of names")
        allowed = self.allowed()
        for name in names:
            if allowed is not None and name not in allowed:
                raise ValueError(f"unknown value {name!r} (one of: {', '.join(allowed)})")
        return value if self.type == "name" else tuple(names)


@dataclass
class Finding:
    """What a source found for one unit: its status, how many pieces of evidence, the date of
    the newest, a line saying what it is, where it lives and where to act on it (each an
    endpoint and its arguments, built into a link only where a page is drawn), and the gaps
    it found, when it can name them (else the rule file's `missing` text says what is)."""

    status: str
    count: int | None = None
    latest: date | None = None
    detail: str = ""
    link: tuple[str, dict] | None = None
    act: tuple[str, dict] | None = None
    gaps: tuple = ()


@dataclass(frozen=True)
class Source:
    name: str
    evaluate: Callable  # (context, units, params) -> {unit id: Finding}
    params: dict[str, Param] = field(default_factory=dict)
    doc: str = ""

    def read_params(self, given: dict) -> dict:
        """The parameters given, checked, with the defaults filled in; KeyError names an
        unknown or missing one, ValueError (with `.key`) a bad value."""
        for name in given:
            if name not in self.params:
                raise KeyError(f"{name}: unknown parameter of source {self.name!r} "
                               f"(it takes: {', '.join(self.params) or 'none'})")
        result = {}
        for name, param in self.params.items():
            if name not in given:
                if param.required:
                    raise KeyError(f"{name}: required by source {self.name!r}")
                result[name] = param.default
                continue
            try:
                result[name] = param.read(given[name])
            except ValueError as exc:
                error = ValueError(f"{name}: {exc}")
                error.key = name
                raise error from None
        return result


SOURCES: dict[str, Source] = {}


def source(name: str, **params: Param):
    """Register the decorated function as the evidence source `name` taking `params`."""
    def register(fn):
        if name in SOURCES:
            raise RuntimeError(f"evidence source {name!r} registered twice")
        SOURCES[name] = Source(name, fn, params, (fn.__doc__ or "").strip())
        return fn
    return register


def counted(count: int, green: int, amber: int) -> str:
    """The status of a count against its thresholds (the least count for green, for amber)."""
    return "green" if count >= green else "amber" if count >= amber else "red"
