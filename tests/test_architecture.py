"""The architecture holds as written: the import contracts in .importlinter (layers, no cycles)
pass, and the README's Architecture section draws the same layers and names every module."""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pengaduan.audit import verify as audit_verify
from pengaduan.evidence import verify_pack

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pengaduan"


def _contract_layers() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return [" ".join(line.split()) for line in config["importlinter:contract:layers"]["layers"].splitlines()
            if line.strip()]


def _architecture_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]


def _code_blocks(text: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"^```\n(.*?)^```$", text, re.M | re.S)]


def test_the_import_contracts_hold():
    """`lint-imports`, as CI runs it: each layer imports only from the layers below it, and no
    two modules of a package import each other (imports for type hints aside)."""
    pytest.importorskip("importlinter", reason="import-linter is not installed "
                                               "(pip install -r requirements-dev.txt)")
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache", "--no-logo"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_readme_draws_the_layers_of_the_contract():
    """The README's layers diagram lists, top to bottom, exactly the contract's layers."""
    layers = _contract_layers()
    drawn = next((block for block in _code_blocks(_architecture_section())
                  if block and block[0].split("  ")[0].strip() == layers[0]), None)
    assert drawn is not None, f"no diagram in the README's Architecture section starts with {layers[0]!r}"
    assert [" ".join(line.split("  ")[0].split()) for line in drawn] == layers


def test_every_module_of_the_package_has_a_layer():
    """The contract is exhaustive: a new top-level module or package must be given a layer."""
    named = {name.strip() for layer in _contract_layers() for name in layer.split("|")}
    present = {p.stem for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert present == named


def _tree_entries() -> dict[str, str]:
    """The README's folder tree below pengaduan/: each entry's name and the text describing it."""
    tree = next(block for block in _code_blocks(_architecture_section())
                if any(line.startswith("pengaduan/") for line in block))
    start = next(i for i, line in enumerate(tree) if line.startswith("pengaduan/")) + 1
    entries: dict[str, str] = {}
    name = None
    for line in tree[start:]:
        if not line.startswith(" "):
            break
        match = re.match(r"^  (\S+)(.*)$", line)
        if match:
            name = match.group(1)
            entries[name] = match.group(2)
        elif name is not None:
            entries[name] += " " + line.strip()
    return entries


def test_the_readme_tree_names_exactly_what_is_in_the_package():
    entries = _tree_entries()
    present = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir()
               if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())}
    assert set(entries) == present


def test_the_readme_tree_names_every_module_of_each_package():
    entries = _tree_entries()
    missing = []
    for package in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        text = entries.get(package.name + "/", "")
        for module in sorted(package.rglob("*.py")):
            if module.stem != "__init__" and not re.search(rf"\b{re.escape(module.stem)}\b", text):
                missing.append(str(module.relative_to(PACKAGE)))
    assert missing == []


def test_the_pack_names_its_checkpoints_where_audit_verify_reads_them():
    """audit verify --pack reads the file evidence packs write (verify_pack.py keeps its own
    copy of the name: it is self-contained)."""
    assert audit_verify.CHECKPOINTS == verify_pack.CHECKPOINTS
