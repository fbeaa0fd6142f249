# Literal command output and Go patches (tabs) keep their real line lengths and indentation.
# ruff: noqa: E501, E101
"""Corpus A, written by hand: 24 sessions in four projects over 19 days.

Every session is literal data: what the user typed, the commands the agent ran with the output
they printed, the patches it applied and what it concluded. The facts are planted where they
occur in real work: a preference in passing, an environment variable only in a traceback and
the assistant's conclusion, a fix that is a different command from the one that failed.
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

HOME = "/home/dev/code"
PROJECTS = (
    Project("webapp", f"{HOME}/webapp", "git@github.com:acme/webapp.git"),
    Project("dashboard", f"{HOME}/dashboard", "git@github.com:acme/dashboard.git"),
    Project("ledger", f"{HOME}/ledger", "git@github.com:acme/ledger.git"),
    Project("logship", f"{HOME}/logship", "git@github.com:acme/logship.git"),
)

SECRET = "ghp_R8xKq2mVb7Yt4Lw9Zs3Nc6Pd1Hf5Jg0Ae2Ui"

# -- webapp: Python, FastAPI, SQLAlchemy, alembic, uv

WA1 = Session(
    "wa1",
    "webapp",
    19.4,
    (
        User(
            "The integration tests in webapp blow up on my machine, can you look? uv, not pip "
            "— I don't want a requirements.txt creeping back in."
        ),
        Think("**Reproducing** the integration failure first"),
        Sh(
            "uv run pytest tests/integration -q",
            """\
==================================== ERRORS ====================================
_______________ ERROR at setup of test_create_invoice_returns_201 ______________

    @pytest.fixture(scope="session")
    def api_client():
>       base = settings.api_url()

tests/integration/conftest.py:14:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
src/webapp/settings.py:22: in api_url
    return os.environ["WEBAPP_API_URL"]
E   KeyError: 'WEBAPP_API_URL'
=========================== short test summary info ============================
ERROR tests/integration/test_invoices.py::test_create_invoice_returns_201 - KeyError: 'WEBAPP_API_URL'
ERROR tests/integration/test_invoices.py::test_list_invoices_paginates - KeyError: 'WEBAPP_API_URL'
42 errors in 1.84s""",
            code=1,
            secs=2.6,
        ),
        Sh(
            "rg -n 'WEBAPP_API_URL|8765' src tests docker-compose.test.yml",
            """\
src/webapp/settings.py:22:    return os.environ["WEBAPP_API_URL"]
docker-compose.test.yml:9:      - "8765:8000"
tests/integration/conftest.py:14:    base = settings.api_url()""",
        ),
        Sh(
            "WEBAPP_API_URL=http://127.0.0.1:8765 uv run pytest tests/integration -q",
            """\
FAILED tests/integration/test_invoices.py::test_create_invoice_returns_201 - sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "invoices" does not exist
LINE 1: INSERT INTO invoices (customer_id, amount_cents, currency) VALUES ...
                    ^
FAILED tests/integration/test_invoices.py::test_list_invoices_paginates - sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedTable) relation "invoices" does not exist
40 failed, 2 passed in 6.12s""",
            code=1,
            secs=6.3,
        ),
        Sh(
            "uv run alembic upgrade head",
            """\
INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Will assume transactional DDL.
INFO  [alembic.runtime.migration] Running upgrade  -> 3f2a9c1d0b7e, create customers
INFO  [alembic.runtime.migration] Running upgrade 3f2a9c1d0b7e -> 8b41e2f6c9a3, create invoices""",
            secs=1.4,
        ),
        Sh(
            "WEBAPP_API_URL=http://127.0.0.1:8765 uv run pytest tests/integration -q",
            "..........................................                               [100%]\n"
            "42 passed in 7.48s",
            secs=7.6,
        ),
        Say(
            "Fixed, nothing in the code was wrong. Two things were missing: the integration "
            "tests read the API base URL from `WEBAPP_API_URL`, which must be "
            "`http://127.0.0.1:8765` in tests (the port docker-compose.test.yml publishes), and "
            "the test database needs the schema — run `uv run alembic upgrade head` before the "
            "integration tests, otherwise every query fails with `relation ... does not exist`."
        ),
        User(
            "Great. Keep your answers short, by the way — a few lines is plenty, I read the "
            "diff anyway."
        ),
        Say("Understood."),
    ),
)

WA2 = Session(
    "wa2",
    "webapp",
    17.1,
    (
        User(
            "Add a test for token expiry in src/webapp/auth/tokens.py. Run black on anything "
            "you touch before committing."
        ),
        Patch(
            """\
*** Add File: tests/test_tokens.py
+from datetime import timedelta
+
+from freezegun import freeze_time
+
+from webapp.auth.tokens import issue_token, is_expired
+
+
+def test_token_expires_after_ttl() -> None:
+    with freeze_time("2026-01-01 12:00:00") as clock:
+        token = issue_token(user_id=7, ttl=timedelta(minutes=15))
+        clock.tick(timedelta(minutes=16))
+        assert is_expired(token)"""
        ),
        Sh(
            "uv run pytest tests/test_tokens.py -q",
            """\
==================================== ERRORS ====================================
____________________ ERROR collecting tests/test_tokens.py _____________________
ImportError while importing test module '/home/dev/code/webapp/tests/test_tokens.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.12/importlib/__init__.py:90: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_tokens.py:3: in <module>
    from freezegun import freeze_time
E   ModuleNotFoundError: No module named 'freezegun'
=========================== short test summary info ============================
ERROR tests/test_tokens.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 0.31s""",
            code=2,
        ),
        Sh(
            "uv add --dev freezegun",
            """\
Resolved 41 packages in 212ms
Prepared 1 package in 98ms
Installed 1 package in 4ms
 + freezegun==1.5.1""",
        ),
        Sh(
            "uv run pytest tests/test_tokens.py -q",
            "...                                                                      [100%]\n3 passed in 0.22s",
        ),
        Sh(
            "uv run black src/webapp/auth tests/test_tokens.py",
            "All done! ✨ 🍰 ✨\n1 file reformatted, 2 files left unchanged.",
        ),
        Say(
            "Added tests/test_tokens.py. `uv run pytest` first failed with `ModuleNotFoundError: "
            "No module named 'freezegun'` — it was not a dev dependency; `uv add --dev "
            "freezegun` fixed that and the 3 token tests pass. Formatted with black."
        ),
        User("Thanks, that's all for today — have a nice weekend!"),
        Say("You too!"),
    ),
)

WA3 = Session(
    "wa3",
    "webapp",
    15.0,
    (
        User("I merged Sara's invoices branch and now the migrations are broken."),
        Sh(
            "uv run alembic upgrade head",
            """\
INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Will assume transactional DDL.
ERROR [alembic.util.messaging] Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a branch, or 'heads' for all heads
  FAILED: Multiple head revisions are present for given argument 'head'; please specify a
  specific target revision, '<branchname>@head' to narrow to a branch, or 'heads' for all
  heads""",
            code=255,
        ),
        Sh(
            "uv run alembic heads",
            "a7d3c5e9f1b2 (head)\nc0e4b8a2d6f1 (head)",
        ),
        Sh(
            'uv run alembic merge heads -m "merge invoices branch"',
            "  Generating /home/dev/code/webapp/migrations/versions/5e6f7a8b9c0d_merge_invoices_branch.py ...  done",
        ),
        Sh(
            "uv run alembic upgrade head",
            """\
INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
INFO  [alembic.runtime.migration] Will assume transactional DDL.
INFO  [alembic.runtime.migration] Running upgrade a7d3c5e9f1b2, c0e4b8a2d6f1 -> 5e6f7a8b9c0d, merge invoices branch""",
        ),
        Sh(
            "docker compose -f docker-compose.test.yml ps",
            """\
NAME              IMAGE         COMMAND                  SERVICE   CREATED       STATUS                 PORTS
webapp-db-1       postgres:16   "docker-entrypoint.s…"   db        3 hours ago   Up 3 hours (healthy)   0.0.0.0:55432->5432/tcp
webapp-api-1      webapp-api    "uvicorn webapp.main…"   api       3 hours ago   Up 3 hours             0.0.0.0:8765->8000/tcp""",
        ),
        Say(
            "The merge left two alembic heads, so `alembic upgrade head` refused to run "
            '("Multiple head revisions are present"). `uv run alembic merge heads` created a '
            "merge revision (5e6f7a8b9c0d) and the upgrade now applies cleanly. Note the test "
            "Postgres from docker-compose.test.yml listens on localhost:55432, not 5432."
        ),
        User("Commit it. Messages should explain the why; the diff already shows the what."),
        Sh(
            "git add migrations/versions/5e6f7a8b9c0d_merge_invoices_branch.py && git commit -m "
            '"Merge the two alembic heads left by the invoices branch, so upgrade head runs again"',
            "[main 9d1e2f3] Merge the two alembic heads left by the invoices branch, so upgrade head runs again\n"
            " 1 file changed, 24 insertions(+)",
        ),
        Say("Committed as 9d1e2f3."),
    ),
)

WA4 = Session(
    "wa4",
    "webapp",
    12.2,
    (
        User(
            "test_export_csv is flaky, get CI green. Search with rg, not grep -r — grep crawls "
            "through .venv for minutes."
        ),
        Sh(
            "uv run pytest tests/test_export.py -q -p no:randomly",
            """\
F                                                                        [100%]
=================================== FAILURES ===================================
_______________________________ test_export_csv ________________________________

tmp_path = PosixPath('/tmp/pytest-of-dev/pytest-117/test_export_csv0')

    def test_export_csv(tmp_path):
        out = tmp_path / "out.csv"
        export_invoices(out, customer_id=3)
>       assert out.read_text().splitlines()[1:] == ["INV-001,120.00", "INV-002,80.00"]
E       AssertionError: assert ['INV-002,80.00', 'INV-001,120.00'] == ['INV-001,120.00', 'INV-002,80.00']
E         At index 0 diff: 'INV-002,80.00' != 'INV-001,120.00'

tests/test_export.py:19: AssertionError
1 failed in 0.41s""",
            code=1,
        ),
        Patch(
            """\
*** Update File: tests/test_export.py
@@
+@pytest.mark.skip(reason="flaky")
 def test_export_csv(tmp_path):"""
        ),
        Say("I marked the test as skipped for now so CI goes green."),
        User("No — don't skip it. Undo that and find the actual bug."),
        Patch(
            """\
*** Update File: tests/test_export.py
@@
-@pytest.mark.skip(reason="flaky")
 def test_export_csv(tmp_path):"""
        ),
        Sh(
            "rg -n 'def export_invoices' -A 12 src/webapp/export.py",
            """\
31:def export_invoices(path: Path, customer_id: int) -> None:
32-    rows = session.execute(select(Invoice).where(Invoice.customer_id == customer_id))
33-    with path.open("w", newline="") as f:
34-        w = csv.writer(f)
35-        w.writerow(["number", "amount"])
36-        for inv in rows.scalars():""",
        ),
        Patch(
            """\
*** Update File: src/webapp/export.py
@@
-    rows = session.execute(select(Invoice).where(Invoice.customer_id == customer_id))
+    rows = session.execute(
+        select(Invoice).where(Invoice.customer_id == customer_id).order_by(Invoice.number)
+    )"""
        ),
        Sh(
            "uv run pytest tests/test_export.py -q -p randomly --count 20",
            "....................                                                     [100%]\n20 passed in 1.02s",
        ),
        Say(
            "Reverted the skip. The real bug: export_invoices had no ORDER BY, so Postgres "
            "returned rows in whatever order; it now orders by invoice number and the test "
            "passed 20 runs in a row."
        ),
    ),
)

WA5 = Session(
    "wa5",
    "webapp",
    9.0,
    (
        User(
            "Add GET /invoices/{id}. In webapp, handlers always take the DB session through the "
            "get_session() dependency — never create an engine or a connection inside a "
            "handler."
        ),
        Patch(
            """\
*** Update File: src/webapp/routes/invoices.py
@@
+@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
+def get_invoice(invoice_id: int, session: Session = Depends(get_session)) -> Invoice:
+    invoice = session.get(Invoice, invoice_id)
+    if invoice is None:
+        raise HTTPException(status_code=404, detail="invoice not found")
+    return invoice"""
        ),
        Sh(
            "uv run uvicorn webapp.main:app --port 8765",
            """\
INFO:     Started server process [50122]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8765): address already in use
INFO:     Waiting for application shutdown.
INFO:     Application shutdown complete.""",
            code=1,
        ),
        Sh(
            "lsof -i :8765",
            "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\npython3 48213  dev    7u  IPv4 913374      0t0  TCP localhost:8765 (LISTEN)",
        ),
        Sh("kill 48213", ""),
        Sh(
            "uv run pytest tests/test_routes.py -q",
            "........                                                                 [100%]\n8 passed in 0.93s",
        ),
        Sh(
            'git commit -am "Add GET /invoices/{id}: the invoice page needs a single-invoice read"',
            "[main 4c5d6e7] Add GET /invoices/{id}: the invoice page needs a single-invoice read\n 2 files changed, 31 insertions(+)",
        ),
        Sh(
            "git push",
            """\
To github.com:acme/webapp.git
 ! [rejected]        main -> main (non-fast-forward)
error: failed to push some refs to 'github.com:acme/webapp.git'
hint: Updates were rejected because the tip of your current branch is behind
hint: its remote counterpart. If you want to integrate the remote changes,
hint: use 'git pull' before pushing again.""",
            code=1,
        ),
        Sh("git pull --rebase", "Successfully rebased and updated refs/heads/main."),
        Sh("git push", "To github.com:acme/webapp.git\n   2b3c4d5..6f7a8b9  main -> main"),
        Say(
            "Added GET /invoices/{id} using the get_session() dependency, tests pass, pushed. "
            "The push was first rejected as non-fast-forward (main had moved on); `git pull "
            "--rebase` and a normal push fixed it."
        ),
    ),
)

WA6 = Session(
    "wa6",
    "webapp",
    6.5,
    (
        User("Start the dev server and check that /health answers."),
        Sh(
            "make dev",
            """\
uv run uvicorn webapp.main:app --reload --port 8000
INFO:     Will watch for changes in these directories: ['/home/dev/code/webapp']
INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)
INFO:     Started reloader process [61234] using WatchFiles""",
            secs=3.0,
        ),
        Sh("curl -s localhost:8000/health", '{"status":"ok","db":"ok"}'),
        Say(
            "The dev server runs with `make dev` (uvicorn with reload on port 8000); /health answers ok."
        ),
        User(
            f"ok. the staging deploy uses this token, put it in .env.staging as GH_TOKEN: {SECRET}"
        ),
        Patch(
            f"""\
*** Add File: .env.staging
+GH_TOKEN={SECRET}"""
        ),
        Sh("git check-ignore -v .env.staging", ".gitignore:4:.env.*\t.env.staging"),
        Say(
            "Written to .env.staging; it is git-ignored (.gitignore: `.env.*`), so it stays local."
        ),
    ),
)

WA7 = Session(
    "wa7",
    "webapp",
    0.9,
    (
        User("Run the dev server, I want to click through the invoice page."),
        Sh("make dev", "make: *** No rule to make target 'dev'.  Stop.", code=2),
        Sh(
            "git log --oneline -3 -- Makefile",
            "a1b2c3d Remove the Makefile: the webapp CLI starts and seeds everything now",
        ),
        Sh(
            "uv run webapp serve --reload",
            """\
webapp 0.9.0 — serving on http://127.0.0.1:8000 (reload on)
INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)""",
            secs=2.2,
        ),
        Say(
            "The Makefile is gone (removed in a1b2c3d), so `make dev` no longer exists; the dev "
            "server now starts with `uv run webapp serve --reload` (port 8000)."
        ),
    ),
    later=True,
)

WA8 = Session(
    "wa8",
    "webapp",
    0.6,
    (
        User(
            "We dropped black. ruff format does the formatting now, in every repo — reformat "
            "the tree and make sure nothing still calls black."
        ),
        Sh("uv run ruff format .", "14 files reformatted, 88 files left unchanged"),
        Sh(
            "rg -n 'black' pyproject.toml .pre-commit-config.yaml",
            ".pre-commit-config.yaml:12:  - repo: https://github.com/psf/black",
        ),
        Patch(
            """\
*** Update File: .pre-commit-config.yaml
@@
-  - repo: https://github.com/psf/black
-    rev: 24.8.0
-    hooks:
-      - id: black
+  - repo: https://github.com/astral-sh/ruff-pre-commit
+    rev: v0.6.9
+    hooks:
+      - id: ruff-format"""
        ),
        Say(
            "Reformatted 14 files with `ruff format` and replaced the black pre-commit hook with ruff-format."
        ),
    ),
    later=True,
)

# -- dashboard: TypeScript, React, vitest, playwright

DB1 = Session(
    "db1",
    "dashboard",
    18.6,
    (
        User("Set up the dashboard locally and run the unit tests."),
        Sh(
            "npm install",
            """\
npm WARN EBADENGINE Unsupported engine {
npm WARN EBADENGINE   package: 'dashboard@0.4.0',
npm WARN EBADENGINE   required: { node: '>=20.11' },
npm WARN EBADENGINE   current: { node: 'v18.19.0', npm: '10.2.3' }
npm WARN EBADENGINE }
npm ERR! code 1
npm ERR! path /home/dev/code/dashboard/node_modules/vite
npm ERR! command failed
npm ERR! SyntaxError: Unexpected token 'with'""",
            code=1,
            secs=21.0,
        ),
        Sh("cat .nvmrc", "20.11.1"),
        Sh(
            "nvm use",
            "Found '/home/dev/code/dashboard/.nvmrc' with version <20.11.1>\nNow using node v20.11.1 (npm v10.2.4)",
        ),
        Sh(
            "npm install",
            "added 1243 packages, and audited 1244 packages in 38s\n\n211 packages are looking for funding\n  run `npm fund` for details\n\nfound 0 vulnerabilities",
            secs=38.0,
        ),
        Sh(
            "npm test",
            """\
> dashboard@0.4.0 test
> vitest run

 ✓ src/lib/format.test.ts (12)
 ✓ src/lib/dates.test.ts (9)
 ✓ src/components/FilterBar.test.tsx (18)

 Test Files  14 passed (14)
      Tests  87 passed (87)
   Duration  4.61s""",
            secs=5.1,
        ),
        Say(
            "Set up. The dashboard needs Node 20.11 (it is in .nvmrc; Node 18 fails on install) "
            "— `nvm use` picks it up. Then `npm install` and `npm test` (vitest): 87 tests pass."
        ),
    ),
)

DB2 = Session(
    "db2",
    "dashboard",
    16.0,
    (
        User(
            "Run the e2e tests before I open the PR. And use rg rather than grep when you look "
            "for things, grep is painfully slow in here."
        ),
        Sh(
            "npm run e2e",
            """\
> dashboard@0.4.0 e2e
> playwright test

Running 14 tests using 4 workers

  1) [chromium] › invoices.spec.ts:8:5 › invoices page lists invoices ──────────────

    Error: browserType.launch: Executable doesn't exist at /home/dev/.cache/ms-playwright/chromium-1105/chrome-linux/chrome
    ╔═════════════════════════════════════════════════════════════════════════╗
    ║ Looks like Playwright Test or Playwright was just installed or updated. ║
    ║ Please run the following command to download new browsers:              ║
    ║                                                                         ║
    ║     npx playwright install                                              ║
    ╚═════════════════════════════════════════════════════════════════════════╝

  14 failed""",
            code=1,
            secs=9.0,
        ),
        Sh(
            "npx playwright install chromium",
            "Downloading Chromium 121.0.6167.57 (playwright build v1105) from https://playwright.azureedge.net/builds/chromium/1105/chromium-linux.zip\n|■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■| 100% of 148.9 Mb",
            secs=31.0,
        ),
        Sh(
            "npm run e2e",
            "> dashboard@0.4.0 e2e\n> playwright test\n\nRunning 14 tests using 4 workers\n  14 passed (22.4s)",
            secs=23.0,
        ),
        Say(
            "The e2e run failed because Playwright's browser was not downloaded (\"Executable "
            "doesn't exist\"); `npx playwright install chromium` fixed it and all 14 e2e tests "
            "pass."
        ),
    ),
)

DB3 = Session(
    "db3",
    "dashboard",
    13.1,
    (
        User(
            "Add the invoices table page. All network calls go through src/lib/apiClient.ts — "
            "that wrapper must always be used, never a bare fetch(): it adds auth and retries."
        ),
        Patch(
            """\
*** Add File: src/pages/Invoices.tsx
+import { apiClient } from "@/lib/apiClient";
+import type { components } from "@/api/schema";
+
+type Invoice = components["schemas"]["InvoiceOut"];
+
+export async function loadInvoices(): Promise<Invoice[]> {
+  return apiClient.get<Invoice[]>("/invoices");
+}"""
        ),
        Sh(
            "npm run typecheck",
            """\
> dashboard@0.4.0 typecheck
> tsc --noEmit

src/pages/Invoices.tsx:2:33 - error TS2307: Cannot find module '@/api/schema' or its corresponding type declarations.

2 import type { components } from "@/api/schema";
                                  ~~~~~~~~~~~~~~

Found 1 error in src/pages/Invoices.tsx:2""",
            code=2,
        ),
        Sh(
            "npm run gen:api",
            """\
> dashboard@0.4.0 gen:api
> openapi-typescript ../webapp/openapi.json -o src/api/schema.d.ts

✨ openapi-typescript 6.7.0
🚀 ../webapp/openapi.json → src/api/schema.d.ts [112ms]""",
        ),
        Sh("npm run typecheck", "> dashboard@0.4.0 typecheck\n> tsc --noEmit"),
        Say(
            "Added src/pages/Invoices.tsx on top of apiClient. The API types in "
            "src/api/schema.d.ts are generated from webapp's openapi.json by `npm run gen:api` "
            "and are not committed: run it after a fresh clone or when the API changes."
        ),
    ),
)

DB4 = Session(
    "db4",
    "dashboard",
    10.4,
    (
        User("Rebase my branch feat/filters on main."),
        Sh(
            "git rebase main",
            """\
Auto-merging src/components/FilterBar.tsx
CONFLICT (content): Merge conflict in src/components/FilterBar.tsx
error: could not apply 3e4f5a6... Filters: add the currency filter
hint: Resolve all conflicts manually, mark them as resolved with
hint: "git add/rm <conflicted_files>", then run "git rebase --continue".""",
            code=1,
        ),
        Patch(
            """\
*** Update File: src/components/FilterBar.tsx
@@
-<<<<<<< HEAD
-  const filters = useFilters(["status", "customer"]);
-=======
-  const filters = useFilters(["status", "currency"]);
->>>>>>> 3e4f5a6 (Filters: add the currency filter)
+  const filters = useFilters(["status", "customer", "currency"]);"""
        ),
        Sh(
            "git add src/components/FilterBar.tsx && GIT_EDITOR=true git rebase --continue",
            "Successfully rebased and updated refs/heads/feat/filters.",
        ),
        Say(
            "Rebased onto main; the FilterBar conflict kept both filters. Shall I `git push --force` to update the PR?"
        ),
        User(
            "No, don't push, I'll do it after review. Also ask me first before pulling in any "
            "new dependency, whatever the repo."
        ),
        Say("OK, not pushing; and I'll check with you before adding dependencies."),
    ),
    branch="feat/filters",
)

DB5 = Session(
    "db5",
    "dashboard",
    0.8,
    (
        User("We moved the dashboard to pnpm last week, package-lock.json is gone. Run the tests."),
        Sh(
            "ls",
            "README.md  index.html  package.json  playwright.config.ts  pnpm-lock.yaml  src  tsconfig.json  vite.config.ts",
        ),
        Sh(
            "pnpm install",
            "Lockfile is up to date, resolution step is skipped\nPackages: +1251\nDone in 6.2s",
            secs=6.4,
        ),
        Sh(
            "pnpm test",
            "> dashboard@0.5.0 test /home/dev/code/dashboard\n> vitest run\n\n Test Files  15 passed (15)\n      Tests  93 passed (93)",
            secs=5.0,
        ),
        Say(
            "The dashboard uses pnpm now (pnpm-lock.yaml; package-lock.json was removed): "
            "`pnpm install`, `pnpm test` and `pnpm gen:api`. 93 tests pass."
        ),
    ),
    later=True,
)

DB6 = Session(
    "db6",
    "dashboard",
    5.2,
    (
        User(
            "haha the coffee machine is broken again. Anyway: the date picker shows the wrong "
            "month in Safari, can you reproduce?"
        ),
        Sh(
            "node scripts/repro_2291.mjs",
            "input 2026-03-01T00:30:00Z -> shown 2026-02 (expected 2026-03)",
        ),
        Patch(
            """\
*** Update File: src/lib/dates.ts
@@
-export const monthOf = (iso: string) => new Date(iso).getMonth() + 1;
+export const monthOf = (iso: string) => new Date(iso).getUTCMonth() + 1;"""
        ),
        Sh(
            "npm test -- dates",
            " ✓ src/lib/dates.test.ts (10)\n\n Test Files  1 passed (1)\n      Tests  10 passed (10)",
        ),
        Say(
            "Fixed: monthOf used local time; it now reads the UTC month. Added a test for a just-after-midnight UTC date."
        ),
        User(
            "Good. Keep timestamps in UTC everywhere; convert to local time only when displaying."
        ),
        Say("Will do."),
    ),
)

# -- ledger: Go, Postgres, sqlc

LG1 = Session(
    "lg1",
    "ledger",
    18.0,
    (
        User("Build ledger and run the tests."),
        Sh(
            "go build ./...",
            "go: go.mod requires go >= 1.22 (running go 1.21.6; GOTOOLCHAIN=local)",
            code=1,
        ),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go build ./...",
            """\
go: downloading go1.22.5 (linux/amd64)
internal/store/pg.go:9:2: missing go.sum entry for module providing package github.com/jackc/pgx/v5 (imported by github.com/acme/ledger/internal/store); to add:
	go get github.com/acme/ledger/internal/store""",
            code=1,
            secs=14.0,
        ),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go mod tidy",
            "go: downloading github.com/jackc/pgx/v5 v5.5.5\ngo: downloading github.com/jackc/puddle/v2 v2.2.1",
            secs=4.0,
        ),
        Sh("GOTOOLCHAIN=go1.22.5 go build ./...", ""),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test ./...",
            "ok  \tgithub.com/acme/ledger/internal/posting\t0.412s\nok  \tgithub.com/acme/ledger/internal/store\t0.088s\n?   \tgithub.com/acme/ledger/cmd/ledger\t[no test files]",
            secs=6.0,
        ),
        Say(
            "Builds and tests pass. ledger needs Go 1.22 (go.mod); the installed toolchain is "
            "1.21, so set GOTOOLCHAIN=go1.22.5. The build then failed with `missing go.sum "
            "entry` for pgx; `go mod tidy` fixed it."
        ),
    ),
)

LG2 = Session(
    "lg2",
    "ledger",
    14.6,
    (
        User(
            "Add a ListEntriesByAccount query. Reminder: internal/db is generated by sqlc — "
            "never edit it by hand; change queries/*.sql and regenerate. And log timestamps in "
            "UTC (RFC 3339), convert to local time only for display."
        ),
        Patch(
            """\
*** Update File: queries/entries.sql
@@
+-- name: ListEntriesByAccount :many
+SELECT id, account_id, amount_cents, posted_at
+FROM entries
+WHERE account_id = $1
+ORDER BY posted_at DESC
+LIMIT $2;"""
        ),
        Sh("sqlc generate", ""),
        Sh(
            "git status --short",
            " M internal/db/entries.sql.go\n M internal/db/querier.go\n M queries/entries.sql",
        ),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test ./internal/...",
            "ok  \tgithub.com/acme/ledger/internal/db\t0.051s\nok  \tgithub.com/acme/ledger/internal/posting\t0.398s",
        ),
        Say(
            "Added ListEntriesByAccount in queries/entries.sql and regenerated internal/db with `sqlc generate`; tests pass."
        ),
    ),
)

LG3 = Session(
    "lg3",
    "ledger",
    11.3,
    (
        User("CI lint is red on my PR, fix it."),
        Sh(
            "golangci-lint run",
            "internal/api/handlers.go:42:1: File is not `gofumpt`-ed (gofumpt)\nfunc (h *Handler) PostEntry(w http.ResponseWriter, r *http.Request) {\n^",
            code=1,
            secs=11.0,
        ),
        Sh("gofumpt -w internal/api/handlers.go", ""),
        Sh("golangci-lint run", "", secs=10.0),
        Say(
            "Lint was failing because handlers.go was not gofumpt-formatted; `gofumpt -w` on the file fixed it and golangci-lint is clean."
        ),
        User("Also the integration tests just hang or die, have a look."),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test -tags integration ./...",
            """\
--- FAIL: TestMain (0.00s)
panic: LEDGER_TEST_DSN is not set: the integration tests need a Postgres DSN [recovered]

goroutine 1 [running]:
github.com/acme/ledger/internal/store_test.TestMain(0xc000142000)
	/home/dev/code/ledger/internal/store/main_test.go:21 +0x1d4
FAIL	github.com/acme/ledger/internal/store	0.011s""",
            code=1,
        ),
        Sh(
            "LEDGER_TEST_DSN='postgres://ledger:ledger@localhost:5433/ledger_test?sslmode=disable' GOTOOLCHAIN=go1.22.5 go test -tags integration ./...",
            """\
--- FAIL: TestPostingLock (5.00s)
    posting_test.go:88: could not obtain advisory lock 7346192: held by pid 3391
FAIL	github.com/acme/ledger/internal/posting	5.214s""",
            code=1,
            secs=9.0,
        ),
        Sh(
            "LEDGER_TEST_DSN='postgres://ledger:ledger@localhost:5433/ledger_test?sslmode=disable' GOTOOLCHAIN=go1.22.5 go test -tags integration ./...",
            "ok  \tgithub.com/acme/ledger/internal/posting\t1.907s\nok  \tgithub.com/acme/ledger/internal/store\t0.633s",
            secs=4.0,
        ),
        Say(
            "The integration tests (-tags integration) need LEDGER_TEST_DSN pointing at the test "
            "Postgres on localhost:5433 (postgres://ledger:ledger@localhost:5433/ledger_test). "
            "The one lock failure was a leftover session from the hung run; the rerun passes."
        ),
    ),
)

LG4 = Session(
    "lg4",
    "ledger",
    8.2,
    (
        User(
            "Add a rounding_mode setting to ledger's config. Skip comments that only repeat what "
            "the line does; comment the why."
        ),
        Sh(
            "rg -n 'LEDGER_CONFIG|yaml' cmd/ledger/main.go internal/config/config.go",
            """\
cmd/ledger/main.go:27:	cfgPath := envOr("LEDGER_CONFIG", "config/ledger.yaml")
internal/config/config.go:14:	Currency string `yaml:"currency"`
internal/config/config.go:15:	Precision int  `yaml:"precision"`""",
        ),
        Patch(
            """\
*** Update File: internal/config/config.go
@@
 	Precision int  `yaml:"precision"`
+	// Banker's rounding is what the auditors reconcile against; half-up drifts by a cent a month.
+	RoundingMode string `yaml:"rounding_mode" default:"half_even"`
*** Update File: config/ledger.yaml
@@
 precision: 2
+rounding_mode: half_even"""
        ),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test ./internal/config",
            "ok  \tgithub.com/acme/ledger/internal/config\t0.019s",
        ),
        Say(
            "Added rounding_mode (default half_even). ledger reads its settings from "
            "config/ledger.yaml, or from the file named by LEDGER_CONFIG."
        ),
    ),
)

LG5 = Session(
    "lg5",
    "ledger",
    4.1,
    (
        User("The posting service panics on an empty batch, fix it."),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test ./internal/posting -run TestApplyEmptyBatch",
            """\
--- FAIL: TestApplyEmptyBatch (0.00s)
panic: runtime error: index out of range [0] with length 0 [recovered]

goroutine 7 [running]:
github.com/acme/ledger/internal/posting.Apply({0x0, 0x0, 0x0})
	/home/dev/code/ledger/internal/posting/apply.go:31 +0x2a5
FAIL	github.com/acme/ledger/internal/posting	0.009s""",
            code=1,
        ),
        Patch(
            """\
*** Update File: internal/posting/apply.go
@@
 func Apply(batch []Entry) (Result, error) {
+	if len(batch) == 0 {
+		return Result{}, nil
+	}
 	first := batch[0]"""
        ),
        Sh(
            "GOTOOLCHAIN=go1.22.5 go test ./internal/posting",
            "ok  \tgithub.com/acme/ledger/internal/posting\t0.402s",
        ),
        Say(
            "Apply now returns an empty result for an empty batch instead of indexing batch[0]; the new test passes."
        ),
    ),
)

# -- logship: Rust, Kafka

LS1 = Session(
    "ls1",
    "logship",
    17.5,
    (
        User("cargo build fails on the new laptop, can you sort it out?"),
        Sh(
            "cargo build",
            """\
   Compiling rdkafka-sys v4.7.0+2.3.0
error: failed to run custom build command for `rdkafka-sys v4.7.0+2.3.0`

Caused by:
  process didn't exit successfully: `/home/dev/code/logship/target/debug/build/rdkafka-sys-5b1c0e8a7d2f4e63/build-script-build` (exit status: 101)
  --- stdout
  Building and linking librdkafka statically
  running: "cmake" "/home/dev/.cargo/registry/src/index.crates.io-6f17d22bba15001f/rdkafka-sys-4.7.0+2.3.0/librdkafka"
  --- stderr
  thread 'main' panicked at /home/dev/.cargo/registry/src/index.crates.io-6f17d22bba15001f/cmake-0.1.50/src/lib.rs:1098:5:

  failed to execute command: No such file or directory (os error 2)
  is `cmake` not installed?""",
            code=101,
            secs=48.0,
        ),
        Sh(
            "sudo apt-get install -y cmake",
            "Reading package lists...\nSetting up cmake-data (3.25.1-1) ...\nSetting up cmake (3.25.1-1) ...",
            secs=19.0,
        ),
        Sh(
            "cargo build",
            "   Compiling rdkafka-sys v4.7.0+2.3.0\n   Compiling rdkafka v0.36.2\n   Compiling logship v0.8.3 (/home/dev/code/logship)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 1m 12s",
            secs=72.0,
        ),
        Sh(
            "cat rust-toolchain.toml",
            '[toolchain]\nchannel = "1.75.0"\ncomponents = ["clippy", "rustfmt"]',
        ),
        Say(
            "Builds now. rdkafka-sys compiles librdkafka with CMake, which the new laptop lacked: "
            "`sudo apt-get install -y cmake` fixed it. Note the toolchain is pinned to Rust 1.75 "
            "in rust-toolchain.toml (the MSRV), so newer std APIs are off limits."
        ),
    ),
)

LS2 = Session(
    "ls2",
    "logship",
    13.8,
    (
        User(
            "Run the integration tests. And in logship library code: no unwrap() — propagate "
            "with ? and add context."
        ),
        Sh(
            "cargo test --features it",
            """\
running 6 tests
test sink::kafka::delivers_in_order ... FAILED

failures:

---- sink::kafka::delivers_in_order stdout ----
thread 'sink::kafka::delivers_in_order' panicked at tests/kafka.rs:18:10:
LOGSHIP_KAFKA must be set (host:port of the test broker)
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

test result: FAILED. 5 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out""",
            code=101,
            secs=12.0,
        ),
        Sh(
            "docker compose -f compose.it.yml up -d",
            " ✔ Container logship-redpanda-1  Started",
            secs=4.0,
        ),
        Sh("docker compose -f compose.it.yml port redpanda 9092", "0.0.0.0:19092"),
        Sh(
            "LOGSHIP_KAFKA=localhost:19092 cargo test --features it",
            "running 6 tests\n......\ntest result: ok. 6 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
            secs=14.0,
        ),
        Say(
            "All 6 pass. The integration tests need the redpanda broker from compose.it.yml and "
            "LOGSHIP_KAFKA=localhost:19092 (the port compose publishes)."
        ),
    ),
)

LS3 = Session(
    "ls3",
    "logship",
    10.9,
    (
        User("Linking fails since I enabled the sasl feature. Also where's the sample config?"),
        Sh(
            "cargo test --features sasl",
            """\
   Compiling logship v0.8.3 (/home/dev/code/logship)
error: linking with `cc` failed: exit status: 1
  |
  = note: /usr/bin/ld: cannot find -lsasl2: No such file or directory
          collect2: error: ld returned 1 exit status

error: could not compile `logship` (lib test) due to 1 previous error""",
            code=101,
            secs=30.0,
        ),
        Sh(
            "sudo apt-get install -y libsasl2-dev",
            "Setting up libsasl2-dev:amd64 (2.1.28+dfsg-10) ...",
            secs=6.0,
        ),
        Sh(
            "cargo test --features sasl",
            "test result: ok. 41 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
            secs=40.0,
        ),
        Sh("ls examples", "logship.toml  replay.rs"),
        Say(
            "The sasl feature links against libsasl2: `cannot find -lsasl2` went away after "
            "`sudo apt-get install -y libsasl2-dev`. The sample configuration is "
            "examples/logship.toml."
        ),
    ),
)

LS4 = Session(
    "ls4",
    "logship",
    0.7,
    (
        User("Integration tests again please."),
        Sh(
            "LOGSHIP_KAFKA=localhost:19092 cargo test --features it",
            """\
thread 'sink::kafka::delivers_in_order' panicked at tests/kafka.rs:18:10:
LOGSHIP_BROKERS must be set (comma-separated host:port list); LOGSHIP_KAFKA was renamed in 0.9
test result: FAILED. 5 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out""",
            code=101,
            secs=12.0,
        ),
        Sh(
            "LOGSHIP_BROKERS=localhost:19092 cargo test --features it",
            "test result: ok. 6 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
            secs=13.0,
        ),
        Say(
            "LOGSHIP_KAFKA was renamed to LOGSHIP_BROKERS in 0.9: the integration tests now need "
            "LOGSHIP_BROKERS=localhost:19092. All 6 pass."
        ),
    ),
    later=True,
)

LS5 = Session(
    "ls5",
    "logship",
    3.0,
    (
        User(
            "Tidy up the batching code. In logship clippy has to pass with -D warnings before "
            "anything counts as done."
        ),
        Sh(
            "cargo clippy --all-targets -- -D warnings",
            """\
error: this `if` has identical blocks
  --> src/batch.rs:57:26
   |
57 |         if self.len() > 0 { flush } else { flush }
   |                          ^^^^^^^^^
   = help: for further information visit https://rust-lang.github.io/rust-clippy/master/index.html#if_same_then_else
error: could not compile `logship` (lib) due to 1 previous error""",
            code=101,
            secs=20.0,
        ),
        Patch(
            """\
*** Update File: src/batch.rs
@@
-        if self.len() > 0 { flush } else { flush }
+        flush"""
        ),
        Sh(
            "cargo clippy --all-targets -- -D warnings",
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 3.21s",
            secs=4.0,
        ),
        Say("Removed the duplicated branch in src/batch.rs; clippy with -D warnings is clean."),
    ),
)

SESSIONS = (
    WA1, WA2, WA3, WA4, WA5, WA6, WA7, WA8,
    DB1, DB2, DB3, DB4, DB5, DB6,
    LG1, LG2, LG3, LG4, LG5,
    LS1, LS2, LS3, LS4, LS5,
)  # fmt: skip


FACTS = (
    # preferences: stated once, general, mostly without a trigger word
    Fact("a.pref.uv", "preference", None, "use uv, not pip", M("uv", "pip"), ("wa1",)),
    Fact(
        "a.pref.short",
        "preference",
        None,
        "keep answers short",
        M("short|brief|concise|few lines", "answer|answers|reply|replies|response|responses"),
        ("wa1",),
    ),
    Fact(
        "a.pref.why",
        "preference",
        None,
        "commit messages explain why",
        M("commit", "why"),
        ("wa3",),
    ),
    Fact(
        "a.pref.comments",
        "preference",
        None,
        "comments explain why, not repeat the code",
        M("comment|comments", "why|repeat|restate|obvious"),
        ("lg4",),
    ),
    Fact(
        "a.pref.deps",
        "preference",
        None,
        "ask before adding a dependency",
        M("ask|asking|check with|confirm", "dependency|dependencies"),
        ("db4",),
    ),
    Fact(
        "a.pref.black",
        "preference",
        None,
        "format with black before committing",
        M("black"),
        ("wa2",),
        superseded_by="a.new.ruff_format",
    ),
    # general rules: stated in two projects
    Fact(
        "a.gen.rg",
        "general_rule",
        None,
        "search with rg, not grep",
        M("rg|ripgrep", "grep"),
        ("wa4", "db2"),
    ),
    Fact(
        "a.gen.utc",
        "general_rule",
        None,
        "timestamps in UTC, local time only for display",
        M("UTC", "timestamp|timestamps|time|times|dates"),
        ("db6", "lg2"),
    ),
    # project rules
    Fact(
        "a.rule.get_session",
        "project_rule",
        "webapp",
        "handlers get the DB session via get_session()",
        M("get_session"),
        ("wa5",),
    ),
    Fact(
        "a.rule.sqlc",
        "project_rule",
        "ledger",
        "internal/db is generated by sqlc: edit queries/*.sql and run sqlc generate",
        M("sqlc", "generate|generated|regenerate"),
        ("lg2",),
    ),
    Fact(
        "a.rule.apiclient",
        "project_rule",
        "dashboard",
        "network calls go through the apiClient wrapper, never bare fetch",
        M("apiClient"),
        ("db3",),
    ),
    Fact(
        "a.rule.unwrap",
        "project_rule",
        "logship",
        "no unwrap() in library code",
        M("unwrap"),
        ("ls2",),
    ),
    Fact(
        "a.rule.clippy",
        "project_rule",
        "logship",
        "clippy must pass with -D warnings",
        M("clippy", "-D warnings|warnings"),
        ("ls5",),
    ),
    # project facts: only in tool output or the assistant's conclusion
    Fact(
        "a.fact.api_url",
        "project_fact",
        "webapp",
        "WEBAPP_API_URL must be http://127.0.0.1:8765 in tests",
        M("WEBAPP_API_URL", "8765"),
        ("wa1",),
    ),
    Fact(
        "a.fact.migrate_first",
        "project_fact",
        "webapp",
        "run the migrations (alembic upgrade head) before the integration tests",
        M("alembic upgrade head|migrations|migrate", "integration"),
        ("wa1",),
    ),
    Fact(
        "a.fact.pg_port",
        "project_fact",
        "webapp",
        "the test Postgres listens on 55432",
        M("55432"),
        ("wa3",),
    ),
    Fact(
        "a.fact.node",
        "project_fact",
        "dashboard",
        "the dashboard needs Node 20.11 (.nvmrc)",
        M("20.11"),
        ("db1",),
    ),
    Fact(
        "a.fact.gen_api",
        "project_fact",
        "dashboard",
        "src/api/schema.d.ts is generated by gen:api",
        M("gen:api"),
        ("db3",),
    ),
    Fact(
        "a.fact.go122",
        "project_fact",
        "ledger",
        "ledger needs Go 1.22 (GOTOOLCHAIN=go1.22.5)",
        M("1.22|go1.22.5"),
        ("lg1",),
    ),
    Fact(
        "a.fact.config",
        "project_fact",
        "ledger",
        "ledger reads config/ledger.yaml (or LEDGER_CONFIG)",
        M("config/ledger.yaml|LEDGER_CONFIG"),
        ("lg4",),
    ),
    Fact(
        "a.fact.test_dsn",
        "project_fact",
        "ledger",
        "integration tests need LEDGER_TEST_DSN (Postgres on 5433)",
        M("LEDGER_TEST_DSN"),
        ("lg3",),
    ),
    Fact(
        "a.fact.msrv",
        "project_fact",
        "logship",
        "Rust pinned to 1.75 (MSRV)",
        M("1.75|1.75.0"),
        ("ls1",),
    ),
    Fact(
        "a.fact.sample_config",
        "project_fact",
        "logship",
        "the sample config is examples/logship.toml",
        M("examples/logship.toml"),
        ("ls3",),
    ),
    Fact(
        "a.fact.kafka_env",
        "project_fact",
        "logship",
        "integration tests need LOGSHIP_KAFKA=localhost:19092",
        M("LOGSHIP_KAFKA"),
        ("ls2",),
        superseded_by="a.new.brokers",
    ),
    Fact(
        "a.fact.npm",
        "project_fact",
        "dashboard",
        "the dashboard uses npm (npm install, npm test)",
        M("npm install|npm test|npm run|npm ci"),
        ("db1", "db2", "db3", "db6"),
        superseded_by="a.new.pnpm",
    ),
    Fact(
        "a.fact.make_dev",
        "project_fact",
        "webapp",
        "the dev server starts with make dev",
        M("make dev"),
        ("wa6",),
        superseded_by="a.new.serve",
    ),
    # failure -> fix, the fix a different command
    Fact(
        "a.ff.freezegun",
        "failure_fix",
        "webapp",
        "pytest fails with No module named 'freezegun' -> uv add --dev freezegun",
        M("uv add --dev freezegun|uv add freezegun"),
        ("wa2",),
        link=M("ModuleNotFoundError|No module named|missing|not installed|ImportError"),
    ),
    Fact(
        "a.ff.alembic_heads",
        "failure_fix",
        "webapp",
        "alembic upgrade fails with multiple heads -> alembic merge heads",
        M("alembic merge|merge heads"),
        ("wa3",),
        link=M("multiple head|multiple heads|two heads"),
    ),
    Fact(
        "a.ff.playwright",
        "failure_fix",
        "dashboard",
        "e2e fails: browser executable missing -> npx playwright install chromium",
        M("playwright install"),
        ("db2",),
        link=M("e2e|Executable doesn't exist|browser missing|missing browser"),
    ),
    Fact(
        "a.ff.push",
        "failure_fix",
        "webapp",
        "push rejected non-fast-forward -> git pull --rebase",
        M("pull --rebase"),
        ("wa5",),
        link=M("non-fast-forward|rejected|behind"),
    ),
    Fact(
        "a.ff.go_sum",
        "failure_fix",
        "ledger",
        "build fails with missing go.sum entry -> go mod tidy",
        M("go mod tidy"),
        ("lg1",),
        link=M("go.sum"),
    ),
    Fact(
        "a.ff.gofumpt",
        "failure_fix",
        "ledger",
        "golangci-lint: file is not gofumpt-ed -> gofumpt -w",
        M("gofumpt -w"),
        ("lg3",),
        link=M("golangci-lint|lint|gofumpt-ed"),
    ),
    Fact(
        "a.ff.cmake",
        "failure_fix",
        "logship",
        "rdkafka-sys build fails, cmake missing -> apt-get install cmake",
        M("install", "cmake"),
        ("ls1",),
        link=M("rdkafka|rdkafka-sys|cargo build|build"),
    ),
    Fact(
        "a.ff.sasl",
        "failure_fix",
        "logship",
        "linking fails: cannot find -lsasl2 -> apt-get install libsasl2-dev",
        M("libsasl2-dev"),
        ("ls3",),
        link=M("lsasl2|-lsasl2|sasl2|linking|linker|ld"),
    ),
    # what the later sessions state instead
    Fact("a.new.pnpm", "superseding", "dashboard", "the dashboard uses pnpm", M("pnpm"), ("db5",)),
    Fact(
        "a.new.serve",
        "superseding",
        "webapp",
        "the dev server starts with uv run webapp serve --reload",
        M("webapp serve"),
        ("wa7",),
    ),
    Fact(
        "a.new.brokers",
        "superseding",
        "logship",
        "integration tests need LOGSHIP_BROKERS=localhost:19092",
        M("LOGSHIP_BROKERS"),
        ("ls4",),
    ),
    Fact(
        "a.new.ruff_format",
        "superseding",
        None,
        "format with ruff format (black dropped)",
        M("ruff format|ruff-format"),
        ("wa8",),
    ),
)

DISTRACTORS = (
    Distractor(
        "a.x.secret", "secret", "a GitHub token pasted for .env.staging", M(SECRET[4:]), ("wa6",)
    ),
    Distractor(
        "a.x.pid", "transient", "the pid of a stale server (kill 48213)", M("48213"), ("wa5",)
    ),
    Distractor("a.x.tmp", "transient", "a pytest tmp path of one run", M("pytest-117"), ("wa4",)),
    Distractor(
        "a.x.lock", "transient", "an advisory lock id of one failed run", M("7346192"), ("lg3",)
    ),
    Distractor(
        "a.x.merge_rev",
        "transient",
        "the merge revision id of one migration",
        M("5e6f7a8b9c0d"),
        ("wa3",),
    ),
    Distractor(
        "a.x.repro", "transient", "a one-off reproduction script", M("repro_2291"), ("db6",)
    ),
    Distractor(
        "a.x.weekend", "small_talk", "have a nice weekend", M("nice weekend|weekend"), ("wa2",)
    ),
    Distractor("a.x.coffee", "small_talk", "the coffee machine", M("coffee"), ("db6",)),
    Distractor(
        "a.x.skip",
        "rejected",
        "skipping the flaky test (the user had it undone)",
        M("mark.skip|skip the test|skipped the test"),
        ("wa4",),
        negatable=True,
    ),
    Distractor(
        "a.x.force_push",
        "rejected",
        "git push --force (the user said no)",
        M("push --force|force-push|force push"),
        ("db4",),
        negatable=True,
    ),
)

CORPUS = Corpus(
    name="a",
    how="written by hand",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="ls3",
)
