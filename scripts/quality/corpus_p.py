# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Quality corpus P (held out): an open-source maintainer triaging issues and contributor PRs.

The user maintains four libraries and works through the queue with the agent: an issue without
a reproduction, a contributor's PR that needs a changelog fragment, a release to cut. House
rules arrive as CONTRIBUTING.md / STYLE.md sections, either read by the agent (``cat``) or
pasted by the user as a quote, and as the maintainer's edits of the agent's patch, explained
afterwards ("I changed your patch: ..."). Knowledge comes from cargo, nox, pnpm/turbo and go
output, CI matrix logs, changelog tooling (towncrier fragments, changesets, git-cliff), release
scripts and ``git log`` / ``git blame``. Contributors' proposals that the maintainer turns down
are the rejected actions. Four projects none of A–M has: a Rust crate with an MSRV policy, a
Python library using nox and towncrier, a TypeScript monorepo with changesets and turbo, a Go
module linted with golangci-lint.

Written after A–M without reading their sessions or memoryd's extraction and consolidation
code, and never run through memoryd before it was committed.
"""

from __future__ import annotations

from quality.model import (
    Corpus,
    Distractor,
    Fact,
    M,
    Patch,
    Project,
    Say,
    Session,
    Sh,
    Think,
    User,
)

# fmt: off
HOME = "/home/maren/oss"
PROJECTS = (
    Project("rivulet", f"{HOME}/rivulet", "https://github.com/rivulet-rs/rivulet.git"),
    Project("sorrel", f"{HOME}/sorrel", "https://github.com/sorrel-py/sorrel.git"),
    Project("lacewing", f"{HOME}/lacewing", "https://github.com/lacewing-dev/lacewing.git"),
    Project("gossamer", f"{HOME}/gossamer", "https://github.com/gossamer-go/gossamer.git", "master"),
)

NPM_TOKEN = "npm_T7kqP2xWv9LmR4sZbN8cYd3HfJ6gA1eUo0Qi"

# -- rivulet: a Rust crate (streaming JSON-lines reader) with an MSRV policy

RV1 = Session("rv1", "rivulet", 24.2, (
    User("issue #488: someone says rivulet 0.8.2 doesn't build on their older toolchain. can you reproduce?"),
    Sh("gh issue view 488", "title:\tBuild fails on rustc 1.70 after cargo update\nstate:\tOPEN\nauthor:\tkvothe-dev\nlabels:\tbug\n--\nAfter `cargo update` in my app, rivulet fails:\nerror: package `indexmap v2.7.0` cannot be built because it requires rustc 1.82 or newer"),
    Sh("grep -n rust-version Cargo.toml", "7:rust-version = \"1.70\""),
    Sh("cargo +1.70 check --all-features", "    Updating crates.io index\nerror: package `indexmap v2.7.0` cannot be built because it requires rustc 1.82 or newer, while the currently active rustc version is 1.70.0\nEither upgrade to rustc 1.82 or newer, or use\ncargo update indexmap@2.7.0 --precise ver\nwhere `ver` is the latest version of `indexmap` supporting rustc 1.70.0", code=101, secs=3.1),
    Think("The crate declares 1.70; a transitive indexmap release raised its own rust-version. Pin it back in the lockfile used by the msrv job and see what else breaks."),
    Sh("cargo update -p indexmap --precise 2.5.0", "    Updating crates.io index\n    Downgrading indexmap v2.7.0 -> v2.5.0", secs=2.2),
    Sh("cargo +1.70 check --all-features", "    Checking hashbrown v0.14.5\n    Checking indexmap v2.5.0\n    Checking rivulet v0.8.2 (/home/maren/oss/rivulet)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 6.84s", secs=7.0),
    Say("Reproduced. The crate's MSRV is 1.70 (`rust-version = \"1.70\"` in Cargo.toml), and indexmap 2.7.0 requires rustc 1.82, so a fresh `cargo update` breaks 1.70 users. `cargo update -p indexmap --precise 2.5.0` makes `cargo +1.70 check` pass again. I'd bump rust-version to 1.74 and tighten the indexmap requirement; patch below."),
    Patch("*** Update File: Cargo.toml\n@@\n-rust-version = \"1.70\"\n+rust-version = \"1.74\"\n@@\n-indexmap = \"2\"\n+indexmap = \">=2, <2.7\""),
    User("I changed your patch before pushing. You had rust-version going to 1.74 in what is going to be 0.8.3 — that's the one thing CONTRIBUTING forbids:\n\n> ### MSRV\n> The MSRV moves only in a minor release (0.x.0), never in a patch release. The `msrv` CI job builds with exactly the rust-version in Cargo.toml.\n\nSo I put rust-version back and kept only the `<2.7` cap on indexmap. Reply on the issue with the --precise workaround for their lockfile, please."),
    Sh("gh issue comment 488 --body-file /tmp/reply-488.md", "https://github.com/rivulet-rs/rivulet/issues/488#issuecomment-2519934417"),
    Say("Commented on #488 with the `cargo update -p indexmap --precise 2.5.0` workaround and a note that 0.8.3 caps indexmap below 2.7 so the MSRV stays at 1.70."),
))

RV2 = Session("rv2", "rivulet", 21.1, (
    User("triage time. #501 and PR #512"),
    Sh("gh issue view 501", "title:\tPanics sometimes??\nstate:\tOPEN\nauthor:\tanon-user-42\nlabels:\t\n--\nit panics in production sometimes when reading big files. please fix asap"),
    Say("#501 has no version, no input and no backtrace: \"panics sometimes when reading big files\". There is nothing to run."),
    User("label it needs-repro and ask for a minimal input file plus RUST_BACKTRACE=1 output. that's how any report without a reproduction gets handled here."),
    Sh("gh issue edit 501 --add-label needs-repro", "https://github.com/rivulet-rs/rivulet/issues/501"),
    Sh("gh pr view 512 --json title,author,additions,deletions,body", "{\"title\":\"Use anyhow::Error for all public errors\",\"author\":{\"login\":\"fastlane-ferris\"},\"additions\":214,\"deletions\":388,\"body\":\"The custom ReadError enum is a lot of boilerplate. This replaces it with anyhow::Error everywhere, which is simpler for users.\"}"),
    Sh("gh pr diff 512 | head -20", "--- a/src/error.rs\n+++ b/src/error.rs\n@@ -1,24 +0,0 @@\n-#[derive(Debug, thiserror::Error)]\n-#[non_exhaustive]\n-pub enum ReadError {\n-    #[error(\"line {line}: invalid JSON\")]\n-    Json { line: u64, source: serde_json::Error },\n--- a/src/lib.rs\n+++ b/src/lib.rs\n-pub fn next_record(&mut self) -> Result<Record, ReadError> {\n+pub fn next_record(&mut self) -> anyhow::Result<Record> {"),
    Say("PR #512 swaps the `ReadError` enum (thiserror, `#[non_exhaustive]`) for `anyhow::Error` in every public signature. CI is green on it. Shall I approve?"),
    User("no. anyhow in a library's public API forces it on every downstream and they lose the ability to match on the error kind. we keep the thiserror enum. close it, kindly — thank them for the effort and say why."),
    Sh("gh pr close 512 --comment \"Thanks a lot for the time you put into this! We'd like to keep ReadError as a typed enum so downstream crates can match on it; anyhow is great for applications but not in a library's API. Closing for that reason.\"", "✓ Closed pull request rivulet-rs/rivulet#512 (Use anyhow::Error for all public errors)"),
    Say("Closed #512 with a thank-you and the reason; #501 is labelled needs-repro with a request for an input file and a backtrace."),
))

RV3 = Session("rv3", "rivulet", 17.3, (
    User("PR #520 adds get_unchecked in the tokenizer hot loop. review it against our style guide"),
    Sh("sed -n '/## Unsafe/,/## Benchmarks/p' STYLE.md", "## Unsafe\n\nEvery `unsafe` block carries a `// SAFETY:` comment directly above it that says which\ninvariant makes it sound. A PR that adds `unsafe` for speed includes a criterion\nbenchmark under benches/ showing the gain.\n\n## Benchmarks"),
    Sh("gh pr diff 520", "--- a/src/tokenizer.rs\n+++ b/src/tokenizer.rs\n@@ -88,7 +88,8 @@ impl<'a> Tokenizer<'a> {\n-        let b = self.buf[self.pos];\n+        // fast path\n+        let b = unsafe { *self.buf.get_unchecked(self.pos) };"),
    Say("Review notes for #520: the `unsafe` block has a `// fast path` comment instead of a `// SAFETY:` comment saying why `self.pos < self.buf.len()` holds, and there's no benchmark under benches/. Both are required by STYLE.md."),
    User("right. post that as a review requesting changes. then check why the semver job is red on main"),
    Sh("gh pr review 520 --request-changes --body-file /tmp/review-520.md", "✓ Requested changes to pull request rivulet-rs/rivulet#520"),
    Sh("gh run view --log-failed -j semver", "semver\tRun cargo semver-checks check-release\n    Checking rivulet v0.8.2 -> v0.8.2 (no change)\n    Checked [   0.021s] 87 checks: 86 pass, 1 fail, 0 warn, 0 skip\n--- failure enum_variant_added: enum variant added on exhaustive enum ---\nFailed in:\n  variant Delimiter:Tab in src/options.rs:14"),
    Sh("cargo semver-checks check-release", "error: no such command: `semver-checks`\n\n\tView all installed commands with `cargo --list`", code=101, secs=0.4),
    Sh("cargo install cargo-semver-checks --locked", "    Installing cargo-semver-checks v0.36.0\n    Finished `release` profile [optimized] target(s) in 2m 41s\n    Installed package `cargo-semver-checks v0.36.0` (executable `cargo-semver-checks`)", secs=161.0),
    Sh("cargo semver-checks check-release", "    Checked [   0.020s] 87 checks: 86 pass, 1 fail, 0 warn, 0 skip\n--- failure enum_variant_added: enum variant added on exhaustive enum ---\n  variant Delimiter:Tab in src/options.rs:14", code=1, secs=9.0),
    Sh("sed -n '/jobs:/,$p' .github/workflows/ci.yml | head -30", "jobs:\n  test:\n    strategy:\n      matrix:\n        rust: [stable, beta]\n        os: [ubuntu-latest, macos-latest, windows-latest]\n    steps:\n      - run: cargo hack --feature-powerset --depth 2 check\n      - run: cargo test --all-features\n  msrv:\n    steps:\n      - uses: dtolnay/rust-toolchain@master\n        with: { toolchain: \"1.70\" }\n      - run: cargo check --all-features\n  semver:\n    steps:\n      - run: cargo semver-checks check-release"),
    Say("The semver job is red because `Delimiter` gained a `Tab` variant and the enum isn't `#[non_exhaustive]` — a breaking change for a patch release. Locally, `cargo semver-checks` wasn't installed (\"no such command\"); `cargo install cargo-semver-checks --locked` fixed that and reproduces the CI failure. Also worth knowing: the CI test matrix is stable and beta on three OSes, and every feature combination is checked with `cargo hack --feature-powerset --depth 2 check`."),
))

RV4 = Session("rv4", "rivulet", 12.2, (
    User("let's get 0.8.3 out. what's landed since 0.8.2?"),
    Sh("git log --oneline v0.8.2..HEAD", "9f3c2e1 Cap indexmap below 2.7 to keep MSRV 1.70 (#489)\n4be81a0 Mark Delimiter as non_exhaustive (#523)\n17d0c5f Fix CRLF handling at buffer boundary (#517)\nc03e9aa docs: typo in README (#515)"),
    Sh("cat scripts/release.sh", "#!/usr/bin/env bash\nset -euo pipefail\nversion=\"$1\"\ncargo semver-checks check-release\ngit cliff --tag \"v$version\" -o CHANGELOG.md\ncargo set-version \"$version\"\ngit commit -s -am \"Release $version\"\ngit tag -s \"v$version\" -m \"v$version\"\necho \"now: git push --follow-tags && cargo publish\""),
    Say("Four commits since v0.8.2. The release script runs `cargo semver-checks`, regenerates CHANGELOG.md with git-cliff (config in cliff.toml), bumps the version, and makes a signed-off commit and a signed tag."),
    User("#517 is Daniela's PR, it's still sitting as 3 commits on her branch in my local tree. squash it before the release, and put her in a Co-authored-by line — people who send patches should get the credit. also: commits in this repo are DCO, so commit -s or the bot blocks the merge"),
    Sh("git reset --soft HEAD~3 && git commit -s -m \"Fix CRLF handling at buffer boundary (#517)\" -m \"Co-authored-by: Daniela Ortiz <dortiz@users.noreply.github.com>\"", "[main 17d0c5f] Fix CRLF handling at buffer boundary (#517)\n 3 files changed, 41 insertions(+), 6 deletions(-)"),
    Sh("./scripts/release.sh 0.8.3", "    Checked [   0.019s] 87 checks: 87 pass, 0 fail, 0 warn, 0 skip\nWARN  git_cliff > \"cliff.toml\" found, 4 commits processed\n    Upgrading rivulet from 0.8.2 to 0.8.3\n[main a8d9e47] Release 0.8.3\n now: git push --follow-tags && cargo publish", secs=14.0),
    Say("Squashed #517 with Daniela as co-author and a Signed-off-by line; `scripts/release.sh 0.8.3` passed semver-checks, wrote the changelog with git-cliff and tagged v0.8.3. Push and `cargo publish` are yours."),
    User("pushed. totally unrelated, the talk I gave in Oslo went fine except the projector died halfway through lol"),
    Say("Glad it went well despite that!"),
))

RV5 = Session("rv5", "rivulet", 6.4, (
    User("docs pass: every public fn in src/reader.rs needs an example. write them"),
    Sh("grep -n 'pub fn' src/reader.rs", "41:    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ReadError> {\n77:    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {\n120:    pub fn line(&self) -> u64 {"),
    Patch("*** Update File: src/reader.rs\n@@\n+    /// ```\n+    /// let mut r = rivulet::Reader::from_path(\"tests/data/two.jsonl\").unwrap();\n+    /// let first = r.next_record().unwrap().unwrap();\n+    /// assert_eq!(r.line(), 1);\n+    /// ```\n     pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ReadError> {"),
    Sh("cargo test --doc", "   Doc-tests rivulet\nrunning 3 tests\ntest src/reader.rs - reader::Reader::from_path (line 36) ... ok\ntest src/reader.rs - reader::Reader::line (line 115) ... ok\ntest src/reader.rs - reader::Reader::next_record (line 72) ... ok\n\ntest result: ok. 3 passed; 0 failed; 0 ignored", secs=11.0),
    User("I changed your patch: no .unwrap() in doc examples. People copy them verbatim into their code. Write them with `?` and a hidden `# fn main() -> Result<(), rivulet::ReadError> {` wrapper instead. I did from_path, do the other two the same way"),
    Patch("*** Update File: src/reader.rs\n@@\n-    /// let rec = r.next_record().unwrap();\n+    /// # fn main() -> Result<(), rivulet::ReadError> {\n+    /// # let mut r = rivulet::Reader::from_path(\"tests/data/two.jsonl\")?;\n+    /// while let Some(rec) = r.next_record()? {\n+    ///     println!(\"{}\", rec.get(\"id\").unwrap_or_default());\n+    /// }\n+    /// # Ok(())\n+    /// # }"),
    Sh("cargo test --doc", "test result: ok. 3 passed; 0 failed; 0 ignored", secs=10.5),
    Say("Rewrote the `next_record` and `line` examples with `?` inside a hidden `fn main() -> Result<(), rivulet::ReadError>`; all three doc tests pass."),
))

RV6 = Session("rv6", "rivulet", 1.6, (
    User("0.9.0 is the minor release, so the MSRV can move now. raise it to what #527 and #530 need"),
    Sh("gh pr view 530 --json title,body", "{\"title\":\"Use let-else in the tokenizer\",\"body\":\"let-else needs rustc 1.65, and std::io::IsTerminal needs 1.70; clippy suggests inline const which needs 1.79. I only used let-else and OnceLock::get_or_init (1.70). The async reader in #527 needs 1.75 for async fn in traits.\"}"),
    Patch("*** Update File: Cargo.toml\n@@\n-rust-version = \"1.70\"\n+rust-version = \"1.75\"\n*** Update File: .github/workflows/ci.yml\n@@\n-        with: { toolchain: \"1.70\" }\n+        with: { toolchain: \"1.75\" }"),
    Sh("cargo +1.75 check --all-features", "    Checking rivulet v0.9.0 (/home/maren/oss/rivulet)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 7.12s", secs=7.3),
    User("good. note it in the changelog under Changed"),
    Sh("git cliff --unreleased --tag v0.9.0 | head -8", "## [0.9.0] - unreleased\n\n### Changed\n\n- Raise MSRV to 1.75 for async fn in traits (#527)\n- Use let-else in the tokenizer (#530)"),
    Say("Done: the MSRV is now 1.75 (`rust-version = \"1.75\"` in Cargo.toml and the msrv CI job), landing in the 0.9.0 minor release; git-cliff lists it under Changed."),
), later=True)

# -- sorrel: a Python library (cron expressions) tested with nox, changelog by towncrier

SO1 = Session("so1", "sorrel", 23.1, (
    User("set sorrel up on this machine, I only have nox installed so far"),
    Sh("nox -s tests", "nox > Running session tests-3.9\nnox > Session tests-3.9 failed: Python interpreter 3.9 not found.\nnox > Running session tests-3.10\nnox > Creating virtual environment (uv) using python3.10 in .nox/tests-3-10\nnox > pytest -q\n412 passed in 3.41s\nnox > Session tests-3.10 was successful in 6 seconds.\nnox > Ran multiple sessions:\nnox > * tests-3.9: failed\nnox > * tests-3.10: success\nnox > * tests-3.11: success\nnox > * tests-3.12: success\nnox > * tests-3.13: success", code=1, secs=38.0),
    Sh("sed -n '1,20p' noxfile.py", "import nox\n\nnox.options.error_on_missing_interpreters = True\nnox.options.default_venv_backend = \"uv\"\n\nPYTHONS = [\"3.9\", \"3.10\", \"3.11\", \"3.12\", \"3.13\"]\n\n\n@nox.session(python=PYTHONS)\ndef tests(session):\n    session.install(\"-e\", \".[test]\")\n    session.run(\"pytest\", \"-q\", *session.posargs)"),
    Sh("uv python install 3.9", "Installed Python 3.9.20 in 2.81s\n + cpython-3.9.20-linux-x86_64-gnu", secs=3.0),
    Sh("nox -s tests", "nox > Ran multiple sessions:\nnox > * tests-3.9: success\nnox > * tests-3.10: success\nnox > * tests-3.11: success\nnox > * tests-3.12: success\nnox > * tests-3.13: success", secs=61.0),
    Say("All green now. The noxfile makes a missing interpreter an error (`error_on_missing_interpreters = True`) and the matrix is Python 3.9 through 3.13, with uv as the venv backend; `uv python install 3.9` supplied the missing one."),
    User("thanks. what's the oldest open PR?"),
    Sh("gh pr list --state open --limit 3 --search 'sort:created-asc'", "219\tAdd @yearly alias\tgh-ostrander:yearly-alias\tOPEN\n233\tFix DST gap in next_fire\tlindqvist:dst-gap\tOPEN\n240\tTypo in README\tmarcelo-b:patch-1\tOPEN"),
    Say("#219, \"Add @yearly alias\", opened by gh-ostrander; then #233 and #240."),
))

SO2 = Session("so2", "sorrel", 20.0, (
    User("look at #233, CI is red on it. and fetch stuff through gh please, all that curl-the-API-with-a-token dance is not for me"),
    Sh("gh pr checks 233", "changelog\tfail\t12s\thttps://github.com/sorrel-py/sorrel/actions/runs/11493021775/job/32001\ntests (3.12)\tpass\t1m2s\ntests (3.9)\tpass\t1m14s"),
    Sh("gh pr checkout 233 && nox -s changelog", "Switched to branch 'dst-gap'\nnox > Running session changelog\nnox > towncrier check --compare-with origin/main\nLooking at changes since 'origin/main'.\nChanged files:\n- src/sorrel/schedule.py\n- tests/test_dst.py\nNo new newsfragments found on this branch.\nnox > Command towncrier check --compare-with origin/main failed with exit code 1\nnox > Session changelog failed.", code=1, secs=4.0),
    Sh("sed -n '/### Changelog/,/###/p' CONTRIBUTING.md", "### Changelog\n\nEvery user-visible change ships a towncrier fragment in `changes/`, named\n`<PR number>.<type>.md`, where type is one of feature, bugfix, deprecation, doc or misc.\nWrite it as one sentence in the past tense, from the user's point of view.\n\n###"),
    Sh("towncrier create 233.bugfix.md --content \"next_fire no longer returns a time inside a DST gap; it moves to the first valid time after it.\"", "Created news fragment at changes/233.bugfix.md", secs=0.6),
    Sh("nox -s changelog", "nox > towncrier check --compare-with origin/main\nFound:\n1. changes/233.bugfix.md\nnox > Session changelog was successful in 2 seconds.", secs=3.0),
    Say("The `changelog` check failed because the PR had no towncrier fragment; `towncrier create 233.bugfix.md` added `changes/233.bugfix.md` and `nox -s changelog` passes."),
    User("push that to their branch (maintainers can edit) and leave a note for lindqvist"),
    Sh("git push && gh pr comment 233 --body \"Thanks for the fix! I pushed a changelog fragment (changes/233.bugfix.md) so the check passes.\"", "To github.com:lindqvist/sorrel.git\n   e1d04aa..6b7f210  dst-gap -> dst-gap\nhttps://github.com/sorrel-py/sorrel/pull/233#issuecomment-2488102265"),
    Say("Pushed the fragment to lindqvist's branch and thanked them on the PR."),
))

SO3 = Session("so3", "sorrel", 16.2, (
    User("#219 wants parse_expr renamed to parse. do the rename on main"),
    Sh("rg -n 'def parse_expr' src/", "src/sorrel/expr.py:58:def parse_expr(text: str, *, strict: bool = True) -> Expr:"),
    Patch("*** Update File: src/sorrel/expr.py\n@@\n-def parse_expr(text: str, *, strict: bool = True) -> Expr:\n+def parse(text: str, *, strict: bool = True) -> Expr:"),
    Sh("nox -s tests-3.12", "nox > pytest -q\n415 passed in 3.52s\nnox > Session tests-3.12 was successful in 5 seconds."),
    Say("`parse` replaces `parse_expr` in src/sorrel/expr.py; nox -s tests-3.12 is green with 415 passed."),
    User("I changed your patch. You removed parse_expr outright — that breaks everyone on the next upgrade. Our deprecation policy: the old name stays for two minor releases as a thin wrapper that emits DeprecationWarning, and only then goes. I added the wrapper and a deprecation fragment. Also look at STYLE.md before you write the docstring for parse, yours was Google style"),
    Sh("sed -n '/## Docstrings/,/## /p' STYLE.md", "## Docstrings\n\nPublic functions use numpydoc format: a one-line summary, then Parameters, Returns and\nRaises sections. Examples are doctests and run in the docs session.\n\n## "),
    Patch("*** Update File: src/sorrel/expr.py\n@@\n def parse(text: str, *, strict: bool = True) -> Expr:\n-    \"\"\"Parse a cron expression.\n-\n-    Args:\n-        text: the expression.\n-    \"\"\"\n+    \"\"\"Parse a cron expression.\n+\n+    Parameters\n+    ----------\n+    text : str\n+        Five or six space-separated fields.\n+    strict : bool\n+        Reject out-of-range values instead of wrapping them.\n+\n+    Returns\n+    -------\n+    Expr\n+    \"\"\""),
    Sh("nox -s docs", "nox > sphinx-build -W -b html docs docs/_build/html\nbuild succeeded.\nnox > Session docs was successful in 14 seconds.", secs=15.0),
    Say("The docstring of `parse` is numpydoc now (Parameters / Returns), and `nox -s docs` builds with warnings as errors."),
))

SO4 = Session("so4", "sorrel", 11.0, (
    User("issue #247: tests fail for a packager on a minimal container. see what they hit"),
    Sh("gh issue view 247 --comments | tail -12", "E   zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key Europe/Oslo'\n\ntests/test_tz.py:31: ZoneInfoNotFoundError\n=========================== short test summary info ============================\nFAILED tests/test_tz.py::test_oslo_dst_forward - zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key Europe/Oslo'\n1 failed, 414 passed in 3.9s"),
    Sh("docker run --rm -v \"$PWD\":/src -w /src python:3.12-slim sh -c 'pip install -q nox uv && nox -s tests-3.12'", "E   zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key Europe/Oslo'\nFAILED tests/test_tz.py::test_oslo_dst_forward\n1 failed, 414 passed in 4.1s\nnox > Session tests-3.12 failed.", code=1, secs=48.0),
    Sh("git blame -L 1,12 src/sorrel/_compat.py", "a1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  1) \"\"\"Compatibility shims.\"\"\"\na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  2) import sys\na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  3) \na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  4) if sys.version_info >= (3, 9):\na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  5)     import zoneinfo\na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  6) else:  # Python 3.8: the PyPI backport\na1b2c3d4 (Maren Holt 2023-04-02 10:11:40 +0200  7)     from backports import zoneinfo"),
    Say("The container has no system tz database, and zoneinfo falls back to the tzdata package only if it is installed. `src/sorrel/_compat.py` is where sorrel imports zoneinfo (git blame: added in 2023 for the Python 3.8 backport, the `else` branch is dead since 3.8 left the matrix). The test extra should pull in the tz data."),
    Patch("*** Update File: pyproject.toml\n@@\n [project.optional-dependencies]\n-test = [\"pytest>=8\", \"hypothesis>=6\"]\n+test = [\"pytest>=8\", \"hypothesis>=6\", \"tzdata\"]"),
    Sh("docker run --rm -v \"$PWD\":/src -w /src python:3.12-slim sh -c 'pip install -q nox uv && nox -s tests-3.12'", "415 passed in 3.8s\nnox > Session tests-3.12 was successful in 9 seconds.", secs=44.0),
    Say("Adding tzdata to the `test` extra in pyproject.toml fixes the ZoneInfoNotFoundError in a slim container: 415 passed."),
    User("good. reply on #247 and link the commit. commit subject in the imperative mood: 'Add ...', not 'Added ...'"),
    Sh("git commit -s -am \"Add tzdata to the test extra (#247)\" && gh issue comment 247 --body \"Fixed in $(git rev-parse --short HEAD): the test extra now depends on tzdata. Thanks for the report!\"", "[main 5c0e7b2] Add tzdata to the test extra (#247)\nhttps://github.com/sorrel-py/sorrel/issues/247#issuecomment-2501178940"),
    Say("Committed and replied on #247 with the commit hash."),
))

SO5 = Session("so5", "sorrel", 7.2, (
    User("cut 2.4.0. and #251 is just someone asking how to run a job every other week"),
    Sh("gh issue view 251", "title:\tHow to schedule every 2nd Monday?\nstate:\tOPEN\nauthor:\ttoni-r\nlabels:\t\n--\nIs there a way to express 'every other Monday' with sorrel?"),
    User("that's a usage question, not a bug. those go to GitHub Discussions: convert it there and close the issue"),
    Sh("gh issue close 251 --comment \"Moved to Discussions, where usage questions live: https://github.com/sorrel-py/sorrel/discussions/252\"", "✓ Closed issue sorrel-py/sorrel#251 (How to schedule every 2nd Monday?)"),
    Sh("sed -n '/def release/,$p' noxfile.py", "def release(session):\n    version = session.posargs[0]\n    session.install(\"towncrier\", \"build\", \"twine\")\n    session.run(\"towncrier\", \"build\", \"--yes\", \"--version\", version)\n    session.run(\"git\", \"commit\", \"-s\", \"-am\", f\"Release {version}\", external=True)\n    session.run(\"python\", \"-m\", \"build\", \"--outdir\", session.create_tmp())\n    session.run(\"twine\", \"check\", \"--strict\", *glob.glob(f\"{session.create_tmp()}/*\"))"),
    Sh("nox -s release -- 2.4.0", "nox > towncrier build --yes --version 2.4.0\nLoading template...\nFinding news fragments...\nRendering news fragments...\nWriting to newsfile...\nStaging newsfile...\nRemoving the following files:\nchanges/233.bugfix.md\nchanges/219.deprecation.md\nnox > python -m build --outdir /tmp/tmp.k3JfQ9vX\nSuccessfully built sorrel-2.4.0.tar.gz and sorrel-2.4.0-py3-none-any.whl\nnox > twine check --strict /tmp/tmp.k3JfQ9vX/sorrel-2.4.0-py3-none-any.whl\nChecking /tmp/tmp.k3JfQ9vX/sorrel-2.4.0-py3-none-any.whl: PASSED\nnox > Session release was successful in 21 seconds.", secs=21.0),
    Say("2.4.0 is prepared: `nox -s release -- 2.4.0` runs `towncrier build --yes`, which folds the fragments in changes/ into the changelog and deletes them, then builds the sdist and wheel and checks them with `twine check --strict`. #251 is closed and moved to Discussions."),
))

SO6 = Session("so6", "sorrel", 2.0, (
    User("3.9 is end of life. 2.5.0 drops it and adds 3.14 to CI"),
    Patch("*** Update File: noxfile.py\n@@\n-PYTHONS = [\"3.9\", \"3.10\", \"3.11\", \"3.12\", \"3.13\"]\n+PYTHONS = [\"3.10\", \"3.11\", \"3.12\", \"3.13\", \"3.14\"]\n*** Update File: pyproject.toml\n@@\n-requires-python = \">=3.9\"\n+requires-python = \">=3.10\""),
    Sh("uv python install 3.14 && nox -s tests", "Installed Python 3.14.0 in 3.02s\nnox > Ran multiple sessions:\nnox > * tests-3.10: success\nnox > * tests-3.11: success\nnox > * tests-3.12: success\nnox > * tests-3.13: success\nnox > * tests-3.14: success", secs=70.0),
    User("and the fragment"),
    Sh("towncrier create +drop-39.misc.md --content \"Dropped support for Python 3.9; sorrel now requires Python 3.10 or newer and is tested up to 3.14.\"", "Created news fragment at changes/+drop-39.misc.md"),
    Say("The nox test matrix now runs Python 3.10 through 3.14 (requires-python >=3.10); 3.9 is gone, and the change has a fragment in changes/."),
), later=True)

# -- lacewing: a TypeScript monorepo (pnpm workspaces, turbo, changesets)

LN1 = Session("ln1", "lacewing", 22.4, (
    User("new clone of lacewing. #866 says core tests fail for them on a fresh checkout, check that"),
    Sh("cat pnpm-workspace.yaml && jq -r .packageManager package.json", "packages:\n  - \"packages/*\"\n  - \"apps/docs\"\npnpm@8.15.4"),
    Sh("pnpm install", "Lockfile is up to date, resolution step is skipped\nPackages: +612\nDone in 8.4s", secs=8.4),
    Sh("pnpm --filter @lacewing/core test", "> @lacewing/core@3.2.1 test /home/maren/oss/lacewing/packages/core\n> vitest run\n\n FAIL  src/render.test.ts\nError: Cannot find module '@lacewing/shared/dist/index.js' imported from /home/maren/oss/lacewing/packages/core/src/render.ts\n Test Files  1 failed | 6 passed (7)", code=1, secs=5.2),
    Sh("pnpm turbo run build --filter=@lacewing/core^...", "• Packages in scope: @lacewing/shared\n• Running build in 1 packages\n@lacewing/shared:build: > tsup src/index.ts --dts\n@lacewing/shared:build: ESM dist/index.js 18.22 KB\n Tasks:    1 successful, 1 total", secs=6.0),
    Sh("pnpm --filter @lacewing/core test", " Test Files  7 passed (7)\n      Tests  143 passed (143)", secs=4.8),
    Say("Reproduced #866: core imports `@lacewing/shared` from its built `dist/`, so on a fresh clone the tests fail with \"Cannot find module '@lacewing/shared/dist/index.js'\". Building the workspace dependencies first with `pnpm turbo run build --filter=@lacewing/core^...` fixes it. Layout: libraries live in packages/*, the docs site in apps/docs; the repo pins pnpm 8.15.4 through the packageManager field."),
    User("ok, reply with that and label it docs, the README should say it"),
    Sh("gh issue edit 866 --add-label docs && gh issue comment 866 --body-file /tmp/reply-866.md", "https://github.com/lacewing-dev/lacewing/issues/866\nhttps://github.com/lacewing-dev/lacewing/issues/866#issuecomment-2478812093"),
    Say("Labelled #866 docs and replied with the turbo build step."),
))

LN2 = Session("ln2", "lacewing", 19.2, (
    User("#871 and #874 please"),
    Sh("gh issue view 871", "title:\tTooltip flickers\nstate:\tOPEN\nauthor:\tpixelpusher9\nlabels:\t\n--\ntooltip flickers on hover. react 18."),
    Say("#871 is one line: the tooltip flickers on hover with React 18. No versions of lacewing, no code."),
    User("needs-repro, same drill as in the rust crate: add the label and ask them for a StackBlitz we can open"),
    Sh("gh issue edit 871 --add-label needs-repro && gh issue comment 871 --body \"Thanks for reporting! Could you share a minimal StackBlitz that shows the flicker? Until then this is labelled needs-repro.\"", "https://github.com/lacewing-dev/lacewing/issues/871\nhttps://github.com/lacewing-dev/lacewing/issues/871#issuecomment-2481920044"),
    Sh("gh pr view 874 --json title,body,files --jq '.title, .body, .files[].path'", "Migrate the monorepo from pnpm to bun\nbun install is 6x faster and bun test could replace vitest. This changes the lockfile and CI.\nbun.lockb\npnpm-lock.yaml\n.github/workflows/ci.yml\npackage.json"),
    Say("#874 replaces pnpm with bun everywhere: new lockfile (bun.lockb), CI and package.json. It's a large change from a first-time contributor."),
    User("decline it. the changesets + turbo release flow and our pnpm workspace protocol are built around pnpm, and switching the package manager of a library monorepo for install speed isn't worth breaking every contributor's setup. thank them first, then the reason"),
    Sh("gh pr close 874 --comment \"Thank you for putting this together! We're staying on pnpm: our release tooling (changesets, turbo) and the workspace: protocol depend on it. Closing, but we appreciate the effort.\"", "✓ Closed pull request lacewing-dev/lacewing#874 (Migrate the monorepo from pnpm to bun)"),
    Say("Closed #874 with thanks and the reason; #871 is labelled needs-repro with a request for a StackBlitz."),
))

LN3 = Session("ln3", "lacewing", 15.0, (
    User("fix #880: Popover ignores the offset prop. it's in packages/react"),
    Sh("rg -n 'offset' packages/react/src/Popover.tsx", "22:  offset?: number;\n57:    middleware: [flip(), shift()],"),
    Patch("*** Update File: packages/react/src/Popover.tsx\n@@\n-    middleware: [flip(), shift()],\n+    middleware: [offset(props.offset ?? 4), flip(), shift()],"),
    Sh("pnpm --filter @lacewing/react test", " Test Files  11 passed (11)\n      Tests  208 passed (208)", secs=6.1),
    Sh("pnpm changeset status --since=origin/main", "🦋  error Some packages have been changed but no changesets were found. Run `changeset add` to resolve this error.\n🦋  error If this change doesn't need a release, run `changeset add --empty`.", code=1, secs=1.4),
    Sh("sed -n '/## Changesets/,/## /p' CONTRIBUTING.md", "## Changesets\n\nA PR that changes anything under packages/ needs a changeset describing the change for\nthe package's changelog. Docs-only (apps/docs) and CI changes don't.\n\n## "),
    Patch("*** Add File: .changeset/quiet-owls-fly.md\n+---\n+\"@lacewing/react\": patch\n+---\n+\n+Popover now honours its `offset` prop (#880)."),
    Sh("pnpm changeset status --since=origin/main", "🦋  info Packages to be bumped at patch:\n🦋  - @lacewing/react", secs=1.2),
    Say("Popover passes `offset` to floating-ui now. `changeset status` failed with \"no changesets were found\" because the change touches packages/; adding `.changeset/quiet-owls-fly.md` (a patch bump of @lacewing/react) fixes it."),
    User("looks right, commit it"),
    Sh("git switch -c fix/popover-offset && git commit -am \"Honour Popover offset prop (#880)\"", "Switched to a new branch 'fix/popover-offset'\n[fix/popover-offset 3f1a9b2] Honour Popover offset prop (#880)\n 2 files changed, 6 insertions(+), 1 deletion(-)"),
    Say("Committed on fix/popover-offset with the changeset; ready for a PR that closes #880."),
))

LN4 = Session("ln4", "lacewing", 10.3, (
    User("PR #883 adds a CLI package. It doesn't typecheck in CI. Keep it short: show me the patch first and put the explanation under it, I skim"),
    Sh("gh pr checkout 883 && pnpm -r typecheck", "packages/cli typecheck$ tsc --noEmit\npackages/cli typecheck: src/index.ts(3,21): error TS2580: Cannot find name 'process'. Do you need to install type definitions for node? Try `npm i --save-dev @types/node`.\npackages/cli typecheck: Failed\n ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL  @lacewing/cli@0.0.1 typecheck: `tsc --noEmit`\nExit status 2", code=2, secs=9.0),
    Sh("pnpm --filter @lacewing/cli add -D @types/node", "Packages: +1\nprogress: resolved 613, reused 612, downloaded 1, added 1, done\ndevDependencies:\n+ @types/node 22.9.0", secs=3.0),
    Sh("pnpm -r typecheck", "packages/shared typecheck: Done\npackages/core typecheck: Done\npackages/react typecheck: Done\npackages/cli typecheck: Done", secs=11.0),
    Sh("sed -n '/## Exports/,/## /p' STYLE.md", "## Exports\n\nNo default exports anywhere: every module uses named exports, and each package\nre-exports its public API from src/index.ts.\n\n## "),
    Sh("rg -n 'export default' packages/cli/src", "packages/cli/src/index.ts:12:export default function main(argv: string[]) {"),
    Patch("*** Update File: packages/cli/src/index.ts\n@@\n-export default function main(argv: string[]) {\n+export function main(argv: string[]) {"),
    Say("```\n+ devDependencies: @types/node (packages/cli)\n- export default function main\n+ export function main\n```\nThe CLI failed typecheck with TS2580 (Cannot find name 'process'): the package lacked Node types, fixed with `pnpm --filter @lacewing/cli add -D @types/node`. STYLE.md forbids default exports, so `main` is a named export now."),
    User("push it to the PR branch"),
    Sh("git commit -am \"cli: add @types/node, named export for main\" && git push", "[cli-package 77c2e01] cli: add @types/node, named export for main\nTo github.com:wren-o/lacewing.git\n   0d9e3aa..77c2e01  cli-package -> cli-package"),
    Say("Pushed to wren-o's cli-package branch; the PR's typecheck job should pass now."),
))

LN5 = Session("ln5", "lacewing", 5.1, (
    User("the release workflow failed last night. find out why"),
    Sh("gh run list --workflow release.yml --limit 1", "completed\tfailure\tVersion Packages\tRelease\tmain\tpush\t12873349021\t2m3s\t2026-12-01T22:14:09Z"),
    Sh("gh run view 12873349021 --log-failed | tail -6", "Release\tPublish\t🦋  info Publishing \"@lacewing/react\" at \"3.3.0\"\nRelease\tPublish\t🦋  error an error occurred while publishing @lacewing/react: E404 Not Found - PUT https://registry.npmjs.org/@lacewing%2freact - Not found\nRelease\tPublish\t🦋  error npm ERR! 404 'You do not have permission to publish \"@lacewing/react\"'\nRelease\tPublish\tError: The process '/usr/bin/pnpm' failed with exit code 1"),
    Sh("sed -n '/- name: Publish/,$p' .github/workflows/release.yml", "      - name: Publish\n        uses: changesets/action@v1\n        with:\n          version: pnpm changeset version\n          publish: pnpm turbo run build --filter='./packages/*' && pnpm changeset publish\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}"),
    Say("Run 12873349021 failed at publish with an npm 404 / no permission for @lacewing/react. The workflow (.github/workflows/release.yml) uses changesets/action: the version step runs `pnpm changeset version`, the publish step builds the packages with turbo and then runs `changeset publish` with the NPM_TOKEN secret. So the token in the repo secret is probably expired or lacks the scope."),
    User("ugh. my local one works:"),
    Sh("cat ~/.npmrc", f"//registry.npmjs.org/:_authToken={NPM_TOKEN}"),
    User("don't keep that anywhere. I'll rotate the repo secret myself from the npm site, you just re-run the job afterwards"),
    Sh("gh run rerun 12873349021 --failed", "✓ Requested rerun of failed jobs for run 12873349021"),
    Say("Re-ran the failed publish job once you had rotated the secret."),
))

LN6 = Session("ln6", "lacewing", 1.2, (
    User("time to move to pnpm 9, 8 is out of support. do it in one PR"),
    Sh("corepack use pnpm@9.12.0", "Installing pnpm@9.12.0 in the project...\n\nLockfile is up to date, resolution step is skipped\nDone in 2.1s", secs=4.0),
    Sh("jq -r .packageManager package.json && head -1 pnpm-lock.yaml", "pnpm@9.12.0\nlockfileVersion: '9.0'"),
    Sh("pnpm -r typecheck && pnpm turbo run test", " Tasks:    5 successful, 5 total\nCached:    0 cached, 5 total", secs=40.0),
    User("CI too"),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n-      - uses: pnpm/action-setup@v2\n-        with: { version: 8 }\n+      - uses: pnpm/action-setup@v4"),
    Say("Moved to pnpm 9.12.0: packageManager is \"pnpm@9.12.0\", the lockfile is v9, and CI's pnpm/action-setup@v4 reads the version from packageManager."),
), later=True)

# -- gossamer: a Go module (binary wire codec) linted with golangci-lint

GS1 = Session("gs1", "gossamer", 24.0, (
    User("gossamer: main is red after dependabot merged the x/sys bump. look"),
    Sh("go test ./...", "go: updates to go.mod needed; to update it:\n\tgo mod tidy", code=1, secs=1.1),
    Sh("go mod tidy", "go: downloading golang.org/x/sys v0.27.0", secs=2.4),
    Sh("go test ./...", "ok  \tgithub.com/gossamer-go/gossamer\t0.412s\nok  \tgithub.com/gossamer-go/gossamer/internal/wire\t1.027s", secs=6.0),
    Sh("grep -n GOLANGCI Makefile && make lint", "3:GOLANGCI_LINT_VERSION := v1.61.0\n5:GOLANGCI_LINT := go run github.com/golangci/golangci-lint/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)\ngo run github.com/golangci/golangci-lint/cmd/golangci-lint@v1.61.0 run ./...\n0 issues.", secs=22.0),
    Say("Dependabot's bump left go.sum/go.mod out of step: `go test` said \"updates to go.mod needed\", and `go mod tidy` fixed it; tests pass. Lint is clean too: `make lint` runs golangci-lint v1.61.0, pinned in the Makefile through `go run`."),
    User("commit it. sign off — gossamer has the DCO app too, a commit without Signed-off-by can't be merged"),
    Sh("git commit -s -am \"go mod tidy after x/sys bump\"", "[master 0e4f1c9] go mod tidy after x/sys bump\n 2 files changed, 4 insertions(+), 4 deletions(-)"),
    Say("Done: 0e4f1c9 carries the DCO Signed-off-by trailer, so the app will let it through."),
))

GS2 = Session("gs2", "gossamer", 20.4, (
    User("issues #145 and PR #148"),
    Sh("gh issue view 145", "title:\tHow do I set a read timeout?\nstate:\tOPEN\nauthor:\tbjornk\nlabels:\t\n--\nI'm new to Go, how do I set a timeout on Decoder reads?"),
    User("question, not a bug. we keep issues for bugs; move it to Discussions like we do for sorrel and close"),
    Sh("gh issue close 145 --comment \"Moving this to Discussions (Q&A), where it's easier for others to find: https://github.com/gossamer-go/gossamer/discussions/149\"", "✓ Closed issue gossamer-go/gossamer#145 (How do I set a read timeout?)"),
    Sh("gh pr diff 148", "--- a/decoder.go\n+++ b/decoder.go\n@@ -61,7 +61,7 @@ func (d *Decoder) Decode(v any) error {\n \tn, err := d.r.Read(d.buf[:4])\n \tif err != nil {\n-\t\treturn err\n+\t\treturn fmt.Errorf(\"Reading frame header: %v.\", err)\n \t}"),
    Say("PR #148 wraps the read error with context, which is good, but uses `%v`, so `errors.Is(err, io.EOF)` no longer works for callers. I'll suggest `%w` in a patch."),
    Patch("*** Update File: decoder.go\n@@\n-\t\treturn fmt.Errorf(\"Reading frame header: %v.\", err)\n+\t\treturn fmt.Errorf(\"Reading frame header: %w.\", err)"),
    User("I changed your patch: the message also had to go lowercase and lose the full stop. From CONTRIBUTING:\n\n> Wrap errors with `fmt.Errorf(\"...: %w\", err)` so callers can use errors.Is / errors.As. Error strings start lowercase and end without punctuation.\n\nit's \"reading frame header: %w\" now. suggest that on the PR"),
    Sh("gh pr review 148 --comment --body-file /tmp/review-148.md", "✓ Reviewed pull request gossamer-go/gossamer#148"),
    Say("Left a review on #148 suggesting `fmt.Errorf(\"reading frame header: %w\", err)`."),
))

GS3 = Session("gs3", "gossamer", 14.1, (
    User("write table tests for the varint decoder in internal/wire. go to a new branch first — git switch, not checkout, I keep mistyping checkout paths"),
    Sh("git switch -c varint-tests", "Switched to a new branch 'varint-tests'"),
    Patch("*** Add File: internal/wire/varint_test.go\n+package wire\n+\n+import (\n+\t\"testing\"\n+\n+\t\"github.com/stretchr/testify/require\"\n+)\n+\n+func TestUvarint(t *testing.T) {\n+\tfor _, tc := range []struct {\n+\t\tin   []byte\n+\t\twant uint64\n+\t}{{[]byte{0x01}, 1}, {[]byte{0xac, 0x02}, 300}} {\n+\t\tgot, _, err := Uvarint(tc.in)\n+\t\trequire.NoError(t, err)\n+\t\trequire.Equal(t, tc.want, got)\n+\t}\n+}"),
    Sh("go get github.com/stretchr/testify@v1.9.0 && go test ./internal/wire", "go: added github.com/stretchr/testify v1.9.0\nok  \tgithub.com/gossamer-go/gossamer/internal/wire\t0.933s", secs=4.0),
    User("I changed your patch: I took testify back out of go.mod and rewrote the asserts with plain if/t.Fatalf. gossamer takes no dependencies beyond the standard library and golang.org/x — it's in the README's first paragraph, it's why people pick it. run lint before you push"),
    Sh("golangci-lint run ./internal/wire", "Error: can't load config: the Go language version (go1.23) used to build golangci-lint is lower than the targeted Go version (1.24)\nFailed executing command with error: can't load config: the Go language version (go1.23) used to build golangci-lint is lower than the targeted Go version (1.24)", code=3, secs=0.7),
    Sh("head -3 go.mod && which golangci-lint", "module github.com/gossamer-go/gossamer\n\ngo 1.24\n/usr/local/bin/golangci-lint"),
    Sh("make lint", "go run github.com/golangci/golangci-lint/cmd/golangci-lint@v1.61.0 run ./...\n0 issues.", secs=24.0),
    Say("The golangci-lint binary in /usr/local/bin was built with go1.23 and refuses this module, which targets Go 1.24 (\"lower than the targeted Go version\"). `make lint` builds the pinned version with the local toolchain through `go run` and reports 0 issues, so that's the way to lint here. go.mod has no testify any more."),
))

GS4 = Session("gs4", "gossamer", 9.2, (
    User("#151 reports a data race in Decoder under concurrent Reset. can you confirm it"),
    Sh("gh issue view 151 | tail -8", "dec := gossamer.NewDecoder(conn)\nfor i := 0; i < 4; i++ {\n    go func() {\n        for { dec.Reset(conn); dec.Decode(&msg) }\n    }()\n}\n\nWARNING: DATA RACE ... (*Decoder).Reset() decoder.go:44"),
    Sh("go test -race ./...", "go: -race requires cgo; enable cgo by setting CGO_ENABLED=1", code=2, secs=0.5),
    Sh("CGO_ENABLED=1 go test -race -count=1 ./...", "ok  \tgithub.com/gossamer-go/gossamer\t1.408s\nok  \tgithub.com/gossamer-go/gossamer/internal/wire\t2.094s", secs=9.0),
    Say("This machine builds with cgo off, so `go test -race` refused to start (\"-race requires cgo\"); `CGO_ENABLED=1 go test -race` runs, and the package's own tests are race-free. The report shares one Decoder between four goroutines, and the Decoder docs say it isn't safe for concurrent use, so the race is in their code."),
    User("right, close it with a pointer to that doc comment. and tell me how the fuzzing is set up, a contributor asked"),
    Sh("gh issue close 151 --comment \"A Decoder is not safe for concurrent use (see the NewDecoder doc comment): give each goroutine its own. Closing, thanks for the detailed report!\" && grep -n -A3 'fuzz:' .github/workflows/nightly.yml", "✓ Closed issue gossamer-go/gossamer#151 (Data race in Decoder.Reset)\n14:  fuzz:\n15-    runs-on: ubuntu-latest\n16-    steps:\n17-      - run: go test ./internal/wire -run '^$' -fuzz FuzzDecode -fuzztime 5m"),
    Say("Closed #151. Fuzzing: the nightly workflow (.github/workflows/nightly.yml) runs `go test ./internal/wire -fuzz FuzzDecode -fuzztime 5m`; the seed corpus is in internal/wire/testdata/fuzz/FuzzDecode."),
))

GS5 = Session("gs5", "gossamer", 4.9, (
    User("what version should the next gossamer release be? I lose track"),
    Sh("git describe --tags --abbrev=0 && git log --oneline v1.7.2..HEAD", "v1.7.2\n7c1e9d0 Add Decoder.Buffered (#150)\n0e4f1c9 go mod tidy after x/sys bump\nb8a71f2 Wrap header read errors with %w (#148)"),
    Sh("go run golang.org/x/exp/cmd/gorelease@latest -base=v1.7.2", "# github.com/gossamer-go/gossamer\n## compatible changes\n(*Decoder).Buffered: added\n\n# summary\nSuggested version: v1.8.0", secs=12.0),
    Say("`gorelease -base=v1.7.2` (golang.org/x/exp) reports one compatible addition, `Decoder.Buffered`, and suggests v1.8.0. That's the tool to ask before each tag: it compares the exported API with the last release."),
    User("v1.8.0 then. tag it. btw my sourdough starter finally survived a week, small wins"),
    Sh("git tag -s v1.8.0 -m v1.8.0 && git push origin v1.8.0", "To github.com:gossamer-go/gossamer.git\n * [new tag]         v1.8.0 -> v1.8.0"),
    Say("Tagged and pushed v1.8.0 (signed). Congratulations to the starter!"),
))

GS6 = Session("gs6", "gossamer", 1.0, (
    User("golangci-lint v2 is out and v1 won't get fixes. move gossamer over"),
    Sh("go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.1.6 migrate", "Migrating v1 configuration file: .golangci.yml\nSaving the v1 configuration to: .golangci.bck.yml\nv2 configuration file written: .golangci.yml", secs=8.0),
    Patch("*** Update File: Makefile\n@@\n-GOLANGCI_LINT_VERSION := v1.61.0\n-GOLANGCI_LINT := go run github.com/golangci/golangci-lint/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)\n+GOLANGCI_LINT_VERSION := v2.1.6\n+GOLANGCI_LINT := go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)"),
    Sh("make lint", "go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.1.6 run ./...\n0 issues.", secs=25.0),
    User("drop the .bck file, we have git"),
    Sh("git rm -q --cached .golangci.bck.yml; rm -f .golangci.bck.yml; git status --short", " M .golangci.yml\n M Makefile"),
    Say("Lint now runs golangci-lint v2.1.6 (pinned in the Makefile, module path .../golangci-lint/v2); `.golangci.yml` is in the v2 format and `make lint` reports 0 issues."),
), later=True)

SESSIONS = (
    RV1, RV2, RV3, RV4, RV5, RV6,
    SO1, SO2, SO3, SO4, SO5, SO6,
    LN1, LN2, LN3, LN4, LN5, LN6,
    GS1, GS2, GS3, GS4, GS5, GS6,
)

# -- ground truth

FACTS = (
    # preferences: stated once, in passing, mostly without a trigger word
    Fact("p.pref.coauthor", "preference", None, "When squashing a contributor's PR, credit them with a Co-authored-by trailer.", M("Co-authored-by"), ("rv4",)),
    Fact("p.pref.gh_not_curl", "preference", None, "Use the gh CLI for GitHub, not curl against the API with a token.", M("gh", "curl"), ("so2",)),
    Fact("p.pref.patch_first", "preference", None, "Keep answers short: the patch first, the explanation under it.", M("patch", "explanation"), ("ln4",)),
    Fact("p.pref.imperative", "preference", None, "Commit subjects in the imperative mood ('Add x', not 'Added x').", M("imperative"), ("so4",)),
    Fact("p.pref.git_switch", "preference", None, "Create and change branches with git switch, not git checkout.", M("git switch|switch", "checkout"), ("gs3",)),
    # rules stated in two projects: general
    Fact("p.gen.needs_repro", "general_rule", None, "An issue without a reproduction gets the needs-repro label and a request for a minimal example.", M("needs-repro"), ("rv2", "ln2")),
    Fact("p.gen.discussions", "general_rule", None, "Usage questions go to GitHub Discussions; the issue is closed.", M("Discussions"), ("so5", "gs2")),
    Fact("p.gen.thank_first", "general_rule", None, "When closing or declining a contributor's PR, thank them for the effort first, then give the reason.", M("thank|thanks", "close|closing|decline|declining"), ("rv2", "ln2")),
    Fact("p.gen.signoff", "general_rule", None, "Commits are DCO signed off (git commit -s, a Signed-off-by line), or the bot blocks the merge.", M("Signed-off-by|commit -s|sign off|signed off"), ("rv4", "gs1")),
    # rules of one project
    Fact("p.rule.rv_msrv_patch", "project_rule", "rivulet", "The MSRV is raised only in a minor release, never in a patch release.", M("MSRV|rust-version", "patch release|patch releases"), ("rv1",)),
    Fact("p.rule.rv_safety", "project_rule", "rivulet", "Every unsafe block has a // SAFETY: comment saying why it is sound.", M("SAFETY"), ("rv3",)),
    Fact("p.rule.rv_unwrap_docs", "project_rule", "rivulet", "Doc examples use ? in a hidden fn main() -> Result wrapper, no .unwrap().", M("unwrap", "doc example|doc examples|doctest|doctests"), ("rv5",)),
    Fact("p.rule.so_fragment", "project_rule", "sorrel", "Every user-visible change needs a towncrier fragment in changes/ named <PR>.<type>.md.", M("changes/", "fragment|fragments|towncrier"), ("so2",)),
    Fact("p.rule.so_deprecation", "project_rule", "sorrel", "A renamed function stays for two minor releases as a wrapper emitting DeprecationWarning.", M("DeprecationWarning", "two minor|2 minor"), ("so3",)),
    Fact("p.rule.so_numpydoc", "project_rule", "sorrel", "Public docstrings use numpydoc format.", M("numpydoc"), ("so3",)),
    Fact("p.rule.ln_changeset", "project_rule", "lacewing", "A change under packages/ needs a changeset; docs-only and CI changes don't.", M("changeset|changesets", "packages/"), ("ln3",)),
    Fact("p.rule.ln_no_default", "project_rule", "lacewing", "No default exports: named exports, re-exported from src/index.ts.", M("default export|default exports|export default"), ("ln4",)),
    Fact("p.rule.gs_wrap_w", "project_rule", "gossamer", "Errors are wrapped with fmt.Errorf and %w; error strings are lowercase, without trailing punctuation.", M("%w"), ("gs2",)),
    Fact("p.rule.gs_no_deps", "project_rule", "gossamer", "No dependencies beyond the standard library and golang.org/x.", M("golang.org/x", "dependencies|dependency|deps"), ("gs3",)),
    # knowledge from tool output and the agent's conclusions
    Fact("p.fact.rv_msrv", "project_fact", "rivulet", "The MSRV is 1.70 (rust-version in Cargo.toml).", M("MSRV|rust-version", "1.70"), ("rv1",), superseded_by="p.new.rv_msrv"),
    Fact("p.fact.rv_powerset", "project_fact", "rivulet", "CI checks every feature combination with cargo hack --feature-powerset --depth 2 check.", M("feature-powerset"), ("rv3",)),
    Fact("p.fact.rv_cliff", "project_fact", "rivulet", "scripts/release.sh regenerates CHANGELOG.md with git-cliff (cliff.toml) after cargo semver-checks.", M("git-cliff|git cliff", "CHANGELOG.md|changelog"), ("rv4",)),
    Fact("p.fact.so_pythons", "project_fact", "sorrel", "The nox test matrix runs Python 3.9 through 3.13.", M("3.9", "3.13"), ("so1",), superseded_by="p.new.so_pythons"),
    Fact("p.fact.so_compat", "project_fact", "sorrel", "zoneinfo is imported through the _compat.py shim.", M("_compat.py|_compat", "zoneinfo"), ("so4",)),
    Fact("p.fact.so_release", "project_fact", "sorrel", "nox -s release -- <version> runs towncrier build --yes, builds and twine-checks the dists.", M("nox -s release", "towncrier build"), ("so5",)),
    Fact("p.fact.ln_pnpm8", "project_fact", "lacewing", "pnpm@8.15.4 is pinned in packageManager.", M("pnpm@8.15.4|pnpm 8.15.4|8.15.4"), ("ln1",), superseded_by="p.new.ln_pnpm9"),
    Fact("p.fact.ln_layout", "project_fact", "lacewing", "Libraries are in packages/*, the docs site in apps/docs.", M("apps/docs"), ("ln1",)),
    Fact("p.fact.ln_publish", "project_fact", "lacewing", "release.yml publishes with changesets/action: turbo build then changeset publish, using the NPM_TOKEN secret.", M("changeset publish", "release.yml|NPM_TOKEN|changesets/action"), ("ln5",)),
    Fact("p.fact.gs_lint_v1", "project_fact", "gossamer", "make lint runs golangci-lint v1.61.0 pinned in the Makefile.", M("golangci-lint", "v1.61.0|1.61.0|v1.61"), ("gs1",), superseded_by="p.new.gs_lint_v2"),
    Fact("p.fact.gs_fuzz", "project_fact", "gossamer", "The nightly workflow fuzzes FuzzDecode in internal/wire for 5m.", M("FuzzDecode"), ("gs4",)),
    Fact("p.fact.gs_gorelease", "project_fact", "gossamer", "Before tagging, gorelease -base=<last tag> suggests the next version.", M("gorelease"), ("gs5",)),
    # failures fixed by another command or an edit
    Fact("p.fix.rv_indexmap", "failure_fix", "rivulet", "cargo +1.70 check fails because indexmap 2.7.0 requires rustc 1.82: cargo update -p indexmap --precise 2.5.0.", M("indexmap", "--precise"), ("rv1",), link=M("rustc 1.82|requires rustc|1.82|MSRV|1.70")),
    Fact("p.fix.rv_semver_install", "failure_fix", "rivulet", "cargo semver-checks says \"no such command\": cargo install cargo-semver-checks --locked.", M("cargo install cargo-semver-checks|install cargo-semver-checks"), ("rv3",), link=M("no such command")),
    Fact("p.fix.so_uv_python", "failure_fix", "sorrel", "nox fails with \"Python interpreter 3.9 not found\": uv python install 3.9.", M("uv python install"), ("so1",), link=M("interpreter|not found")),
    Fact("p.fix.so_towncrier", "failure_fix", "sorrel", "nox -s changelog fails with \"No new newsfragments found\": towncrier create <PR>.<type>.md.", M("towncrier create"), ("so2",), link=M("newsfragments|newsfragment|nox -s changelog|changelog check")),
    Fact("p.fix.so_tzdata", "failure_fix", "sorrel", "ZoneInfoNotFoundError in a slim container: add tzdata to the test extra in pyproject.toml.", M("tzdata"), ("so4",), link=M("ZoneInfoNotFoundError|No time zone found")),
    Fact("p.fix.ln_turbo", "failure_fix", "lacewing", "core tests fail with Cannot find module 'shared/dist/index.js': build the workspace deps first with pnpm turbo run build --filter=<pkg>^...", M("turbo run build|turbo build"), ("ln1",), link=M("Cannot find module|dist/index.js")),
    Fact("p.fix.ln_changeset", "failure_fix", "lacewing", "changeset status fails with \"no changesets were found\": add a .changeset/<name>.md file naming the package and bump.", M(".changeset/"), ("ln3",), link=M("no changesets|changeset status")),
    Fact("p.fix.ln_types_node", "failure_fix", "lacewing", "typecheck fails with TS2580 Cannot find name 'process': pnpm --filter <pkg> add -D @types/node.", M("@types/node"), ("ln4",), link=M("TS2580|Cannot find name")),
    Fact("p.fix.gs_tidy", "failure_fix", "gossamer", "go test says \"updates to go.mod needed\": run go mod tidy.", M("go mod tidy"), ("gs1",), link=M("updates to go.mod needed|go.mod needed")),
    Fact("p.fix.gs_make_lint", "failure_fix", "gossamer", "A system golangci-lint fails with 'the Go language version used to build golangci-lint is lower than the targeted Go version': lint with make lint (the pinned version via go run).", M("make lint"), ("gs3",), link=M("targeted Go version|lower than the targeted")),
    Fact("p.fix.gs_cgo", "failure_fix", "gossamer", "go test -race fails with \"-race requires cgo\": run it as CGO_ENABLED=1 go test -race.", M("CGO_ENABLED=1"), ("gs4",), link=M("requires cgo|-race")),
    # what the later sessions state in place of older facts
    Fact("p.new.rv_msrv", "superseding", "rivulet", "The MSRV is 1.75 since the 0.9.0 minor release (rust-version in Cargo.toml).", M("MSRV|rust-version", "1.75"), ("rv6",)),
    Fact("p.new.so_pythons", "superseding", "sorrel", "The nox test matrix runs Python 3.10 through 3.14; 3.9 was dropped in 2.5.0.", M("3.10", "3.14"), ("so6",)),
    Fact("p.new.ln_pnpm9", "superseding", "lacewing", "pnpm@9.12.0 is pinned in packageManager (lockfile v9).", M("pnpm@9.12.0|pnpm 9.12.0|9.12.0"), ("ln6",)),
    Fact("p.new.gs_lint_v2", "superseding", "gossamer", "make lint runs golangci-lint v2.1.6; .golangci.yml is in the v2 format.", M("golangci-lint", "v2.1.6|2.1.6"), ("gs6",)),
)

DISTRACTORS = (
    Distractor("p.d.run_id", "transient", "a release workflow run id", M("12873349021"), ("ln5",)),
    Distractor("p.d.tmpdir", "transient", "nox's temporary build directory", M("tmp.k3JfQ9vX"), ("so5",)),
    Distractor("p.d.comment_id", "transient", "an issue comment id", M("2519934417"), ("rv1",)),
    Distractor("p.d.npm_token", "secret", "the user's npm token from ~/.npmrc", M(NPM_TOKEN), ("ln5",)),
    Distractor("p.d.projector", "small_talk", "the projector dying during a talk in Oslo", M("projector"), ("rv4",)),
    Distractor("p.d.sourdough", "small_talk", "the user's sourdough starter", M("sourdough"), ("gs5",)),
    Distractor("p.d.anyhow", "rejected", "a contributor's PR putting anyhow::Error in rivulet's public API", M("anyhow"), ("rv2",), negatable=True),
    Distractor("p.d.bun", "rejected", "a contributor's PR moving lacewing from pnpm to bun", M("bun"), ("ln2",), negatable=True),
    Distractor("p.d.testify", "rejected", "the agent adding testify to gossamer's go.mod, undone by the maintainer", M("testify"), ("gs3",), negatable=True),
)

CORPUS = Corpus(
    name="p",
    how="an open-source maintainer triaging issues and contributor PRs with the agent: house style quoted from CONTRIBUTING.md / STYLE.md, the maintainer's edits of the agent's patches, knowledge from cargo/nox/pnpm/go output, changelog tooling, release scripts and git log/blame (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="gs4",
    notes={
        "voice": "a maintainer working through the queue: short asks naming an issue or PR number, decisions with their reasons, 'I changed your patch: ...' after editing the agent's work, polite refusals of contributors' proposals",
        "means": "rules from CONTRIBUTING.md / STYLE.md sections the agent reads with sed or the user pastes as a quote, and from the maintainer's explanations of edits; facts from cargo, nox, pnpm/turbo/changesets and go tool output, CI logs and workflow files, release scripts, git log/blame; failure->fix pairs where the fix is another command or an edit",
    },
)
