"""The package's import graph (DESIGN.md "Layout"): no import circle, and no import that runs up
the layers. Read from the source with ast, so every import counts: module level, inside a
function, and under ``TYPE_CHECKING`` (a type-only circle is still a circle in the design)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "memoryd"

# The layers, lowest first: a module may import its own layer or a lower one. A unit is a
# top-level module (``phase1``) or package (``store``) of memoryd; ``memoryd`` is the package's
# own ``__init__`` (the version). Data flows up this list: rollout file -> thread row (rollouts,
# store) -> stage-1 job and output (extract, phase1) -> memory-root files (memroot, workspace)
# -> agent (consolidate, phase2) -> baseline commit (workspace); control and the daemon drive
# the phases, and the command line drives everything.
LAYERS: list[tuple[str, frozenset[str]]] = [
    (
        "foundation",
        frozenset(
            {
                "memoryd",
                "clock",
                "errors",
                "layout",
                "fsutil",
                "textutil",
                "surrogates",
                "config",
                "redact",
                "log",
            }
        ),
    ),
    ("state DB", frozenset({"store"})),
    ("inputs and model access", frozenset({"budget", "prompts", "rollouts", "llm"})),
    ("phase-1 extractors", frozenset({"extract"})),
    ("workspace", frozenset({"workspace"})),
    ("memory root", frozenset({"memroot"})),
    ("phase-2 agents", frozenset({"consolidate"})),
    ("maintenance", frozenset({"maintenance"})),
    ("orchestrators", frozenset({"phase1", "phase2"})),
    ("control", frozenset({"control"})),
    ("daemon", frozenset({"daemon"})),
    ("entry points", frozenset({"__main__", "cli", "doctor", "demo"})),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> Iterator[str]:
    """The memoryd modules ``path`` imports (``from memoryd import clock`` names the module
    ``memoryd.clock``, ``from memoryd.store.db import open_db`` the module ``memoryd.store.db``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("memoryd"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in modules else node.module


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {m: {d for d in _imports(p, modules) if d != m} for m, p in files.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(module: str) -> int:
    unit = _unit(module)
    for i, (_, units) in enumerate(LAYERS):
        if unit in units:
            return i
    raise AssertionError(f"{module}: its unit {unit!r} has no layer in LAYERS; add it")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_imports() -> None:
    """The checks below mean something only if the walk finds real arrows."""
    graph = import_graph()
    assert "memoryd.control.server" in graph["memoryd.daemon.supervisor"]
    assert "memoryd.clock" in graph["memoryd.phase1"]  # ``from memoryd import clock``
    assert "memoryd.store.db" in graph["memoryd.store.jobs"] | graph["memoryd.rollouts.indexer"]
    assert sum(len(deps) for deps in graph.values()) > 300


def test_no_import_circle() -> None:
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_runs_up_the_layers() -> None:
    upward = sorted(
        f"{m} -> {d} ({LAYERS[_layer(m)][0]} imports {LAYERS[_layer(d)][0]})"
        for m, deps in import_graph().items()
        for d in deps
        if _layer(d) > _layer(m)
    )
    assert upward == []


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in import_graph()}
    placed = set().union(*(u for _, u in LAYERS))
    assert units - placed == set()
    assert placed - units == set(), "a layer names a unit that no longer exists"


def _listed_in_architecture_doc() -> set[str]:
    """The module paths of the tree in docs/architecture.md (two spaces per level)."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = text.split("```\nmemoryd/\n", 1)[1].split("```", 1)[0]
    folders: list[str] = []
    listed: set[str] = set()
    for line in tree.splitlines():
        depth = (len(line) - len(line.lstrip(" "))) // 2 - 1
        name = line.split()[0]
        del folders[depth:]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        elif name.endswith(".py"):
            listed.add("/".join([*folders, name]))
    return listed


def test_the_architecture_doc_lists_every_module() -> None:
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    listed = _listed_in_architecture_doc()
    assert modules - listed == set(), "modules missing from docs/architecture.md"
    assert listed - modules == set(), "docs/architecture.md lists modules that do not exist"


_SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|BEGIN|COMMIT|ROLLBACK|PRAGMA|WITH"
    r"|REPLACE|SAVEPOINT|RELEASE)\b"
)
# Modules outside store/ that may hold SQL: doctor reads PRAGMAs on its own sqlite3
# connection (a diagnosis of the file itself, not state).
SQL_OUTSIDE_STORE = {"doctor/state.py"}


def _sql_statements(path: Path) -> int:
    count = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr) and node.values:
            node = node.values[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            count += bool(_SQL.match(node.value))
    return count


def test_sql_lives_in_store() -> None:
    outside = {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] != "store" and _sql_statements(p)
    }
    assert outside == SQL_OUTSIDE_STORE
    assert _sql_statements(PACKAGE / "store" / "jobs.py") > 10  # the check sees SQL at all
