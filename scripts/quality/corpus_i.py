# Literal command output and pasted markdown keep their real line lengths.
# ruff: noqa: E501
"""Corpus I: a team lead who writes structured briefs (held out: written after A–G, never run
through memoryd before it was committed, and never adjusted after a score).

The user writes tickets as markdown: "## Context", "## Constraints", "## Done when" headings,
tables, bullet lists of requirements, pasted ADR excerpts ("ADR-014 supersedes ADR-009"),
rules as team policy in the first person plural ("We do not add a package without asking"),
and how the agent should report back (format, length, commit message language); between the
briefs come short chat-style follow-ups. Much of the knowledge arrives through the agent's
own trial and error, narrated in its progress notes: it runs a command, reads the error,
checks ``--help``, a man page or a config file (``justfile``, ``Makefile``, ``melos.yaml``,
``.tool-versions``, ``CODEOWNERS``, ``docker compose ps``/``logs``), tries another command or
an environment variable, and says what it learned. One session has the user make the agent
undo what it did, and why.

Four projects none of A–G has: a Julia package (Pkg, Documenter, just), a Zig command-line
tool (zig build, asdf), a Flutter/Dart monorepo (melos, fvm, build_runner, docker compose)
and an R package (devtools, testthat, renv, make).
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
    Step,
    Think,
    User,
)

# fmt: off
HOME = "/home/tomas"
PROJECTS = (
    Project("kelpie", f"{HOME}/lab/kelpie", "git@github.com:tidewatch-lab/Kelpie.jl.git"),
    Project("zinnia", f"{HOME}/tools/zinnia", "git@codeberg.org:tomas-v/zinnia.git"),
    Project("heronbay", f"{HOME}/apps/heronbay", "git@github.com:heronbay-mobile/heronbay.git", "develop"),
    Project("dunlin", f"{HOME}/stats/dunlin", "git@github.com:tidewatch-lab/dunlin.git"),
)
VAULT_TOKEN = "hvs.CAESIP3kQ9vLmZ8xR2tYwN5bJc7HdF1gKs4aU6eVrT0oWpXqGh4KHGh2cy5Rb3pNcHhBN2JlTjZ0UmlUa0dGcjJLWHo"


def session(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    return Session(key, project, days_ago, tuple(steps), later=later)


# -- kelpie: a Julia package for tide-gauge time series

K1 = session(
    "k1", "kelpie", 27.2,
    User("""## Context
Kelpie.jl is our tide-gauge time-series package. Marta is out, you're picking up the resampling work.

## Constraints
- We pin tool versions in `.tool-versions` and install them with asdf. Don't use whatever julia the system has.
- Work on a branch, not on main.

## Done when
- [ ] the test suite runs green locally
- [ ] you've told me what you had to do to get there

## How to report back
One-line status first, then a table of changed files (file | why), then open questions. Nothing else."""),
    Think("Check the pinned toolchain first, then run the package tests."),
    Sh("cat .tool-versions", "julia 1.10.4\njust 1.36.0\n"),
    Sh("julia --version", "julia version 1.10.4\n"),
    Sh("julia --project=. -e 'using Pkg; Pkg.test()'", """     Testing Kelpie
ERROR: LoadError: ArgumentError: Package CSV not found in current path.
- Run `import Pkg; Pkg.add("CSV")` to install the CSV package.
Stacktrace:
  [1] macro expansion
    @ ./loading.jl:1842 [inlined]
  [2] macro expansion
    @ ./lock.jl:267 [inlined]
  [3] __require(into::Module, mod::Symbol)
    @ Base ./loading.jl:1823
in expression starting at /home/tomas/lab/kelpie/src/Kelpie.jl:4
ERROR: Package Kelpie errored during testing""", code=1, secs=14.2),
    Say("First attempt failed: `CSV` is listed in Project.toml but nothing is installed in this depot yet. The error suggests `Pkg.add`, but that would edit Project.toml; what we actually need is to install what the Manifest already pins. Checking Pkg's help for that."),
    Sh("julia --project=. -e 'using Pkg; Pkg.REPLMode.pkgstr(\"help instantiate\")'", """  instantiate [-v|--verbose] [--workspace]

  If a Manifest.toml file exists in the active project, download all the packages declared in that manifest.
  Otherwise, resolve a set of feasible packages from the Project.toml files and install them."""),
    Sh("julia --project=. -e 'using Pkg; Pkg.instantiate()'", """  Installing known registries into `~/.julia`
    Updating registry at `~/.julia/registries/General.toml`
   Installed CSV ──────────── v0.10.14
   Installed DataFrames ───── v1.6.1
   Installed Dates ────────── v1.10.4
Precompiling project...
  41 dependencies successfully precompiled in 58 seconds""", secs=71.0),
    Sh("julia --project=. -e 'using Pkg; Pkg.test()'", """     Testing Kelpie
Test Summary: | Pass  Error  Total   Time
resample      |   12      3     15  4.1s
ERROR: LoadError: Some tests did not pass: 12 passed, 0 failed, 3 errored, 0 broken.
  Error During Test at /home/tomas/lab/kelpie/test/resample.jl:8
  Got exception outside of a @test
  KeyError: key "KELPIE_DATA_DIR" not found
  Stacktrace:
   [1] getindex(::Base.EnvDict, k::String)
     @ Base ./env.jl:82
   [2] fixture_path(name::String)
     @ Main ./test/runtests.jl:6""", code=1, secs=22.5),
    Sh("rg -n KELPIE_DATA_DIR test/ README.md", """test/runtests.jl:6:fixture_path(name) = joinpath(ENV["KELPIE_DATA_DIR"], name)
README.md:41:Tests read their gauge fixtures from `KELPIE_DATA_DIR` (point it at `test/fixtures`)."""),
    Sh("KELPIE_DATA_DIR=test/fixtures julia --project=. -e 'using Pkg; Pkg.test()'", """     Testing Kelpie
Test Summary: | Pass  Total   Time
resample      |   15     15  3.9s
io            |   22     22  1.2s
     Testing Kelpie tests passed""", secs=19.8),
    Say("""Tests green locally.

| File | Why |
|---|---|
| (none) | no code changes needed, only environment |

What it took, for next time:
- Julia 1.10.4 is what `.tool-versions` pins; asdf's shim already pointed at it.
- A fresh depot needs `Pkg.instantiate()` first: `Pkg.test()` failed with "Package CSV not found in current path" until the Manifest's packages were installed.
- The tests read fixtures from `KELPIE_DATA_DIR`; without it they error with `KeyError: key "KELPIE_DATA_DIR" not found`. Running with `KELPIE_DATA_DIR=test/fixtures` fixes it.

Open questions: should `runtests.jl` default `KELPIE_DATA_DIR` to `test/fixtures`?"""),
    User("No, leave runtests.jl alone, CI sets it explicitly. Good report, that's the format I want."),
    Say("OK, runtests.jl keeps reading the variable with no default."),
)

K2 = session(
    "k2", "kelpie", 24.0,
    User("docs build is red on main since yesterday. can you take a look? no need for a long write-up"),
    Sh("julia --project=docs docs/make.jl", """ERROR: LoadError: ArgumentError: Package Kelpie not found in current path.
- Run `import Pkg; Pkg.add("Kelpie")` to install the Kelpie package.
Stacktrace:
 [1] require(into::Module, mod::Symbol)
   @ Base ./loading.jl:1790
in expression starting at /home/tomas/lab/kelpie/docs/make.jl:1""", code=1, secs=6.3),
    Say("The docs environment can't see the package itself. `Pkg.add(\"Kelpie\")` would pull the registered release instead of this checkout, which is the wrong thing for docs of unreleased code. Looking at how the docs Project.toml references the package."),
    Sh("cat docs/Project.toml", """[deps]
Documenter = "e30172f5-a6a5-5a46-863b-614d45cd2de4"

[compat]
Documenter = "1.5\""""),
    Sh("julia --project=docs -e 'using Pkg; Pkg.develop(path=\".\"); Pkg.instantiate()'", """   Resolving package versions...
    Updating `~/lab/kelpie/docs/Project.toml`
  [8a3c1f20] + Kelpie v0.7.2 `..`
    Updating `~/lab/kelpie/docs/Manifest.toml`
  [8a3c1f20] + Kelpie v0.7.2 `..`"""),
    Sh("julia --project=docs docs/make.jl", """[ Info: SetupBuildDirectory: setting up build directory.
[ Info: Doctest: running doctests.
[ Info: ExpandTemplates: expanding markdown templates.
[ Info: CrossReferences: building cross-references.
[ Info: CheckDocument: running document checks.
[ Info: Populate: populating indices.
[ Info: RenderDocument: rendering document.
[ Info: HTMLWriter: rendering HTML pages.""", secs=48.0),
    Say("Fixed: `docs/make.jl` failed with \"Package Kelpie not found in current path\" because the docs environment had lost its dev link to the repo (someone regenerated docs/Manifest.toml). `julia --project=docs -e 'using Pkg; Pkg.develop(path=\".\")'` restored it and the docs build passes, doctests included."),
    User("""thanks. One rule while you're in there:

> Policy: docstring examples are doctests. Anything that touches a docstring gets `julia --project=docs docs/make.jl` run locally before it's pushed.

Also, who reviews changes under src/io? I want the resampling PR to go to the right person."""),
    Sh("cat .github/CODEOWNERS", """# Kelpie.jl code owners
*               @tomas-v
/src/io/        @marta-ocean
/src/resample/  @tomas-v @jonah-k
/docs/          @jonah-k"""),
    Say("Per `.github/CODEOWNERS`, `/src/io/` is owned by @marta-ocean; resampling (`/src/resample/`) is you and @jonah-k. I'll request @marta-ocean on the PR since it touches src/io/readers.jl. Noted the docs policy."),
)

K3 = session(
    "k3", "kelpie", 19.5,
    User("""## Context
Resampling got slower after the DataFrames bump. I want numbers before we decide anything.

## Done when
- benchmark numbers for `main` vs your branch, as a table
- no code changes in this ticket"""),
    Sh("just --list", """Available recipes:
    bench   # run the benchmark suite against the current checkout
    docs    # build the documentation
    test    # run the test suite with fixtures"""),
    Sh("just --show bench", """# run the benchmark suite against the current checkout
bench:
    julia --project=bench bench/run.jl"""),
    Sh("just bench", """  Activating project at `~/lab/kelpie/bench`
resample_hourly     median  41.203 ms   allocs 18211
resample_daily      median   9.881 ms   allocs  4102
read_gauge_csv      median 112.430 ms   allocs 90877""", secs=95.0),
    Sh("ps aux | rg '[j]ulia --project=bench'", "tomas      48213 99.0  6.1 2841136 501232 pts/3   Rl   10:14   4:02 julia --project=bench bench/run.jl\n"),
    Sh("kill 48213"),
    Say("""`just bench` is `julia --project=bench bench/run.jl` (from the justfile). A stray run from an earlier terminal was still eating a core, so I stopped it first and reran both checkouts.

| Benchmark | main | branch | Δ |
|---|---|---|---|
| resample_hourly | 41.2 ms | 33.9 ms | −18 % |
| resample_daily | 9.9 ms | 9.7 ms | −2 % |
| read_gauge_csv | 112.4 ms | 112.1 ms | 0 % |

The slowdown is in hourly resampling only."""),
    User("nice. unrelated: Jonah brought a cake for the 1.0 planning meeting, there's some left in the kitchen 🎂"),
    Say("Ha, thanks for the heads-up."),
)

K5 = session(
    "k5", "kelpie", 9.3,
    User("""Follow-up on the resampling PR: CI failed, run 9812345567. Find out why and fix it.

Constraints:
- touch only src/resample/
- commit message in the usual format"""),
    Sh("gh run view 9812345567 --log-failed | tail -n 12", """test (1.10, ubuntu-latest)  Run julia-actions/julia-runtest@v1
test (1.10, ubuntu-latest)  resample: Test Failed at /home/runner/work/Kelpie.jl/Kelpie.jl/test/resample.jl:31
test (1.10, ubuntu-latest)    Expression: length(out) == 24
test (1.10, ubuntu-latest)     Evaluated: 23 == 24
test (1.10, ubuntu-latest)  Test Summary: | Pass  Fail  Total
test (1.10, ubuntu-latest)  resample      |   14     1     15
test (1.10, ubuntu-latest)  ##[error]Process completed with exit code 1."""),
    Sh("sed -n 20,34p src/resample/hourly.jl", """function resample_hourly(ts::GaugeSeries)
    start = floor(first(ts.time), Hour)
    stop  = floor(last(ts.time), Hour)
    bins  = start:Hour(1):stop - Hour(1)
    return [mean(window(ts, b, b + Hour(1))) for b in bins]
end"""),
    Patch("""*** Update File: src/resample/hourly.jl
@@ function resample_hourly(ts::GaugeSeries)
-    bins  = start:Hour(1):stop - Hour(1)
+    bins  = start:Hour(1):stop"""),
    Sh("KELPIE_DATA_DIR=test/fixtures julia --project=. -e 'using Pkg; Pkg.test()'", """     Testing Kelpie
Test Summary: | Pass  Total   Time
resample      |   15     15  3.7s
io            |   22     22  1.1s
     Testing Kelpie tests passed""", secs=18.9),
    Sh("git commit -am 'Include the last hour in hourly resampling' && git push", "[resample-speedup 3f1c2aa] Include the last hour in hourly resampling\n 1 file changed, 1 insertion(+), 1 deletion(-)\n"),
    Say("Off-by-one: the last hourly bin was dropped (`stop - Hour(1)`), so 23 bins instead of 24. Fixed in src/resample/hourly.jl, tests pass locally with the fixtures dir set, pushed as \"Include the last hour in hourly resampling\"."),
)

K6 = session(
    "k6", "kelpie", 4.2,
    User("""## Release 0.8.0 prep

| Step | Owner |
|---|---|
| bump version in Project.toml | you |
| changelog entry | you |
| registration | you, but tell me how it works first |

Keep the answer short."""),
    Sh("rg -n '^version' Project.toml", "3:version = \"0.7.2\"\n"),
    Patch("""*** Update File: Project.toml
@@
-version = "0.7.2"
+version = "0.8.0\""""),
    Sh("cat RELEASE.md", """# Releasing Kelpie.jl

1. Bump `version` in Project.toml on main.
2. Comment `@JuliaRegistrator register` on the merge commit on GitHub.
3. TagBot creates the git tag and GitHub release once the General PR merges (about 20 minutes).
Do not create tags by hand."""),
    Say("Version bumped to 0.8.0. Registration, from RELEASE.md: after the bump lands on main, comment `@JuliaRegistrator register` on the merge commit; TagBot then tags and publishes the release once the General registry PR merges. No manual tags."),
    User("ok go ahead with the changelog, then I'll comment the registrator line myself."),
    Patch("""*** Update File: CHANGELOG.md
@@
+## 0.8.0
+- Hourly resampling includes the last hour of a series.
+- `resample_hourly` is 18 % faster."""),
    Say("Changelog entry added under 0.8.0."),
)

K4 = session(
    "k4", "kelpie", 2.1,
    User("""Pasting the ADR we merged this morning so you have it:

> **ADR-016: Benchmarks with AirspeedVelocity** — *supersedes ADR-011*
> Status: accepted
> Decision: the hand-rolled `bench/run.jl` suite is removed. Benchmarks live in `benchmark/benchmarks.jl` (a BenchmarkTools `SUITE`) and are run with AirspeedVelocity's `benchpkg`, which compares revisions itself.

Please rerun the resampling numbers for main vs HEAD."""),
    Sh("julia --project=bench bench/run.jl", """ERROR: could not open file /home/tomas/lab/kelpie/bench/run.jl
Stacktrace:
 [1] include(mod::Module, _path::String)
   @ Base ./Base.jl:495""", code=1, secs=2.1),
    Say("As the ADR says, `bench/run.jl` is gone (the justfile's `bench` recipe still pointed at it). Checking how `benchpkg` takes revisions."),
    Sh("benchpkg --help | head -n 12", """  benchpkg package_name [-r --rev <arg>] [-o, --output-dir <arg>] [-s, --script <arg>] [-e --exeflags <arg>] [-a --add <arg>] [--tune] [--url <arg>] [--path <arg>] [--bench-on <arg>] [--nsamples-load-time <arg>]

  Benchmark a package over a set of revisions.

  Options
  -r, --rev <arg>: Revisions to test (delimit by comma). Use `dirty` to benchmark the current state of the package at `path` (and not a git commit)."""),
    Sh("benchpkg Kelpie --rev=main,dirty --path=.", """[ Info: Downloading package's latest benchmark script, assuming it is in benchmark/benchmarks.jl
[ Info: Benchmarking Kelpie@main
[ Info: Benchmarking Kelpie@dirty
|                          | main           | dirty          | main / dirty |
|:-------------------------|:--------------:|:--------------:|:------------:|
| resample/hourly          | 33.8 ± 0.4 ms  | 33.6 ± 0.5 ms  | 1.01         |
| resample/daily           | 9.71 ± 0.1 ms  | 9.69 ± 0.1 ms  | 1            |
| io/read_gauge_csv        | 112 ± 1.8 ms   | 111 ± 1.6 ms   | 1.01         |""", secs=240.0),
    Patch("""*** Update File: justfile
@@
 # run the benchmark suite against the current checkout
 bench:
-    julia --project=bench bench/run.jl
+    benchpkg Kelpie --rev=main,dirty --path=."""),
    Say("Benchmarks now run with `benchpkg Kelpie --rev=main,dirty --path=.` (AirspeedVelocity, ADR-016); the old `bench/run.jl` suite is removed, so I pointed the justfile's `bench` recipe at `benchpkg` too. main vs HEAD is flat: hourly 33.8 vs 33.6 ms."),
    later=True,
)

# -- zinnia: a Zig command-line log compressor

Z1 = session(
    "z1", "zinnia", 26.0,
    User("""## Context
zinnia is my little log compressor in Zig. I want a `--level` flag (1–9) on `zinnia compress`.

## Constraints
- Toolchain from `.tool-versions`, same as in every repo of ours. No system zig.
- Argument parsing stays in `src/cli.zig`.
- Commit messages: English, imperative mood, subject ≤ 72 characters, a body that says why.

## Done when
- `zig build test` passes
- `zinnia compress --level 9 sample.log` works"""),
    Sh("cat .tool-versions", "zig 0.13.0\n"),
    Sh("zig version", "0.13.0\n"),
    Sh("zig build", """/home/tomas/tools/zinnia/build.zig.zon:12:20: error: hash mismatch: manifest declares 1220ab9f3e2d6c41f0e5c7a9b8d2f4e6a1c3b5d7e9f0a2c4b6d8e0f1a3c5e7b9d1f2 but the fetched package has 12207c1e4a6b8d0f2e4c6a8b0d2f4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2f
            .hash = "1220ab9f3e2d6c41f0e5c7a9b8d2f4e6a1c3b5d7e9f0a2c4b6d8e0f1a3c5e7b9d1f2",
                    ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~""", code=1, secs=3.4),
    Say("The build fails before compiling anything: `build.zig.zon` declares a hash for the `clap` dependency that doesn't match the tarball its URL serves now (the tag was re-pushed upstream). Editing the hash by hand is error-prone; `zig fetch --help` says `--save` rewrites the entry from what it actually downloads."),
    Sh("zig fetch --help", """Usage: zig fetch [options] <url>
Usage: zig fetch [options] <path>

    Copy a package into the global cache and print its hash.

Options:
  -h, --help                    Print this help and exit
  --global-cache-dir [path]     Override path to global Zig cache directory
  --debug-hash                  Print verbose hash information to stdout
  --save                        Add the fetched package to build.zig.zon
  --save=[name]                 Add the fetched package to build.zig.zon as name"""),
    Sh("zig fetch --save=clap https://github.com/Hejsil/zig-clap/archive/refs/tags/0.9.1.tar.gz", "info: updated build.zig.zon dependency 'clap'\n"),
    Sh("zig build", "", secs=9.7),
    Patch("""*** Update File: src/cli.zig
@@ const params = clap.parseParamsComptime(
     \\\\-h, --help             Display this help and exit.
+    \\\\-l, --level <u4>       Compression level, 1 (fast) to 9 (small). Default 6.
     \\\\<str>...
@@ pub fn parse(alloc: std.mem.Allocator) !Options {
-    return .{ .files = res.positionals };
+    const level = res.args.level orelse 6;
+    if (level < 1 or level > 9) return error.InvalidLevel;
+    return .{ .files = res.positionals, .level = level };"""),
    Sh("zig build test --summary all", """Build Summary: 5/5 steps succeeded; 31/31 tests passed
test success
+- run test 31 passed 118ms MaxRSS:3M
   +- zig test Debug native success 2s MaxRSS:201M""", secs=8.2),
    Sh("./zig-out/bin/zinnia compress --level 9 testdata/sample.log && ls -l testdata/sample.log.zn", "-rw-r--r-- 1 tomas tomas 18233 Nov 10 09:41 testdata/sample.log.zn\n"),
    Sh("git commit -am 'Add --level to compress' -m 'Users asked to trade speed for size on archive jobs; the level maps to the window size.'", "[level-flag 91b0e2c] Add --level to compress\n 2 files changed, 9 insertions(+), 2 deletions(-)\n"),
    Say("Done: `--level` (1–9, default 6) in src/cli.zig, tests pass (31/31), `compress --level 9` works. Learned on the way: when `zig build` fails with a hash mismatch in build.zig.zon, `zig fetch --save=<name> <url>` re-pins the dependency correctly. Toolchain is zig 0.13.0 per .tool-versions."),
)

Z2 = session(
    "z2", "zinnia", 22.3,
    User("""Ticket ZIN-31: streaming decompressor.

Requirements:
1. `decompress` must not hold the whole file in memory
2. tests for a truncated input
3. in tests we use `std.testing.allocator`, not `page_allocator` — it reports leaks, which is the point

Report back in the usual table format."""),
    Patch("""*** Update File: src/decompress.zig
@@ pub fn decompressStream(alloc: std.mem.Allocator, in: anytype, out: anytype) !void {
-    const data = try in.readAllAlloc(alloc, max_size);
-    try inflate(data, out);
+    const buf = try alloc.alloc(u8, window_size);
+    var r = Reader.init(in, buf);
+    while (try r.nextBlock()) |block| try inflateBlock(block, out);
+    // TODO: reuse the window between files
@@ test "truncated input is an error" {
+    const alloc = std.testing.allocator;
+    var fbs = std.io.fixedBufferStream(testdata.truncated);
+    try std.testing.expectError(error.Truncated, decompressStream(alloc, fbs.reader(), std.io.null_writer));"""),
    Sh("zig build test --summary all", """test
+- run test 32 passed, 1 leaked
   +- zig test Debug native
error: 'decompress.test.truncated input is an error' leaked: [gpa] (err): memory address 0x7f3a1c2e0000 leaked:
/home/tomas/tools/zinnia/src/decompress.zig:14:36: 0x10b2f4a in decompressStream__anon_3021 (test)
    const buf = try alloc.alloc(u8, window_size);
                                   ^
All 32 tests passed.
1 errors were logged.
1 tests leaked memory.
error: the following test command failed with exit code 1""", code=1, secs=7.9),
    Say("`std.testing.allocator` caught it: the window buffer leaks when `nextBlock` returns `error.Truncated`. Adding a `defer alloc.free(buf)` right after the allocation."),
    Patch("""*** Update File: src/decompress.zig
@@ pub fn decompressStream(alloc: std.mem.Allocator, in: anytype, out: anytype) !void {
     const buf = try alloc.alloc(u8, window_size);
+    defer alloc.free(buf);"""),
    Sh("zig build test --summary all", """Build Summary: 5/5 steps succeeded; 32/32 tests passed
test success
+- run test 32 passed 121ms MaxRSS:3M""", secs=8.0),
    Say("""Streaming decompressor in, tests green.

| File | Why |
|---|---|
| src/decompress.zig | block-wise inflate with a fixed window; `defer alloc.free(buf)` fixes the leak the testing allocator reported on truncated input |

Open question: the TODO about reusing the window — keep it?"""),
    User("""Keep it, but we don't merge bare TODOs. Policy is `TODO(#issue): ...` with a real issue link, so the next person knows where the discussion is. I opened #44 for it."""),
    Patch("""*** Update File: src/decompress.zig
@@
-    // TODO: reuse the window between files
+    // TODO(#44): reuse the window between files"""),
    Say("Changed to `TODO(#44): reuse the window between files`."),
)

Z3 = session(
    "z3", "zinnia", 17.8,
    User("the test suite feels slow now that there are fuzz seeds. see what you can do, 15 minutes max"),
    Sh("zig build test --summary all", """Build Summary: 5/5 steps succeeded; 58/58 tests passed
test success
+- run test 58 passed 41s MaxRSS:38M""", secs=44.0),
    Patch("""*** Update File: build.zig
@@ pub fn build(b: *std.Build) void {
     const target = b.standardTargetOptions(.{});
-    const optimize = b.standardOptimizeOption(.{});
+    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });"""),
    Sh("zig build test --summary all", """Build Summary: 5/5 steps succeeded; 58/58 tests passed
test success
+- run test 58 passed 6s MaxRSS:36M""", secs=9.1),
    Say("Made ReleaseFast the preferred optimize mode in build.zig: the suite drops from 41 s to 6 s."),
    User("""Please undo that build.zig change.

Why: Debug is our default on purpose — the fuzz seeds exist to hit safety checks (bounds, overflow, unreachable), and ReleaseFast compiles those out, so a fast green run there proves much less. If you want speed for a one-off, pass `-Doptimize=ReleaseSafe` on the command line; don't change the default."""),
    Patch("""*** Update File: build.zig
@@ pub fn build(b: *std.Build) void {
     const target = b.standardTargetOptions(.{});
-    const optimize = b.standardOptimizeOption(.{ .preferred_optimize_mode = .ReleaseFast });
+    const optimize = b.standardOptimizeOption(.{});"""),
    Sh("git diff --stat", ""),
    Say("Reverted; build.zig is back to `standardOptimizeOption(.{})` and the working tree is clean. Understood about the safety checks."),
    User("Also — did you push anything to `level-flag`? That's Ana's branch too."),
    Sh("git log --oneline origin/level-flag -3", "91b0e2c Add --level to compress\n4e7a010 Split cli parsing out of main.zig\nd3310b8 Add sample logs\n"),
    Say("No, nothing pushed since 91b0e2c. Should I rebase it onto main and push?"),
    User("""No. Rule for all our repos: we don't rewrite history on a branch someone else works on. On a branch that's only yours, `git push --force-with-lease` is fine; plain `--force` is not."""),
    Say("Got it: only `--force-with-lease`, and only on my own branches."),
)

Z4 = session(
    "z4", "zinnia", 13.0,
    User("""## Context
Ana wants zinnia on her M2 laptop and on the Raspberry Pi log box.

## Done when
- a binary for the Pi that runs there
- you tell me what blocks the macOS one, if anything
- the fuzz seeds are in the repo where the fuzz step finds them"""),
    Sh("zig build -Dtarget=aarch64-macos -Doptimize=ReleaseSafe", """error: unable to find or provide libc for target 'aarch64-macos.11.7.1...14.1-none'
    note: run 'zig targets' to see the targets for which zig can always provide libc""", code=1, secs=2.6),
    Say("macOS needs the Apple SDK for libc when the tool links libc, which we do for `mmap`; we can't provide it from Linux. The Pi is easier: with the musl target Zig ships its own libc, so no sysroot is needed."),
    Sh("zig targets | jq -r '.libc[]' | rg '^aarch64-linux'", "aarch64-linux-gnu\naarch64-linux-musl\n"),
    Sh("zig build -Dtarget=aarch64-linux-musl -Doptimize=ReleaseSafe", "", secs=31.4),
    Sh("file zig-out/bin/zinnia", "zig-out/bin/zinnia: ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked, with debug_info, not stripped\n"),
    Sh("rg -n 'fuzz' build.zig", """41:    const fuzz = b.addTest(.{ .root_source_file = b.path("tests/fuzz/main.zig") });
42:    fuzz.root_module.addAnonymousImport("seeds", .{ .root_source_file = b.path("tests/fuzz/corpus/seeds.zig") });"""),
    Sh("mkdir -p tests/fuzz/corpus && git mv fuzz-seeds/*.bin tests/fuzz/corpus/ && ls tests/fuzz/corpus | head -n 4", "empty.bin\nlong_run.bin\ntruncated_header.bin\nutf16_log.bin\n"),
    Say("""Pi binary: `zig build -Dtarget=aarch64-linux-musl -Doptimize=ReleaseSafe` gives a static aarch64 binary (the `aarch64-macos` target fails with "unable to find or provide libc"; for Linux targets use musl, which Zig bundles). macOS needs a build on a Mac.

Fuzz seeds moved to `tests/fuzz/corpus/`, which is where build.zig's fuzz step imports them from."""),
)

Z6 = session(
    "z6", "zinnia", 7.2,
    User("quick one: compression ratio on the big nginx sample at levels 1, 6, 9? just the numbers"),
    Sh("for l in 1 6 9; do zig build run -Doptimize=ReleaseSafe -- compress --level $l -o /tmp/zinnia-bench-7Hq2x/out.$l.zn testdata/nginx-big.log; done; ls -l /tmp/zinnia-bench-7Hq2x/", """total 5120
-rw-r--r-- 1 tomas tomas 2412003 Nov 30 16:02 out.1.zn
-rw-r--r-- 1 tomas tomas 1630877 Nov 30 16:02 out.6.zn
-rw-r--r-- 1 tomas tomas 1501340 Nov 30 16:03 out.9.zn""", secs=38.0),
    Say("From a 12.0 MB input: level 1 → 2.41 MB (5.0×), level 6 → 1.63 MB (7.4×), level 9 → 1.50 MB (8.0×)."),
)

Z5 = session(
    "z5", "zinnia", 1.6,
    User("""> **ADR-014: Zig 0.14** — *supersedes ADR-009 (Zig 0.13 as the pinned toolchain)*
> We moved from Zig 0.13.0 to 0.14.0 for the new `std.process.Child` API and the build system fixes. `.tool-versions` says `zig 0.14.0`; 0.13 builds are no longer supported.

I merged the .tool-versions change. Get main building on 0.14 and tell me what broke."""),
    Sh("git pull && cat .tool-versions", "Updating 7d21c0e..b5f9a11\nFast-forward\n .tool-versions | 2 +-\nzig 0.14.0\n"),
    Sh("zig build", "asdf: No preset version installed for command zig\nPlease install a version by running one of the following:\n\nasdf install zig 0.14.0\n\nor add one of the following versions in your config file at /home/tomas/tools/zinnia/.tool-versions\nzig 0.13.0\n", code=126),
    Sh("asdf install zig 0.14.0", "Downloading zig from https://ziglang.org/download/0.14.0/zig-linux-x86_64-0.14.0.tar.xz\nzig 0.14.0 installed\n", secs=22.0),
    Sh("zig build test --summary all", """build.zig:41:38: error: no field named 'root_source_file' in struct 'Build.TestOptions'
    const fuzz = b.addTest(.{ .root_source_file = b.path("tests/fuzz/main.zig") });
                                     ^~~~~~~~~~~~~~~~""", code=1, secs=3.0),
    Patch("""*** Update File: build.zig
@@
-    const fuzz = b.addTest(.{ .root_source_file = b.path("tests/fuzz/main.zig") });
+    const fuzz = b.addTest(.{ .root_module = b.createModule(.{ .root_source_file = b.path("tests/fuzz/main.zig"), .target = target, .optimize = optimize }) });"""),
    Sh("zig build test --summary all", """Build Summary: 6/6 steps succeeded; 58/58 tests passed
test success""", secs=12.1),
    Say("Main builds and tests pass on Zig 0.14.0 (ADR-014 replaces the 0.13.0 pin). Installed it with `asdf install zig 0.14.0`; the only breakage was `addTest` in build.zig, which now takes a `root_module` instead of `root_source_file`."),
    later=True,
)

# -- heronbay: a Flutter app in a melos monorepo

H1 = session(
    "h1", "heronbay", 25.1,
    User("""## Context
heronbay is the birding app: `apps/heron_app`, `packages/heron_api`, `packages/heron_ui`, managed with melos. You're new here, so:

## Ground rules
| Topic | Rule |
|---|---|
| dependencies | melos bootstrap from the repo root; no `flutter pub get` inside package dirs |
| secrets | Policy: secrets live in Vault, never in .env files |
| Flutter version | whatever the repo pins |

## Done when
Unit tests of all packages run green on your machine."""),
    Sh("cd packages/heron_api && flutter pub get", "Resolving dependencies...\nGot dependencies!\n"),
    User("stop — root only, as in the table. please remove the pubspec_overrides that just created"),
    Sh("git status --short", "?? packages/heron_api/pubspec_overrides.yaml\n"),
    Sh("rm packages/heron_api/pubspec_overrides.yaml && git status --short", ""),
    Sh("melos bootstrap", """melos bootstrap
  └> /home/tomas/apps/heronbay

Running "flutter pub get" in workspace packages...
  - heron_app
    └> apps/heron_app
       The current Flutter SDK version is 3.22.2.

       Because heron_app requires Flutter SDK version >=3.24.0, version solving failed.
BootstrapException: Failed to install.""", code=1, secs=11.0),
    Say("The system Flutter is 3.22.2 and heron_app needs ≥3.24.0. The table says to use what the repo pins; looking for a pin."),
    Sh("cat .fvmrc; fvm --help | head -n 8", """{
  "flutter": "3.24.3"
}
Flutter Version Management: A cli to manage Flutter SDK versions.

Usage: fvm <command> [arguments]

Available commands:
  use       Sets Flutter SDK Version you would like to use in a project
  flutter   Proxies Flutter Commands"""),
    Sh("fvm use 3.24.3", "✓ Project now uses Flutter SDK: SDK Version : 3.24.3\n", secs=35.0),
    Sh("cat melos.yaml", """name: heronbay
packages:
  - apps/**
  - packages/**
sdkPath: .fvm/flutter_sdk
scripts:
  test:unit:
    run: melos exec --dir-exists=test --ignore="*integration*" -- fvm flutter test
    description: Unit tests of every package, integration tests excluded.
  test:integration:
    run: melos exec --scope=heron_app -- fvm flutter test integration_test
  gen:
    run: melos exec --depends-on=build_runner -- dart run build_runner build --delete-conflicting-outputs"""),
    Sh("melos bootstrap", "melos bootstrap\n  └> /home/tomas/apps/heronbay\n\nRunning \"flutter pub get\" in workspace packages...\n  ✓ heron_api\n  ✓ heron_ui\n  ✓ heron_app\n  > SUCCESS\n", secs=24.0),
    Sh("melos run test:unit", """melos run test:unit
  └> melos exec --dir-exists=test --ignore="*integration*" -- fvm flutter test
     └> RUNNING

[heron_api]: 00:03 +41: All tests passed!
[heron_ui]: 00:05 +63: All tests passed!
[heron_app]: 00:09 +27: All tests passed!

melos run test:unit
  └> SUCCESS""", secs=31.0),
    Say("""Unit tests green in all three packages.

- `melos bootstrap` failed with "Because heron_app requires Flutter SDK version >=3.24.0" on the system Flutter 3.22.2; `.fvmrc` pins 3.24.3 and `fvm use 3.24.3` fixed it (melos.yaml's `sdkPath` points at the fvm SDK).
- The unit tests of every package run with `melos run test:unit` (from melos.yaml; integration tests are a separate `test:integration` script).
- Removed the pubspec_overrides.yaml my `flutter pub get` had created."""),
)

H2 = session(
    "h2", "heronbay", 23.0,
    User("""Ticket HB-210: add `lastSeenAt` to the user model in heron_api.

- field is nullable, ISO-8601 in JSON
- generated files are not edited by hand and not committed (they're gitignored) — change the model and regenerate"""),
    Patch("""*** Update File: packages/heron_api/lib/src/models/user_dto.dart
@@ class UserDto {
   final String displayName;
+  final DateTime? lastSeenAt;"""),
    Sh("cd packages/heron_api && fvm flutter test", """00:02 +0: loading /home/tomas/apps/heronbay/packages/heron_api/test/user_dto_test.dart
lib/src/models/user_dto.dart:5:6: Error: Error when reading 'lib/src/models/user_dto.g.dart': No such file or directory
part 'user_dto.g.dart';
     ^
lib/src/models/user_dto.dart:18:47: Error: Method not found: '_$UserDtoFromJson'.
  factory UserDto.fromJson(Map<String, dynamic> json) => _$UserDtoFromJson(json);
                                              ^^^^^^^^^^^^^^^^^
00:03 +0 -1: Some tests failed.""", code=1, secs=9.0),
    Say("The `part 'user_dto.g.dart'` file doesn't exist in a fresh checkout: it's gitignored and produced by json_serializable. `dart run build_runner build --help` lists `--delete-conflicting-outputs`, which is needed because stale outputs from another branch are in the build cache."),
    Sh("cd packages/heron_api && dart run build_runner build --delete-conflicting-outputs", """[INFO] Generating build script completed, took 412ms
[INFO] Running build completed, took 6.2s
[INFO] Caching finalized dependency graph completed, took 88ms
[INFO] Succeeded after 6.3s with 14 outputs (29 actions)""", secs=14.0),
    Sh("cd packages/heron_api && fvm flutter test", "00:03 +42: All tests passed!\n", secs=8.5),
    Say("`lastSeenAt` added to UserDto. The test run failed with \"Error when reading 'lib/src/models/user_dto.g.dart'\" until I ran `dart run build_runner build --delete-conflicting-outputs` in packages/heron_api; after that 42 tests pass. I did not touch the generated `*.g.dart` file."),
    User("👍 one more: reply in English even when I write in Portuguese in a hurry, the team reads these threads."),
    Say("Will do."),
)

H3 = session(
    "h3", "heronbay", 20.2,
    User("""## HB-215: settings screen

### Constraints
- State management per ADR-007: `flutter_bloc` (a Cubit per screen), no setState beyond trivial widgets
- UI components from heron_ui only
- TODOs need an issue link, like in zinnia: `TODO(HB-123)`

### Done when
- screen reachable from the profile tab
- widget test for toggling notifications"""),
    Patch("""*** Add File: apps/heron_app/lib/settings/settings_cubit.dart
+import 'package:flutter_bloc/flutter_bloc.dart';
+
+class SettingsCubit extends Cubit<SettingsState> {
+  SettingsCubit(this._prefs) : super(SettingsState.initial());
+  final PrefsRepository _prefs;
+
+  Future<void> toggleNotifications() async {
+    final next = !state.notifications;
+    await _prefs.setNotifications(next);
+    emit(state.copyWith(notifications: next));
+  }
+}"""),
    Sh("melos run test:unit", """[heron_app]: 00:04 +27: Some tests failed.
[heron_app]: warning: package flutter_bloc 8.1.6 is outdated; 9.0.0 available
melos run test:unit
  └> FAILED""", code=1, secs=29.0),
    Sh("cd apps/heron_app && fvm flutter pub upgrade --major-versions", """Resolving dependencies...
Changed 4 constraints in pubspec.yaml:
  flutter_bloc: ^8.1.6 -> ^9.0.0
  bloc: ^8.1.4 -> ^9.0.0
  go_router: ^13.2.0 -> ^14.6.2
  intl: ^0.18.1 -> ^0.19.0
Changed 11 dependencies!""", secs=14.0),
    Say("I upgraded the major versions to clear the outdated warning; rerunning the tests."),
    User("""No — undo the upgrade, please: revert pubspec.yaml and pubspec.lock in heron_app.

We're in the release freeze for 2.3; major bumps get their own PR afterwards, never mixed into a feature ticket. The warning isn't what failed the tests anyway."""),
    Sh("git checkout -- apps/heron_app/pubspec.yaml apps/heron_app/pubspec.lock && melos bootstrap", "melos bootstrap\n  └> /home/tomas/apps/heronbay\n  > SUCCESS\n", secs=20.0),
    Sh("cd apps/heron_app && fvm flutter test test/settings", """00:02 +0 -1: SettingsPage toggles notifications [E]
  Expected: <true>
    Actual: <false>
  package:heron_app/settings/settings_page.dart 31:9  _SettingsPageState.build
00:02 +0 -1: Some tests failed.""", code=1, secs=7.0),
    Patch("""*** Update File: apps/heron_app/lib/settings/settings_page.dart
@@ class SettingsPage extends StatelessWidget {
-      onChanged: (_) => setState(() {}),
+      onChanged: (_) => context.read<SettingsCubit>().toggleNotifications(),"""),
    Sh("melos run test:unit", "[heron_app]: 00:04 +28: All tests passed!\nmelos run test:unit\n  └> SUCCESS\n", secs=28.0),
    Say("Reverted the dependency changes (pubspec.yaml and pubspec.lock back to main). The real failure was the toggle calling `setState` instead of the Cubit; with `SettingsCubit.toggleNotifications` wired in, all unit tests pass."),
)

H4 = session(
    "h4", "heronbay", 16.4,
    User("""Integration tests for the sightings sync, HB-220. They talk to the local mock backend.

Done when: `melos run test:integration` passes. Keep the report to the table + open questions."""),
    Sh("melos run test:integration", """[heron_app]: 00:06 +0 -1: sync uploads pending sightings [E]
  ClientException with SocketException: Connection refused (OS Error: Connection refused, errno = 111), address = 127.0.0.1, port = 41872, uri=http://127.0.0.1:8089/v1/sightings
  package:http/src/io_client.dart 154:7  IOClient.send
melos run test:integration
  └> FAILED""", code=1, secs=33.0),
    Sh("docker compose ps", "NAME      IMAGE     COMMAND   SERVICE   CREATED   STATUS    PORTS\n"),
    Sh("docker compose config --services", "wiremock\npostgres\n"),
    Sh("docker compose up -d wiremock", " ✔ Network heronbay_default       Created\n ✔ Container heronbay-wiremock-1  Started\n", secs=4.2),
    Sh("docker compose ps", """NAME                  IMAGE                        COMMAND                  SERVICE    CREATED         STATUS         PORTS
heronbay-wiremock-1   wiremock/wiremock:3.9.1      "/docker-entrypoint.…"   wiremock   5 seconds ago   Up 4 seconds   8443/tcp, 0.0.0.0:8089->8080/tcp"""),
    Sh("docker compose logs wiremock | tail -n 3", """heronbay-wiremock-1  | port:                         8080
heronbay-wiremock-1  | extensions:                   response-template,webhook
heronbay-wiremock-1  | mappings loaded:              37 (from /home/wiremock/mappings)"""),
    Sh("melos run test:integration", "[heron_app]: 00:11 +9: All tests passed!\nmelos run test:integration\n  └> SUCCESS\n", secs=40.0),
    Say("""| File | Why |
|---|---|
| (none) | environment only |

The integration tests call the WireMock mock backend on http://127.0.0.1:8089 (compose service `wiremock`, container port 8080 published on 8089, 37 mappings). It wasn't running, hence "Connection refused"; `docker compose up -d wiremock` fixed it and all 9 integration tests pass.

Open question: start `wiremock` from the `test:integration` script?"""),
    User("no, keep compose separate. fine as is."),
)

H5 = session(
    "h5", "heronbay", 11.5,
    User(f"""Android debug build broke after the maps plugin bump (CI run 9812345567 is the same failure, ignore the iOS job).

Vault token for the staging secrets, if the build needs them: {VAULT_TOKEN}"""),
    Sh("cd apps/heron_app && fvm flutter build apk --debug", """FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':app:checkDebugAarMetadata'.
> A failure occurred while executing com.android.build.gradle.internal.tasks.CheckAarMetadataWorkAction
   > 1 issue was found when checking AAR metadata:

       1.  Dependency 'com.google.android.gms:play-services-maps:19.0.0' requires libraries and applications that
           depend on it to compile against version 34 or later of the
           Android APIs.

           :app is currently compiled against android-33.

           Recommended action: Update this project to use a newer compileSdk
           of at least 34, for example 34.

BUILD FAILED in 41s""", code=1, secs=44.0),
    Patch("""*** Update File: apps/heron_app/android/app/build.gradle
@@ android {
     namespace "org.heronbay.app"
-    compileSdk 33
+    compileSdk 34"""),
    Sh("cd apps/heron_app && fvm flutter build apk --debug", "Running Gradle task 'assembleDebug'...                            52.3s\n✓ Built build/app/outputs/flutter-apk/app-debug.apk\n", secs=55.0),
    Say("The debug build failed in `:app:checkDebugAarMetadata` because play-services-maps 19 requires compileSdk 34 or later; setting `compileSdk 34` in apps/heron_app/android/app/build.gradle fixed it, the APK builds. The build didn't need the staging secrets, so I didn't use the token."),
    User("good. and forget that token, I'll rotate it — it shouldn't have been in chat in the first place."),
    Say("Understood."),
)

H8 = session(
    "h8", "heronbay", 13.8,
    User("""## HB-224: offline sightings

### Context
Sightings recorded without signal sit in the local drift database until the next sync. We need to know which ones went up.

### Constraints
- new nullable column `syncedAt` on the sightings table
- a schema change ships with its migration and the migration test; an existing install upgrades without losing rows

### Done when
- `melos run test:unit` is green
- tell me the schema version before and after"""),
    Patch("""*** Update File: apps/heron_app/lib/data/tables.dart
@@ class Sightings extends Table {
   DateTimeColumn get observedAt => dateTime()();
+  DateTimeColumn get syncedAt => dateTime().nullable()();
*** Update File: apps/heron_app/lib/data/db.dart
@@ class AppDatabase extends _$AppDatabase {
   @override
-  int get schemaVersion => 3;
+  int get schemaVersion => 4;"""),
    Sh("melos run gen && cd apps/heron_app && fvm flutter test test/data", """[heron_app]: [INFO] Succeeded after 6.8s with 19 outputs (52 actions)
00:02 +5: loading test/data/db_test.dart
00:02 +5 -1: AppDatabase opens a v3 file [E]
  Bad state: Unhandled schema migration from version 3 to 4 (onUpgrade has no step for it)
  package:heron_app/data/db.dart 41:7            AppDatabase.migration.<fn>
  package:drift/src/runtime/executor/helpers/engines.dart 482:17  DelegatedDatabase._runMigrations
00:03 +5 -1: Some tests failed.""", code=1, secs=21.0),
    Say("Bumping `schemaVersion` alone isn't enough: opening a version-3 file has no upgrade step. drift has a generator for exactly this; checking its CLI rather than writing the step and the test by hand."),
    Sh("cd apps/heron_app && dart run drift_dev --help", """CLI tools for drift

Usage: dart run drift_dev <command> [arguments]

Available commands:
  analyze           Analyze and lint drift database code
  make-migrations   Generates migrations utilities for drift databases
  schema            Inspect or manage the schema of drift databases"""),
    Sh("cd apps/heron_app && dart run drift_dev make-migrations", """[INFO] app_database: Saved schema version 4 to drift_schemas/app_database/drift_schema_v4.json
[INFO] app_database: Generated step-by-step migration helper in lib/data/db.steps.dart
[INFO] app_database: Generated migration test in test/drift/app_database/migration_test.dart""", secs=11.0),
    Patch("""*** Update File: apps/heron_app/lib/data/db.dart
@@ MigrationStrategy get migration => MigrationStrategy(
-        onUpgrade: (m, from, to) async {
-          if (from < 3) await m.addColumn(sightings, sightings.observedAt);
-        },
+        onUpgrade: stepByStep(
+          from2To3: (m, schema) async => m.addColumn(schema.sightings, schema.sightings.observedAt),
+          from3To4: (m, schema) async => m.addColumn(schema.sightings, schema.sightings.syncedAt),
+        ),"""),
    Sh("melos run test:unit", """[heron_api]: 00:03 +42: All tests passed!
[heron_ui]: 00:05 +63: All tests passed!
[heron_app]: 00:10 +33: All tests passed!
melos run test:unit
  └> SUCCESS""", secs=34.0),
    Say("""Schema version 3 → 4, unit tests green (heron_app now 33 tests, including the generated migration test).

| File | Why |
|---|---|
| lib/data/tables.dart | `syncedAt` column |
| lib/data/db.dart | schemaVersion 4, `stepByStep` upgrade with `from3To4` |
| lib/data/db.steps.dart, test/drift/… | generated by `dart run drift_dev make-migrations` |
| drift_schemas/app_database/drift_schema_v4.json | schema snapshot the migration test compares against |

Learned: the test failed with "Unhandled schema migration from version 3 to 4" until `dart run drift_dev make-migrations` generated the step helper and the test; the schema snapshots live in `drift_schemas/`, one JSON per version, and must be committed."""),
)

H7 = session(
    "h7", "heronbay", 8.0,
    User("status of HB-215 and HB-220? two lines max. btw I'm off Friday afternoon, my daughter's piano recital"),
    Sh("git log --oneline -4 origin/develop", "a81f3d2 Sync pending sightings in batches (HB-220)\n5c0e9b7 Settings screen with notification toggle (HB-215)\n2d44e10 Bump maps plugin, compileSdk 34\n9e1a6c3 Release 2.2.1\n"),
    Say("HB-215 (settings screen) and HB-220 (sightings sync) are both merged to develop (5c0e9b7, a81f3d2).\nNothing open on either. Enjoy the recital!"),
)

H6 = session(
    "h6", "heronbay", 1.2,
    User("""FYI, pasted from the architecture repo:

> ### ADR-021: Riverpod for state management
> **Status:** accepted · **Supersedes:** ADR-007 (flutter_bloc)
> **Decision:** new and touched screens use Riverpod (`flutter_riverpod`, code-generated providers with `@riverpod`). Cubits are migrated when a screen is next changed; no new Cubits.

## Task
Migrate the settings screen as the first one. Done when its widget test passes."""),
    Patch("""*** Delete File: apps/heron_app/lib/settings/settings_cubit.dart
*** Add File: apps/heron_app/lib/settings/settings_controller.dart
+import 'package:riverpod_annotation/riverpod_annotation.dart';
+
+part 'settings_controller.g.dart';
+
+@riverpod
+class SettingsController extends _$SettingsController {
+  @override
+  Future<SettingsState> build() => ref.watch(prefsRepositoryProvider).load();
+
+  Future<void> toggleNotifications() async {
+    final current = await future;
+    await ref.read(prefsRepositoryProvider).setNotifications(!current.notifications);
+    ref.invalidateSelf();
+  }
+}"""),
    Sh("melos run gen", "[heron_app]: [INFO] Succeeded after 7.9s with 22 outputs (61 actions)\nmelos run gen\n  └> SUCCESS\n", secs=19.0),
    Sh("cd apps/heron_app && fvm flutter test test/settings", "00:03 +3: All tests passed!\n", secs=8.0),
    Say("Settings screen migrated from the Cubit to a Riverpod `@riverpod` controller (ADR-021 supersedes ADR-007's flutter_bloc); providers generated with `melos run gen`, widget tests pass. New screens get Riverpod, not Cubits."),
    later=True,
)

# -- dunlin: an R package for shorebird tracking data

D1 = session(
    "d1", "dunlin", 27.9,
    User("""## Context
dunlin is our R package for the shorebird GPS tracks. First session for you here.

## Constraints
- We don't keep credentials in `.Renviron` or any `.env`: policy is secrets live in Vault, full stop.
- Keep your replies under 15 lines unless I ask for detail. I read these on my phone.

## Done when
`devtools::test()` passes."""),
    Sh("Rscript -e 'devtools::test()'", """ℹ Testing dunlin
Error in `loadNamespace()`:
! there is no package called ‘arrow’
Backtrace:
    ▆
 1. └─devtools::test()
 2.   └─devtools::load_all(pkg$path, quiet = TRUE)
 3.     └─pkgload::load_all(...)
Execution halted""", code=1, secs=5.1),
    Say("`arrow` isn't installed in this project library. The project uses renv, so the lockfile should say what belongs here rather than me installing ad hoc."),
    Sh("head -n 12 renv.lock", """{
  "R": {
    "Version": "4.4.1",
    "Repositories": [
      {
        "Name": "CRAN",
        "URL": "https://packagemanager.posit.co/cran/latest"
      }
    ]
  },
  "Packages": {
    "arrow": {"""),
    Sh("Rscript -e 'renv::restore()'", """The following package(s) will be updated:

# CRAN -----------------------------------------------------------------------
- arrow        [* -> 16.1.0]
- sf           [* -> 1.0-16]
- testthat     [* -> 3.2.1.1]

- Downloading arrow from CRAN ...               OK [6.2 Mb in 2.1s]
Successfully installed 38 packages in 96 seconds.""", secs=104.0),
    Sh("Rscript -e 'devtools::test()'", """ℹ Testing dunlin
✔ | F W  S  OK | Context
✔ |         19 | ingest
✔ |         11 | tracks
══ Results ═════════════════════════════════════
[ FAIL 0 | WARN 0 | SKIP 0 | PASS 30 ]""", secs=21.0),
    Say("Tests pass (30/30). `devtools::test()` first failed with \"there is no package called 'arrow'\"; `renv::restore()` installed what renv.lock pins (R 4.4.1, arrow 16.1.0, 38 packages) and fixed it."),
)

D2 = session(
    "d2", "dunlin", 21.1,
    User("""## DUN-18: `read_tracks()` gains a `tz` argument

- default `"UTC"`
- exported functions get roxygen docs with a runnable `@examples` block — CRAN rejects without, and so do we
- if you need a new package, we snapshot right away: `renv::snapshot()`, and renv.lock goes in the same commit

Done when the package check is clean."""),
    Patch("""*** Update File: R/read_tracks.R
@@
 #' @param path Path to a Movebank CSV export.
+#' @param tz Time zone of the timestamps. Defaults to `"UTC"`.
+#' @examples
+#' tracks <- read_tracks(system.file("extdata", "dunlin_2023.csv", package = "dunlin"), tz = "UTC")
 #' @export
-read_tracks <- function(path) {
-  df <- readr::read_csv(path, show_col_types = FALSE)
+read_tracks <- function(path, tz = "UTC") {
+  df <- readr::read_csv(path, show_col_types = FALSE, locale = readr::locale(tz = tz))"""),
    Sh("cat Makefile", """.PHONY: check test document
check:
\tR CMD build . && R CMD check --as-cran dunlin_*.tar.gz
test:
\tRscript -e 'devtools::test()'
document:
\tRscript -e 'devtools::document()'"""),
    Sh("make check", """* checking Rd \\usage sections ... WARNING
Undocumented arguments in Rd file 'read_tracks.Rd'
  ‘tz’

Functions with \\usage entries need to have the appropriate \\alias
entries, and all their arguments documented.
The \\usage entries must correspond to syntactically valid R code.
See chapter ‘Writing R documentation files’ in the ‘Writing R
Extensions’ manual.
* checking examples ... OK
Status: 1 WARNING
make: *** [Makefile:3: check] Error 1""", code=2, secs=118.0),
    Say("The check reads `man/read_tracks.Rd`, which is generated from the roxygen comments and still has the old signature: I changed the comments but never regenerated the Rd files."),
    Sh("Rscript -e 'devtools::document()'", "ℹ Updating dunlin documentation\nℹ Loading dunlin\nWriting 'read_tracks.Rd'\n", secs=6.0),
    Sh("make check", """* checking Rd \\usage sections ... OK
* checking examples ... OK
* checking tests ...
  Running ‘testthat.R’
 OK
Status: OK""", secs=121.0),
    Say("""Check clean.
- `make check` runs `R CMD check --as-cran` on the built tarball (Makefile).
- It warned "Undocumented arguments in Rd file 'read_tracks.Rd'" because the Rd was stale; `devtools::document()` regenerated man/ and fixed it.
- No new packages were needed, so renv.lock is unchanged."""),
)

D3 = session(
    "d3", "dunlin", 15.2,
    User("""Small things, in order:

1. format the package — we use `styler::style_pkg()` before every commit here
2. find out who has to review changes to the ingest code
3. the ingest tests want `lubridate`; don't add it. We do not add a package without asking me first, every one is a lockfile change and one more thing CRAN checks."""),
    Sh("Rscript -e 'styler::style_pkg()'", """Styling  14  files:
 R/read_tracks.R     ℹ
 R/ingest_movebank.R ✔
 tests/testthat/test-ingest.R ✔
────────────────────────────────────────
Status\tCount\tLegend
✔ \t13\tFile unchanged.
ℹ \t1\tFile changed."""),
    Sh("cat .github/CODEOWNERS", """# dunlin
*                   @tomas-v
/R/ingest_*.R       @priya-stats
/tests/testthat/    @tomas-v @priya-stats"""),
    Sh("rg -n 'lubridate' tests/ R/", "tests/testthat/test-ingest.R:3:  skip_if_not_installed(\"lubridate\")\n"),
    Say("""1. Formatted; styler changed R/read_tracks.R only.
2. `.github/CODEOWNERS` makes @priya-stats the owner of `R/ingest_*.R`, so she reviews ingest changes.
3. Left `lubridate` out; the one test that wants it is already guarded by `skip_if_not_installed()`."""),
)

D5 = session(
    "d5", "dunlin", 5.5,
    User("vignettes won't build for me either. can you check? same report format as always"),
    Sh("Rscript -e 'devtools::build_vignettes()'", """ℹ Building vignettes for dunlin
--- re-building ‘tracks.Rmd’ using rmarkdown
Error: pandoc version 1.12.3 or higher is required and was not found (see the help page ?rmarkdown::pandoc_available).
--- failed re-building ‘tracks.Rmd’
Execution halted""", code=1, secs=9.0),
    Sh("which pandoc; ls /usr/lib/rstudio/resources/app/bin/quarto/bin/tools/", "/usr/lib/rstudio/resources/app/bin/quarto/bin/tools/:\naarch64\npandoc\nx86_64\n", code=1),
    Sh("Rscript -e '?rmarkdown::find_pandoc' | rg -i -A2 'RSTUDIO_PANDOC'", """     By default, this function looks for Pandoc in the directory
     specified by the environment variable ‘RSTUDIO_PANDOC’ (if it has
     been set), then in the system path."""),
    Sh("RSTUDIO_PANDOC=/usr/lib/rstudio/resources/app/bin/quarto/bin/tools Rscript -e 'devtools::build_vignettes()'", """ℹ Building vignettes for dunlin
--- re-building ‘tracks.Rmd’ using rmarkdown
--- finished re-building ‘tracks.Rmd’
ℹ Copying vignettes""", secs=24.0),
    Say("""| File | Why |
|---|---|
| (none) | environment only |

No pandoc on PATH outside RStudio, so `build_vignettes()` failed with "pandoc version 1.12.3 or higher is required". `?rmarkdown::find_pandoc` says it honours `RSTUDIO_PANDOC`; pointing it at RStudio's bundled copy (`RSTUDIO_PANDOC=/usr/lib/rstudio/resources/app/bin/quarto/bin/tools`) builds the vignettes. Installing a system pandoc would also work."""),
)

D6 = session(
    "d6", "dunlin", 3.4,
    User("just rerun the ingest tests after Priya's merge and tell me if anything's off"),
    Sh("git pull --ff-only", "Updating 0b3e1f4..8d2c7a9\nFast-forward\n R/ingest_movebank.R | 14 ++++++++------\n 1 file changed, 8 insertions(+), 6 deletions(-)\n"),
    Sh("Rscript -e 'devtools::test(filter = \"ingest\")'", """ℹ Testing dunlin
✔ | F W  S  OK | Context
✔ |      1  21 | ingest
══ Results ═════════════════════════════════════
[ FAIL 0 | WARN 0 | SKIP 1 | PASS 21 ]""", secs=12.0),
    Say("Ingest tests fine after the merge: 21 pass, 1 skipped (the lubridate one)."),
)

D4 = session(
    "d4", "dunlin", 1.9,
    User("""> **ADR-005** (supersedes ADR-002): R code is formatted with Air (`air format .`), not styler. Air is a single binary, formats the whole package in well under a second, and the editor integrations match what CI runs.

Please reformat the package with it and commit only the formatting."""),
    Sh("air --version", "air 0.4.1\n"),
    Sh("air format . && git diff --stat", " R/ingest_movebank.R | 6 +++---\n R/read_tracks.R     | 4 ++--\n 2 files changed, 5 insertions(+), 5 deletions(-)\n", secs=0.4),
    Sh("git commit -am 'Format the package with Air' -m 'ADR-005 replaces styler with Air; this is the one-off reformat.'", "[main 4aa71d0] Format the package with Air\n 2 files changed, 5 insertions(+), 5 deletions(-)\n"),
    Say("Reformatted with `air format .` (Air 0.4.1, per ADR-005 replacing styler) and committed the formatting alone."),
    later=True,
)

SESSIONS = (
    K1, K2, K3, K5, K6, Z1, Z2, Z3, Z4, Z6, H1, H2, H3, H4, H5, H8, H7, D1, D2, D3, D5, D6,
    K4, Z5, H6, D4,
)

FACTS = (
    # -- preferences, each stated once (a reply format, commit messages, history, length, language)
    Fact("i.pref.report_table", "preference", None,
         "Report back as a one-line status, then a table of changed files (file | why), then open questions",
         M("table", "changed files|files changed"), ("k1",)),
    Fact("i.pref.commit_msgs", "preference", None,
         "Commit messages in English, imperative mood, subject at most 72 characters, a body that says why",
         M("commit", "imperative"), ("z1",)),
    Fact("i.pref.force_with_lease", "preference", None,
         "Do not rewrite history on a branch someone else works on; on a branch of your own push with git push --force-with-lease, not plain --force",
         M("force-with-lease"), ("z3",)),
    Fact("i.pref.short_replies", "preference", None,
         "Keep replies under 15 lines unless asked for detail",
         M("15 lines"), ("d1",)),
    Fact("i.pref.english", "preference", None,
         "Reply in English even when the user writes in Portuguese",
         M("English", "Portuguese"), ("h2",)),
    # -- general rules, stated in two projects each
    Fact("i.gen.vault", "general_rule", None,
         "Secrets live in Vault, not in .env files or .Renviron",
         M("Vault", ".env|.Renviron"), ("h1", "d1")),
    Fact("i.gen.tool_versions", "general_rule", None,
         "Tool versions are pinned in .tool-versions and installed with asdf; no system toolchain",
         M(".tool-versions", "asdf|pinned|pin|pins"), ("k1", "z1")),
    Fact("i.gen.todo_issue", "general_rule", None,
         "Every TODO carries an issue link, e.g. TODO(#44); no bare TODOs",
         M("TODO", "issue"), ("z2", "h3")),
    # -- project rules
    Fact("i.kelpie.docs_doctest", "project_rule", "kelpie",
         "Docstring examples are doctests: run julia --project=docs docs/make.jl locally before pushing a docstring change",
         M("docs/make.jl", "docstring|docstrings|doctest|doctests"), ("k2",)),
    Fact("i.zinnia.testing_allocator", "project_rule", "zinnia",
         "Tests use std.testing.allocator, not page_allocator, because it reports leaks",
         M("std.testing.allocator"), ("z2",)),
    Fact("i.zinnia.debug_default", "project_rule", "zinnia",
         "Debug stays the default optimize mode (the fuzz seeds need the safety checks); for speed pass -Doptimize=ReleaseSafe on the command line",
         M("Debug", "default"), ("z3",)),
    Fact("i.heronbay.melos_root", "project_rule", "heronbay",
         "Install dependencies with melos bootstrap from the repo root, not flutter pub get inside a package dir",
         M("melos bootstrap", "flutter pub get|root"), ("h1",)),
    Fact("i.heronbay.generated", "project_rule", "heronbay",
         "Generated *.g.dart files are not edited by hand and not committed (gitignored); change the model and regenerate",
         M("generated|g.dart", "by hand|committed|gitignored"), ("h2",)),
    Fact("i.heronbay.bloc", "project_rule", "heronbay",
         "State management per ADR-007: flutter_bloc, a Cubit per screen",
         M("flutter_bloc|Cubit"), ("h3",), superseded_by="i.heronbay.riverpod"),
    Fact("i.heronbay.no_major_bumps", "project_rule", "heronbay",
         "Major version bumps get their own PR (after the release freeze), not mixed into a feature ticket",
         M("major", "own PR"), ("h3",)),
    Fact("i.dunlin.examples", "project_rule", "dunlin",
         "Exported functions get roxygen docs with a runnable @examples block",
         M("@examples", "exported|export"), ("d2",)),
    Fact("i.dunlin.snapshot", "project_rule", "dunlin",
         "After adding a package run renv::snapshot() and commit renv.lock in the same commit",
         M("renv::snapshot", "renv.lock"), ("d2",)),
    Fact("i.dunlin.ask_package", "project_rule", "dunlin",
         "Do not add a package without asking first (each one changes the lockfile and the CRAN check)",
         M("package|packages", "asking|ask"), ("d3",)),
    Fact("i.dunlin.styler", "project_rule", "dunlin",
         "Format the package with styler::style_pkg() before every commit",
         M("styler::style_pkg|styler"), ("d3",), superseded_by="i.dunlin.air"),
    # -- project facts, seen only in tool output or the agent's conclusion
    Fact("i.kelpie.julia_version", "project_fact", "kelpie",
         "Julia 1.10.4 is the pinned version (.tool-versions)",
         M("1.10.4"), ("k1",)),
    Fact("i.kelpie.codeowners_io", "project_fact", "kelpie",
         "CODEOWNERS: /src/io/ is owned by @marta-ocean, so she reviews changes there",
         M("@marta-ocean", "src/io"), ("k2",)),
    Fact("i.kelpie.bench_old", "project_fact", "kelpie",
         "Benchmarks: just bench runs julia --project=bench bench/run.jl",
         M("bench/run.jl"), ("k3",), superseded_by="i.kelpie.benchpkg"),
    Fact("i.kelpie.registrator", "project_fact", "kelpie",
         "A release is registered by commenting @JuliaRegistrator register on the merge commit; TagBot makes the tag, no manual tags",
         M("JuliaRegistrator"), ("k6",)),
    Fact("i.zinnia.zig13", "project_fact", "zinnia",
         "The toolchain is Zig 0.13.0 (pinned in .tool-versions)",
         M("0.13.0"), ("z1",), superseded_by="i.zinnia.zig14"),
    Fact("i.zinnia.fuzz_corpus", "project_fact", "zinnia",
         "Fuzz seeds live in tests/fuzz/corpus/, where the build.zig fuzz step imports them from",
         M("tests/fuzz/corpus"), ("z4",)),
    Fact("i.heronbay.test_unit", "project_fact", "heronbay",
         "melos run test:unit runs the unit tests of every package (integration tests excluded; test:integration is separate)",
         M("melos run test:unit"), ("h1",)),
    Fact("i.heronbay.wiremock", "project_fact", "heronbay",
         "Integration tests call the WireMock mock backend, compose service wiremock, on http://127.0.0.1:8089",
         M("wiremock", "8089"), ("h4",)),
    Fact("i.heronbay.drift_schemas", "project_fact", "heronbay",
         "drift schema snapshots live in drift_schemas/ (one JSON per schema version) and are committed",
         M("drift_schemas"), ("h8",)),
    Fact("i.dunlin.r_version", "project_fact", "dunlin",
         "renv.lock pins R 4.4.1",
         M("4.4.1"), ("d1",)),
    Fact("i.dunlin.make_check", "project_fact", "dunlin",
         "make check builds the tarball and runs R CMD check --as-cran on it",
         M("make check", "as-cran"), ("d2",)),
    Fact("i.dunlin.codeowners", "project_fact", "dunlin",
         "CODEOWNERS: R/ingest_*.R is owned by @priya-stats, who reviews ingest changes",
         M("@priya-stats", "ingest"), ("d3",)),
    # -- failure -> fix, the fix a different command, an environment variable or an edit
    Fact("i.kelpie.ff_instantiate", "failure_fix", "kelpie",
         "Pkg.test() failing with 'Package CSV not found in current path' in a fresh depot: run Pkg.instantiate() first",
         M("Pkg.instantiate"), ("k1",), link=M("not found in current path|CSV not found")),
    Fact("i.kelpie.ff_data_dir", "failure_fix", "kelpie",
         "Tests erroring with KeyError: key KELPIE_DATA_DIR not found: run them with KELPIE_DATA_DIR=test/fixtures",
         M("KELPIE_DATA_DIR", "test/fixtures"), ("k1",), link=M("KeyError|not found|not set")),
    Fact("i.kelpie.ff_docs_develop", "failure_fix", "kelpie",
         "docs/make.jl failing with 'not found in current path': re-link the checkout with julia --project=docs -e 'using Pkg; Pkg.develop(path=\".\")'",
         M("Pkg.develop"), ("k2",), link=M("not found in current path|docs/make.jl")),
    Fact("i.zinnia.ff_fetch", "failure_fix", "zinnia",
         "zig build failing with a hash mismatch in build.zig.zon: re-pin the dependency with zig fetch --save=<name> <url>",
         M("zig fetch --save"), ("z1",), link=M("hash mismatch")),
    Fact("i.zinnia.ff_musl", "failure_fix", "zinnia",
         "Cross builds fail with 'unable to find or provide libc' for aarch64-macos; for the Pi use -Dtarget=aarch64-linux-musl (Zig bundles musl)",
         M("aarch64-linux-musl"), ("z4",), link=M("libc")),
    Fact("i.zinnia.ff_leak", "failure_fix", "zinnia",
         "A test 'leaked' error from the testing allocator in decompressStream: free the window buffer with defer alloc.free(buf)",
         M("defer alloc.free"), ("z2",), link=M("leaked|leak|leaks")),
    Fact("i.heronbay.ff_fvm", "failure_fix", "heronbay",
         "melos bootstrap failing with 'requires Flutter SDK version >=3.24.0' on the system Flutter: fvm use 3.24.3 (the .fvmrc pin)",
         M("fvm use"), ("h1",), link=M("Flutter SDK version|version solving failed")),
    Fact("i.heronbay.ff_build_runner", "failure_fix", "heronbay",
         "Tests failing with 'Error when reading user_dto.g.dart': run dart run build_runner build --delete-conflicting-outputs in the package",
         M("build_runner build", "delete-conflicting-outputs"), ("h2",), link=M("g.dart")),
    Fact("i.heronbay.ff_wiremock", "failure_fix", "heronbay",
         "Integration tests failing with 'Connection refused' on port 8089: start the mock with docker compose up -d wiremock",
         M("compose up"), ("h4",), link=M("Connection refused")),
    Fact("i.heronbay.ff_compile_sdk", "failure_fix", "heronbay",
         "Android debug build failing in :app:checkDebugAarMetadata (play-services-maps needs API 34): set compileSdk 34 in android/app/build.gradle",
         M("compileSdk", "34"), ("h5",), link=M("checkDebugAarMetadata|AAR metadata|play-services-maps")),
    Fact("i.heronbay.ff_make_migrations", "failure_fix", "heronbay",
         "After a schemaVersion bump, tests failing with 'Unhandled schema migration from version 3 to 4': run dart run drift_dev make-migrations and wire its stepByStep helper into onUpgrade",
         M("make-migrations"), ("h8",), link=M("schema migration|schemaVersion|schema version")),
    Fact("i.dunlin.ff_restore", "failure_fix", "dunlin",
         "devtools::test() failing with 'there is no package called arrow': run renv::restore() to install what renv.lock pins",
         M("renv::restore"), ("d1",), link=M("no package called")),
    Fact("i.dunlin.ff_document", "failure_fix", "dunlin",
         "The check warning 'Undocumented arguments in Rd file' means stale man/ pages: run devtools::document()",
         M("devtools::document"), ("d2",), link=M("Undocumented|Rd")),
    Fact("i.dunlin.ff_pandoc", "failure_fix", "dunlin",
         "Vignettes failing with 'pandoc version 1.12.3 or higher is required': set RSTUDIO_PANDOC=/usr/lib/rstudio/resources/app/bin/quarto/bin/tools",
         M("RSTUDIO_PANDOC"), ("d5",), link=M("pandoc")),
    # -- what the later sessions state in place of older facts
    Fact("i.kelpie.benchpkg", "superseding", "kelpie",
         "Benchmarks run with AirspeedVelocity: benchpkg with --rev=main,dirty (ADR-016; bench/run.jl is removed)",
         M("benchpkg"), ("k4",)),
    Fact("i.zinnia.zig14", "superseding", "zinnia",
         "The toolchain is Zig 0.14.0 (ADR-014, installed with asdf install zig 0.14.0)",
         M("0.14.0"), ("z5",)),
    Fact("i.heronbay.riverpod", "superseding", "heronbay",
         "State management is Riverpod with @riverpod code-generated providers (ADR-021); no new Cubits",
         M("Riverpod"), ("h6",)),
    Fact("i.dunlin.air", "superseding", "dunlin",
         "Format R code with air format . (ADR-005)",
         M("air format"), ("d4",)),
)

DISTRACTORS = (
    Distractor("i.d.pid", "transient", "the pid of a stray benchmark run that was killed",
               M("48213"), ("k3",)),
    Distractor("i.d.tmpdir", "transient", "a temp dir for one benchmark",
               M("7Hq2x"), ("z6",)),
    Distractor("i.d.ci_run", "transient", "a CI run id",
               M("9812345567"), ("k5", "h5")),
    Distractor("i.d.vault_token", "secret", "a Vault token pasted into chat",
               M(VAULT_TOKEN), ("h5",)),
    Distractor("i.d.cake", "small_talk", "cake left over from a planning meeting",
               M("cake"), ("k3",)),
    Distractor("i.d.recital", "small_talk", "the user's daughter's piano recital",
               M("recital"), ("h7",)),
    Distractor("i.d.release_fast", "rejected", "make ReleaseFast the build.zig default (the user had it undone)",
               M("ReleaseFast", "build.zig|default|preferred_optimize_mode"), ("z3",), negatable=True),
    Distractor("i.d.major_upgrade", "rejected", "upgrade major versions in a feature ticket (the user had it reverted)",
               M("--major-versions"), ("h3",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="i",
    how="structured briefs by a team lead, knowledge from the agent's own trial and error (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="z4",
    notes={
        "voice": "a team lead writing markdown tickets (Context/Constraints/Done when, tables, ADR excerpts) and terse chat follow-ups",
        "means": "knowledge from the agent's narrated trial and error: errors, --help and man pages, justfile/Makefile/melos.yaml/.tool-versions/CODEOWNERS, docker compose ps/logs",
    },
)
