# Literal command output and pasted alerts keep their real line lengths.
# ruff: noqa: E501
"""Corpus J: an on-call engineer, in incident mode and in calm follow-ups (held out: written
after A–I, never run through memoryd before it was committed, and never adjusted after a
score).

The user is paged: pasted PagerDuty and Alertmanager text, dashboard numbers, one-line orders
under pressure ("roll it back. now."), corrections of the agent's wrong idea of the
environment ("that's staging"), habits about how commands are run (dry run or diff first,
``--context`` on every command); later, calm postmortem-style messages that state what the
team does from now on. Knowledge arrives in what the agent reads: RUNBOOK.md, values.yaml,
a Jenkinsfile, .gitlab-ci.yml, ``crontab -l``, systemd units, nginx.conf, flake.nix, and in
``kubectl``/``helm``/``journalctl``/``systemctl`` output. Several fixes are a config change
applied with another tool than the one that failed.

Four projects none of A–I has: a Java/Spring Boot service built with Maven and deployed with
Helm (quayside), a Helm chart repository on GitLab CI (chartwell), a legacy Perl billing
script with cpanm/prove run by cron (tallyho), and a Lua/OpenResty gateway with a Nix flake
dev shell (portcullis).
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
HOME = "/home/adaeze/ops"
PROJECTS = (
    Project("quayside", f"{HOME}/quayside", "git@gitlab.internal.example:payments/quayside.git"),
    Project("chartwell", f"{HOME}/chartwell", "git@gitlab.internal.example:platform/chartwell.git"),
    Project("tallyho", f"{HOME}/tallyho", "git@gitlab.internal.example:billing/tallyho.git", "master"),
    Project("portcullis", f"{HOME}/portcullis", "git@gitlab.internal.example:edge/portcullis.git"),
)
GITLAB_TOKEN = "glpat-Vq8Rk2LmX7tNz4Ws9YbPc3Jd"


def session(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    return Session(key, project, days_ago, tuple(steps), later=later)


# -- quayside: a Spring Boot payments service, Maven, deployed with Helm to GKE

Q1 = session(
    "q1", "quayside", 26.4,
    User("""paged. this is firing:

[FIRING:1] QuaysideHigh5xxRate (quayside payments critical)
Incident #Q3XK9PLM2 triggered via Alertmanager
summary: 5xx ratio 14.2% over 5m (threshold 2%)
dashboard: p99 latency 4.8s, req/s 1.9k, error budget burn 31x

look at the pods"""),
    Sh("kubectl get pods -n quayside", """NAME                        READY   STATUS    RESTARTS   AGE
quayside-5c8d7f9b4-hq2zt    1/1     Running   0          6d
quayside-5c8d7f9b4-pl8vw    1/1     Running   0          6d"""),
    Say("Both pods are Running with 0 restarts and 6 days old, so the pods look healthy; the 5xx may come from a dependency rather than quayside itself."),
    User("that's staging. prod is the other context, gke-prd-euw1. and put --context on every kubectl you run, I don't care what current-context says"),
    Sh("kubectl config current-context", "gke-stg-euw1"),
    Sh("kubectl --context gke-prd-euw1 get pods -n quayside", """NAME                        READY   STATUS             RESTARTS      AGE
quayside-7d9f8b6c5-x2kqp    0/1     CrashLoopBackOff   7 (38s ago)   19m
quayside-7d9f8b6c5-m4lrn    0/1     OOMKilled          6 (71s ago)   19m
quayside-7d9f8b6c5-z8fwc    1/1     Running            5 (3m ago)    19m"""),
    Sh("kubectl --context gke-prd-euw1 -n quayside describe pod quayside-7d9f8b6c5-m4lrn | sed -n '/Last State/,/Exit Code/p'", """    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137"""),
    Say("Prod pods from the release 19 minutes ago are OOMKilled and crash-looping (exit 137). I can clear the bad pods with `kubectl --context gke-prd-euw1 -n quayside delete pod -l app=quayside` so they come back fresh."),
    User("no. the heap dumps are on those pods, you'd wipe them. roll it back. now. we debug after"),
    Sh("helm --kube-context gke-prd-euw1 -n quayside history quayside --max 3", """REVISION  UPDATED                   STATUS      CHART            APP VERSION  DESCRIPTION
86        Wed Nov 11 09:12:40 2026  superseded  quayside-4.11.0  2.31.0       Upgrade complete
87        Wed Nov 11 16:02:13 2026  superseded  quayside-4.11.1  2.31.1       Upgrade complete
88        Thu Nov 12 01:41:55 2026  deployed    quayside-4.12.0  2.32.0       Upgrade complete"""),
    Sh("helm --kube-context gke-prd-euw1 -n quayside rollback quayside 87 --wait --timeout 5m", "Rollback was a success! Happy Helming!", secs=71.0),
    Sh("kubectl --context gke-prd-euw1 -n quayside get pods", """NAME                        READY   STATUS    RESTARTS   AGE
quayside-6f4b9c7d8-2ntvx    1/1     Running   0          64s
quayside-6f4b9c7d8-9kqdm    1/1     Running   0          52s
quayside-6f4b9c7d8-w7hbl    1/1     Running   0          40s"""),
    Say("Rolled back to revision 87 (2.31.1). 3/3 pods Running, 0 restarts. I left the crashed pods' dumps alone; the old ReplicaSet is scaled to 0, not deleted."),
    User("error rate? and keep it short while we're on the incident, three lines max. times in UTC, half the bridge is in another zone"),
    Sh("curl -s 'http://prometheus.gke-prd.internal/api/v1/query' --data-urlencode 'query=sum(rate(http_server_requests_seconds_count{app=\"quayside\",status=~\"5..\"}[5m]))/sum(rate(http_server_requests_seconds_count{app=\"quayside\"}[5m]))' | jq -r '.data.result[0].value[1]'", "0.0031"),
    Say("5xx ratio 0.31% at 01:58 UTC, under the 2% threshold.\nRollback to rev 87 finished 01:55 UTC.\nDumps still on the crashed pods' volume."),
)

Q2 = session(
    "q2", "quayside", 25.1,
    User("morning. calm now. get the heap dump off the volume and figure out why 2.32.0 got OOMKilled. staging first, gke-stg-euw1"),
    Sh("kubectl --context gke-prd-euw1 -n quayside cp quayside-dumps-0:/dumps/java_pid1.hprof /tmp/heapdump-1733549.hprof", "tar: Removing leading `/' from member names", secs=41.0),
    Sh("ls -lh /tmp/heapdump-1733549.hprof", "-rw-r--r-- 1 adaeze adaeze 812M Nov 12 08:03 /tmp/heapdump-1733549.hprof"),
    Sh("cat RUNBOOK.md | sed -n '1,40p'", """# quayside runbook

## Health
- liveness:  GET :8081/actuator/health/liveness
- readiness: GET :8081/actuator/health/readiness   (management port, not the app port 8080)
- the readiness group includes db and the ledger client; a failing ledger makes the pod NotReady

## Memory
- container limit 1Gi (values.yaml resources.limits.memory)
- JVM flags come from values.yaml env JAVA_TOOL_OPTIONS

## Rollback
- helm rollback quayside <rev> --wait, then check the 5xx panel"""),
    Sh("git diff v2.31.1 v2.32.0 -- deploy/values.yaml", """diff --git a/deploy/values.yaml b/deploy/values.yaml
@@ -31,7 +31,7 @@ env:
   - name: JAVA_TOOL_OPTIONS
-    value: "-XX:MaxRAMPercentage=60 -XX:+ExitOnOutOfMemoryError"
+    value: "-Xms1g -Xmx1g -XX:+ExitOnOutOfMemoryError\""""),
    Think("Xmx1g in a 1Gi container leaves nothing for metaspace, threads and direct buffers; the kernel kills the container before the JVM sees an OutOfMemoryError."),
    Sh("kubectl --context gke-stg-euw1 -n quayside rollout restart deploy/quayside && kubectl --context gke-stg-euw1 -n quayside rollout status deploy/quayside --timeout 4m", """deployment.apps/quayside restarted
Waiting for deployment "quayside" rollout to finish: 1 of 2 updated replicas are available...
error: deployment "quayside" exceeded its progress deadline""", code=1, secs=240.0),
    Sh("kubectl --context gke-stg-euw1 -n quayside get pods -o json | jq -r '.items[].status.containerStatuses[0].lastState.terminated.reason'", "OOMKilled\nOOMKilled"),
    Say("A restart does not help: staging reproduces it, both new pods end OOMKilled. 2.32.0 replaced `-XX:MaxRAMPercentage=60` with `-Xmx1g` in a 1Gi container, so heap alone fills the limit. The fix is the JVM flag in values.yaml, applied with helm, not another restart."),
    Patch("""*** Update File: deploy/values.yaml
@@ env:
   - name: JAVA_TOOL_OPTIONS
-    value: "-Xms1g -Xmx1g -XX:+ExitOnOutOfMemoryError"
+    value: "-XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError\""""),
    Sh("helm --kube-context gke-stg-euw1 -n quayside diff upgrade quayside ./deploy -f deploy/values.yaml -f deploy/values-staging.yaml", """quayside, quayside, Deployment (apps) has changed:
           - name: JAVA_TOOL_OPTIONS
-            value: "-Xms1g -Xmx1g -XX:+ExitOnOutOfMemoryError"
+            value: "-XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError\""""),
    Sh("helm --kube-context gke-stg-euw1 -n quayside upgrade quayside ./deploy -f deploy/values.yaml -f deploy/values-staging.yaml --wait --timeout 5m", """Release "quayside" has been upgraded. Happy Helming!
NAME: quayside
LAST DEPLOYED: Thu Nov 12 08:41:09 2026
NAMESPACE: quayside
STATUS: deployed
REVISION: 212""", secs=88.0),
    Sh("kubectl --context gke-stg-euw1 -n quayside get pods", """NAME                        READY   STATUS    RESTARTS   AGE
quayside-84c6d5b7f-jz4ms    1/1     Running   0          2m
quayside-84c6d5b7f-tq9xn    1/1     Running   0          2m"""),
    Say("Staging is stable on the values.yaml change: `-XX:MaxRAMPercentage=70` instead of `-Xmx1g`, 0 restarts after 2 minutes under the load test. Readiness is served on the management port 8081 (`/actuator/health/readiness`), which is what the probe checks; it went green at 08:42 UTC."),
    User("good. open an MR with that values change, I'll take it to prod with the change window"),
    Sh("git switch -c fix/jvm-max-ram && git commit -am 'values: MaxRAMPercentage=70 instead of Xmx1g (OOMKilled in 1Gi, incident Nov 12)' && git push -u origin fix/jvm-max-ram", """Switched to a new branch 'fix/jvm-max-ram'
[fix/jvm-max-ram 4e1a9c2] values: MaxRAMPercentage=70 instead of Xmx1g (OOMKilled in 1Gi, incident Nov 12)
 1 file changed, 1 insertion(+), 1 deletion(-)
remote: To create a merge request for fix/jvm-max-ram, visit:
remote:   https://gitlab.internal.example/payments/quayside/-/merge_requests/new?merge_request%5Bsource_branch%5D=fix%2Fjvm-max-ram"""),
    Say("Pushed `fix/jvm-max-ram`; the MR link is above."),
)

Q3 = session(
    "q3", "quayside", 23.2,
    User("build is red on my laptop after the rebase. mvn -q verify"),
    Sh("mvn -q verify", """[ERROR] Rule 0: org.apache.maven.enforcer.rules.version.RequireMavenVersion failed with message:
Detected Maven Version: 3.6.3 is not in the allowed range [3.9,).
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-enforcer-plugin:3.4.1:enforce (enforce-maven) on project quayside: Some Enforcer rules have failed.""", code=1, secs=6.1),
    Sh("cat .mvn/wrapper/maven-wrapper.properties", "distributionUrl=https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/3.9.6/apache-maven-3.9.6-bin.zip"),
    Sh("./mvnw -q verify", """[INFO] Tests run: 412, Failures: 0, Errors: 0, Skipped: 3
[INFO] BUILD SUCCESS""", secs=143.0),
    Say("The enforcer needs Maven 3.9+, and the system `mvn` is 3.6.3. The Maven wrapper `./mvnw` pins 3.9.6; with it `verify` passes (412 tests, 3 skipped)."),
    User("ok. and what JDK does the image run? someone asked on the bridge"),
    Sh("sed -n '1,12p' Dockerfile", """FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -q -DskipTests package

FROM eclipse-temurin:17-jre
COPY --from=build /src/target/quayside.jar /app/quayside.jar
USER 10001
ENTRYPOINT ["java", "-jar", "/app/quayside.jar"]"""),
    Sh("grep -n '<java.version>' pom.xml", "21:    <java.version>17</java.version>"),
    Say("The image runs Java 17: both stages use `eclipse-temurin:17` (jdk to build, jre to run), and pom.xml sets `java.version` 17."),
)

Q4 = session(
    "q4", "quayside", 20.3,
    User("need the integration tests green before the change window thursday. ./mvnw verify -Pit"),
    Sh("./mvnw -q verify -Pit", """[ERROR] LedgerClientIT.initializationError » IllegalState Could not find a valid Docker environment. Please see logs and check configuration
[ERROR] Tests run: 31, Failures: 0, Errors: 31, Skipped: 0
[INFO] BUILD FAILURE""", code=1, secs=38.0),
    Sh("docker info", "bash: docker: command not found", code=127),
    Sh("ls -l /run/user/1000/podman/podman.sock", "ls: cannot access '/run/user/1000/podman/podman.sock': No such file or directory", code=2),
    Sh("systemctl --user list-unit-files 'podman*' --no-pager", """UNIT FILE                STATE    PRESET
podman-auto-update.service disabled enabled
podman.service           disabled enabled
podman.socket            disabled enabled

3 unit files listed."""),
    Say("There is no Docker on this laptop, only Podman, and its API socket is off. Testcontainers finds Podman through the socket, so it has to be started."),
    Sh("systemctl --user enable --now podman.socket", "Created symlink /home/adaeze/.config/systemd/user/sockets.target.wants/podman.socket → /usr/lib/systemd/user/podman.socket."),
    Sh("sed -n '/<id>it<\\/id>/,/<\\/profile>/p' pom.xml", """          <id>it</id>
          <properties>
            <skipITs>false</skipITs>
          </properties>
          <build><plugins><plugin>
            <artifactId>maven-failsafe-plugin</artifactId>
            <configuration>
              <environmentVariables>
                <SPRING_PROFILES_ACTIVE>it</SPRING_PROFILES_ACTIVE>
                <DOCKER_HOST>unix:///run/user/1000/podman/podman.sock</DOCKER_HOST>
              </environmentVariables>
            </configuration>
          </plugin></plugins></build>
        </profile>"""),
    Sh("./mvnw -q verify -Pit", """[INFO] Tests run: 31, Failures: 0, Errors: 0, Skipped: 0
[INFO] BUILD SUCCESS""", secs=211.0),
    Say("Integration tests pass: 31/31. The `it` Maven profile runs failsafe with `SPRING_PROFILES_ACTIVE=it` and points `DOCKER_HOST` at the Podman socket, which needed `systemctl --user enable --now podman.socket` on this machine."),
    User("thx"),
)

Q5 = session(
    "q5", "quayside", 16.2,
    User("ledger team wants a settled_at column on payouts. add it, index on it"),
    Sh("ls src/main/resources/db/migration | tail -3", "V10__payout_batches.sql\nV11__payout_batch_fk.sql\nV12__payout_status_idx.sql"),
    Patch("""*** Update File: src/main/resources/db/migration/V12__payout_status_idx.sql
@@
 CREATE INDEX payouts_status_idx ON payouts (status);
+ALTER TABLE payouts ADD COLUMN settled_at timestamptz;
+CREATE INDEX payouts_settled_at_idx ON payouts (settled_at);"""),
    User("stop. V12 went out with 2.31 — flyway already applied it in prod, editing it breaks the checksum on the next deploy. put it back and write V13"),
    Patch("""*** Update File: src/main/resources/db/migration/V12__payout_status_idx.sql
@@
 CREATE INDEX payouts_status_idx ON payouts (status);
-ALTER TABLE payouts ADD COLUMN settled_at timestamptz;
-CREATE INDEX payouts_settled_at_idx ON payouts (settled_at);"""),
    Patch("""*** Add File: src/main/resources/db/migration/V13__payout_settled_at.sql
+ALTER TABLE payouts ADD COLUMN settled_at timestamptz;
+CREATE INDEX CONCURRENTLY payouts_settled_at_idx ON payouts (settled_at);"""),
    Sh("./mvnw -q flyway:validate -Dflyway.url=jdbc:postgresql://127.0.0.1:5432/quayside", "[INFO] Successfully validated 13 migrations (execution time 00:00.041s)"),
    Say("V12 is back as it was; the column and its index are in a new `V13__payout_settled_at.sql`, and `flyway:validate` passes locally. Applied Flyway migrations stay as they are."),
    User("how does this reach prod? the jenkins bit"),
    Sh("sed -n '/stage(.Deploy prod.)/,/^    }/p' Jenkinsfile", """    stage('Deploy prod') {
      when { buildingTag(); tag pattern: 'v\\\\d+\\\\.\\\\d+\\\\.\\\\d+', comparator: 'REGEXP' }
      input { message 'Deploy to gke-prd-euw1?'; submitter 'payments-oncall' }
      steps {
        sh 'helm --kube-context gke-prd-euw1 -n quayside upgrade quayside ./deploy -f deploy/values.yaml -f deploy/values-prod.yaml --wait'
      }
    }"""),
    Say("In the Jenkinsfile the `Deploy prod` stage runs only when building a release tag (`v1.2.3`), and waits for someone in `payments-oncall` to approve. So: merge, tag, approve the input step."),
)

Q6 = session(
    "q6", "quayside", 9.3,
    User("""postmortem for the Nov 12 5xx is signed off. writing down what changes, put it in docs/postmortems/2026-11-12-oom.md:

what we do from now on
- JVM memory is set as MaxRAMPercentage in values.yaml. no -Xmx in a container, ever again
- before anything that touches prod you print the exact command and wait for my go. every time, including rollbacks during a page
- dashboards and timelines in UTC

also add an alert on container memory at 90% of the limit so we hear about it before the OOM killer does"""),
    Patch("""*** Add File: docs/postmortems/2026-11-12-oom.md
+# 2026-11-12: quayside 5xx after 2.32.0 (OOMKilled)
+
+- 01:22 UTC 2.32.0 deployed (rev 88); JAVA_TOOL_OPTIONS changed to -Xmx1g in a 1Gi container
+- 01:41 UTC QuaysideHigh5xxRate fired, 5xx 14.2%
+- 01:55 UTC helm rollback to rev 87; 5xx 0.31% at 01:58 UTC
+
+## From now on
+- JVM memory as -XX:MaxRAMPercentage in values.yaml; no -Xmx in containers
+- prod commands are printed and approved before they run
+- timelines in UTC"""),
    Patch("""*** Update File: deploy/templates/prometheusrule.yaml
@@ groups:
+    - alert: QuaysideMemoryNearLimit
+      expr: max by (pod) (container_memory_working_set_bytes{namespace="quayside",container="quayside"} / on (pod) kube_pod_container_resource_limits{resource="memory",container="quayside"}) > 0.9
+      for: 5m
+      labels: {severity: warning}"""),
    Sh("helm --kube-context gke-stg-euw1 -n quayside template quayside ./deploy -f deploy/values.yaml | promtool check rules /dev/stdin", "Checking /dev/stdin\n  SUCCESS: 6 rules found"),
    Say("Wrote the postmortem with the three rules and added `QuaysideMemoryNearLimit` (working set above 90% of the limit for 5m); promtool accepts all 6 rules. Nothing applied to prod: to ship it, `helm --kube-context gke-prd-euw1 -n quayside upgrade quayside ./deploy ...` after your go."),
    User("not today. commit it"),
    Sh("git add docs/postmortems deploy/templates/prometheusrule.yaml && git commit -qm 'postmortem 2026-11-12 and a memory-near-limit alert' && git log --oneline -1", "b7d02f1 postmortem 2026-11-12 and a memory-near-limit alert"),
)

Q7 = session(
    "q7", "quayside", 2.1,
    User("""two things landed this week:
1. platform moved prod to the new cluster. gke-prd-euw1 is drained and gets deleted friday; the prod context is prd-euw1-blue now
2. we're on java 21 — the image change merged yesterday
check the deploy is healthy on the new one"""),
    Sh("kubectl config get-contexts -o name", "gke-stg-euw1\ngke-prd-euw1\nprd-euw1-blue"),
    Sh("kubectl --context prd-euw1-blue -n quayside get pods", """NAME                        READY   STATUS    RESTARTS   AGE
quayside-59b7c4d6f-8xwqk    1/1     Running   0          19h
quayside-59b7c4d6f-fk2vn    1/1     Running   0          19h
quayside-59b7c4d6f-r6mzd    1/1     Running   0          19h"""),
    Sh("kubectl --context gke-prd-euw1 -n quayside get deploy quayside", "deployment.apps/quayside   0/0     0            0           412d"),
    Sh("sed -n '1,6p' Dockerfile && grep -n '<java.version>' pom.xml", """FROM eclipse-temurin:21-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -q -DskipTests package

FROM eclipse-temurin:21-jre
21:    <java.version>21</java.version>"""),
    Sh("kubectl --context prd-euw1-blue -n quayside exec deploy/quayside -- java -version 2>&1 | head -1", 'openjdk version "21.0.5" 2026-10-15 LTS'),
    Say("Prod runs on `prd-euw1-blue`: 3/3 pods Running, 0 restarts in 19h, and the old `gke-prd-euw1` deployment is scaled to 0/0. The image is on Java 21 now (`eclipse-temurin:21-jre`, JVM 21.0.5 in the pod, `java.version` 21 in pom.xml)."),
    User("good. update the Jenkinsfile context while you're there"),
    Patch("""*** Update File: Jenkinsfile
@@
-      input { message 'Deploy to gke-prd-euw1?'; submitter 'payments-oncall' }
+      input { message 'Deploy to prd-euw1-blue?'; submitter 'payments-oncall' }
       steps {
-        sh 'helm --kube-context gke-prd-euw1 -n quayside upgrade quayside ./deploy -f deploy/values.yaml -f deploy/values-prod.yaml --wait'
+        sh 'helm --kube-context prd-euw1-blue -n quayside upgrade quayside ./deploy -f deploy/values.yaml -f deploy/values-prod.yaml --wait'"""),
    Say("The Jenkinsfile's prod stage targets `prd-euw1-blue` now."),
    later=True,
)

# -- chartwell: the platform team's Helm chart repository, GitLab CI

C1 = session(
    "c1", "chartwell", 24.2,
    User("bumping the ingress-shim chart to nginx 1.27. show me what it changes on staging before anything goes anywhere"),
    Sh("helm diff upgrade ingress-shim charts/ingress-shim --kube-context gke-stg-euw1 -n edge -f charts/ingress-shim/values.yaml", """Error: unknown command "diff" for "helm"
Run 'helm --help' for usage.""", code=1),
    Sh("helm plugin list", "NAME    \tVERSION\tDESCRIPTION\nunittest\t0.5.1  \tUnit test for helm chart in YAML with ease to keep your chart functional and robust."),
    Sh("helm plugin install https://github.com/databus23/helm-diff --version v3.9.11", """Downloading https://github.com/databus23/helm-diff/releases/download/v3.9.11/helm-diff-linux-amd64.tgz
Preparing to install into /home/adaeze/.local/share/helm/plugins/helm-diff
Installed plugin: diff""", secs=9.0),
    Sh("helm diff upgrade ingress-shim charts/ingress-shim --kube-context gke-stg-euw1 -n edge -f charts/ingress-shim/values.yaml", """edge, ingress-shim, Deployment (apps) has changed:
-          image: "registry.internal.example/edge/nginx:1.25.4"
+          image: "registry.internal.example/edge/nginx:1.27.3"
edge, ingress-shim, ConfigMap (v1) has changed:
+    ssl_early_data off;"""),
    Say("`helm diff` was not installed (\"unknown command diff\"); installed the helm-diff plugin with `helm plugin install`. On staging the upgrade changes the nginx image 1.25.4 → 1.27.3 and adds `ssl_early_data off;` to the ConfigMap."),
    User("fine. and the helm ones get an explicit --context too, same as kubectl. diff first, then the upgrade, that's the order every time"),
    Sh("helm --kube-context gke-stg-euw1 -n edge upgrade ingress-shim charts/ingress-shim -f charts/ingress-shim/values.yaml --wait", """Release "ingress-shim" has been upgraded. Happy Helming!
NAME: ingress-shim
NAMESPACE: edge
STATUS: deployed
REVISION: 14""", secs=52.0),
    Say("Staging upgraded to revision 14 with the context on the command. Diff first, then upgrade, each with `--kube-context` (helm's spelling of `--context`)."),
)

C2 = session(
    "c2", "chartwell", 21.4,
    User("!482 can't merge, the chart lint stage went red. sort it"),
    Sh("ct lint --config ct.yaml --charts charts/ingress-shim", """Linting charts...
Version increment checking disabled.
------------------------------------------------------------------------------------------------------------------------
 Charts to be processed:
------------------------------------------------------------------------------------------------------------------------
 ingress-shim => (version: "2.4.0", path: "charts/ingress-shim")
------------------------------------------------------------------------------------------------------------------------
Error: failed linting charts: chart version not ok. Needs a version bump!""", code=1),
    Sh("cat ct.yaml", """remote: origin
target-branch: main
chart-dirs:
  - charts
check-version-increment: true
validate-maintainers: false
helm-extra-args: --timeout 600s"""),
    Sh("git diff origin/main --stat -- charts/ingress-shim", " charts/ingress-shim/templates/configmap.yaml | 1 +\n charts/ingress-shim/values.yaml             | 2 +-\n 2 files changed, 2 insertions(+), 1 deletion(-)"),
    Say("chart-testing compares against `main` (ct.yaml: `target-branch: main`, `check-version-increment: true`); the templates changed but Chart.yaml still says 2.4.0."),
    User("yeah. template or values change = version bump in Chart.yaml, same MR. minor for new behaviour, patch otherwise"),
    Patch("""*** Update File: charts/ingress-shim/Chart.yaml
@@
 name: ingress-shim
-version: 2.4.0
+version: 2.5.0
 appVersion: "1.27.3\""""),
    Sh("ct lint --config ct.yaml --charts charts/ingress-shim", """Linting charts...
==> Linting charts/ingress-shim
[INFO] Chart.yaml: icon is recommended
1 chart(s) linted, 0 chart(s) failed
------------------------------------------------------------------------------------------------------------------------
 ✔︎ ingress-shim => (version: "2.5.0", path: "charts/ingress-shim")
------------------------------------------------------------------------------------------------------------------------
All charts linted successfully"""),
    Say("Bumped ingress-shim to 2.5.0 (new behaviour: minor). `ct lint --config ct.yaml` passes, which is what the lint job runs."),
)

C3 = session(
    "c3", "chartwell", 18.1,
    User("where do the charts end up after merge? a team asked which repo url to add"),
    Sh("sed -n '/^publish:/,/^$/p' .gitlab-ci.yml", f"""publish:
  stage: publish
  image: alpine/helm:3.14.4
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  variables:
    HELM_REPO_USERNAME: chartwell-ci
    HELM_REPO_PASSWORD: "{GITLAB_TOKEN}"
  script:
    - helm plugin install https://github.com/chartmuseum/helm-push
    - helm repo add platform https://chartmuseum.internal.example
    - for c in charts/*/; do helm cm-push "$c" platform; done"""),
    Say("After merge to main the `publish` job packages every chart and pushes it with `helm cm-push` to ChartMuseum at https://chartmuseum.internal.example; teams add it with `helm repo add platform https://chartmuseum.internal.example`.\n\nAlso: the job has a GitLab personal access token written in clear in `.gitlab-ci.yml` (`HELM_REPO_PASSWORD`). It belongs in a masked CI/CD variable, and the token should be revoked."),
    User("ugh. yes. move it to a masked variable, I'll revoke the token in the UI"),
    Patch("""*** Update File: .gitlab-ci.yml
@@ publish:
   variables:
     HELM_REPO_USERNAME: chartwell-ci
-    HELM_REPO_PASSWORD: "glpat-Vq8Rk2LmX7tNz4Ws9YbPc3Jd"
+    # HELM_REPO_PASSWORD comes from the masked project variable of the same name"""),
    Sh("git commit -qam 'ci: chart repo password from a masked variable' && git log --oneline -1", "e91f3a7 ci: chart repo password from a masked variable"),
    Say("Committed. The variable `HELM_REPO_PASSWORD` has to exist (masked, protected) in Settings → CI/CD before the next publish."),
)

C4 = session(
    "c4", "chartwell", 14.3,
    User("""staging deploy of ingress-shim is stuck. alertmanager:

[FIRING:1] HelmReleaseNotDeployed (edge/ingress-shim warning)
  release ingress-shim in namespace edge not in deployed state for 20m

third coffee tonight and it's gone cold. go"""),
    Sh("helm --kube-context gke-stg-euw1 -n edge upgrade ingress-shim charts/ingress-shim -f charts/ingress-shim/values.yaml --wait", "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", code=1),
    Sh("helm --kube-context gke-stg-euw1 -n edge history ingress-shim --max 3", """REVISION  UPDATED                   STATUS           CHART               APP VERSION  DESCRIPTION
14        Mon Nov 16 22:10:02 2026  deployed         ingress-shim-2.5.0  1.27.3       Upgrade complete
15        Mon Nov 23 23:31:47 2026  superseded       ingress-shim-2.5.1  1.27.3       Upgrade complete
16        Mon Nov 23 23:40:12 2026  pending-upgrade  ingress-shim-2.5.1  1.27.3       Upgrade "ingress-shim" failed: context canceled"""),
    Say("Revision 16 is stuck in pending-upgrade: a CI job was cancelled mid-upgrade, so helm thinks an operation is still running. Rolling back to the last deployed revision clears the lock."),
    Sh("helm --kube-context gke-stg-euw1 -n edge rollback ingress-shim 15 --wait", "Rollback was a success! Happy Helming!", secs=31.0),
    Sh("helm --kube-context gke-stg-euw1 -n edge upgrade ingress-shim charts/ingress-shim -f charts/ingress-shim/values.yaml --wait", """Release "ingress-shim" has been upgraded. Happy Helming!
NAME: ingress-shim
NAMESPACE: edge
STATUS: deployed
REVISION: 18""", secs=47.0),
    Say("Fixed: `helm rollback ingress-shim 15` cleared the pending-upgrade lock, the upgrade then went through as revision 18. The alert resolves in the next evaluation."),
    User("k. which MR cancelled it"),
    Sh("git log --oneline -3 origin/main", "3c1f9e0 ingress-shim: proxy_read_timeout 120s (!497)\n8d2a4b6 ingress-shim: 2.5.1 (!495)\ne91f3a7 ci: chart repo password from a masked variable"),
    Say("!497, the proxy_read_timeout change: its pipeline was cancelled by the newer push."),
)

C5 = session(
    "c5", "chartwell", 7.2,
    User("the quayside chart needs a test for the new PDB template. how do chart tests run here"),
    Sh("ls charts/quayside/tests/ && sed -n '/^unit:/,/^$/p' .gitlab-ci.yml", """deployment_test.yaml
service_test.yaml
unit:
  stage: test
  image: registry.internal.example/platform/helm-ci:3.14
  script:
    - for c in charts/*/; do helm unittest "$c"; done"""),
    Patch("""*** Add File: charts/quayside/tests/pdb_test.yaml
+suite: pdb
+templates:
+  - pdb.yaml
+tests:
+  - it: keeps at least one pod during a drain
+    asserts:
+      - equal:
+          path: spec.minAvailable
+          value: 1"""),
    Sh("helm unittest charts/quayside", """### Chart [ quayside ] charts/quayside

 PASS  deployment	charts/quayside/tests/deployment_test.yaml
 PASS  pdb	charts/quayside/tests/pdb_test.yaml
 PASS  service	charts/quayside/tests/service_test.yaml

Charts:      1 passed, 1 total
Test Suites: 3 passed, 3 total
Tests:       11 passed, 11 total"""),
    Say("Chart tests are helm-unittest suites in `charts/<chart>/tests/*_test.yaml`, run by the `unit` job with `helm unittest charts/<chart>`. Added `pdb_test.yaml`; 11/11 pass."),
    User("pipeline 1184203 says the same? give me the job statuses, and -o json | jq for that kind of thing, not grep on the pretty table"),
    Sh("glab api projects/platform%2Fchartwell/pipelines/1184203/jobs | jq -r '.[] | \"\\(.name) \\(.status)\"'", "lint success\nunit success\npublish skipped"),
    Say("lint success, unit success, publish skipped (MR pipeline)."),
)

C6 = session(
    "c6", "chartwell", 1.6,
    User("chartmuseum is being switched off. platform wants charts in harbor as OCI. move the publish job"),
    Sh("helm registry login harbor.internal.example --username robot$chartwell-ci --password-stdin < /dev/null", "Error: password is required", code=1),
    Say("Login needs the robot account's secret on stdin; in CI that is the masked `HARBOR_ROBOT_SECRET` variable, so I'll use it there and not locally."),
    Patch("""*** Update File: .gitlab-ci.yml
@@ publish:
-  script:
-    - helm plugin install https://github.com/chartmuseum/helm-push
-    - helm repo add platform https://chartmuseum.internal.example
-    - for c in charts/*/; do helm cm-push "$c" platform; done
+  script:
+    - echo "$HARBOR_ROBOT_SECRET" | helm registry login harbor.internal.example --username 'robot$chartwell-ci' --password-stdin
+    - for c in charts/*/; do helm package "$c" -d dist/; done
+    - for t in dist/*.tgz; do helm push "$t" oci://harbor.internal.example/charts; done"""),
    Sh("helm package charts/ingress-shim -d /tmp/chartwell-dist && helm show chart oci://harbor.internal.example/charts/ingress-shim --version 2.5.1 | head -3", """Successfully packaged chart and saved it to: /tmp/chartwell-dist/ingress-shim-2.5.1.tgz
Pulled: harbor.internal.example/charts/ingress-shim:2.5.1
apiVersion: v2"""),
    Say("The publish job now runs `helm push` to `oci://harbor.internal.example/charts`; ChartMuseum and `cm-push` are gone from the pipeline. Consumers install with `helm install x oci://harbor.internal.example/charts/<chart> --version <v>`, no `helm repo add`."),
    User("merge it after the pipeline"),
    Sh("glab mr create --fill --yes -t 'publish charts to harbor (OCI)' && glab mr merge --when-pipeline-succeeds --yes", "!503 publish charts to harbor (OCI)\n✓ Will merge when pipeline succeeds"),
    later=True,
)

# -- tallyho: the legacy Perl billing script, run nightly

T1 = session(
    "t1", "tallyho", 27.1,
    User("inherited tallyho from billing. run the tests, see what's what"),
    Sh("prove -lr t/", """t/00-load.t ........ 1/?
#   Failed test 'use Tallyho::Export'
#   at t/00-load.t line 9.
#     Tried to use 'Tallyho::Export'.
#     Error:  Can't locate Text/CSV_XS.pm in @INC (you may need to install the Text::CSV_XS module) (@INC entries checked: lib /etc/perl /usr/local/lib/x86_64-linux-gnu/perl/5.36.0 /usr/share/perl5) at lib/Tallyho/Export.pm line 6.
t/00-load.t ........ Dubious, test returned 1 (wstat 256, 0x100)
Failed 1/4 subtests
Files=9, Tests=4, 0 wallclock secs
Result: FAIL""", code=1),
    Sh("cat cpanfile", """requires 'DBI', '1.643';
requires 'DBD::Pg', '3.18';
requires 'Text::CSV_XS', '1.53';
requires 'Math::BigFloat';
requires 'Getopt::Long::Descriptive';
on test => sub { requires 'Test::More', '1.302' };"""),
    Sh("cpanm -L local --installdeps .", """--> Working on .
Configuring Tallyho-0.41 ... OK
==> Found dependencies: Text::CSV_XS, Getopt::Long::Descriptive, DBD::Pg
Successfully installed Text-CSV_XS-1.56
Successfully installed Getopt-Long-Descriptive-0.114
Successfully installed DBD-Pg-3.18.0
<== Installed dependencies for .. Finishing.
14 distributions installed""", secs=96.0),
    Sh("prove -Ilocal/lib/perl5 -lr t/", """t/00-load.t ........ ok
t/10-periods.t ..... ok
t/20-tax.t ......... ok
t/30-export.t ...... ok
All tests successful.
Files=9, Tests=118, 3 wallclock secs
Result: PASS"""),
    Say("The deps from the cpanfile were missing (`Text::CSV_XS` first). `cpanm -L local --installdeps .` installs them into `./local`, and the tests then need that path: `prove -Ilocal/lib/perl5 -lr t/` passes, 118 tests."),
    User("so that's how you run it from now on, with local/"),
)

T2 = session(
    "t2", "tallyho", 22.3,
    User("the new export to the bank needs https. add LWP::Protocol::https to the cpanfile and install"),
    Patch("""*** Update File: cpanfile
@@
 requires 'Getopt::Long::Descriptive';
+requires 'LWP::Protocol::https', '6.14';"""),
    Sh("cpanm -L local LWP::Protocol::https", """--> Working on LWP::Protocol::https
Building and testing Net-SSLeay-1.94 ... FAILED
! Installing Net::SSLeay failed. See /home/adaeze/.cpanm/work/1763890512.40771/build.log for details. Retry with --force to force install it.
SSLeay.xs:163:10: fatal error: openssl/ssl.h: No such file or directory
! Installing the dependencies failed: Module 'Net::SSLeay' is not installed""", code=1, secs=41.0),
    Say("Net::SSLeay compiles against OpenSSL and the headers are missing (`openssl/ssl.h`). That's a system package, not a CPAN one."),
    Sh("sudo apt-get install -y libssl-dev", """Reading package lists... Done
The following NEW packages will be installed:
  libssl-dev
Setting up libssl-dev:amd64 (3.0.15-1~deb12u1) ...""", secs=12.0),
    Sh("cpanm -L local LWP::Protocol::https", """--> Working on LWP::Protocol::https
Successfully installed Net-SSLeay-1.94
Successfully installed IO-Socket-SSL-2.089
Successfully installed LWP-Protocol-https-6.14
3 distributions installed""", secs=58.0),
    Say("Installed `libssl-dev` with apt, and Net::SSLeay then builds; LWP::Protocol::https is in `local/`."),
    User("👍 and no --force on cpanm, if it doesn't build there's a reason"),
)

T3 = session(
    "t3", "tallyho", 19.2,
    User("when does the invoice run actually happen? finance says the PDFs land at different times"),
    Sh("sudo -u billing crontab -l", """MAILTO=billing-alerts@internal.example
# m h dom mon dow  command
15 2 * * * /opt/tallyho/bin/run-invoices.sh >> /var/log/tallyho/run.log 2>&1
0 6 1 * * /opt/tallyho/bin/month-close.sh"""),
    Sh("cat /opt/tallyho/bin/run-invoices.sh", """#!/bin/sh
set -eu
cd /opt/tallyho
export PERL5LIB=/opt/tallyho/local/lib/perl5
exec perl bin/invoice.pl --period "$(date -d yesterday +%Y-%m)" --dsn "$TALLYHO_DSN\""""),
    Say("The billing user's crontab runs `/opt/tallyho/bin/run-invoices.sh` at 02:15 server time, every night, and month close at 06:00 on the 1st. The host clock is UTC, so PDFs are produced from 02:15 UTC; later arrivals are the bank's pickup."),
    User("ok. I want to rerun november for one customer to compare. use my laptop"),
    Say("I can run `perl bin/invoice.pl --period 2026-11 --dsn $TALLYHO_DSN` here with the prod DSN from the vault."),
    User("not against the live db from a laptop. the read replica, TALLYHO_REPLICA_DSN. and --dry-run first so we see totals before it writes anything"),
    Sh("perl -Ilocal/lib/perl5 bin/invoice.pl --period 2026-11 --dsn \"$TALLYHO_REPLICA_DSN\" --dry-run | tail -4", """customers: 1,204
invoices: 1,311
total net: 482,117.40 EUR
dry run: nothing written"""),
    Say("Dry run on the replica: 1,311 invoices for 1,204 customers, 482,117.40 EUR net, nothing written."),
)

T4 = session(
    "t4", "tallyho", 15.4,
    User("last night's run didn't produce anything. check the log"),
    Sh("tail -n 20 /var/log/tallyho/run.log", "tail: cannot open '/var/log/tallyho/run.log' for reading: No such file or directory", code=1),
    User("journalctl -u cron, not tail on files in /var/log. logrotate moves them under you and half of them don't exist anymore"),
    Sh("journalctl -u cron --since '2026-11-22 02:00' --until '2026-11-22 03:00' --no-pager", """Nov 22 02:15:01 billing-1 CRON[88120]: (billing) CMD (/opt/tallyho/bin/run-invoices.sh >> /var/log/tallyho/run.log 2>&1)
Nov 22 02:15:04 billing-1 CRON[88119]: (CRON) info (No MTA installed, discarding output)"""),
    Sh("journalctl -t tallyho --since '2026-11-22 02:00' --no-pager | tail -3", """Nov 22 02:15:03 billing-1 tallyho[88121]: DBD::Pg::st execute failed: ERROR:  could not obtain lock on relation "invoices" at lib/Tallyho/Store.pm line 88.
Nov 22 02:15:03 billing-1 tallyho[88121]: run aborted, 0 invoices written"""),
    Say("It ran at 02:15 and aborted on a table lock on `invoices` (0 written); the output went to a log file that logrotate had already removed. Who held the lock at 02:15?"),
    User("the month-end export from finance probably. rerun it now"),
    Sh("sudo -u billing /opt/tallyho/bin/run-invoices.sh && journalctl -t tallyho --since '-5min' --no-pager | tail -1", "Nov 22 09:12:48 billing-1 tallyho[90314]: run complete, 1,318 invoices written"),
    Say("Rerun complete: 1,318 invoices written."),
)

T5 = session(
    "t5", "tallyho", 11.2,
    User("finance reports a 1 cent difference on invoice totals vs the bank export. find it"),
    Sh("rg -n 'BigFloat|round' lib/Tallyho/", """lib/Tallyho/Tax.pm:4:use Math::BigFloat;
lib/Tallyho/Tax.pm:31:    my $vat = Math::BigFloat->new($net)->bmul($rate)->bfround(-2);
lib/Tallyho/Export.pm:52:    my $total = sprintf('%.2f', $net + $vat);"""),
    Sh("perl -Ilocal/lib/perl5 -Ilib -MTallyho::Tax -E 'say Tallyho::Tax::vat(\"10.05\", \"0.19\")'", "1.91"),
    Say("Tax.pm rounds VAT with `Math::BigFloat->bfround(-2)` (half to even, 1.9095 → 1.91), but Export.pm adds net and VAT as floats and formats with `sprintf('%.2f')`, which can land one cent off. The export should reuse the BigFloat value."),
    User("the rule in billing is: money is an integer amount_minor in cents everywhere, floats only when printing. fix the export like that"),
    Patch("""*** Update File: lib/Tallyho/Export.pm
@@
-    my $total = sprintf('%.2f', $net + $vat);
+    my $total_minor = $net_minor + $vat_minor;    # integer cents (amount_minor)
+    my $total = sprintf('%d.%02d', int($total_minor / 100), $total_minor % 100);"""),
    Sh("prove -Ilocal/lib/perl5 -lr t/", """t/00-load.t ........ ok
t/10-periods.t ..... ok
t/20-tax.t ......... ok
t/30-export.t ...... ok
t/31-export-cents.t  ok
All tests successful.
Files=10, Tests=124, 3 wallclock secs
Result: PASS"""),
    Say("Export now sums integer `amount_minor` cents and only formats at the end; all 124 tests pass, including the new cents case."),
)

T6 = session(
    "t6", "tallyho", 6.1,
    User("customer 40917 disputes their november invoice. regenerate just theirs. you know the drill"),
    Sh("perl -Ilocal/lib/perl5 bin/invoice.pl --customer 40917 --period 2026-11 --dsn \"$TALLYHO_REPLICA_DSN\" --dry-run", """customer 40917: 3 invoice lines
  net 1,902.00 EUR  vat 361.38 EUR  gross 2,263.38 EUR
dry run: nothing written"""),
    Say("Dry run on the replica: 3 lines, gross 2,263.38 EUR. The real run writes to the primary, so that one is for the billing host: `sudo -u billing /opt/tallyho/bin/run-invoices.sh` does the whole month, or `perl bin/invoice.pl --customer 40917 --period 2026-11` on billing-1."),
    User("matches what finance expected. run it on billing-1"),
    Sh("ssh billing-1 'cd /opt/tallyho && sudo -u billing env PERL5LIB=local/lib/perl5 perl bin/invoice.pl --customer 40917 --period 2026-11 --dsn \"$TALLYHO_DSN\"'", "customer 40917: invoice INV-2026-11-40917-2 written (supersedes INV-2026-11-40917-1)"),
    Say("Written as INV-2026-11-40917-2; the old one is marked superseded."),
)

T7 = session(
    "t7", "tallyho", 1.2,
    User("ops moved the nightly run off cron onto a systemd timer yesterday, so the logs are in the journal for real now. check it ran last night and tell me when it fires"),
    Sh("sudo -u billing crontab -l", "no crontab for billing", code=1),
    Sh("systemctl cat tallyho-invoices.timer tallyho-invoices.service", """# /etc/systemd/system/tallyho-invoices.timer
[Unit]
Description=tallyho nightly invoice run

[Timer]
OnCalendar=*-*-* 03:30:00 UTC
Persistent=true

[Install]
WantedBy=timers.target

# /etc/systemd/system/tallyho-invoices.service
[Service]
Type=oneshot
User=billing
WorkingDirectory=/opt/tallyho
Environment=PERL5LIB=/opt/tallyho/local/lib/perl5
EnvironmentFile=/etc/tallyho/env
ExecStart=/usr/bin/perl bin/invoice.pl --period yesterday-month"""),
    Sh("systemctl list-timers tallyho-invoices.timer --no-pager", """NEXT                        LEFT     LAST                        PASSED  UNIT                    ACTIVATES
Sun 2026-12-06 03:30:00 UTC 2h left  Sat 2026-12-05 03:30:02 UTC 21h ago tallyho-invoices.timer  tallyho-invoices.service"""),
    Sh("journalctl -u tallyho-invoices.service --since yesterday --no-pager | tail -2", """Dec 05 03:30:41 billing-1 perl[120455]: run complete, 1,297 invoices written
Dec 05 03:30:41 billing-1 systemd[1]: tallyho-invoices.service: Deactivated successfully."""),
    Say("The crontab is empty now; the run is `tallyho-invoices.timer`, `OnCalendar=*-*-* 03:30:00 UTC` with `Persistent=true` (a missed run catches up after boot). Last night at 03:30 UTC: 1,297 invoices written."),
    User("good, tell finance 03:30"),
    later=True,
)

# -- portcullis: the Lua/OpenResty edge gateway, Nix flake dev shell

P1 = session(
    "p1", "portcullis", 25.6,
    User("new laptop. get the gateway specs running"),
    Sh("busted spec/", """Error → spec/ratelimit_spec.lua @ 3
suite spec/ratelimit_spec.lua
spec/ratelimit_spec.lua:3: module 'resty.core' not found:
	no field package.preload['resty.core']
	no file './resty/core.lua'
	no file '/usr/local/share/lua/5.1/resty/core.lua'
stack traceback:
	[C]: in function 'require'
	lib/portcullis/limits.lua:1: in main chunk
	spec/ratelimit_spec.lua:3: in main chunk
0 successes / 0 failures / 1 error / 0 pending : 0.004 seconds""", code=1),
    Sh("sed -n '1,40p' flake.nix", """{
  description = "portcullis edge gateway";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  outputs = { self, nixpkgs }:
    let pkgs = nixpkgs.legacyPackages.x86_64-linux; in {
      devShells.x86_64-linux.gateway = pkgs.mkShell {
        packages = [ pkgs.openresty pkgs.luajitPackages.busted pkgs.luajitPackages.luacheck ];
        shellHook = ''
          export LUA_PATH="$PWD/lib/?.lua;${pkgs.openresty}/lualib/?.lua;;"
        '';
      };
    };
}"""),
    Say("The specs need OpenResty's lualib (`resty.core`) on `LUA_PATH`; plain `busted` from the system doesn't have it. The flake's `gateway` dev shell sets it up."),
    Sh("nix develop .#gateway --command busted spec/", """●●●●●●●●●●●●●●●●●●●●●●●●●●●
27 successes / 0 failures / 0 errors / 0 pending : 0.212 seconds""", secs=34.0),
    Say("Running the specs inside the flake's dev shell works: `nix develop .#gateway --command busted spec/`, 27 successes."),
    User("and luacheck, same way?"),
    Sh("nix develop .#gateway --command luacheck lib/ spec/", "Total: 0 warnings / 0 errors in 19 files"),
    Say("Yes: 0 warnings in 19 files."),
)

P2 = session(
    "p2", "portcullis", 23.6,
    User("""PAGE. gateway 502s since the 14:05 deploy.

[FIRING:2] GatewayUpstream502 (portcullis edge critical)
  502 rate 31% on gw-1, gw-2 (5m)
  grafana: edge overview, upstream errors 640/s

back it out. now."""),
    Sh("git -C /etc/portcullis log --oneline -3", "a71c0d4 auth: route /v2/session via auth.internal (EDGE-212)\n5e2b9f1 limits: burst 40 for /api/search\nc08d3e7 tls: drop TLSv1.1"),
    Say("The 14:05 deploy is a71c0d4 (route /v2/session via auth.internal). I can revert it and `systemctl restart openresty` on gw-1 and gw-2."),
    User("reload, not restart. a restart drops every open connection on the edge"),
    Sh("git -C /etc/portcullis revert --no-edit a71c0d4 && sudo openresty -t && sudo systemctl reload openresty", """[main 0f3e8a2] Revert "auth: route /v2/session via auth.internal (EDGE-212)"
nginx: the configuration file /usr/local/openresty/nginx/conf/nginx.conf syntax is ok
nginx: configuration file /usr/local/openresty/nginx/conf/nginx.conf test is successful"""),
    Say("Reverted a71c0d4 and reloaded OpenResty (config test ok). Watching the 502 panel."),
    User("502 rate back to 0.2 at 14:31 UTC. ok now tell me why"),
    Sh("journalctl -u openresty --since '14:05' --no-pager | grep -m3 error", """Nov 13 14:05:51 gw-1 nginx[2281]: 2026/11/13 14:05:51 [error] 2290#2290: *80412 no resolver defined to resolve "auth.internal", client: 10.20.4.17, server: api.example.net, request: "POST /v2/session HTTP/2.0"
Nov 13 14:05:51 gw-1 nginx[2281]: 2026/11/13 14:05:51 [error] 2290#2290: *80413 no resolver defined to resolve "auth.internal", client: 10.20.4.9, server: api.example.net, request: "POST /v2/session HTTP/2.0"
Nov 13 14:05:52 gw-1 nginx[2281]: 2026/11/13 14:05:52 [error] 2290#2290: *80420 no resolver defined to resolve "auth.internal", client: 10.20.7.31, server: api.example.net, request: "POST /v2/session HTTP/2.0\""""),
    Say("The new route sets the upstream from a variable, so nginx resolves `auth.internal` at request time, and nginx.conf has no `resolver` directive. `openresty -t` can't catch that; every /v2/session request got a 502."),
    Sh("curl -fsS -o /dev/null -w '%{http_code}\\n' -X POST https://gw-canary-1.internal/v2/session", "curl: (22) The requested URL returned error: 502", code=22),
    Patch("""*** Update File: conf/nginx.conf
@@ http {
     lua_package_path "/usr/local/openresty/site/lualib/?.lua;$prefix/lib/?.lua;;";
+    # upstreams set from variables are resolved per request; without this: "no resolver defined"
+    resolver 10.0.0.2 valid=30s ipv6=off;
+    resolver_timeout 2s;"""),
    Sh("scp conf/nginx.conf gw-canary-1:/etc/portcullis/nginx.conf && ssh gw-canary-1 'sudo openresty -t && sudo systemctl reload openresty' && curl -fsS -o /dev/null -w '%{http_code}\\n' -X POST https://gw-canary-1.internal/v2/session", """nginx: configuration file /usr/local/openresty/nginx/conf/nginx.conf test is successful
200"""),
    Say("With `resolver 10.0.0.2 valid=30s` in nginx.conf, the canary answers 200 on /v2/session. EDGE-212 can go back out with this."),
)

P3 = session(
    "p3", "portcullis", 17.3,
    User("search team says they get 429s at way lower rates than the limit we agreed. what's configured"),
    Sh("rg -n 'lua_shared_dict|limit_req' conf/", """conf/nginx.conf:19:    lua_shared_dict ratelimit 10m;
conf/nginx.conf:20:    lua_shared_dict jwks_cache 1m;"""),
    Sh("sed -n '1,30p' lib/portcullis/limits.lua", """local limit_req = require "resty.limit.req"

local M = {}

-- route prefix -> requests/s, burst
M.routes = {
  ["/api/search"] = { rate = 20, burst = 40 },
  ["/api/orders"] = { rate = 50, burst = 100 },
}

function M.new(route)
  local r = M.routes[route]
  return limit_req.new("ratelimit", r.rate, r.burst)
end

return M"""),
    Sh("curl -s http://gw-1.internal:9145/metrics | rg 'portcullis_ratelimit_rejected_total\\{route=\"/api/search\"'", 'portcullis_ratelimit_rejected_total{route="/api/search",key="ip"} 18840'),
    Say("Rate limits are per route in `lib/portcullis/limits.lua` (/api/search: 20 r/s, burst 40), kept in the `lua_shared_dict ratelimit 10m` zone. They are keyed by client IP, and the gateway's Prometheus metrics on port 9145 (`/metrics`) show 18,840 rejections for /api/search: the search team's workers share one NAT IP, so together they hit the per-IP limit."),
    User("ok that's theirs to fix. leave it"),
)

P4 = session(
    "p4", "portcullis", 12.4,
    User("add a spec: /api/orders over burst gets 429 with Retry-After"),
    Patch("""*** Add File: spec/orders_limit_spec.lua
+local limits = require "portcullis.limits"
+
+describe("orders limit", function()
+  it("rejects over burst with a delay", function()
+    local lim = limits.new("/api/orders")
+    local delay, err
+    for _ = 1, 151 do delay, err = lim:incoming("10.0.0.1", true) end
+    assert.is_nil(delay)
+    assert.equals("rejected", err)
+  end)
+end)"""),
    Sh("nix develop .#gateway --command busted spec/orders_limit_spec.lua", """●
1 success / 0 failures / 0 errors / 0 pending : 0.031 seconds"""),
    Say("Spec added and green (151 requests against rate 50 / burst 100 → rejected). The Retry-After header is set in `access.lua`, which the spec doesn't reach; that needs an integration test against a running OpenResty."),
    User("fine for now. my kid just walked across the keyboard and sent a half message to the bridge, ignore anything weird from me in the next minute"),
    Say("Noted."),
)

P5 = session(
    "p5", "portcullis", 8.2,
    User("""postmortem for the 502 on the 13th is approved. new rules for the gateway, written down so nobody relearns this at 2pm on a friday:
- config changes go to gw-canary-1 first: openresty -t there, reload there, curl the changed route, only then the fleet
- upstreams by hostname need the resolver, the template now has it
- the incident channel gets the revert first, the explanation after
put the first one in RUNBOOK.md under Deploy"""),
    Sh("sed -n '/## Deploy/,/^## /p' RUNBOOK.md", """## Deploy
1. merge to main
2. ansible-playbook deploy.yml -l gateways

## Certificates"""),
    Patch("""*** Update File: RUNBOOK.md
@@ ## Deploy
 1. merge to main
-2. ansible-playbook deploy.yml -l gateways
+2. ansible-playbook deploy.yml -l gw-canary-1, then on gw-canary-1: `openresty -t`, `systemctl reload openresty`, curl the changed route
+3. only when the canary answers as expected: ansible-playbook deploy.yml -l gateways"""),
    Sh("ansible-playbook deploy.yml -l gw-canary-1 --check --diff | tail -3", """PLAY RECAP *********************************************************************
gw-canary-1                : ok=7    changed=0    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0"""),
    Say("RUNBOOK.md's Deploy section now has the canary step: gw-canary-1 first (config test, reload, curl the route), the fleet after. `--check` against the canary shows the playbook still runs there with nothing to change."),
    User("reads fine. commit, reference the postmortem"),
    Sh("git commit -qam 'RUNBOOK: canary step before the fleet (postmortem 2026-11-13, 502 on /v2/session)' && git log --oneline -1", "6d0b2e8 RUNBOOK: canary step before the fleet (postmortem 2026-11-13, 502 on /v2/session)"),
    Say("Committed as 6d0b2e8."),
)

P6 = session(
    "p6", "portcullis", 4.3,
    User("jwks cache: how long do we keep the auth keys? auth rotates tonight at 23:00 UTC"),
    Sh("rg -n 'jwks' lib/portcullis/*.lua | head -5", """lib/portcullis/auth.lua:12:local cache = ngx.shared.jwks_cache
lib/portcullis/auth.lua:40:    cache:set("jwks", body, 3600)
lib/portcullis/auth.lua:44:    -- on a kid miss we refetch at most once per 30 s"""),
    Say("Keys are cached for 3600 s in `jwks_cache`, but an unknown `kid` triggers a refetch (at most once per 30 s), so a rotation is picked up on the first token signed with the new key."),
    User("good, nothing to do then. thanks, going to sleep"),
)

SESSIONS = (Q1, Q2, Q3, Q4, Q5, Q6, Q7, C1, C2, C3, C4, C5, C6, T1, T2, T3, T4, T5, T6, T7, P1, P2, P3, P4, P5, P6)

FACTS = (
    # general rules: stated in two projects
    Fact("j.gen.context", "general_rule", None,
         "Pass the kube context explicitly (--context / --kube-context) on every kubectl and helm command; never rely on current-context",
         M("--context", "kubectl|helm"), ("q1", "c1")),
    Fact("j.gen.dry_run", "general_rule", None,
         "Dry run first (helm diff, --dry-run, --check) and look at the result before the real change",
         M("dry run|dry-run|helm diff", "first"), ("c1", "t3")),
    Fact("j.gen.rollback", "general_rule", None,
         "In an incident roll back first and debug after; the explanation comes once traffic is healthy",
         M("roll back|rollback|revert", "debug|explanation|why"), ("q1", "p2")),
    # preferences, stated once, mostly without trigger words
    Fact("j.pref.short", "preference", None,
         "During an incident keep answers short: three lines at most, numbers over prose",
         M("incident|paged|page", "short|three lines|3 lines"), ("q1",)),
    Fact("j.pref.utc", "preference", None,
         "Give times and timelines in UTC",
         M("UTC", "times|timelines|timestamps"), ("q1",)),
    Fact("j.pref.prod_go", "preference", None,
         "Before anything that touches prod, print the exact command and wait for the user's go",
         M("prod|production", "wait"), ("q6",)),
    Fact("j.pref.journalctl", "preference", None,
         "Read service logs with journalctl -u, not tail on files under /var/log (logrotate moves them)",
         M("journalctl", "tail|/var/log"), ("t4",)),
    Fact("j.pref.jq", "preference", None,
         "Query CLI output as -o json piped to jq, not grep on the human-readable table",
         M("jq", "grep|-o json"), ("c5",)),
    # project rules
    Fact("j.qs.rule.prod_context", "project_rule", "quayside",
         "Prod is the gke-prd-euw1 kube context; gke-stg-euw1 is staging",
         M("gke-prd-euw1", "prod|production"), ("q1",), superseded_by="j.qs.sup.prod_context"),
    Fact("j.qs.rule.flyway", "project_rule", "quayside",
         "An applied Flyway migration stays as it is: a schema change goes into a new V<n>__ file (editing breaks the checksum)",
         M("Flyway", "applied|merged|new"), ("q5",)),
    Fact("j.qs.rule.xmx", "project_rule", "quayside",
         "JVM memory is set as -XX:MaxRAMPercentage in values.yaml, no -Xmx in the container",
         M("MaxRAMPercentage", "-Xmx|Xmx"), ("q6",)),
    Fact("j.cw.rule.bump", "project_rule", "chartwell",
         "A template or values change bumps the chart version in Chart.yaml in the same MR",
         M("Chart.yaml", "version|bump"), ("c2",)),
    Fact("j.th.rule.replica", "project_rule", "tallyho",
         "Ad-hoc invoice.pl runs from a laptop use the read replica (TALLYHO_REPLICA_DSN), not the live database",
         M("replica|TALLYHO_REPLICA_DSN", "invoice.pl|laptop"), ("t3",)),
    Fact("j.pc.rule.reload", "project_rule", "portcullis",
         "Reload OpenResty (systemctl reload openresty) after a config change; a restart drops every open connection",
         M("reload", "restart"), ("p2",)),
    Fact("j.pc.rule.canary", "project_rule", "portcullis",
         "Gateway config changes go to gw-canary-1 first (openresty -t, reload, curl the route), the fleet after",
         M("gw-canary-1", "first|canary"), ("p5",)),
    # project facts: in tool output or the assistant's conclusion only
    Fact("j.qs.fact.readiness", "project_fact", "quayside",
         "Readiness is on the management port 8081 at /actuator/health/readiness (the app port is 8080)",
         M("8081", "readiness"), ("q2",)),
    Fact("j.qs.fact.it_profile", "project_fact", "quayside",
         "The it Maven profile runs the integration tests with SPRING_PROFILES_ACTIVE=it and DOCKER_HOST on the Podman socket",
         M("SPRING_PROFILES_ACTIVE", "it"), ("q4",)),
    Fact("j.qs.fact.jenkins", "project_fact", "quayside",
         "The Jenkinsfile's Deploy prod stage runs only for a release tag and waits for a payments-oncall approval",
         M("Jenkinsfile", "tag|tags"), ("q5",)),
    Fact("j.qs.fact.java17", "project_fact", "quayside",
         "The image runs Java 17 (eclipse-temurin:17-jre)",
         M("temurin:17|Java 17|JDK 17"), ("q3",), superseded_by="j.qs.sup.java21"),
    Fact("j.cw.fact.ct", "project_fact", "chartwell",
         "The lint job is ct lint --config ct.yaml, comparing against main with check-version-increment",
         M("ct lint", "ct.yaml"), ("c2",)),
    Fact("j.cw.fact.unittest", "project_fact", "chartwell",
         "Chart tests are helm unittest suites in charts/<chart>/tests/*_test.yaml",
         M("helm unittest", "tests|_test.yaml"), ("c5",)),
    Fact("j.cw.fact.museum", "project_fact", "chartwell",
         "Charts are published after merge with helm cm-push to ChartMuseum at chartmuseum.internal.example",
         M("cm-push|ChartMuseum"), ("c3",), superseded_by="j.cw.sup.oci"),
    Fact("j.th.fact.prove", "project_fact", "tallyho",
         "Tests run with prove -Ilocal/lib/perl5 -lr t/ (the deps live in ./local)",
         M("-Ilocal/lib/perl5|PERL5LIB", "prove"), ("t1",)),
    Fact("j.th.fact.cron", "project_fact", "tallyho",
         "The nightly invoice run is the billing crontab entry 15 2 * * * for bin/run-invoices.sh (02:15 UTC)",
         M("run-invoices.sh", "02:15|15 2 * * *"), ("t3",), superseded_by="j.th.sup.timer"),
    Fact("j.pc.fact.shdict", "project_fact", "portcullis",
         "Per-route rate limits (limits.lua) use the lua_shared_dict ratelimit zone, keyed by client IP",
         M("lua_shared_dict|shared dict", "ratelimit"), ("p3",)),
    Fact("j.pc.fact.metrics", "project_fact", "portcullis",
         "Gateway Prometheus metrics are on port 9145 at /metrics",
         M("9145", "metrics"), ("p3",)),
    # failure -> fix, the fix a different command or an edit
    Fact("j.qs.ff.mvnw", "failure_fix", "quayside",
         "The enforcer's RequireMavenVersion fails with the system mvn 3.6.3: build with ./mvnw (Maven 3.9.6)",
         M("./mvnw"), ("q3",), link=M("enforcer|RequireMavenVersion")),
    Fact("j.qs.ff.podman", "failure_fix", "quayside",
         "Integration tests fail with 'Could not find a valid Docker environment': start podman.socket (systemctl --user enable --now podman.socket)",
         M("podman.socket"), ("q4",), link=M("Docker environment")),
    Fact("j.qs.ff.oom", "failure_fix", "quayside",
         "Pods OOMKilled with -Xmx1g in a 1Gi container: set -XX:MaxRAMPercentage=70 in values.yaml and helm upgrade (a restart does not help)",
         M("MaxRAMPercentage"), ("q2",), link=M("OOMKilled")),
    Fact("j.cw.ff.helm_diff", "failure_fix", "chartwell",
         "helm diff is an 'unknown command' until the plugin is installed: helm plugin install https://github.com/databus23/helm-diff",
         M("helm plugin install", "helm-diff"), ("c1",), link=M("unknown command")),
    Fact("j.cw.ff.pending", "failure_fix", "chartwell",
         "UPGRADE FAILED 'another operation is in progress' (a pending-upgrade revision): helm rollback to the last good revision, then upgrade",
         M("helm rollback|rollback"), ("c4",), link=M("another operation|in progress|pending-upgrade")),
    Fact("j.th.ff.cpanm", "failure_fix", "tallyho",
         "prove fails with Can't locate Text/CSV_XS.pm: cpanm -L local --installdeps . installs the cpanfile deps",
         M("cpanm", "--installdeps"), ("t1",), link=M("CSV_XS|Can't locate")),
    Fact("j.th.ff.libssl", "failure_fix", "tallyho",
         "Net::SSLeay fails to build (openssl/ssl.h missing): sudo apt-get install -y libssl-dev, then cpanm again",
         M("libssl-dev"), ("t2",), link=M("ssl.h|Net::SSLeay")),
    Fact("j.pc.ff.resolver", "failure_fix", "portcullis",
         "502s with 'no resolver defined to resolve' for a hostname upstream: add resolver 10.0.0.2 valid=30s to nginx.conf",
         M("resolver", "valid=30s|10.0.0.2"), ("p2",), link=M("no resolver defined")),
    Fact("j.pc.ff.nix", "failure_fix", "portcullis",
         "busted fails with module 'resty.core' not found: run it in the flake shell, nix develop .#gateway --command busted spec/",
         M("nix develop"), ("p1",), link=M("resty.core")),
    # the forgotten session's own facts (t5): stated nowhere else
    Fact("j.th.fact.bfround", "project_fact", "tallyho",
         "VAT is rounded in Tax.pm with Math::BigFloat bfround(-2)",
         M("bfround"), ("t5",)),
    Fact("j.th.rule.amount_minor", "project_rule", "tallyho",
         "Money is an integer amount_minor in cents; floats only when printing",
         M("amount_minor", "cents|integer"), ("t5",)),
    # superseding, stated in the later sessions
    Fact("j.qs.sup.prod_context", "superseding", "quayside",
         "Prod runs on the prd-euw1-blue kube context (gke-prd-euw1 is drained)",
         M("prd-euw1-blue", "prod|production"), ("q7",)),
    Fact("j.qs.sup.java21", "superseding", "quayside",
         "The image runs Java 21 (eclipse-temurin:21-jre)",
         M("temurin:21|Java 21|JDK 21"), ("q7",)),
    Fact("j.cw.sup.oci", "superseding", "chartwell",
         "Charts are published with helm push to oci://harbor.internal.example/charts",
         M("oci://harbor.internal.example/charts|helm push"), ("c6",)),
    Fact("j.th.sup.timer", "superseding", "tallyho",
         "The nightly invoice run is the systemd timer tallyho-invoices.timer at 03:30 UTC",
         M("tallyho-invoices.timer"), ("t7",)),
)

DISTRACTORS = (
    Distractor("j.d.pod", "transient", "a crash-looping pod's name",
               M("quayside-7d9f8b6c5-x2kqp"), ("q1",)),
    Distractor("j.d.incident", "transient", "a PagerDuty incident id",
               M("Q3XK9PLM2"), ("q1",)),
    Distractor("j.d.heapdump", "transient", "a heap dump copied to /tmp",
               M("heapdump-1733549.hprof"), ("q2",)),
    Distractor("j.d.pipeline", "transient", "one GitLab pipeline id",
               M("1184203"), ("c5",)),
    Distractor("j.d.customer", "transient", "one disputing customer's id",
               M("40917"), ("t6",)),
    Distractor("j.d.token", "secret", "a GitLab personal access token in .gitlab-ci.yml",
               M(GITLAB_TOKEN), ("c3",)),
    Distractor("j.d.coffee", "small_talk", "cold coffee during a page",
               M("coffee"), ("c4",)),
    Distractor("j.d.keyboard", "small_talk", "a kid on the keyboard",
               M("keyboard"), ("p4",)),
    Distractor("j.d.delete_pod", "rejected", "deleting the crashed pods (they hold the heap dumps)",
               M("delete pod"), ("q1",), negatable=True),
    Distractor("j.d.restart", "rejected", "restarting OpenResty instead of reloading it",
               M("systemctl restart openresty"), ("p2",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="j",
    how="an on-call engineer in incident mode and calm postmortems; knowledge from runbooks, CI files, crontab, systemd units and cluster output (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="t5",
    notes={
        "voice": "terse orders under pressure (pasted PagerDuty/Alertmanager alerts, dashboard numbers), corrections of the agent's idea of the environment, calm postmortem rules",
        "means": "kubectl/helm/journalctl/systemctl output, RUNBOOK.md, values.yaml, Jenkinsfile, .gitlab-ci.yml, crontab -l, systemd units, nginx.conf, flake.nix",
    },
)
