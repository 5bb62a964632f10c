"""Readiness rule sets: which items an assessment asks about and the evidence that satisfies
each, as data (`PENGADUAN_ASSESSMENT_RULES`, default workflows/assessment/ombudsman-2025.yaml).

A later year's assessment is a new file naming the same sources with other parameters and
words; only a new kind of evidence needs code (a source in sources.py).

    title: {id: ..., en: ...}
    legal_basis: {id: ..., en: ...}
    applies_to: 2025
    items:
      - id: handler_decree
        label: {id: ..., en: ...}
        explanation: {id: ..., en: ...}
        evidence:
          - source: standing_document        # a name from the registry
            kind: handler_decree             # the source's parameters
            missing: {id: ..., en: ...}      # what is missing while not green
            next_step: {id: ..., en: ...}    # the link text to where it is fixed
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .registry import SOURCES

LANGUAGES = ("id", "en")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RulesError(Exception):
    """A rule file that cannot be used: names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str):
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")
        self.file, self.key, self.reason = file, key, reason


@dataclass(frozen=True)
class Evidence:
    source: str
    params: dict
    missing: dict
    next_step: dict


@dataclass(frozen=True)
class Item:
    id: str
    label: dict
    explanation: dict
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class RuleSet:
    path: str
    title: dict
    legal_basis: dict
    applies_to: int
    items: tuple[Item, ...]

    @property
    def name(self) -> str:
        return Path(self.path).name


class _Reader:
    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, reason: str):
        raise RulesError(self.file, key, reason)

    def mapping(self, value, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping")
        return value

    def keys(self, data: dict, key: str, required: set, optional: set = frozenset()) -> None:
        where = (lambda k: f"{key}.{k}") if key else (lambda k: k)
        for k in sorted(required):
            if k not in data:
                self.fail(where(k), "is required")
        for k in data:
            if k not in required | optional:
                self.fail(where(k), "unknown key")

    def text(self, value, key: str) -> dict:
        value = self.mapping(value, key)
        for lang in LANGUAGES:
            if not isinstance(value.get(lang), str) or not value[lang].strip():
                self.fail(f"{key}.{lang}", "a text is required in every language (id, en)")
        extra = set(value) - set(LANGUAGES)
        if extra:
            self.fail(f"{key}.{sorted(extra)[0]}", "unknown language (id, en)")
        return {lang: " ".join(value[lang].split()) for lang in LANGUAGES}


EVIDENCE_KEYS = {"source", "missing", "next_step"}


def _evidence(r: _Reader, value, key: str) -> Evidence:
    data = r.mapping(value, key)
    for k in ("source", "missing"):
        if k not in data:
            r.fail(f"{key}.{k}", "is required")
    name = data["source"]
    if not isinstance(name, str) or name not in SOURCES:
        r.fail(f"{key}.source", f"unknown evidence source {name!r} (known: {', '.join(sorted(SOURCES))})")
    given = {k: v for k, v in data.items() if k not in EVIDENCE_KEYS}
    try:
        params = SOURCES[name].read_params(given)
    except KeyError as exc:
        r.fail(f"{key}.{exc.args[0].split(':', 1)[0]}", exc.args[0].split(": ", 1)[1])
    except ValueError as exc:
        r.fail(f"{key}.{exc.key}", str(exc).split(": ", 1)[1])
    return Evidence(name, params, r.text(data["missing"], f"{key}.missing"),
                    r.text(data["next_step"], f"{key}.next_step") if "next_step" in data else {})


def validate(data, file: str) -> RuleSet:
    """The rule set in `data` (parsed YAML); RulesError names what is wrong."""
    r = _Reader(file)
    data = r.mapping(data, "")
    r.keys(data, "", {"title", "legal_basis", "applies_to", "items"})
    year = data["applies_to"]
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2999:
        r.fail("applies_to", "must be a year (2025)")
    items_data = data["items"]
    if not isinstance(items_data, list) or not items_data:
        r.fail("items", "must be a non-empty list")
    items, seen = [], set()
    for i, raw in enumerate(items_data):
        key = f"items[{i}]"
        raw = r.mapping(raw, key)
        r.keys(raw, key, {"id", "label", "explanation", "evidence"})
        item_id = raw["id"]
        if not isinstance(item_id, str) or not IDENTIFIER.match(item_id):
            r.fail(f"{key}.id", "must be a lower-case identifier (letters, digits, _)")
        if item_id in seen:
            r.fail(f"{key}.id", f"{item_id!r} appears twice")
        seen.add(item_id)
        key = f"items.{item_id}"
        evidence = raw["evidence"]
        if not isinstance(evidence, list) or not evidence:
            r.fail(f"{key}.evidence", "must be a non-empty list")
        items.append(Item(item_id, r.text(raw["label"], f"{key}.label"),
                          r.text(raw["explanation"], f"{key}.explanation"),
                          tuple(_evidence(r, e, f"{key}.evidence[{j}]") for j, e in enumerate(evidence))))
    return RuleSet(file, r.text(data["title"], "title"), r.text(data["legal_basis"], "legal_basis"),
                   year, tuple(items))


def load(path: str | Path) -> RuleSet:
    """The rule set in the file at `path`, validated; RulesError otherwise."""
    file = str(path)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SafeLoader)
    except OSError as exc:
        raise RulesError(file, "", f"cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise RulesError(file, "", f"is not valid YAML ({exc})") from None
    return validate(data, file)
