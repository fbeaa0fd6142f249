# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Corpus S: a platform engineer who looks after four internal services of one company.

Wes works at Brindle on the platform team and keeps four services alive, each on its own
stack: signalbox (a Bun/TypeScript webhook fan-out service with Postgres), lockkeeper (the
Nomad job specs and Caddy edge config), fernwood (a C disk janitor built with Meson, run by a
systemd timer) and halyard (Pulumi in Go for DNS and buckets). He writes to the agent in short
numbered to-do lists and terse follow-ups, often mid-task while something else pages him, and
quotes the team's shared handbook by section ("handbook §5.1"). The same team conventions
come up in several services in other words and shapes (a handbook quote here, a one-line order
there); look-alike rules differ per service (squash here, rebase there; SemVer here, CalVer
there); two rules are first given one service and later said to hold everywhere. Project
knowledge comes from the tools (bun, docker compose, nomad, caddy, meson, ninja, systemctl,
journalctl, pulumi, go) and the agent's conclusions; later sessions swap a linter, move a
port and a config path, remove a deploy script, bump Go and withdraw a rule.

Written after A–R without reading their sessions or memoryd's extraction and consolidation
code, and never run through memoryd before it was committed; measured once held out (round
12), tuned on since round 13.
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
HOME = "/home/wes/platform"
PROJECTS = (
    Project("signalbox", f"{HOME}/signalbox", "git@git.brindle.internal:platform/signalbox.git"),
    Project("lockkeeper", f"{HOME}/lockkeeper", "git@git.brindle.internal:platform/lockkeeper.git"),
    Project("fernwood", f"{HOME}/fernwood", "git@git.brindle.internal:platform/fernwood.git"),
    Project("halyard", f"{HOME}/halyard", "git@git.brindle.internal:platform/halyard.git"),
)

NPM_TOKEN = "npm_4fKq9ZtR2vW7xYb1LcN8mPd3Hs6Jg0EaUo5T"

# -- signalbox: Bun + TypeScript webhook fan-out, Postgres via docker compose

SB1 = Session("sb1", "signalbox", 25.3, (
    User("signalbox, couple of things:\n1. add jitter to the retry backoff in src/retry.ts\n2. lint + tests green\n3. commit it\n\nhandbook §3.1 (Commits): \"Commit subjects follow Conventional Commits: type(scope): summary. The type is one of feat, fix, chore, docs, refactor, test.\""),
    Think("Look at the retry module and the scripts first."),
    Sh("cat package.json | jq .scripts", '{\n  "dev": "bun --watch src/main.ts",\n  "test": "bun test",\n  "lint": "eslint . --max-warnings 0",\n  "db:migrate": "bun run scripts/migrate.ts",\n  "release": "bun run scripts/release.ts"\n}'),
    Sh("bun test", 'bun test v1.1.34 (5e5e7c60)\n\nsrc/retry.test.ts:\nerror: Cannot find module "@brindle/envelope" from "/home/wes/platform/signalbox/src/retry.ts"\n\n 0 pass\n 1 fail\n 1 error\nRan 1 tests across 1 files. [41.00ms]', code=1),
    Say("`@brindle/envelope` is a workspace package that isn't linked in node_modules yet, so the checkout never had its install run. Installing from the lockfile."),
    Sh("bun install", "bun install v1.1.34 (5e5e7c60)\n\n + @brindle/envelope@workspace:packages/envelope\n + pg@8.13.1\n + pino@9.5.0\n\n 212 packages installed [1.84s]", secs=2.1),
    Patch("*** Update File: src/retry.ts\n@@ export function backoffMs(attempt: number): number {\n-  return Math.min(BASE_MS * 2 ** attempt, MAX_MS);\n+  const ceiling = Math.min(BASE_MS * 2 ** attempt, MAX_MS);\n+  // full jitter: spread retries of a burst of failed deliveries over the whole window\n+  return Math.floor(Math.random() * ceiling);\n }"),
    Sh("bun test", "bun test v1.1.34 (5e5e7c60)\n\nsrc/retry.test.ts:\n(pass) backoffMs > stays under the ceiling [0.21ms]\n(pass) backoffMs > caps at MAX_MS [0.05ms]\n\n 2 pass\n 0 fail\nRan 2 tests across 1 files. [38.00ms]"),
    Sh("bun run lint", "$ eslint . --max-warnings 0"),
    Say("Tests and lint pass. `bun test` failed first with `Cannot find module \"@brindle/envelope\"`; `bun install` linked the workspace package and fixed it. Lint here is eslint (`bun run lint`)."),
    User("ok. bun only in this repo btw, no npm or yarn touching the lockfile. commit"),
    Sh("git add src/retry.ts && git commit -m 'fix(retry): add full jitter to delivery backoff'", "[main 3c9d0e1] fix(retry): add full jitter to delivery backoff\n 1 file changed, 3 insertions(+), 1 deletion(-)"),
    Say("Committed as `fix(retry): add full jitter to delivery backoff`, Conventional Commits style."),
    User("tags here are semver btw, vMAJOR.MINOR.PATCH. this is a patch bump, cut v2.7.1"),
    Sh("bun run release -- patch", "$ bun run scripts/release.ts patch\nbumped 2.7.0 -> 2.7.1\ncreated tag v2.7.1"),
    Say("Tagged v2.7.1 (SemVer patch bump)."),
))

SB2 = Session("sb2", "signalbox", 21.2, (
    User("1. run signalbox locally\n2. the delivery tests — they broke after Adaeze's migration PR\n3. when you're done, give me the one command that verifies it. no essay"),
    Sh("docker compose ps", "NAME                   IMAGE          COMMAND                  SERVICE    CREATED       STATUS        PORTS\nsignalbox-postgres-1   postgres:16.4  \"docker-entrypoint.s…\"   postgres   3 hours ago   Up 3 hours    0.0.0.0:55432->5432/tcp"),
    Sh("timeout 5 bun run dev", "$ bun --watch src/main.ts\n{\"level\":30,\"time\":1794211200123,\"msg\":\"db pool ready\",\"host\":\"127.0.0.1\",\"port\":55432}\n{\"level\":30,\"time\":1794211200131,\"msg\":\"Listening on http://localhost:4310\"}", code=124, secs=5.0),
    Say("The dev server comes up on http://localhost:4310 against the compose Postgres, which is published on host port 55432."),
    Sh("bun test src/deliveries", 'bun test v1.1.34 (5e5e7c60)\n\nsrc/deliveries/queue.test.ts:\n1 | SELECT id, attempt FROM webhook_deliveries WHERE next_at <= now()\n    ^\nerror: relation "webhook_deliveries" does not exist\n      at Connection.parseE (node_modules/pg/lib/connection.js:605:13)\n(fail) queue > picks due deliveries [12.40ms]\n\n 0 pass\n 3 fail\nRan 3 tests across 1 files. [180.00ms]', code=1),
    Think("The migration PR added the table; the local database has not had it applied."),
    Sh("bun run db:migrate", "$ bun run scripts/migrate.ts\napplying 0014_webhook_deliveries.sql ... ok\napplying 0015_delivery_next_at_idx.sql ... ok\n2 migrations applied"),
    Sh("bun test src/deliveries", "bun test v1.1.34 (5e5e7c60)\n\nsrc/deliveries/queue.test.ts:\n(pass) queue > picks due deliveries [8.11ms]\n(pass) queue > skips dead letters [2.30ms]\n(pass) queue > respects next_at [1.90ms]\n\n 3 pass\n 0 fail\nRan 3 tests across 1 files. [120.00ms]"),
    Say('The tests failed with `relation "webhook_deliveries" does not exist`: the new migrations were not applied to the local Postgres. `bun run db:migrate` applied 0014 and 0015 and the delivery tests pass.\n\nVerify: `bun run db:migrate && bun test src/deliveries`'),
    User("good. can we ship it to prod today?"),
    Sh("date +%A", "Friday"),
    User("right, friday. handbook §5.1: \"No production deploys on Fridays. Staging is fine; prod waits for Monday.\" staging only then"),
    Sh("bun run deploy -- --env staging", "$ bun run scripts/deploy.ts --env staging\nbuilding image registry.brindle.internal/signalbox:2.7.1 ... done\nnomad job run signalbox-staging ... evaluation complete\nstaging: 2/2 healthy"),
    Say("Deployed 2.7.1 to staging only; prod waits for Monday per §5.1.\n\nVerify: `curl -fsS https://signalbox.staging.brindle.internal/healthz`"),
))

SB3 = Session("sb3", "signalbox", 16.4, (
    User("1. bun install is 401ing on the private scope\n2. then the HMAC header rename from the ticket\n3. PR"),
    Sh("bun install", "bun install v1.1.34 (5e5e7c60)\nerror: GET https://npm.brindle.internal/@brindle%2fenvelope - 401\nerror: @brindle/envelope@^0.9.0 failed to resolve", code=1),
    Sh("cat bunfig.toml", '[install.scopes]\n"@brindle" = { url = "https://npm.brindle.internal/", token = "$BRINDLE_NPM_TOKEN" }'),
    Sh("cat ~/.npmrc", f"@brindle:registry=https://npm.brindle.internal/\n//npm.brindle.internal/:_authToken={NPM_TOKEN}"),
    User("don't cat that file again. the token isn't in my shell — secrets here come through `op run --env-file=.env.tpl -- <cmd>`, that's how this repo loads them"),
    Sh("op run --env-file=.env.tpl -- bun install", "bun install v1.1.34 (5e5e7c60)\n\n + @brindle/envelope@0.9.2\n\n 213 packages installed [2.02s]", secs=2.5),
    Say("With the scope token injected by `op run --env-file=.env.tpl`, `bun install` resolves `@brindle/envelope` from the private registry."),
    User("hold on — lockkeeper's edge job is flapping, back in 10"),
    User("back. 2."),
    Patch("*** Update File: src/sign.ts\n@@\n-export const SIGNATURE_HEADER = \"X-Signalbox-Signature\";\n+export const SIGNATURE_HEADER = \"X-Brindle-Signature-256\";"),
    Sh("bun test src/sign.test.ts", "bun test v1.1.34 (5e5e7c60)\n\nsrc/sign.test.ts:\n(pass) sign > header name [0.10ms]\n(pass) sign > hmac of body [0.42ms]\n\n 2 pass\n 0 fail"),
    User("PRs in this repo start as a draft PR; I flip it when Adaeze has looked. and we squash-merge once it's green"),
    Sh("git switch -c PLAT-377-signature-header && git commit -am 'feat(sign): rename signature header to X-Brindle-Signature-256' && git push -u origin HEAD && gh pr create --draft --fill", "Switched to a new branch 'PLAT-377-signature-header'\n[PLAT-377-signature-header 8e21b4a] feat(sign): rename signature header to X-Brindle-Signature-256\n 1 file changed, 1 insertion(+), 1 deletion(-)\nhttps://git.brindle.internal/platform/signalbox/pull/212"),
    Say("Draft PR #212 is open; once it's reviewed and green it gets squash-merged."),
))

SB4 = Session("sb4", "signalbox", 12.3, (
    User("where does signalbox read the signing key from? ops wants it in the runbook"),
    Sh("rg -n 'process.env' src/", 'src/config.ts:9:  databaseUrl: process.env.DATABASE_URL ?? "postgres://signalbox@127.0.0.1:55432/signalbox",\nsrc/config.ts:12:  signingKeyPath: required(process.env.SIGNALBOX_SIGNING_KEY_PATH),\nsrc/config.ts:15:  logLevel: process.env.LOG_LEVEL ?? "info",'),
    Sh("sed -n 1,20p src/sign.ts", 'import { readFileSync } from "node:fs";\nimport { config } from "./config";\n\nconst key = readFileSync(config.signingKeyPath);'),
    Say("The HMAC key is read from the file named by `SIGNALBOX_SIGNING_KEY_PATH` (required: startup fails without it); the key itself never sits in an env var."),
    User("k. next:\n1. the dispatcher still has console.log calls\n2. CI on main is red, look"),
    User("logs in our services: one JSON object per line through pino, nothing printed by hand. so the console.log calls go"),
    Sh("rg -n 'console\\.log' src/", "src/dispatch.ts:44:    console.log('delivered', d.id, res.status);\nsrc/dispatch.ts:61:    console.log('giving up on', d.id);"),
    Patch("*** Update File: src/dispatch.ts\n@@\n-    console.log('delivered', d.id, res.status);\n+    log.info({ delivery: d.id, status: res.status }, \"delivered\");\n@@\n-    console.log('giving up on', d.id);\n+    log.warn({ delivery: d.id }, \"giving up\");"),
    Sh("gh run view 91827364 --log-failed", "build\tbun test\tsrc/dispatch.test.ts:\nbuild\tbun test\t(fail) dispatch > logs a delivery [3.10ms]\nbuild\tbun test\t  Expected: \"delivered\"\nbuild\tbun test\t  Received: undefined"),
    Sh("bun test src/dispatch.test.ts", "bun test v1.1.34 (5e5e7c60)\n\nsrc/dispatch.test.ts:\n(pass) dispatch > logs a delivery [2.91ms]\n(pass) dispatch > gives up after max attempts [1.02ms]\n\n 2 pass\n 0 fail"),
    Say("The dispatcher now logs through pino as JSON lines; that also fixes the failing CI test, which expected a structured \"delivered\" log line."),
    User("👍"),
))

SB5 = Session("sb5", "signalbox", 7.2, (
    User("morning. the coffee machine on 3 is dead again, so this'll be slow\n1. add zod for payload validation\n2. check for anything outdated"),
    Sh("bun add zod", "bun add v1.1.34 (5e5e7c60)\n\ninstalled zod@3.23.8\n\n 1 package installed [412.00ms]"),
    Sh("git diff package.json", '@@ -14,6 +14,7 @@\n     "pino": "9.5.0",\n+    "zod": "^3.23.8"'),
    User("no caret. handbook §4.4: \"Pin what you depend on.\" here that means exact versions in package.json, no ^ or ~ ranges — redo it with bun add --exact"),
    Sh("bun add --exact zod@3.23.8", "bun add v1.1.34 (5e5e7c60)\n\ninstalled zod@3.23.8\n\n [38.00ms]"),
    Sh("git diff package.json", '@@ -14,6 +14,7 @@\n     "pino": "9.5.0",\n+    "zod": "3.23.8"'),
    Sh("python3 -c 'import json; d = json.load(open(\"package.json\")); print([k for k, v in d[\"dependencies\"].items() if v[0] in \"^~\"])'", "[]"),
    User("jq for anything JSON-ish please, not python one-liners"),
    Sh("jq -r '.dependencies | to_entries[] | select(.value | test(\"^[~^]\")) | .key' package.json; bun outdated", "| Package | Current | Update | Latest |\n|---------|---------|--------|--------|\n| pg      | 8.13.1  | 8.13.1 | 8.13.3 |"),
    Say("zod is pinned at exactly 3.23.8 and no dependency has a ^ or ~ range left. Only `pg` has a newer release (8.13.3), a patch."),
))

SB_L = Session("sbL", "signalbox", 2.4, (
    User("1. pull main, the lint setup changed\n2. run the dev server, check it comes up\n3. lint whatever you touch"),
    Sh("git pull --ff-only && jq .scripts.lint package.json", 'Updating 8e21b4a..f02a7c3\nFast-forward\n .eslintrc.cjs  | 41 -----------\n biome.json     | 18 +++++\n package.json   |  6 +-\n src/config.ts  |  2 +-\n"biome check ."'),
    User("yeah, eslint is gone, we moved to biome. lint is `bunx biome check .` now"),
    Sh("bunx biome check .", "Checked 48 files in 31ms. No fixes applied."),
    Sh("timeout 5 bun run dev", "$ bun --watch src/main.ts\n{\"level\":30,\"time\":1795939200456,\"msg\":\"db pool ready\",\"host\":\"127.0.0.1\",\"port\":55432}\n{\"level\":30,\"time\":1795939200462,\"msg\":\"Listening on http://localhost:8087\"}", code=124, secs=5.0),
    Sh("git log -1 --format=%s -- src/config.ts", "chore(config): move dev port to 8087 so it stops clashing with the grafana agent"),
    Say("Dev server is up on http://localhost:8087 now — the port moved from 4310 in the last config change. Lint is biome (`bunx biome check .`); eslint and its config were removed."),
), later=True)

# -- lockkeeper: Nomad job specs and the Caddy edge config

LK1 = Session("lk1", "lockkeeper", 24.6, (
    User("lockkeeper:\n1. bump caddy in jobs/edge.nomad.hcl to 2.8.4\n2. plan it\n3. image tags stay pinned — a version or a digest, no :latest"),
    Sh("rg -n 'image' jobs/edge.nomad.hcl", '23:        image = "registry.brindle.internal/caddy:2.8.1"'),
    Patch("*** Update File: jobs/edge.nomad.hcl\n@@\n-        image = \"registry.brindle.internal/caddy:2.8.1\"\n+        image = \"registry.brindle.internal/caddy:2.8.4\""),
    Sh("nomad fmt -check jobs/", "jobs/edge.nomad.hcl", code=3),
    User("HCL here is two-space indent, that's what nomad fmt writes. just run it"),
    Sh("nomad fmt jobs/", "jobs/edge.nomad.hcl"),
    Sh("nomad job plan jobs/edge.nomad.hcl", "Error during plan: Put \"http://127.0.0.1:4646/v1/job/edge/plan\": dial tcp 127.0.0.1:4646: connect: connection refused", code=255),
    Sh("ls env/", "ams1.sh\nfra2.sh\nREADME.md"),
    Sh("cat env/README.md", "Source the file of the datacenter you work on before any nomad or consul command:\n\n    source env/ams1.sh   # sets NOMAD_ADDR, CONSUL_HTTP_ADDR, NOMAD_REGION"),
    Sh("source env/ams1.sh && nomad job plan jobs/edge.nomad.hcl; echo \"plan exit=$?\"", "+/- Job: \"edge\"\n+/- Task Group: \"edge\" (1 create/destroy update, 2 ignore)\n  +/- Task: \"caddy\" (forces create/destroy update)\n    +/- Config {\n      +/- image: \"registry.brindle.internal/caddy:2.8.1\" => \"registry.brindle.internal/caddy:2.8.4\"\n        }\n\nScheduler dry-run:\n- All tasks successfully allocated.\n\nJob Modify Index: 48122\nplan exit=1"),
    Say("`nomad job plan` got `connection refused` on 127.0.0.1:4646 because no NOMAD_ADDR was set; after `source env/ams1.sh` the plan reaches the ams1 cluster: one rolling update of the caddy task to 2.8.4, everything allocates."),
    User("good. deploys go through ./bin/ship <job> — it does plan, shows the diff, then runs. don't call nomad job run yourself"),
    Sh("./bin/ship edge", "ship: planning edge ...\nship: 1 update (caddy 2.8.1 -> 2.8.4)\nship: running edge (check-index 48122)\n==> Evaluation \"6b0d1f3a\" finished with status \"complete\"\nship: edge healthy 3/3"),
    Say("Shipped with `./bin/ship edge`: 3/3 allocations healthy on caddy 2.8.4."),
))

LK2 = Session("lk2", "lockkeeper", 20.3, (
    User("edge alloc on ams1-node-4 keeps restarting. look, don't touch"),
    Sh("source env/ams1.sh && nomad job status edge", "ID            = edge\nStatus        = running\n\nAllocations\nID        Node ID   Task Group  Version  Desired  Status   Created\na3f9c2e1  7d21f0aa  edge        12       run      running  4m ago\n5b0e88c4  19c3e2d1  edge        12       run      running  2d ago"),
    Sh("source env/ams1.sh && nomad alloc logs -stderr a3f9c2e1 caddy | tail -3", '{"level":"error","logger":"tls","msg":"could not get certificate from issuer","identifier":"hooks.brindle.io","error":"HTTP 429 urn:ietf:params:acme:error:rateLimited"}'),
    Say("Alloc a3f9c2e1 restarts because ACME is rate limiting the hooks.brindle.io certificate. I could run `nomad job stop -purge edge` and re-run it to reset the task state."),
    User("no. no stop -purge on edge, that takes every site down. leave it running"),
    User("and handbook §6.2: \"No manual changes on hosts. If you ssh in and fix something by hand, the next reschedule undoes it and nobody knows why.\" so not that either — it goes in the repo"),
    Patch("*** Update File: caddy/Caddyfile\n@@ hooks.brindle.io {\n-\ttls ops@brindle.io\n+\ttls ops@brindle.io {\n+\t\tissuer acme {\n+\t\t\tdir https://acme-v02.api.letsencrypt.org/directory\n+\t\t}\n+\t\tissuer zerossl\n+\t}"),
    Sh("source env/ams1.sh && nomad job plan jobs/edge.nomad.hcl; echo exit=$?", "+/- Job: \"edge\"\n+/- Task Group: \"edge\" (3 in-place update)\n  +/- Task: \"caddy\" (forces in-place update)\n    +   Template {\n          +   SourcePath: \"caddy/Caddyfile\"\n        }\n\nScheduler dry-run:\n- All tasks successfully allocated.\n\nJob Modify Index: 48390\nexit=1", code=0),
    Say("Plan shows an in-place update of the three edge allocations with the fallback issuer. Note `nomad job plan` exits 1 whenever it would change allocations — exit code 1 from plan is not a failure, only 255 is."),
    User("ok. PR it. lockkeeper merges need two approvals, so tag both Tomasz and Ines"),
    Sh("git switch -c PLAT-391-acme-fallback && git commit -am 'fix(edge): fall back to zerossl when letsencrypt rate limits' && gh pr create --fill --reviewer tkowal,iserra", "Switched to a new branch 'PLAT-391-acme-fallback'\n[PLAT-391-acme-fallback 1f4e9a2] fix(edge): fall back to zerossl when letsencrypt rate limits\nhttps://git.brindle.internal/platform/lockkeeper/pull/88"),
    Say("PR #88 is open with Tomasz and Ines as reviewers; it needs both approvals."),
))

LK3 = Session("lk3", "lockkeeper", 15.1, (
    User("1. add rate limiting for /hooks/* on the edge (100 req/min per ip)\n2. validate\n3. plan\nit's Friday. plan only; nothing gets applied or deployed till Monday"),
    Patch("*** Update File: caddy/Caddyfile\n@@ hooks.brindle.io {\n+\trate_limit {\n+\t\tzone hooks {\n+\t\t\tkey {remote_host}\n+\t\t\tevents 100\n+\t\t\twindow 1m\n+\t\t}\n+\t}"),
    Sh("caddy validate --adapter caddyfile --config caddy/Caddyfile", '2026/11/20 10:12:03.118 INFO    using config from file  {"file": "caddy/Caddyfile"}\nError: adapting config using caddyfile: caddy/Caddyfile:14: unrecognized directive: rate_limit', code=1),
    Think("rate_limit is a plugin directive; the stock binary doesn't have it. Build one with the plugin."),
    Sh("xcaddy build v2.8.4 --with github.com/mholt/caddy-ratelimit", "2026/11/20 10:13:40 [INFO] Build environment ready\n2026/11/20 10:14:22 [INFO] Building Caddy\n2026/11/20 10:14:58 [INFO] Build complete: ./caddy", secs=80.0),
    Sh("./caddy validate --adapter caddyfile --config caddy/Caddyfile", '2026/11/20 10:15:10.004 INFO    using config from file  {"file": "caddy/Caddyfile"}\n2026/11/20 10:15:10.009 INFO    admin   admin endpoint started  {"address": "localhost:2019", "enforce_origin": false}\nValid configuration'),
    Say("`caddy validate` failed with `unrecognized directive: rate_limit`: the directive comes from the caddy-ratelimit plugin, which the stock binary lacks. `xcaddy build v2.8.4 --with github.com/mholt/caddy-ratelimit` builds a caddy that has it, and the Caddyfile validates with that binary. (Validation also starts the admin API on localhost:2019, the default admin endpoint this config keeps.) The image in jobs/edge.nomad.hcl has to be built the same way before this can ship."),
    User("fine. plan with the current image, just to see"),
    Sh("source env/ams1.sh && nomad job plan jobs/edge.nomad.hcl", "+/- Job: \"edge\"\n+/- Task Group: \"edge\" (3 in-place update)\n\nScheduler dry-run:\n- All tasks successfully allocated.\n\nJob Modify Index: 48811", code=1),
    Say("Plan: in-place update of the three edge allocations; not applied."),
))

LK4 = Session("lk4", "lockkeeper", 10.4, (
    User("1. new job for the grafana agent, jobs/grafana-agent.nomad.hcl, copy the shape of edge\n2. the scripts/drain-node.sh helper Tomasz wrote\n3. branch + PR"),
    Sh("sed -n 1,12p jobs/edge.nomad.hcl", 'job "edge" {\n  datacenters = ["ams1", "fra2"]\n  type        = "system"\n\n  meta {\n    owner = "platform"\n    runbook = "https://wiki.brindle.internal/platform/edge"\n  }'),
    Patch("*** Add File: jobs/grafana-agent.nomad.hcl\n+job \"grafana-agent\" {\n+  datacenters = [\"ams1\", \"fra2\"]\n+  type        = \"system\"\n+\n+  group \"agent\" {\n+    task \"agent\" {\n+      driver = \"docker\"\n+      config {\n+        image = \"registry.brindle.internal/grafana-agent:0.43.3\"\n+      }\n+    }\n+  }\n+}"),
    User("every job gets a meta block with owner = the team, like edge. the on-call bot reads it"),
    Patch("*** Update File: jobs/grafana-agent.nomad.hcl\n@@ job \"grafana-agent\" {\n   type        = \"system\"\n+\n+  meta {\n+    owner = \"platform\"\n+  }"),
    Sh("shellcheck scripts/drain-node.sh", "\nIn scripts/drain-node.sh line 9:\nfor alloc in $(nomad node status -json $NODE | jq -r '.Allocations[].ID'); do\n                                      ^---^ SC2086 (info): Double quote to prevent globbing and word splitting.", code=1),
    User("run shellcheck over everything in scripts/ before you hand it back, and fix what it says"),
    Patch("*** Update File: scripts/drain-node.sh\n@@\n-for alloc in $(nomad node status -json $NODE | jq -r '.Allocations[].ID'); do\n+for alloc in $(nomad node status -json \"$NODE\" | jq -r '.Allocations[].ID'); do"),
    Sh("shellcheck scripts/*.sh", ""),
    User("branch name: PLAT-<ticket>-<slug>, that's the scheme for branches here. ticket is 402"),
    Sh("git switch -c PLAT-402-grafana-agent && git add jobs/grafana-agent.nomad.hcl scripts/drain-node.sh && git commit -m 'feat(jobs): add grafana-agent system job' && gh pr create --fill", "Switched to a new branch 'PLAT-402-grafana-agent'\n[PLAT-402-grafana-agent 77c0b3d] feat(jobs): add grafana-agent system job\n 2 files changed, 19 insertions(+), 1 deletion(-)\nhttps://git.brindle.internal/platform/lockkeeper/pull/93"),
    Say("PR #93 from `PLAT-402-grafana-agent`: the new job has its `meta { owner = \"platform\" }` block, and shellcheck is clean over scripts/."),
))

LK5 = Session("lk5", "lockkeeper", 6.3, (
    User("consul kv for edge has a stale upstream list\n1. dump config/edge/\n2. drop the decommissioned fra2-node-7\n3. commit the seed file change too"),
    Sh("source env/ams1.sh && consul kv get -recurse config/edge/", "Error querying Consul agent: Unexpected response code: 403 (ACL not found)", code=1),
    User("handbook §8.1: \"Secrets are read from 1Password at the moment of use. Nothing secret lives on disk or in dotfiles.\" so the consul token: `op read op://platform/consul/token`, not a file, not my env"),
    Sh("source env/ams1.sh && CONSUL_HTTP_TOKEN=$(op read op://platform/consul/token) consul kv get -recurse config/edge/", "config/edge/upstreams:fra2-node-3:8080,fra2-node-7:8080,ams1-node-2:8080"),
    Sh("source env/ams1.sh && CONSUL_HTTP_TOKEN=$(op read op://platform/consul/token) consul kv put config/edge/upstreams fra2-node-3:8080,ams1-node-2:8080", "Success! Data written to: config/edge/upstreams"),
    Patch("*** Update File: consul/seed/edge.json\n@@\n-  \"upstreams\": \"fra2-node-3:8080,fra2-node-7:8080,ams1-node-2:8080\"\n+  \"upstreams\": \"fra2-node-3:8080,ams1-node-2:8080\""),
    Sh("git status --short", " M consul/seed/edge.json\n M jobs/edge.nomad.hcl\n?? notes.txt"),
    User("only the seed file. stage things with git add -p, I look at each hunk; no commit -a here"),
    Sh("git add -p consul/seed/edge.json <<< y && git commit -m 'chore(consul): drop fra2-node-7 from edge upstreams'", "[main 0d9a6e5] chore(consul): drop fra2-node-7 from edge upstreams\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Say("KV and seed file both list fra2-node-3 and ams1-node-2 now; only consul/seed/edge.json was staged (with `git add -p`) and committed."),
))

LK_L = Session("lkL", "lockkeeper", 1.9, (
    User("1. ship the grafana-agent job\n2. tell me if anything's off"),
    Sh("./bin/ship grafana-agent", "bash: ./bin/ship: No such file or directory", code=127),
    User("ship is gone since we moved to nomad-pack last week. it's `nomad-pack run packs/<job>` now"),
    Sh("ls packs/", "edge\ngrafana-agent\nREADME.md"),
    Sh("source env/ams1.sh && nomad-pack plan packs/grafana-agent; nomad-pack run packs/grafana-agent", "+ Job: \"grafana-agent\"\n+ Task Group: \"agent\" (2 create)\nPlan succeeded\n\n  Evaluation ID: 0c7e4b19\n  Job 'grafana-agent' in pack deployment 'grafana-agent@latest' registered successfully\nPack successfully deployed."),
    Say("`./bin/ship` no longer exists; deployed with `nomad-pack run packs/grafana-agent` instead (plan first, then run): 2 allocations created."),
), later=True)

# -- fernwood: a C disk janitor, Meson + Ninja, run by a systemd timer

FW1 = Session("fw1", "fernwood", 23.5, (
    User("fernwood:\n1. add a --max-age flag to the janitor\n2. build + tests\n3. the install.sh script too"),
    Sh("meson test -C build", "ERROR: Build directory has been generated with Meson version 1.3.2, which is incompatible with the current version 1.4.1.\nConsider reconfiguring the directory with meson setup --reconfigure.", code=1),
    Sh("meson setup --reconfigure build", "The Meson build system\nVersion: 1.4.1\nERROR: Build directory has been generated with Meson version 1.3.2, which is incompatible with the current version 1.4.1.", code=1),
    Sh("meson setup --wipe build", "The Meson build system\nVersion: 1.4.1\nSource dir: /home/wes/platform/fernwood\nBuild dir: /home/wes/platform/fernwood/build\nProject name: fernwood\nC compiler for the host machine: cc (gcc 13.2.0)\nDependency libsystemd found: YES 255\nBuild targets in project: 4\n\nfernwood 2026.11.1\n  User defined options\n    werror: true\n\nFound ninja-1.11.1 at /usr/bin/ninja"),
    Say("The build dir was made by Meson 1.3.2, and `--reconfigure` can't upgrade it across that version; `meson setup --wipe build` recreated it with 1.4.1. Note the project builds with `werror: true`."),
    Patch("*** Update File: src/janitor.c\n@@ static struct option opts[] = {\n \t{\"dry-run\", no_argument, NULL, 'n'},\n+\t{\"max-age\", required_argument, NULL, 'a'},\n \t{0, 0, 0, 0},\n };\n@@ switch (c) {\n+\tcase 'a':\n+\t\tmax_age = parse_age(optarg);\n+\t\tbreak;"),
    Sh("ninja -C build", "[1/3] Compiling C object fernwood-janitor.p/src_janitor.c.o\nFAILED: fernwood-janitor.p/src_janitor.c.o\n../src/janitor.c:88:21: error: unused variable 'age_s' [-Werror=unused-variable]\n   88 |         long long   age_s;\n      |                     ^~~~~\ncc1: all warnings being treated as errors\nninja: build stopped: subcommand failed.", code=1),
    User("-Werror stays on, warnings are bugs in this codebase. fix it, don't add a pragma. and indent with tabs, the .clang-format says so — your case block has spaces"),
    Patch("*** Update File: src/janitor.c\n@@\n-        long long   age_s;\n@@ switch (c) {\n-    case 'a':\n-        max_age = parse_age(optarg);\n-        break;\n+\tcase 'a':\n+\t\tmax_age = parse_age(optarg);\n+\t\tbreak;"),
    Sh("clang-format --dry-run --Werror src/janitor.c && ninja -C build && meson test -C build", "[3/3] Linking target fernwood-janitor\n1/6 fernwood:unit / parse_age        OK   0.01s\n2/6 fernwood:unit / scan_dir         OK   0.04s\n3/6 fernwood:unit / max_age          OK   0.01s\n4/6 fernwood:slow / cgroup_quota     SKIP 0.00s   exit status 77\n5/6 fernwood:slow / big_tree         OK   3.82s\n6/6 fernwood:unit / dry_run          OK   0.02s\n\nOk: 5  Skipped: 1  Fail: 0"),
    Sh("shellcheck packaging/install.sh", "\nIn packaging/install.sh line 14:\ncp build/fernwood-janitor $PREFIX/libexec/\n                          ^-----^ SC2086 (info): Double quote to prevent globbing and word splitting.", code=1),
    User("install.sh has to be shellcheck clean, CI runs it on every push too"),
    Patch("*** Update File: packaging/install.sh\n@@\n-cp build/fernwood-janitor $PREFIX/libexec/\n+cp build/fernwood-janitor \"$PREFIX/libexec/\""),
    Sh("shellcheck packaging/install.sh", ""),
    Say("--max-age is in, the build is warning-free under -Werror, tabs per .clang-format, and install.sh is shellcheck clean."),
))

FW2 = Session("fw2", "fernwood", 19.2, (
    User("1. janitor skips dirs it can't stat — log it instead of silently skipping\n2. tag a release\n3. the timer's config, where is it on the box?"),
    Patch("*** Update File: src/scan.c\n@@\n \tif (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)\n-\t\tcontinue;\n+\t\tsd_journal_send(\"MESSAGE=cannot stat %s: %s\", name, strerror(errno), \"PRIORITY=4\", NULL);\n+\t\tcontinue;"),
    Sh("ninja -C build && meson test -C build --suite unit", "[2/2] Linking target fernwood-janitor\n1/4 fernwood:unit / parse_age   OK   0.01s\n2/4 fernwood:unit / scan_dir    OK   0.05s\n3/4 fernwood:unit / max_age     OK   0.01s\n4/4 fernwood:unit / dry_run     OK   0.02s\n\nOk: 4  Fail: 0"),
    User("commit. subject in conventional-commit form (handbook §3.1), scope is the module: fix(scan): ..."),
    Sh("git commit -am 'fix(scan): log directories that cannot be stat-ed'", "[main 5a1c2e9] fix(scan): log directories that cannot be stat-ed\n 1 file changed, 2 insertions(+)"),
    User("release: versions here are CalVer, YYYY.MM.N. last one was 2026.11.1"),
    Patch("*** Update File: meson.build\n@@\n-project('fernwood', 'c', version : '2026.11.1',\n+project('fernwood', 'c', version : '2026.11.2',"),
    Sh("git commit -am 'chore(release): 2026.11.2' && git tag 2026.11.2", "[main 9b7f0d3] chore(release): 2026.11.2\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    User("and when it's merged upstream: rebase merge, not a merge commit. linear history in this repo"),
    Sh("systemctl cat fernwood.service", "# /etc/systemd/system/fernwood.service\n[Unit]\nDescription=fernwood disk janitor\n\n[Service]\nType=oneshot\nExecStart=/usr/local/libexec/fernwood-janitor --config /etc/fernwood/fernwood.conf\nNice=10\nIOSchedulingClass=idle"),
    Say("Tagged 2026.11.2 (CalVer). On the box the janitor reads its settings from `/etc/fernwood/fernwood.conf` (the unit's ExecStart passes `--config`), run once per tick of fernwood.timer as a oneshot service."),
))

FW3 = Session("fw3", "fernwood", 14.2, (
    User("new build host for fernwood (debian 12). get it building\n1. setup\n2. tests\n3. install to a staging prefix so I can eyeball the layout"),
    Sh("meson setup build", "The Meson build system\nVersion: 1.4.1\nC compiler for the host machine: cc (gcc 12.2.0)\nFound pkg-config: YES (/usr/bin/pkg-config) 1.8.1\nRun-time dependency libsystemd found: NO (tried pkgconfig and cmake)\n\nmeson.build:11:11: ERROR: Dependency \"libsystemd\" not found, tried pkgconfig and cmake", code=1),
    Sh("sudo apt-get install -y libsystemd-dev", "Reading package lists... Done\nThe following NEW packages will be installed:\n  libsystemd-dev\nSetting up libsystemd-dev:amd64 (252.31-1~deb12u1) ...", secs=6.0),
    Sh("meson setup build && ninja -C build", "The Meson build system\nVersion: 1.4.1\nRun-time dependency libsystemd found: YES 252\nBuild targets in project: 4\n[9/9] Linking target fernwood-janitor"),
    Say("`meson setup` stopped at `Dependency \"libsystemd\" not found`: the host lacks the development package. `sudo apt-get install -y libsystemd-dev` installed it and the build configures and compiles."),
    Sh("meson test -C build", "1/6 fernwood:unit / parse_age        OK   0.01s\n2/6 fernwood:unit / scan_dir         OK   0.05s\n3/6 fernwood:unit / max_age          OK   0.01s\n4/6 fernwood:slow / cgroup_quota     SKIP 0.00s\n5/6 fernwood:slow / big_tree         FAIL 4.10s   (exit status 1)\n6/6 fernwood:unit / dry_run          OK   0.02s\n\n==3391==ERROR: LeakSanitizer: detected memory leaks\nDirect leak of 4096 byte(s) in 1 object(s) allocated from:\n    #0 0x7f3a malloc\n    #1 0x5581 walk_tree ../src/scan.c:141", code=1),
    User("that leak is known, Ines has the fix in review. temporary, just for today: run them with ASAN_OPTIONS=detect_leaks=0 so we can move on"),
    Sh("ASAN_OPTIONS=detect_leaks=0 meson test -C build", "Ok: 5  Skipped: 1  Fail: 0"),
    Sh("DESTDIR=/tmp/fw-stage meson install -C build", "Installing fernwood-janitor to /tmp/fw-stage/usr/local/libexec\nInstalling packaging/fernwood.service to /tmp/fw-stage/etc/systemd/system\nInstalling packaging/fernwood.timer to /tmp/fw-stage/etc/systemd/system"),
    Say("Staged install: the janitor binary goes to /usr/local/libexec, the unit and timer to /etc/systemd/system."),
    User("dates in anything you write for me (changelog, notes): ISO 8601, 2026-11-23 not 23/11"),
    Patch("*** Update File: NOTES.md\n@@\n+## 2026-11-23 — debian 12 build host\n+- needs libsystemd-dev\n+- big_tree leaks under ASan until the scan.c fix lands"),
))

FW4 = Session("fw4", "fernwood", 9.3, (
    User("janitor hung on db-03 last night, ops killed it. 1. find out why 2. new timer: every 6h instead of nightly"),
    Sh("journalctl -u fernwood.service --since yesterday -o cat | tail -4", 'cannot stat /var/lib/postgresql/16/main/pg_wal/archive_status: Permission denied\nfernwood: walking /var/lib/postgresql (depth 9)\nfernwood: walking /var/lib/postgresql (depth 10)\nfernwood.service: Main process exited, code=killed, status=9/KILL'),
    Sh("ls /tmp/fw-core.*", "/tmp/fw-core.51877"),
    Sh("gdb -batch -ex bt build/fernwood-janitor /tmp/fw-core.51877 | head -4", "#0  walk_tree (dfd=7, depth=10) at ../src/scan.c:152\n#1  walk_tree (dfd=6, depth=9) at ../src/scan.c:160\n#2  walk_tree (dfd=5, depth=8) at ../src/scan.c:160"),
    Say("It's walking a symlink loop under /var/lib/postgresql with no depth cap. I can ssh to db-03, kill 51877 if it's still there and add a depth limit to /etc/fernwood/fernwood.conf on that host."),
    User("don't fix it on the box. no ssh and vim: anything done by hand on a host is gone at the next rollout. fix the code, change the unit in the repo"),
    Patch("*** Update File: src/scan.c\n@@ static int walk_tree(int dfd, int depth)\n+\tif (depth > MAX_DEPTH)\n+\t\treturn 0;  /* a symlink loop or a pathological tree: stop descending */"),
    Patch("*** Update File: packaging/fernwood.timer\n@@\n-OnCalendar=daily\n+OnCalendar=00/6:00\n+RandomizedDelaySec=15m"),
    User("output to the journal stays JSON lines, same shape as the other services' logs. check the new message"),
    Sh("ninja -C build && sudo meson install -C build && sudo systemctl restart fernwood.timer", "[2/2] Linking target fernwood-janitor\nInstalling fernwood-janitor to /usr/local/libexec\nInstalling packaging/fernwood.timer to /etc/systemd/system\nFailed to restart fernwood.timer: Unit fernwood.timer not found.", code=5),
    Sh("sudo systemctl daemon-reload && sudo systemctl restart fernwood.timer && systemctl list-timers fernwood.timer", "NEXT                        LEFT    LAST PASSED UNIT           ACTIVATES\nMon 2026-11-30 12:00:00 UTC 2h 4min -    -      fernwood.timer fernwood.service"),
    Say("The restart said `Unit fernwood.timer not found` because systemd hadn't re-read the unit files after the install; `sudo systemctl daemon-reload` fixed it and the timer now fires every 6 h. The depth cap stops the symlink loop."),
))

FW5 = Session("fw5", "fernwood", 5.4, (
    User("1. the slow suite takes forever locally, how do I run just the quick tests\n2. branch for the depth-cap follow-up\n\nlast thing in your reply: the command I run to verify, nothing after it"),
    Sh("meson test -C build --list", "fernwood:unit / parse_age\nfernwood:unit / scan_dir\nfernwood:unit / max_age\nfernwood:unit / dry_run\nfernwood:unit / depth_cap\nfernwood:slow / cgroup_quota\nfernwood:slow / big_tree"),
    Sh("meson test -C build --suite unit", "1/5 fernwood:unit / parse_age   OK   0.01s\n2/5 fernwood:unit / scan_dir    OK   0.05s\n3/5 fernwood:unit / max_age     OK   0.01s\n4/5 fernwood:unit / dry_run     OK   0.02s\n5/5 fernwood:unit / depth_cap   OK   0.03s\n\nOk: 5  Fail: 0"),
    Say("The tests are split into two Meson suites: `meson test -C build --suite unit` runs the fast ones (~0.1 s); the `slow` suite has big_tree and cgroup_quota, which needs root.\n\nVerify: `meson test -C build --suite unit`"),
    User("branch: PLAT-<ticket> names. that's everywhere now, not only lockkeeper. ticket 418"),
    Sh("git switch -c PLAT-418-depth-cap-config", "Switched to a new branch 'PLAT-418-depth-cap-config'"),
    Say("On `PLAT-418-depth-cap-config`.\n\nVerify: `git branch --show-current`"),
))

FW_L = Session("fwL", "fernwood", 1.5, (
    User("1. set max_depth = 12 on the janitor config\n2. check the unit still points at the right file"),
    Sh("systemctl cat fernwood.service | grep ExecStart", "ExecStart=/usr/local/libexec/fernwood-janitor --config-dir /etc/fernwood/conf.d"),
    User("yes, config moved to /etc/fernwood/conf.d/ drop-ins last week. put it in its own file"),
    Patch("*** Add File: packaging/conf.d/20-depth.conf\n+# stop descending past this depth (symlink loops on the db hosts)\n+max_depth = 12"),
    Sh("ninja -C build && build/fernwood-janitor --config-dir packaging/conf.d --dry-run | head -2", "[1/1] Generating conf.d\nconfig: max_depth=12 (20-depth.conf)\ndry run: 0 files would be removed"),
    Say("Added packaging/conf.d/20-depth.conf with max_depth = 12; the service reads drop-ins from /etc/fernwood/conf.d via `--config-dir` now, the single fernwood.conf file is gone."),
), later=True)

# -- halyard: Pulumi (Go) for DNS records and buckets

HY1 = Session("hy1", "halyard", 22.4, (
    User("halyard:\n1. add a CNAME hooks-staging -> edge-staging.brindle.io\n2. preview\n3. before every preview here: pulumi refresh first, the state drifts when people click in the cloudflare UI"),
    Sh("go version && head -3 go.mod", "go version go1.22.9 linux/amd64\nmodule git.brindle.internal/platform/halyard\n\ngo 1.22"),
    Patch("*** Update File: dns.go\n@@ func records(ctx *pulumi.Context, zone string) error {\n+\tif _, err := cloudflare.NewRecord(ctx, \"hooks-staging\", &cloudflare.RecordArgs{\n+\t\tZoneId: pulumi.String(zone),\n+\t\tName:   pulumi.String(\"hooks-staging\"),\n+\t\tType:   pulumi.String(\"CNAME\"),\n+\t\tValue:  pulumi.String(\"edge-staging.brindle.io\"),\n+\t}); err != nil {\n+\t\treturn err\n+\t}"),
    Sh("pulumi refresh --yes", "error: no stack selected; please use `pulumi stack select` or `pulumi stack init` to select a stack", code=255),
    Sh("pulumi stack ls", "NAME              LAST UPDATE  RESOURCE COUNT\nbrindle/prod      3 days ago   41\nbrindle/staging   1 day ago    39"),
    Sh("pulumi stack select brindle/staging", ""),
    Sh("pulumi whoami -v", "User: wes\nOrganizations: \nBackend URL: s3://brindle-pulumi-state?region=eu-west-1"),
    Sh("pulumi refresh --yes && pulumi preview", "Refreshing (brindle/staging):\n    pulumi:pulumi:Stack halyard-staging  \nResources:\n    39 unchanged\n\nPreviewing update (brindle/staging):\n +  cloudflare:index:Record hooks-staging create\nResources:\n    + 1 to create\n    39 unchanged"),
    Say("Nothing was selected (`no stack selected`); `pulumi stack select brindle/staging` fixed that. State lives in the S3 backend `s3://brindle-pulumi-state`. Refresh is clean and the preview creates one record. The module builds with Go 1.22 (go.mod `go 1.22`, toolchain go1.22.9)."),
    User("provider plugins: exact version in go.mod and in Pulumi.yaml, nothing floating. check"),
    Sh("grep cloudflare go.mod Pulumi.yaml", "go.mod:\tgithub.com/pulumi/pulumi-cloudflare/sdk/v5 v5.40.0\nPulumi.yaml:    version: 5.40.0"),
    Say("Both pin pulumi-cloudflare at exactly v5.40.0."),
))

HY2 = Session("hy2", "halyard", 18.1, (
    User("1. add the R2 bucket for fernwood's reports\n2. tests\n3. commit, conventional commit prefixes like everywhere else (feat/fix/chore)\n\nand answer me in numbered lists like I write to you, one line per point"),
    Patch("*** Add File: buckets.go\n+package main\n+\n+import (\n+\t\"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare\"\n+\t\"github.com/pulumi/pulumi/sdk/v3/go/pulumi\"\n+)\n+\n+func buckets(ctx *pulumi.Context, account string) error {\n+\t_, err := cloudflare.NewR2Bucket(ctx, \"fernwood-reports\", &cloudflare.R2BucketArgs{\n+\t\tAccountId: pulumi.String(account),\n+\t\tName:      pulumi.String(\"fernwood-reports\"),\n+\t\tLocation:  pulumi.String(\"WEUR\"),\n+\t})\n+\treturn err\n+}"),
    Sh("go test ./...", "buckets.go:4:2: missing go.sum entry for module providing package github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals (imported by github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare); to add:\n\tgo get github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare@v5.40.0\nFAIL\tgit.brindle.internal/platform/halyard [setup failed]", code=1),
    Sh("go mod tidy", "go: finding module for package github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals\ngo: found github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals in github.com/pulumi/pulumi/sdk/v3 v3.137.0"),
    Sh("go test ./...", "ok  \tgit.brindle.internal/platform/halyard\t0.412s"),
    Say("1. `go test ./...` failed on a `missing go.sum entry` for a package the bucket code pulls in\n2. `go mod tidy` added the go.sum lines; tests pass\n3. no version changed in go.mod"),
    User("commit. and halyard changes need an approval from netops before merge, add them as reviewer"),
    Sh("git switch -c PLAT-409-fernwood-r2 && git add buckets.go go.mod go.sum && git commit -m 'feat(buckets): add fernwood-reports R2 bucket' && gh pr create --fill --reviewer brindle/netops", "Switched to a new branch 'PLAT-409-fernwood-r2'\n[PLAT-409-fernwood-r2 c41d2f8] feat(buckets): add fernwood-reports R2 bucket\n 3 files changed, 21 insertions(+)\nhttps://git.brindle.internal/platform/halyard/pull/57"),
    Say("1. committed as `feat(buckets): add fernwood-reports R2 bucket`\n2. PR #57, netops requested for the approval it needs"),
))

HY3 = Session("hy3", "halyard", 13.3, (
    User("1. the TTL on the hooks records, what is it set to\n2. pulumi up on staging\n\nside question: could halyard move to OpenTofu one day? actually forget it, not now"),
    Sh("pulumi config --stack brindle/staging", "KEY                     VALUE\ncloudflare:apiToken     [secret]\nhalyard:accountId       4c1f9e02b7d3\nhalyard:recordTtl       300\nhalyard:zone            brindle.io"),
    Say("The records take their TTL from the stack config `halyard:recordTtl`, 300 seconds on staging."),
    User("pulumi gets an explicit --stack brindle/staging on every command in this repo, don't lean on whatever stack is selected"),
    Sh("pulumi up --stack brindle/staging --yes", "error: failed to verify credentials: Invalid API Token (cloudflare: 10000)", code=255),
    User("the cloudflare token comes out of 1Password via op run, it's not in Pulumi.staging.yaml as plaintext. env template is .env.pulumi.tpl"),
    Sh("op run --env-file=.env.pulumi.tpl -- pulumi up --stack brindle/staging --yes", "Updating (brindle/staging):\n +  cloudflare:index:Record hooks-staging created (1s)\n +  cloudflare:index:R2Bucket fernwood-reports created (2s)\nResources:\n    + 2 created\n    39 unchanged\n\nDuration: 9s"),
    Say("Staging is up to date: the hooks-staging record and the fernwood-reports bucket exist, with the token from 1Password via `op run`."),
))

HY4 = Session("hy4", "halyard", 8.2, (
    User("1. MX records for the new support domain\n2. commit\n3. prod"),
    Patch("*** Update File: dns.go\n@@\n+\tfor i, mx := range []string{\"mx1.mailhost.net\", \"mx2.mailhost.net\"} {\n+\t\tif _, err := cloudflare.NewRecord(ctx, fmt.Sprintf(\"support-mx-%d\", i), &cloudflare.RecordArgs{\n+\t\t\tZoneId: pulumi.String(zone), Name: pulumi.String(\"support\"), Type: pulumi.String(\"MX\"),\n+\t\t\tValue: pulumi.String(mx), Priority: pulumi.Int(10 * (i + 1)),\n+\t\t}); err != nil {\n+\t\t\treturn err\n+\t\t}\n+\t}"),
    Sh("git commit -am 'feat(dns): add MX records for support.brindle.io'", "gofmt...................................................................Failed\n- hook id: gofmt\n- files were modified by this hook\n\ndns.go", code=1),
    Say("gofmt (a pre-commit hook) rewrote dns.go and aborted. Option: skip hooks via `git commit --no-verify` and tidy formatting afterwards in a separate change."),
    User("no --no-verify, ever. the hook is right, take its changes"),
    Sh("git add dns.go && git commit -m 'feat(dns): add MX records for support.brindle.io'", "gofmt...................................................................Passed\n[PLAT-421-support-mx 3e0b7a1] feat(dns): add MX records for support.brindle.io\n 1 file changed, 9 insertions(+)"),
    User("and no emoji in commit messages, saw one in your last PR title"),
    Sh("date +%A", "Friday"),
    User("Friday → no pulumi up against prod. handbook §5.1. preview only"),
    Sh("op run --env-file=.env.pulumi.tpl -- pulumi preview --stack brindle/prod", "Previewing update (brindle/prod):\n +  cloudflare:index:Record support-mx-0 create\n +  cloudflare:index:Record support-mx-1 create\nResources:\n    + 2 to create\n    41 unchanged"),
    Say("Committed after letting gofmt's changes in; prod preview shows the two MX records to create. Nothing applied, it waits for Monday."),
))

HY5 = Session("hy5", "halyard", 4.3, (
    User("1. support MX to prod (it's Tuesday)\n2. PR for the TTL bump to 600 on hooks records"),
    Sh("op run --env-file=.env.pulumi.tpl -- pulumi up --stack brindle/prod --yes", "Updating (brindle/prod):\n +  cloudflare:index:Record support-mx-0 created (1s)\n +  cloudflare:index:Record support-mx-1 created (1s)\nResources:\n    + 2 created\n    41 unchanged"),
    Sh("pulumi config set --stack brindle/staging halyard:recordTtl 600", ""),
    User("PR as draft. draft PRs are how we open them everywhere now, not just signalbox"),
    Sh("git switch -c PLAT-425-hooks-ttl && git commit -am 'chore(dns): raise hooks record TTL to 600' && gh pr create --draft --fill", "Switched to a new branch 'PLAT-425-hooks-ttl'\n[PLAT-425-hooks-ttl 6fd2c10] chore(dns): raise hooks record TTL to 600\nhttps://git.brindle.internal/platform/halyard/pull/61"),
    Say("1. prod has the two support MX records\n2. draft PR #61 raises recordTtl to 600 on staging"),
))

HY_L = Session("hyL", "halyard", 1.1, (
    User("1. bump the toolchain, platform is on Go 1.23 now\n2. preview staging\n3. drop the pulumi refresh step from before, `pulumi preview --refresh` does it in one go"),
    Patch("*** Update File: go.mod\n@@\n-go 1.22\n+go 1.23\n+\n+toolchain go1.23.4"),
    Sh("go version && go test ./...", "go version go1.23.4 linux/amd64\nok  \tgit.brindle.internal/platform/halyard\t0.388s"),
    Sh("op run --env-file=.env.pulumi.tpl -- pulumi preview --refresh --stack brindle/staging", "Previewing update (brindle/staging):\n    pulumi:pulumi:Stack halyard-staging  \nResources:\n    41 unchanged"),
    Say("Go 1.23 (toolchain go1.23.4) builds and tests pass. Staging preview with `pulumi preview --refresh` shows 41 unchanged; the separate refresh step is no longer needed."),
), later=True)

SESSIONS = (
    SB1, SB2, SB3, SB4, SB5, SB_L,
    LK1, LK2, LK3, LK4, LK5, LK_L,
    FW1, FW2, FW3, FW4, FW5, FW_L,
    HY1, HY2, HY3, HY4, HY5, HY_L,
)

FACTS = (
    # rules of the team that hold in every service, said in two to three of them
    Fact("s.gen.friday", "general_rule", None, "no production deploys or applies on Fridays; preview or plan only until Monday", M("Friday|Fridays", "deploy|deploys|deployed|apply|applies|applied|pulumi up"), ("sb2", "lk3", "hy4")),
    Fact("s.gen.conventional", "general_rule", None, "commit subjects follow Conventional Commits: type(scope): summary", M("Conventional Commits|conventional commit|conventional-commit"), ("sb1", "fw2", "hy2")),
    Fact("s.gen.by_hand", "general_rule", None, "no manual changes on hosts: no ssh in to fix things by hand; fix it in the repo and roll it out", M("ssh", "by hand|manually|manual"), ("lk2", "fw4")),
    Fact("s.gen.op", "general_rule", None, "secrets and tokens come from 1Password through op run / op read, not files or plaintext config", M("op run|op read|1Password"), ("sb3", "lk5", "hy3")),
    Fact("s.gen.json_logs", "general_rule", None, "service logs are JSON lines, one object per line", M("JSON", "log|logs|logging|journal"), ("sb4", "fw4")),
    Fact("s.gen.pinned", "general_rule", None, "pin exact versions: exact dependency and plugin versions, image tags pinned to a version or digest, no latest", M("pin|pinned|exact|--exact", "version|versions|digest|latest"), ("sb5", "lk1", "hy1")),
    Fact("s.gen.shellcheck", "general_rule", None, "shell scripts must be shellcheck clean before handing them back", M("shellcheck"), ("lk4", "fw1")),
    Fact("s.gen.verify", "general_rule", None, "end each answer with the one command that verifies the change", M("verify|verifies|verification", "command"), ("sb2", "fw5")),
    Fact("s.gen.draft", "general_rule", None, "open pull requests as draft PRs", M("draft", "PR|PRs|pull request|pull requests"), ("sb3", "hy5")),
    Fact("s.gen.plat_branch", "general_rule", None, "branch names start with the ticket: PLAT-<ticket>-<slug>", M("PLAT-", "branch|branches"), ("lk4", "fw5")),
    # look-alike rules: same topic, another value in each service
    Fact("s.rule.sb_squash", "project_rule", "signalbox", "pull requests are squash-merged once green", M("squash"), ("sb3",)),
    Fact("s.rule.fw_rebase", "project_rule", "fernwood", "merges are rebase merges for a linear history, no merge commits", M("rebase", "merge|merges|merged|merging"), ("fw2",)),
    Fact("s.rule.lk_hcl", "project_rule", "lockkeeper", "HCL is indented with two spaces, as nomad fmt writes it", M("two-space|two spaces|2 spaces|2-space", "HCL|nomad fmt"), ("lk1",)),
    Fact("s.rule.fw_tabs", "project_rule", "fernwood", "C code is indented with tabs, per .clang-format", M("tabs", "clang-format"), ("fw1",)),
    Fact("s.rule.lk_approvals", "project_rule", "lockkeeper", "merges need two approvals", M("two approvals|2 approvals"), ("lk2",)),
    Fact("s.rule.hy_netops", "project_rule", "halyard", "changes need an approval from netops before merge", M("netops", "approval|approve|approves|sign-off"), ("hy2",)),
    Fact("s.rule.sb_semver", "project_rule", "signalbox", "release tags are SemVer vMAJOR.MINOR.PATCH", M("semver|SemVer"), ("sb1",)),
    Fact("s.rule.fw_calver", "project_rule", "fernwood", "releases are CalVer YYYY.MM.N", M("CalVer"), ("fw2",)),
    # rules of one service
    Fact("s.rule.sb_bun_only", "project_rule", "signalbox", "bun is the only package manager; npm and yarn stay away from the lockfile", M("bun", "npm|yarn|pnpm"), ("sb1",)),
    Fact("s.rule.hy_stack", "project_rule", "halyard", "pass an explicit --stack brindle/staging (or prod) on every pulumi command", M("--stack"), ("hy3",)),
    Fact("s.rule.fw_werror", "project_rule", "fernwood", "-Werror stays on: fix warnings, no pragmas", M("-Werror|werror"), ("fw1",)),
    Fact("s.rule.lk_meta", "project_rule", "lockkeeper", "every job has a meta block with owner = the team; the on-call bot reads it", M("meta", "owner"), ("lk4",)),
    # knowledge from tool output and the agent's conclusions
    Fact("s.fact.sb_signing_key", "project_fact", "signalbox", "the HMAC signing key is read from the file named by SIGNALBOX_SIGNING_KEY_PATH", M("SIGNALBOX_SIGNING_KEY_PATH"), ("sb4",)),
    Fact("s.fact.sb_pg_port", "project_fact", "signalbox", "the docker compose Postgres is published on host port 55432", M("55432", "Postgres|postgres"), ("sb2",)),
    Fact("s.fact.lk_admin", "project_fact", "lockkeeper", "the Caddy admin API listens on localhost:2019", M("2019", "admin"), ("lk3",)),
    Fact("s.fact.lk_plan_exit", "project_fact", "lockkeeper", "nomad job plan exits 1 when it would change allocations; exit code 1 from plan is expected", M("job plan", "exit code 1|exits 1|exit status 1"), ("lk2",)),
    Fact("s.fact.fw_journal", "project_fact", "fernwood", "the janitor logs to journald: read them with journalctl -u fernwood.service", M("journalctl -u fernwood.service"), ("fw4",)),
    Fact("s.fact.fw_suite", "project_fact", "fernwood", "meson test -C build --suite unit runs only the fast tests; the slow suite needs root", M("--suite unit"), ("fw5",)),
    Fact("s.fact.hy_backend", "project_fact", "halyard", "Pulumi state is in the S3 backend s3://brindle-pulumi-state", M("brindle-pulumi-state"), ("hy1",)),
    Fact("s.fact.hy_ttl", "project_fact", "halyard", "record TTLs come from the stack config halyard:recordTtl (300 on staging)", M("recordTtl", "300"), ("hy3",)),
    # a failure and the other command or edit that fixed it
    Fact("s.fix.sb_install", "failure_fix", "signalbox", 'bun test fails with Cannot find module "@brindle/envelope": run bun install', M("bun install"), ("sb1",), link=M("Cannot find module|@brindle/envelope")),
    Fact("s.fix.sb_registry", "failure_fix", "signalbox", "bun install gets 401 from the private @brindle registry: run it as op run --env-file=.env.tpl -- bun install", M("op run", "bun install"), ("sb3",), link=M("401")),
    Fact("s.fix.sb_migrate", "failure_fix", "signalbox", 'tests fail with relation "webhook_deliveries" does not exist: run bun run db:migrate', M("db:migrate"), ("sb2",), link=M("does not exist|webhook_deliveries")),
    Fact("s.fix.lk_env", "failure_fix", "lockkeeper", "nomad job plan gets connection refused on 127.0.0.1:4646: source env/ams1.sh first", M("env/ams1.sh"), ("lk1",), link=M("connection refused|4646")),
    Fact("s.fix.lk_acl", "failure_fix", "lockkeeper", "consul kv gets 403 (ACL not found): pass CONSUL_HTTP_TOKEN=$(op read op://platform/consul/token) to consul kv", M("op read", "consul kv"), ("lk5",), link=M("403|ACL not found")),
    Fact("s.fix.lk_xcaddy", "failure_fix", "lockkeeper", "caddy validate says unrecognized directive: rate_limit: build caddy with xcaddy build --with github.com/mholt/caddy-ratelimit", M("xcaddy"), ("lk3",), link=M("unrecognized directive|rate_limit")),
    Fact("s.fix.fw_libsystemd", "failure_fix", "fernwood", 'meson setup fails with Dependency "libsystemd" not found: sudo apt-get install -y libsystemd-dev', M("libsystemd-dev"), ("fw3",), link=M('"libsystemd"|not found')),
    Fact("s.fix.fw_wipe", "failure_fix", "fernwood", "a build dir from an incompatible Meson version: meson setup --wipe build", M("--wipe"), ("fw1",), link=M("incompatible|Meson version")),
    Fact("s.fix.fw_reload", "failure_fix", "fernwood", "systemctl restart says Unit fernwood.timer not found after an install: sudo systemctl daemon-reload", M("daemon-reload"), ("fw4",), link=M("not found|fernwood.timer")),
    Fact("s.fix.hy_stack_select", "failure_fix", "halyard", "pulumi says no stack selected: pulumi stack select brindle/staging", M("pulumi stack select"), ("hy1",), link=M("no stack selected|no stack")),
    Fact("s.fix.hy_token", "failure_fix", "halyard", "pulumi up fails with Invalid API Token: run it under op run --env-file=.env.pulumi.tpl -- pulumi up", M("op run", "pulumi up"), ("hy3",), link=M("Invalid API Token")),
    Fact("s.fix.hy_tidy", "failure_fix", "halyard", "go test fails with missing go.sum entry: run go mod tidy", M("go mod tidy"), ("hy2",), link=M("missing go.sum entry|go.sum")),
    # stated once
    Fact("s.pref.numbered", "preference", None, "answers as numbered lists, one line per point", M("numbered"), ("hy2",)),
    Fact("s.pref.emoji", "preference", None, "no emoji in commit messages or PR titles", M("emoji"), ("hy4",)),
    Fact("s.pref.jq", "preference", None, "use jq for JSON, not python one-liners", M("jq", "python"), ("sb5",)),
    Fact("s.pref.add_p", "preference", None, "stage with git add -p hunk by hunk, no commit -a", M("git add -p"), ("lk5",)),
    Fact("s.pref.iso", "preference", None, "dates in notes and changelogs in ISO 8601 (2026-11-23)", M("ISO 8601"), ("fw3",)),
    # facts that a later session replaces
    Fact("s.old.sb_eslint", "project_fact", "signalbox", "lint runs eslint via bun run lint", M("eslint"), ("sb1",), superseded_by="s.new.sb_biome"),
    Fact("s.new.sb_biome", "superseding", "signalbox", "lint is bunx biome check . (biome replaced eslint)", M("biome"), ("sbL",)),
    Fact("s.old.sb_port", "project_fact", "signalbox", "the dev server listens on http://localhost:4310", M("4310"), ("sb2",), superseded_by="s.new.sb_port"),
    Fact("s.new.sb_port", "superseding", "signalbox", "the dev server listens on http://localhost:8087 (moved from 4310)", M("8087"), ("sbL",)),
    Fact("s.old.lk_ship", "project_rule", "lockkeeper", "deploy a job with ./bin/ship <job>, which plans and then runs", M("bin/ship"), ("lk1",), superseded_by="s.new.lk_pack"),
    Fact("s.new.lk_pack", "superseding", "lockkeeper", "deploy with nomad-pack run packs/<job>; bin/ship was removed", M("nomad-pack"), ("lkL",)),
    Fact("s.old.fw_conf", "project_fact", "fernwood", "the janitor reads /etc/fernwood/fernwood.conf on the hosts", M("/etc/fernwood/fernwood.conf"), ("fw2",), superseded_by="s.new.fw_confd"),
    Fact("s.new.fw_confd", "superseding", "fernwood", "config is drop-in files in /etc/fernwood/conf.d (read with --config-dir)", M("/etc/fernwood/conf.d"), ("fwL",)),
    Fact("s.old.hy_go", "project_fact", "halyard", "the module builds with Go 1.22 (toolchain go1.22.9)", M("Go 1.22|go1.22"), ("hy1",), superseded_by="s.new.hy_go"),
    Fact("s.new.hy_go", "superseding", "halyard", "the module is on Go 1.23 (toolchain go1.23.4)", M("Go 1.23|go1.23"), ("hyL",)),
    Fact("s.old.hy_refresh", "project_rule", "halyard", "run pulumi refresh before every preview", M("pulumi refresh"), ("hy1",), superseded_by="s.new.hy_refresh"),
    Fact("s.new.hy_refresh", "superseding", "halyard", "pulumi preview --refresh does the refresh; the separate refresh step is dropped", M("preview --refresh"), ("hyL",)),
)

DISTRACTORS = (
    Distractor("s.x.alloc", "transient", "a Nomad allocation id", M("a3f9c2e1"), ("lk2",)),
    Distractor("s.x.core", "transient", "a core file in /tmp", M("/tmp/fw-core.51877"), ("fw4",)),
    Distractor("s.x.pid", "transient", "the PID of a hung janitor", M("51877"), ("fw4",)),
    Distractor("s.x.run", "transient", "a CI run id", M("91827364"), ("sb4",)),
    Distractor("s.x.asan", "transient", "a workaround the user called temporary, for one day", M("detect_leaks=0"), ("fw3",)),
    Distractor("s.x.token", "secret", "the npm token in ~/.npmrc", M(NPM_TOKEN), ("sb3",)),
    Distractor("s.x.coffee", "small_talk", "the broken coffee machine", M("coffee machine"), ("sb5",)),
    Distractor("s.x.tofu", "small_talk", "a question the user asked and dropped", M("OpenTofu"), ("hy3",)),
    Distractor("s.x.purge", "rejected", "nomad job stop -purge edge, which the user refused", M("stop -purge"), ("lk2",), negatable=True),
    Distractor("s.x.no_verify", "rejected", "git commit --no-verify, which the user refused", M("--no-verify"), ("hy4",), negatable=True),
)

# the general rules first given one service and later said to hold everywhere
EVERYWHERE = ("s.gen.draft", "s.gen.plat_branch")
# rules of one service each that look like another service's but differ
LOOKALIKES = (
    ("s.rule.sb_squash", "s.rule.fw_rebase"),
    ("s.rule.lk_hcl", "s.rule.fw_tabs"),
    ("s.rule.lk_approvals", "s.rule.hy_netops"),
    ("s.rule.sb_semver", "s.rule.fw_calver"),
)

CORPUS = Corpus(
    name="s",
    how="a platform engineer's numbered to-do lists, terse follow-ups and handbook quotes across four services (measured once held out, tuned on since round 13)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="fw3",
)
# fmt: on
