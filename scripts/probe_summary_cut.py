"""Why a fact MEMORY.md states is missing from memory_summary.md (round 12m's measurement).

Runs one tuning corpus' first and later sessions through the real CLI (as
``bench_quality.py``), then rebuilds the summary in process with the consolidator's own
functions observed, and sorts every fact MEMORY.md states but the summary does not into:

  (a) never a candidate: no line the summary could show states it;
  (b) ranked below the cut: its line was ranked, but past the longest prefix that fits;
  (c) cut as a repeat: its line was dropped because a better line "restates" it;
  (d) too long: its line was clipped (LINE_CHARS) before the tokens that state it.

It also prints where the summary's bytes go that state no fact (headings, the profile and the
grep tip, pointers, lines by durability).

    python scripts/probe_summary_cut.py --corpus h --meaning on --now-ms 1796652000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_quality import DAY_MS, _env, _run_once, _write_meaning  # noqa: E402
from quality import corpora  # noqa: E402
from quality.render import write_session  # noqa: E402
from quality.score import Scorer, active_facts, units  # noqa: E402

import memoryd.consolidate.offline as offline  # noqa: E402
from memoryd.consolidate.offline import summary_md  # noqa: E402


def _run(name: str, meaning: str, now_ms: int, base: Path) -> Path:
    corpus = corpora.get(name)
    env = _env(base)
    _write_meaning(base, meaning)
    sessions = base / "codex" / "sessions"
    for later in (False, True):
        for s in corpus.sessions:
            if s.later == later:
                start = now_ms - int(s.days_ago * DAY_MS)
                write_session(sessions, corpus.name, s, corpus.project(s.project), start)
        _run_once(env)
    return base / "codex" / "memories"


def probe(name: str, meaning: str, now_ms: int) -> dict[str, Any]:
    corpus = corpora.get(name)
    with tempfile.TemporaryDirectory(prefix=f"probe-{name}-") as tmp:
        root = _run(name, meaning, now_ms, Path(tmp))
        memory = (root / "MEMORY.md").read_text(encoding="utf-8")
        summary = (root / "memory_summary.md").read_text(encoding="utf-8")
        seen: dict[str, Any] = {"before": [], "after": [], "clipped": {}}
        real_build, real_repeats, real_clip = (
            offline.build_summary_model,
            summary_md._without_repeats,
            summary_md.clip,
        )

        def build(*a: Any, **k: Any) -> Any:
            seen["before"], seen["after"] = [], []  # the last build is the summary's
            seen["model"] = real_build(*a, **k)
            return seen["model"]

        def repeats(lines: Any) -> Any:
            out = real_repeats(lines)
            seen["before"] += list(lines)
            seen["after"] += out
            return out

        def clip(text: str, n: int) -> str:
            out = real_clip(text, n)
            if out != text:
                seen["clipped"][out] = text
            return out

        offline.build_summary_model = build  # type: ignore[assignment]
        summary_md._without_repeats = repeats  # type: ignore[assignment]
        summary_md.clip = clip  # type: ignore[assignment]
        try:
            rebuilt = offline.consolidate_root(root, None).summary
        finally:
            offline.build_summary_model = real_build
            summary_md._without_repeats = real_repeats
            summary_md.clip = real_clip
    scorer = Scorer(corpus)
    facts = active_facts(corpus, "later")[0]
    mu, su = units(memory), units(summary)
    model = seen["model"]
    ranked = model.ranked()
    in_summary = set(summary.splitlines())
    cut = next((i for i, ln in enumerate(ranked) if ln.text not in in_summary), len(ranked))
    after_texts = {ln.text for ln in seen["after"]}
    general = list(model.general)
    causes: Counter[str] = Counter()
    rows: list[str] = []
    for f in facts:
        if not scorer.stated(f, mu) or scorer.stated(f, su):
            continue
        cands = [*general, *seen["before"]]
        hit = [ln for ln in cands if scorer.stated(f, units(ln.text))]
        long_hit = [t for t, full in seen["clipped"].items() if scorer.stated(f, units(full))]
        if hit:
            kept = [ln for ln in hit if ln.text in after_texts or ln in general]
            if kept:
                ln = kept[0]
                pos = next((i for i, r in enumerate(ranked) if r.text == ln.text), -1)
                cause = "b"
                note = f"rank {pos} (cut at {cut}), {len(ln.text.encode())} B, score {ln.score}"
            else:
                cause, note = "c", f"{hit[0].text[:100]}"
        elif long_hit:
            cause, note = "d", f"{len(seen['clipped'][long_hit[0]])} chars"
        else:
            cause, note = "a", ""
        causes[cause] += 1
        rows.append(f"  {cause} {f.id} ({f.kind}): {note}")
    # bytes of the summary in units that state no active fact
    nofact: Counter[str] = Counter()
    score_of = {ln.text: ln.score for ln in [*seen["before"], *general]}
    for u in su:
        if any(scorer.stated(f, [u]) for f in facts):
            continue
        n = u.end - u.start
        if u.text.startswith("#"):
            nofact["heading"] += n
        elif "more in MEMORY.md under" in u.text:
            nofact["pointer"] += n
        elif u.text.startswith(("- Grep MEMORY.md", "- Memory holds")):
            nofact["profile/tip"] += n
        else:
            key = next((s for t, s in score_of.items() if t == u.text.strip()), None)
            nofact[f"line score {key}"] += n
    listing = [
        f"  {i:3} {'S' if ln.text in in_summary else '-'} "
        f"{'F' if any(scorer.stated(f, units(ln.text)) for f in facts) else '.'} "
        f"{ln.score:4} {len(ln.text.encode()):4} {ln.text}"
        for i, ln in enumerate(ranked)
    ]
    return {
        "listing": listing,
        "same": rebuilt == summary,
        "size": len(summary.encode()),
        "causes": causes,
        "rows": rows,
        "nofact": nofact,
        "cut": cut,
        "ranked": len(ranked),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, choices=corpora.TUNING)
    ap.add_argument("--meaning", default="on", choices=("on", "off"))
    ap.add_argument("--now-ms", type=int, default=1796652000000)
    ap.add_argument("--list", action="store_true", help="print every ranked line")
    args = ap.parse_args()
    r = probe(args.corpus, args.meaning, args.now_ms)
    print(
        f"corpus {args.corpus}, meaning {args.meaning}: summary {r['size']:,} B "
        f"(rebuilt the same: {r['same']}); ranked lines {r['ranked']}, cut after {r['cut']}"
    )
    print("  causes:", dict(sorted(r["causes"].items())))
    print("\n".join(r["rows"]))
    print("  bytes stating no fact:", dict(r["nofact"].most_common()))
    if args.list:
        print("\n".join(r["listing"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
