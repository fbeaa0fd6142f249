"""Corpus B, generated from templates with a seeded RNG: five other projects in other stacks
(Django/Celery with poetry, a Gradle/Kotlin service, a C++/CMake library, a Rails app, a
Terraform repo), other facts and other wording than corpus A.

Each project is data — its test and build commands, the output shapes of its tools, and the
facts planted in it — and each session is assembled from episode templates: a routine task, a
test run that needs an environment variable, a failure and the different command that fixes
it, a question answered from the tree, a user rule, an action the user turns down, a pasted
credential, small talk. The RNG picks dates, which episodes share a session, their order, the
routine work around them and each phrasing from that template's own pool. The ground truth is
declared beside the data it is planted from, so it does not depend on the RNG's choices.
"""

# Tool output keeps its real line lengths.
# ruff: noqa: E501

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from quality.model import (
    Corpus,
    Distractor,
    Fact,
    M,
    Match,
    Patch,
    Project,
    Say,
    Session,
    Sh,
    Step,
    Think,
    User,
)

SEED = 20261206
HOME = "/srv/work"


@dataclass(frozen=True)
class Stack:
    """How one project's tools look: commands and the shape of their output."""

    project: Project
    test_cmd: str
    test_ok: Callable[[random.Random], str]
    edits: tuple[tuple[str, str, str], ...]  # (request, file, patch body)
    looks: tuple[tuple[str, str], ...]  # harmless reads: (command, output)


def _pytest_ok(rng: random.Random) -> str:
    n = rng.randint(40, 260)
    return f"{'.' * min(n, 72)}\n{n} passed in {rng.uniform(1, 30):.2f}s"


def _gradle_ok(rng: random.Random) -> str:
    return (
        "> Task :compileKotlin UP-TO-DATE\n> Task :test\n\n"
        f"BUILD SUCCESSFUL in {rng.randint(8, 70)}s\n{rng.randint(5, 12)} actionable tasks: "
        f"{rng.randint(1, 4)} executed, {rng.randint(2, 8)} up-to-date"
    )


def _ctest_ok(rng: random.Random) -> str:
    n = rng.randint(20, 90)
    return (
        f"Test project /srv/work/pixelforge/build\n...\n100% tests passed, 0 tests failed out of "
        f"{n}\n\nTotal Test time (real) = {rng.uniform(1, 9):6.2f} sec"
    )


def _rails_ok(rng: random.Random) -> str:
    n = rng.randint(80, 400)
    return (
        f"Running {n} tests in parallel using 4 processes\nRun options: --seed {rng.randint(1000, 65000)}\n\n"
        f"# Running:\n\n{'.' * 60}\n\nFinished in {rng.uniform(3, 40):.6f}s\n{n} runs, {n * 3} assertions, 0 failures, 0 errors, 0 skips"
    )


def _tf_ok(rng: random.Random) -> str:
    return (
        "Refreshing state...\n\nNo changes. Your infrastructure matches the configuration.\n\n"
        "Terraform has compared your real infrastructure against your configuration and found "
        "no differences, so no changes are needed."
    )


ORBIT = Stack(
    Project("orbit", f"{HOME}/orbit", "https://git.example.org/platform/orbit.git", "develop"),
    "poetry run pytest -x -q",
    _pytest_ok,
    (
        (
            "add a `--dry-run` flag to the send_digests management command",
            "orbit/notifications/management/commands/send_digests.py",
            '@@\n     def add_arguments(self, parser):\n+        parser.add_argument("--dry-run", action="store_true")',
        ),
        (
            "make the digest subject line include the week number",
            "orbit/notifications/digest.py",
            '@@\n-    subject = "Your weekly digest"\n+    subject = f"Your digest for week {week:%V}"',
        ),
        (
            "return 404 instead of 500 when a workspace slug is unknown",
            "orbit/workspaces/views.py",
            "@@\n-    ws = Workspace.objects.get(slug=slug)\n+    ws = get_object_or_404(Workspace, slug=slug)",
        ),
    ),
    (
        ("git status --short", " M orbit/notifications/digest.py"),
        (
            "poetry run python manage.py showmigrations notifications | tail -3",
            " [X] 0012_digest_week\n [X] 0013_digest_optout\n [ ] 0014_digest_locale",
        ),
    ),
)

TESSERA = Stack(
    Project("tessera", f"{HOME}/tessera", "https://git.example.org/payments/tessera.git"),
    "./gradlew test",
    _gradle_ok,
    (
        (
            "expose the settlement cutoff time on /v1/config",
            "src/main/kotlin/org/example/tessera/api/ConfigController.kt",
            "@@\n     fun config(): ConfigDto = ConfigDto(\n+        settlementCutoff = settings.cutoff,",
        ),
        (
            "log the idempotency key on every declined payment",
            "src/main/kotlin/org/example/tessera/payments/Declines.kt",
            '@@\n-        log.info("declined {}", payment.id)\n+        log.info("declined {} key={}", payment.id, payment.idempotencyKey)',
        ),
    ),
    (
        (
            "git log --oneline -3",
            "c41e2aa Split settlement batches by currency\n9b03d1f Bump ktor to 2.3.12\n51aa7e0 Reject zero-amount captures",
        ),
        (
            "./gradlew -q dependencies --configuration runtimeClasspath | head -3",
            "runtimeClasspath - Runtime classpath of source set 'main'.\n+--- org.jetbrains.kotlin:kotlin-stdlib:1.9.24\n+--- io.ktor:ktor-server-core:2.3.12",
        ),
    ),
)

PIXELFORGE = Stack(
    Project("pixelforge", f"{HOME}/pixelforge", "https://git.example.org/media/pixelforge.git"),
    "ctest --test-dir build --output-on-failure",
    _ctest_ok,
    (
        (
            "add a Lanczos-3 option to the resize filter",
            "src/resize.cpp",
            "@@\n   switch (kernel) {\n+    case Kernel::Lanczos3: return lanczos(x, 3);",
        ),
        (
            "speed up the grayscale conversion, it shows up in the profile",
            "src/color.cpp",
            "@@\n-  for (size_t i = 0; i < n; ++i) out[i] = luma(in[i]);\n+  std::transform(in, in + n, out, luma);",
        ),
    ),
    (
        ("git status --short", "?? build/"),
        ("cmake --version | head -1", "cmake version 3.28.3"),
    ),
)

KIOSK = Stack(
    Project("kiosk", f"{HOME}/kiosk", "https://git.example.org/retail/kiosk.git"),
    "bin/rails test",
    _rails_ok,
    (
        (
            "let staff reprint a receipt from the order page",
            "app/controllers/receipts_controller.rb",
            "@@\n   def show\n+    @reprint = params[:reprint].present?",
        ),
        (
            "hide out-of-stock items from the kiosk menu",
            "app/models/menu_item.rb",
            "@@\n-  scope :visible, -> { where(active: true) }\n+  scope :visible, -> { where(active: true).where('stock > 0') }",
        ),
    ),
    (
        (
            "bin/rails routes -g receipt | head -3",
            "      receipt GET  /orders/:order_id/receipt(.:format) receipts#show",
        ),
        ("git status --short", " M app/models/menu_item.rb"),
    ),
)

TERRAGRID = Stack(
    Project("terragrid", f"{HOME}/terragrid", "https://git.example.org/infra/terragrid.git"),
    "terraform -chdir=envs/staging plan -lock-timeout=60s",
    _tf_ok,
    (
        (
            "raise the staging queue's visibility timeout to 120 seconds",
            "modules/queue/main.tf",
            "@@\n-  visibility_timeout_seconds = 30\n+  visibility_timeout_seconds = 120",
        ),
        (
            "tag every bucket with the cost centre",
            "modules/storage/main.tf",
            "@@\n   tags = {\n+    cost_centre = var.cost_centre",
        ),
    ),
    (
        ("git status --short", " M modules/queue/main.tf"),
        ("terraform version | head -1", "Terraform v1.7.5"),
    ),
)

STACKS = {s.project.name: s for s in (ORBIT, TESSERA, PIXELFORGE, KIOSK, TERRAGRID)}

# -- episode templates. Each returns its steps; the first step is always the user speaking.

OPEN_TASK = (
    "{task}",
    "Could you {task}?",
    "Next up: {task}.",
    "Small one — {task}.",
    "Today I need you to {task}.",
)
DONE_TASK = (
    "Done: {file} changed and the tests are green.",
    "Implemented in {file}; the suite passes.",
    "That's in — {file}. Tests pass.",
)


def ep_task(rng: random.Random, st: Stack) -> list[Step]:
    """Routine work: read, edit, test, report."""
    task, path, body = rng.choice(st.edits)
    look = rng.choice(st.looks)
    return [
        User(rng.choice(OPEN_TASK).format(task=task)),
        Sh(look[0], look[1]),
        Patch(f"*** Update File: {path}\n{body}"),
        Sh(st.test_cmd, st.test_ok(rng), secs=rng.uniform(2, 40)),
        Say(rng.choice(DONE_TASK).format(file=path)),
    ]


@dataclass(frozen=True)
class Failure:
    """A command fails; ``fix`` (a different command) makes the retry pass."""

    ask: tuple[str, ...]  # what the user says
    cmd: str
    fail: str
    code: int
    fix: str | None  # None: the retry itself carries the fix (an environment variable)
    fix_out: str
    retry_out: str | None  # None: the failed command is not run again (it is gone)
    conclude: tuple[str, ...]  # the assistant's conclusion, one picked
    probe: tuple[str, str] | None = None  # a diagnostic command run in between
    retry_cmd: str | None = None


def ep_failure(rng: random.Random, st: Stack, f: Failure) -> list[Step]:
    steps: list[Step] = [
        User(rng.choice(f.ask)),
        Sh(f.cmd, f.fail, code=f.code, secs=rng.uniform(1, 60)),
    ]
    if f.probe:
        steps += [Think("**Looking** at what the error names"), Sh(*f.probe)]
    if f.fix is not None:
        steps.append(Sh(f.fix, f.fix_out, secs=rng.uniform(1, 20)))
    if f.retry_out is not None:
        steps.append(Sh(f.retry_cmd or f.cmd, f.retry_out, secs=rng.uniform(1, 60)))
    steps.append(Say(rng.choice(f.conclude)))
    return steps


@dataclass(frozen=True)
class Lookup:
    """The user asks; the answer is in the tree; the assistant concludes."""

    ask: tuple[str, ...]
    cmd: str
    out: str
    conclude: tuple[str, ...]


def ep_lookup(rng: random.Random, st: Stack, lk: Lookup) -> list[Step]:
    return [User(rng.choice(lk.ask)), Sh(lk.cmd, lk.out), Say(rng.choice(lk.conclude))]


def ep_rule(rng: random.Random, st: Stack, said: str) -> list[Step]:
    """A rule stated around routine work: before the request, after it, or once the work is
    done, as a remark of its own."""
    task, path, body = rng.choice(st.edits)
    ask = rng.choice(OPEN_TASK).format(task=task)
    work: list[Step] = [
        Patch(f"*** Update File: {path}\n{body}"),
        Sh(st.test_cmd, st.test_ok(rng), secs=rng.uniform(2, 40)),
        Say(rng.choice(DONE_TASK).format(file=path)),
    ]
    where = rng.randrange(3)
    if where == 0:
        return [User(f"{said} {ask}"), *work]
    if where == 1:
        return [User(f"{ask} {said}"), *work]
    return [User(ask), *work, User(f"Thanks. {said}"), Say("Got it.")]


@dataclass(frozen=True)
class Rejection:
    ask: str
    proposal: str  # the assistant proposes it
    refusal: str  # the user turns it down
    instead: tuple[Step, ...]


def ep_reject(rng: random.Random, st: Stack, r: Rejection) -> list[Step]:
    return [User(r.ask), Say(r.proposal), User(r.refusal), *r.instead]


@dataclass
class Plan:
    """What one session of a project holds: its planted episodes in order."""

    project: str
    days_ago: float
    episodes: list[Callable[[random.Random, Stack], list[Step]]] = field(default_factory=list)
    later: bool = False
    branch: str | None = None


def _failure(f: Failure) -> Callable[[random.Random, Stack], list[Step]]:
    return lambda rng, st: ep_failure(rng, st, f)


def _lookup(lk: Lookup) -> Callable[[random.Random, Stack], list[Step]]:
    return lambda rng, st: ep_lookup(rng, st, lk)


def _rule(said: str) -> Callable[[random.Random, Stack], list[Step]]:
    return lambda rng, st: ep_rule(rng, st, said)


def _reject(r: Rejection) -> Callable[[random.Random, Stack], list[Step]]:
    return lambda rng, st: ep_reject(rng, st, r)


def _say(text: str) -> Callable[[random.Random, Stack], list[Step]]:
    return lambda rng, st: [User(text), Say(rng.choice(("Noted.", "Sure.", "OK.")))]


# -- what is planted, per project

AWS_KEY_ID = "AKIA4QZ7RJ2MXW5TB3KD"
AWS_SECRET = "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"

ORBIT_REDIS = Failure(
    ask=(
        "The celery tests hang and then die, what's going on?",
        "test_digest_tasks keeps failing on my box.",
    ),
    cmd="poetry run pytest orbit/notifications -q",
    fail="""\
E   kombu.exceptions.OperationalError: Error 111 connecting to localhost:6379. Connection refused.

orbit/conftest.py:31: in celery_app
    app.connection_for_write().ensure_connection(max_retries=1)
=========================== short test summary info ============================
ERROR orbit/notifications/tests/test_digest_tasks.py::test_digest_is_queued - kombu.exceptions.OperationalError: Error 111 connecting to localhost:6379. Connection refused.
1 error in 3.41s""",
    code=1,
    probe=(
        "docker compose ps redis",
        "NAME            IMAGE       SERVICE   STATUS         PORTS\norbit-redis-1   redis:7.2   redis     Up 2 days      0.0.0.0:6380->6379/tcp",
    ),
    fix=None,
    fix_out="",
    retry_cmd="ORBIT_REDIS_URL=redis://localhost:6380/1 poetry run pytest orbit/notifications -q",
    retry_out="......................\n22 passed in 4.87s",
    conclude=(
        "The compose Redis is published on 6380, not the default 6379: orbit's tests need ORBIT_REDIS_URL=redis://localhost:6380/1 in the environment.",
        "Nothing was broken in the code — Celery looked for Redis on 6379 while compose maps it to 6380. With ORBIT_REDIS_URL=redis://localhost:6380/1 exported the 22 tests pass.",
    ),
)
ORBIT_PG = Failure(
    ask=("poetry install blows up on the fresh VM.",),
    cmd="poetry install",
    fail="""\
Installing dependencies from lock file

  - Installing psycopg2 (2.9.9): Failed

  ChefBuildError

  Backend subprocess exited when trying to invoke build_wheel

  running build_ext
  Error: pg_config executable not found.

  pg_config is required to build psycopg2 from source.  Please add the directory
  containing pg_config to the $PATH or specify the full executable path with the
  option:

      python setup.py build_ext --pg-config /path/to/pg_config build ...""",
    code=1,
    fix="sudo apt-get install -y libpq-dev",
    fix_out="Setting up libpq-dev (15.6-0+deb12u1) ...",
    retry_out="Installing dependencies from lock file\n\nPackage operations: 1 install, 0 updates, 0 removals\n\n  - Installing psycopg2 (2.9.9)\n\nInstalling the current project: orbit (3.4.0)",
    conclude=(
        "psycopg2 builds from source and needs pg_config, which comes with libpq-dev; after `sudo apt-get install -y libpq-dev` poetry install completes.",
    ),
)
ORBIT_PY = Failure(
    ask=("Set up orbit on this machine please.",),
    cmd="poetry install",
    fail="""\
The currently activated Python version 3.10.12 is not supported by the project (>=3.11,<3.13).
Trying to find and use a compatible version.

Poetry was unable to find a compatible version. If you have one, you can explicitly use it via the "env use" command.""",
    code=1,
    fix="poetry env use python3.11",
    fix_out="Creating virtualenv orbit-Jk3mPq2z-py3.11 in /home/ana/.cache/pypoetry/virtualenvs\nUsing virtualenv: /home/ana/.cache/pypoetry/virtualenvs/orbit-Jk3mPq2z-py3.11",
    retry_out="Installing dependencies from lock file\n\nPackage operations: 87 installs, 0 updates, 0 removals\n\nInstalling the current project: orbit (3.4.0)",
    conclude=(
        "orbit requires Python 3.11 or 3.12 (pyproject: >=3.11,<3.13) and the default python here is 3.10; `poetry env use python3.11` switched the virtualenv and the install went through.",
    ),
)
ORBIT_SETTINGS = Lookup(
    ask=(
        "Which settings module do the tests use?",
        "How does pytest know which Django settings to load?",
    ),
    cmd="rg -n 'DJANGO_SETTINGS_MODULE' pyproject.toml orbit/settings",
    out='pyproject.toml:41:DJANGO_SETTINGS_MODULE = "orbit.settings.test"\norbit/settings/test.py:1:from .base import *  # noqa: F403',
    conclude=(
        "pytest-django reads DJANGO_SETTINGS_MODULE from pyproject.toml: the tests always run with orbit.settings.test, which overrides orbit.settings.base.",
    ),
)
ORBIT_TEST_OLD = Lookup(
    ask=("How do I run only the billing tests?",),
    cmd="poetry run python manage.py test orbit.billing --keepdb",
    out="Using existing test database for alias 'default'...\n....................................\n----------------------------------------------------------------------\nRan 36 tests in 2.118s\n\nOK",
    conclude=(
        "Run them with `poetry run python manage.py test orbit.billing --keepdb`; --keepdb reuses the test database so it is fast.",
    ),
)
ORBIT_TEST_NEW = Failure(
    ask=("Run the billing tests again after the merge.",),
    cmd="poetry run python manage.py test orbit.billing --keepdb",
    fail="CommandError: manage.py test was removed in orbit 4.0 — the suite runs under pytest now: `poetry run pytest`.",
    code=1,
    fix="poetry run pytest orbit/billing -q",
    fix_out="....................................\n36 passed in 3.02s",
    retry_out=None,
    conclude=(
        "`manage.py test` is gone since orbit 4.0; the billing tests (all 36) now run with `poetry run pytest orbit/billing`.",
    ),
)

TESSERA_RESOLVE = Failure(
    ask=("The build can't find billing-client since this morning.",),
    cmd="./gradlew build",
    fail="""\
FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':compileKotlin'.
> Could not resolve all files for configuration ':compileClasspath'.
   > Could not find org.example:billing-client:2.4.1.
     Searched in the following locations:
       - https://repo.example.org/maven/org/example/billing-client/2.4.1/billing-client-2.4.1.pom

BUILD FAILED in 6s""",
    code=1,
    fix="./gradlew build --refresh-dependencies",
    fix_out="> Task :compileKotlin\n> Task :test\n\nBUILD SUCCESSFUL in 58s",
    retry_out="BUILD SUCCESSFUL in 21s\n9 actionable tasks: 2 executed, 7 up-to-date",
    conclude=(
        "Gradle had cached a miss for billing-client 2.4.1 before it was published; `--refresh-dependencies` made it look again and the build is green.",
    ),
)
TESSERA_SPOTLESS = Failure(
    ask=(
        "CI says the build is red on formatting.",
        "Pipeline failed in the check stage, please fix.",
    ),
    cmd="./gradlew check",
    fail="""\
> Task :spotlessKotlinCheck FAILED

FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':spotlessKotlinCheck'.
> The following files had format violations:
      src/main/kotlin/org/example/tessera/payments/Declines.kt
          @@ -12,7 +12,7 @@
      Run './gradlew :spotlessApply' to fix these violations.""",
    code=1,
    fix="./gradlew spotlessApply",
    fix_out="BUILD SUCCESSFUL in 4s",
    retry_out="BUILD SUCCESSFUL in 47s\n14 actionable tasks: 5 executed, 9 up-to-date",
    conclude=(
        "spotlessKotlinCheck flagged Declines.kt; `./gradlew spotlessApply` reformatted it and `./gradlew check` passes.",
    ),
)
TESSERA_JDK = Failure(
    ask=("Gradle explodes right at configuration time.",),
    cmd="./gradlew test",
    fail="""\
FAILURE: Build failed with an exception.

* What went wrong:
Could not determine the dependencies of task ':test'.
> No matching toolchains found for requested specification: {languageVersion=21, vendor=any, implementation=vendor-specific} for LINUX on x86_64.
   > No locally installed toolchains match and toolchain download repositories have not been configured.""",
    code=1,
    fix="sdk install java 21.0.3-tem",
    fix_out="Installing: java 21.0.3-tem\nDone installing!\n\nSetting java 21.0.3-tem as default.",
    retry_out="BUILD SUCCESSFUL in 1m 12s",
    conclude=(
        "The Gradle toolchain asks for Java 21 and only 17 was installed; `sdk install java 21.0.3-tem` provided it and the tests pass.",
    ),
)
TESSERA_RYUK = Failure(
    ask=("Integration tests fail under rootless podman.",),
    cmd="./gradlew integrationTest",
    fail="""\
PaymentsIT > initializationError FAILED
    org.testcontainers.containers.ContainerLaunchException: Container startup failed for image testcontainers/ryuk:0.7.0
        Caused by: com.github.dockerjava.api.exception.InternalServerErrorException: Status 500: {"cause":"permission denied","message":"container create: statfs /var/run/docker.sock: permission denied"}""",
    code=1,
    fix=None,
    fix_out="",
    retry_cmd="TESTCONTAINERS_RYUK_DISABLED=true ./gradlew integrationTest",
    retry_out="PaymentsIT > capturesAndSettles() PASSED\nPaymentsIT > declinesExpiredCards() PASSED\n\nBUILD SUCCESSFUL in 1m 41s",
    conclude=(
        "Ryuk, Testcontainers' reaper, cannot mount the podman socket; with TESTCONTAINERS_RYUK_DISABLED=true the integration tests run (run them with `./gradlew integrationTest`).",
    ),
)
TESSERA_IT_NEW = Failure(
    ask=("Integration tests please, before I tag the release.",),
    cmd="./gradlew integrationTest",
    fail="""\
FAILURE: Build failed with an exception.

* What went wrong:
Task 'integrationTest' not found in root project 'tessera'. Some candidates are: 'intTest'.""",
    code=1,
    fix="./gradlew intTest",
    fix_out="PaymentsIT > capturesAndSettles() PASSED\n\nBUILD SUCCESSFUL in 1m 38s",
    retry_out=None,
    conclude=(
        "The integrationTest task was renamed: it is `./gradlew intTest` now (with TESTCONTAINERS_RYUK_DISABLED=true as before). All green.",
    ),
)
TESSERA_LOCAL_CFG = Lookup(
    ask=("Where do I put local overrides for the payment gateway URL?",),
    cmd="ls src/main/resources && rg -n 'gateway' src/main/resources/application-local.yml",
    out="application-local.yml\napplication.yml\nlogback.xml\n7:  gateway-url: http://localhost:9090/mock-gateway",
    conclude=(
        "Local overrides go in src/main/resources/application-local.yml (the `local` Spring profile); the gateway URL is `tessera.gateway-url` there.",
    ),
)

PF_PNG = Failure(
    ask=("The build broke after I wiped my container.",),
    cmd="cmake --build build -j8",
    fail="""\
[ 12%] Building CXX object src/CMakeFiles/pixelforge.dir/codec_png.cpp.o
/srv/work/pixelforge/src/codec_png.cpp:4:10: fatal error: png.h: No such file or directory
    4 | #include <png.h>
      |          ^~~~~~~
compilation terminated.
gmake[2]: *** [src/CMakeFiles/pixelforge.dir/build.make:118: src/CMakeFiles/pixelforge.dir/codec_png.cpp.o] Error 1""",
    code=2,
    fix="sudo apt-get install -y libpng-dev",
    fix_out="Setting up libpng-dev:amd64 (1.6.39-2) ...",
    retry_out="[100%] Linking CXX shared library libpixelforge.so\n[100%] Built target pixelforge",
    conclude=(
        "png.h comes from libpng-dev, which the fresh container lacked; after `sudo apt-get install -y libpng-dev` it builds.",
    ),
)
PF_DATA = Failure(
    ask=("Half the ctest cases fail on CI runners, locally they're fine.",),
    cmd="ctest --test-dir build --output-on-failure",
    fail="""\
 7/41 Test  #7: decode_png_rgba ..................***Failed    0.02 sec
cannot open tests/data/rgba_16bit.png: No such file or directory
...
63% tests passed, 15 tests failed out of 41""",
    code=8,
    probe=("cat .gitattributes", "tests/data/** filter=lfs diff=lfs merge=lfs -text"),
    fix="./scripts/fetch-testdata.sh",
    fix_out="fetching 38 files into tests/data ... ok (21.4 MB)",
    retry_out="100% tests passed, 0 tests failed out of 41",
    conclude=(
        "The sample images under tests/data are not in git (LFS pointers only); `./scripts/fetch-testdata.sh` downloads them, then all 41 tests pass.",
    ),
)
PF_MAKE_OLD = Lookup(
    ask=("What's the quickest way to rebuild after touching a header?",),
    cmd="make -C build -j8 pixelforge",
    out="[ 50%] Building CXX object src/CMakeFiles/pixelforge.dir/resize.cpp.o\n[100%] Built target pixelforge",
    conclude=(
        "`make -C build -j8 pixelforge` rebuilds just the library target in the existing build tree.",
    ),
)
PF_NINJA_NEW = Failure(
    ask=("Rebuild the library, I pulled the new toolchain file.",),
    cmd="make -C build -j8 pixelforge",
    fail="make: Entering directory '/srv/work/pixelforge/build'\nmake: *** No rule to make target 'pixelforge'.  Stop.\nmake: Leaving directory '/srv/work/pixelforge/build'",
    code=2,
    probe=("ls build", "build.ninja  CMakeCache.txt  CMakeFiles  compile_commands.json"),
    fix="ninja -C build pixelforge",
    fix_out="[2/2] Linking CXX shared library libpixelforge.so",
    retry_out=None,
    conclude=(
        "The build tree is generated for Ninja now (build.ninja, no Makefile), so make no longer works there; rebuild with `ninja -C build pixelforge`.",
    ),
)

KIOSK_PENDING = Failure(
    ask=("Tests are all red after I pulled main.",),
    cmd="bin/rails test",
    fail="""\
/srv/work/kiosk/vendor/bundle/ruby/3.3.0/gems/activerecord-7.1.3/lib/active_record/migration.rb:750:in `check_pending_migrations': Migrations are pending. To resolve this issue, run: (ActiveRecord::PendingMigrationError)

        bin/rails db:migrate RAILS_ENV=test""",
    code=1,
    fix="bin/rails db:migrate RAILS_ENV=test",
    fix_out="== 20261121093012 AddStockToMenuItems: migrating ==============================\n-- add_column(:menu_items, :stock, :integer, {:default=>0, :null=>false})\n   -> 0.0041s",
    retry_out="212 runs, 640 assertions, 0 failures, 0 errors, 0 skips",
    conclude=(
        "A new migration had not been applied to the test database (PendingMigrationError); `bin/rails db:migrate RAILS_ENV=test` applied it and the suite passes.",
    ),
)
KIOSK_RUBOCOP = Failure(
    ask=("The pre-commit hook won't let me commit.",),
    cmd="git commit -m 'Hide out-of-stock items'",
    fail="""\
RuboCop..................................................................Failed
- hook id: rubocop
- exit code: 1

app/models/menu_item.rb:4:46: C: [Correctable] Style/StringLiterals: Prefer double-quoted strings unless you need single quotes to avoid extra backslashes for escaping.
1 file inspected, 1 offense detected, 1 offense autocorrectable""",
    code=1,
    fix="bundle exec rubocop -a app/models/menu_item.rb",
    fix_out="1 file inspected, 1 offense detected, 1 offense corrected",
    retry_out="RuboCop..................................................................Passed\n[feature/stock 7f1c2e9] Hide out-of-stock items\n 1 file changed, 1 insertion(+), 1 deletion(-)",
    conclude=(
        "The rubocop hook rejected a single-quoted string; `bundle exec rubocop -a` autocorrected it and the commit went through.",
    ),
)
KIOSK_DB_OLD = Lookup(
    ask=("Why can't my psql see the dev data?",),
    cmd="rg -n 'DATABASE_URL' .env.development docker-compose.yml",
    out='.env.development:2:DATABASE_URL=postgres://kiosk@localhost:5442/kiosk_dev\ndocker-compose.yml:14:      - "5442:5432"',
    conclude=(
        "kiosk's dev Postgres is on port 5442 (DATABASE_URL in .env.development; compose maps 5442 to 5432), so `psql -p 5442`.",
    ),
)
KIOSK_DB_NEW = Failure(
    ask=("Seed the dev database again.",),
    cmd="bin/rails db:seed",
    fail='ActiveRecord::ConnectionNotEstablished: connection to server at "127.0.0.1", port 5442 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?',
    code=1,
    probe=(
        "rg -n 'DATABASE_URL|:5432' .env.development docker-compose.yml",
        '.env.development:2:DATABASE_URL=postgres://kiosk@localhost:5443/kiosk_dev\ndocker-compose.yml:14:      - "5443:5432"',
    ),
    fix="docker compose up -d db",
    fix_out=" ✔ Container kiosk-db-1  Started",
    retry_out="Seeded 24 menu items, 3 kiosks.",
    conclude=(
        "The dev Postgres moved to port 5443 (docker-compose.yml and DATABASE_URL in .env.development were changed; 5442 is not used any more). The container was down; after `docker compose up -d db` seeding works.",
    ),
)
KIOSK_TAILWIND = Lookup(
    ask=("System tests can't find application.css, any idea?",),
    cmd="bin/rails tailwindcss:build",
    out="Rebuilding...\n\nDone in 412ms.",
    conclude=(
        "System tests need the compiled stylesheet: run `bin/rails tailwindcss:build` before `bin/rails test:system` (app/assets/builds is not committed).",
    ),
)

TG_LOCK = Failure(
    ask=("Plan for staging hangs on the lock.",),
    cmd="terraform -chdir=envs/staging plan",
    fail="""\
Acquiring state lock. This may take a few moments...
╷
│ Error: Error acquiring the state lock
│
│ Error message: ConditionalCheckFailedException: The conditional request failed
│ Lock Info:
│   ID:        9c1f7d3a-52be-4f0e-8a61-7e2d4b9c0a13
│   Path:      tg-state/staging/terraform.tfstate
│   Operation: OperationTypePlan
│   Who:       ci@runner-17
╵""",
    code=1,
    probe=(
        "gh run list --workflow plan.yml --limit 1",
        "completed  cancelled  plan staging  main  workflow_dispatch  88123  4m",
    ),
    fix="terraform -chdir=envs/staging force-unlock -force 9c1f7d3a-52be-4f0e-8a61-7e2d4b9c0a13",
    fix_out="Terraform state has been successfully unlocked!",
    retry_out="No changes. Your infrastructure matches the configuration.",
    conclude=(
        "A cancelled CI plan had left the state locked; after a force-unlock of that lock the plan runs. If plans hang, check for cancelled pipeline runs first.",
    ),
)
TG_INIT = Failure(
    ask=("terraform complains about the backend on my new laptop.",),
    cmd="terraform -chdir=envs/staging plan",
    fail="""\
╷
│ Error: Backend initialization required, please run "terraform init"
│
│ Reason: Initial configuration of the requested backend "s3"
╵""",
    code=1,
    fix="terraform -chdir=envs/staging init -backend-config=backend.hcl",
    fix_out='Initializing the backend...\n\nSuccessfully configured the backend "s3"!\n\nTerraform has been successfully initialized!',
    retry_out="No changes. Your infrastructure matches the configuration.",
    conclude=(
        "Each env needs `terraform init -backend-config=backend.hcl` once (the S3 backend settings live in envs/<env>/backend.hcl); after that plan works.",
    ),
)
TG_VERSION = Lookup(
    ask=("Which terraform version should I install?",),
    cmd="cat .terraform-version versions.tf | head -6",
    out='1.7.5\nterraform {\n  required_version = "~> 1.7.0"\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "~> 5.40" }',
    conclude=(
        "terragrid pins Terraform 1.7.5 (.terraform-version; versions.tf allows ~> 1.7.0) and the AWS provider ~> 5.40.",
    ),
)

# -- rules and preferences as the user says them (no pool shared with corpus A)

P_PIN = "Whatever you add to a dependency file gets an exact pin, no ranges."
P_FULLSUITE = "Don't kick off the whole suite every time — run just the tests for the code you touched unless I ask."
P_EMOJI = "Emojis stay out of commit messages and code comments."
P_TODO = "No TODO comments in the code; if something is left, tell me and I'll open an issue."
P_BRITISH = "User-facing strings are British English here and everywhere else."
P_DRAFT = "Open PRs as drafts first."
P_READY = "Drop the draft step — open PRs ready for review from now on, CI is fast enough."
G_LOCK_1 = "Leave the lockfile alone in unrelated changes — lock updates get their own commit."
G_LOCK_2 = "Lockfile churn goes in a separate commit, not mixed into feature work."
G_TEST_1 = "Write the failing test before the fix."
G_TEST_2 = "Start bug fixes with a regression test that fails, then fix."
R_IDEMPOTENT = "Every Celery task in orbit has to be idempotent, they get retried."
R_LOMBOK = "tessera: no Lombok in new code, Kotlin data classes do that job."
R_HEADERS = "Public headers under include/pixelforge must not pull in third-party headers."
R_SCHEMA = "In kiosk nobody edits db/schema.rb by hand, it comes from migrations."
R_WORKSPACE = "Apply staging only through the pipeline; locally it is plan only."

REJECT_NO_VERIFY = Rejection(
    ask="Commit what we have, the hook is slow.",
    proposal="I can commit with `git commit --no-verify` to skip the slow hook this once.",
    refusal="No. Don't bypass the hooks, just wait for them.",
    instead=(
        Sh(
            "git commit -m 'Tag buckets with the cost centre'",
            "terraform_fmt........Passed\ntflint...............Passed\n[main 2d9e0b1] Tag buckets with the cost centre\n 1 file changed, 1 insertion(+)",
            secs=41.0,
        ),
        Say("Committed with the hooks (41 s)."),
    ),
)
REJECT_DISABLED = Rejection(
    ask="PaymentsIT.declinesExpiredCards is flaky, deal with it.",
    proposal="Simplest is to annotate declinesExpiredCards with @Disabled until someone has time.",
    refusal="Absolutely not, find out why it flakes.",
    instead=(
        Sh(
            "./gradlew integrationTest --tests 'PaymentsIT.declinesExpiredCards' --rerun",
            "PaymentsIT > declinesExpiredCards() FAILED\n    expected: <2026-12-31> but was: <2027-01-01>",
            code=1,
            secs=30.0,
        ),
        Patch(
            "*** Update File: src/test/kotlin/org/example/tessera/PaymentsIT.kt\n@@\n-        val expiry = LocalDate.now().plusMonths(1)\n+        val expiry = LocalDate.now(clock).plusMonths(1)"
        ),
        Say(
            "It used the wall clock: near month end the expiry rolled over. The test now takes the fixed test clock."
        ),
    ),
)


def _plans() -> list[Plan]:
    """The sessions, with the days they start on; the RNG only jitters hours and fills."""
    return [
        # orbit
        Plan("orbit", 21.0, [_failure(ORBIT_PY), _say(P_PIN)]),
        Plan("orbit", 18.2, [_failure(ORBIT_REDIS)]),
        Plan("orbit", 15.3, [_lookup(ORBIT_SETTINGS), _rule(R_IDEMPOTENT)]),
        Plan("orbit", 11.6, [_lookup(ORBIT_TEST_OLD), _say(P_DRAFT)]),
        Plan("orbit", 7.4, [_failure(ORBIT_PG), _rule(G_LOCK_1)]),
        Plan("orbit", 0.8, [_failure(ORBIT_TEST_NEW)], later=True),
        # tessera
        Plan("tessera", 20.4, [_failure(TESSERA_JDK), _rule(R_LOMBOK)]),
        Plan("tessera", 16.8, [_failure(TESSERA_RESOLVE), _say(P_FULLSUITE)]),
        Plan("tessera", 13.0, [_failure(TESSERA_RYUK)]),
        Plan("tessera", 9.7, [_reject(REJECT_DISABLED), _rule(G_TEST_1)]),
        Plan("tessera", 5.5, [_failure(TESSERA_SPOTLESS), _lookup(TESSERA_LOCAL_CFG)]),
        Plan("tessera", 0.7, [_failure(TESSERA_IT_NEW), _say(P_READY)], later=True),
        # pixelforge
        Plan("pixelforge", 19.5, [_failure(PF_PNG)]),
        Plan("pixelforge", 14.1, [_lookup(PF_MAKE_OLD), _rule(R_HEADERS)]),
        Plan("pixelforge", 10.2, [_failure(PF_DATA), _say(P_EMOJI)]),
        Plan("pixelforge", 4.3, [_rule(G_TEST_2)], branch="fix/gamma"),
        Plan("pixelforge", 0.65, [_failure(PF_NINJA_NEW)], later=True),
        # kiosk
        Plan("kiosk", 17.7, [_lookup(KIOSK_DB_OLD), _rule(R_SCHEMA)]),
        Plan("kiosk", 12.4, [_failure(KIOSK_PENDING), _say(P_TODO)]),
        Plan("kiosk", 8.8, [_failure(KIOSK_RUBOCOP)], branch="feature/stock"),
        Plan("kiosk", 3.6, [_lookup(KIOSK_TAILWIND), _rule(G_LOCK_2)]),
        Plan("kiosk", 0.75, [_failure(KIOSK_DB_NEW)], later=True),
        # terragrid
        Plan("terragrid", 16.1, [_failure(TG_INIT), _say(P_BRITISH)]),
        Plan("terragrid", 11.0, [_failure(TG_LOCK), _rule(R_WORKSPACE)]),
        Plan("terragrid", 6.2, [_lookup(TG_VERSION), _reject(REJECT_NO_VERIFY)]),
        Plan("terragrid", 2.4, []),  # the session that gets forgotten: see _forgotten()
    ]


SMALL_TALK = "morning! my cat just walked across the keyboard, ignore any gibberish"
SECRET_PASTE = (
    f"for the deploy user, here are the keys: aws_access_key_id={AWS_KEY_ID} "
    f"aws_secret_access_key={AWS_SECRET} — wire them into the CI variables"
)


def _forgotten(rng: random.Random, st: Stack) -> list[Step]:
    """Facts that live only in this session (it is forgotten in the bench's third run)."""
    return [
        User("Why does tflint flag the queue module?"),
        Sh(
            "tflint --chdir=modules/queue",
            'Failed to initialize plugins; Plugin "aws" not found. Did you run "tflint --init"?',
            code=1,
        ),
        Sh(
            "tflint --init",
            'Installing "aws" plugin...\nInstalled "aws" (source: github.com/terraform-linters/tflint-ruleset-aws, version: 0.30.0)',
        ),
        Sh(
            "tflint --chdir=modules/queue",
            '1 issue(s) found:\n\nWarning: variable "dlq_arn" is declared but not used (terraform_unused_declarations)',
            code=2,
        ),
        Patch(
            '*** Update File: modules/queue/variables.tf\n@@\n-variable "dlq_arn" {\n-  type = string\n-}'
        ),
        Sh("tflint --chdir=modules/queue", ""),
        Say(
            "tflint had no AWS ruleset plugin until `tflint --init` installed it; then it flagged dlq_arn, declared in the queue module but never used, which I removed. Module docs are generated into modules/queue/README.md by terraform-docs — regenerate with `terraform-docs markdown table modules/queue`."
        ),
    ]


def _extras(rng: random.Random, key: str) -> list[Callable[[random.Random, Stack], list[Step]]]:
    """Distractor episodes, planted in fixed sessions."""
    if key == "b07":  # tessera, 20.4 days: small talk opens the day
        return [lambda r, st: [User(SMALL_TALK), Say("Good morning! Gibberish will be ignored.")]]
    if key == "b24":  # terragrid: a pasted credential
        return [
            lambda r, st: [
                User(SECRET_PASTE),
                Say(
                    "I won't store keys in the repo. Add them as masked CI variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the pipeline settings instead."
                ),
            ]
        ]
    if key == "b03":  # orbit: a one-off reproduction and a container id
        return [
            lambda r, st: [
                User("Can you reproduce the duplicate digest from ticket 4471?"),
                Sh(
                    "poetry run python scripts/repro_dupe_4471.py",
                    "sent 2 digests to user 93 (task ids 6f0c1e2a-77d4-4b8e-9f3a-2c5d8e1b4a70, 6f0c1e2a-77d4-4b8e-9f3a-2c5d8e1b4a71)",
                ),
                Sh(
                    "docker logs --tail 3 4be21f9c7a3d",
                    "[2026-11-20 09:14:02,118: INFO/ForkPoolWorker-3] Task send_digest[6f0c1e2a-77d4-4b8e-9f3a-2c5d8e1b4a70] succeeded in 0.41s",
                ),
                Say(
                    "Reproduced: the retry re-sent the digest because the task is not idempotent yet."
                ),
            ]
        ]
    return []


def build(seed: int = SEED) -> tuple[Session, ...]:
    rng = random.Random(seed)
    plans = _plans()
    sessions: list[Session] = []
    for i, plan in enumerate(plans, 1):
        key = f"b{i:02d}"
        st = STACKS[plan.project]
        episodes = list(plan.episodes) + _extras(rng, key)
        if key == "b26":
            episodes = [_forgotten]
        rng.shuffle(episodes)
        # routine work before or after the planted episodes, as real sessions have
        fill = rng.choice((0, 1, 1, 2))
        for _ in range(fill):
            episodes.insert(rng.randint(0, len(episodes)), ep_task)
        steps: list[Step] = []
        for ep in episodes:
            steps += ep(rng, st)
        jitter = rng.uniform(-0.08, 0.08) if not plan.later else 0.0
        sessions.append(
            Session(
                key,
                plan.project,
                round(plan.days_ago + jitter, 3),
                tuple(steps),
                plan.later,
                plan.branch,
            )
        )
    return tuple(sessions)


SESSIONS = build()


def _keys(*needles: str) -> tuple[str, ...]:
    """The sessions whose text holds every needle (where a fact was planted)."""
    out = []
    for s in SESSIONS:
        text = "\n".join(
            getattr(st, "text", "")
            + getattr(st, "cmd", "")
            + getattr(st, "out", "")
            + getattr(st, "body", "")
            for st in s.steps
        )
        if all(n in text for n in needles):
            out.append(s.key)
    if not out:
        raise ValueError(f"nothing planted for {needles}")
    return tuple(out)


def F(
    id: str,
    kind: str,
    project: str | None,
    says: str,
    match: Match,
    *needles: str,
    link: Match | None = None,
    superseded_by: str | None = None,
) -> Fact:
    return Fact(
        id, kind, project, says, match, _keys(*needles), link=link, superseded_by=superseded_by
    )


FACTS = (
    # preferences
    F(
        "b.pref.pin",
        "preference",
        None,
        "pin new dependencies to exact versions",
        M("pin|pinned|exact", "version|versions|dependency|dependencies"),
        P_PIN,
    ),
    F(
        "b.pref.suite",
        "preference",
        None,
        "run only the tests for the code touched, not the whole suite",
        M("whole|full|entire", "suite", "touched|changed|only|unless"),
        P_FULLSUITE,
    ),
    F(
        "b.pref.emoji",
        "preference",
        None,
        "no emojis in commit messages or comments",
        M("emoji|emojis"),
        P_EMOJI,
    ),
    F(
        "b.pref.todo",
        "preference",
        None,
        "no TODO comments; report leftovers for an issue",
        M("TODO|TODOs"),
        P_TODO,
    ),
    F(
        "b.pref.british",
        "preference",
        None,
        "user-facing strings in British English",
        M("British"),
        P_BRITISH,
    ),
    F(
        "b.pref.draft",
        "preference",
        None,
        "open PRs as drafts first",
        M("draft|drafts"),
        P_DRAFT,
        superseded_by="b.new.ready",
    ),
    # general rules, each stated in two projects in different words
    Fact(
        "b.gen.lockfile",
        "general_rule",
        None,
        "lockfile updates go in their own commit, never in unrelated changes",
        M("lockfile|lock file|lock updates", "commit|commits|unrelated|separate"),
        _keys(G_LOCK_1) + _keys(G_LOCK_2),
    ),
    Fact(
        "b.gen.failing_test",
        "general_rule",
        None,
        "write a failing regression test before the fix",
        M("failing test|regression test|test first|fails first", "fix|before|first"),
        _keys(G_TEST_1) + _keys(G_TEST_2),
    ),
    # project rules
    F(
        "b.rule.idempotent",
        "project_rule",
        "orbit",
        "Celery tasks must be idempotent (they are retried)",
        M("idempotent"),
        R_IDEMPOTENT,
    ),
    F(
        "b.rule.lombok",
        "project_rule",
        "tessera",
        "no Lombok in new code; use Kotlin data classes",
        M("Lombok"),
        R_LOMBOK,
    ),
    F(
        "b.rule.headers",
        "project_rule",
        "pixelforge",
        "public headers in include/pixelforge include no third-party headers",
        M("include/pixelforge|public headers", "third-party|third party"),
        R_HEADERS,
    ),
    F(
        "b.rule.schema",
        "project_rule",
        "kiosk",
        "db/schema.rb is generated from migrations, never edited by hand",
        M("schema.rb"),
        R_SCHEMA,
    ),
    F(
        "b.rule.apply",
        "project_rule",
        "terragrid",
        "staging is applied only by the pipeline; plan only locally",
        M("apply|applied|applies", "pipeline|CI"),
        R_WORKSPACE,
    ),
    # project facts from tool output and conclusions
    F(
        "b.fact.redis",
        "project_fact",
        "orbit",
        "tests need ORBIT_REDIS_URL=redis://localhost:6380/1",
        M("ORBIT_REDIS_URL", "6380"),
        "ORBIT_REDIS_URL",
    ),
    F(
        "b.fact.python",
        "project_fact",
        "orbit",
        "orbit requires Python 3.11 or 3.12",
        M("3.11|python3.11"),
        "poetry env use python3.11",
    ),
    F(
        "b.fact.settings",
        "project_fact",
        "orbit",
        "tests run with DJANGO_SETTINGS_MODULE orbit.settings.test",
        M("orbit.settings.test"),
        "orbit.settings.test",
    ),
    F(
        "b.fact.java",
        "project_fact",
        "tessera",
        "the Gradle toolchain needs Java 21",
        M("java|jdk|toolchain|temurin|tem", "21|21.0.3-tem"),
        "sdk install java",
    ),
    F(
        "b.fact.ryuk",
        "project_fact",
        "tessera",
        "integration tests need TESTCONTAINERS_RYUK_DISABLED=true",
        M("TESTCONTAINERS_RYUK_DISABLED"),
        "ContainerLaunchException",
    ),
    F(
        "b.fact.local_cfg",
        "project_fact",
        "tessera",
        "local overrides go in application-local.yml",
        M("application-local.yml"),
        "application-local.yml\napplication.yml",
    ),
    F(
        "b.fact.testdata",
        "project_fact",
        "pixelforge",
        "test images come from scripts/fetch-testdata.sh (not in git)",
        M("fetch-testdata"),
        "fetch-testdata.sh",
    ),
    F(
        "b.fact.tailwind",
        "project_fact",
        "kiosk",
        "run bin/rails tailwindcss:build before system tests",
        M("tailwindcss:build"),
        "tailwindcss:build",
    ),
    F(
        "b.fact.tf_version",
        "project_fact",
        "terragrid",
        "Terraform 1.7.5 (AWS provider ~> 5.40)",
        M("1.7.5|1.7"),
        ".terraform-version",
    ),
    F(
        "b.fact.backend",
        "project_fact",
        "terragrid",
        "each env needs terraform init -backend-config=backend.hcl",
        M("backend.hcl"),
        "backend.hcl",
    ),
    F(
        "b.fact.tf_docs",
        "project_fact",
        "terragrid",
        "module docs are generated by terraform-docs",
        M("terraform-docs"),
        "terraform-docs",
    ),
    F(
        "b.fact.test_old",
        "project_fact",
        "orbit",
        "run tests with manage.py test --keepdb",
        M("manage.py test"),
        "Ran 36 tests",
        superseded_by="b.new.pytest",
    ),
    F(
        "b.fact.make",
        "project_fact",
        "pixelforge",
        "rebuild with make -C build",
        M("make -C build|make -j8|make -C"),
        "rebuilds just the library target",
        superseded_by="b.new.ninja",
    ),
    F(
        "b.fact.db_port",
        "project_fact",
        "kiosk",
        "the dev Postgres is on 5442",
        M("5442"),
        "postgres://kiosk@localhost:5442",
        superseded_by="b.new.db_port",
    ),
    F(
        "b.fact.it_task",
        "project_fact",
        "tessera",
        "integration tests run with ./gradlew integrationTest",
        M("integrationTest"),
        "ContainerLaunchException",
        superseded_by="b.new.int_test",
    ),
    # failure -> a different command fixed it
    F(
        "b.ff.libpq",
        "failure_fix",
        "orbit",
        "poetry install fails: pg_config not found -> apt-get install libpq-dev",
        M("libpq-dev"),
        "pg_config executable not found",
        link=M("pg_config|psycopg2"),
    ),
    F(
        "b.ff.env_use",
        "failure_fix",
        "orbit",
        "poetry install: Python 3.10 not supported -> poetry env use python3.11",
        M("env use"),
        "poetry env use",
        link=M("not supported|3.10|unable to find a compatible|compatible"),
    ),
    F(
        "b.ff.refresh",
        "failure_fix",
        "tessera",
        "could not resolve billing-client -> gradlew --refresh-dependencies",
        M("refresh-dependencies"),
        "--refresh-dependencies",
        link=M("could not resolve|could not find|cached|billing-client"),
    ),
    F(
        "b.ff.spotless",
        "failure_fix",
        "tessera",
        "spotlessKotlinCheck format violations -> gradlew spotlessApply",
        M("spotlessApply"),
        "spotlessKotlinCheck",
        link=M("spotlessKotlinCheck|spotlessCheck|format violations|formatting|check"),
    ),
    F(
        "b.ff.libpng",
        "failure_fix",
        "pixelforge",
        "png.h missing -> apt-get install libpng-dev",
        M("libpng-dev"),
        "libpng-dev",
        link=M("png.h"),
    ),
    F(
        "b.ff.migrate",
        "failure_fix",
        "kiosk",
        "PendingMigrationError -> bin/rails db:migrate RAILS_ENV=test",
        M("db:migrate"),
        "PendingMigrationError",
        link=M("PendingMigrationError|pending"),
    ),
    F(
        "b.ff.rubocop",
        "failure_fix",
        "kiosk",
        "rubocop pre-commit hook fails -> bundle exec rubocop -a",
        M("rubocop -a|rubocop --autocorrect"),
        "rubocop -a",
        link=M("hook|pre-commit|commit|offense|offenses"),
    ),
    F(
        "b.ff.unlock",
        "failure_fix",
        "terragrid",
        "state lock held by a cancelled CI plan -> terraform force-unlock",
        M("force-unlock"),
        "force-unlock",
        link=M("lock|locked|state lock"),
    ),
    F(
        "b.ff.tflint",
        "failure_fix",
        "terragrid",
        "tflint needs its AWS plugin -> tflint --init",
        M("tflint --init"),
        "tflint --init",
        link=M("tflint"),
    ),
    # what the later sessions state instead
    F(
        "b.new.pytest",
        "superseding",
        "orbit",
        "tests run with poetry run pytest (manage.py test removed in 4.0)",
        M("poetry run pytest|pytest"),
        "manage.py test was removed",
    ),
    F(
        "b.new.ninja",
        "superseding",
        "pixelforge",
        "rebuild with ninja -C build",
        M("ninja"),
        "ninja -C build",
    ),
    F(
        "b.new.db_port",
        "superseding",
        "kiosk",
        "the dev Postgres moved to 5443",
        M("5443"),
        "5443:5432",
    ),
    F(
        "b.new.int_test",
        "superseding",
        "tessera",
        "integration tests run with ./gradlew intTest",
        M("intTest"),
        "Some candidates are: 'intTest'",
    ),
    F(
        "b.new.ready",
        "superseding",
        None,
        "open PRs ready for review, not as drafts",
        M("ready for review|ready-for-review"),
        P_READY,
    ),
)

DISTRACTORS = (
    Distractor(
        "b.x.aws_key", "secret", "a pasted AWS access key id", M(AWS_KEY_ID), _keys(AWS_KEY_ID)
    ),
    Distractor(
        "b.x.aws_secret", "secret", "a pasted AWS secret key", M(AWS_SECRET), _keys(AWS_SECRET)
    ),
    Distractor(
        "b.x.lock_id",
        "transient",
        "the id of one stale state lock",
        M("9c1f7d3a-52be-4f0e-8a61-7e2d4b9c0a13"),
        _keys("9c1f7d3a"),
    ),
    Distractor("b.x.run_id", "transient", "a CI run id", M("88123"), _keys("88123")),
    Distractor(
        "b.x.container", "transient", "a container id", M("4be21f9c7a3d"), _keys("4be21f9c7a3d")
    ),
    Distractor(
        "b.x.task_id",
        "transient",
        "a Celery task id",
        M("6f0c1e2a-77d4-4b8e-9f3a-2c5d8e1b4a70"),
        _keys("6f0c1e2a"),
    ),
    Distractor(
        "b.x.repro",
        "transient",
        "a one-off reproduction script",
        M("repro_dupe_4471"),
        _keys("repro_dupe_4471"),
    ),
    Distractor(
        "b.x.cat",
        "small_talk",
        "the cat on the keyboard",
        M("gibberish|across the keyboard|my cat"),
        _keys(SMALL_TALK),
    ),
    Distractor(
        "b.x.no_verify",
        "rejected",
        "committing with --no-verify (the user said no)",
        M("--no-verify|no-verify"),
        _keys("--no-verify"),
        negatable=True,
    ),
    Distractor(
        "b.x.disabled",
        "rejected",
        "disabling the flaky test with @Disabled (the user said no)",
        M("@Disabled"),
        _keys("@Disabled"),
        negatable=True,
    ),
)

CORPUS = Corpus(
    name="b",
    how=f"generated from templates (seed {SEED})",
    projects=tuple(s.project for s in STACKS.values()),
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="b26",
)
