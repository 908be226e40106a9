"""Each layer of dlmskit imports only from its own layer or the layers below it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dlmskit"

LEVELS = {
    "errors": 0,
    "deviations": 0,
    "codec": 1,
    "apdu": 2,
    "security": 3,
    "link": 4,
    "transport": 4,
    "session": 5,
    "cosem": 6,
    "client": 7,
    "simulator": 7,
    "translator": 7,
    "headend": 8,
    "conformance": 8,
    "web": 9,
    "cli": 10,
}
# Peers on one level that must not lean on each other.
FORBIDDEN = {
    ("link", "transport"),
    ("transport", "link"),
    ("client", "simulator"),
    ("simulator", "client"),
    ("conformance", "headend"),
    ("headend", "conformance"),
}


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "dlmskit" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("dlmskit", *path.relative_to(SRC).with_suffix("").parts[:-1]))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.append(node.module)
    return found


def test_layers_import_only_downward() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        own = path.relative_to(SRC).parts[0].removesuffix(".py")
        if own not in LEVELS:
            continue
        for module in _imports(path):
            other = _layer_of(module)
            if other is None or other == own or other not in LEVELS:
                continue
            if LEVELS[other] > LEVELS[own] or (own, other) in FORBIDDEN:
                problems.append(f"{path.relative_to(SRC)} ({own}) imports {module} ({other})")
    assert not problems, "layering violations:\n" + "\n".join(problems)
