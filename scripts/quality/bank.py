"""A labelled sentence bank for the meaning head (issue 13, round 11b in docs/quality.md).

The corpora's sentences are labelled by token matching against their planted facts
(``quality.labels``), so a durable sentence that is not a planted fact is labelled ``other``,
and they hold only the corpora's voices. This bank is the other source: single sentences,
each labelled by hand, in voices invented here over many stacks, written without reading any
corpus (``tests/unit/test_meaning_bank.py`` checks that no bank sentence occurs in one).

The classes are the head's (``labels.CLASSES``):

* ``r`` — ``rule``: a standing instruction or preference of the user (a bare "X, not Y", a
  condition, a policy, how to answer), or the agent restating one it will keep;
* ``f`` — ``fact``: durable project knowledge (where things live, env vars, ports, versions,
  how to build, run and test);
* ``x`` — ``fix``: a failure and what fixed it;
* ``o`` — ``other``: what matters only in the moment (requests about the thing at hand,
  questions, acknowledgements, narration, status, small talk);
* ``h`` — ``other`` too, a **hard negative**: a sentence that looks like a rule or a fact but
  is not one (a hypothetical, an option considered and left, a one-off ask with "always" in it,
  a quoted error, a value of one run, a superseded state, a question about a rule).

Each voice is a block of lines ``<tag> <sentence>``; each sentence is one sentence by memoryd's
own splitter (a test checks it), so it is what the head sees in a session.
"""

# ruff: noqa: E501 (a sentence is one line of its voice's block, however long)

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from quality.labels import OTHER

# Bump when a sentence or a label changes: a head trained with the bank records it.
VERSION = "bank-1"

TAGS = {"r": "rule", "f": "fact", "x": "fix", "o": OTHER, "h": OTHER}


class BankError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    voice: str
    label: str  # one of labels.CLASSES
    text: str
    hard: bool  # an ``other`` that looks like a rule or a fact


VOICES: dict[str, str] = {
    # A senior engineer who writes as little as possible (Rust, cargo, just).
    "terse_senior": """
r uv, not pip.
r Tabs in the Makefile, spaces everywhere else.
r No new dependencies without asking me first.
r Squash before merge, always.
r Keep diffs small, one concern per commit.
r Use `just` targets, never call cargo directly in CI scripts.
r Errors get wrapped with context, no bare `?` at module boundaries.
r Don't touch vendored code under third_party.
r Answers short, code first, prose after.
r Use rg, not grep, when you search the tree.
r Migrations are append-only, never edit a shipped one.
f Builds go through `just build`, which wraps cargo with the right features.
f MSRV is 1.74.
f Config is read from `$XDG_CONFIG_HOME/tern/tern.toml`.
f Integration tests need `TERN_DB_URL` pointing at a scratch Postgres.
f The gRPC server listens on 50071.
f Protobufs live in `proto/` and are compiled by build.rs.
f Release builds are cut from the `release/*` branches.
x Linker blew up on missing libssl, `apt install libssl-dev` fixed it.
x Flaky `test_lease_expiry` was a clock issue, switching it to the fake clock fixed it.
x Build broke after the toolchain bump, pinning `rust-toolchain.toml` to 1.78 fixed it.
x cargo deny failed on a yanked crate, bumping `time` to 0.3.36 cleared it.
o Fix the typo in the banner.
o Ship it once the banner is fixed.
o ok, carry on with the banner.
o Looks fine.
o Rerun.
o Which test?
o Not now.
o Later.
h Never mind, revert that.
h Always use verbose for this run, I want to see everything.
h We could switch to nextest some day, not today.
h Could try mold as the linker, not sure it helps.
h `error[E0433]: failed to resolve: use of undeclared crate or module tokio`.
h Port 50071 is taken right now by my other checkout.
h Don't push yet.
h Skip the docs for this one.
h If we ever go async here we'd need tokio, but we won't.
o Bump the patch version.
o That's it for today.
o Good catch.
o Delete the scratch branch.
h It printed "connection refused on 127.0.0.1:50071" twice.
o Done with the banner yet?
""",
    # A data analyst, polite and indirect (SQL, dbt, BigQuery, Polars).
    "polite_analyst": """
r Could you please always format numbers with a thousands separator in the reports you prepare for me?
r I would prefer that you use Polars rather than pandas for new notebooks, if that is alright.
r When you summarise a query result, please state the row count first and the caveats after.
r Kindly keep the SQL keywords in lowercase, as the rest of the team does.
r I'd appreciate it if charts always had labelled axes and a source note.
r Please never write to the production warehouse schema, only to the sandbox schema.
r For any percentage, please round to one decimal place.
r If a query scans more than a day of events, please ask me before running it.
r I would rather you explained the approach in plain words before showing the code.
r Please do cite the table each number comes from whenever you report figures to me.
f The sandbox schema we are allowed to write to is `analytics_sandbox`.
f The event tables are partitioned by `event_date`, so filtering on it keeps scans cheap.
f Our dbt project lives in the `warehouse/` folder of the repository.
f The BigQuery project for reporting is `acme-reporting-prod`, and the dev one is `acme-reporting-dev`.
f Credentials come from `GOOGLE_APPLICATION_CREDENTIALS`, which points at the key file in my home directory.
f The dashboard refreshes nightly at 02:00 UTC from the `daily_kpis` model.
f Fiscal weeks in this company start on Saturday, which the `fiscal_calendar` table encodes.
f The `orders` model excludes test accounts through the `is_internal` flag.
x The dbt run failed on a missing source until we ran `dbt deps` to install the packages.
x The notebook kernel kept dying on the big join, and switching to lazy frames with `scan_parquet` fixed it.
x The revenue numbers were doubled because of a fan-out join on refunds, deduplicating on `order_id` first fixed it.
o Thank you so much, this is very helpful.
o Could you take a look at the churn query when you have a moment?
o Would it be possible to add a column for the region?
o I hope your day is going well.
o Sorry, I should have mentioned that earlier.
o That looks lovely, thank you.
o Could you re-run it with last month's dates, please?
o Could you explain what a window function does here?
o I am not sure I follow the last step.
o Please go ahead.
o Lovely, I'll share it with the team.
o No rush at all.
o Could you add a short summary at the top of this one?
o Perhaps we can look at the funnel tomorrow.
o I appreciate your patience with all my questions.
h Would it make sense to always use the sandbox for this sort of thing, or is that overkill?
h Please always include the region column in this particular export, the client asked for it.
h I wonder whether we should move everything to DuckDB at some point.
h My colleague suggested caching the results in Redis, but I don't think we need that here.
h The query returned 1,284,551 rows this time.
h It says "Access Denied: Table acme-reporting-prod:finance.ledger".
h If the numbers look odd, perhaps we could check the time zone, just for today's report.
h The job took 14 minutes and cost about 3 dollars this run.
""",
    # A developer writing in English as a second language (Java, Spring, Gradle).
    "non_native": """
r Please you always make the commit message in english, also when I write in german.
r For this repo we use the gradle wrapper, not the gradle of the system.
r I want that you run the tests before you say it is done.
r Not use println for logs, use the logger from slf4j.
r Please do not change the formatting of files what you not touch.
r Every time when you add a endpoint, add also the test for it.
r The variable names must be in english, no german names please.
r I prefer you make small methods, not one big method of 200 lines.
r When you are not sure, ask me before you delete something.
r Please always answer me in simple english, not too long sentences.
f The application is starting with `./gradlew bootRun` and is listening on port 8081.
f The database for local is a Postgres in docker, the compose file is in `infra/docker-compose.yml`.
f The profile for local development is `local`, you set it with `SPRING_PROFILES_ACTIVE=local`.
f We are using Java 21 and Spring Boot 3.2 in this project.
f The translations are in `src/main/resources/messages_de.properties` and `messages_en.properties`.
f The api documentation is generated from the annotations and is under `/swagger-ui.html`.
f The integration tests use Testcontainers, so docker must run on the machine.
x The build was failing with "invalid target release 21" and after I set JAVA_HOME to the jdk 21 it worked.
x Flyway was complaining about checksum mismatch, we made `flywayRepair` and then it was ok.
x The test was failing because of the timezone, with `-Duser.timezone=UTC` in the gradle config it passes now.
o Thank you, is working now.
o Can you look why the login is not working?
o Sorry for my english.
o I am back, we continue.
o Is good like this.
o What means this error?
o Please make it for the other controller too.
o I will ask my colleague tomorrow.
o Ok perfect, next one.
o Wait, I check something.
o Why it is so slow now?
o Good, commit please.
o I don't understand, can you explain again?
h Now always when I start it comes this error: "Port 8081 was already in use".
h Maybe we can use Kotlin in the future but now not.
h Please for this one time you can skip the tests, I need it quick.
h If the customer want also french we must add a third file, but they don't want.
h The pid of the process is 23144, you can kill it.
h The log says "HikariPool-1 - Connection is not available, request timed out after 30000ms".
h My colleague asked if we should always use Lombok, we will discuss it next week.
""",
    # Dictated by voice: no punctuation, numbers spelled out, words misheard (Python, Django).
    "dictated": """
r okay so from now on when you run the tests use pie test with the dash x flag so it stops at the first failure
r please don't ever open a pull request on your own I want to open them myself after I read the diff
r when you write the commit message start with the ticket number like P R O J dash and the number
r I'd like you to use the make file targets instead of typing the docker commands by hand every time
r new line please keep the answers short I'm listening to them with the screen reader
r anything that touches the payments folder needs me to look at it first so just stop and tell me
r comma and also the python code needs type hints on every function that's a team thing
r never read out the full stack trace to me just the last line and the file name
f the local server runs on port eight thousand and the admin is on eight thousand and one
f the project uses python three point twelve and the dependencies are managed with poetry
f the secrets for local development come from a dot env file at the root that you copy from dot env dot example
f to run the whole thing you do docker compose up and then make seed to fill the database
f the celery workers need redis running and they read the broker address from redis underscore url
f the front end is a separate view app in the web folder and it builds with vite
f the tests talk to a fake payment provider that the compose file starts on port ninety ninety
x so the migrations were failing with a relation does not exist and it turned out we had to run make migrate before the tests and then it went green
x the image build broke on the arm laptop until we added dash dash platform linux slash amd sixty four to the build command
x celery wasn't picking up tasks because the queue name was wrong and fixing the routing in celery config sorted it
o okay that's great thanks
o hmm wait what did it say
o can you scroll up I missed that
o yeah go ahead
o no not that one the other one
o let me think about it for a second
o sorry the dog is barking
o okay read me the last three lines
o that sounds right period
o can you say that again slower
o stop stop that's enough for now
o alright next
o good job
h so it said error code one twenty seven command not found
h I guess we could use ruff instead of flake eight one day but not now
h for this run just always print the full trace I want to see where it dies
h the container id is seven f three a something something I can't read it
h if it was a monorepo we would need a different layout but it isn't
h do you think we should always pin the versions or is that too strict
h last time the build took twenty three minutes which was weird
""",
    # Fast lowercase chat with abbreviations (TypeScript, pnpm, Vite).
    "chat_shorthand": """
r pnpm only pls, no npm/yarn
r lint b4 commit, every time
r no default exports in ts files
r tests next to src, `foo.test.ts` style
r dont bump deps in feature PRs, separate pr
r prefer `zod` for validation over hand-rolled checks
r keep replies tiny, bullets ok
r use `gh` for pr stuff not the web ui links
r never force-push main, ever
r if u touch the api schema regen the client with `pnpm gen`, dont hand edit
f dev server is `pnpm dev` on :5173
f env lives in `.env.local`, `VITE_API_BASE` is the api url
f api is a hono app under `apps/api`, web is `apps/web`
f node 20 via `.nvmrc`
f e2e = playwright, `pnpm test:e2e`, needs the api up
f storybook on :6006
f the shared ui kit is `packages/ui`, imported as `@acme/ui`
x tsc choked on `moduleResolution`, set it to `bundler` and it was fixed
x ci red bc lockfile drift, `pnpm install --frozen-lockfile` locally + commit lock fixed it
x hmr broke after the vite bump, clearing `node_modules/.vite` fixed it
o lgtm on the nav tweak
o ty, that nav fix is clean
o brb
o k will look after lunch
o nice, modal looks way better
o wdym
o pushed the modal branch
o ugh safari again
o huh
o can u check the nav
o hm not that
o shipping it
o what broke
o ok next: the modal
o ah nvm
h "Cannot find module '@/lib/db' or its corresponding type declarations"
h maybe we do bun at some point idk
h turbo cache stats: 12 hits 3 misses this run
h just this once skip lint, need it in 5
h port 5173 busy again, killed it
h always-on sourcemaps for this debug build only
h should we always run e2e in ci or too slow?
""",
    # Text pasted from a CONTRIBUTING file or a policy page (Python library, nox, Sphinx).
    "policy_text": """
r All contributions must be accompanied by tests that exercise the changed behaviour.
r Commit messages follow the Conventional Commits specification.
r Public functions must carry docstrings in the NumPy style.
r Pull requests must target the `develop` branch, never `main`.
r Every pull request needs a changelog fragment in `changes/`.
r Breaking changes require a deprecation period of at least one minor release.
r Contributors must sign off each commit (DCO).
r Code must pass `pre-commit run --all-files` before review.
r Do not add runtime dependencies without approval from a maintainer.
r New modules must include the license header used in the existing files.
r Logging must never include personal data such as e-mail addresses or names.
r Feature flags are removed within two releases of being fully rolled out.
r Security issues must be reported privately to the security address, not in public issues.
r Use American English spelling in user-facing text.
f The project supports Python 3.10 through 3.13.
f Documentation is built with Sphinx from the `docs/` directory using `nox -s docs`.
f The test matrix is defined in `noxfile.py`.
f Releases are published to PyPI by the `release.yml` workflow when a tag is pushed.
f Fixture data lives under `tests/data/` and is regenerated by `scripts/regen_fixtures.py`.
f The code of conduct is in `CODE_OF_CONDUCT.md`.
f The minimum supported NumPy version is 1.26.
x If the docs build fails with "unknown directive", install the extras with `pip install -e .[docs]`.
x When pre-commit fails on the first run after cloning, running `pre-commit install --install-hooks` resolves it.
o Thank you for your interest in contributing to this project!
o This document is a work in progress.
o Questions can be asked in the discussion forum.
o See the table of contents below.
o Happy hacking!
o We welcome first-time contributors.
o Last updated in March.
o This section intentionally left blank.
o Thanks to everyone who has contributed!
h For example, a commit might read "fix: handle empty input".
h Some of the examples below intentionally break these rules.
h Previously, pull requests targeted `main`.
h The following is an example of a bad docstring.
h Some projects require signed tags, we do not discuss that here.
h If you are unsure whether a change is breaking, a maintainer will help you decide.
h An RFC to move to Rust extensions is under discussion in issue 412.
h Example output: `3 passed, 1 skipped in 0.42s`.
""",
    # An engineer on call during an incident (Kubernetes, Helm, Kafka, Grafana).
    "on_call": """
r During an incident, post every command you run in the channel before running it.
r Never restart the primary database without paging the DBA on call.
r When you roll back, use `helm rollback`, not a manual `kubectl apply` of the old manifest.
r Page me only for sev1 and sev2, everything else goes in the ticket.
r Always take a heap dump before restarting a JVM that is leaking.
r Scale the workers down through the HPA, never by editing the replica count by hand.
r Write the timeline in UTC, never local time.
f Grafana is at grafana.internal:3000 and the checkout dashboard is called "Checkout SLOs".
f The payments service runs in the `pay-prod` namespace on the `eu-west-1` cluster.
f Logs go to Loki, and the query label for the service is `app="payments-api"`.
f The runbook for queue backlogs is `runbooks/kafka-lag.md`.
f Alerts route through PagerDuty to the `platform-primary` schedule.
f The readiness probe hits `/healthz` on port 8086.
f Deploys are frozen every Friday after 15:00 by the `deploy-freeze` policy.
x The 502s came from the ingress timeout being 30 s, raising `proxy-read-timeout` to 120 fixed them.
x Consumer lag kept growing because a poison message blocked partition 7, skipping it with the DLQ tool cleared the backlog.
x The pods were OOMKilled after the release, raising the memory limit to 1Gi stopped it.
x Disk filled on the node from old container images, `crictl rmi --prune` freed it.
o Ack, looking.
o Mitigated, monitoring.
o Anyone else seeing this?
o I'm handing over to Priya at 18:00.
o Status page updated.
o Back to green.
o Writing the postmortem tomorrow.
o Thanks all, good work.
o Going to grab coffee.
o Is the deploy frozen?
o Who owns the cache cluster?
o Closing the bridge.
h Error rate is at 4.2 % right now.
h Pod `payments-api-7d9f8c6b5-x2kqp` is crash-looping.
h Incident INC-20931 is open for this.
h Restart it now, just this once, we need the traffic back.
h If the primary fails over, we would need to update the DNS, but it has not.
h We considered failing over to us-east, but the lag is recovering, so no.
h Logs show "upstream connect error or disconnect/reset before headers".
h Always keep an eye on the graph for the next hour.
h The lock id for the migration is 88121, don't touch it.
h The CPU spike started at 14:32 UTC.
""",
    # A student with a course assignment (C++, CMake).
    "student": """
r Please explain each step like I'm new to this, I'm still learning.
r Don't just give me the answer, give me hints first so I can try.
r Please use the standard library only, we're not allowed other packages in this course.
r Always comment the code you write so I can follow it.
r Use C++17, our grader compiles with `-std=c++17`.
r Keep variable names descriptive, my TA marks us down for single letters.
r Please don't rewrite my whole file, only change what's needed.
f The assignment repo builds with `cmake -B build && cmake --build build`.
f The grader runs `ctest` in the `build/` folder, and the tests are in `tests/test_graph.cpp`.
f We have to submit through the `submit` branch by Friday 23:59.
f The input files are in `data/` and the big one is `data/roads_large.txt`.
f My laptop is on macOS with Apple clang, but the grader uses g++ 12 on Linux.
f The project is for CS 241 and the spec is in `docs/assignment3.pdf`.
x It wouldn't compile because of `std::format`, switching to `std::ostringstream` fixed it since g++ 12 lacks it.
x I got a segfault on the big input, and making the recursion iterative fixed it.
x CMake couldn't find the compiler until I ran `xcode-select --install`.
o What's a segfault?
o Oh that makes sense now!
o Wait, why do we use a heap here?
o Thank you so much, I've been stuck for hours.
o My professor is really strict.
o I have an exam tomorrow so I'm a bit stressed.
o Can you check my loop?
o Is it O(n log n)?
o I think I get it.
o lol
o ok trying now
o It works on the big input now!!
o Sorry if this is a dumb question.
o Can you quiz me on it?
o Going to sleep now, thanks.
h Our professor said maybe we'll use Python next semester.
h The output was "Segmentation fault (core dumped)".
h Can you always use recursion in this one function, just to show me how it works?
h If I had more time I would write a proper test suite.
h My friend used Java for it, but I'll stick with what we started.
h It ran in 2.3 seconds on the big input this time.
h Should I always use `std::vector` or are arrays better?
""",
    # A manager's brief to the team and the agent (process, releases, customers).
    "manager_brief": """
r Every change that touches billing needs a sign-off from finance before it ships.
r Status updates should lead with risks, then progress.
r Keep estimates in days, not story points.
r Customer names stay out of commit messages and branch names.
r Anything customer-facing goes behind a feature flag first.
r Please write the release notes for a non-technical audience.
r Don't commit to dates in customer tickets, route those to me.
f The mobile app ships every second Tuesday.
f Our SLA for the enterprise tier is 99.9 % monthly uptime.
f The feature flag service we use is LaunchDarkly, and flags are named `team-feature-name`.
f Staging mirrors production data from the previous night, anonymised.
f The roadmap lives in the Product space in Confluence under "Q3 Planning".
f Support escalations come through the `#support-escalations` Slack channel.
x Last quarter's outage came from an expired TLS certificate, and moving to auto-renewal with cert-manager stopped it recurring.
x Releases kept slipping because QA got builds late, so cutting the release branch on Thursdays fixed the handoff.
o Great work this sprint, everyone.
o Can we get a quick update on the export feature?
o I'll be out Thursday.
o Let's sync after standup.
o What's the ETA?
o Thanks for staying late yesterday.
o Please prioritise the bug from the demo.
o I need the numbers by end of day.
o Let's park that for now.
o Congrats on the launch!
o Any blockers?
o Good meeting, thanks.
o Let's circle back on this next week.
h We might hire a contractor for the iOS work, nothing decided yet.
h For this release only, always loop me in on every merge.
h The board asked whether we could move to weekly releases, we'll discuss it at the offsite.
h If the deal with Northwind closes, we'll need SSO by March.
h We're at 73 % of the sprint points with two days left.
h Someone proposed dropping Android 9 support, we'll revisit it in autumn.
h The incident last night affected 312 customers.
""",
    # The agent's own conclusions at the end of a task (Go, Python, Rust, Elixir, Bazel).
    "agent_conclusions": """
r Per your instruction, I'll keep commits under 200 lines from now on.
f The API base URL is read from `LEDGER_API_URL` and defaults to `http://127.0.0.1:7420`.
f The project pins Go 1.22 in `go.mod`, and `golangci-lint` is configured in `.golangci.yml`.
f Database migrations live in `db/migrations` and are applied by `make migrate`.
f The integration tests require `REDIS_URL` and are skipped when it is unset.
f The generated client in `internal/gen/` comes from `openapi.yaml` via `make generate` and should not be edited by hand.
f The worker's concurrency is set by `WORKER_CONCURRENCY`, default 4.
f `cargo test` runs the unit tests, and the end-to-end suite needs `--features e2e`.
f The web app is served by Caddy, whose config is `deploy/Caddyfile`.
f Assets are fingerprinted at build time by esbuild, so templates must use the `asset()` helper.
f This repository uses Bazel, and the test target for the parser is `//parser:parser_test`.
f The Elixir app reads its secrets from `config/runtime.exs` at boot.
f The CLI entry point is `src/tool/__main__.py`, and the console script is named `tool`.
f The Docker image is built from `docker/Dockerfile.api` and expects `PORT` to be set.
x The import error was caused by the missing `requests` package, and `uv add requests` fixed it.
x The tests failed because the schema was out of date, running `alembic upgrade head` first made them pass.
x The segfault came from an ABI mismatch with the system OpenSSL, rebuilding with `OPENSSL_STATIC=1` fixed it.
x `mix test` failed to connect to Postgres until `MIX_ENV=test mix ecto.create` created the test database.
x The Gradle build ran out of memory, and setting `org.gradle.jvmargs=-Xmx4g` in `gradle.properties` resolved it.
x The flaky snapshot test depended on the locale, and setting `LANG=C.UTF-8` in the test script made it stable.
x The CI failure was a stale cache key, bumping the cache version in the workflow fixed it.
o All 214 tests pass after the rename.
o I updated the three call sites and the docs.
o The change is ready for review.
o I couldn't reproduce the failure locally.
o Summary of the changes is below.
o Nothing else changed.
o Let me know if you want me to open a pull request.
o The diff touches five files.
h The test run took 48 seconds on this machine.
h The server started with pid 91822 and is listening now.
h I created a temporary directory at `/tmp/tmp.k2Jx9` for the experiment.
h One option would be to switch to `httpx`, but I kept `requests` since you asked for no new dependencies.
h The error was `ImportError: cannot import name 'Mapping' from 'collections'`.
h If you later want caching, a small LRU around `fetch_rates` would do it.
h The benchmark shows 1,240 requests per second on this run.
h I reverted the edit to `settings.py` as you asked.
h Commit `4f2a9c1` contains the fix.
""",
    # The agent narrating what it is doing, step by step.
    "agent_narration": """
o Let me look at the Makefile first.
o I'll run the test suite to see where we stand.
o Now I'm going to read `config.py`.
o Checking the git log for recent changes.
o I'll search for where `parse_header` is called.
o Next, I'll update the import in `main.go`.
o Running `cargo check` to confirm it compiles.
o I'm opening the failing test to see what it expects.
o Let me try reproducing that with a smaller input.
o I'll apply the patch now.
o First I'll check which Python version is active.
o Looking at the CI logs for the last run.
o I'm going to add a print to see the value.
o Let me verify the migration applied.
o That didn't work, let me try another approach.
o Interesting, the test passes in isolation.
o Hmm, the output is empty.
o Now the build is running.
o Waiting for the containers to start.
o I see the problem.
o Good, that compiled.
o I'll clean up the temporary files.
o Let me double-check the edge case with an empty list.
o I'm rereading your message to make sure I got the order right.
o Almost done.
o I'll summarise once the tests finish.
o Let me check if there's an existing helper for this.
o Reading the README to find the build steps.
h I'll set `DEBUG=1` for this run to get more output.
h I'm starting the server on port 8000 to test the endpoint.
h I'll always check the lockfile after this install, just to be sure it changed.
h I'm going to try `npm ci` instead of `npm install` and see if that helps.
h Let me run `make migrate` before retrying the tests.
h I'll use `--no-cache` for this build to rule out stale layers.
h I'm exporting `RUST_LOG=trace` temporarily to see the handshake.
h Trying again with `PYTHONPATH=src`.
h I'll avoid touching `vendor/` in this change.
h Next I'll run `pnpm install` since the lockfile changed.
h I'm going to kill the stuck process 4411 and retry.
h The command printed `permission denied` so I'll retry with the right user.
""",
    # Code review comments (Go, Rust, TypeScript).
    "review_comments": """
r We don't use `unwrap()` in library code, return a `Result` instead.
r Prefer early returns over nested ifs in handlers.
r Tests should not hit the network, use the recorded fixtures.
r Please keep public API changes in their own PR.
r Avoid `any` in TypeScript, reach for `unknown` and narrow it.
r Name boolean variables as questions, like `isReady` or `hasItems`.
r SQL goes through the query builder, no string concatenation, ever.
r Every new endpoint needs an entry in `docs/api.md`.
r Don't log at info inside loops, it floods the aggregator.
r Keep error messages lowercase without trailing punctuation, as Go style says.
r The `clock` package is the only place allowed to read wall time in this codebase.
f The retry helper already exists in `pkg/retry`, no need for a new one.
f `make check` runs the same linters CI runs.
f The feature flags are read once at startup from `flags.yaml`.
f The project uses Go modules with a `vendor/` directory checked in, so run `go mod vendor` after changing deps.
x This panicked in CI because the env var was unset, defaulting it in `init()` fixed that.
x The race detector flagged the map write, guarding it with the mutex made `go test -race` pass.
o Nit: trailing whitespace.
o Nice cleanup!
o This variable name is a bit unclear.
o Can you add a test for the empty case here?
o Typo in the comment.
o LGTM once CI is green.
o Why is this change needed?
o Resolved.
o Approved.
o Thanks for the quick turnaround.
o Can we talk about this offline?
o Small suggestion below.
h This `unwrap()` should be an `expect()` with a message.
h Can you rename `tmp` to `buffer` in this function?
h Maybe extract this into a helper, but it's fine as is.
h If this grows, we might want a map instead of the switch.
h CI says: `undefined: retry.Do`.
h Let's not add the cache in this PR, we can do it separately.
h Always return here, otherwise the loop continues.
h This line is 130 characters, please wrap it.
h Move this import up.
h Drop the debug print before merging.
""",
    # A hobbyist with a microcontroller project (ESP32, PlatformIO).
    "embedded_hobbyist": """
r Use PlatformIO for everything, I don't want the Arduino IDE anymore.
r Keep pin numbers in `pins.h`, never as magic numbers in the code.
r Don't use `delay()` in the main loop, use millis-based timers.
r I want Serial output at 115200 baud, always.
r Please explain any register-level code, I'm not an expert at it.
r Comments in German are fine, but identifiers stay English.
f The board is an ESP32-S3 DevKitC with 8 MB of PSRAM.
f The sensor is a BME280 on I2C address 0x76.
f Wi-Fi credentials come from `secrets.h`, which is gitignored.
f The environment in `platformio.ini` is called `esp32s3`, so builds go through `pio run -e esp32s3`.
f OTA updates are served from my NAS at 192.168.1.20:8070.
f Builds need the `espressif32@6.5.0` platform, pinned in `platformio.ini`.
x Uploads failed with "No serial data received" until I held BOOT while plugging in.
x The display flickered until I moved it to its own SPI bus.
x Brownouts on Wi-Fi connect stopped after adding a 470 µF capacitor on the 3.3 V rail.
x The I2C scan found nothing until I added the 4.7k pull-ups on SDA and SCL.
o Cool, it blinks!
o Let me solder the header first.
o What does this warning mean?
o I'll try tomorrow after work.
o The kids loved it.
o Nice, thanks!
o Hmm, still nothing on the screen.
o Which library is better?
o Okay, flashing now.
o Wow, that was quick.
h The serial monitor showed "Guru Meditation Error: Core 1 panic'ed".
h Maybe I'll switch to Zephyr someday.
h For this test, always leave the LED on so I can see it's alive.
h It read 23.4 °C just now.
h If I had a logic analyser I'd check the bus.
h I bought a second board, but it's still in the mail.
h The free heap was 201,332 bytes after boot this time.
""",
    # Infrastructure as code (Terraform, Atlantis, Nix, AWS).
    "infra_ops": """
r Terraform changes go through a plan in the PR, never apply from a laptop.
r Tag every resource with `owner` and `cost-center`.
r Use modules from `infra/modules`, don't inline resources in the root.
r Pin provider versions exactly, no `~>` ranges.
r Secrets come from Vault, never from tfvars files.
r Please use `nix develop` for tooling, don't install things globally.
r When a change touches IAM, ping the security team in the PR.
f State is stored in the S3 bucket `acme-tf-state` with locking in DynamoDB.
f The dev environment is `envs/dev`, and prod is `envs/prod`, each with its own backend config.
f `nix develop` gives terraform 1.7, tflint and the AWS CLI.
f The VPC CIDR for prod is 10.40.0.0/16.
f Atlantis runs `terraform plan` on every PR that touches `envs/`.
f The Route 53 zone for internal services is `int.acme.net`.
x The plan failed with "Error acquiring the state lock" and `terraform force-unlock` with the stale lock id cleared it.
x The provider crashed on init until we cleared `.terraform/` and re-ran `terraform init -upgrade`.
x Atlantis ignored the PR because the project wasn't in `atlantis.yaml`, adding it fixed the autoplan.
o Plan looks good.
o Applying now.
o Can you check the diff for the IAM role?
o Done, merged.
o Looks like a typo in the bucket name.
o Thanks, that's what I needed.
o Any idea why it's slow?
o I'll review it after lunch.
h The lock id is 7c1e9d2a-5b0f, someone left it.
h We could move to OpenTofu if the license thing gets worse.
h Just for this apply, always pass `-parallelism=2`.
h It says "Error: creating EC2 Instance: InsufficientInstanceCapacity".
h The plan shows 3 to add, 1 to change, 0 to destroy.
h Someone suggested Pulumi, but we're not rewriting this now.
""",
    # A mobile developer (Swift, SwiftUI, Kotlin, Fastlane).
    "mobile_dev": """
r Use SwiftUI for new screens, UIKit only when we're patching old ones.
r Strings go in `Localizable.strings`, no hardcoded text in views.
r Don't bump the deployment target without asking, we still support iOS 16.
r On Android, use Hilt for injection, not manual factories.
r Run SwiftLint before you hand me anything.
r Keep view models free of UIKit imports.
f The Xcode scheme for the app is `Tidepool-Dev`, and it points at the staging API.
f The Android app's minSdk is 26 and targetSdk is 34.
f Fastlane lanes are in `fastlane/Fastfile`, and `fastlane beta` uploads to TestFlight.
f The shared Kotlin module lives in `shared/` and is consumed by both apps.
f Push notifications go through Firebase, and the config is `GoogleService-Info.plist`.
f Deep links use the `tidepool://` scheme, handled in `DeepLinkRouter.swift`.
x Pod install failed on the M1 until we ran it under `arch -x86_64`.
x The Android build failed on duplicate classes from two Guava versions, excluding `listenablefuture` fixed it.
x Previews crashed because of a missing environment object, injecting a mock store in the preview fixed it.
x Archive failed with "No signing certificate" until I re-downloaded the profiles in Xcode settings.
o The simulator is so slow today.
o Can you look at the onboarding flow?
o Nice, the animation is smooth now.
o I'll test it on my phone.
o Does it work in dark mode?
o App Store review passed!
o Hmm, weird, it works on the simulator.
o Let's do the settings screen next.
o Thanks, merging.
o Screenshot attached.
h The crash log says `EXC_BAD_ACCESS (code=1, address=0x10)`.
h Maybe we'll try Compose Multiplatform for the settings screen someday.
h Always show the debug banner in this build, QA asked for it this week.
h The build number this time is 4127.
h If Apple rejects it again, we'd have to remove the share extension.
h I tried Realm in a side project once, totally different use case.
""",
    # A researcher's formal register (Julia, R, Haskell, SLURM).
    "formal_academic": """
r I would ask that every function carry a reference to the equation it implements.
r Random seeds must be fixed and reported in every experiment script.
r Please use Julia's built-in `Test` module rather than a third-party framework.
r Figures should be exported as vector PDFs, never raster images.
r Results are to be written to `results/` with the date in the file name.
r Kindly refrain from modifying the raw data under `data/raw`.
r Use British spelling in the manuscript and comments.
f The simulation code is in `src/Sim.jl`, and the entry point is `scripts/run_experiment.jl`.
f The cluster uses SLURM, and jobs are submitted with `sbatch jobs/sweep.sh`.
f The Julia environment is pinned in `Manifest.toml`, activate it with `julia --project=.`.
f The R analysis depends on `renv`, so run `renv::restore()` first.
f The Haskell parser builds with `cabal build` under GHC 9.6.
f The dataset DOI is recorded in `CITATION.cff`.
x Precompilation failed after the update, and `Pkg.resolve()` followed by `Pkg.precompile()` repaired it.
x The R plots used the wrong fonts on the cluster until `extrafont` was replaced by `showtext`.
x The job was killed for exceeding memory, requesting `--mem=32G` in the batch script resolved it.
o That is an interesting result.
o I shall look into it after the seminar.
o Could you elaborate on the convergence criterion?
o Thank you for the thorough explanation.
o This is rather puzzling.
o I agree with your assessment.
o Let us proceed.
o Perhaps we should discuss this with my co-author.
o Splendid.
h The run converged after 4,812 iterations.
h One might consider a GPU implementation, but that is beyond the scope of this paper.
h The reviewer asked whether we always normalise the inputs, we will answer in the rebuttal.
h For the camera-ready version only, always use the larger font in the figures.
h The error reads "MethodError: no method matching +(::Nothing, ::Float64)".
h Job 5533190 is still pending in the queue.
h Had we more data, a hierarchical model would be preferable.
""",
    # A support engineer pasting from tickets and the team's notes (Rails, Laravel, .NET).
    "support_tickets": """
r Reply to customers in the ticket, never by private e-mail.
r Before you change a customer's data, take a backup of the row and paste it in the ticket.
r Use the read replica for any lookup, the primary is only for fixes the ticket approves.
r Link the runbook step you followed in every ticket you close.
f The Rails console for production is opened with `bin/prod-console`, which connects to the read replica.
f Sidekiq's dashboard is mounted at `/admin/sidekiq` and needs the admin role.
f The Laravel app's queue worker is supervised by `supervisord`, whose config is `/etc/supervisor/conf.d/worker.conf`.
f Customer exports are written to the `exports` bucket and expire after seven days.
f The .NET billing service targets `net8.0` and is started with `dotnet run --project src/Billing.Api`.
f Feature access is controlled by the `plan_features` table, keyed by plan slug.
x Customers could not log in after the SSO change because the callback URL still had `http`, switching it to `https` fixed it.
x Exports hung at 99 % because the worker had no disk left, clearing `/tmp/exports` on the worker fixed them.
x Emails went to spam until the SPF record included the mail provider's range.
x `bundle install` failed on `nokogiri` until `libxml2-dev` was installed on the build image.
x The Laravel app threw "No application encryption key has been specified" until `php artisan key:generate` set `APP_KEY`.
x `dotnet test` could not find the SDK on the runner until `global.json` pinned 8.0.100.
o Customer says it's urgent.
o Ticket escalated to tier 2.
o Can you check why this account is locked?
o They replied, it works now.
o Closing as resolved.
o Waiting on the customer.
o Thanks, I'll pass that on.
h The customer's account id is 5521873.
h Please always CC me on this ticket until it closes.
h If they upgrade to the enterprise plan, they would get SSO.
h The error on their side is "SSL_ERROR_BAD_CERT_DOMAIN".
h They asked whether we could always CC their manager, I said I'd check.
h Job 77f1c2 in Sidekiq failed three times overnight.
""",
}


def parse(voice: str, block: str) -> list[Entry]:
    """The entries of one voice's block; a line without a known tag is refused, naming it."""
    out: list[Entry] = []
    for n, line in enumerate(block.strip("\n").split("\n"), 1):
        if not line.strip():
            continue
        tag, _, text = line.partition(" ")
        if tag not in TAGS or not text.strip():
            raise BankError(
                f"bank voice {voice!r}, line {n}: {line[:50]!r} needs a tag "
                f"({'/'.join(TAGS)}), a space and a sentence"
            )
        out.append(Entry(voice, TAGS[tag], text.strip(), tag == "h"))
    return out


@cache
def entries() -> tuple[Entry, ...]:
    """Every sentence of the bank, voice by voice, in the order written."""
    return tuple(e for voice, block in VOICES.items() for e in parse(voice, block))


def digest() -> str:
    """A short hash of the bank's sentences and labels, which a head trained on it records."""
    text = "\n".join(f"{e.label}\t{e.text}" for e in entries())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
