# Literal command output and dictated messages keep their real line lengths.
# ruff: noqa: E501
"""Corpus G: a developer who dictates to the agent (held out: written after A–F, never run
before it was committed, and never adjusted after a score).

The user talks to Codex through voice-to-text: run-on sentences, little punctuation, numbers
spelled out and misheard words ("pie test", "get hub", "artisan test dash dash parallel",
"see make"), now and then a numbered checklist pasted from a ticket, and corrections of what
was just said ("no wait that's wrong"). The agent finds the project knowledge itself, with
``rg`` in config files, docstrings and TODOs, in ``git log -p`` and ``git blame`` output and in
a tool's ``--help``. Every fact's key terms are spelled correctly somewhere in its session (in
a command, a tool's output or the agent's answer) even when the user mishears them.

Five projects none of A–F has: a PHP/Laravel app (composer, artisan, sail), a C++ library
(CMake, conan, ctest), an Elixir/Phoenix app (mix, ecto, Oban), a Kotlin Android app (gradle)
and a Django app (poetry, celery).
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

HOME = "/home/rosa/projects"
PROJECTS = (
    Project("saltmarsh", f"{HOME}/saltmarsh", "git@github.com:rosa-dev/saltmarsh.git"),
    Project("corvid", f"{HOME}/corvid", "git@gitlab.com:corvid-lib/corvid.git"),
    Project("wicket", f"{HOME}/wicket", "git@github.com:wicket-hq/wicket.git", branch="trunk"),
    Project("marlin", f"{HOME}/marlin", "git@github.com:rosa-dev/marlin-android.git"),
    Project("quokka", f"{HOME}/quokka", "git@github.com:rosa-dev/quokka.git"),
)
APP_KEY = "base64:Qm9yZWFsaXNwYXJhZGlzZTQyIXJhbmRvbWtleQ=="


def session(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    return Session(key, project, days_ago, tuple(steps), later=later)


# fmt: off
# ---------------------------------------------------------------- saltmarsh (Laravel)

S1 = session(
    "s1", "saltmarsh", 26.3,
    User("okay so we are in salt marsh the laravel thing um first job today is figure out why the "
         "nightly invoice mails go out twice and before you change anything at all show me the diff "
         "first and wait till I say okay then apply the patch"),
    Think("Look at how the queue is configured before touching the mail job."),
    Sh("rg -n \"QUEUE_CONNECTION|horizon\" config/ .env.example",
       "config/queue.php:16:    'default' => env('QUEUE_CONNECTION', 'sync'),\n"
       ".env.example:21:QUEUE_CONNECTION=redis\n"
       "config/horizon.php:182:            'connection' => 'redis',\n"
       "config/horizon.php:183:            'queue' => ['mail', 'default'],"),
    Sh("rg -n \"TODO|FIXME\" app/Jobs/SendInvoiceMail.php",
       "app/Jobs/SendInvoiceMail.php:14:    // TODO(rosa): this job is not unique, two workers can pick the same invoice\n"
       "app/Jobs/SendInvoiceMail.php:31:    // FIXME: retry_after in config/queue.php is shorter than the PDF render"),
    Say("Queue workers here run under Horizon with QUEUE_CONNECTION=redis (from .env.example and "
        "config/horizon.php). The double mail comes from SendInvoiceMail not being unique: when the "
        "PDF render takes longer than retry_after a second worker picks the same job. Proposed diff:\n\n"
        "```\n-class SendInvoiceMail implements ShouldQueue\n+class SendInvoiceMail implements ShouldQueue, ShouldBeUnique\n```\n\n"
        "I have not applied it; say okay and I will."),
    User("sorry the dog is barking at the mail carrier again give me a sec okay yes apply it and "
         "um one thing the migrations folder if a migration is already merged to main you do not "
         "edit it you write a new migration that changes the table"),
    Patch("*** Update File: app/Jobs/SendInvoiceMail.php\n@@\n-class SendInvoiceMail implements ShouldQueue\n"
          "+class SendInvoiceMail implements ShouldQueue, ShouldBeUnique"),
    Sh("php artisan test --filter=SendInvoiceMailTest",
       "\n   PASS  Tests\\Feature\\SendInvoiceMailTest\n  ✓ it sends one mail per invoice        0.41s\n\n"
       "  Tests:    1 passed (2 assertions)\n  Duration: 0.63s", secs=2.1),
    Say("Applied: the job is unique per invoice now and the test passes. Noted for migrations: once "
        "a migration is merged it stays as it is, changes go into a new migration."),
    User("cool and while you are at it should we update all the composer packages"),
    Say("I could run `composer update` to bring every package up to its newest allowed version; "
        "that touches composer.lock for all 94 packages."),
    User("no no leave the lock file alone I do not want a composer update in this branch"),
    Say("Understood, composer.lock stays as it is."),
)

S2 = session(
    "s2", "saltmarsh", 22.1,
    User("run the tests with artisan test dash dash parallel that is how we run them in salt marsh "
         "it is a lot faster"),
    Sh("php artisan test --parallel",
       "\n   FAIL  Tests\\Feature\\DashboardTest\n  ⨯ it renders the dashboard\n"
       "  ──────────────────────────────────────────\n"
       "   FAILED  Tests\\Feature\\DashboardTest > it renders the dashboard\n"
       "  Illuminate\\Foundation\\ViteManifestNotFoundException\n\n"
       "  Vite manifest not found at: /home/rosa/projects/saltmarsh/public/build/manifest.json\n\n"
       "  at vendor/laravel/framework/src/Illuminate/Foundation/Vite.php:737\n\n"
       "  Tests:    1 failed, 211 passed (604 assertions)\n  Duration: 9.12s\n  Parallel: 2 processes",
       code=1, secs=11.3),
    Think("The views call @vite; the manifest only exists after a frontend build."),
    Sh("npm run build",
       "> build\n> vite build\n\nvite v5.4.2 building for production...\n✓ 48 modules transformed.\n"
       "public/build/manifest.json             0.31 kB │ gzip: 0.17 kB\n"
       "public/build/assets/app-4bd1c0a2.css  31.02 kB │ gzip: 6.11 kB\n✓ built in 1.84s", secs=4.0),
    Sh("php artisan test --parallel",
       "\n  Tests:    212 passed (606 assertions)\n  Duration: 8.77s\n  Parallel: 2 processes", secs=10.2),
    Say("The Vite manifest not found error (public/build/manifest.json) went away after `npm run build`; "
        "with the assets built, `php artisan test --parallel` passes all 212 tests."),
    User("where does it get the database from in tests it is not touching my local my sequel right"),
    Sh("rg -n \"DB_\" phpunit.xml",
       "phpunit.xml:24:        <env name=\"DB_CONNECTION\" value=\"sqlite\"/>\n"
       "phpunit.xml:25:        <env name=\"DB_DATABASE\" value=\":memory:\"/>"),
    Say("No: phpunit.xml sets DB_CONNECTION=sqlite with DB_DATABASE=:memory:, so the test suite runs "
        "on an in-memory SQLite database and never touches your local MySQL."),
)

S3 = session(
    "s3", "saltmarsh", 18.4,
    User("okay I pulled main there is a new migration for the refunds table run the migrate"),
    Sh("php artisan migrate",
       "\n   Illuminate\\Database\\QueryException \n\n"
       "  SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, SQL: select * from "
       "information_schema.tables where table_schema = 'saltmarsh' and table_name = 'migrations')\n\n"
       "  at vendor/laravel/framework/src/Illuminate/Database/Connection.php:825",
       code=1, secs=1.9),
    Sh("docker ps --format '{{.Names}}'", ""),
    Sh("./vendor/bin/sail up -d",
       "[+] Running 3/3\n ✔ Container saltmarsh-mysql-1  Started\n ✔ Container saltmarsh-redis-1  Started\n"
       " ✔ Container saltmarsh-laravel.test-1  Started", secs=6.5),
    Sh("php artisan migrate",
       "\n   INFO  Running migrations.\n\n"
       "  2026_11_09_101500_add_reason_to_refunds_table ............ 38ms DONE", secs=1.4),
    Say("`php artisan migrate` failed with SQLSTATE[HY000] [2002] Connection refused because the MySQL "
        "container was not running; after `./vendor/bin/sail up -d` the migration ran."),
    User("great uh there is an old queue worker hanging from yesterday kill it and show me what is in "
         "the env file I think the app key got changed"),
    Sh("pgrep -af 'artisan queue:work'", "48213 php artisan queue:work --queue=mail"),
    Sh("kill 48213", ""),
    Sh("rg -n \"APP_KEY|APP_ENV\" .env",
       f".env:3:APP_ENV=local\n.env:4:APP_KEY={APP_KEY}"),
    Say("Stopped the stale worker. APP_KEY in .env is set; if it changed, sessions and encrypted "
        "cookies from before are invalid, nothing else breaks locally."),
)

S4 = session(
    "s4", "saltmarsh", 12.2,
    User("ticket text pasted below do these in order\n"
         "1. add a refund_reason field to the RefundResource\n"
         "2. update openapi.yaml\n"
         "3. regenerate the typescript client\n"
         "4. commit"),
    Sh("rg -n \"refund\" app/Http/Resources/RefundResource.php",
       "app/Http/Resources/RefundResource.php:18:            'amount' => $this->amount,"),
    Patch("*** Update File: app/Http/Resources/RefundResource.php\n@@\n"
          "             'amount' => $this->amount,\n+            'refund_reason' => $this->reason,"),
    Patch("*** Update File: openapi.yaml\n@@\n         amount:\n           type: integer\n"
          "+        refund_reason:\n+          type: string"),
    Sh("npm run gen:client",
       "> gen:client\n> openapi-typescript openapi.yaml -o resources/js/api/schema.d.ts\n\n"
       "✨ openapi-typescript 7.4.1\n🚀 openapi.yaml → resources/js/api/schema.d.ts [62ms]", secs=2.2),
    Say("Done 1–3: RefundResource returns refund_reason, openapi.yaml has it, and "
        "resources/js/api/schema.d.ts was regenerated with `npm run gen:client`. Ready to commit."),
    User("right and that is the rule here whenever you touch the schema regenerate the client in the "
         "same commit otherwise the front end breaks and the commit message should be conventional "
         "commits like feat colon or fix colon"),
    Sh("git add -A && git commit -m 'feat(refunds): expose refund_reason in the API'",
       "[main 7c1e9a2] feat(refunds): expose refund_reason in the API\n 3 files changed, 9 insertions(+)"),
    Say("Committed as `feat(refunds): expose refund_reason in the API`; from now on commit messages "
        "follow Conventional Commits, and a schema change comes with the regenerated client."),
)

S5 = session(
    "s5", "saltmarsh", 8.3,
    User("why does the export command skip soft deleted customers who wrote that"),
    Sh("git blame -L 40,46 app/Console/Commands/ExportCustomers.php",
       "a91f03de (Tomasz Wr 2026-03-02 11:20:41 +0100 40)         $query = Customer::query()\n"
       "a91f03de (Tomasz Wr 2026-03-02 11:20:41 +0100 41)             ->withoutTrashed()\n"
       "5d2c7b10 (Rosa M    2026-06-18 09:02:13 +0200 42)             ->where('region', $region);"),
    Sh("git show --stat a91f03de",
       "commit a91f03de4c2b...\nAuthor: Tomasz Wr <tomasz@example.org>\n\n"
       "    exports: GDPR — deleted customers must not leave the building\n\n"
       " app/Console/Commands/ExportCustomers.php | 2 +-"),
    Say("Tomasz added `withoutTrashed()` in a91f03de for GDPR: deleted customers are excluded from "
        "exports on purpose."),
    User("okay makes sense also keep your answers short like five lines tops I am reading them on "
         "my phone half the time"),
    Say("Will do: five lines at most."),
)

S6 = session(
    "s6", "saltmarsh", 4.4,
    User("the invoice pdf test is flaky again on the get hub runner can you look"),
    Sh("gh run view 11873 --log-failed | tail -n 6",
       "tests  Tests\\Feature\\InvoicePdfTest > it renders totals\n"
       "tests  Failed asserting that '1.234,50 €' contains \"1,234.50\".\n"
       "tests  at tests/Feature/InvoicePdfTest.php:27\n"
       "tests  Tests:    1 failed, 211 passed (606 assertions)"),
    Sh("rg -n \"setlocale|APP_LOCALE\" tests/ config/app.php",
       "config/app.php:85:    'locale' => env('APP_LOCALE', 'de'),"),
    Patch("*** Update File: tests/Feature/InvoicePdfTest.php\n@@\n     public function test_it_renders_totals(): void\n     {\n"
          "+        app()->setLocale('en');"),
    Sh("php artisan test --filter=InvoicePdfTest",
       "\n   PASS  Tests\\Feature\\InvoicePdfTest\n  ✓ it renders totals   0.22s", secs=1.6),
    Say("The test depended on APP_LOCALE (de on the runner); it pins the locale to en now and passes."),
    User("good thanks"),
)

S7 = session(
    "s7", "saltmarsh", 1.6,
    User("heads up we switched salt marsh to pest last week so artisan test is out run the tests with "
         "vendor bin pest dash dash parallel now"),
    Sh("./vendor/bin/pest --parallel",
       "\n  Tests:    214 passed (611 assertions)\n  Duration: 7.94s\n  Parallel: 2 processes", secs=9.1),
    Say("`./vendor/bin/pest --parallel` passes 214 tests; Pest replaces `php artisan test` here."),
    User("perfect"),
    later=True,
)

# ---------------------------------------------------------------- corvid (C++ / CMake / conan)

C1 = session(
    "c1", "corvid", 25.2,
    User("new checkout of corvid the see plus plus lib build it for me"),
    Sh("cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug && cmake --build build",
       "-- The CXX compiler identification is GNU 13.2.0\n"
       "CMake Error at CMakeLists.txt:31 (find_package):\n"
       "  By not providing \"Findfmt.cmake\" in CMAKE_MODULE_PATH this project has\n"
       "  asked CMake to find a package configuration file provided by \"fmt\", but\n"
       "  CMake did not find one.\n\n"
       "  Could not find a package configuration file provided by \"fmt\" with any of\n"
       "  the following names:\n\n    fmtConfig.cmake\n    fmt-config.cmake\n\n"
       "-- Configuring incomplete, errors occurred!", code=1, secs=3.2),
    Sh("rg -n \"profile\" README.md",
       "README.md:22:conan install . --output-folder=build --build=missing -pr:a conan/profiles/linux-gcc13"),
    Sh("conan install . --output-folder=build --build=missing -pr:a conan/profiles/linux-gcc13",
       "======== Computing dependency graph ========\nfmt/10.2.1: Downloaded recipe revision\n"
       "spdlog/1.14.1: Downloaded recipe revision\n======== Finalizing install ========\n"
       "conanfile.txt: Generating aggregated env files", secs=41.0),
    Sh("cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=build/conan_toolchain.cmake && cmake --build build -j2",
       "-- Configuring done (1.1s)\n-- Generating done (0.1s)\n[ 97%] Linking CXX static library libcorvid.a\n"
       "[100%] Built target corvid", secs=58.0),
    Say("The first configure failed because fmtConfig.cmake was missing: dependencies come from conan. "
        "`conan install . --output-folder=build --build=missing` with the README's profile "
        "conan/profiles/linux-gcc13 fixed it and the library builds."),
    User("nice and one rule for this repo everything has to compile clean with W error on so if you "
         "see a warning fix the warning"),
    Say("Got it: corvid builds with -Werror, so warnings get fixed, not silenced."),
)

C2 = session(
    "c2", "corvid", 21.3,
    User("run the tests with see test but not the slow fuzz ones how do I skip those"),
    Sh("ctest --help | rg -n -- \"-LE|label-exclude\"",
       "  -LE <regex>, --label-exclude <regex>\n"
       "                               = Run tests with labels not matching regular"),
    Sh("rg -n \"LABELS\" tests/CMakeLists.txt",
       "tests/CMakeLists.txt:58:set_tests_properties(fuzz_parser fuzz_lexer PROPERTIES LABELS fuzz)"),
    Sh("ctest --test-dir build -LE fuzz",
       "Test project /home/rosa/projects/corvid/build\n      Start  1: parser_basic\n"
       " 1/38 Test  #1: parser_basic .....................   Passed    0.02 sec\n"
       "100% tests passed, 0 tests failed out of 38\n\nLabel Time Summary:\nunit    =   3.41 sec*proc (36 tests)",
       secs=4.1),
    Say("The fuzz targets carry the ctest label `fuzz` (tests/CMakeLists.txt:58), so "
        "`ctest --test-dir build -LE fuzz` skips them: 38 tests passed."),
    User("also um last time the compiler spat a warning in lexer dot cpp just turn off W error for now "
         "with the option"),
    Say("I can configure with `-DCORVID_WERROR=OFF` to turn the warning back into a warning."),
    User("no scratch that that is exactly what I said we do not do fix the warning"),
    Sh("cmake --build build 2>&1 | rg warning",
       "src/lexer.cpp:211:23: warning: comparison of integer expressions of different signedness: "
       "'int' and 'std::size_t' [-Wsign-compare]"),
    Patch("*** Update File: src/lexer.cpp\n@@\n-    for (int i = 0; i < buf.size(); ++i) {\n"
          "+    for (std::size_t i = 0; i < buf.size(); ++i) {"),
    Sh("cmake --build build -j2", "[100%] Built target corvid", secs=12.0),
    Say("Fixed the sign-compare warning in src/lexer.cpp instead; the build is clean with -Werror."),
)

C3 = session(
    "c3", "corvid", 17.2,
    User("I rebased on the new main and now the build dir is weird"),
    Sh("cmake --build build",
       "CMake Error: The current CMakeCache.txt directory /home/rosa/projects/corvid/build/CMakeCache.txt "
       "is different than the directory /home/rosa/src/corvid/build where CMakeCache.txt was created. "
       "This may result in binaries being created in the wrong place.", code=1, secs=0.4),
    Sh("git log -p -1 -- CMakePresets.json | head -n 14",
       "commit 0be4f1c2\nAuthor: Jun Park <jun@corvid.dev>\n\n    build: add a dev preset with the conan toolchain\n\n"
       "+    {\n+      \"name\": \"dev\",\n+      \"binaryDir\": \"${sourceDir}/build\",\n"
       "+      \"toolchainFile\": \"build/conan_toolchain.cmake\""),
    Sh("rm -rf build && conan install . --output-folder=build --build=missing -pr:a conan/profiles/linux-gcc13 "
       "&& cmake --preset dev",
       "======== Finalizing install ========\n-- Configuring done (1.3s)\n-- Generating done (0.1s)\n"
       "-- Build files have been written to: /home/rosa/projects/corvid/build", secs=44.0),
    Sh("cmake --build build -j2", "[100%] Built target corvid", secs=61.0),
    Say("The stale CMakeCache.txt came from a build dir configured at another path. Recreating it and "
        "configuring with `cmake --preset dev` (added in 0be4f1c2, it wires in the conan toolchain) fixed it."),
    User("and the thing with sudo from the old wiki ignore that we do not install stuff with sudo apt "
         "in this repo use conan for libraries and the tool chain from the profile"),
    Say("Understood: no `sudo` installs; libraries come through conan."),
)

C4 = session(
    "c4", "corvid", 11.1,
    User("add a benchmark for the parser I want numbers before and after the allocation change"),
    Patch("*** Add File: bench/parser_bench.cpp\n+#include <benchmark/benchmark.h>\n+#include \"corvid/parser.hpp\"\n"
          "+static void BM_parse(benchmark::State& s) { for (auto _ : s) corvid::parse(kSample); }\n+BENCHMARK(BM_parse);"),
    Sh("cmake --build build --target parser_bench && ./build/bench/parser_bench",
       "Run on (2 X 2400 MHz CPU s)\n---------------------------------------------------\n"
       "Benchmark         Time             CPU   Iterations\n---------------------------------------------------\n"
       "BM_parse       41213 ns        41190 ns        16984", secs=20.0),
    Say("BM_parse takes about 41 µs per sample on this machine, the baseline for the allocation change."),
    User("ok thanks that is it for now"),
)

C5 = session(
    "c5", "corvid", 7.2,
    User("what does the C I do on merge requests I forgot"),
    Sh("rg -n \"script:\" -A3 .gitlab-ci.yml",
       ".gitlab-ci.yml:14:  script:\n.gitlab-ci.yml-15-    - conan install . --output-folder=build --build=missing -pr:a conan/profiles/linux-gcc13\n"
       ".gitlab-ci.yml-16-    - cmake --preset dev\n.gitlab-ci.yml-17-    - ctest --test-dir build -LE fuzz"),
    Say("On merge requests GitLab CI installs with conan, configures with the dev preset and runs "
        "ctest without the fuzz label."),
    User("right thanks"),
)

C6 = session(
    "c6", "corvid", 3.3,
    User("jun says the lexer leaks under address sanitizer can you check"),
    Sh("cmake --preset dev -DCORVID_ASAN=ON && cmake --build build -j2 && ctest --test-dir build -R lexer",
       "==31337==ERROR: LeakSanitizer: detected memory leaks\n\n"
       "Direct leak of 64 byte(s) in 1 object(s) allocated from:\n    #0 0x7f2c in operator new(unsigned long)\n"
       "    #1 0x55d1 in corvid::Lexer::push_state() src/lexer.cpp:88\n"
       "0% tests passed, 1 tests failed out of 1", code=8, secs=70.0),
    Patch("*** Update File: src/lexer.cpp\n@@\n-    states_.push_back(new State{});\n"
          "+    states_.push_back(std::make_unique<State>());"),
    Sh("cmake --build build -j2 && ctest --test-dir build -R lexer",
       "100% tests passed, 0 tests failed out of 1", secs=40.0),
    Say("Lexer::push_state leaked a raw `new State`; states_ holds unique_ptr now and the "
        "sanitizer run is clean."),
    User("does the parser do the same thing anywhere"),
    Sh("rg -n \"new [A-Z][a-zA-Z]*\\{\" src/",
       "src/parser.cpp:140:    auto* scratch = new Arena{};  // freed in ~Parser"),
    Say("One raw new left, src/parser.cpp:140, an Arena freed in ~Parser; it does not leak, so I left it."),
)

C7 = session(
    "c7", "corvid", 1.3,
    User("we dropped gcc from the matrix the profile is clang eighteen now use that one"),
    Sh("ls conan/profiles", "linux-clang18"),
    Sh("conan install . --output-folder=build --build=missing -pr:a conan/profiles/linux-clang18 && "
       "cmake --preset dev && cmake --build build -j2",
       "======== Finalizing install ========\n-- The CXX compiler identification is Clang 18.1.8\n"
       "[100%] Built target corvid", secs=90.0),
    Say("linux-gcc13 is gone from conan/profiles; built with the linux-clang18 profile instead."),
    User("and the tests"),
    Sh("ctest --test-dir build -LE fuzz", "100% tests passed, 0 tests failed out of 39", secs=5.0),
    Say("All 39 non-fuzz tests pass with the clang build."),
    later=True,
)

# ---------------------------------------------------------------- wicket (Elixir / Phoenix)

W1 = session(
    "w1", "wicket", 24.4,
    User("start the wicket dev server for me it runs on port four thousand"),
    Sh("rg -n \"port\" config/dev.exs",
       "config/dev.exs:12:  http: [ip: {127, 0, 0, 1}, port: String.to_integer(System.get_env(\"PHX_PORT\") || \"4010\")],"),
    User("no wait that's wrong it's forty ten we moved it because of the other app"),
    Sh("mix phx.server",
       "[info] Running WicketWeb.Endpoint with Bandit 1.5.7 at 127.0.0.1:4010 (http)\n"
       "[info] Access WicketWeb.Endpoint at http://localhost:4010", secs=5.0),
    Say("The dev server listens on 4010 (config/dev.exs reads PHX_PORT, default 4010); it is running."),
    User("and which elixir does it want I have three installed"),
    Sh("cat .tool-versions", "elixir 1.17.3-otp-27\nerlang 27.1.2"),
    Say(".tool-versions pins elixir 1.17.3-otp-27 with erlang 27.1.2; asdf picks them in this directory."),
)

W2 = session(
    "w2", "wicket", 20.2,
    User("run mix test please"),
    Sh("mix test",
       "** (DBConnection.ConnectionError) connection not available and request was dropped from queue after 2000ms.\n"
       "** (Postgrex.Error) FATAL 3D000 (invalid_catalog_name) database \"wicket_test\" does not exist\n"
       "    (ecto_sql 3.12.1) lib/ecto/adapters/sql.ex:1096: Ecto.Adapters.SQL.raise_sql_call_error/1",
       code=1, secs=6.0),
    Sh("MIX_ENV=test mix ecto.create",
       "The database for Wicket.Repo has been created", secs=3.0),
    Sh("mix test",
       "Running ExUnit with seed: 80211, max_cases: 4\n\n"
       "..............................................................\nFinished in 3.2 seconds (1.1s async, 2.1s sync)\n"
       "162 tests, 0 failures", secs=9.0),
    Say("`mix test` failed because the database wicket_test does not exist; `MIX_ENV=test mix ecto.create` "
        "created it and the 162 tests pass."),
    User("okay and before any commit in this repo run mix format the C I rejects unformatted code"),
    Sh("mix format --check-formatted", "", secs=1.2),
    Say("Formatting is clean; I will run `mix format` before each commit here."),
)

W3 = session(
    "w3", "wicket", 16.3,
    User("two things today first the hex thing second the seats API"),
    Sh("mix deps.get",
       "Failed to fetch record for hexpm/oban from registry (using cache instead)\n"
       "{:failed_connect, [{:to_address, {~c\"repo.hex.pm\", 443}}, {:inet, [:inet], :closed}]}\n"
       "** (Mix) Unknown package oban in lockfile", code=1, secs=8.0),
    Sh("mix local.hex --force",
       "* creating /home/rosa/.mix/archives/hex-2.1.1", secs=3.0),
    Sh("mix deps.get",
       "Resolving Hex dependencies...\nAll dependencies are up to date", secs=4.0),
    Say("`mix deps.get` could not fetch record for hexpm/oban with the old Hex archive; "
        "`mix local.hex --force` updated Hex to 2.1.1 and the deps resolve."),
    User("now the seats API the reservation endpoint needs a hold until field and yeah same deal as the "
         "other repo when the schema changes regenerate the client the mobile app uses it"),
    Patch("*** Update File: priv/openapi/seats.json\n@@\n   \"properties\": {\n+    \"hold_until\": {\"type\": \"string\", \"format\": \"date-time\"},"),
    Sh("mix openapi.gen.client",
       "Generated clients/kotlin/SeatsApi.kt from priv/openapi/seats.json", secs=2.0),
    Say("Added hold_until to the seats schema and regenerated the client (clients/kotlin/SeatsApi.kt)."),
)

W4 = session(
    "w4", "wicket", 10.4,
    User("how do we deploy this thing again"),
    Sh("rg -n \"deploy\" README.md Makefile",
       "README.md:40:Deploys: `fly deploy` from trunk, never from a branch.\n"
       "README.md:41:Secrets live in fly; `fly secrets list` shows them."),
    Say("Per the README, wicket deploys with `fly deploy` from trunk."),
    User("right go ahead and deploy"),
    Sh("fly deploy",
       "==> Verifying app config\n--> Verified app config\n==> Building image\n"
       "--> Pushing image done\nimage: registry.fly.io/wicket:deployment-01JE8Q\n"
       "Watch your deployment at https://fly.io/apps/wicket/monitoring\n✔ Machine 3d8d9e0b is now in a good state",
       secs=140.0),
    Say("Deployed with `fly deploy`; the machine is healthy."),
    User("other thing a customer asked how long a seat hold lasts before it goes back I think it was "
         "ten minutes but check the code"),
    Sh("rg -n -B2 -A6 \"@moduledoc\" lib/wicket/seats/hold.ex",
       "lib/wicket/seats/hold.ex:1:defmodule Wicket.Seats.Hold do\n"
       "lib/wicket/seats/hold.ex:2:  @moduledoc \"\"\"\n"
       "lib/wicket/seats/hold.ex-3-  A seat hold. Holds expire after HOLD_TTL_MINUTES (default 15) and the\n"
       "lib/wicket/seats/hold.ex-4-  ReleaseHolds Oban job puts the seat back on sale.\n"
       "lib/wicket/seats/hold.ex-5-  \"\"\""),
    Say("Fifteen, not ten: a hold expires after HOLD_TTL_MINUTES, 15 by default, and the ReleaseHolds "
        "Oban job puts the seat back on sale."),
)

W5 = session(
    "w5", "wicket", 6.2,
    User("the oban job for reminders runs twice why"),
    Sh("rg -n \"unique\" lib/wicket/workers/",
       "lib/wicket/workers/reminder_worker.ex:3:  # TODO: add unique: [period: 60] once we know the reminder cadence"),
    Patch("*** Update File: lib/wicket/workers/reminder_worker.ex\n@@\n-  use Oban.Worker, queue: :mailers\n"
          "+  use Oban.Worker, queue: :mailers, unique: [period: 60]"),
    Sh("mix test test/wicket/workers/reminder_worker_test.exs",
       "...\nFinished in 0.4 seconds\n3 tests, 0 failures", secs=4.0),
    Say("The reminder worker had no uniqueness (a TODO said so); it is unique per 60 s now and the tests pass."),
    User("and put a line in the changelog for that people will notice fewer mails and the install "
         "guide says sudo apt for erlang take that out we do not use sudo for installs asdf does it"),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- Reminder emails are sent once (the worker is unique per minute)."),
    Patch("*** Update File: docs/install.md\n@@\n-sudo apt install erlang elixir\n+asdf install"),
    Say("Added the CHANGELOG.md line and replaced the sudo install with `asdf install` in docs/install.md."),
)

W6 = session(
    "w6", "wicket", 2.6,
    User("user visible changes get a line in the change log that goes for every repo of mine okay and "
         "now bump phoenix to one point seven point fourteen"),
    Sh("mix deps.update phoenix",
       "Upgraded:\n  phoenix 1.7.12 => 1.7.14", secs=12.0),
    Sh("mix test", "162 tests, 0 failures", secs=9.0),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- Phoenix 1.7.14."),
    Say("Phoenix is 1.7.14, tests pass, and CHANGELOG.md has the line."),
    User("lovely commit it"),
    Sh("mix format && git commit -am 'chore(deps): phoenix 1.7.14'",
       "[trunk 4e0a7d1] chore(deps): phoenix 1.7.14\n 3 files changed, 5 insertions(+), 5 deletions(-)"),
    Say("Formatted and committed as `chore(deps): phoenix 1.7.14`."),
)

W7 = session(
    "w7", "wicket", 0.9,
    User("we left fly the app is on the k eight s cluster now deploy is make release from trunk"),
    Sh("make release",
       "docker build -t registry.wicket.dev/wicket:2026.12.06 .\nkubectl rollout status deploy/wicket\n"
       "deployment \"wicket\" successfully rolled out", secs=180.0),
    Say("Deployed with `make release` (image registry.wicket.dev, rolled out on the cluster); "
        "`fly deploy` is no longer used."),
    User("is the health check green"),
    Sh("kubectl get pods -l app=wicket",
       "NAME                      READY   STATUS    RESTARTS   AGE\n"
       "wicket-7d9c6b5f4-2xkqp   1/1     Running   0          2m\n"
       "wicket-7d9c6b5f4-9hzvw   1/1     Running   0          2m"),
    Say("Both pods are ready and running."),
    later=True,
)

# ---------------------------------------------------------------- marlin (Kotlin Android)

M1 = session(
    "m1", "marlin", 23.3,
    User("open marlin and build a debug apk with gradle"),
    Sh("./gradlew assembleDebug",
       "FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
       "Could not determine the dependencies of task ':app:compileDebugJavaWithJavac'.\n"
       "> SDK location not found. Define a valid SDK location with an ANDROID_HOME environment variable "
       "or by setting the sdk.dir path in your project's local properties file at "
       "'/home/rosa/projects/marlin/local.properties'.", code=1, secs=14.0),
    Sh("echo \"sdk.dir=$HOME/Android/Sdk\" > local.properties", ""),
    Sh("./gradlew assembleDebug",
       "> Task :app:assembleDebug\n\nBUILD SUCCESSFUL in 1m 12s\n41 actionable tasks: 41 executed", secs=75.0),
    Say("The build failed with SDK location not found; writing sdk.dir=$HOME/Android/Sdk into "
        "local.properties fixed it and assembleDebug succeeds."),
    User("the min SDK do not touch that it is twenty six because of the hospital tablets if you think it "
         "needs to change ask me"),
    Sh("rg -n \"minSdk\" app/build.gradle.kts", "app/build.gradle.kts:14:        minSdk = 26"),
    Say("minSdk stays 26; I will ask before changing it."),
)

M2 = session(
    "m2", "marlin", 19.3,
    User("release ticket pasted\n"
         "- [ ] versionCode bump\n"
         "- [ ] signed release build\n"
         "- [ ] upload to internal track\n"
         "what does the signed release build need I want to make one tonight"),
    Sh("rg -n \"signingConfigs\" -A6 app/build.gradle.kts",
       "app/build.gradle.kts:30:    signingConfigs {\n"
       "app/build.gradle.kts-31-        create(\"release\") {\n"
       "app/build.gradle.kts-32-            storeFile = file(System.getenv(\"KEYSTORE_PATH\") ?: \"missing.jks\")\n"
       "app/build.gradle.kts-33-            storePassword = System.getenv(\"KEYSTORE_PASSWORD\")"),
    Say("The release build signs with the keystore file named by KEYSTORE_PATH (and KEYSTORE_PASSWORD) "
        "from the environment; without them it falls back to missing.jks and fails."),
    User("okay and the gradle thing from yesterday it complained about some major version"),
    Sh("./gradlew assembleRelease",
       "FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
       "BUG! exception in phase 'semantic analysis' in source unit '_BuildScript_'\n"
       "Unsupported class file major version 65", code=1, secs=9.0),
    Sh("sdk use java 17.0.13-tem", "Using java version 17.0.13-tem in this shell."),
    Sh("KEYSTORE_PATH=$HOME/keys/marlin.jks ./gradlew assembleRelease",
       "> Task :app:assembleRelease\n\nBUILD SUCCESSFUL in 2m 3s", secs=125.0),
    Say("Unsupported class file major version 65 means Gradle ran on JDK 21; after `sdk use java 17.0.13-tem` "
        "the release build succeeds."),
)

M3 = session(
    "m3", "marlin", 14.2,
    User("the wicket guys changed the seats schema pull the new spec and regenerate our client also "
         "going forward any time you touch a schema in here regenerate the client"),
    Sh("curl -s http://127.0.0.1:4010/api/openapi > api/seats.json && ./gradlew :api:openApiGenerate",
       "> Task :api:openApiGenerate\nSuccessfully generated code to /home/rosa/projects/marlin/api/build/generated\n\n"
       "BUILD SUCCESSFUL in 8s", secs=10.0),
    Say("Pulled the seats spec and regenerated the client with `./gradlew :api:openApiGenerate`."),
    User("thanks"),
)

M4 = session(
    "m4", "marlin", 9.3,
    User("run the instrumented tests the ones on the emulator"),
    Sh("emulator -list-avds", "Pixel_6_API_34"),
    Sh("./gradlew connectedDebugAndroidTest",
       "> Task :app:connectedDebugAndroidTest\nStarting 24 tests on Pixel_6_API_34(AVD) - 14\n\n"
       "BUILD SUCCESSFUL in 3m 40s", secs=220.0),
    Say("The instrumented tests run with `./gradlew connectedDebugAndroidTest` on the Pixel_6_API_34 "
        "emulator: 24 passed."),
    User("good to know"),
)

M5 = session(
    "m5", "marlin", 5.3,
    User("if you need to rewrite history on a branch ask me first I have been burned before no force push "
         "without asking and use rg for searching not grep it is way faster on this repo"),
    Sh("rg -n \"TODO\" app/src/main/java | head -n 3",
       "app/src/main/java/dev/rosa/marlin/SeatMap.kt:77:    // TODO: handle rotated venues"),
    Say("Noted: I ask before any force push, and I search with rg rather than grep."),
    User("fine add the rotated venues thing to my list for monday"),
    Say("Added to your Monday list: rotated venues in SeatMap.kt."),
)

M6 = session(
    "m6", "marlin", 3.1,
    User("the lint check on my pull request went red um can you sort that out"),
    Sh("./gradlew lintDebug",
       "app/src/main/res/layout/seat_row.xml:12: Error: Hardcoded string \"Seat\", should use @string resource [HardcodedText]\n"
       "Lint found 1 error, 0 warnings", code=1, secs=30.0),
    Patch("*** Update File: app/src/main/res/layout/seat_row.xml\n@@\n-        android:text=\"Seat\"\n"
          "+        android:text=\"@string/seat\""),
    Sh("./gradlew lintDebug", "Lint found no errors", secs=28.0),
    Say("The hardcoded \"Seat\" text moved to @string/seat; lint is green."),
    User("the seat label is translated now so that is user visible put a line in the change log here too"),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- The seat label follows the device language."),
    Say("Added a CHANGELOG.md line for the translated seat label."),
)

M7 = session(
    "m7", "marlin", 1.1,
    User("update on the min SDK the old tablets are retired so it is twenty eight now set it"),
    Patch("*** Update File: app/build.gradle.kts\n@@\n-        minSdk = 26\n+        minSdk = 28"),
    Sh("./gradlew assembleDebug", "BUILD SUCCESSFUL in 58s", secs=60.0),
    Say("minSdk is 28 now and the debug build succeeds."),
    User("cool and the unit tests still pass on twenty eight"),
    Sh("./gradlew testDebugUnitTest", "> Task :app:testDebugUnitTest\n\nBUILD SUCCESSFUL in 47s", secs=50.0),
    Say("Yes, the unit tests pass."),
    later=True,
)

# ---------------------------------------------------------------- quokka (Django / poetry / celery)

Q1 = session(
    "q1", "quokka", 27.6,
    User("quokka now the django one run pie test for me but through poetry run not the global pie test "
         "the global one has the wrong django"),
    Sh("poetry run pytest -q",
       "ImportError while loading conftest '/home/rosa/projects/quokka/conftest.py'.\n"
       "conftest.py:4: in <module>\n    from bookings.models import Booking\n"
       "django.core.exceptions.ImproperlyConfigured: Requested setting INSTALLED_APPS, but settings are "
       "not configured. You must either define the environment variable DJANGO_SETTINGS_MODULE or call "
       "settings.configure() before accessing settings.", code=4, secs=2.4),
    Sh("ls config/settings", "__init__.py\nbase.py\nlocal.py\ntest.py"),
    Patch("*** Update File: pyproject.toml\n@@\n [tool.pytest.ini_options]\n"
          "+DJANGO_SETTINGS_MODULE = \"config.settings.test\""),
    Sh("poetry run pytest -q",
       "........................................................................ [ 81%]\n"
       "................                                                         [100%]\n"
       "88 passed in 6.02s", secs=8.0),
    Say("pytest had no settings module: ImproperlyConfigured, DJANGO_SETTINGS_MODULE not defined. "
        "pyproject.toml now sets DJANGO_SETTINGS_MODULE = \"config.settings.test\" for pytest and "
        "`poetry run pytest -q` passes 88 tests."),
    User("good so that is the rule for this repo tests go through poetry run"),
    Say("Yes: in this repo tests run as `poetry run pytest`, never the global pytest."),
)

Q2 = session(
    "q2", "quokka", 15.5,
    User("add django environ with poetry add"),
    Sh("poetry add django-environ",
       "Using version ^0.11.2 for django-environ\n\nUpdating dependencies\nResolving dependencies... (0.6s)\n\n"
       "pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock [--no-update]` "
       "to fix the lock file.", code=1, secs=3.0),
    Sh("poetry lock --no-update",
       "Resolving dependencies... (2.1s)\n\nWriting lock file", secs=4.0),
    Sh("poetry add django-environ",
       "Using version ^0.11.2 for django-environ\n\nPackage operations: 1 install, 0 updates, 0 removals\n\n"
       "  - Installing django-environ (0.11.2)\n\nWriting lock file", secs=5.0),
    Say("poetry add stopped because poetry.lock was out of date with pyproject.toml; `poetry lock --no-update` "
        "rewrote the lock file and then django-environ 0.11.2 installed."),
    User("okay thanks"),
)

Q3 = session(
    "q3", "quokka", 9.8,
    User("the booking confirmation emails are stuck is the celery worker even connected to the rabbit"),
    Sh("rg -n \"CELERY_BROKER_URL\" config/settings/",
       "config/settings/base.py:141:CELERY_BROKER_URL = env(\"CELERY_BROKER_URL\", default=\"amqp://guest@localhost:5673//\")"),
    Sh("poetry run celery -A config inspect ping",
       "->  celery@rosa-laptop: OK\n        pong\n\n1 node online."),
    Sh("poetry run celery -A config inspect active",
       "->  celery@rosa-laptop: OK\n    * {'id': 'a3f9c2e1-77b0-4c55-9d0e-1b2c3d4e5f60', "
       "'name': 'bookings.tasks.send_confirmation', 'time_start': 1733465123.4}"),
    Say("The worker is connected: CELERY_BROKER_URL defaults to amqp://guest@localhost:5673// "
        "(RabbitMQ on 5673, from config/settings/base.py). One send_confirmation task is running; the "
        "others wait behind it."),
    User("ah it is the SMTP timeout then never mind I will look tomorrow"),
)

Q4 = session(
    "q4", "quokka", 2.2,
    User("make the migration for the new cancellation reason field"),
    Sh("poetry run python manage.py makemigrations bookings",
       "Migrations for 'bookings':\n  bookings/migrations/0017_booking_cancel_reason.py\n"
       "    - Add field cancel_reason to booking", secs=2.0),
    Sh("poetry run python manage.py migrate",
       "Operations to perform:\n  Apply all migrations: admin, auth, bookings, contenttypes, sessions\n"
       "Running migrations:\n  Applying bookings.0017_booking_cancel_reason... OK", secs=2.0),
    Say("Added migration 0017_booking_cancel_reason and applied it."),
    User("great and a line in the change log because users see the reason on the receipt"),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+- Receipts show why a booking was cancelled."),
    Say("Added the CHANGELOG.md line."),
)

SESSIONS = (
    S1, S2, S3, S4, S5, S6,
    C1, C2, C3, C4, C5, C6,
    W1, W2, W3, W4, W5, W6,
    M1, M2, M3, M4, M5, M6,
    Q1, Q2, Q3, Q4,
    S7, C7, W7, M7,
)

FACTS = (
    # -- preferences, stated once in a dictated sentence
    Fact("g.pref.diff", "preference", None,
         "Show the diff first and wait for an okay before applying a patch.",
         M("diff", "before|first", "apply|applying"), ("s1",)),
    Fact("g.pref.short", "preference", None,
         "Keep answers short: five lines at most.",
         M("five lines", "answers"), ("s5",)),
    Fact("g.pref.commits", "preference", None,
         "Commit messages follow Conventional Commits (feat:, fix:).",
         M("conventional commits", "commit message|commit messages"), ("s4",)),
    Fact("g.pref.force", "preference", None,
         "Ask before any force push.",
         M("force push|force-push", "ask"), ("m5",)),
    Fact("g.pref.rg", "preference", None,
         "Search with rg rather than grep.",
         M("rg|ripgrep", "grep"), ("m5",)),
    # -- general rules, stated in two or more projects
    Fact("g.gen.schema", "general_rule", None,
         "Whenever a schema changes, regenerate the client in the same change.",
         M("schema", "regenerate|regenerated", "client"), ("s4", "w3", "m3")),
    Fact("g.gen.sudo", "general_rule", None,
         "Install tools and libraries through the project's manager (conan, asdf), with no sudo.",
         M("sudo", "install|installs"), ("c3", "w5")),
    Fact("g.gen.changelog", "general_rule", None,
         "Every user-visible change gets a line in CHANGELOG.md.",
         M("changelog|change log", "user-visible|user visible|line"), ("w5", "w6", "m6", "q4")),
    # -- project rules
    Fact("g.salt.migrations", "project_rule", "saltmarsh",
         "A migration merged to main stays as it is; changes go into a new migration.",
         M("migration|migrations", "merged", "new"), ("s1",)),
    Fact("g.salt.testcmd", "project_rule", "saltmarsh",
         "Run the test suite with php artisan test --parallel.",
         M("artisan test", "--parallel"), ("s2",), superseded_by="g.salt.pest"),
    Fact("g.corvid.werror", "project_rule", "corvid",
         "Everything builds with -Werror: fix warnings, keep the flag on.",
         M("Werror", "warning|warnings"), ("c1", "c2")),
    Fact("g.quokka.poetry", "project_rule", "quokka",
         "Run tests as poetry run pytest, not the global pytest.",
         M("poetry run pytest"), ("q1",)),
    Fact("g.wicket.format", "project_rule", "wicket",
         "Run mix format before every commit (CI rejects unformatted code).",
         M("mix format", "commit"), ("w2",)),
    Fact("g.marlin.minsdk", "project_rule", "marlin",
         "minSdk is 26 for the hospital tablets; ask before changing it.",
         M("minSdk", "26"), ("m1",), superseded_by="g.marlin.minsdk28"),
    # -- project facts, seen only in tool output or the agent's conclusion
    Fact("g.salt.queue", "project_fact", "saltmarsh",
         "Queue workers run under Horizon with QUEUE_CONNECTION=redis.",
         M("QUEUE_CONNECTION", "redis"), ("s1",)),
    Fact("g.salt.testdb", "project_fact", "saltmarsh",
         "Tests run on SQLite in memory: phpunit.xml sets DB_CONNECTION=sqlite.",
         M("DB_CONNECTION", "sqlite"), ("s2",)),
    Fact("g.salt.gdpr", "project_fact", "saltmarsh",
         "The customer export excludes soft-deleted customers on purpose (withoutTrashed, GDPR).",
         M("withoutTrashed", "export|exports|ExportCustomers"), ("s5",)),
    Fact("g.salt.locale", "project_fact", "saltmarsh",
         "APP_LOCALE defaults to de, so tests that format money pin the locale to en.",
         M("APP_LOCALE", "de"), ("s6",)),
    Fact("g.corvid.profile", "project_fact", "corvid",
         "Dependencies install with the conan profile conan/profiles/linux-gcc13.",
         M("linux-gcc13", "profile|conan"), ("c1", "c3", "c5"), superseded_by="g.corvid.clang"),
    Fact("g.corvid.fuzz", "project_fact", "corvid",
         "Fuzz tests carry the ctest label fuzz; ctest --test-dir build -LE fuzz skips them.",
         M("ctest", "-LE fuzz"), ("c2",)),
    Fact("g.corvid.preset", "project_fact", "corvid",
         "Configure with cmake --preset dev (binaryDir build, conan toolchain).",
         M("cmake --preset dev"), ("c3", "c5")),
    Fact("g.wicket.port", "project_fact", "wicket",
         "The dev server listens on 4010 (PHX_PORT in config/dev.exs).",
         M("4010", "dev|PHX_PORT|server"), ("w1",)),
    Fact("g.wicket.elixir", "project_fact", "wicket",
         ".tool-versions pins elixir 1.17.3-otp-27.",
         M("1.17.3-otp-27|1.17.3"), ("w1",)),
    Fact("g.wicket.holdttl", "project_fact", "wicket",
         "A seat hold expires after HOLD_TTL_MINUTES (default 15); the ReleaseHolds Oban job frees the seat.",
         M("HOLD_TTL_MINUTES", "15"), ("w4",)),
    Fact("g.quokka.broker", "project_fact", "quokka",
         "Celery's broker is RabbitMQ: CELERY_BROKER_URL defaults to amqp://guest@localhost:5673//.",
         M("CELERY_BROKER_URL", "5673"), ("q3",)),
    Fact("g.wicket.deploy", "project_fact", "wicket",
         "Deploy with fly deploy from trunk.",
         M("fly deploy"), ("w4",), superseded_by="g.wicket.release"),
    Fact("g.marlin.keystore", "project_fact", "marlin",
         "Release builds sign with the keystore named by KEYSTORE_PATH (and KEYSTORE_PASSWORD).",
         M("KEYSTORE_PATH", "release|keystore"), ("m2",)),
    Fact("g.marlin.connected", "project_fact", "marlin",
         "Instrumented tests: ./gradlew connectedDebugAndroidTest on the Pixel_6_API_34 emulator.",
         M("connectedDebugAndroidTest"), ("m4",)),
    Fact("g.marlin.openapi", "project_fact", "marlin",
         "The API client is generated with ./gradlew :api:openApiGenerate.",
         M("openApiGenerate"), ("m3",)),
    # -- failure -> fix, the fix a different command
    Fact("g.salt.vite", "failure_fix", "saltmarsh",
         "Vite manifest not found in tests: run npm run build first.",
         M("npm run build"), ("s2",), link=M("Vite manifest|manifest.json")),
    Fact("g.salt.sail", "failure_fix", "saltmarsh",
         "artisan migrate fails with SQLSTATE[HY000] [2002] Connection refused: start MySQL with ./vendor/bin/sail up -d.",
         M("sail up -d"), ("s3",), link=M("2002|Connection refused")),
    Fact("g.corvid.conan", "failure_fix", "corvid",
         "CMake cannot find fmtConfig.cmake: run conan install . --output-folder=build --build=missing first.",
         M("conan install", "--build=missing"), ("c1",), link=M("fmtConfig.cmake|fmt")),
    Fact("g.corvid.cache", "failure_fix", "corvid",
         "A CMakeCache.txt from another directory: delete build and configure with cmake --preset dev.",
         M("cmake --preset dev", "build"), ("c3",), link=M("CMakeCache.txt")),
    Fact("g.wicket.ecto", "failure_fix", "wicket",
         "mix test: database wicket_test does not exist; create it with MIX_ENV=test mix ecto.create.",
         M("ecto.create"), ("w2",), link=M("does not exist|wicket_test")),
    Fact("g.wicket.hex", "failure_fix", "wicket",
         "mix deps.get fails to fetch the record for hexpm packages: update Hex with mix local.hex --force.",
         M("local.hex"), ("w3",), link=M("fetch record|hexpm")),
    Fact("g.marlin.sdkdir", "failure_fix", "marlin",
         "SDK location not found: put sdk.dir=$HOME/Android/Sdk in local.properties.",
         M("sdk.dir", "local.properties"), ("m1",), link=M("SDK location|ANDROID_HOME")),
    Fact("g.marlin.jdk", "failure_fix", "marlin",
         "Unsupported class file major version 65 (JDK 21): switch with sdk use java 17.0.13-tem.",
         M("sdk use java", "17|17.0.13-tem"), ("m2",), link=M("major version 65|class file major version")),
    Fact("g.quokka.settings", "failure_fix", "quokka",
         "pytest raises ImproperlyConfigured (no settings): set DJANGO_SETTINGS_MODULE = config.settings.test in pyproject.toml.",
         M("DJANGO_SETTINGS_MODULE", "config.settings.test"), ("q1",), link=M("ImproperlyConfigured")),
    Fact("g.quokka.lock", "failure_fix", "quokka",
         "poetry add fails because poetry.lock is out of date: run poetry lock --no-update first.",
         M("poetry lock --no-update"), ("q2",), link=M("poetry.lock|lock file")),
    # -- superseding facts, stated in the later sessions
    Fact("g.salt.pest", "superseding", "saltmarsh",
         "Tests run with ./vendor/bin/pest --parallel (Pest replaced php artisan test).",
         M("vendor/bin/pest|pest"), ("s7",)),
    Fact("g.corvid.clang", "superseding", "corvid",
         "Dependencies install with the conan profile linux-clang18.",
         M("linux-clang18"), ("c7",)),
    Fact("g.wicket.release", "superseding", "wicket",
         "Deploy with make release from trunk (to the k8s cluster).",
         M("make release"), ("w7",)),
    Fact("g.marlin.minsdk28", "superseding", "marlin",
         "minSdk is 28.",
         M("minSdk", "28"), ("m7",)),
)

DISTRACTORS = (
    Distractor("g.d.pid", "transient", "the stale queue worker's pid 48213",
               M("48213"), ("s3",)),
    Distractor("g.d.image", "transient", "one deployment's image tag",
               M("deployment-01JE8Q"), ("w4",)),
    Distractor("g.d.task", "transient", "one running celery task's id",
               M("a3f9c2e1-77b0-4c55-9d0e-1b2c3d4e5f60"), ("q3",)),
    Distractor("g.d.appkey", "secret", "the Laravel APP_KEY printed from .env",
               M("Qm9yZWFsaXNwYXJhZGlzZTQyIXJhbmRvbWtleQ"), ("s3",)),
    Distractor("g.d.dog", "small_talk", "the dog barking at the mail carrier",
               M("mail carrier"), ("s1",)),
    Distractor("g.d.monday", "small_talk", "a to-do for Monday",
               M("Monday"), ("m5",)),
    Distractor("g.d.update", "rejected", "update every composer package (the user said no)",
               M("composer update"), ("s1",), negatable=True),
    Distractor("g.d.werror_off", "rejected", "turn -Werror off with CORVID_WERROR=OFF (the user said no)",
               M("CORVID_WERROR=OFF"), ("c2",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="g",
    how="dictated by voice with pasted checklists, knowledge found with rg/git/--help (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="m4",
    notes={
        "voice": "a developer dictating run-on sentences with misheard words and spelled-out numbers",
        "means": "knowledge the agent digs out of config, TODOs, git log -p/blame and --help output",
    },
)
