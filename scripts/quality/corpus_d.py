# Literal command output keeps its real line lengths.
# ruff: noqa: E501
"""Corpus D, assembled from episodes of messy work: 24 sessions in four projects over 21 days.

A fourth means of writing, for tuning beside A and C while B stays held out. Each session is
strung together from a few *episode* builders (``episodes``, below) that model how knowledge
really arrives, rather than a clean "ask, fix, conclude": the user stops the agent in the
middle of a command and names the right one; the fix is a config edit made with
``apply_patch``, not a command; the failing command is a wrapper (``make test``, ``pnpm
test``) whose output is another tool's; the agent proposes an action and the user refuses it;
a later session says a tool was replaced, or a remembered command now fails as gone. The
projects are other kinds of work than A's, B's and C's: a Rust CLI (``tiller``: cargo,
nextest, sqlx), a TypeScript monorepo (``orchard``: pnpm, turbo, jest, Prisma), a Go service
(``hive``: make, mockgen, docker compose, protobuf) and a C++ library (``lumen``: CMake
presets, conan, ctest). Transient values (a pid, a container id, a temp dir, a cache hash), a
pasted secret and small talk are planted beside the facts.
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
    User,
)

HOME = "/home/jo/work"
PROJECTS = (
    Project("tiller", f"{HOME}/tiller", "git@github.com:jo-tools/tiller.git"),
    Project("orchard", f"{HOME}/orchard", "git@github.com:orchard-hq/orchard.git"),
    Project("hive", f"{HOME}/hive", "git@github.com:acme-infra/hive.git"),
    Project("lumen", f"{HOME}/lumen", "git@github.com:lumen-gfx/lumen.git", branch="trunk"),
)

STRIPE = "sk_live_51N8xQ2LkR4vT7yW9zA3bC5dEfG7hJ"


# -- episodes: how a piece of knowledge arrives, as steps


def edit(path: str, minus: str, plus: str) -> Patch:
    """A one-hunk ``apply_patch`` of an existing file."""
    lines = [f"*** Update File: {path}", "@@"]
    lines += [f"-{ln}" for ln in minus.splitlines()] + [f"+{ln}" for ln in plus.splitlines()]
    return Patch("\n".join(lines))


def add(path: str, text: str) -> Patch:
    return Patch("\n".join([f"*** Add File: {path}", *(f"+{ln}" for ln in text.splitlines())]))


def cut_off(cmd: str, partial: str, correction: str) -> tuple[Step, ...]:
    """The agent starts a command, the user interrupts it (exit 130) and says what to do."""
    return (Sh(cmd, partial + "\n^C", code=130, secs=4.0), User(correction))


def proposal_refused(proposal: str, refusal: str) -> tuple[Step, ...]:
    """The agent proposes an action and asks; the user refuses it and says what instead."""
    return (Say(proposal), User(refusal))


def patch_refused(patch: Patch, refusal: str, undo: Patch) -> tuple[Step, ...]:
    """The agent applies an edit, the user rejects it, the agent undoes it."""
    return (patch, Say("Done, that silences it."), User(refusal), undo)


def gone(cmd: str, error: str, code: int = 2) -> Sh:
    """A command remembered from before that no longer exists."""
    return Sh(cmd, error, code=code, secs=0.3)


def s(
    key: str, project: str, days_ago: float, *parts: Step | tuple[Step, ...], later: bool = False
) -> Session:
    steps: list[Step] = []
    for p in parts:
        steps.extend(p if isinstance(p, tuple) else (p,))
    return Session(key, project, days_ago, tuple(steps), later=later)


# Episodes read as a story: one call per session, its steps in order.
# fmt: off

# -- tiller: a Rust CLI (cargo, nextest, sqlx on SQLite)

T1 = s(
    "t1", "tiller", 21.2,
    User(
        "tiller's tests went red after I rebased onto main, have a look. And please check "
        "with me before pulling in any new crate — the dependency tree gets audited."
    ),
    cut_off(
        "cargo test",
        """\
   Compiling tiller v0.8.3 (/home/jo/work/tiller)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 14.02s
     Running unittests src/lib.rs (target/debug/deps/tiller-5d1c0a9e2f7b4c11)

running 212 tests
test config::tests::parses_defaults ... ok
test db::tests::migrates_empty_db ... FAILED
test db::tests::upserts_remote_rows ... FAILED

failures:

---- db::tests::migrates_empty_db stdout ----
thread 'db::tests::migrates_empty_db' panicked at src/db.rs:41:10:
TILLER_TEST_DB must be set (the nextest setup script creates it)""",
        "Stop, not cargo test. Tests here run under cargo nextest run — the setup script in "
        ".config/nextest.toml creates the test database and exports TILLER_TEST_DB, plain "
        "cargo test never does that.",
    ),
    Sh(
        "cat .config/nextest.toml",
        """\
[script.create-test-db]
command = "scripts/create-test-db.sh"

[[profile.default.scripts]]
filter = "all()"
setup = "create-test-db\"""",
    ),
    Sh(
        "cargo nextest run",
        """\
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.41s
  SETUP [      1/1] create-test-db: scripts/create-test-db.sh
    Starting 212 tests across 3 binaries
        PASS [   0.031s] tiller db::tests::migrates_empty_db
        PASS [   0.044s] tiller db::tests::upserts_remote_rows
------------
     Summary [   4.210s] 212 tests run: 212 passed, 0 skipped""",
        secs=5.1,
    ),
    Say(
        "All 212 tests pass under `cargo nextest run`; nothing was broken by the rebase. "
        "`cargo test` panics with \"TILLER_TEST_DB must be set\" because the test database is "
        "created by nextest's setup script (.config/nextest.toml), so this repo's tests have "
        "to run through nextest."
    ),
)

T2 = s(
    "t2", "tiller", 18.3,
    User("Add a --since <date> flag to `tiller sync` that only pulls rows changed after it."),
    edit(
        "src/sync.rs",
        '    let rows = sqlx::query_as!(Row, "SELECT * FROM remote_rows").fetch_all(&pool).await?;',
        '    let rows = sqlx::query_as!(Row, "SELECT * FROM remote_rows WHERE updated_at > ?", since)\n'
        "        .fetch_all(&pool)\n        .await?;",
    ),
    Sh(
        "cargo build",
        """\
   Compiling tiller v0.8.3 (/home/jo/work/tiller)
error: `SQLX_OFFLINE=true` but there is no cached data for this query, run `cargo sqlx prepare` to update the query cache or unset `SQLX_OFFLINE`
  --> src/sync.rs:57:16
   |
57 |     let rows = sqlx::query_as!(Row, "SELECT * FROM remote_rows WHERE updated_at > ?", since)
   |                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   = note: this error originates in the macro `$crate::sqlx_macros::expand_query` (in Nightly builds, run with -Z macro-backtrace for more info)

error: could not compile `tiller` (lib) due to 1 previous error""",
        code=101,
        secs=9.4,
    ),
    Sh("grep -n SQLX .cargo/config.toml", '4:SQLX_OFFLINE = "true"'),
    Sh(
        "DATABASE_URL=sqlite://dev.db cargo sqlx prepare -- --all-targets",
        """\
    Checking tiller v0.8.3 (/home/jo/work/tiller)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in 6.77s
query data written to .sqlx in the current directory; please check this into version control""",
        secs=7.2,
    ),
    Sh("cargo build", "   Compiling tiller v0.8.3 (/home/jo/work/tiller)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 8.12s", secs=8.3),
    Sh(
        "cargo nextest run sync",
        "  SETUP [      1/1] create-test-db: scripts/create-test-db.sh\n    Starting 14 tests across 3 binaries (198 tests skipped)\n------------\n     Summary [   0.912s] 14 tests run: 14 passed, 198 skipped",
        secs=2.0,
    ),
    Say(
        "`tiller sync --since` is in. Builds read the sqlx query cache: .cargo/config.toml sets "
        "SQLX_OFFLINE=true, so a changed query fails to compile until `cargo sqlx prepare -- "
        "--all-targets` regenerates .sqlx/ (commit those files with the change)."
    ),
    User(
        "Good. While you're in there: library errors are thiserror enums; anyhow is only for "
        "main.rs."
    ),
    Say("Noted — the new `SyncError::BadSince` variant is a thiserror variant in src/sync.rs."),
)

T3 = s(
    "t3", "tiller", 15.1,
    User(
        "clippy is unhappy about fetch_page in sync.rs. sorry if I'm slow to answer, the cat "
        "keeps walking across my keyboard"
    ),
    Sh(
        "cargo clippy --all-targets -- -D warnings",
        """\
    Checking tiller v0.8.3 (/home/jo/work/tiller)
error: this function has too many arguments (8/7)
  --> src/sync.rs:102:1
   |
102| / async fn fetch_page(
103| |     client: &Client,
   | |_^
   = help: for further information visit https://rust-lang.github.io/rust-clippy/master/index.html#too_many_arguments
   = note: `-D clippy::too-many-arguments` implied by `-D warnings`

error: could not compile `tiller` (lib) due to 1 previous error""",
        code=101,
        secs=6.0,
    ),
    patch_refused(
        edit("src/sync.rs", "async fn fetch_page(", "#[allow(clippy::too_many_arguments)]\nasync fn fetch_page("),
        "No. We fix clippy lints here, we don't silence them with allow attributes. Group the "
        "paging arguments into a struct.",
        edit("src/sync.rs", "#[allow(clippy::too_many_arguments)]\nasync fn fetch_page(", "async fn fetch_page("),
    ),
    edit(
        "src/sync.rs",
        "async fn fetch_page(\n    client: &Client,",
        "pub struct PageRequest<'a> {\n    pub client: &'a Client,\n    pub cursor: Option<String>,\n    pub limit: u32,\n}\n\nasync fn fetch_page(\n    req: PageRequest<'_>,",
    ),
    Sh("cargo clippy --all-targets -- -D warnings", "    Checking tiller v0.8.3 (/home/jo/work/tiller)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 5.31s", secs=5.5),
    Say(
        "fetch_page now takes a `PageRequest` struct instead of eight arguments, and clippy "
        "is clean with -D warnings — no allow attribute."
    ),
)

T4 = s(
    "t4", "tiller", 11.4,
    User("Cut the 0.9.0 release."),
    Sh("cat rust-toolchain.toml", '[toolchain]\nchannel = "1.78.0"\ncomponents = ["clippy", "rustfmt"]'),
    Sh("rustc --version", "rustc 1.78.0 (9b00956e5 2024-04-29)"),
    Sh(
        "cargo release 0.9.0 --execute --no-confirm",
        """\
   Upgrading tiller from 0.8.3 to 0.9.0
  Packaging tiller v0.9.0 (/home/jo/work/tiller)
   Verifying tiller v0.9.0 (/tmp/cargo-release.Xq81Lz/tiller-0.9.0)
   Compiling tiller v0.9.0 (/tmp/cargo-release.Xq81Lz/tiller-0.9.0)
  Publishing tiller v0.9.0
   Uploaded tiller v0.9.0 to registry `crates-io`
    Pushing Pushing main, v0.9.0 to origin""",
        secs=48.0,
    ),
    Say(
        "0.9.0 is out: `cargo release 0.9.0 --execute` bumped Cargo.toml, tagged v0.9.0, "
        "published the crate and pushed. The toolchain is pinned to Rust 1.78.0 in "
        "rust-toolchain.toml, so releases build with that."
    ),
)

T5 = s(
    "t5", "tiller", 7.2,
    User("tiller sync hangs for ages against the staging server and then dies, why?"),
    Sh(
        "RUST_LOG=tiller=debug timeout 90 cargo run -- sync --remote staging",
        """\
2026-11-30T10:02:11Z DEBUG tiller::sync: fetching page 1 from https://staging.tiller.dev/api/rows
2026-11-30T10:02:41Z ERROR tiller::sync: request timed out after 30s
Error: sync failed: operation timed out""",
        code=1,
        secs=31.0,
    ),
    Sh("pgrep -f 'tiller sync'", "48213"),
    Sh("kill 48213", ""),
    Sh("rg -n 'TIMEOUT' src/config.rs", '18:    let secs = env::var("TILLER_TIMEOUT_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);'),
    Sh(
        "TILLER_TIMEOUT_SECS=120 cargo run -- sync --remote staging",
        "synced 18,204 rows from staging in 71.3s",
        secs=72.0,
    ),
    Say(
        "Staging is slow, not broken: its first page takes about 70 s and the client gives up "
        "after 30. The request timeout is read from TILLER_TIMEOUT_SECS (default 30, "
        "src/config.rs); set TILLER_TIMEOUT_SECS=120 for syncs against staging."
    ),
)

T6 = s(
    "t6", "tiller", 1.4,
    User(
        "Time for 0.10.0. Heads-up: we switched releases over to release-plz last week, cargo "
        "release isn't used anymore — CI opens the release PR."
    ),
    Sh(
        "release-plz release-pr --git-token \"$GITHUB_TOKEN\"",
        "INFO  opened release PR https://github.com/jo-tools/tiller/pull/341 (tiller 0.9.0 -> 0.10.0)",
        secs=12.0,
    ),
    Say(
        "Release PR for 0.10.0 is open. Releases now go through release-plz (release-plz.toml; "
        "merging the release PR publishes and tags), replacing cargo release."
    ),
    later=True,
)

# -- orchard: a TypeScript monorepo (pnpm workspaces, turbo, jest, Prisma)

O1 = s(
    "o1", "orchard", 20.1,
    User("After a clean checkout the web app's unit tests can't find the db package. Can you sort it?"),
    cut_off(
        "npm install",
        "npm WARN EBADENGINE Unsupported engine {\nnpm WARN deprecated inflight@1.0.6: This module is not supported\nadded 1204 packages",
        "whoa, not npm — this is a pnpm workspace. npm writes a package-lock.json and breaks the "
        "workspace links. Use pnpm for everything in orchard.",
    ),
    Sh("rm -f package-lock.json && pnpm install", "Scope: all 6 workspace projects\nLockfile is up to date, resolution step is skipped\nPackages: +1187\nDone in 9.8s", secs=10.2),
    Sh(
        "pnpm test",
        """\
> orchard@ test /home/jo/work/orchard
> turbo run test

• Packages in scope: @orchard/api, @orchard/db, @orchard/ui, @orchard/web
@orchard/web:test: FAIL src/lib/tasks.test.ts
@orchard/web:test:   ● Test suite failed to run
@orchard/web:test:
@orchard/web:test:     @prisma/client did not initialize yet. Please run "prisma generate" and try to import it again.
@orchard/web:test:
@orchard/web:test:       at new PrismaClient (../../node_modules/.prisma/client/default.js:43:11)
@orchard/web:test: Tests:       0 total
@orchard/web:test: ERROR: command finished with error: command (/home/jo/work/orchard/apps/web) pnpm run test exited (1)
 ERROR  run failed: command  exited (1)""",
        code=1,
        secs=11.0,
    ),
    Sh("pnpm --filter @orchard/db exec prisma generate", "Prisma schema loaded from prisma/schema.prisma\n✔ Generated Prisma Client (v5.14.0) to ./../../node_modules/@prisma/client in 182ms", secs=2.4),
    Sh(
        "pnpm test",
        "> orchard@ test /home/jo/work/orchard\n> turbo run test\n\n@orchard/web:test: Tests:       96 passed, 96 total\n@orchard/api:test: Tests:       58 passed, 58 total\n\n Tasks:    4 successful, 4 total",
        secs=19.0,
    ),
    Say(
        "Tests are green (`pnpm test` runs jest in every package through turbo). The Prisma "
        "client is generated, not committed, so after a clean checkout run `pnpm --filter "
        "@orchard/db exec prisma generate` first; I also removed the package-lock.json that npm "
        "had written."
    ),
)

O2 = s(
    "o2", "orchard", 17.0,
    User(
        "formatDueDate's test fails on my laptop but passes in CI. When something breaks, paste "
        "me the failing assertion word for word — don't paraphrase it."
    ),
    Sh(
        "pnpm --filter @orchard/web test -- src/lib/dates.test.ts",
        """\
 FAIL  src/lib/dates.test.ts
  ● formatDueDate › renders the due date in UTC

    expect(received).toBe(expected) // Object.is equality

    Expected: "28 Feb 2026"
    Received: "1 Mar 2026"

      11 |   it("renders the due date in UTC", () => {
    > 12 |     expect(formatDueDate("2026-02-28T23:30:00Z")).toBe("28 Feb 2026");

Tests:       1 failed, 11 passed, 12 total""",
        code=1,
        secs=4.0,
    ),
    Say(
        "Verbatim: `Expected: \"28 Feb 2026\" / Received: \"1 Mar 2026\"`. Jest runs in your "
        "local timezone and CI runs in UTC; I'll pin the test timezone in the jest config."
    ),
    add("apps/web/jest.global-setup.ts", "export default () => {\n  process.env.TZ = \"UTC\";\n};"),
    edit(
        "apps/web/jest.config.ts",
        '  testEnvironment: "jsdom",',
        '  testEnvironment: "jsdom",\n  globalSetup: "./jest.global-setup.ts",',
    ),
    Sh("pnpm --filter @orchard/web test -- src/lib/dates.test.ts", " PASS  src/lib/dates.test.ts\nTests:       12 passed, 12 total", secs=3.6),
    Say(
        "Fixed by config, not code: apps/web/jest.config.ts now has a globalSetup "
        "(jest.global-setup.ts) that sets TZ=UTC, so the date tests give the same result on "
        "every machine."
    ),
)

O3 = s(
    "o3", "orchard", 14.2,
    User(
        "Add a priority column (low/normal/high) to tasks. No new npm packages without asking "
        "me first, same deal as everywhere."
    ),
    Sh("cat packages/db/.env", f'DATABASE_URL="postgresql://orchard:orchard@localhost:5433/orchard"\nSTRIPE_SECRET_KEY={STRIPE}'),
    edit(
        "packages/db/prisma/schema.prisma",
        "  title     String",
        "  title     String\n  priority  Priority @default(normal)",
    ),
    Sh(
        "pnpm --filter @orchard/db exec prisma migrate dev --name add_task_priority",
        """\
Environment variables loaded from .env
Prisma schema loaded from prisma/schema.prisma
Datasource "db": PostgreSQL database "orchard", schema "public" at "localhost:5433"

Applying migration `20261123091512_add_task_priority`

Your database is now in sync with your schema.""",
        secs=3.3,
    ),
    Say(
        "Added `priority` (enum Priority, default normal). The Prisma schema lives in "
        "packages/db/prisma/schema.prisma and migrations are made with `pnpm --filter "
        "@orchard/db exec prisma migrate dev --name <name>`; no packages were added."
    ),
)

O4 = s(
    "o4", "orchard", 10.3,
    User("The api client has a type error since the last merge, fix it."),
    Sh(
        "pnpm typecheck",
        "> turbo run typecheck\n@orchard/web:typecheck: src/api/client.ts(31,5): error TS2322: Type 'string | undefined' is not assignable to type 'string'.\n ERROR  run failed: command  exited (2)",
        code=2,
        secs=8.0,
    ),
    patch_refused(
        edit("apps/web/src/api/client.ts", "    baseUrl: env.API_URL,", "    // @ts-ignore\n    baseUrl: env.API_URL,"),
        "no ts-ignore please, fix the actual type",
        edit("apps/web/src/api/client.ts", "    // @ts-ignore\n    baseUrl: env.API_URL,", "    baseUrl: env.API_URL,"),
    ),
    edit("apps/web/src/api/client.ts", "    baseUrl: env.API_URL,", '    baseUrl: env.API_URL ?? "http://127.0.0.1:4010",'),
    Sh("pnpm typecheck", "> turbo run typecheck\n Tasks:    4 successful, 4 total", secs=7.5),
    Sh(
        "pnpm --filter @orchard/api dev",
        "> @orchard/api@0.0.0 dev\n> tsx watch src/server.ts\n\n{\"level\":30,\"msg\":\"Server listening at http://127.0.0.1:4010\"}",
        secs=10.0,
    ),
    Say(
        "Typecheck is clean: `API_URL` is optional, so the client falls back to the local API, "
        "which listens on http://127.0.0.1:4010 (`pnpm --filter @orchard/api dev`)."
    ),
)

O5 = s(
    "o5", "orchard", 6.1,
    User(
        "Rename TaskCard to TaskTile across the web app. Answer in plain paragraphs, no "
        "markdown headers, they look awful in my terminal."
    ),
    Sh("rg -l TaskCard apps/web/src", "apps/web/src/components/TaskCard.tsx\napps/web/src/pages/Board.tsx"),
    Patch(
        "*** Update File: apps/web/src/components/TaskCard.tsx\n*** Move to: apps/web/src/components/TaskTile.tsx\n@@\n-export function TaskCard({ task }: Props) {\n+export function TaskTile({ task }: Props) {\n*** Update File: apps/web/src/pages/Board.tsx\n@@\n-import { TaskCard } from \"../components/TaskCard\";\n+import { TaskTile } from \"../components/TaskTile\";"
    ),
    Sh("pnpm exec prettier --write apps/web/src", "apps/web/src/components/TaskTile.tsx 41ms\napps/web/src/pages/Board.tsx 18ms (unchanged)"),
    Sh("pnpm lint", "> turbo run lint\n@orchard/web:lint: cache hit, replaying logs 5f8e2a1c9b7d3e40\n Tasks:    4 successful, 4 total", secs=3.0),
    Say(
        "Renamed to TaskTile in both files. Formatting in orchard is prettier (`pnpm exec "
        "prettier --write`) and `pnpm lint` runs eslint through turbo; both are clean."
    ),
)

O6 = s(
    "o6", "orchard", 0.9,
    User(
        "We replaced eslint and prettier with biome yesterday. Format the new settings page."
    ),
    gone(
        "pnpm exec prettier --write apps/web/src/pages/Settings.tsx",
        ' ERR_PNPM_RECURSIVE_EXEC_FIRST_FAIL  Command "prettier" not found',
        code=254,
    ),
    Sh("pnpm exec biome check --write apps/web/src/pages/Settings.tsx", "Checked 1 file in 4ms. Fixed 1 file."),
    Say(
        "Formatted with biome. prettier is no longer installed in orchard: formatting and lint "
        "are `pnpm exec biome check --write` now (biome.json)."
    ),
    later=True,
)

# -- hive: a Go service (make, mockgen, docker compose, protobuf)

H1 = s(
    "h1", "hive", 19.3,
    User("make test fails on main for me"),
    Sh(
        "make test",
        """\
go test ./... -race -count=1
# github.com/acme-infra/hive/internal/store_test [github.com/acme-infra/hive/internal/store.test]
internal/store/store_test.go:18:14: undefined: mocks.NewMockQuerier
FAIL	github.com/acme-infra/hive/internal/store [build failed]
ok  	github.com/acme-infra/hive/internal/api	1.204s
FAIL
make: *** [Makefile:14: test] Error 1""",
        code=2,
        secs=14.0,
    ),
    Sh("ls internal/store/mocks", "ls: cannot access 'internal/store/mocks': No such file or directory", code=2),
    Sh("grep -rn go:generate internal/store", "internal/store/querier.go:3://go:generate mockgen -source=querier.go -destination=mocks/querier_mock.go -package=mocks"),
    Sh("go generate ./...", "", secs=3.0),
    Sh("make test", "go test ./... -race -count=1\nok  \tgithub.com/acme-infra/hive/internal/api\t1.198s\nok  \tgithub.com/acme-infra/hive/internal/store\t0.871s", secs=13.0),
    Say(
        "The mocks under internal/store/mocks are generated by mockgen and not committed, so "
        "`make test` failed to build with \"undefined: mocks.NewMockQuerier\". Run `go generate "
        "./...` after a clean checkout or after changing an interface; then `make test` passes."
    ),
    User("ok thanks. and from now on one commit per logical change, not one big squash at the end"),
    Say("Will do."),
)

H2 = s(
    "h2", "hive", 16.4,
    User("bring up the dev database, compose won't start it"),
    Sh(
        "docker compose up -d db",
        """\
[+] Running 1/2
 ✔ Network hive_default  Created
 ⠿ Container hive-db-1   Starting
Error response from daemon: driver failed programming external connectivity on endpoint hive-db-1 (3f9c2a71be04d8e6): Bind for 0.0.0.0:5432 failed: port is already allocated""",
        code=1,
        secs=2.2,
    ),
    Sh("ss -ltnp 'sport = :5432'", "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\nLISTEN 0      244        127.0.0.1:5432      0.0.0.0:*"),
    proposal_refused(
        "Something else holds port 5432 — your local PostgreSQL service. I can stop it with "
        "`sudo systemctl stop postgresql` and start the container. Go ahead?",
        "no, leave my local postgres alone, other projects use it. compose takes the host port "
        "from HIVE_PG_PORT in .env, make it 5433.",
    ),
    edit(".env", "HIVE_PG_PORT=5432", "HIVE_PG_PORT=5433"),
    Sh("docker compose up -d db", "[+] Running 1/1\n ✔ Container hive-db-1  Started", secs=1.8),
    Say(
        "The database container is up on port 5433: compose publishes it on HIVE_PG_PORT from "
        ".env, now 5433, because 5432 belongs to the PostgreSQL installed on this machine."
    ),
)

H3 = s(
    "h3", "hive", 13.0,
    User(
        "the integration tests never seem to run. and whatever you do, tests never talk to "
        "the real network — stub the payment API."
    ),
    Sh("go test ./internal/api/... -run Integration -v", "testing: warning: no tests to run\nPASS\nok  \tgithub.com/acme-infra/hive/internal/api\t0.012s [no tests to run]"),
    Sh("head -3 internal/api/api_integration_test.go", "//go:build integration\n\npackage api_test"),
    Sh(
        "go test -tags=integration ./internal/api/...",
        "--- FAIL: TestCreateHive (0.00s)\n    api_integration_test.go:22: HIVE_DB_DSN not set\nFAIL\nFAIL\tgithub.com/acme-infra/hive/internal/api\t0.019s",
        code=1,
    ),
    Sh(
        "HIVE_DB_DSN='postgres://hive:hive@localhost:5433/hive_test?sslmode=disable' go test -tags=integration ./internal/api/...",
        "ok  \tgithub.com/acme-infra/hive/internal/api\t3.412s",
        secs=4.0,
    ),
    edit(
        "Makefile",
        "test-integration:\n\tgo test ./...",
        "test-integration:\n\tgo test -tags=integration ./...",
    ),
    Say(
        "They were never compiled: the integration tests are behind the `integration` build "
        "tag, so they need `go test -tags=integration`, and they read the database from "
        "HIVE_DB_DSN (postgres://hive:hive@localhost:5433/hive_test?sslmode=disable locally). "
        "`make test-integration` now passes the tag; the payment API is already a stub."
    ),
)

H4 = s(
    "h4", "hive", 9.2,
    User(
        "I changed proto/hive.proto, regenerate the Go code. Never hand-edit anything under "
        "gen/, it's overwritten on every regeneration."
    ),
    Sh("make proto", "protoc -I proto --go_out=gen --go-grpc_out=gen proto/hive.proto", secs=2.0),
    Sh("git status --short", " M gen/hivepb/hive.pb.go\n M gen/hivepb/hive_grpc.pb.go\n M proto/hive.proto"),
    Say("Regenerated with `make proto` (protoc into gen/hivepb); the two generated files changed."),
)

H6 = s(
    "h6", "hive", 4.8,
    User(
        "CI lint is red on my branch. Run the linter yourself before you hand work back to me, "
        "please."
    ),
    Sh(
        "golangci-lint run ./...",
        "internal/api/handler.go:88:2: ineffectual assignment to err (ineffassign)\n\terr = h.store.Touch(ctx, id)\n\t^\n1 issues:\n* ineffassign: 1",
        code=1,
        secs=9.0,
    ),
    edit("internal/api/handler.go", "\terr = h.store.Touch(ctx, id)", "\tif err := h.store.Touch(ctx, id); err != nil {\n\t\treturn err\n\t}"),
    Sh("golangci-lint run ./...", "0 issues.", secs=8.4),
    Say("golangci-lint is clean (the Touch error was dropped; now it is returned)."),
)

H5 = s(
    "h5", "hive", 2.1,
    User("proto changed again, regenerate please"),
    gone("make proto", "make: *** No rule to make target 'proto'.  Stop."),
    Sh("git log -1 --format='%h %s' -- Makefile", "a41c9e2 Drop protoc targets: code generation moved to buf"),
    Sh("buf generate", "", secs=2.6),
    Say(
        "`make proto` no longer exists (a41c9e2 dropped it): hive's Go code is now generated "
        "with `buf generate` (buf.gen.yaml)."
    ),
    later=True,
)

# -- lumen: a C++ library (CMake presets, conan, ctest)

L1 = s(
    "l1", "lumen", 18.2,
    User("fresh clone of lumen, cmake won't configure"),
    Sh(
        "cmake --preset dev",
        """\
Preset CMake variables:

  CMAKE_BUILD_TYPE="Debug"

-- The CXX compiler identification is GNU 13.2.0
CMake Error at CMakeLists.txt:21 (find_package):
  By not providing "Findfmt.cmake" in CMAKE_MODULE_PATH this project has
  asked CMake to find a package configuration file provided by "fmt", but
  CMake did not find one.

  Could not find a package configuration file provided by "fmt" with any of
  the following names:

    fmtConfig.cmake
    fmt-config.cmake

-- Configuring incomplete, errors occurred!""",
        code=1,
        secs=1.6,
    ),
    Sh(
        "conan install . --output-folder=build/dev --build=missing",
        "======== Computing dependency graph ========\nRequirements\n    fmt/10.2.1#9199a7a0611866dea5c8849a77467b25 - Cache\n    spdlog/1.14.1#972bbf70be1da4bc57ea589af0efde03 - Cache\n======== Finalizing install (deploy, generators) ========\nconanfile.py: Generating aggregated env files",
        secs=21.0,
    ),
    Sh("cmake --preset dev", "-- Configuring done (0.9s)\n-- Generating done (0.1s)\n-- Build files have been written to: /home/jo/work/lumen/build/dev"),
    Sh("cmake --build --preset dev", "[214/214] Linking CXX shared library liblumen.so", secs=88.0),
    Say(
        "Configured and built. lumen's dependencies (fmt, spdlog) come from conan: run `conan "
        "install . --output-folder=build/dev --build=missing` before configuring, then `cmake "
        "--preset dev` and `cmake --build --preset dev` (CMakePresets.json)."
    ),
)

L2 = s(
    "l2", "lumen", 15.3,
    User(
        "run the unit tests. and the geocoder test hits a live endpoint — tests mustn't reach "
        "the network, give it a recorded fixture instead."
    ),
    Sh("ctest --test-dir build/dev --no-tests=error", "Test project /home/jo/work/lumen/build/dev\nNo tests were found!!!", code=8),
    Sh("grep -n LUMEN_BUILD_TESTS CMakeLists.txt", '9:option(LUMEN_BUILD_TESTS "Build the unit tests" OFF)'),
    Sh("cmake --preset dev -DLUMEN_BUILD_TESTS=ON && cmake --build --preset dev", "-- Build files have been written to: /home/jo/work/lumen/build/dev\n[61/61] Linking CXX executable tests/lumen_tests", secs=40.0),
    add("tests/fixtures/geocode_berlin.json", '{"lat": 52.52, "lon": 13.405, "name": "Berlin"}'),
    edit("tests/geocoder_test.cpp", '  auto r = geocode("Berlin");', '  auto r = geocode_from_fixture("tests/fixtures/geocode_berlin.json");'),
    Sh("cmake --build --preset dev && ctest --test-dir build/dev", "[3/3] Linking CXX executable tests/lumen_tests\n100% tests passed, 0 tests failed out of 57\n\nTotal Test time (real) =   2.41 sec", secs=9.0),
    Say(
        "ctest found no tests because they are off by default: configure with `cmake --preset "
        "dev -DLUMEN_BUILD_TESTS=ON` and all 57 pass. The geocoder test reads "
        "tests/fixtures/geocode_berlin.json now, no network."
    ),
)

L3 = s(
    "l3", "lumen", 12.0,
    User(
        "add a `clamp01` helper to color.hpp. back from the dentist, face still numb, so "
        "I'll be terse. -Werror stays on in this repo, new code has to build without warnings."
    ),
    edit("include/lumen/color.hpp", "namespace lumen {", "namespace lumen {\n\ninline float clamp01(float v) {\n  float lo = 0.0f;\n  return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);\n}"),
    Sh(
        "cmake --build --preset dev",
        "FAILED: src/CMakeFiles/lumen.dir/color.cpp.o\ninclude/lumen/color.hpp:6:9: error: unused variable 'lo' [-Werror=unused-variable]\n    6 |   float lo = 0.0f;\n      |         ^~\nninja: build stopped: subcommand failed.",
        code=1,
        secs=12.0,
    ),
    edit("include/lumen/color.hpp", "  float lo = 0.0f;\n", ""),
    Sh("cmake --build --preset dev", "[12/12] Linking CXX shared library liblumen.so", secs=11.0),
    Say("clamp01 is in include/lumen/color.hpp and builds warning-free under -Werror."),
)

L4 = s(
    "l4", "lumen", 8.1,
    User(
        "add a clang-format check to the pre-push script. At the end, give me the commands you "
        "ran as one copy-pasteable block."
    ),
    Sh(
        "clang-format --dry-run --Werror src/color.cpp",
        "YAML:14:1: error: unknown key 'InsertNewlineAtEOF'\nInsertNewlineAtEOF: true\n^~~~~~~~~~~~~~~~~~\nError reading /home/jo/work/lumen/.clang-format: Invalid argument",
        code=1,
    ),
    Sh("clang-format --version", "Ubuntu clang-format version 14.0.6"),
    Sh("clang-format-18 --dry-run --Werror src/color.cpp", ""),
    edit("scripts/pre-push", "set -euo pipefail", "set -euo pipefail\ngit ls-files '*.cpp' '*.hpp' | xargs clang-format-18 --dry-run --Werror"),
    Say(
        "The check is in scripts/pre-push. lumen's .clang-format uses InsertNewlineAtEOF, which "
        "clang-format 14 rejects (\"unknown key\"), so it has to be clang-format-18.\n\n"
        "```\nclang-format-18 --dry-run --Werror src/color.cpp\n```"
    ),
)

L6 = s(
    "l6", "lumen", 3.9,
    User("my feature branch is behind trunk and the push is rejected, sort it out"),
    Sh("git push", " ! [rejected]        feature/hdr -> feature/hdr (non-fast-forward)\nerror: failed to push some refs to 'github.com:lumen-gfx/lumen.git'", code=1),
    proposal_refused(
        "Simplest is `git push --force` over the remote branch. Shall I?",
        "No. Never force-push here; rebase onto trunk and push with --force-with-lease only "
        "if I say so.",
    ),
    Sh("git fetch origin && git rebase origin/trunk", "Successfully rebased and updated refs/heads/feature/hdr."),
    Sh("git push", "To github.com:lumen-gfx/lumen.git\n   a1b2c3d..e4f5a6b  feature/hdr -> feature/hdr", code=0),
    Say("Rebased onto trunk and pushed normally — it was only behind, no conflicts."),
)

L5 = s(
    "l5", "lumen", 1.2,
    User(
        "new build box, configure fails. fyi we moved lumen off conan to vcpkg manifest mode "
        "last week"
    ),
    gone(
        "conan install . --output-folder=build/dev --build=missing",
        "bash: line 1: conan: command not found",
        code=127,
    ),
    Sh("cat vcpkg.json", '{\n  "name": "lumen",\n  "dependencies": ["fmt", "spdlog"]\n}'),
    Sh(
        "cmake --preset dev",
        "-- Running vcpkg install\nInstalling 1/2 fmt:x64-linux@10.2.1...\nInstalling 2/2 spdlog:x64-linux@1.14.1...\n-- Running vcpkg install - done\n-- Build files have been written to: /home/jo/work/lumen/build/dev",
        secs=64.0,
    ),
    Say(
        "Configured: dependencies now come from vcpkg in manifest mode (vcpkg.json), installed "
        "by `cmake --preset dev` through the vcpkg toolchain; conan is no longer used in lumen."
    ),
    later=True,
)

SESSIONS = (T1, T2, T3, T4, T5, T6, O1, O2, O3, O4, O5, O6, H1, H2, H3, H4, H6, H5, L1, L2, L3, L4, L6, L5)

FACTS = (
    # preferences, most without a trigger word
    Fact("d.pref.verbatim", "preference", None, "quote a failing assertion verbatim, don't paraphrase", M("verbatim|word for word|paraphrase|paraphrasing"), ("o2",)),
    Fact("d.pref.headers", "preference", None, "answer in plain paragraphs, no markdown headers", M("headers|headings|paragraphs"), ("o5",)),
    Fact("d.pref.commits", "preference", None, "one commit per logical change", M("commit|commits", "logical|per change|squash"), ("h1",)),
    Fact("d.pref.lint_first", "preference", None, "run the linter before handing work back", M("lint|linter|linters", "before|yourself|hand"), ("h6",)),
    Fact("d.pref.commands_block", "preference", None, "list the commands run as one copy-pasteable block", M("copy-pasteable|copy-paste|copy paste|commands you ran"), ("l4",)),
    # general rules: said in two projects
    Fact("d.gen.deps", "general_rule", None, "ask before adding a new dependency", M("crate|crates|dependency|dependencies|package|packages", "ask|asking|check with"), ("t1", "o3")),
    Fact("d.gen.network", "general_rule", None, "tests never reach the real network", M("network", "test|tests"), ("h3", "l2")),
    # project rules
    Fact("d.rule.pnpm", "project_rule", "orchard", "pnpm only, never npm (it writes package-lock.json)", M("pnpm", "npm|package-lock"), ("o1",)),
    Fact("d.rule.thiserror", "project_rule", "tiller", "library errors use thiserror; anyhow only in main.rs", M("thiserror|anyhow"), ("t2",)),
    Fact("d.rule.clippy", "project_rule", "tiller", "fix clippy lints, don't silence them with allow attributes", M("clippy", "allow|silence|silencing|fix"), ("t3",)),
    Fact("d.rule.gen", "project_rule", "hive", "never hand-edit files under gen/", M("gen/|gen", "hand-edit|edit|overwritten|regenerated|regeneration|regenerate"), ("h4",)),
    Fact("d.rule.werror", "project_rule", "lumen", "-Werror stays on; new code builds without warnings", M("Werror|warnings|warning-free"), ("l3",)),
    # project facts: in tool output or the assistant's words only
    Fact("d.fact.sqlx_offline", "project_fact", "tiller", "builds use SQLX_OFFLINE=true (.cargo/config.toml)", M("SQLX_OFFLINE"), ("t2",)),
    Fact("d.fact.toolchain", "project_fact", "tiller", "Rust 1.78.0 pinned in rust-toolchain.toml", M("1.78.0|1.78"), ("t4",)),
    Fact("d.fact.cargo_release", "project_fact", "tiller", "releases are cut with cargo release", M("cargo release|cargo-release"), ("t4",), superseded_by="d.new.release_plz"),
    Fact("d.fact.timeout", "project_fact", "tiller", "request timeout from TILLER_TIMEOUT_SECS (120 for staging)", M("TILLER_TIMEOUT_SECS"), ("t5",)),
    Fact("d.fact.schema", "project_fact", "orchard", "the Prisma schema is packages/db/prisma/schema.prisma", M("schema.prisma|packages/db/prisma"), ("o3",)),
    Fact("d.fact.api_port", "project_fact", "orchard", "the local API listens on 127.0.0.1:4010", M("4010"), ("o4",)),
    Fact("d.fact.jest", "project_fact", "orchard", "pnpm test runs jest in every package through turbo", M("jest", "pnpm test|turbo"), ("o1",)),
    Fact("d.fact.prettier", "project_fact", "orchard", "format with prettier (pnpm exec prettier --write)", M("prettier"), ("o5",), superseded_by="d.new.biome"),
    Fact("d.fact.dsn", "project_fact", "hive", "integration tests read the database from HIVE_DB_DSN", M("HIVE_DB_DSN"), ("h3",)),
    Fact("d.fact.tag", "project_fact", "hive", "integration tests need the integration build tag", M("-tags=integration|-tags integration|build tag"), ("h3",)),
    Fact("d.fact.make_proto", "project_fact", "hive", "regenerate the Go code from protobuf with make proto", M("make proto"), ("h4",), superseded_by="d.new.buf"),
    Fact("d.fact.conan", "project_fact", "lumen", "dependencies come from conan (conan install before configuring)", M("conan install|conan"), ("l1",), superseded_by="d.new.vcpkg"),
    Fact("d.fact.preset", "project_fact", "lumen", "configure with cmake --preset dev (CMakePresets.json)", M("--preset dev|cmake --preset|CMakePresets"), ("l1",)),
    # failure -> fix by another command, a wrapped command, an edit or a user's correction
    Fact("d.ff.nextest", "failure_fix", "tiller", "cargo test panics: TILLER_TEST_DB must be set -> cargo nextest run (the user's correction)", M("nextest"), ("t1",), link=M("TILLER_TEST_DB|panicked|panics|cargo test")),
    Fact("d.ff.sqlx", "failure_fix", "tiller", "build: no cached data for this query -> cargo sqlx prepare", M("sqlx prepare"), ("t2",), link=M("cached data|query cache|SQLX_OFFLINE|cargo build|compile")),
    Fact("d.ff.prisma", "failure_fix", "orchard", "pnpm test: @prisma/client did not initialize -> prisma generate", M("prisma generate"), ("o1",), link=M("did not initialize|@prisma/client|pnpm test|Prisma client")),
    Fact("d.ff.tz", "failure_fix", "orchard", "date test differs by timezone -> jest globalSetup sets TZ=UTC (an edit)", M("TZ|jest.global-setup.ts|globalSetup|timezone"), ("o2",), link=M("Expected|Received|formatDueDate|dates.test.ts|date|dates")),
    Fact("d.ff.mocks", "failure_fix", "hive", "make test: undefined: mocks.NewMockQuerier -> go generate ./...", M("go generate"), ("h1",), link=M("undefined|NewMockQuerier|make test|mocks")),
    Fact("d.ff.pg_port", "failure_fix", "hive", "compose: port 5432 already allocated -> HIVE_PG_PORT=5433 in .env (the user's correction)", M("HIVE_PG_PORT"), ("h2",), link=M("already allocated|5432|compose")),
    Fact("d.ff.build_tests", "failure_fix", "lumen", "ctest: No tests were found -> configure with -DLUMEN_BUILD_TESTS=ON", M("LUMEN_BUILD_TESTS|-DLUMEN_BUILD_TESTS"), ("l2",), link=M("No tests were found|no tests|ctest")),
    Fact("d.ff.clang_format", "failure_fix", "lumen", ".clang-format: unknown key InsertNewlineAtEOF -> use clang-format-18", M("clang-format-18|clang-format 18"), ("l4",), link=M("unknown key|InsertNewlineAtEOF|clang-format 14")),
    # what the later sessions state instead
    Fact("d.new.release_plz", "superseding", "tiller", "releases go through release-plz (cargo release no longer used)", M("release-plz"), ("t6",)),
    Fact("d.new.biome", "superseding", "orchard", "format and lint with biome (prettier and eslint replaced)", M("biome"), ("o6",)),
    Fact("d.new.buf", "superseding", "hive", "generate the protobuf code with buf generate (make proto is gone)", M("buf generate|buf"), ("h5",)),
    Fact("d.new.vcpkg", "superseding", "lumen", "dependencies come from vcpkg manifest mode (conan replaced)", M("vcpkg"), ("l5",)),
)

DISTRACTORS = (
    Distractor("d.x.stripe", "secret", "a Stripe live key in a .env the agent printed", M(STRIPE[-20:]), ("o3",)),
    Distractor("d.x.tmpdir", "transient", "cargo release's temp dir", M("Xq81Lz"), ("t4",)),
    Distractor("d.x.pid", "transient", "the pid of a hung sync", M("48213"), ("t5",)),
    Distractor("d.x.turbo_hash", "transient", "a turbo cache hash", M("5f8e2a1c9b7d3e40"), ("o5",)),
    Distractor("d.x.container", "transient", "a docker endpoint id", M("3f9c2a71be04d8e6|3f9c2a71be04"), ("h2",)),
    Distractor("d.x.migration", "transient", "one migration's timestamped name", M("20261123091512"), ("o3",)),
    Distractor("d.x.cat", "small_talk", "a cat on the keyboard", M("keyboard"), ("t3",)),
    Distractor("d.x.dentist", "small_talk", "a dentist visit", M("dentist|numb"), ("l3",)),
    Distractor("d.x.allow", "rejected", "#[allow(clippy::too_many_arguments)] (the user said no)", M("allow(clippy::too_many_arguments)|#[allow"), ("t3",), negatable=True),
    Distractor("d.x.ts_ignore", "rejected", "// @ts-ignore (the user said no)", M("@ts-ignore|ts-ignore"), ("o4",), negatable=True),
    Distractor("d.x.stop_pg", "rejected", "stopping the local PostgreSQL service (the user said no)", M("systemctl stop postgresql|stop postgresql"), ("h2",), negatable=True),
    Distractor("d.x.force_push", "rejected", "git push --force (the user said no)", M("push --force|force-push|force push"), ("l6",), negatable=True),
)

# fmt: on

CORPUS = Corpus(
    name="d",
    how="assembled from episodes of messy work",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="t5",
)
