# Literal command output and the user's messages keep their real line lengths.
# ruff: noqa: E501
"""Corpus H: a developer who asks and then accepts (held out: written after A–G, never run
through memoryd before it was committed, and never adjusted after a score).

The user writes English with grammar calqued from Portuguese and German ("I want that you run
the linter before", "the build is broken since the update of X", "make the tests again") and
asks far more than he orders: "why it fails?", "which one is better, X or Y?". The agent
investigates, explains and proposes; the user accepts ("ok, do like you say", "yes the second
option, and keep it like this"). So many durable rules exist only in the agent's proposal and
become rules by the acceptance that follows. Knowledge also comes from GitHub issue threads and
CI logs (``gh issue view``, ``gh run view --log-failed``), ``docker compose logs``,
``.env.example`` and ``config/*.yml``; the agent narrates its own failed attempts ("that did
not work because …, so I …"); one rule is first given as a reason ("because the CI runs on
arm64 we need …"); later sessions quote a colleague who corrects an older fact.

Written as question-and-answer exchanges: each ``ask`` is one user turn with the agent's tool
calls and its answer, built from the model's steps alone (no other corpus' helpers). Five
projects none of A–G has: a Scala service (sbt, Kafka), a Ruby on Rails app (bundler, rspec,
sidekiq), an iOS app (Swift Package Manager, xcodebuild, fastlane), a .NET API (dotnet, EF Core
migrations) and a Haskell command-line tool (cabal, ghcup).
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

HOME = "/Users/rafael/dev"

PROJECTS = (
    Project("tamarind", f"{HOME}/tamarind", "git@github.com:rafa-fernandes/tamarind.git"),
    Project("brisket", f"{HOME}/brisket", "git@gitlab.com:cozinha-labs/brisket.git"),
    Project("gannet", f"{HOME}/gannet", "git@github.com:gannet-mobile/gannet-ios.git", "develop"),
    Project("azimuth", f"{HOME}/azimuth", "git@github.com:azimuth-geo/azimuth-api.git"),
    Project("haddock", f"{HOME}/haddock", "git@github.com:rafa-fernandes/haddock.git"),
)


def ask(question: str, *work: Step) -> tuple[Step, ...]:
    """One exchange: the user's question (or acceptance) and what the agent did about it."""
    return (User(question), *work)


def run(cmd: str, out: str = "", code: int = 0, secs: float = 0.9) -> Sh:
    return Sh(cmd, out.strip("\n"), code, secs)


def session(
    key: str, project: str, days_ago: float, *exchanges: tuple[Step, ...], later: bool = False
) -> Session:
    steps = tuple(st for ex in exchanges for st in ex)
    return Session(key, project, days_ago, steps, later=later)


# The sessions and the ground truth are data: laid out as written, not as the formatter would.
# fmt: off

# -- tamarind: a Scala 3 service on sbt that consumes Kafka topics

TAM1 = session(
    "tam1", "tamarind", 27.2,
    ask(
        "hello, the tests in tamarind are broken since the update of sbt to 1.10. why it fails with OutOfMemoryError? yesterday it was running",
        Think("Run the suite and read where the memory runs out: heap or metaspace."),
        run("sbt -batch test", """
[info] welcome to sbt 1.10.2 (Eclipse Adoptium Java 21.0.4)
[info] loading settings for project tamarind-build from plugins.sbt ...
[info] compiling 214 Scala sources to /Users/rafael/dev/tamarind/core/target/scala-3.3.3/classes ...
[error] java.lang.OutOfMemoryError: Metaspace
[error] 	at java.base/java.lang.ClassLoader.defineClass1(Native Method)
[error] 	at java.base/java.lang.ClassLoader.defineClass(ClassLoader.java:1027)
[error] 	at dotty.tools.dotc.core.Contexts$ContextBase.initialize(Contexts.scala:880)
[error] Error during sbt execution: java.lang.OutOfMemoryError: Metaspace
""", code=1, secs=94.2),
        run("sbt -batch -J-Xmx4g test", """
[info] welcome to sbt 1.10.2 (Eclipse Adoptium Java 21.0.4)
[info] compiling 214 Scala sources to /Users/rafael/dev/tamarind/core/target/scala-3.3.3/classes ...
[error] java.lang.OutOfMemoryError: Metaspace
[error] Error during sbt execution: java.lang.OutOfMemoryError: Metaspace
""", code=1, secs=88.7),
        Say("Giving sbt more heap with `-J-Xmx4g` did not work, because the error is about Metaspace (class metadata), not the heap: sbt 1.10 loads the Scala 3 compiler in a new class loader for each subproject and the default metaspace cap of the launcher is too small. So I put the limit in `.sbtopts`, which sbt reads on every start."),
        Patch("""*** Update File: .sbtopts
@@
 -J-Xss4m
 -J-Xmx3g
+-J-XX:MaxMetaspaceSize=1g
+-J-XX:ReservedCodeCacheSize=256m"""),
        run("sbt -batch test", """
[info] welcome to sbt 1.10.2 (Eclipse Adoptium Java 21.0.4)
[info] compiling 214 Scala sources to /Users/rafael/dev/tamarind/core/target/scala-3.3.3/classes ...
[info] compiling 61 Scala sources to /Users/rafael/dev/tamarind/core/target/scala-3.3.3/test-classes ...
[info] Passed: Total 388, Failed 0, Errors 0, Passed 388
[success] Total time: 141 s (02:21), completed 10 Nov 2026, 09:14:52
""", secs=143.0),
        Say("The suite passes again (388 tests). The OutOfMemoryError: Metaspace comes from sbt 1.10 with Scala 3; the fix is `-J-XX:MaxMetaspaceSize=1g` in `.sbtopts` (more heap alone does not help)."),
    ),
    ask(
        "ok good. and another question: the consumer does not connect to Kafka on my machine. from where it takes the address?",
        run("rg -n 'bootstrap' --glob '*.conf' --glob '*.scala'", """
core/src/main/resources/application.conf:14:    bootstrap-servers = "localhost:29092"
core/src/main/resources/application.conf:15:    bootstrap-servers = ${?TAMARIND_KAFKA_BOOTSTRAP}
core/src/main/scala/tamarind/kafka/ConsumerSettings.scala:22:      .withBootstrapServers(cfg.getString("kafka.bootstrap-servers"))
"""),
        run("env | grep -i kafka", """
TAMARIND_KAFKA_BOOTSTRAP=localhost:9092
"""),
        run("docker compose ps kafka", """
NAME               IMAGE                       COMMAND                  SERVICE   CREATED      STATUS       PORTS
tamarind-kafka-1   bitnami/kafka:3.7           "/opt/bitnami/script…"   kafka     3 days ago   Up 3 hours   0.0.0.0:29092->29092/tcp
"""),
        Say("The address is read from `TAMARIND_KAFKA_BOOTSTRAP` (HOCON override in `core/src/main/resources/application.conf`), default `localhost:29092`. Your shell exports `TAMARIND_KAFKA_BOOTSTRAP=localhost:9092`, but the compose Kafka listens on 29092, so the consumer cannot connect. Remove that export from your shell profile or set it to `localhost:29092`."),
    ),
    ask(
        "ah, that is an old export from another job. I remove it. make a commit of the .sbtopts, on a new branch with rf/ in front like my other branches",
        run("git switch -c rf/sbt-metaspace && git add .sbtopts && git commit -m 'build: raise metaspace for sbt 1.10 with Scala 3'", """
Switched to a new branch 'rf/sbt-metaspace'
[rf/sbt-metaspace 5e1c0a9] build: raise metaspace for sbt 1.10 with Scala 3
 1 file changed, 2 insertions(+)
"""),
        Say("Committed on `rf/sbt-metaspace`."),
    ),
)

TAM2 = session(
    "tam2", "tamarind", 24.6,
    ask(
        "the CI is red since this morning on the smoke job, can you look what is the problem? I don't understand the log",
        run("gh run list --branch main --limit 3", """
STATUS  TITLE                               WORKFLOW  BRANCH  EVENT  ID          ELAPSED  AGE
X       feat(kafka): dead letter topic      ci        main    push   9184736251  6m12s    2h
✓       fix: retry backoff jitter           ci        main    push   9183302117  5m58s    1d
✓       build: raise metaspace for sbt 1.…  ci        main    push   9179110045  6m40s    2d
"""),
        run("gh run view 9184736251 --log-failed", """
smoke	Run container	2026-11-13T07:41:09.3349821Z ##[group]Run docker run --rm tamarind:ci --version
smoke	Run container	2026-11-13T07:41:10.1183304Z exec /opt/java/openjdk/bin/java: exec format error
smoke	Run container	2026-11-13T07:41:10.1201957Z ##[error]Process completed with exit code 255.
smoke	Set up job	2026-11-13T07:40:02.0043156Z Runner Image: ubuntu-24.04-arm (arm64)
"""),
        run("grep -n '^FROM' Dockerfile", """
1:FROM sbtscala/scala-sbt:eclipse-temurin-21.0.4_7_1.10.2_3.3.3 AS build
14:FROM eclipse-temurin:21-jre-alpine
"""),
        run("docker buildx imagetools inspect eclipse-temurin:21-jre-alpine | grep Platform", """
  Platform:    linux/amd64
"""),
        Say("The smoke job runs on an arm64 runner (`ubuntu-24.04-arm`), and the runtime stage `FROM eclipse-temurin:21-jre-alpine` exists only for linux/amd64, so the JVM binary in the image cannot execute there: `exec format error`. I see two options:\n1. keep alpine and run the smoke job on an x86 runner;\n2. use `eclipse-temurin:21-jre-jammy`, which is published for linux/amd64 and linux/arm64, and build the image for the runner's platform.\nI would take the second one."),
    ),
    ask(
        "yes the second. because the CI runs on arm64 we need base images that have arm64, so the jammy one and not alpine, and this for every Dockerfile in tamarind. try it here first",
        Patch("""*** Update File: Dockerfile
@@
-FROM eclipse-temurin:21-jre-alpine
+# The CI runners are arm64: the runtime image must be multi-arch (alpine is amd64 only).
+FROM eclipse-temurin:21-jre-jammy"""),
        run("docker build -t tamarind:dev . && docker run --rm tamarind:dev --version", """
[+] Building 71.4s (15/15) FINISHED                                docker:desktop-linux
 => [internal] load build definition from Dockerfile                                  0.0s
 => exporting to image                                                                1.2s
exec /opt/java/openjdk/bin/java: exec format error
""", code=1, secs=74.0),
        Say("That did not work because my `docker build` used the default builder, which on your machine still has `DOCKER_DEFAULT_PLATFORM=linux/amd64` from an old setting, so it produced an amd64 image again. So I build with buildx and name the platform explicitly, like the CI does."),
        run("docker buildx build --platform linux/arm64 -t tamarind:dev --load . && docker run --rm tamarind:dev --version", """
[+] Building 83.9s (15/15) FINISHED                          docker-container:multi
 => [build 6/6] RUN sbt -batch core/stage                                            61.0s
 => exporting to docker image format                                                  3.8s
tamarind 0.14.2 (scala 3.3.3, jvm 21.0.4+7-LTS aarch64)
""", secs=88.1),
        Patch("""*** Update File: .github/workflows/ci.yml
@@
       - name: Build image
-        run: docker build -t tamarind:ci .
+        run: docker buildx build --platform linux/arm64 -t tamarind:ci --load ."""),
        Say("Now it starts: `tamarind 0.14.2 ... aarch64`. The Dockerfile uses `eclipse-temurin:21-jre-jammy` and the workflow builds with `docker buildx build --platform linux/arm64`."),
    ),
    ask(
        "nice. push it please",
        run("git fetch origin && git rebase origin/main", """
Successfully rebased and updated refs/heads/rf/arm64-image.
"""),
        run("git push origin rf/arm64-image", """
To github.com:rafa-fernandes/tamarind.git
 ! [rejected]        rf/arm64-image -> rf/arm64-image (non-fast-forward)
error: failed to push some refs to 'github.com:rafa-fernandes/tamarind.git'
hint: Updates were rejected because the tip of your current branch is behind
""", code=1),
        Say("The push is rejected because I rebased a branch that was already on the remote. I propose `git push --force-with-lease`: it overwrites the branch only when the remote is still where we last saw it, so if a colleague pushed a commit meanwhile it refuses instead of deleting their work. A plain `--force` would delete it silently."),
    ),
    ask(
        "ok, do like you say. and after a rebase push like this in all my projects, with the lease",
        run("git push --force-with-lease origin rf/arm64-image", """
To github.com:rafa-fernandes/tamarind.git
 + 3d0e6b1...a7f2c94 rf/arm64-image -> rf/arm64-image (forced update)
"""),
        Say("Pushed with `--force-with-lease`. I will use it for every push after a rebase."),
    ),
)

TAM3 = session(
    "tam3", "tamarind", 20.3,
    ask(
        "question: sbt test runs only the unit tests, no? where are the integration tests and how I run them?",
        run("sed -n '1,40p' build.sbt", """
ThisBuild / scalaVersion := "3.3.3"
ThisBuild / organization := "io.tamarind"

lazy val core = project
  .settings(libraryDependencies ++= Dependencies.core)

// Integration tests: need a running Kafka (docker compose up -d kafka)
lazy val it = project
  .in(file("it"))
  .dependsOn(core % "test->test")
  .settings(publish / skip := true, Test / fork := true)

lazy val root = project.in(file(".")).aggregate(core)
"""),
        run("sbt -batch it/test", """
[info] compiling 18 Scala sources to /Users/rafael/dev/tamarind/it/target/scala-3.3.3/test-classes ...
[info] DeadLetterSpec:
[info] - should route a poison message to tamarind.dlq *** FAILED ***
[info]   org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment. Call: describeTopics
[info] Passed: Total 23, Failed 1, Errors 0, Passed 22
[error] Failed tests:
[error] 	tamarind.it.DeadLetterSpec
[error] (it / Test / test) sbt.TestsFailedException: Tests unsuccessful
""", code=1, secs=58.3),
        run("docker compose up -d kafka && sbt -batch it/test", """
[+] Running 1/1
 ✔ Container tamarind-kafka-1  Started                                                0.6s
[info] DeadLetterSpec:
[info] - should route a poison message to tamarind.dlq
[info] Passed: Total 23, Failed 0, Errors 0, Passed 23
[success] Total time: 49 s, completed 17 Nov 2026, 16:02:31
""", secs=52.0),
        Say("Yes, `sbt test` runs the root aggregate, which has only `core`. The integration tests are in a separate subproject `it` (directory `it/`, not aggregated), so you run them with `sbt it/test`; they need the compose Kafka running first (`docker compose up -d kafka`), otherwise they time out waiting for a node assignment."),
    ),
    ask(
        "ok clear. other thing, which one is better for the new endpoint JSON, circe or jsoniter-scala? we have circe already",
        run("rg -c 'io.circe' --type scala | wc -l", """
37
"""),
        Say("Stay with circe: 37 files use it already, the payloads are small, and a second JSON library would mean two sets of codecs to maintain. jsoniter-scala is faster, but only worth it on a hot path."),
    ),
    ask(
        "ok stay with circe then",
        Say("Fine, the new endpoint will use circe codecs."),
    ),
)

TAM4 = session(
    "tam4", "tamarind", 15.8,
    ask(
        "I want that you add a metric for the consumer lag, per partition. how would you do it?",
        run("rg -n 'MeterRegistry|Gauge' core/src/main/scala | head", """
core/src/main/scala/tamarind/metrics/Metrics.scala:9:import io.micrometer.core.instrument.{Gauge, MeterRegistry}
core/src/main/scala/tamarind/metrics/Metrics.scala:31:  def gauge(name: String, tags: Map[String, String])(f: => Double): Gauge =
"""),
        Say("I would register one Micrometer gauge `tamarind.consumer.lag` per assigned partition in the rebalance listener (tag `partition`), and remove it on revoke, so revoked partitions do not report old values."),
    ),
    ask(
        "sounds good, make it",
        Patch("""*** Update File: core/src/main/scala/tamarind/kafka/RebalanceListener.scala
@@
   override def onPartitionsAssigned(parts: util.Collection[TopicPartition]): Unit =
-    parts.forEach(p => log.info(s"assigned $p"))
+    parts.forEach { p =>
+      log.info(s"assigned $p")
+      gauges(p) = metrics.gauge("tamarind.consumer.lag", Map("partition" -> p.partition.toString))(lag(p))
+    }
@@
   override def onPartitionsRevoked(parts: util.Collection[TopicPartition]): Unit =
-    parts.forEach(p => log.info(s"revoked $p"))
+    parts.forEach { p =>
+      log.info(s"revoked $p")
+      gauges.remove(p).foreach(metrics.registry.remove)
+    }"""),
        run("sbt -batch scalafmtCheckAll test", """
[warn] /Users/rafael/dev/tamarind/core/src/main/scala/tamarind/kafka/RebalanceListener.scala isn't formatted properly!
[error] (core / Compile / scalafmtCheck) 1 files must be formatted
""", code=1, secs=21.4),
        run("sbt -batch scalafmtAll test", """
[info] Formatting 1 Scala sources...
[info] Passed: Total 391, Failed 0, Errors 0, Passed 391
[success] Total time: 128 s (02:08), completed 21 Nov 2026, 10:40:07
"""),
        Say("Added the gauge; `scalafmtCheckAll` complained about the formatting of the new block, so I formatted with `scalafmtAll`, and the tests pass (391)."),
    ),
)


# -- brisket: a Ruby on Rails 7.2 app with bundler, rspec and sidekiq

BRI1 = session(
    "bri1", "brisket", 25.9,
    ask(
        "I cloned brisket on the new Mac. install the gems please, but not with sudo, I don't want sudo on this machine for nothing",
        run("bundle install", """
Fetching gem metadata from https://rubygems.org/.........
Installing pg 1.5.6 with native extensions
Gem::Ext::BuildError: ERROR: Failed to build gem native extension.

    current directory: /Users/rafael/.gem/ruby/3.3.5/gems/pg-1.5.6/ext
/Users/rafael/.rubies/ruby-3.3.5/bin/ruby extconf.rb
Calling libpq with pkg_config
checking for whether -Wl,-rpath,... is accepted as LDFLAGS... yes
Can't find the 'libpq-fe.h header
*** extconf.rb failed ***

An error occurred while installing pg (1.5.6), and Bundler cannot continue.
""", code=5, secs=48.0),
        run("gem install pg -v 1.5.6", """
Building native extensions. This could take a while...
ERROR:  Error installing pg:
	ERROR: Failed to build gem native extension.
Can't find the 'libpq-fe.h header
""", code=1, secs=9.2),
        Say("Installing the gem alone did not work because the problem is not bundler: the native extension cannot find the PostgreSQL client headers, and Homebrew's `libpq` is keg-only, so it is not on the default paths. So I point bundler at its `pg_config` for this project (no sudo, everything stays in your user)."),
        run("brew --prefix libpq", """
/opt/homebrew/opt/libpq
"""),
        run("bundle config set --local build.pg --with-pg-config=/opt/homebrew/opt/libpq/bin/pg_config && bundle install", """
Fetching gem metadata from https://rubygems.org/.........
Installing pg 1.5.6 with native extensions
Bundle complete! 71 Gemfile dependencies, 164 gems now installed.
Use `bundle info [gemname]` to see where a gem is installed.
""", secs=61.5),
        Say("Done: `bundle config set --local build.pg --with-pg-config=/opt/homebrew/opt/libpq/bin/pg_config` (stored in `.bundle/config`) and the bundle installs, 164 gems, without sudo."),
    ),
    ask(
        "thanks. and how I start the app together with the background jobs? in the old laptop I had two terminals",
        run("cat Procfile.dev", """
web: bin/rails server -p 3000
worker: bundle exec sidekiq -C config/sidekiq.yml
css: bin/rails tailwindcss:watch
"""),
        run("cat config/sidekiq.yml", """
:concurrency: 5
:queues:
  - [critical, 4]
  - [default, 2]
  - [mailers, 1]
"""),
        Say("You need one terminal only: `bin/dev` runs `Procfile.dev` with foreman, which starts the web server on port 3000, the Tailwind watcher, and the background worker with `bundle exec sidekiq -C config/sidekiq.yml` (queues critical, default, mailers)."),
    ),
)

BRI2 = session(
    "bri2", "brisket", 22.7,
    ask(
        "make the tests again please, after the pull they fail and I don't know why",
        run("bundle exec rspec", """
An error occurred while loading ./spec/models/order_spec.rb.
Failure/Error: ActiveRecord::Migration.maintain_test_schema!

ActiveRecord::PendingMigrationError:

  Migrations are pending. To resolve this issue, run:

          bin/rails db:migrate RAILS_ENV=test

You have 2 pending migrations:

20261118093012_add_delivery_window_to_orders.rb
20261119141500_create_refunds.rb
# ./spec/rails_helper.rb:31:in `<top (required)>'
No examples found.
""", code=1, secs=7.9),
        Say("The pull brought two new migrations and the test database is behind. The message suggests `db:migrate RAILS_ENV=test`, but that replays every migration; `bin/rails db:test:prepare` loads `db/schema.rb` into the test database, which is what the suite expects."),
        run("bin/rails db:test:prepare", """
"""),
        run("bundle exec rspec", """
Randomized with seed 40221
.......................................................................
.......................................................................
Finished in 38.12 seconds (files took 3.4 seconds to load)
548 examples, 0 failures
""", secs=44.0),
        Say("Green again, 548 examples. After a pull with new migrations, `ActiveRecord::PendingMigrationError` in rspec is fixed by `bin/rails db:test:prepare`."),
    ),
    ask(
        "ok. and which database port it uses? my other postgres is on 5432 and I think they fight",
        run("cat config/database.yml", """
default: &default
  adapter: postgresql
  encoding: unicode
  url: <%= ENV.fetch("DATABASE_URL", "postgres://brisket:brisket@localhost:5433/brisket_development") %>

development:
  <<: *default

test:
  <<: *default
  url: <%= ENV.fetch("DATABASE_URL", "postgres://brisket:brisket@localhost:5433/brisket_test") %>
"""),
        run("docker compose logs db --tail 5", """
db-1  | 2026-11-15 08:02:11.417 UTC [1] LOG:  starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on aarch64-unknown-linux-gnu
db-1  | 2026-11-15 08:02:11.418 UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432
db-1  | 2026-11-15 08:02:11.431 UTC [1] LOG:  database system is ready to accept connections
"""),
        run("docker compose port db 5432", """
0.0.0.0:5433
"""),
        Say("They do not fight: the compose Postgres 16 listens on 5432 inside the container, and compose publishes it on host port 5433; `config/database.yml` uses `DATABASE_URL` with the default `postgres://brisket:brisket@localhost:5433/...`. Your own Postgres can stay on 5432."),
    ),
    ask(
        "and the redis for the jobs? also from compose? compare my .env with the example",
        run("cat .env.example", """
# copy to .env and adjust
DATABASE_URL=postgres://brisket:brisket@localhost:5433/brisket_development
REDIS_URL=redis://localhost:6380/1
STRIPE_SECRET_KEY=sk_test_replace_me
APP_HOST=localhost:3000
"""),
        run("cat .env", """
DATABASE_URL=postgres://brisket:brisket@localhost:5433/brisket_development
REDIS_URL=redis://localhost:6379/0
STRIPE_SECRET_KEY=sk_live_51Hq8ZtGm4kPbV2xYwT9aLr0Ke
APP_HOST=localhost:3000
"""),
        Say("Yes, Redis comes from compose too, published on 6380: `.env.example` has `REDIS_URL=redis://localhost:6380/1`, your `.env` points at 6379/0, which is another Redis. Change it to the example's value.\n\nAlso: your `.env` holds a live Stripe secret key. I did not copy it anywhere; for development a test key (`sk_test_...`) is enough, and I would rotate the live one."),
    ),
)

BRI3 = session(
    "bri3", "brisket", 18.9,
    ask(
        "I need an index on orders.delivery_window_start, the admin list is slow. make the migration",
        run("bin/rails g migration AddIndexToOrdersDeliveryWindowStart", """
      invoke  active_record
      create    db/migrate/20261122101544_add_index_to_orders_delivery_window_start.rb
"""),
        Patch("""*** Update File: db/migrate/20261122101544_add_index_to_orders_delivery_window_start.rb
@@
 class AddIndexToOrdersDeliveryWindowStart < ActiveRecord::Migration[7.2]
   def change
+    add_index :orders, :delivery_window_start
   end
 end"""),
        run("bin/rails db:migrate", """
== 20261122101544 AddIndexToOrdersDeliveryWindowStart: migrating ==============
rails aborted!
StandardError: An error has occurred, all later migrations canceled:

=== Dangerous operation detected #strong_migrations ===

Adding an index non-concurrently blocks writes. Instead, use:

class AddIndexToOrdersDeliveryWindowStart < ActiveRecord::Migration[7.2]
  disable_ddl_transaction!

  def change
    add_index :orders, :delivery_window_start, algorithm: :concurrently
  end
end
""", code=1, secs=5.1),
        Say("strong_migrations stops it: on a big table like orders a normal index locks writes while it is built. I propose that every index in brisket is added with `algorithm: :concurrently` and `disable_ddl_transaction!` in the migration, as the gem suggests. Shall I do it like this?"),
    ),
    ask(
        "ok, do like you say, and for every new index in brisket the same",
        Patch("""*** Update File: db/migrate/20261122101544_add_index_to_orders_delivery_window_start.rb
@@
 class AddIndexToOrdersDeliveryWindowStart < ActiveRecord::Migration[7.2]
+  disable_ddl_transaction!
+
   def change
-    add_index :orders, :delivery_window_start
+    add_index :orders, :delivery_window_start, algorithm: :concurrently
   end
 end"""),
        run("bin/rails db:migrate && bin/rails db:test:prepare", """
== 20261122101544 AddIndexToOrdersDeliveryWindowStart: migrating ==============
-- add_index(:orders, :delivery_window_start, {:algorithm=>:concurrently})
   -> 0.0412s
== 20261122101544 AddIndexToOrdersDeliveryWindowStart: migrated (0.0414s) =====
"""),
        run("bundle exec rspec", """
Randomized with seed 7713
...................................F...................................
Failures:

  1) Admin::OrdersController GET index sorts by delivery window
     Failure/Error: expect(response.parsed_body.map { _1["id"] }).to eq([o2.id, o1.id])
       expected: [812, 811]
            got: [811, 812]
     # ./spec/requests/admin/orders_spec.rb:44:in `block (3 levels) in <top (required)>'

549 examples, 1 failure
""", code=1, secs=41.0),
        Say("The index works. One request spec fails, but it also fails on main now and then: it looks flaky (two orders with the same delivery window). I could mark it pending with `xit` so the suite is green, and look at it later."),
    ),
    ask(
        "no, don't skip it. I want to know why it fails, find the cause",
        run("sed -n '30,46p' spec/requests/admin/orders_spec.rb", """
    it "sorts by delivery window" do
      o1 = create(:order, delivery_window_start: 2.hours.from_now)
      o2 = create(:order, delivery_window_start: 2.hours.from_now)
      get admin_orders_path(sort: "delivery_window")
      expect(response.parsed_body.map { _1["id"] }).to eq([o2.id, o1.id])
    end
"""),
        Patch("""*** Update File: spec/requests/admin/orders_spec.rb
@@
-      o1 = create(:order, delivery_window_start: 2.hours.from_now)
-      o2 = create(:order, delivery_window_start: 2.hours.from_now)
+      o1 = create(:order, delivery_window_start: 3.hours.from_now)
+      o2 = create(:order, delivery_window_start: 2.hours.from_now)"""),
        run("bundle exec rspec spec/requests/admin/orders_spec.rb --seed 7713", """
Randomized with seed 7713
.........
9 examples, 0 failures
"""),
        Say("The cause: both orders got the same `delivery_window_start` (`2.hours.from_now` evaluated in the same second), so their order was undefined. I gave them different times; the spec passes with the seed that failed."),
    ),
    ask(
        "good. which is better, I open the PR normal or as draft?",
        Say("As draft, with `gh pr create --draft`: the CI runs at once, but nobody is asked to review until you mark it ready, so reviewers do not look at a half-finished branch."),
    ),
    ask(
        "yes the draft, and keep it like this for all my PRs",
        run("gh pr create --draft --fill", """
Creating draft pull request for rf/orders-delivery-index into main in cozinha-labs/brisket

https://gitlab.com/cozinha-labs/brisket/-/merge_requests/318
"""),
        Say("Opened as draft: merge request 318."),
    ),
)

BRI4 = session(
    "bri4", "brisket", 11.6,
    ask(
        "the rebase on main has conflict in Gemfile.lock. what I should do, I fix the lines myself?",
        run("git status --short", """
UU Gemfile.lock
M  Gemfile
"""),
        run("git diff Gemfile.lock | head -20", """
diff --cc Gemfile.lock
@@@ -212,7 -212,7 +212,11 @@@ GEM
++<<<<<<< HEAD
 +    rack (3.1.8)
++=======
+     rack (3.1.7)
+     rack-attack (6.7.0)
++>>>>>>> rf/rate-limit
"""),
        Say("I would not edit the lockfile by hand: the resolved versions depend on each other and a hand merge easily leaves an inconsistent lock. Better: take main's Gemfile.lock and let bundler resolve your Gemfile change on top of it."),
    ),
    ask(
        "ok like you say, the lockfile never by hand",
        run("git checkout origin/main -- Gemfile.lock && bundle lock && git add Gemfile.lock && GIT_EDITOR=true git rebase --continue", """
Fetching gem metadata from https://rubygems.org/.........
Resolving dependencies...
Writing lockfile to /Users/rafael/dev/brisket/Gemfile.lock
Successfully rebased and updated refs/heads/rf/rate-limit.
"""),
        Say("Took main's `Gemfile.lock`, ran `bundle lock` to add rack-attack, and the rebase finished."),
    ),
    ask(
        "bin/dev now says the port 3000 is in use",
        run("lsof -nP -iTCP:3000 -sTCP:LISTEN", """
COMMAND   PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME
ruby    48213 rafael   12u  IPv4 0x6f1c2e9b1d0a3c55      0t0  TCP 127.0.0.1:3000 (LISTEN)
"""),
        run("kill 48213 && bin/dev", """
11:02:13 web.1    | started with pid 51022
11:02:13 worker.1 | started with pid 51023
11:02:14 web.1    | * Listening on http://127.0.0.1:3000
""", secs=3.0),
        Say("An old puma from the previous session was still holding port 3000; I stopped it and `bin/dev` runs."),
    ),
)

BRI5 = session(
    "bri5", "brisket", 5.4,
    ask(
        "the mailer jobs don't run in bin/dev, the queue stays full. why?",
        run("bin/rails runner 'puts Sidekiq::Queue.all.map { |q| [q.name, q.size] }.inspect'", """
[["critical", 0], ["default", 0], ["mailers", 14]]
"""),
        run("rg -n 'queue_as' app/mailers app/jobs", """
app/jobs/application_job.rb:2:  queue_as :default
app/mailers/application_mailer.rb:4:  self.deliver_later_queue_name = :mailer
"""),
        Say("The mailers enqueue into `mailer` (singular) in `application_mailer.rb`, but the worker listens to `mailers`; the 14 jobs in `mailers` are older ones. The name in the mailer is the typo, `config/sidekiq.yml` is right. Should I change the mailer to `:mailers`?"),
    ),
    ask(
        "yes, change the mailer like you say",
        Patch("""*** Update File: app/mailers/application_mailer.rb
@@
-  self.deliver_later_queue_name = :mailer
+  self.deliver_later_queue_name = :mailers"""),
        run("bundle exec rspec spec/mailers", """
Randomized with seed 3390
..............
14 examples, 0 failures
"""),
        Say("Changed, the mailer specs pass."),
    ),
)


# -- gannet: an iOS app (SwiftUI) with Swift Package Manager, xcodebuild and fastlane

GAN1 = session(
    "gan1", "gannet", 23.8,
    ask(
        "bom dia. the tests of gannet don't run anymore in the terminal since I updated Xcode. why?",
        run("xcodebuild -list -project Gannet.xcodeproj", """
Information about project "Gannet":
    Targets:
        Gannet
        GannetTests
        GannetUITests

    Build Configurations:
        Debug
        Release

    Schemes:
        Gannet-Dev
        Gannet-Prod
"""),
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,OS=17.0,name=iPhone 14'", """
Command line invocation:
    /Applications/Xcode.app/Contents/Developer/usr/bin/xcodebuild test -scheme Gannet-Dev -destination "platform=iOS Simulator,OS=17.0,name=iPhone 14"

xcodebuild: error: Unable to find a destination matching the provided destination specifier:
		{ platform:iOS Simulator, OS:17.0, name:iPhone 14 }

	Available destinations for the "Gannet-Dev" scheme:
		{ platform:iOS Simulator, id:8C1E4B0A-77D2-4C39-9F0E-2B3D61A4E5F1, OS:17.5, name:iPhone 15 }
		{ platform:iOS Simulator, id:D0A7F3C2-1B59-4E86-A2C4-96E1F07B8D33, OS:17.5, name:iPhone 15 Pro }
""", code=70, secs=6.2),
        run("xcrun simctl list runtimes", """
== Runtimes ==
iOS 17.5 (17.5 - 21F79) - com.apple.CoreSimulator.SimRuntime.iOS-17-5
"""),
        Say("The Xcode update removed the iOS 17.0 runtime, so the old destination (iPhone 14, OS 17.0) does not exist anymore; only iOS 17.5 is installed. I run the tests on the iPhone 15 simulator with 17.5."),
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -quiet", """
Test Suite 'All tests' started at 2026-11-13 10:21:07.482.
Test Suite 'GannetTests.xctest' started at 2026-11-13 10:21:07.483.
Executed 212 tests, with 0 failures (0 unexpected) in 19.771 (19.902) seconds
** TEST SUCCEEDED **
""", secs=148.0),
        Say("`** TEST SUCCEEDED **`, 212 tests. The working command is `xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5'`: the scheme for development is `Gannet-Dev` (from `xcodebuild -list`), and the destination must be a simulator runtime that is installed."),
    ),
    ask(
        "perfect. sorry I was away, my son had football training. now add a helper to format the distance in km or miles, depending of the locale. the comments in the code you write in English please, also when I write to you in Portuguese",
        Patch("""*** Add File: Gannet/Formatting/DistanceFormatter.swift
+import Foundation
+
+/// Formats a distance for the user's locale: kilometres, or miles where the locale uses them.
+enum DistanceFormatter {
+    static func string(meters: Double, locale: Locale = .current) -> String {
+        let formatter = MeasurementFormatter()
+        formatter.locale = locale
+        formatter.unitOptions = .naturalScale
+        formatter.numberFormatter.maximumFractionDigits = 1
+        // naturalScale picks km or mi from the locale's measurement system
+        return formatter.string(from: Measurement(value: meters, unit: UnitLength.meters))
+    }
+}"""),
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -only-testing:GannetTests/DistanceFormatterTests -quiet", """
Executed 4 tests, with 0 failures (0 unexpected) in 0.031 (0.044) seconds
** TEST SUCCEEDED **
""", secs=61.0),
        Say("Added `DistanceFormatter` with English comments and 4 tests."),
    ),
)

GAN2 = session(
    "gan2", "gannet", 19.7,
    ask(
        "Xcode says it can't resolve the packages after I added GannetKit. what happens?",
        run("xcodebuild -resolvePackageDependencies -scheme Gannet-Dev", """
Resolve Package Graph
Fetching https://github.com/gannet-mobile/GannetKit.git
xcodebuild: error: Could not resolve package dependencies:
  Failed to clone repository https://github.com/gannet-mobile/GannetKit.git:
    Cloning into bare repository '/Users/rafael/Library/Developer/Xcode/DerivedData/Gannet-bxqzfhyeoktdgdcwlapvmsvnqrtu/SourcePackages/repositories/GannetKit-5f0e2a1c'...
    fatal: could not read Username for 'https://github.com': terminal prompts disabled
""", code=74, secs=12.4),
        run("ssh -T git@github.com", """
Hi rafa-fernandes! You've successfully authenticated, but GitHub does not provide shell access.
""", code=1),
        Say("GannetKit is a private repository and `Package.swift` lists it with an https URL; SwiftPM cannot ask for a password, so the clone fails. Your SSH key works for GitHub. I propose to tell git to use SSH for GitHub https URLs with `insteadOf`; the package URL stays as it is for the CI, which has its own token."),
    ),
    ask(
        "ok, do it like this",
        run('git config --global url."git@github.com:".insteadOf "https://github.com/"', """
"""),
        run("xcodebuild -resolvePackageDependencies -scheme Gannet-Dev", """
Resolve Package Graph
Fetching https://github.com/gannet-mobile/GannetKit.git
Fetching https://github.com/pointfreeco/swift-snapshot-testing from cache
Resolved source packages:
  GannetKit: https://github.com/gannet-mobile/GannetKit.git @ 0.9.3
  SnapshotTesting: https://github.com/pointfreeco/swift-snapshot-testing @ 1.17.6
resolved source packages: GannetKit, SnapshotTesting
""", secs=22.8),
        Say('Resolved: GannetKit 0.9.3. The fix was `git config --global url."git@github.com:".insteadOf "https://github.com/"`, so SwiftPM clones private GitHub packages over SSH.'),
    ),
    ask(
        "also swiftlint is missing. install it",
        run("brew install swiftlint", """
==> Downloading https://ghcr.io/v2/homebrew/core/swiftlint/manifests/0.57.0
Error: The following directories are not writable by your user:
/opt/homebrew/share/man/man1

You should change the ownership of these directories to your user.
  sudo chown -R rafael /opt/homebrew/share/man/man1
""", code=1, secs=4.0),
        Say("Homebrew wants `sudo chown` on one of its directories. I can run that command, or install swiftlint as a Swift package plugin in the project instead, which needs no sudo at all."),
    ),
    ask(
        "no sudo, like in brisket. the plugin is fine",
        Patch("""*** Update File: Package.swift
@@
     dependencies: [
         .package(url: "https://github.com/gannet-mobile/GannetKit.git", from: "0.9.0"),
+        .package(url: "https://github.com/SimplyDanny/SwiftLintPlugins", from: "0.57.0"),
     ],"""),
        run("swift package plugin --allow-writing-to-package-directory swiftlint --quiet", """
Linting Swift files in current working directory
Done linting! Found 0 violations, 0 serious in 188 files.
""", secs=31.0),
        Say("SwiftLint runs as a package plugin now: 0 violations in 188 files, and nothing needed sudo."),
    ),
)

GAN3 = session(
    "gan3", "gannet", 13.9,
    ask(
        "I want to send a beta to the testers. fastlane says something about the version. why it fails?",
        run("fastlane tests", """
[✔] 🚀
Could not find fastlane-2.225.0 in locally installed gems
Run `bundle install` to install missing gems.
/opt/homebrew/lib/ruby/gems/3.3.0/gems/bundler-2.5.22/lib/bundler/spec_set.rb:90:in `block in materialize': Could not find fastlane-2.225.0 in locally installed gems (Bundler::GemNotFound)
""", code=1, secs=3.5),
        run("cat Gemfile && bundle install --quiet && bundle exec fastlane --version", """
source "https://rubygems.org"
gem "fastlane", "2.225.0"
gem "cocoapods-core", "~> 1.15"
fastlane installation at path:
/Users/rafael/.gem/ruby/3.3.5/gems/fastlane-2.225.0/bin/fastlane
-----------------------------
fastlane 2.225.0
""", secs=25.0),
        Say("The global `fastlane` is another version than the one pinned in the project's Gemfile (2.225.0), so it fails when it loads the Fastfile's plugins. I propose to run the lanes only through the Gemfile: `bundle exec fastlane <lane>`, so everybody and the CI use the same fastlane."),
    ),
    ask(
        "ok, from now on only with bundle exec in gannet. make the tests lane and then beta",
        run("bundle exec fastlane tests", """
[10:02:44]: ------------------------------
[10:02:44]: --- Step: run_tests ---
[10:02:44]: ------------------------------
[10:05:12]: Executed 216 tests, with 0 failures (0 unexpected)
[10:05:12]: fastlane.tools finished successfully 🎉
""", secs=150.0),
        run("grep -m2 IPHONEOS_DEPLOYMENT_TARGET Gannet.xcodeproj/project.pbxproj", """
				IPHONEOS_DEPLOYMENT_TARGET = 15.0;
				IPHONEOS_DEPLOYMENT_TARGET = 15.0;
"""),
        run("bundle exec fastlane beta", """
[10:06:01]: --- Step: increment_build_number ---
[10:11:40]: Successfully exported and compressed dSYM file
[10:14:02]: Successfully uploaded the new binary to App Store Connect
[10:14:02]: fastlane.tools finished successfully 🎉
""", secs=480.0),
        Say("Tests pass (216) and the beta is uploaded to App Store Connect, so TestFlight gets it after processing. Note for the testers: the app still supports iOS 15 (`IPHONEOS_DEPLOYMENT_TARGET = 15.0`), so old devices can install the beta too."),
    ),
)

GAN4 = session(
    "gan4", "gannet", 7.7,
    ask(
        "the snapshot tests fail only on my machine, on the CI not. which one is better, record them again or look first?",
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -only-testing:GannetTests/RouteCardSnapshotTests -quiet", """
RouteCardSnapshotTests.swift:27: error: -[GannetTests.RouteCardSnapshotTests test_darkMode] : failed - Snapshot does not match reference.

@−
"file:///Users/rafael/dev/gannet/GannetTests/__Snapshots__/RouteCardSnapshotTests/test_darkMode.1.png"
@+
"file:///Users/rafael/Library/Developer/CoreSimulator/Devices/8C1E4B0A/data/tmp/test_darkMode.1.png"

Newly-taken snapshot does not match reference.
** TEST FAILED **
""", code=65, secs=70.0),
        run("defaults read -g AppleLanguages | head -3", """
(
    "pt-PT",
    "en-US"
"""),
        Say("Look first: the references were recorded in English, and your simulator runs in Portuguese (pt-PT), so the date on the card differs. Recording again would make the CI fail instead. I propose to fix the locale in the snapshot tests to `en_US_POSIX`."),
    ),
    ask(
        "yes that second option, fix the locale in the test",
        Patch("""*** Update File: GannetTests/RouteCardSnapshotTests.swift
@@
     func test_darkMode() {
-        let view = RouteCard(route: .fixture)
+        // snapshots are recorded in en_US_POSIX, whatever the simulator's language
+        let view = RouteCard(route: .fixture).environment(\\.locale, Locale(identifier: "en_US_POSIX"))"""),
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -only-testing:GannetTests/RouteCardSnapshotTests -quiet", """
Executed 6 tests, with 0 failures (0 unexpected) in 2.104 (2.230) seconds
** TEST SUCCEEDED **
""", secs=66.0),
        Say("The snapshot tests pass with the fixed locale."),
    ),
)


# -- azimuth: a .NET 8 web API with EF Core migrations on PostgreSQL

AZI1 = session(
    "azi1", "azimuth", 27.6,
    ask(
        "I need a new column Elevation in the Waypoints table. how I make the migration in this project? I did never EF Core",
        run("dotnet ef migrations add AddWaypointElevation", """
Could not execute because the specified command or file was not found.
Possible reasons for this include:
  * You misspelled a built-in dotnet command.
  * You intended to execute a .NET program, but dotnet-ef does not exist.
  * You intended to run a global tool, but a dotnet-prefixed executable with this name could not be found on the PATH.
""", code=1, secs=1.4),
        run("cat .config/dotnet-tools.json", """
{
  "version": 1,
  "isRoot": true,
  "tools": {
    "dotnet-ef": {
      "version": "8.0.10",
      "commands": ["dotnet-ef"]
    }
  }
}
"""),
        Say("`dotnet-ef` is not installed globally, and it does not need to be: the repository has a local tool manifest (`.config/dotnet-tools.json`) that pins dotnet-ef 8.0.10. `dotnet tool restore` installs it for this repository."),
        run("dotnet tool restore", """
Tool 'dotnet-ef' (version '8.0.10') was restored. Available commands: dotnet-ef

Restore was successful.
""", secs=6.3),
        Patch("""*** Update File: src/Azimuth.Data/Entities/Waypoint.cs
@@
     public double Latitude { get; set; }
     public double Longitude { get; set; }
+    public double? Elevation { get; set; }"""),
        run("dotnet ef migrations add AddWaypointElevation", """
Build started...
Build succeeded.
Unable to create a 'DbContext' of type ''. The exception 'Unable to resolve service for type 'Microsoft.EntityFrameworkCore.DbContextOptions`1[Azimuth.Data.AzimuthDbContext]' while attempting to activate 'Azimuth.Data.AzimuthDbContext'.' was thrown while attempting to create an instance.
""", code=1, secs=14.0),
        Say("The tool runs now, but from the repository root it builds only the data project, which has no configuration: the DbContext is registered in the API's `Program.cs`. The migrations belong to `src/Azimuth.Data` and the startup project must be the API. I propose to always call it like this in azimuth:\n`dotnet ef migrations add <Name> --project src/Azimuth.Data --startup-project src/Azimuth.Api`"),
    ),
    ask(
        "ok, do like you say, and keep it like this for all migrations",
        run("dotnet ef migrations add AddWaypointElevation --project src/Azimuth.Data --startup-project src/Azimuth.Api", """
Build started...
Build succeeded.
Done. To undo this action, use 'ef migrations remove'
""", secs=17.2),
        run("git status --short", """
 M src/Azimuth.Data/Entities/Waypoint.cs
?? src/Azimuth.Data/Migrations/20261109154210_AddWaypointElevation.Designer.cs
?? src/Azimuth.Data/Migrations/20261109154210_AddWaypointElevation.cs
 M src/Azimuth.Data/Migrations/AzimuthDbContextModelSnapshot.cs
"""),
        Say("The migration `20261109154210_AddWaypointElevation` is generated in `src/Azimuth.Data/Migrations`, with the snapshot updated."),
    ),
    ask(
        "good. before you commit I want that you show me the git diff --stat, so I see which files go in",
        run("git add -A && git diff --cached --stat", """
 src/Azimuth.Data/Entities/Waypoint.cs                        |  1 +
 .../20261109154210_AddWaypointElevation.Designer.cs          | 212 +++++++++++++++++
 src/Azimuth.Data/Migrations/20261109154210_AddWaypointElevation.cs | 28 +++
 src/Azimuth.Data/Migrations/AzimuthDbContextModelSnapshot.cs |  3 +
 4 files changed, 244 insertions(+)
"""),
        Say("Here is the `git diff --stat` of what is staged: the entity, the migration with its designer file, and the model snapshot. Shall I commit?"),
    ),
    ask(
        "yes commit",
        run("git commit -m 'feat(waypoints): add nullable Elevation column'", """
[main 0b9d4e7] feat(waypoints): add nullable Elevation column
 4 files changed, 244 insertions(+)
"""),
        Say("Committed."),
    ),
)

AZI2 = session(
    "azi2", "azimuth", 21.5,
    ask(
        "the integration tests fail on my machine with a connection error. the colleagues say it works for them. why?",
        run("dotnet test tests/Azimuth.IntegrationTests", """
  Determining projects to restore...
  Azimuth.IntegrationTests -> /Users/rafael/dev/azimuth/tests/Azimuth.IntegrationTests/bin/Debug/net8.0/Azimuth.IntegrationTests.dll
[xUnit.net 00:00:02.81]     Azimuth.IntegrationTests.WaypointsApiTests.Post_creates_waypoint [FAIL]
  Failed Azimuth.IntegrationTests.WaypointsApiTests.Post_creates_waypoint [1 s]
  Error Message:
   Npgsql.NpgsqlException : Failed to connect to 127.0.0.1:5432
---- System.Net.Sockets.SocketException : Connection refused
  Stack Trace:
     at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)
     at Npgsql.Internal.NpgsqlConnector.RawOpen(SslMode sslMode, NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)

Failed!  - Failed:    31, Passed:     0, Skipped:     0, Total:    31, Duration: 4 s
""", code=1, secs=22.0),
        run("cat tests/Azimuth.IntegrationTests/appsettings.Testing.json", """
{
  "ConnectionStrings": {
    "Default": "Host=127.0.0.1;Port=5434;Database=azimuth_test;Username=azimuth;Password=azimuth"
  }
}
"""),
        run("docker compose ps db", """
NAME          IMAGE                 COMMAND                  SERVICE   CREATED       STATUS       PORTS
azimuth-db-1  postgis/postgis:16-3.4  "docker-entrypoint.s…"   db        2 weeks ago   Exited (0) 5 days ago
"""),
        Say("Two things. The tests connect to 5432 because they read `appsettings.json` (the Development connection string); the test settings with port 5434 are only used when `ASPNETCORE_ENVIRONMENT=Testing` is set, and your colleagues have it in their shell profile. And the compose database is stopped. I start it and run the tests with the variable."),
        run("docker compose up -d db && ASPNETCORE_ENVIRONMENT=Testing dotnet test tests/Azimuth.IntegrationTests", """
[+] Running 1/1
 ✔ Container azimuth-db-1  Started                                                    0.5s
Passed!  - Failed:     0, Passed:    31, Skipped:     0, Total:    31, Duration: 11 s
""", secs=34.0),
        Say("All 31 pass. So the integration tests need the compose Postgres (`docker compose up -d db`, published on 5434) and `ASPNETCORE_ENVIRONMENT=Testing`; without the variable they fail with `NpgsqlException: Failed to connect to 127.0.0.1:5432`."),
    ),
    ask(
        "ok. the test database has now a lot of garbage from my tries. clean it",
        Say("The quickest is `dotnet ef database drop --force` and then `dotnet ef database update` against the test database: it deletes everything and recreates the schema."),
    ),
    ask(
        "no, not drop. the database is shared with the seed data of Marta, I don't want that you delete it. only the waypoints of my test user",
        run('docker compose exec -T db psql -U azimuth -d azimuth_test -c "DELETE FROM waypoints WHERE owner_id = \'test-rafael\';"', """
DELETE 412
"""),
        Say("Deleted only your 412 test waypoints (`owner_id = 'test-rafael'`); Marta's seed data stays."),
    ),
)

AZI3 = session(
    "azi3", "azimuth", 16.6,
    ask(
        "there is an issue about 400 errors from the mobile app, number 212. can you read it and tell me what is the problem?",
        run("gh issue view 212 --comments", """
400 on every request from gannet 3.1 #212
Open • diego-alves opened about 2 days ago • 3 comments

  Since yesterday's deploy all calls from the iOS beta return 400 Bad Request.
  Body: {"title":"Missing tenant","status":400}

——————————————————————————————————————————————————————

marta-souza • 1 day ago
  The tenant middleware is enforced since #198: every request needs the X-Tenant-Id header
  (the tenant's slug). Requests without it get 400 "Missing tenant". The web app sends it,
  the mobile client does not.

diego-alves • 1 day ago
  Confirmed, only /health is exempt.
"""),
        run("sed -n '1,30p' src/Azimuth.Api/Properties/launchSettings.json", """
{
  "profiles": {
    "Azimuth.Api": {
      "commandName": "Project",
      "applicationUrl": "http://localhost:5180",
      "environmentVariables": {
        "ASPNETCORE_ENVIRONMENT": "Development"
      }
    }
  }
}
"""),
        run("dotnet run --project src/Azimuth.Api & sleep 8; curl -s -o /dev/null -w '%{http_code}\\n' http://localhost:5180/waypoints; curl -s -o /dev/null -w '%{http_code}\\n' -H 'X-Tenant-Id: acme' http://localhost:5180/waypoints", """
info: Microsoft.Hosting.Lifetime[14]
      Now listening on: http://localhost:5180
400
200
""", secs=11.0),
        Say("The API is right, the client is wrong: since #198 every request except `/health` must carry the `X-Tenant-Id` header with the tenant's slug, otherwise the tenant middleware answers 400 'Missing tenant'. I checked it locally: the API runs on http://localhost:5180 (from `launchSettings.json`), without the header 400, with `X-Tenant-Id: acme` 200. The fix belongs in the gannet client."),
    ),
    ask(
        "ok, then write a comment in the issue that the header is missing in the client",
        run("gh issue comment 212 --body 'Reproduced locally: requests without X-Tenant-Id get 400, with it 200. The fix is in the iOS client (gannet), not in the API.'", """
https://github.com/azimuth-geo/azimuth-api/issues/212#issuecomment-2490117734
"""),
        Say("Commented on #212."),
    ),
)

AZI4 = session(
    "azi4", "azimuth", 10.4,
    ask(
        "I added Serilog.Sinks.Seq and now the merge of main has a conflict in packages.lock.json. what I do?",
        run("git status --short", """
UU src/Azimuth.Api/packages.lock.json
M  src/Azimuth.Api/Azimuth.Api.csproj
"""),
        Say("Same situation as the Gemfile.lock in brisket: the lock file should not be merged by hand. I take main's `packages.lock.json` and let `dotnet restore` write it again with your new package."),
    ),
    ask(
        "yes, the lock file never by hand, also here",
        run("git checkout origin/main -- src/Azimuth.Api/packages.lock.json && dotnet restore --force-evaluate && git add src/Azimuth.Api/packages.lock.json", """
  Determining projects to restore...
  Restored /Users/rafael/dev/azimuth/src/Azimuth.Api/Azimuth.Api.csproj (in 2.31 sec).
  Restored /Users/rafael/dev/azimuth/src/Azimuth.Data/Azimuth.Data.csproj (in 2.31 sec).
""", secs=9.0),
        run("dotnet build -warnaserror", """
  Azimuth.Data -> /Users/rafael/dev/azimuth/src/Azimuth.Data/bin/Debug/net8.0/Azimuth.Data.dll
  Azimuth.Api -> /Users/rafael/dev/azimuth/src/Azimuth.Api/bin/Debug/net8.0/Azimuth.Api.dll

Build succeeded.
    0 Warning(s)
    0 Error(s)
""", secs=19.0),
        Say("The lock file is regenerated by `dotnet restore --force-evaluate` and the build is clean."),
    ),
    ask(
        "where is the Seq URL configured? I don't want it in the code",
        run("rg -n 'Seq' src/Azimuth.Api/appsettings*.json", """
src/Azimuth.Api/appsettings.Development.json:12:        "Args": { "serverUrl": "http://localhost:5341" }
src/Azimuth.Api/appsettings.Production.json:14:        "Args": { "serverUrl": "https://seq.azimuth.internal", "apiKey": "Pr0d!Azm-7731" }
"""),
        Say("It is in configuration, not in the code: `appsettings.Development.json` points to a local Seq on port 5341. But `appsettings.Production.json` has a real Seq API key committed in the repository; that should move to a secret store and the key rotated. I will not repeat it anywhere."),
    ),
)


# -- haddock: a Haskell command-line tool (cabal, ghcup) that rewrites Markdown tables

HAD1 = session(
    "had1", "haddock", 25.1,
    ask(
        "after the update of ghcup the build of haddock is broken. why cabal don't find the dependencies?",
        run("cabal build all", """
Resolving dependencies...
Error: [Cabal-7107]
Could not resolve dependencies:
[__0] trying: haddock-0.4.0 (user goal)
[__1] next goal: base (dependency of haddock)
[__1] rejecting: base-4.20.0.0/installed-4.20.0.0 (conflict: haddock => base>=4.17 && <4.19)
[__1] skipping: base-4.19.1.0, base-4.18.2.1 (has the same characteristics that caused the previous version to fail: excluded by constraint '>=4.17 && <4.19' from 'haddock')
[__1] fail (backjumping, conflict set: base, haddock)
After searching the rest of the dependency tree exhaustively, these were the goals I've had most trouble fulfilling: base, haddock
""", code=1, secs=3.8),
        run("ghc --version && grep -n with-compiler cabal.project", """
The Glorious Glasgow Haskell Compilation System, version 9.10.1
3:with-compiler: ghc-9.6.6
"""),
        run("ghcup list -t ghc -c installed", """
[ Warn  ] New ghc version available. To upgrade, run 'ghcup install ghc 9.10.1'
✔ ghc  9.6.6   base-4.18.2.1
✔✔ ghc 9.10.1  recommended,base-4.20.0.0
"""),
        Say("The ghcup update made GHC 9.10.1 the default, which brings base 4.20, and haddock's bounds allow base < 4.19. `cabal.project` says `with-compiler: ghc-9.6.6`, but cabal only uses it when `ghc-9.6.6` is on the PATH, and ghcup removed that symlink when it changed the default. Widening the bounds would be a port to a new GHC; I propose to set 9.6.6 as the active GHC again."),
    ),
    ask(
        "ok, do it like this. the port to 9.10 is for later",
        run("ghcup set ghc 9.6.6", """
[ Info  ] GHC 9.6.6 successfully set as default version
"""),
        run("cabal build all", """
Resolving dependencies...
Build profile: -w ghc-9.6.6 -O1
In order, the following will be built (use -v for more details):
 - haddock-0.4.0 (lib) (first run)
 - haddock-0.4.0 (exe:hdk) (first run)
[ 7 of 12] Compiling Haddock.Table.Align ( src/Haddock/Table/Align.hs, dist-newstyle/build/aarch64-osx/ghc-9.6.6/haddock-0.4.0/build/Haddock/Table/Align.o )

src/Haddock/Table/Align.hs:9:1: error: [GHC-66111] [-Wunused-imports, Werror=unused-imports]
    The import of ‘Data.List’ is redundant
      except perhaps to import instances from ‘Data.List’
    To import instances alone, use: import Data.List()
  |
9 | import Data.List (foldl')
  | ^^^^^^^^^^^^^^^^^^^^^^^^^^
""", code=1, secs=40.0),
        Say("The dependencies resolve now with `ghcup set ghc 9.6.6`. The next error is my own from yesterday: an unused import, and the project builds with `-Werror`. I could add `-Wno-unused-imports` to the cabal file so these do not stop the build, or remove the import."),
    ),
    ask(
        "no, we keep -Werror in haddock and we fix the warnings, we don't switch them off. remove the import",
        Patch("""*** Update File: src/Haddock/Table/Align.hs
@@
 import Data.Char (isSpace)
-import Data.List (foldl')
 import qualified Data.Text as T"""),
        run("cabal build all", """
Build profile: -w ghc-9.6.6 -O1
[ 7 of 12] Compiling Haddock.Table.Align ( src/Haddock/Table/Align.hs, dist-newstyle/build/aarch64-osx/ghc-9.6.6/haddock-0.4.0/build/Haddock/Table/Align.o )
Linking dist-newstyle/build/aarch64-osx/ghc-9.6.6/haddock-0.4.0/x/hdk/build/hdk/hdk ...
""", secs=28.0),
        Say("Builds clean with `-Werror` on."),
    ),
    ask(
        "good. make a branch for the fix, like my other ones",
        Say("Your branches start with `rf/`, so I propose `rf/unused-import`."),
    ),
    ask(
        "yes, rf/ and then a short name, for every branch",
        run("git switch -c rf/unused-import && git commit -am 'fix: drop unused Data.List import'", """
Switched to a new branch 'rf/unused-import'
[rf/unused-import 6f3a1d2] fix: drop unused Data.List import
 1 file changed, 1 deletion(-)
"""),
        Say("Committed on `rf/unused-import`."),
    ),
)

HAD2 = session(
    "had2", "haddock", 17.9,
    ask(
        "I changed the alignment of the numeric columns to the right. how I try the tool on a real file? and the tests?",
        run("grep -n -A3 '^executable' haddock.cabal", """
executable hdk
  main-is:          Main.hs
  hs-source-dirs:   app
  build-depends:    base, haddock, optparse-applicative
"""),
        run("cabal run hdk -- align --in-place=false examples/prices.md", """
| item       |  price | qty |
|:-----------|-------:|----:|
| coffee     |   2.40 |   3 |
| croissant  |   1.85 |  12 |
"""),
        run("cabal test", """
Running 1 test suites...
Test suite golden: RUNNING...
golden
  align
    prices.md:  FAIL
      Test output was different from 'test/golden/prices.md.golden'. Output of ["diff","-u","test/golden/prices.md.golden","/tmp/prices.md.actual"]:
      -| coffee     | 2.40   |   3 |
      +| coffee     |   2.40 |   3 |
      Use -p '/prices.md/' to rerun this test only.
    headers.md: OK
1 out of 2 tests failed (0.05s)
Test suite golden: FAIL
""", code=1, secs=12.0),
        Say("The executable is called `hdk`, so you try it with `cabal run hdk -- <args>`; the output above is right-aligned as you wanted. The golden test fails because the golden file still has the old alignment: the change is intended, so the golden files must be updated, not the code."),
        run("cabal test --test-options=--accept", """
Test suite golden: RUNNING...
golden
  align
    prices.md:  UPDATED
    headers.md: OK
All 2 tests passed (0.04s)
Test suite golden: PASS
"""),
        run("cabal test", """
Test suite golden: RUNNING...
All 2 tests passed (0.03s)
Test suite golden: PASS
"""),
        Say("Updated `test/golden/prices.md.golden` with `cabal test --test-options=--accept` (tasty-golden accepts the new output), and the suite passes. Check the golden diff in the commit: `--accept` writes whatever the code produces."),
    ),
    ask(
        "ok I look the diff. it is good, commit it",
        run("git add -A && git commit -m 'feat(align): right-align numeric columns'", """
[rf/numeric-right 1c88e02] feat(align): right-align numeric columns
 3 files changed, 14 insertions(+), 6 deletions(-)
"""),
        Say("Committed."),
    ),
)

HAD3 = session(
    "had3", "haddock", 12.7,
    ask(
        "the CI failed on my PR in the format step. what it wants?",
        run("gh run view 9190045512 --log-failed", """
format	Check formatting	2026-11-23T14:03:51.0912204Z Run ormolu --mode check $(git ls-files '*.hs')
format	Check formatting	2026-11-23T14:03:53.7731150Z src/Haddock/Table/Parse.hs
format	Check formatting	2026-11-23T14:03:53.7733012Z @@ -41,7 +41,8 @@
format	Check formatting	2026-11-23T14:03:53.7740921Z ##[error]Process completed with exit code 100.
"""),
        Say("The CI checks the formatting with ormolu, and `src/Haddock/Table/Parse.hs` is not formatted like ormolu wants."),
    ),
    ask(
        "ah ok. so before commit, format with ormolu, this is the rule in haddock. do it now",
        run("ormolu --mode inplace $(git ls-files '*.hs') && ormolu --mode check $(git ls-files '*.hs')", """
"""),
        run("git commit -am 'style: ormolu'", """
[rf/parse-escapes 90d1c4e] style: ormolu
 1 file changed, 3 insertions(+), 2 deletions(-)
"""),
        Say("Formatted with ormolu; the check passes locally and the commit is on your branch."),
    ),
    ask(
        "the parser has a problem with pipes inside backticks. can you see?",
        run("cabal run hdk -- align --in-place=false test/cases/escaped-pipe.md", """
hdk: row 3 has 4 cells, header has 3
CallStack (from HasCallStack):
  error, called at src/Haddock/Table/Parse.hs:57:17 in haddock-0.4.0-inplace:Haddock.Table.Parse
""", code=1),
        Patch("""*** Update File: src/Haddock/Table/Parse.hs
@@
-splitCells = T.splitOn "|"
+-- a pipe inside a code span is text, not a cell border
+splitCells = go False T.empty
+  where
+    go _ acc t | T.null t = [acc]
+    go code acc t = case T.head t of
+      '`' -> go (not code) (T.snoc acc '`') (T.tail t)
+      '|' | not code -> acc : go code T.empty (T.tail t)
+      c -> go code (T.snoc acc c) (T.tail t)"""),
        run("cabal build all && cabal run hdk -- align --in-place=false test/cases/escaped-pipe.md", """
| expr      | meaning          |
|:----------|:-----------------|
| `a \\|\\| b` | logical or       |
""", secs=31.0),
        Say("Fixed: a pipe inside backticks is no longer a cell border; the example renders with 3 cells."),
    ),
)

HAD4 = session(
    "had4", "haddock", 6.6,
    ask(
        "which is better for the release, I upload to Hackage or only GitHub releases with binaries?",
        run("cabal check", """
No errors or warnings could be found in the package.
"""),
        Say("Both are cheap: `cabal check` is clean, so the package can go to Hackage for Haskell users, and static binaries in a GitHub release are for everybody else. I would start with GitHub releases only, since the name `haddock` is taken on Hackage by the documentation tool, and a rename is a bigger decision."),
    ),
    ask(
        "ah true, the name. ok only GitHub for now. make the tag 0.4.0",
        run("git tag -a v0.4.0 -m 'haddock 0.4.0' && git push origin v0.4.0", """
To github.com:rafa-fernandes/haddock.git
 * [new tag]         v0.4.0 -> v0.4.0
"""),
        Say("Tagged and pushed `v0.4.0`; the release workflow builds the binaries from the tag."),
    ),
)


# -- later sessions: each replaces a fact of the initial ones (two quote a colleague)

BRI_L = session(
    "bri_l", "brisket", 1.3,
    ask(
        "we moved the background jobs from sidekiq to Solid Queue last week, and bin/dev shows now other processes. can you check that all is ok with the new setup?",
        run("cat Procfile.dev", """
web: bin/rails server -p 3000
jobs: bin/jobs
css: bin/rails tailwindcss:watch
"""),
        run("git log --oneline -3 -- config/sidekiq.yml Gemfile", """
e41b7a0 chore: remove sidekiq and config/sidekiq.yml
c0de913 feat(jobs): switch Active Job to solid_queue
"""),
        run("bin/rails runner 'puts ActiveJob::Base.queue_adapter.class'", """
ActiveJob::QueueAdapters::SolidQueueAdapter
"""),
        Say("The switch is complete: Active Job uses the solid_queue adapter, `Procfile.dev` starts the worker as `bin/jobs` (Solid Queue's supervisor), and sidekiq and its config were removed in e41b7a0. The jobs live in the database now, so Redis is not needed for them anymore."),
    ),
    ask(
        "ok. and the tests of the jobs, they still work?",
        run("bundle exec rspec spec/jobs", """
Randomized with seed 5120
.......................
23 examples, 0 failures
"""),
        Say("Yes, the 23 job specs pass with the test adapter."),
    ),
    later=True,
)

GAN_L = session(
    "gan_l", "gannet", 1.1,
    ask(
        "Ana told me in the standup that since the release 3.2 we don't support iOS 15 anymore, the minimum is 16 now. is the project already like this? then the availability checks for 15 can go away",
        run("grep -m2 IPHONEOS_DEPLOYMENT_TARGET Gannet.xcodeproj/project.pbxproj", """
				IPHONEOS_DEPLOYMENT_TARGET = 16.0;
				IPHONEOS_DEPLOYMENT_TARGET = 16.0;
"""),
        run("rg -n '#available\\(iOS 16' Gannet | head", """
Gannet/Map/RouteMapView.swift:88:        if #available(iOS 16, *) {
Gannet/Settings/SettingsView.swift:41:        if #available(iOS 16, *) {
"""),
        Say("Ana is right: the deployment target is 16.0 now (`IPHONEOS_DEPLOYMENT_TARGET = 16.0`). Two `#available(iOS 16, *)` checks are always true now; I remove them."),
        Patch("""*** Update File: Gannet/Map/RouteMapView.swift
@@
-        if #available(iOS 16, *) {
-            map.mapStyle(.standard(elevation: .realistic))
-        }
+        map.mapStyle(.standard(elevation: .realistic))"""),
        Patch("""*** Update File: Gannet/Settings/SettingsView.swift
@@
-        if #available(iOS 16, *) {
-            list.scrollDismissesKeyboard(.interactively)
-        }
+        list.scrollDismissesKeyboard(.interactively)"""),
        run("xcodebuild build -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -quiet", """
** BUILD SUCCEEDED **
""", secs=95.0),
        Say("Both checks removed and the app builds."),
    ),
    ask(
        "obrigado. and the tests on the simulator, they pass also?",
        run("xcodebuild test -scheme Gannet-Dev -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5' -quiet", """
Executed 221 tests, with 0 failures (0 unexpected) in 20.884 (21.037) seconds
** TEST SUCCEEDED **
""", secs=152.0),
        Say("Yes, 221 tests pass."),
    ),
    later=True,
)

AZI_L = session(
    "azi_l", "azimuth", 0.9,
    ask(
        "Diego wrote in the review of my PR: 'we don't use the compose db for the tests anymore, since last sprint the integration tests start their own Postgres with Testcontainers'. is this true? then I can stop the container",
        run("rg -n 'Testcontainers' tests/Azimuth.IntegrationTests/*.cs tests/Azimuth.IntegrationTests/*.csproj", """
tests/Azimuth.IntegrationTests/Azimuth.IntegrationTests.csproj:18:    <PackageReference Include="Testcontainers.PostgreSql" Version="3.10.0" />
tests/Azimuth.IntegrationTests/PostgresFixture.cs:9:    private readonly PostgreSqlContainer _db = new PostgreSqlBuilder().WithImage("postgis/postgis:16-3.4").Build();
"""),
        run("docker compose stop db && dotnet test tests/Azimuth.IntegrationTests", """
[+] Stopping 1/1
 ✔ Container azimuth-db-1  Stopped                                                    0.3s
[testcontainers.org 00:00:00.41] Connected to Docker:
  Host: unix:///var/run/docker.sock
[testcontainers.org 00:00:03.02] Docker container 5e2f0c8b1a77 ready
Passed!  - Failed:     0, Passed:    34, Skipped:     0, Total:    34, Duration: 16 s
""", secs=41.0),
        Say("True: the integration tests use Testcontainers (`Testcontainers.PostgreSql`, a fixture that starts postgis 16 per test run), and they pass with the compose database stopped. You only need Docker running; the compose `db` is for running the API locally."),
    ),
    ask(
        "good, I stop it then. thanks",
        Say("The compose database is stopped."),
    ),
    later=True,
)

HAD_L = session(
    "had_l", "haddock", 0.7,
    ask(
        "we changed the formatter in haddock from ormolu to fourmolu, with a fourmolu.yaml in the repo, the CI too. check my branch is formatted like the new one wants",
        run("cat fourmolu.yaml", """
indentation: 2
comma-style: leading
function-arrows: leading
haddock-style: single-line
"""),
        run("fourmolu --mode check $(git ls-files '*.hs')", """
src/Haddock/Table/Render.hs
@@ -12,4 +12,4 @@
""", code=100),
        run("fourmolu --mode inplace $(git ls-files '*.hs') && fourmolu --mode check $(git ls-files '*.hs')", """
"""),
        Say("One file was not formatted for fourmolu's settings (`fourmolu.yaml`: 2-space indentation, leading commas and arrows); I reformatted it with fourmolu and the check passes. Before a commit, the formatter is now `fourmolu --mode inplace`."),
    ),
    ask(
        "ok commit it",
        run("git commit -am 'style: fourmolu'", """
[rf/render-width 3b7e9d0] style: fourmolu
 1 file changed, 4 insertions(+), 4 deletions(-)
"""),
        Say("Committed."),
    ),
    later=True,
)

SESSIONS = (
    TAM1, TAM2, TAM3, TAM4,
    BRI1, BRI2, BRI3, BRI4, BRI5,
    GAN1, GAN2, GAN3, GAN4,
    AZI1, AZI2, AZI3, AZI4,
    HAD1, HAD2, HAD3, HAD4,
    BRI_L, GAN_L, AZI_L, HAD_L,
)  # fmt: skip


# -- ground truth

FACTS = (
    # preferences: stated once, mostly as an acceptance of the agent's proposal
    Fact("h.pref.lease", "preference", None,
         "after a rebase push with git push --force-with-lease, never a plain --force",
         M("--force-with-lease"), ("tam2",)),
    Fact("h.pref.draft", "preference", None,
         "open pull requests as drafts with gh pr create --draft",
         M("--draft", "gh pr create|pull request|pull requests|PR|PRs|merge request"), ("bri3",)),
    Fact("h.pref.english", "preference", None,
         "write code comments in English, also when the user writes in Portuguese",
         M("comments", "English"), ("gan1",)),
    Fact("h.pref.diffstat", "preference", None,
         "show the git diff --stat of what is staged before committing",
         M("git diff --stat|git diff --cached --stat|diff --stat"), ("azi1",)),
    # general rules: stated in two projects
    Fact("h.gen.sudo", "general_rule", None,
         "install tools and packages without sudo (user space, plugins, bundler config)",
         M("sudo"), ("bri1", "gan2")),
    Fact("h.gen.lockfile", "general_rule", None,
         "do not edit a lockfile by hand: take main's version and let the package manager regenerate it",
         M("lockfile|lock file|lockfiles|lock files", "by hand|manually|hand-edit|hand merge"),
         ("bri4", "azi4")),
    Fact("h.gen.branch", "general_rule", None,
         "name every branch rf/<short-name>",
         M("rf/"), ("tam1", "had1")),
    # project rules
    Fact("h.tam.jammy", "project_rule", "tamarind",
         "Docker images use eclipse-temurin:21-jre-jammy as base because the CI runners are arm64 (the alpine image is amd64 only)",
         M("temurin:21-jre-jammy"), ("tam2",)),
    Fact("h.bri.concurrently", "project_rule", "brisket",
         "add every index with algorithm: :concurrently and disable_ddl_transaction! (strong_migrations)",
         M("concurrently", "index|indexes|add_index"), ("bri3",)),
    Fact("h.gan.bundle_fastlane", "project_rule", "gannet",
         "run fastlane lanes with bundle exec fastlane <lane>, the version pinned in the Gemfile",
         M("bundle exec fastlane"), ("gan3",)),
    Fact("h.azi.startup", "project_rule", "azimuth",
         "EF Core migrations: dotnet ef migrations add <Name> with --project for the data project and --startup-project for the API",
         M("--startup-project"), ("azi1",)),
    Fact("h.had.werror", "project_rule", "haddock",
         "keep -Werror on and fix warnings, do not switch them off with -Wno flags",
         M("-Werror"), ("had1",)),
    Fact("h.had.ormolu", "project_rule", "haddock",
         "format the Haskell sources with ormolu before a commit (the CI checks it)",
         M("ormolu"), ("had3",), superseded_by="h.had.fourmolu_new"),
    # project facts: found in tool output or in the agent's conclusion
    Fact("h.tam.kafka", "project_fact", "tamarind",
         "the Kafka address is read from TAMARIND_KAFKA_BOOTSTRAP, default localhost:29092 (the compose Kafka)",
         M("TAMARIND_KAFKA_BOOTSTRAP", "29092"), ("tam1",)),
    Fact("h.tam.it", "project_fact", "tamarind",
         "integration tests are in the it subproject: sbt it/test, with the compose Kafka up",
         M("it/test"), ("tam3",)),
    Fact("h.bri.redis", "project_fact", "brisket",
         "REDIS_URL is redis://localhost:6380/1 (compose Redis, from .env.example)",
         M("REDIS_URL", "6380"), ("bri2",)),
    Fact("h.bri.pg_port", "project_fact", "brisket",
         "the compose Postgres is published on host port 5433 (DATABASE_URL in config/database.yml)",
         M("5433", "postgres|postgresql|DATABASE_URL|database"), ("bri2",)),
    Fact("h.bri.sidekiq", "project_fact", "brisket",
         "bin/dev starts the background worker as bundle exec sidekiq -C config/sidekiq.yml",
         M("sidekiq", "config/sidekiq.yml"), ("bri1",), superseded_by="h.bri.solid_queue_new"),
    Fact("h.gan.scheme", "project_fact", "gannet",
         "the development scheme is Gannet-Dev (xcodebuild test -scheme Gannet-Dev)",
         M("Gannet-Dev"), ("gan1",)),
    Fact("h.gan.target15", "project_fact", "gannet",
         "the iOS deployment target is 15.0 (IPHONEOS_DEPLOYMENT_TARGET)",
         M("IPHONEOS_DEPLOYMENT_TARGET|deployment target", "15.0|iOS 15"), ("gan3",),
         superseded_by="h.gan.target16_new"),
    Fact("h.azi.port", "project_fact", "azimuth",
         "the API runs locally on http://localhost:5180 (launchSettings.json)",
         M("5180"), ("azi3",)),
    Fact("h.azi.tenant", "project_fact", "azimuth",
         "every request except /health needs the X-Tenant-Id header, otherwise 400 Missing tenant",
         M("X-Tenant-Id"), ("azi3",)),
    Fact("h.azi.compose_db", "project_fact", "azimuth",
         "the integration tests need the compose Postgres: docker compose up -d db (port 5434)",
         M("docker compose up -d db"), ("azi2",), superseded_by="h.azi.testcontainers_new"),
    Fact("h.had.hdk", "project_fact", "haddock",
         "the executable is hdk: try it with cabal run hdk -- <args>",
         M("cabal run hdk", "executable"), ("had2",)),
    Fact("h.had.accept", "project_fact", "haddock",
         "update golden files after an intended output change with cabal test --test-options=--accept",
         M("--accept"), ("had2",)),
    # failure -> fix, the fix a different command, an edit or an env var
    Fact("h.tam.metaspace", "failure_fix", "tamarind",
         "sbt test fails with OutOfMemoryError: Metaspace since sbt 1.10: add -J-XX:MaxMetaspaceSize=1g to .sbtopts",
         M("MaxMetaspaceSize"), ("tam1",), link=M("OutOfMemoryError")),
    Fact("h.tam.arm64", "failure_fix", "tamarind",
         "exec format error when the image runs on arm64: build it with docker buildx build --platform linux/arm64",
         M("--platform linux/arm64|--platform=linux/arm64"), ("tam2",), link=M("exec format error")),
    Fact("h.bri.libpq", "failure_fix", "brisket",
         "bundle install fails on pg with Can't find the libpq-fe.h header: bundle config set --local build.pg --with-pg-config=/opt/homebrew/opt/libpq/bin/pg_config",
         M("build.pg"), ("bri1",), link=M("libpq-fe.h|pg_config")),
    Fact("h.bri.pending", "failure_fix", "brisket",
         "rspec stops with ActiveRecord::PendingMigrationError after a pull: run bin/rails db:test:prepare",
         M("db:test:prepare"), ("bri2",), link=M("PendingMigrationError|pending migrations|migrations are pending")),
    Fact("h.gan.destination", "failure_fix", "gannet",
         "xcodebuild: Unable to find a destination (iOS 17.0 runtime gone): test on -destination 'platform=iOS Simulator,name=iPhone 15,OS=17.5'",
         M("iPhone 15", "17.5"), ("gan1",), link=M("Unable to find a destination|destination specifier")),
    Fact("h.gan.insteadof", "failure_fix", "gannet",
         "SwiftPM cannot clone the private GannetKit (could not read Username for https://github.com): git config --global url.git@github.com:.insteadOf https://github.com/",
         M("insteadOf"), ("gan2",), link=M("could not read Username|Failed to clone|Could not resolve package dependencies")),
    Fact("h.azi.tool_restore", "failure_fix", "azimuth",
         "dotnet ef is not found (Could not execute because the specified command or file was not found): dotnet tool restore installs dotnet-ef from the tool manifest",
         M("dotnet tool restore"), ("azi1",), link=M("dotnet-ef|dotnet ef|specified command or file was not found")),
    Fact("h.azi.testing_env", "failure_fix", "azimuth",
         "integration tests fail with NpgsqlException Failed to connect to 127.0.0.1:5432: run them with ASPNETCORE_ENVIRONMENT=Testing",
         M("ASPNETCORE_ENVIRONMENT", "Testing"), ("azi2",),
         link=M("Failed to connect|NpgsqlException|5432")),
    Fact("h.had.ghcup", "failure_fix", "haddock",
         "cabal build: Could not resolve dependencies (base) after a ghcup update made GHC 9.10 the default: ghcup set ghc 9.6.6",
         M("ghcup set ghc"), ("had1",), link=M("Could not resolve dependencies|base-4.20|base 4.20|GHC 9.10|9.10.1")),
    # the later sessions' replacements
    Fact("h.bri.solid_queue_new", "superseding", "brisket",
         "background jobs run on Solid Queue: bin/dev starts the worker as bin/jobs",
         M("bin/jobs"), ("bri_l",)),
    Fact("h.gan.target16_new", "superseding", "gannet",
         "the iOS deployment target is 16.0 since release 3.2",
         M("IPHONEOS_DEPLOYMENT_TARGET|deployment target|minimum", "16.0|iOS 16"), ("gan_l",)),
    Fact("h.azi.testcontainers_new", "superseding", "azimuth",
         "the integration tests start their own Postgres with Testcontainers (only Docker running is needed)",
         M("Testcontainers"), ("azi_l",)),
    Fact("h.had.fourmolu_new", "superseding", "haddock",
         "format the Haskell sources with fourmolu (fourmolu.yaml) before a commit",
         M("fourmolu"), ("had_l",)),
)

DISTRACTORS = (
    Distractor("h.d.run_id", "transient", "the id of one failed CI run",
               M("9184736251"), ("tam2",)),
    Distractor("h.d.pid", "transient", "the pid of a stale puma",
               M("48213"), ("bri4",)),
    Distractor("h.d.derived", "transient", "a DerivedData folder of one Xcode build",
               M("Gannet-bxqzfhyeoktdgdcwlapvmsvnqrtu"), ("gan2",)),
    Distractor("h.d.deleted", "transient", "how many rows one cleanup deleted",
               M("DELETE 412|412 test waypoints"), ("azi2",)),
    Distractor("h.d.stripe", "secret", "a live Stripe key read from .env",
               M("sk_live_51Hq8ZtGm4kPbV2xYwT9aLr0Ke"), ("bri2",)),
    Distractor("h.d.seq_key", "secret", "a Seq API key committed in appsettings.Production.json",
               M("Pr0d!Azm-7731"), ("azi4",)),
    Distractor("h.d.football", "small_talk", "the user's son had football training",
               M("football"), ("gan1",)),
    Distractor("h.d.xit", "rejected", "mark the flaky request spec pending with xit",
               M("xit"), ("bri3",), negatable=True),
    Distractor("h.d.drop", "rejected", "reset the shared test database with dotnet ef database drop --force",
               M("database drop"), ("azi2",), negatable=True),
    Distractor("h.d.wno", "rejected", "silence unused imports with -Wno-unused-imports",
               M("-Wno-unused-imports"), ("had1",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="h",
    how="a non-native developer who asks and accepts the agent's proposals, knowledge from gh issues, CI logs, compose logs and config (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="had2",
    notes={
        "means": "question-and-answer exchanges (ask/run) built from the model's steps; rules mostly live in the agent's proposal and become rules by the user's acceptance",
        "held_out": "written after A-G without reading their sessions or memoryd's extractor/consolidator, never run through memoryd before it was committed",
    },
)
