# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Corpus Q: a senior developer who lets the agent act first and corrects it afterwards.

The user hands over a task in a line or two and lets the agent run; the rules arrive as
reactions to what the agent just did ("no — you reformatted the whole file", "wrong venv",
"undo that"), sometimes clipped or sarcastic, sometimes only "again?" pointing back at an
earlier correction, and many sessions open by pointing at an earlier one ("same as yesterday
but for the worker"). The knowledge about each project comes from the agent's own exploration
(``ls``, ``cat``, ``find``, ``grep`` of config files, ``docker ps``, ``env | grep``) and from
the failures it causes and then repairs with a different command.

Four projects: a Laravel app run through Sail (composer, artisan), a Swift server on Vapor, an
Ansible/Packer infrastructure repo, an OCaml/dune command-line linter. Written after A–M
without reading their sessions or memoryd's extraction and consolidation code, and never run
through memoryd before it was committed.
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
HOME = "/home/wren"
PROJECTS = (
    Project("larkspur", f"{HOME}/sites/larkspur", "git@github.com:wren-hale/larkspur.git"),
    Project("vaporetto", f"{HOME}/swift/vaporetto", "git@github.com:wren-hale/vaporetto.git"),
    Project("stonemason", f"{HOME}/infra/stonemason", "git@gitlab.com:hale-ops/stonemason.git", "master"),
    Project("camlint", f"{HOME}/ocaml/camlint", "git@github.com:wren-hale/camlint.git"),
)

STRIPE = "sk_live_51Hq8ZrTzKp3mVw9XyLa2QeN7"

# -- larkspur: a Laravel 11 app, everything runs inside Sail's containers

LS1 = Session("ls1", "larkspur", 24.4, (
    User("tests are red on main since the merge. find out why."),
    Sh("ls", "app\nartisan\nbootstrap\ncomposer.json\ncomposer.lock\nconfig\ndatabase\ndocker-compose.yml\nphpunit.xml\npublic\nresources\nroutes\nstorage\ntests\nvendor"),
    Sh("php artisan test", "PHP Warning:  PHP Startup: Unable to load dynamic library 'redis.so'\n\n   FAIL  Tests\\Feature\\PostIndexTest\n  ⨯ it lists published posts\n\n   Illuminate\\Database\\QueryException\n\n  SQLSTATE[HY000] [2002] No such file or directory (Connection: mysql, SQL: select * from `posts`)", 1, 3.1),
    User("that's the host php. nothing here runs on the host — artisan goes through ./vendor/bin/sail artisan, composer too."),
    Sh("./vendor/bin/sail artisan test", "\n   FAIL  Tests\\Feature\\PostIndexTest\n  ⨯ it lists published posts\n\n   Illuminate\\Database\\QueryException\n\n  SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, Host: mysql, Port: 3306)\n\n  at vendor/laravel/framework/src/Illuminate/Database/Connection.php:813", 1, 4.2),
    Think("Sail is up but the mysql service is not. Check the containers and the env before guessing."),
    Sh("docker ps --format '{{.Names}}\\t{{.Status}}\\t{{.Ports}}'", "larkspur-laravel.test-1\tUp 2 minutes\t0.0.0.0:80->80/tcp\nlarkspur-redis-1\tUp 2 minutes\t0.0.0.0:6379->6379/tcp"),
    Sh("grep -n '^DB_' .env.example", "11:DB_CONNECTION=mysql\n12:DB_HOST=mysql\n13:DB_PORT=3306\n14:DB_DATABASE=larkspur\n15:DB_USERNAME=sail\n16:DB_PASSWORD=password\n17:FORWARD_DB_PORT=3307"),
    Sh("./vendor/bin/sail up -d mysql", " Container larkspur-mysql-1  Creating\n Container larkspur-mysql-1  Created\n Container larkspur-mysql-1  Starting\n Container larkspur-mysql-1  Started", 0, 6.4),
    Sh("./vendor/bin/sail artisan test", "\n   PASS  Tests\\Unit\\SlugTest\n   PASS  Tests\\Feature\\PostIndexTest\n   PASS  Tests\\Feature\\CommentStoreTest\n\n  Tests:    41 passed (118 assertions)\n  Duration: 5.82s", 0, 7.9),
    Say("The suite was red because the mysql container was not running: Sail had started only laravel.test and redis, so every query ended in `SQLSTATE[HY000] [2002] Connection refused`. `./vendor/bin/sail up -d mysql` fixed it; the tests run with `./vendor/bin/sail artisan test` and all 41 pass. Inside the containers the app talks to mysql on 3306; from the host the database is forwarded to FORWARD_DB_PORT=3307, so a desktop client has to use port 3307."),
))

LS2 = Session("ls2", "larkspur", 21.2, (
    User("posts need a published_at timestamp, nullable. go."),
    Sh("ls database/migrations | tail -4", "2024_05_02_101500_create_posts_table.php\n2024_05_02_101600_create_comments_table.php\n2024_06_11_083000_add_slug_to_posts.php\n2024_09_30_140200_create_jobs_table.php"),
    Patch("*** Update File: database/migrations/2024_05_02_101500_create_posts_table.php\n@@\n             $table->string('title');\n             $table->text('body');\n+            $table->timestamp('published_at')->nullable();\n             $table->timestamps();"),
    Sh("./vendor/bin/sail pint app/Models/Post.php", "\n  ✓ app/Models/Post.php   ordered_imports, braces_position, single_quote, trailing_comma_in_multiline\n\n  FIXED ..................................................... 1 file, 4 style issues fixed"),
    Say("Added `published_at` to the posts table migration and tidied `app/Models/Post.php` with pint."),
    User("two things. that create_posts migration ran in prod a year ago — existing migrations are frozen, you add a new one. and you ran pint over the entire model; only the lines you change get touched, a reviewer shouldn't have to wade through 80 lines of reformat for one cast."),
    Sh("git checkout -- database/migrations/2024_05_02_101500_create_posts_table.php app/Models/Post.php", ""),
    Sh("./vendor/bin/sail artisan make:migration add_published_at_to_posts --table=posts", "\n   INFO  Migration [database/migrations/2024_12_03_091244_add_published_at_to_posts.php] created successfully."),
    Patch("*** Update File: database/migrations/2024_12_03_091244_add_published_at_to_posts.php\n@@\n         Schema::table('posts', function (Blueprint $table) {\n-            //\n+            $table->timestamp('published_at')->nullable()->after('body');\n         });\n*** Update File: app/Models/Post.php\n@@\n     protected $casts = [\n+        'published_at' => 'datetime',\n         'pinned' => 'boolean',"),
    Sh("./vendor/bin/sail artisan migrate", "\n   INFO  Running migrations.\n\n  2024_12_03_091244_add_published_at_to_posts ................... 38.12ms DONE"),
    Say("Put back both files. The column now comes from a new migration, `add_published_at_to_posts`, and the model change is the one cast line."),
))

LS3 = Session("ls3", "larkspur", 18.0, (
    User("pull main and get deps in sync, the slug package moved"),
    Sh("git pull --ff-only", "Updating 3c81d0a..e07b2f9\nFast-forward\n composer.json | 2 +-\n composer.lock | 41 ++++++++++++++++++-----------------\n 2 files changed, 23 insertions(+), 20 deletions(-)"),
    Sh("composer install", "Installing dependencies from lock file (including require-dev)\nVerifying lock file contents can be installed on current platform.\nYour lock file does not contain a compatible set of packages. Please run composer update.\n\n  Problem 1\n    - spatie/laravel-sluggable is locked to version 3.6.0 and an update of this package was not requested.\n    - spatie/laravel-sluggable 3.6.0 requires ext-intl * -> it is missing from your system. Install or enable PHP's intl extension.", 2, 2.7),
    Sh("composer update", "Loading composer repositories with package information\nUpdating dependencies\nLock file operations: 0 installs, 37 updates, 0 removals\n  - Upgrading laravel/framework (v11.9.2 => v11.34.2)\n  - Upgrading nesbot/carbon (3.3.1 => 3.8.2)\n  ...\nWriting lock file", 0, 48.0),
    User("undo that. I said in sync, not bump 37 packages. and the lock only changes on main — from a feature branch it's a lockfile change nobody asked for."),
    Sh("git checkout -- composer.lock && git status --short", ""),
    Think("The intl extension is missing on the host only; the Sail image has it. Install through the container."),
    Sh("./vendor/bin/sail composer install", "Installing dependencies from lock file (including require-dev)\nVerifying lock file contents can be installed on current platform.\nPackage operations: 1 install, 1 update, 0 removals\n  - Upgrading spatie/laravel-sluggable (3.5.1 => 3.6.0)\nGenerating optimized autoload files\n> @php artisan package:discover --ansi", 0, 11.3),
    Say("Reverted composer.lock. On the host `composer install` stops at `ext-intl * -> it is missing from your system`; `./vendor/bin/sail composer install` runs it in the container, which has intl, and only the sluggable package moved."),
))

LS4 = Session("ls4", "larkspur", 14.3, (
    User("CI box says tests fail on a fresh checkout. reproduce it here in a clean clone"),
    Sh("git clone -q . /tmp/larkspur-ci-w8x2 && cd /tmp/larkspur-ci-w8x2 && ln -s ~/sites/larkspur/vendor vendor && cp .env.example .env.testing && ./vendor/bin/sail artisan test", "\n   FAIL  Tests\\Feature\\PostIndexTest\n  ⨯ it lists published posts\n\n   Illuminate\\Encryption\\MissingAppKeyException\n\n  No application encryption key has been specified.\n\n  at vendor/laravel/framework/src/Illuminate/Encryption/EncryptionServiceProvider.php:83", 1, 6.0),
    Sh("env | grep -i -E 'app_|stripe'", f"APP_ENV=local\nAPP_URL=http://larkspur.test\nSTRIPE_KEY=pk_test_51Hq8ZrTzKp3mVw9XyLa2QeN7\nSTRIPE_SECRET={STRIPE}"),
    Sh("cd /tmp/larkspur-ci-w8x2 && ./vendor/bin/sail artisan key:generate --env=testing", "\n   INFO  Application key set successfully."),
    Sh("cd /tmp/larkspur-ci-w8x2 && ./vendor/bin/sail artisan test", "\n  Tests:    41 passed (118 assertions)\n  Duration: 6.11s", 0, 7.2),
    Sh("./vendor/bin/sail artisan --version", "Laravel Framework 11.9.2"),
    Patch("*** Update File: .github/workflows/tests.yml\n@@\n       - run: cp .env.example .env.testing\n+      - run: php artisan key:generate --env=testing\n       - run: php artisan test"),
    Sh("./vendor/bin/sail pint .github tests", "\n  ✓ tests/Feature/PostIndexTest.php   no_unused_imports, ordered_imports\n  ✓ tests/Pest.php   blank_line_before_statement\n\n  FIXED ..................................................... 2 files, 3 style issues fixed"),
    Say("A fresh checkout has no APP_KEY in `.env.testing`, so every request test dies with `No application encryption key has been specified`; `./vendor/bin/sail artisan key:generate --env=testing` fixes it locally, and the workflow now runs key:generate before the tests. The app is on Laravel Framework 11.9.2."),
    User("again? pint over files you didn't touch. put tests/ back."),
    Sh("git checkout -- tests/", ""),
    Say("Done, only the workflow file is changed."),
))

LS5 = Session("ls5", "larkspur", 9.1, (
    User("ugh, the coffee machine on 3 is dead again. anyway — the welcome mail never arrives locally. look at it"),
    Sh("grep -rn 'QUEUE_CONNECTION\\|MAIL_MAILER' .env config/queue.php", ".env:21:QUEUE_CONNECTION=redis\n.env:29:MAIL_MAILER=smtp\nconfig/queue.php:16:    'default' => env('QUEUE_CONNECTION', 'database'),"),
    Sh("./vendor/bin/sail artisan queue:failed", "\n  2024-12-01 10:14:52 7f1e2a40-3b9c-4c1e-9a55-02d6b8e41c17 .... redis@default Illuminate\\Notifications\\SendQueuedNotifications"),
    Sh("./vendor/bin/sail artisan horizon:status", "\n   INFO  Horizon is inactive."),
    Say("Mail is queued on redis (QUEUE_CONNECTION=redis) and processed by Horizon, which is not running, so the welcome notification sits in the queue. `./vendor/bin/sail artisan horizon` in a second terminal delivers it; I added a `horizon` service to docker-compose.yml so `sail up` starts it."),
    Patch("*** Update File: docker-compose.yml\n@@\n     redis:\n         image: 'redis:alpine'\n+    horizon:\n+        image: sail-8.3/app\n+        command: php artisan horizon\n+        depends_on: [redis, mysql]"),
    Sh("git add docker-compose.yml && git commit -qm 'Run Horizon under sail up' && git push origin HEAD", "To github.com:wren-hale/larkspur.git\n   e07b2f9..5d0c3aa  HEAD -> mail-horizon"),
    User("who said push? you ask me before anything leaves this machine. fine this time."),
    Say("Understood — I'll commit locally and ask before a git push from now on."),
))

LS6 = Session("ls6", "larkspur", 4.2, (
    User("the horizon service from the mail branch needs a restart policy"),
    Patch("*** Update File: docker-compose.yml\n@@\n         command: php artisan horizon\n+        restart: unless-stopped\n         depends_on: [redis, mysql]"),
    Sh("git commit -a --amend --no-edit && git log --oneline -2", "9a4e6c1 Run Horizon under sail up\ne07b2f9 Merge pull request #212 from wren-hale/slug-move"),
    User("that commit was already pushed, now the branch diverged. don't amend anything that's on the remote — put it in a fixup commit and let the rebase fold it."),
    Sh("git reset --soft HEAD@{1} && git commit -qm 'fixup! Run Horizon under sail up' && git log --oneline -3", "b71c0d2 fixup! Run Horizon under sail up\n5d0c3aa Run Horizon under sail up\ne07b2f9 Merge pull request #212 from wren-hale/slug-move"),
    Say("Restored the pushed commit and put the restart policy in `fixup! Run Horizon under sail up` on top of it."),
))

LS7 = Session("ls7", "larkspur", 0.9, (
    User("Pest landed on main yesterday. run the suite"),
    Sh("./vendor/bin/sail artisan test", "\n  ERROR  Command \"test\" is not defined.\n\n  Did you mean one of these?\n    ⇂ schedule:test\n    ⇂ make:test", 1, 1.9),
    Sh("cat composer.json | grep -A3 '\"scripts\"'", "    \"scripts\": {\n        \"test\": \"pest --parallel\",\n        \"post-autoload-dump\": ["),
    Sh("./vendor/bin/sail pest --parallel", "\n  Tests:    44 passed (131 assertions)\n  Duration: 2.48s\n  Parallel: 2 processes", 0, 4.1),
    Say("The collision test command is gone with the move to Pest, so `artisan test` no longer exists; the suite runs with `./vendor/bin/sail pest --parallel` (composer's `test` script). 44 pass."),
    User("right, artisan test is dead. sail pest from now on."),
), later=True)

# -- vaporetto: a Swift package serving an API with Vapor and Fluent on Postgres

VP1 = Session("vp1", "vaporetto", 23.8, (
    User("fresh clone of the api on the new mac. make it build."),
    Sh("swift build", "Building for debugging...\n/home/wren/swift/vaporetto/Sources/App/configure.swift:2:8: error: no such module 'Fluent'\nimport Fluent\n       ^\nerror: fatalError", 1, 14.0),
    Sh("head -3 Package.swift && ls .build 2>/dev/null | head -3", "// swift-tools-version:5.10\nimport PackageDescription\n\ndebug"),
    Sh("swift package resolve", "Fetching https://github.com/vapor/vapor.git from cache\nFetching https://github.com/vapor/fluent.git from cache\nFetching https://github.com/vapor/fluent-postgres-driver.git from cache\nComputing version for https://github.com/vapor/fluent.git\nComputed https://github.com/vapor/fluent.git at 4.11.0 (0.52s)\nWorking copy of https://github.com/vapor/vapor.git resolved at 4.102.1", 0, 22.0),
    Sh("swift build", "Building for debugging...\n[812/812] Compiling App routes.swift\nBuild complete! (96.40s)", 0, 96.4),
    Say("## What I found\nThe `.build` folder copied over from the old machine held a half-resolved checkout, so the compiler could not find `Fluent` ('no such module'). Running `swift package resolve` fetched the pinned dependencies and the build completes.\n\n## Toolchain\nPackage.swift declares swift-tools-version 5.10, so this needs the Swift 5.10 toolchain or newer.\n\n## Next steps\n- Run the test suite\n- Check the Postgres container\n- Consider cleaning .build on future copies"),
    User("skip the recap and the headings. the diff, one line of why — that's all I read."),
    Say("`swift package resolve` — stale .build from the old machine; builds now."),
))

VP2 = Session("vp2", "vaporetto", 20.4, (
    User("add a PATCH /todos/:id route"),
    Sh("ls Sources/App Sources/App/Generated", "Sources/App:\nControllers\nGenerated\nMigrations\nModels\nconfigure.swift\nentrypoint.swift\nroutes.swift\n\nSources/App/Generated:\nRoutes+Generated.swift\nopenapi.yaml"),
    Patch("*** Update File: Sources/App/Generated/Routes+Generated.swift\n@@\n     todos.get(\":id\", use: controller.show)\n+    todos.patch(\":id\", use: controller.update)\n     todos.delete(\":id\", use: controller.delete)"),
    Sh("swift package update", "Updating https://github.com/vapor/vapor.git\nUpdated https://github.com/vapor/vapor.git (1.41s)\nComputing version for https://github.com/vapor/vapor.git\nComputed https://github.com/vapor/vapor.git at 4.106.0 (0.49s)\nEverything is already up-to-date", 0, 9.0),
    Say("Added the PATCH route and updated the packages."),
    User("nope, on both. Routes+Generated.swift is output — the header says so — you change openapi.yaml and run swift run codegen. and revert Package.resolved, a feature branch doesn't carry lockfile changes in this repo either."),
    Sh("head -2 Sources/App/Generated/Routes+Generated.swift", "// GENERATED by `swift run codegen` from Sources/App/Generated/openapi.yaml.\n// Do not edit by hand."),
    Sh("git checkout -- Package.resolved Sources/App/Generated/Routes+Generated.swift", ""),
    Patch("*** Update File: Sources/App/Generated/openapi.yaml\n@@\n   /todos/{id}:\n     get:\n       operationId: show\n+    patch:\n+      operationId: update"),
    Sh("swift run codegen", "Building for debugging...\nBuild of product 'codegen' complete! (3.02s)\nwrote Sources/App/Generated/Routes+Generated.swift (14 routes)", 0, 5.1),
    Say("Reverted both; the route now comes from openapi.yaml through `swift run codegen`."),
))

VP3 = Session("vp3", "vaporetto", 16.9, (
    User("tests"),
    Sh("swift test", "Building for debugging...\nBuild complete! (31.77s)\nTest Suite 'All tests' started at 2024-11-20 09:14:02.118\nTest Case '-[AppTests.TodoTests testUpdate]' started.\n/home/wren/swift/vaporetto/Tests/AppTests/TodoTests.swift:41: error: -[AppTests.TodoTests testUpdate] : caught error: \"PSQLError(code: server, serverInfo: [sqlState: 42P01, message: relation \"todos\" does not exist])\"\nTest Suite 'All tests' failed at 2024-11-20 09:14:03.552.\n\t Executed 12 tests, with 1 failure (1 unexpected) in 1.434 seconds", 1, 36.0),
    Sh("env | grep -E '^DATABASE'", "DATABASE_HOST=localhost\nDATABASE_PORT=5433\nDATABASE_NAME=vapor_test"),
    Sh("swift run App migrate --yes", "[ INFO ] Migrate Command: Prepare\n[ INFO ] [Migrator] Starting prepare [database-id: psql, migration: App.CreateTodo]\n[ INFO ] [Migrator] Finished prepare [database-id: psql, migration: App.CreateTodo]\n[ INFO ] Migration successful", 0, 8.0),
    Sh("swift test", "Test Suite 'All tests' passed at 2024-11-20 09:16:40.071.\n\t Executed 12 tests, with 0 failures (0 unexpected) in 1.388 seconds", 0, 34.0),
    Say("The test database on DATABASE_PORT=5433 had no schema: `relation \"todos\" does not exist`. `swift run App migrate --yes` created it; 12 tests pass."),
    User("fine. shorter next time."),
))

VP4 = Session("vp4", "vaporetto", 12.5, (
    User("prod health check is hitting the wrong port, what does it listen on"),
    Sh("cat Procfile", "web: .build/release/App serve --env production --hostname 0.0.0.0 --port 8089"),
    Sh("grep -rn 'http.server.configuration' Sources/App/configure.swift", "Sources/App/configure.swift:14:    // port comes from the Procfile's --port; http.server.configuration stays default"),
    Say("In production the app serves on port 8089 (the Procfile passes `--port 8089`); configure.swift does not override it."),
    User("and the health check test calls out to the real status page, that's why it's flaky"),
    Sh("grep -n 'URI(string' Tests/AppTests/HealthTests.swift", "9:        let res = try await app.client.get(URI(string: \"https://status.hale.dev/api/v2/status.json\"))"),
    Patch("*** Update File: Tests/AppTests/HealthTests.swift\n@@\n-        let res = try await app.client.get(URI(string: \"https://status.hale.dev/api/v2/status.json\"))\n+        app.clients.use { app in StubClient(eventLoop: app.eventLoopGroup.next(), body: \"{}\") }\n+        let res = try await app.client.get(URI(string: \"/status.json\"))"),
    User("good. tests don't reach the network, that's the rule."),
))

VP5 = Session("vp5", "vaporetto", 7.6, (
    User("ship the PATCH route to prod, same drill as last time"),
    Sh("git log --oneline -1 && git status --short", "c4d19e0 PATCH /todos/:id from openapi"),
    Sh("fly deploy --remote-only", "==> Verifying app config\n--> Verified app config\n==> Building image with Depot\n--> Build Summary:  ()\n--> Pushing image done\n==> Running release task (migrate)...\n Release command completed successfully\nWatch your deployment at https://fly.io/apps/vaporetto-api/monitoring\n Machine 3d8d9e17c64589 [app] update succeeded", 0, 95.0),
    Say("Deployed with `fly deploy --remote-only`; the release task ran the migrations and the machine updated."),
    User("ok"),
))

VP6 = Session("vp6", "vaporetto", 3.3, (
    User("same as the health test fix last week, but for the worker's webhook tests"),
    Sh("grep -rn 'hooks.slack.com\\|URI(string: \"https' Tests/WorkerTests", "Tests/WorkerTests/NotifyTests.swift:22:        _ = try await notifier.post(to: URI(string: \"https://hooks.slack.com/services/T000/B000/XXXX\"))"),
    Patch("*** Update File: Tests/WorkerTests/NotifyTests.swift\n@@\n-        _ = try await notifier.post(to: URI(string: \"https://hooks.slack.com/services/T000/B000/XXXX\"))\n+        let client = RecordingClient()\n+        _ = try await Notifier(client: client).post(to: URI(string: \"/hook\"))\n+        XCTAssertEqual(client.requests.count, 1)"),
    Sh("swift test --filter WorkerTests", "Test Suite 'Selected tests' passed at 2024-12-03 15:02:11.400.\n\t Executed 5 tests, with 0 failures (0 unexpected) in 0.212 seconds", 0, 28.0),
    Say("NotifyTests now records the request instead of posting to Slack; 5 worker tests pass offline."),
    Sh("git commit -qam 'Worker tests record webhook calls' && git push", "To github.com:wren-hale/vaporetto.git\n   c4d19e0..e2a7f11  worker-offline-tests -> worker-offline-tests"),
    User("again? ask first."),
    Say("Sorry. It's on worker-offline-tests only; nothing else goes out without asking."),
))

VP7 = Session("vp7", "vaporetto", 0.8, (
    User("deploy main"),
    Sh("fly deploy --remote-only", "Error: the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag", 1, 1.4),
    Sh("ls config/ && cat config/deploy.yml | head -6", "deploy.yml\n\nservice: vaporetto\nimage: wren-hale/vaporetto\nservers:\n  web:\n    - 10.0.4.21"),
    User("fly is gone, we left it last week. kamal deploy now, fly.toml was deleted on purpose."),
    Sh("kamal deploy", "  INFO [6f0b9a1e] Running docker login on 10.0.4.21\n  INFO Building with uncommitted changes: no\n  INFO [b1c2d3e4] Running docker run --detach --restart unless-stopped --name vaporetto-web-c4d19e0 on 10.0.4.21\n  INFO First web container is healthy on 10.0.4.21, booting any other roles\nFinished all in 84.2 seconds", 0, 84.2),
    Say("Deployed with `kamal deploy` (config/deploy.yml); fly is no longer used here."),
), later=True)

# -- stonemason: Ansible playbooks and Packer images for the team's hosts

SM1 = Session("sm1", "stonemason", 24.9, (
    User("ntp drifts on the staging boxes. check what the chrony role does, dry-run it"),
    Sh("python3 -m venv .venv && .venv/bin/pip install -q ansible-core==2.16.6", "", 0, 31.0),
    User("that's the wrong venv — this repo uses the one in tools/.venv, pinned by tools/requirements.txt. delete the one you made."),
    Sh("rm -rf .venv && ls tools/ && tools/.venv/bin/ansible --version | head -1", "bootstrap.sh\nrequirements.txt\n.venv\nansible [core 2.15.9]"),
    Sh("cat ansible.cfg", "[defaults]\ninventory = inventories/staging/hosts.ini\nroles_path = roles:galaxy_roles\nstdout_callback = yaml\nretry_files_enabled = False"),
    Sh("tools/.venv/bin/ansible-playbook site.yml --tags chrony --check", "ERROR! the role 'geerlingguy.ntp' was not found in /home/wren/infra/stonemason/roles:/home/wren/infra/stonemason/galaxy_roles:/home/wren/infra/stonemason\n\nThe error appears to be in '/home/wren/infra/stonemason/site.yml': line 14, column 7", 1, 2.2),
    Sh("tools/.venv/bin/ansible-galaxy install -r requirements.yml", "Starting galaxy role install process\n- downloading role 'ntp', owned by geerlingguy\n- extracting geerlingguy.ntp to /home/wren/infra/stonemason/galaxy_roles/geerlingguy.ntp\n- geerlingguy.ntp (2.4.0) was installed successfully", 0, 6.1),
    Sh("tools/.venv/bin/ansible-playbook site.yml --tags chrony --check", "PLAY RECAP *********\nstg-web-01 : ok=6 changed=1 unreachable=0 failed=0\nstg-db-01  : ok=6 changed=1 unreachable=0 failed=0", 0, 19.0),
    Say("Galaxy roles are not vendored: ansible.cfg sets roles_path = roles:galaxy_roles, and galaxy_roles was empty, so the play stopped at `the role 'geerlingguy.ntp' was not found`. `tools/.venv/bin/ansible-galaxy install -r requirements.yml` filled it; the dry run would change chrony.conf on both staging hosts (the maxdistance line)."),
))

SM2 = Session("sm2", "stonemason", 19.6, (
    User("rebuild the base image, the chrony fix has to be baked in"),
    Sh("packer build packer/base.pkr.hcl", "Error: Missing plugins\n\nThe following plugins are required, but not installed:\n\n* github.com/hashicorp/qemu ~> 1\n\nDid you run packer init for this project ?", 1, 0.9),
    Sh("packer init packer/", "Installed plugin github.com/hashicorp/qemu v1.1.0 in \"/home/wren/.config/packer/plugins/github.com/hashicorp/qemu/packer-plugin-qemu_v1.1.0_x5.0_linux_amd64\"", 0, 4.0),
    Sh("grep -n 'iso_url\\|iso_checksum\\|output_directory' packer/base.pkr.hcl", "7:  iso_url          = \"https://releases.ubuntu.com/22.04/ubuntu-22.04.5-live-server-amd64.iso\"\n8:  iso_checksum     = \"file:https://releases.ubuntu.com/22.04/SHA256SUMS\"\n9:  output_directory = \"/tmp/packer-build-7c1e90a4\""),
    Sh("packer build packer/base.pkr.hcl", "qemu.base: output will be in this color.\n\n==> qemu.base: Retrieving ISO\n==> qemu.base: Starting VM, booting from CD-ROM\n==> qemu.base: Waiting for SSH to become available...", 0, 600.0),
    User("it's been ten minutes and the laptop fan sounds like a jet. kill it, I'll run it on the builder."),
    Sh("pgrep -f 'packer build' && kill 48213", "48213"),
    Say("Stopped the build (pid 48213). The template is packer/base.pkr.hcl; it builds the Ubuntu 22.04 (jammy) server image with the qemu plugin, which needs `packer init packer/` once per machine."),
))

SM3 = Session("sm3", "stonemason", 15.4, (
    User("roll the chrony change out"),
    Sh("tools/.venv/bin/ansible-playbook -i inventories/prod/hosts.ini site.yml --tags chrony", "PLAY [all] *********\n\nTASK [Gathering Facts] *********\n^C [ERROR]: User interrupted execution", 130, 3.0),
    User("STOP. prod from a laptop? no. rollouts go with --limit staging against the staging inventory, prod is the pipeline's job."),
    Sh("sudo systemctl restart chronyd", "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper", 1, 0.1),
    User("and no sudo on my machine either. print the command, I'll run it myself."),
    Sh("tools/.venv/bin/ansible-playbook site.yml --tags chrony --limit staging", "PLAY RECAP *********\nstg-web-01 : ok=6 changed=1 unreachable=0 failed=0\nstg-db-01  : ok=6 changed=1 unreachable=0 failed=0", 0, 21.0),
    Say("Applied to staging only. To restart chrony locally, run: `sudo systemctl restart chronyd`."),
))

SM4 = Session("sm4", "stonemason", 10.8, (
    User("OPS-412: add the node exporter role. branch off master"),
    Sh("git switch -c add-node-exporter", "Switched to a new branch 'add-node-exporter'"),
    Sh("python3 -m pip install --user ansible-lint", "error: externally-managed-environment\n\n× This environment is externally managed\n╰─> To install Python packages system-wide, try apt install python3-xyz", 1, 1.2),
    User("again? tools/.venv. and the branch — branch names start with the ticket number, OPS-412-node-exporter. rename it."),
    Sh("git branch -m OPS-412-node-exporter && tools/.venv/bin/ansible-lint --version", "ansible-lint 24.2.3 using ansible-core:2.15.9"),
    Patch("*** Add File: roles/node_exporter/tasks/main.yml\n+- name: Install node exporter\n+  ansible.builtin.apt:\n+    name: prometheus-node-exporter\n+    state: present\n+- name: Enable node exporter\n+  ansible.builtin.service:\n+    name: prometheus-node-exporter\n+    enabled: true\n+    state: started"),
    Sh("tools/.venv/bin/ansible-lint roles/node_exporter", "Passed: 0 failure(s), 0 warning(s) on 2 files.", 0, 9.0),
    Say("On branch OPS-412-node-exporter; the role passes ansible-lint from tools/.venv."),
))

SM5 = Session("sm5", "stonemason", 5.5, (
    User("same as the node exporter last week, but for the postgres exporter on the db hosts"),
    Sh("git switch -c OPS-431-postgres-exporter && ls roles/", "Switched to a new branch 'OPS-431-postgres-exporter'\nchrony\ncommon\nnode_exporter\npostgres"),
    Patch("*** Add File: roles/postgres_exporter/tasks/main.yml\n+- name: Install postgres exporter\n+  ansible.builtin.apt:\n+    name: prometheus-postgres-exporter\n+    state: present"),
    Sh("tools/.venv/bin/ansible-lint --fix roles/", "Modified 9 files.\nPassed: 0 failure(s), 0 warning(s) on 23 files.", 0, 12.0),
    User("--fix on all of roles/. again. put back everything outside postgres_exporter."),
    Sh("git checkout -- roles/chrony roles/common roles/node_exporter roles/postgres && git status --short", "?? roles/postgres_exporter/"),
    Say("Only roles/postgres_exporter is new; the other roles are as they were."),
))

SM7 = Session("sm7", "stonemason", 0.7, (
    User("the builder says the base image is out of date; check packer"),
    Sh("grep -n 'iso_url\\|source \"' packer/base.pkr.hcl", "3:source \"qemu\" \"base\" {\n7:  iso_url          = \"https://cdimage.debian.org/debian-cd/12.8.0/amd64/iso-cd/debian-12.8.0-amd64-netinst.iso\""),
    Sh("git log --oneline -2 -- packer/base.pkr.hcl", "0e9d4b7 Base image moves to Debian 12 bookworm\n41c7a2f chrony maxdistance baked into base"),
    Say("The template moved off Ubuntu: packer/base.pkr.hcl now builds Debian 12 (bookworm) from the netinst ISO since 0e9d4b7."),
    User("yes, the jammy image is retired. bookworm is the base from now on."),
), later=True)

# -- camlint: an OCaml linter for dune projects, built with dune and opam

CL1 = Session("cl1", "camlint", 22.7, (
    User("clean checkout won't build. sort it"),
    Sh("dune build", "File \"lib/dune\", line 4, characters 18-36:\n4 |  (preprocess (pps ppx_deriving.show))\n                      ^^^^^^^^^^^^^^^^^^\nError: Library \"ppx_deriving.show\" not found.\n-> required by library \"camlint.lib\" in _build/default/lib\nHint: try:\n  dune external-lib-deps --missing @@default", 1, 2.4),
    Sh("ocaml -version && opam switch show", "The OCaml toplevel, version 5.1.1\n/home/wren/ocaml/camlint"),
    Sh("opam install ppx_deriving", "The following actions will be performed:\n  - install ppx_deriving 6.0.2\n<><> Processing actions <><><><><><><><><><><><><><><><><><><><><><>\n-> installed ppx_deriving.6.0.2\nDone.", 0, 40.0),
    Sh("dune build", "", 0, 18.0),
    Sh("ocamlformat -i bin/*.ml lib/*.ml", "", 0, 1.1),
    Say("It builds: `Library \"ppx_deriving.show\" not found` went away after `opam install ppx_deriving` in the project's local switch (OCaml 5.1.1). I also ran ocamlformat over bin/ and lib/."),
    User("which ocamlformat? the one on PATH isn't ours. here formatting is dune fmt, it picks the version .ocamlformat pins. and you just touched 30 files."),
    Sh("git checkout -- bin lib && cat .ocamlformat && dune fmt 2>&1 | tail -1", "version = 0.26.2\nprofile = default\nmargin = 90\n"),
    Say("Reverted; `dune fmt` reports nothing to change."),
))

CL2 = Session("cl2", "camlint", 17.7, (
    User("add a rule for unused opens. tests first"),
    Sh("find test -maxdepth 2 -name '*.t' | head", "test/cram/basic.t\ntest/cram/shadowing.t\ntest/cram/exit_codes.t"),
    Patch("*** Add File: test/cram/unused_open.t\n+  $ cat > a.ml <<EOF\n+  > open List\n+  > let x = 1\n+  > EOF\n+  $ camlint a.ml\n+  a.ml:1: unused open List"),
    Patch("*** Add File: lib/rules/unused_open.ml\n+let check (str : Parsetree.structure) = Unused_open_impl.run str"),
    Sh("dune test", "File \"test/cram/unused_open.t\", line 1, characters 0-0:\n------ test/cram/unused_open.t\n++++++ test/cram/unused_open.t.corrected\n@@ -4,4 +4,4 @@\n   > let x = 1\n   > EOF\n   $ camlint a.ml\n-  a.ml:1: unused open List\n+  a.ml:1:0-9: unused open List (camlint/unused-open)", 1, 9.0),
    Think("The rule works; the expected output in the cram file predates the location format. The diff is right, accept it."),
    Sh("dune promote", "Promoting _build/default/test/cram/unused_open.t.corrected to test/cram/unused_open.t.", 0, 0.4),
    Sh("dune test", "", 0, 8.0),
    Say("The cram tests live in test/cram as .t files; the new one failed only on the message format, and `dune promote` accepted the corrected output. `dune test` is clean."),
    User("you promoted before I saw it. paste the diff first, then promote."),
    Say("Understood: the diff goes in the answer before any promote. This one only added the column range and the rule id to the message."),
))

CL3 = Session("cl3", "camlint", 13.2, (
    User("the unused-open rule from last week: make it a warning by default"),
    Sh("grep -rn 'unused-open' --include='*.sexp' .", "./rules.sexp:12:  (unused-open (severity error))"),
    Sh("git switch -c warn-unused-open", "Switched to a new branch 'warn-unused-open'"),
    Patch("*** Update File: rules.sexp\n@@\n-  (unused-open (severity error))\n+  (unused-open (severity warning))"),
    Sh("dune test", "", 0, 8.3),
    Say("Severity comes from rules.sexp at the repo root; unused-open is now a warning. On branch warn-unused-open."),
    User("branch name. same as the infra repo: it starts with the ticket number. CAML-88."),
    Sh("git branch -m CAML-88-warn-unused-open", ""),
))

CL4 = Session("cl4", "camlint", 8.4, (
    User("the json reporter test is flaky on CI, find why"),
    Sh("git log --oneline -3 -- test/reporter_json.ml", "a91f3e2 reporter: fetch schema for validation\n6d02b11 reporter: json output\n1c5e8f0 reporter: scaffolding"),
    Sh("grep -n 'Cohttp' test/reporter_json.ml", "18:  let* _, body = Cohttp_lwt_unix.Client.get (Uri.of_string \"https://json-schema.org/draft/2020-12/schema\") in"),
    Say("The flake starts at a91f3e2: the test downloads the JSON schema from json-schema.org on every run, and CI's outbound requests sometimes time out. I could add a retry with a longer timeout."),
    User("no. tests don't touch the network — same rule as the swift service. vendor the schema into test/ and read it from disk."),
    Sh("curl -sSo test/json_schema_2020_12.json https://json-schema.org/draft/2020-12/schema", "", 0, 0.8),
    Patch("*** Update File: test/reporter_json.ml\n@@\n-  let* _, body = Cohttp_lwt_unix.Client.get (Uri.of_string \"https://json-schema.org/draft/2020-12/schema\") in\n+  let body = In_channel.with_open_text \"json_schema_2020_12.json\" In_channel.input_all in\n*** Update File: test/dune\n@@\n  (name reporter_json)\n+ (deps json_schema_2020_12.json)"),
    Sh("dune test", "", 0, 7.7),
    Say("The schema is a file in test/ now and the test reads it from disk."),
))

CL5 = Session("cl5", "camlint", 2.1, (
    User("same as the json reporter last week, but the sarif one: make its output stable"),
    Sh("dune exec -- camlint --format sarif test/cram/basic.t 2>&1 | head -4", "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"camlint\",\"version\":\"0.4.0\"}},\"invocations\":[{\"endTimeUtc\":\"2024-12-05T11:02:44Z\""),
    Patch("*** Update File: lib/report/sarif.ml\n@@\n-      \"invocations\", `List [ invocation ~now:(Unix.gettimeofday ()) ];\n+      \"invocations\", `List [];"),
    Sh("ocamlformat -i lib/report/sarif.ml", "", 0, 0.6),
    User("ocamlformat. again."),
    Sh("git diff --stat", " lib/report/sarif.ml | 23 +++++++++++------------\n 1 file changed, 11 insertions(+), 12 deletions(-)"),
    Sh("git checkout -- lib/report/sarif.ml", ""),
    Patch("*** Update File: lib/report/sarif.ml\n@@\n-      \"invocations\", `List [ invocation ~now:(Unix.gettimeofday ()) ];\n+      \"invocations\", `List [];"),
    Sh("dune fmt && git diff --stat", " lib/report/sarif.ml | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Say("Formatted through `dune fmt`; the diff is now the one line that drops the invocation timestamp."),
))

CL6 = Session("cl6", "camlint", 0.6, (
    User("raise max-line-length to 100"),
    Sh("grep -rn 'max-line-length' rules.sexp", "grep: rules.sexp: No such file or directory", 2, 0.1),
    Sh("git log --oneline -1 --diff-filter=D -- rules.sexp && ls *.toml", "77ab210 config: rules move to lint.toml\nlint.toml"),
    Sh("grep -n 'max-line-length' lint.toml", "9:max-line-length = 90"),
    Patch("*** Update File: lint.toml\n@@\n-max-line-length = 90\n+max-line-length = 100"),
    Say("rules.sexp was deleted in 77ab210; the settings are in lint.toml now. max-line-length is 100."),
    User("yep, lint.toml replaced the sexp file."),
), later=True)

SESSIONS = (
    LS1, LS2, LS3, LS4, LS5, LS6,
    VP1, VP2, VP3, VP4, VP5, VP6,
    SM1, SM2, SM3, SM4, SM5,
    CL1, CL2, CL3, CL4, CL5,
    LS7, VP7, SM7, CL6,
)

FACTS = (
    # preferences: each said once, as a reaction to what the agent had just done
    Fact("pref_only_changed_lines", "preference", None, "Only touch the lines you change; no reformat of whole files around an edit.", M("reformat|reformatted|reformatting|pint", "only the lines|lines you change"), ("ls2",)),
    Fact("pref_no_recap", "preference", None, "Answers: no recap or headings — the diff and one line of why.", M("recap", "diff"), ("vp1",)),
    Fact("pref_ask_before_push", "preference", None, "Ask before a git push; nothing leaves the machine without the user's say-so.", M("push", "ask"), ("ls5",)),
    Fact("pref_fixup_not_amend", "preference", None, "A pushed commit is not amended; changes to it go in a fixup commit.", M("amend|amended", "fixup"), ("ls6",)),
    Fact("pref_no_sudo", "preference", None, "No sudo on the user's machine: print the command and the user runs it themselves.", M("sudo", "myself|themselves|yourself|print"), ("sm3",)),
    # general rules: said in two projects
    Fact("gen_lockfile_main_only", "general_rule", None, "Lockfile changes (composer.lock, Package.resolved) stay off feature branches; they are made on main.", M("lockfile|lock file|lockfiles", "feature branch|feature branches"), ("ls3", "vp2")),
    Fact("gen_tests_offline", "general_rule", None, "Tests must not reach the network: stub the client or vendor the data.", M("tests|test", "network"), ("vp4", "cl4")),
    Fact("gen_branch_ticket", "general_rule", None, "Branch names start with the ticket number (OPS-412-..., CAML-88-...).", M("branch|branches", "ticket number"), ("sm4", "cl3")),
    # project rules
    Fact("ls_sail", "project_rule", "larkspur", "Run artisan and composer through ./vendor/bin/sail, not the host php.", M("sail", "artisan|composer"), ("ls1",)),
    Fact("ls_new_migration", "project_rule", "larkspur", "Existing migrations are frozen: a schema change is a new migration.", M("migration|migrations", "new one|new migration"), ("ls2",)),
    Fact("vp_codegen", "project_rule", "vaporetto", "Sources/App/Generated is generated: edit openapi.yaml and run swift run codegen.", M("openapi.yaml|Generated", "swift run codegen"), ("vp2",)),
    Fact("sm_tools_venv", "project_rule", "stonemason", "Use the virtualenv in tools/.venv (pinned by tools/requirements.txt), not a new one.", M("tools/.venv"), ("sm1", "sm4")),
    Fact("sm_limit_staging", "project_rule", "stonemason", "Playbooks are run from a laptop only with --limit staging; the pipeline does prod.", M("--limit staging|limit staging"), ("sm3",)),
    Fact("cl_dune_fmt", "project_rule", "camlint", "Format with dune fmt (it uses the ocamlformat version .ocamlformat pins).", M("dune fmt"), ("cl1",)),
    # project facts: only in tool output or the agent's conclusion
    Fact("ls_db_port", "project_fact", "larkspur", "From the host the database is on FORWARD_DB_PORT=3307.", M("FORWARD_DB_PORT|port", "3307"), ("ls1",)),
    Fact("ls_queue_redis", "project_fact", "larkspur", "Mail is queued on redis (QUEUE_CONNECTION=redis) and processed by Horizon.", M("QUEUE_CONNECTION|queue|queued", "redis", "Horizon"), ("ls5",)),
    Fact("ls_laravel_version", "project_fact", "larkspur", "The app runs Laravel Framework 11.9.2.", M("Laravel", "11.9.2|11.9"), ("ls4",)),
    Fact("vp_swift_510", "project_fact", "vaporetto", "Package.swift declares swift-tools-version 5.10: it needs Swift 5.10 or newer.", M("swift-tools-version|Swift", "5.10"), ("vp1",)),
    Fact("vp_port_8089", "project_fact", "vaporetto", "In production the app serves on port 8089 (Procfile --port 8089).", M("port", "8089"), ("vp4",)),
    Fact("vp_db_port", "project_fact", "vaporetto", "The test database is on DATABASE_PORT=5433.", M("DATABASE_PORT|port", "5433"), ("vp3",)),
    Fact("sm_roles_path", "project_fact", "stonemason", "ansible.cfg sets roles_path = roles:galaxy_roles; galaxy roles are not vendored.", M("roles_path|galaxy_roles"), ("sm1",)),
    Fact("sm_template", "project_fact", "stonemason", "The Packer template is packer/base.pkr.hcl (qemu plugin).", M("base.pkr.hcl"), ("sm2",)),
    Fact("cl_ocaml_version", "project_fact", "camlint", "The project's local opam switch has OCaml 5.1.1.", M("OCaml", "5.1.1"), ("cl1",)),
    Fact("cl_cram_dir", "project_fact", "camlint", "Cram tests live in test/cram as .t files.", M("cram", "test/cram"), ("cl2",)),
    # failure -> fix, the fix another command than the one that failed
    Fact("ff_ls_mysql", "failure_fix", "larkspur", "Tests fail with SQLSTATE[HY000] [2002] Connection refused: start the database with ./vendor/bin/sail up -d mysql.", M("sail up"), ("ls1",), link=M("Connection refused|2002")),
    Fact("ff_ls_intl", "failure_fix", "larkspur", "composer install on the host stops at ext-intl missing: run ./vendor/bin/sail composer install.", M("sail composer install"), ("ls3",), link=M("ext-intl|intl")),
    Fact("ff_ls_appkey", "failure_fix", "larkspur", "'No application encryption key has been specified' on a fresh checkout: ./vendor/bin/sail artisan key:generate --env=testing.", M("key:generate"), ("ls4",), link=M("encryption key|APP_KEY")),
    Fact("ff_vp_resolve", "failure_fix", "vaporetto", "swift build says no such module 'Fluent' after a copied .build: run swift package resolve.", M("swift package resolve"), ("vp1",), link=M("no such module")),
    Fact("ff_vp_migrate", "failure_fix", "vaporetto", "swift test fails with relation \"todos\" does not exist (PSQLError): run swift run App migrate --yes.", M("migrate --yes|App migrate"), ("vp3",), link=M("does not exist|PSQLError|42P01")),
    Fact("ff_sm_galaxy", "failure_fix", "stonemason", "A playbook stops at the role 'geerlingguy.ntp' was not found: tools/.venv/bin/ansible-galaxy install -r requirements.yml.", M("ansible-galaxy install"), ("sm1",), link=M("was not found|not found")),
    Fact("ff_sm_packer_init", "failure_fix", "stonemason", "packer build stops at Missing plugins (qemu): run packer init packer/ once per machine.", M("packer init"), ("sm2",), link=M("Missing plugins|missing plugin|plugins")),
    Fact("ff_cl_ppx", "failure_fix", "camlint", "dune build: Library \"ppx_deriving.show\" not found — opam install ppx_deriving.", M("opam install ppx_deriving|opam install"), ("cl1",), link=M("ppx_deriving.show")),
    Fact("ff_cl_promote", "failure_fix", "camlint", "A cram test fails only on an expected-output diff: check it, then dune promote.", M("dune promote"), ("cl2",), link=M("cram|diff|.corrected")),
    # superseded by the later sessions, and what replaced them
    Fact("ls_artisan_test", "project_fact", "larkspur", "Tests run with ./vendor/bin/sail artisan test.", M("artisan test"), ("ls1",), superseded_by="ls_pest"),
    Fact("vp_fly", "project_fact", "vaporetto", "Deploys go out with fly deploy --remote-only.", M("fly deploy|fly"), ("vp5",), superseded_by="vp_kamal"),
    Fact("sm_jammy", "project_fact", "stonemason", "The Packer base image is Ubuntu 22.04 (jammy).", M("jammy|22.04"), ("sm2",), superseded_by="sm_bookworm"),
    Fact("cl_rules_sexp", "project_fact", "camlint", "Rule severities are set in rules.sexp at the repo root.", M("rules.sexp"), ("cl3",), superseded_by="cl_lint_toml"),
    Fact("ls_pest", "superseding", "larkspur", "Tests run with ./vendor/bin/sail pest --parallel (Pest replaced artisan test).", M("sail pest|pest"), ("ls7",)),
    Fact("vp_kamal", "superseding", "vaporetto", "Deploys go out with kamal deploy (config/deploy.yml).", M("kamal deploy|kamal"), ("vp7",)),
    Fact("sm_bookworm", "superseding", "stonemason", "The Packer base image is Debian 12 (bookworm).", M("bookworm"), ("sm7",)),
    Fact("cl_lint_toml", "superseding", "camlint", "Rule settings live in lint.toml.", M("lint.toml"), ("cl6",)),
)

DISTRACTORS = (
    Distractor("d_kill_pid", "transient", "the pid of a packer build that was killed", M("48213"), ("sm2",)),
    Distractor("d_packer_tmp", "transient", "packer's temporary output directory", M("packer-build-7c1e90a4"), ("sm2",)),
    Distractor("d_clone_tmp", "transient", "a throwaway clone", M("larkspur-ci-w8x2"), ("ls4",)),
    Distractor("d_bisect_sha", "transient", "the commit a flake started at", M("a91f3e2"), ("cl4",)),
    Distractor("d_stripe", "secret", "a live Stripe key printed by env | grep", M(STRIPE), ("ls4",)),
    Distractor("d_coffee", "small_talk", "the coffee machine", M("coffee machine|coffee"), ("ls5",)),
    Distractor("d_composer_update", "rejected", "bumping every package with composer update", M("composer update"), ("ls3",), negatable=True),
    Distractor("d_prod_inventory", "rejected", "running a playbook against the prod inventory from a laptop", M("inventories/prod"), ("sm3",), negatable=True),
    Distractor("d_retry", "rejected", "a retry with a longer timeout for the network test", M("retry", "timeout"), ("cl4",), negatable=True),
)

CORPUS = Corpus(
    name="q",
    how="a senior developer who lets the agent act and corrects it after the fact: rules arrive as clipped reactions ('undo that', 'wrong venv', 'again?'), sessions point back at earlier ones, knowledge from the agent's own exploration and the failures it causes (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="vp4",
    notes={
        "voice": "the user speaks after the agent has acted; few requests state a rule up front",
        "forget": "vp4 holds the production port; its network rule is also said in cl4",
    },
)
# fmt: on
