"""memoryd's async code speaks anyio, not asyncio: one structured-concurrency vocabulary
(task groups, cancel scopes, limiters, run-scoped state) that a reader learns once.

The one exception is the daemon's loop setup in ``daemon/supervisor.py``: it names the asyncio
backend (with uvloop when installed) for ``anyio.run`` and reports which loop it got, which
anyio has no API for.
"""

from __future__ import annotations

import ast
from pathlib import Path

import anyio

import memoryd
from memoryd.llm.http import shared_limiter

PACKAGE = Path(memoryd.__file__).parent
ALLOWED = {"daemon/supervisor.py"}


def asyncio_imports(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "asyncio"
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "asyncio":
            found.append(f"line {node.lineno}: from {node.module} import ...")
    return found


def test_no_module_but_the_loop_setup_imports_asyncio() -> None:
    modules = sorted(p for p in PACKAGE.rglob("*.py"))
    assert len(modules) > 40  # the walk really covers the package
    bad = {
        rel: hits
        for p in modules
        if (rel := str(p.relative_to(PACKAGE))) not in ALLOWED
        and (hits := asyncio_imports(p.read_text(encoding="utf-8")))
    }
    assert bad == {}, f"use anyio's equivalent instead: {bad}"


def test_the_check_catches_each_spelling() -> None:
    for line in (
        "import asyncio",
        "import asyncio.subprocess as sp",
        "from asyncio import sleep",
        "from asyncio.locks import Semaphore",
    ):
        assert asyncio_imports(line + "\n"), line
    assert asyncio_imports("import anyio\nfrom anyio import to_thread\n") == []
    assert asyncio_imports((PACKAGE / "daemon" / "supervisor.py").read_text(encoding="utf-8"))


def test_the_http_limiter_is_shared_within_a_run_and_fresh_in_the_next() -> None:
    """One limiter per backend for every client on one event loop (resized by a later client
    with another limit); a new loop (each test's, or a restarted daemon's) gets its own."""

    async def within_one_run() -> anyio.CapacityLimiter:
        first = shared_limiter("openai", 2)
        assert shared_limiter("openai", 2) is first
        assert shared_limiter("chat", 2) is not first
        assert shared_limiter("openai", 5) is first and first.total_tokens == 5
        return first

    assert anyio.run(within_one_run) is not anyio.run(within_one_run)
