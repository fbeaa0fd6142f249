# Literal command output and the user's words keep their real line lengths.
# ruff: noqa: E501
"""Quality corpus N (held out): a developer who types in fast chat shorthand.

The user writes lowercase, with abbreviations and no punctuation ("pls", "thx", "nvm", "b4",
"rn", "u"), sends several short messages in a row per turn (one line each), drops an emoji now
and then, and pastes review comments. Knowledge comes from the code review the agent runs
(``gh pr view --comments``, ``gh pr diff``, ``gh pr checks``) and from the ``Makefile`` and
``justfile`` targets it reads. Four projects in stacks none of A–M leans on: a Zig CLI built
with ``zig build`` behind a justfile, a Terraform module repo with tflint, terraform-docs and
Terratest behind a Makefile, a Gleam web service on the BEAM with squirrel and Postgres behind
a justfile, and a Kotlin Multiplatform library with Gradle behind a Makefile.

Written after A–M without reading their sessions or memoryd's extraction and consolidation
code, and never run through memoryd before it was committed.
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


def U(*lines: str) -> User:
    """Several short chat messages typed in a row, one per line, as one turn."""
    return User("\n".join(lines))


# fmt: off
HOME = "/home/tamsin"
PROJECTS = (
    Project("pikeline", f"{HOME}/src/pikeline", "https://github.com/tamsinr/pikeline.git"),
    Project("moorland", f"{HOME}/src/moorland", "https://github.com/moorland-infra/moorland.git"),
    Project("quince", f"{HOME}/src/quince", "https://github.com/quince-app/quince.git"),
    Project("ternkit", f"{HOME}/src/ternkit", "https://github.com/ternkit/ternkit.git", "develop"),
)
WEBHOOK = "https://hooks.slack.com/services/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"

# -- pikeline: a Zig CLI that splits and filters log lines, driven through a justfile

PK_JUSTFILE = """\
# pikeline tasks
default:
    @just --list

build:
    zig build

test:
    zig build test --summary all

release:
    zig build -Doptimize=ReleaseSafe -Dtarget=x86_64-linux-musl

golden:
    zig build run-golden -- --update testdata/golden

fmt:
    zig fmt src build.zig"""

PK1 = Session("pk1", "pikeline", 20.4, (
    U("hey", "pikeline needs a --max-bytes flag on split", "tests go thru just test, dont call zig build test directly", "keep replies short pls, bullets not paragraphs"),
    Sh("cat justfile", PK_JUSTFILE),
    Sh("cat build.zig.zon", '.{\n    .name = "pikeline",\n    .version = "0.6.2",\n    .minimum_zig_version = "0.13.0",\n    .dependencies = .{\n        .clap = .{\n            .url = "git+https://github.com/Hejsil/zig-clap#0.9.1",\n            .hash = "122062d301a203d003547b414237229b09a7980095061697349f8bef41be9c30266b",\n        },\n    },\n    .paths = .{ "build.zig", "build.zig.zon", "src", "testdata" },\n}'),
    Sh("rg -n 'max-lines' src/", "src/cli.zig:41:    \\\\--max-lines <usize>   split after N lines\nsrc/split.zig:18:pub fn splitByLines(reader: anytype, max: usize, sink: *Sink) !void {"),
    Patch("*** Update File: src/cli.zig\n@@\n     \\\\--max-lines <usize>   split after N lines\n+    \\\\--max-bytes <usize>   split after N bytes\n*** Update File: src/split.zig\n@@\n+pub fn splitByBytes(reader: anytype, max: usize, sink: *Sink) !void {\n+    var count: usize = 0;\n+    while (try reader.readByte()) |b| {\n+        if (count == max) { try sink.next(); count = 0; }\n+        try sink.write(b);\n+        count += 1;\n+    }\n+}"),
    Sh("just test", "zig build test --summary all\nBuild Summary: 3/3 steps succeeded; 41/41 tests passed\ntest success\n+- run test 41 passed 212ms MaxRSS:3M", secs=6.2),
    Say("- added `--max-bytes` (src/cli.zig) + `splitByBytes` (src/split.zig)\n- `just test`: 41/41 pass\n- note: build.zig.zon sets `.minimum_zig_version = \"0.13.0\"`, so nothing newer than 0.13 std APIs"),
    U("nice", "ty"),
    Say("👍"),
))

PK2 = Session("pk2", "pikeline", 16.2, (
    U("pulled main and now zig build is borked", "can u look"),
    Sh("zig build", "/home/tamsin/src/pikeline/build.zig.zon:9:21: error: hash mismatch: manifest declares 122062d301a203d003547b414237229b09a7980095061697349f8bef41be9c30266b but the fetched package has 1220a77c5ce6d6fa1e9d4f0b8e2c2a0f63f1a3e5a6a9ffad1e1d3a09b8f0c1c5e2d4\n            .hash = \"122062d301a203d003547b414237229b09a7980095061697349f8bef41be9c30266b\",\n                    ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~", code=1, secs=3.4),
    Think("The clap tag was moved upstream; refetching with --save rewrites the hash in build.zig.zon."),
    Sh("zig fetch --save git+https://github.com/Hejsil/zig-clap#0.9.1", "info: resolved ref '0.9.1' to commit 0c4c6ab8e0a46fc6d5f8a2d6b7c3fbe6e2f1b9d0\ninfo: updating build.zig.zon dependency 'clap'", secs=4.1),
    Sh("zig build", "", secs=9.8),
    Say("- `zig build` failed with `hash mismatch` on the clap dep (tag moved upstream)\n- fixed by `zig fetch --save git+https://github.com/Hejsil/zig-clap#0.9.1`, which rewrote the hash in build.zig.zon\n- build is green again"),
    U("ok commit + open a pr", "open prs as drafts, i flip them ready myself", "and rebase on main dont merge main in, i hate merge bubbles"),
    Sh("git fetch origin && git rebase origin/main", "Successfully rebased and updated refs/heads/fix-clap-hash."),
    Sh("git commit -am 'fix(deps): refresh zig-clap hash after upstream retag'", "[fix-clap-hash 3d1e0aa] fix(deps): refresh zig-clap hash after upstream retag\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Sh("gh pr create --draft --fill", "Creating draft pull request for fix-clap-hash into main in tamsinr/pikeline\n\nhttps://github.com/tamsinr/pikeline/pull/58"),
    Say("Rebased on origin/main (no merge commit) and opened draft PR #58."),
    U("cool", "whats the release target do again"),
    Sh("just --show release", "release:\n    zig build -Doptimize=ReleaseSafe -Dtarget=x86_64-linux-musl"),
    Say("`just release` builds with `-Doptimize=ReleaseSafe` for x86_64-linux-musl, so safety checks stay on in release binaries."),
))

PK3 = Session("pk3", "pikeline", 11.8, (
    U("pr 61 got review comments", "pls go thru them"),
    Sh("gh pr view 61 --comments", "feat: column filter (-c/--columns) #61\nDraft • tamsinr wants to merge 3 commits into main from column-filter\n\n  Adds a column filter to `pikeline cut`.\n\n——————— Review: changes requested ———————\nkveldulf • 2 days ago\n  src/columns.zig L88: please don't reach for std.heap.page_allocator in the hot loop.\n  The arena passed into run() is what allocations go through; page_allocator here\n  makes one syscall per line.\n\nkveldulf • 2 days ago\n  src/columns.zig L120: this table gets mangled by zig fmt, can we keep it aligned?"),
    Sh("gh pr diff 61 -- src/columns.zig", "@@ -85,6 +85,9 @@ pub fn run(arena: std.mem.Allocator, args: Args) !void {\n     for (lines) |line| {\n-        const cols = try splitCols(arena, line);\n+        const buf = try std.heap.page_allocator.alloc(u8, line.len);\n+        defer std.heap.page_allocator.free(buf);\n+        const cols = try splitColsInto(buf, line);"),
    Say("Two comments:\n1. page_allocator in the hot loop → switch to the `arena` passed into `run()`.\n2. the aligned table: I can wrap it in `// zig fmt: off` / `// zig fmt: on` so zig fmt leaves it alone."),
    U("1 yes", "2 nah dont do the zig fmt: off thing, just let fmt do its thing", "also fyi thats a rule here: hot paths allocate from the arena never page_allocator"),
    Patch("*** Update File: src/columns.zig\n@@\n-        const buf = try std.heap.page_allocator.alloc(u8, line.len);\n-        defer std.heap.page_allocator.free(buf);\n+        const buf = try arena.alloc(u8, line.len);\n         const cols = try splitColsInto(buf, line);"),
    Sh("just fmt && just test", "zig fmt src build.zig\nsrc/columns.zig\nzig build test --summary all\nBuild Summary: 3/3 steps succeeded; 47/47 tests passed", secs=7.0),
    Sh("git commit -am 'perf(cut): allocate column buffers from the run arena' && git push", "[column-filter 9ab20c4] perf(cut): allocate column buffers from the run arena\n 1 file changed, 1 insertion(+), 2 deletions(-)\nTo github.com:tamsinr/pikeline.git\n   77f1d03..9ab20c4  column-filter -> column-filter"),
    U("is ci green", "check ci w gh pr checks b4 telling me its green, the badge lies"),
    Sh("gh pr checks 61", "Some checks are still pending\n0 cancelled, 0 failing, 2 successful, 0 skipped, and 1 pending checks\n\n   NAME            DESCRIPTION   ELAPSED  URL\n*  test (macos)                  1m12s    https://github.com/tamsinr/pikeline/actions/runs/12873409551/job/35890231107\n✓  test (linux)                  58s      https://github.com/tamsinr/pikeline/actions/runs/12873409551/job/35890230988\n✓  fmt                           9s       https://github.com/tamsinr/pikeline/actions/runs/12873409551/job/35890230870"),
    Say("`gh pr checks 61`: linux + fmt pass, macOS still running (run 12873409551). Not green yet."),
    U("k lmk"),
    Sh("gh pr checks 61 --watch --fail-fast", "✓  test (macos)   2m31s\n✓  test (linux)   58s\n✓  fmt            9s\nAll checks were successful", secs=88.0),
    Say("All 3 checks pass now."),
))

PK4 = Session("pk4", "pikeline", 7.3, (
    U("new laptop setup", "just test blows up on the zstd stuff"),
    Sh("just test", "zig build test --summary all\nerror: unable to find dynamic system library 'zstd' using strategy 'paths_first'. searched paths:\n  /usr/local/lib/libzstd.so\n  /usr/local/lib/libzstd.a\n  /usr/lib/x86_64-linux-gnu/libzstd.so\n  /usr/lib/x86_64-linux-gnu/libzstd.a\nerror: the following command failed with 1 compilation errors", code=1, secs=2.2),
    Sh("dpkg -l | grep zstd", "ii  libzstd1:amd64  1.5.5+dfsg2-2  amd64  fast lossless compression algorithm"),
    Say("Only the runtime lib is installed; the link step needs the headers/.so from the -dev package."),
    U("ok do it"),
    Sh("sudo apt-get install -y libzstd-dev", "Reading package lists... Done\nThe following NEW packages will be installed:\n  libzstd-dev\nSetting up libzstd-dev:amd64 (1.5.5+dfsg2-2) ...", secs=5.3),
    Sh("just test", "zig build test --summary all\nBuild Summary: 3/3 steps succeeded; 47/47 tests passed", secs=11.0),
    Say("- `just test` failed: unable to find dynamic system library 'zstd'\n- fix: `sudo apt-get install -y libzstd-dev` (the -dev package, not just libzstd1)\n- 47/47 pass now"),
    U("brb ramen 🍜"),
    U("back", "the golden files for cut r stale i think, where do those live again"),
    Sh("just --show golden", "golden:\n    zig build run-golden -- --update testdata/golden"),
    Sh("just golden && git status --short", "updated 3 files in testdata/golden\n M testdata/golden/cut_columns.out\n M testdata/golden/cut_tabs.out\n M testdata/golden/split_bytes.out", secs=3.1),
    Say("Golden outputs live in `testdata/golden/`; `just golden` regenerates them (3 changed). Want them in this commit?"),
    U("ya"),
))

PK5 = Session("pk5", "pikeline", 3.1, (
    U("quick one", "add a --version flag that prints the zon version"),
    Sh("rg -n 'version' build.zig", "build.zig:22:    options.addOption([]const u8, \"version\", \"0.6.2\");"),
    Patch("*** Update File: src/cli.zig\n@@\n+    \\\\-V, --version          print the version and exit\n@@\n+    if (res.args.version != 0) {\n+        try stdout.print(\"pikeline {s}\\n\", .{build_options.version});\n+        return;\n+    }"),
    Sh("just test", "zig build test --summary all\nBuild Summary: 3/3 steps succeeded; 49/49 tests passed", secs=10.4),
    Say("Added `-V/--version`, reading the version from build options. 49/49 pass."),
    U("lgtm ship it"),
    Sh("git commit -am 'feat(cli): add --version' && gh pr create --draft --fill", "[version-flag 51c0e2b] feat(cli): add --version\n 1 file changed, 5 insertions(+)\nhttps://github.com/tamsinr/pikeline/pull/64"),
    Say("Draft PR #64 is up."),
    U("checks?"),
    Sh("gh pr checks 64 --watch", "✓  test (macos)   2m18s\n✓  test (linux)   1m02s\n✓  fmt            8s\nAll checks were successful", secs=140.0),
    Say("`gh pr checks 64`: macOS, linux and fmt all pass."),
))

PK6 = Session("pk6", "pikeline", 1.2, (
    U("we moved to zig 0.14", "pls bump the zon + fix whatever breaks"),
    Sh("zig version", "0.14.0"),
    Sh("just test", "zig build test --summary all\nsrc/split.zig:21:27: error: no field or member function named 'readByte' in 'io.GenericReader'\n        while (try reader.readByte()) |b| {\n                   ~~~~~~^~~~~~~~~", code=1, secs=4.0),
    Patch("*** Update File: build.zig.zon\n@@\n-    .minimum_zig_version = \"0.13.0\",\n+    .minimum_zig_version = \"0.14.0\",\n*** Update File: src/split.zig\n@@\n-    while (try reader.readByte()) |b| {\n+    while (reader.readByte()) |b| {\n@@\n+    } else |err| switch (err) {\n+        error.EndOfStream => {},\n+        else => return err,\n+    }"),
    Sh("just test", "zig build test --summary all\nBuild Summary: 3/3 steps succeeded; 49/49 tests passed", secs=12.2),
    Say("- build.zig.zon: `.minimum_zig_version` is now \"0.14.0\" (was 0.13.0)\n- readByte now returns an error union at end of stream; split.zig handles EndOfStream\n- 49/49 pass on 0.14.0"),
    U("🚀 ty"),
), later=True)

# -- moorland: Terraform modules for AWS, everything through the Makefile

MO_MAKEFILE = """\
.PHONY: fmt validate lint docs test check

fmt:
\tterraform fmt -recursive

validate:
\tfor d in modules/*/; do terraform -chdir=$$d validate || exit 1; done

lint:
\ttflint --recursive --config $(CURDIR)/.tflint.hcl

docs:
\tfor d in modules/*/; do terraform-docs markdown table --output-file README.md $$d; done

test:
\tcd test && go test -v -timeout 45m ./...

check: fmt validate lint"""

MO1 = Session("mo1", "moorland", 19.6, (
    U("yo", "add a log bucket option to modules/alb", "plan only, no terraform apply from this box ever", "commit msgs conventional commits style pls (feat: fix: chore:)"),
    Sh("cat Makefile", MO_MAKEFILE),
    Sh("cat modules/alb/versions.tf", 'terraform {\n  required_version = ">= 1.6"\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n      version = "~> 5.40"\n    }\n  }\n}'),
    Patch("*** Update File: modules/alb/variables.tf\n@@\n+variable \"access_logs_bucket\" {\n+  description = \"S3 bucket for ALB access logs; null disables them\"\n+  type        = string\n+  default     = null\n+}\n*** Update File: modules/alb/main.tf\n@@\n+  dynamic \"access_logs\" {\n+    for_each = var.access_logs_bucket == null ? [] : [1]\n+    content {\n+      bucket  = var.access_logs_bucket\n+      enabled = true\n+    }\n+  }"),
    Sh("make validate", "for d in modules/*/; do terraform -chdir=$d validate || exit 1; done\n╷\n│ Error: Module not installed\n│ \n│   on main.tf line 12:\n│   12: module \"labels\" {\n│ \n│ This module is not yet installed. Run \"terraform init\" to install all modules required by this configuration.\n╵\nmake: *** [Makefile:7: validate] Error 1", code=2, secs=2.6),
    Think("init without a backend so no state or credentials are touched."),
    Sh("for d in modules/*/; do terraform -chdir=$d init -backend=false -input=false >/dev/null || exit 1; done", "", secs=14.8),
    Sh("make validate", "for d in modules/*/; do terraform -chdir=$d validate || exit 1; done\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.", secs=4.1),
    Say("- `make validate` failed: `Module not installed`\n- fix: `terraform init -backend=false` in each module (no backend, no creds), then validate passes\n- modules pin the aws provider at `~> 5.40` (versions.tf)"),
    U("ok commit"),
    Sh("git commit -am 'feat(alb): optional access_logs_bucket'", "[alb-access-logs 4c0a9e1] feat(alb): optional access_logs_bucket\n 2 files changed, 13 insertions(+)"),
    Say("Committed as `feat(alb): optional access_logs_bucket`."),
))

MO2 = Session("mo2", "moorland", 15.1, (
    U("pr 212 has comments from priya", "address them", "dont resolve the threads urself tho, reply + leave them for her to resolve"),
    Sh("gh pr view 212 --comments", "feat(alb): optional access_logs_bucket #212\nOpen • tamsinr wants to merge 1 commit into main from alb-access-logs\n\n——————— Review: changes requested ———————\npriya-ops • 1 day ago\n  modules/alb/README.md: the inputs table is missing access_logs_bucket.\n  Please run `make docs` every time you touch a variables.tf, CI diffs the README\n  and fails otherwise.\n\npriya-ops • 1 day ago\n  modules/alb/main.tf L40: nit, put the dynamic block after the listener."),
    Sh("make docs", "for d in modules/*/; do terraform-docs markdown table --output-file README.md $d; done\nmodules/alb/README.md updated successfully\nmodules/s3-bucket/README.md updated successfully\nmodules/vpc/README.md updated successfully", secs=3.3),
    Sh("gh pr diff 212 -- modules/alb/README.md | head -20", "@@ -31,6 +31,7 @@\n <!-- BEGIN_TF_DOCS -->\n ## Inputs\n \n | Name | Description | Type | Default | Required |\n |------|-------------|------|---------|:--------:|\n+| <a name=\"input_access_logs_bucket\"></a> [access\\_logs\\_bucket](#input\\_access\\_logs\\_bucket) | S3 bucket for ALB access logs; null disables them | `string` | `null` | no |"),
    Say("terraform-docs writes the inputs table between the `<!-- BEGIN_TF_DOCS -->` / `END_TF_DOCS` markers in each module's README; `make docs` regenerated it."),
    Patch("*** Update File: modules/alb/main.tf\n@@\n-  dynamic \"access_logs\" {\n-    for_each = var.access_logs_bucket == null ? [] : [1]\n-    content {\n-      bucket  = var.access_logs_bucket\n-      enabled = true\n-    }\n-  }\n   listener {\n@@\n   }\n+\n+  dynamic \"access_logs\" {\n+    for_each = var.access_logs_bucket == null ? [] : [1]\n+    content {\n+      bucket  = var.access_logs_bucket\n+      enabled = true\n+    }\n+  }"),
    Sh("git commit -am 'docs(alb): regenerate README inputs; move access_logs after listener' && git push", "[alb-access-logs 7e21bd3] docs(alb): regenerate README inputs; move access_logs after listener\n 4 files changed, 12 insertions(+), 8 deletions(-)\nTo github.com:moorland-infra/moorland.git\n   4c0a9e1..7e21bd3  alb-access-logs -> alb-access-logs"),
    Sh("gh pr comment 212 --body 'ran make docs + moved the block, thanks'", "https://github.com/moorland-infra/moorland/pull/212#issuecomment-2561094833"),
    Say("Pushed both fixes and replied on the PR; threads left open for priya-ops to resolve."),
    U("👌"),
))

MO3 = Session("mo3", "moorland", 10.4, (
    U("make check plz", "about to push the vpc change"),
    Sh("make check", "terraform fmt -recursive\nfor d in modules/*/; do terraform -chdir=$d validate || exit 1; done\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\ntflint --recursive --config /home/tamsin/src/moorland/.tflint.hcl\nFailed to initialize plugins; Plugin `aws` not found. Did you run `tflint --init`?\nmake: *** [Makefile:10: lint] Error 1", code=2, secs=6.4),
    Sh("tflint --init --config .tflint.hcl", "Installing \"aws\" plugin...\nInstalled \"aws\" (source: github.com/terraform-linters/tflint-ruleset-aws, version: 0.31.0)", secs=5.2),
    Sh("make check", "terraform fmt -recursive\nfor d in modules/*/; do terraform -chdir=$d validate || exit 1; done\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\ntflint --recursive --config /home/tamsin/src/moorland/.tflint.hcl\n1 issue(s) found:\n\nWarning: \"t2.micro\" is previous generation instance type. (aws_instance_previous_type)\n\n  on modules/vpc/nat.tf line 14:", code=2, secs=7.9),
    Patch("*** Update File: modules/vpc/nat.tf\n@@\n-  instance_type = \"t2.micro\"\n+  instance_type = \"t3.micro\""),
    Sh("make check", "terraform fmt -recursive\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\ntflint --recursive --config /home/tamsin/src/moorland/.tflint.hcl", secs=7.4),
    Say("- lint failed: `Plugin aws not found` → `tflint --init` installed the aws ruleset plugin (0.31.0)\n- then tflint flagged t2.micro as previous generation → t3.micro in modules/vpc/nat.tf\n- `make check` clean"),
    U("sick", "how long do the terratest ones take, do i run em"),
    Sh("grep -A1 '^test:' Makefile && ls test/", "test:\n\tcd test && go test -v -timeout 45m ./...\nalb_test.go\ngo.mod\ngo.sum\ns3_bucket_test.go\nvpc_test.go"),
    Say("`make test` runs the Terratest suite in `test/` with `go test -timeout 45m`; it creates real AWS resources, so it's the slow CI job, not something to run from here."),
    U("ya skip it then"),
))

MO4 = Session("mo4", "moorland", 6.2, (
    U("s3-bucket module shows tag drift in the plan", "pls look"),
    Sh("cd examples/s3-bucket && terraform plan -lock-timeout=10s", "Acquiring state lock. This may take a few moments...\n╷\n│ Error: Error acquiring the state lock\n│ \n│ Lock Info:\n│   ID:        9b1f3c2a-6d4e-4a57-8c1b-2e7f0d9a4b61\n│   Path:      moorland-tfstate/examples/s3-bucket.tfstate\n│   Operation: OperationTypePlan\n│   Who:       tamsin@thinkpad\n╵", code=1, secs=11.5),
    U("thats my other terminal lol", "closed it"),
    Sh("cd examples/s3-bucket && terraform plan -lock-timeout=10s", "  # module.bucket.aws_s3_bucket.this will be updated in-place\n  ~ resource \"aws_s3_bucket\" \"this\" {\n      ~ tags     = {\n          - \"CostCenter\" = \"infra\" -> null\n        }\n      ~ tags_all = {\n          ~ \"CostCenter\" = \"infra\" -> \"platform\"\n        }\n    }\n\nPlan: 0 to add, 1 to change, 0 to destroy.", secs=18.2),
    Say("The drift is CostCenter: the provider's default_tags say platform, the bucket has infra. Quickest is `lifecycle { ignore_changes = [tags] }` on the bucket."),
    U("no dont ignore_changes", "fix it properly, the module shouldnt set CostCenter itself"),
    Patch("*** Update File: modules/s3-bucket/main.tf\n@@\n-  tags = merge(var.tags, { CostCenter = \"infra\" })\n+  tags = var.tags"),
    Sh("cd examples/s3-bucket && terraform plan -lock-timeout=10s", "No changes. Your infrastructure matches the configuration.", secs=16.0),
    Say("Removed the hard-coded CostCenter from modules/s3-bucket; the plan shows no changes."),
    U("👍 commit, fix: prefix"),
    Sh("git commit -am 'fix(s3-bucket): let default_tags own CostCenter'", "[s3-tags 0f3ee71] fix(s3-bucket): let default_tags own CostCenter\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
))

MO5 = Session("mo5", "moorland", 2.4, (
    U("new module for sns alerts → slack", "webhook for testing is export TF_VAR_alert_webhook=" + WEBHOOK, "dont commit it obv"),
    Sh("ls modules/", "alb\ns3-bucket\nvpc"),
    Patch("*** Add File: modules/alerts/main.tf\n+resource \"aws_sns_topic\" \"this\" {\n+  name = var.name\n+}\n+\n+resource \"aws_sns_topic_subscription\" \"slack\" {\n+  topic_arn = aws_sns_topic.this.arn\n+  protocol  = \"https\"\n+  endpoint  = var.alert_webhook\n+}\n*** Add File: modules/alerts/variables.tf\n+variable \"name\" {\n+  type = string\n+}\n+\n+variable \"alert_webhook\" {\n+  type      = string\n+  sensitive = true\n+}"),
    Sh("cp modules/alb/versions.tf modules/alerts/ && make docs && make check", "modules/alb/README.md updated successfully\nmodules/alerts/README.md updated successfully\nmodules/s3-bucket/README.md updated successfully\nmodules/vpc/README.md updated successfully\nterraform fmt -recursive\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\ntflint --recursive --config /home/tamsin/src/moorland/.tflint.hcl", secs=12.0),
    Say("Added modules/alerts (SNS topic + https subscription, webhook variable marked sensitive), README generated, `make check` clean. The webhook stays in your shell env only."),
    U("ty"),
))

MO6 = Session("mo6", "moorland", 0.9, (
    U("renovate pr 240 is the aws provider 6 bump", "we're on ~> 6.0 now, take it over + fix whatever it missed"),
    Sh("gh pr view 240", "chore(deps): update terraform aws to v6 #240\nOpen • renovate wants to merge 1 commit into main from renovate/aws-6.x\n\n  This PR contains the following updates:\n  | Package | Type | Update | Change |\n  | aws (source) | required_provider | major | ~> 5.40 -> ~> 6.0 |\n\n  Only modules/alb/versions.tf was updated: 3 other files match but are excluded by packageRules."),
    Sh("gh pr checkout 240 && rg -l '~> 5.40' modules/", "modules/alerts/versions.tf\nmodules/s3-bucket/versions.tf\nmodules/vpc/versions.tf"),
    Sh("sed -i 's/~> 5.40/~> 6.0/' modules/*/versions.tf && for d in modules/*/; do terraform -chdir=$d init -backend=false -upgrade -input=false >/dev/null; done && make check", "terraform fmt -recursive\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\nSuccess! The configuration is valid.\ntflint --recursive --config /home/tamsin/src/moorland/.tflint.hcl", secs=41.0),
    Say("Renovate only bumped alb; alerts, s3-bucket and vpc were still on `~> 5.40`. All four modules now require the aws provider `~> 6.0`; `make check` passes."),
    U("lgtm"),
), later=True)

# -- quince: a Gleam web service (wisp + mist) on Postgres, driven through a justfile

QU_JUSTFILE = """\
set dotenv-load

default:
    @just --list

db:
    docker compose up -d db

test:
    gleam test

sql:
    gleam run -m squirrel

migrate:
    dbmate --migrations-dir priv/migrations up

dev:
    gleam run"""

QU1 = Session("qu1", "quince", 18.7, (
    U("hiii", "new repo for me, quince", "can u get the tests running", "show me the diff b4 u commit anything"),
    Sh("cat justfile", QU_JUSTFILE),
    Sh("cat .env.example", "QUINCE_DB_URL=postgres://quince:quince@127.0.0.1:55432/quince_dev\nQUINCE_SECRET_KEY_BASE=change-me"),
    Sh("just test", "gleam test\n  Compiling quince\n   Compiled in 2.41s\n    Running quince_test.main\nF\nFailures:\n\n  1) quince/store_test.insert_order_test: module 'quince/store_test'\n     Error: {pgo_error, {connection_refused, econnrefused}}\n     at quince/store.gleam:31\n\nFinished in 0.212 seconds\n14 tests, 1 failures", code=1, secs=4.8),
    Sh("cp .env.example .env && docker compose up -d db", "[+] Running 2/2\n ✔ Network quince_default  Created\n ✔ Container quince-db-1   Started", secs=6.6),
    Sh("just test", "gleam test\n   Compiled in 0.08s\n    Running quince_test.main\n..............\nFinished in 0.331 seconds\n14 tests, 0 failures", secs=3.9),
    Say("- tests read `QUINCE_DB_URL` (from .env via `set dotenv-load`); the test db is Postgres on 127.0.0.1:55432\n- first run failed with `econnrefused` → `docker compose up -d db` (= `just db`) started it\n- 14/14 pass; no code changes, so nothing to diff"),
    U("oh nice", "ty 🙏"),
))

QU2 = Session("qu2", "quince", 13.9, (
    U("pr 19 review", "fix whats asked, reply on each, but leave resolving to the reviewer", "thats how i want review threads done everywhere fyi"),
    Sh("gh pr view 19 --comments", "Add order listing endpoint #19\nOpen • tamsinr wants to merge 2 commits into main from list-orders\n\n——————— Review: changes requested ———————\nmbeki • 3 hours ago\n  src/quince/sql.gleam: this file is generated by squirrel from src/quince/sql/*.sql —\n  please don't hand-edit it. Change the .sql file and run `just sql` (gleam run -m squirrel).\n\nmbeki • 3 hours ago\n  src/quince/web/orders.gleam L22: limit should be capped at 100."),
    Sh("gh pr diff 19 --name-only", "src/quince/sql.gleam\nsrc/quince/web/orders.gleam\ntest/quince/orders_test.gleam"),
    Sh("git diff main -- src/quince/sql.gleam | head -8", "@@ -88,6 +88,12 @@ pub fn list_orders(db, limit) {\n+  let sql = \"select id, total_cents from orders order by id desc limit $1\"\n+  pgo.execute(sql, db, [pgo.int(limit)], decoder)"),
    Patch("*** Add File: src/quince/sql/list_orders.sql\n+-- list the newest orders\n+select id, total_cents from orders order by id desc limit $1;\n*** Update File: src/quince/web/orders.gleam\n@@\n-  let limit = query_int(req, \"limit\", 20)\n+  let limit = int.min(query_int(req, \"limit\", 20), 100)"),
    Sh("git checkout main -- src/quince/sql.gleam && just sql", "gleam run -m squirrel\n   Compiled in 1.12s\n    Running squirrel.main\n🐿️ Generated 6 queries in src/quince/sql.gleam", secs=5.0),
    Sh("just test", "gleam test\n    Running quince_test.main\n................\n16 tests, 0 failures", secs=4.2),
    Sh("git diff --stat", " src/quince/sql.gleam               | 24 ++++++++++++++++++++++++\n src/quince/sql/list_orders.sql     |  2 ++\n src/quince/web/orders.gleam        |  2 +-\n 3 files changed, 27 insertions(+), 1 deletion(-)"),
    Say("Diff before committing:\n- the query now lives in src/quince/sql/list_orders.sql and `just sql` regenerated src/quince/sql.gleam (generated by squirrel, not hand-edited)\n- limit capped at 100\n- 16/16 pass\nOK to commit + reply on both threads (not resolving them)?"),
    U("ya go"),
    Sh("git commit -am 'Generate list_orders via squirrel; cap limit at 100' && git push && gh pr comment 19 --body 'moved the query to sql/list_orders.sql + regenerated; limit capped at 100'", "[list-orders 2b7c5d1] Generate list_orders via squirrel; cap limit at 100\nTo github.com:quince-app/quince.git\n   e91a0c2..2b7c5d1  list-orders -> list-orders\nhttps://github.com/quince-app/quince/pull/19#issuecomment-2549921070"),
    Say("Pushed and replied; both threads left for mbeki to resolve."),
))

QU3 = Session("qu3", "quince", 9.5, (
    U("switched to the refunds branch", "gleam build is yelling about modules that def exist"),
    Sh("gleam build", "  Compiling quince\nerror: Unknown module\n   ┌─ /home/tamsin/src/quince/src/quince/refunds.gleam:3:1\n   │\n 3 │ import quince/money\n   │ ^^^^^^^^^^^^^^^^^^^\n\nNo module has been found with the name `quince/money`.", code=1, secs=2.9),
    Sh("ls src/quince/money.gleam", "src/quince/money.gleam"),
    Think("The file is there; the build cache still has the other branch's module graph."),
    Sh("gleam clean", "", secs=0.4),
    Sh("gleam build", "  Compiling gleam_stdlib\n  Compiling gleam_pgo\n  Compiling wisp\n  Compiling quince\n   Compiled in 18.70s", secs=19.1),
    Say("- `Unknown module quince/money` although the file exists: stale build/ cache after the branch switch\n- `gleam clean` then `gleam build` compiles fine"),
    U("ahh ok", "also need the refunds table", "how do migrations work here"),
    Sh("just --show migrate && ls priv/migrations", "migrate:\n    dbmate --migrations-dir priv/migrations up\n20241102093011_create_orders.sql\n20241118140522_add_order_status.sql"),
    Sh("dbmate --migrations-dir priv/migrations new create_refunds", "Creating migration: priv/migrations/20241210101544_create_refunds.sql"),
    Patch("*** Update File: priv/migrations/20241210101544_create_refunds.sql\n@@\n -- migrate:up\n+create table refunds (\n+  id bigserial primary key,\n+  order_id bigint not null references orders(id),\n+  amount_cents integer not null check (amount_cents > 0)\n+);\n -- migrate:down\n+drop table refunds;"),
    Sh("just migrate", "dbmate --migrations-dir priv/migrations up\nApplying: 20241210101544_create_refunds.sql\nApplied: 20241210101544_create_refunds.sql in 9.81ms", secs=1.1),
    Say("Migrations are plain SQL in `priv/migrations`, applied by `just migrate` (dbmate up). refunds table created."),
    U("gg"),
))

QU4 = Session("qu4", "quince", 5.6, (
    U("want live reload for just dev", "theres a watch recipe someone added"),
    Sh("just --list", "Available recipes:\n    db\n    default\n    dev\n    migrate\n    sql\n    test\n    watch # rebuild + restart on save"),
    Sh("just --show watch", "# rebuild + restart on save\nwatch:\n    while inotifywait -qr -e modify src; do just dev; done"),
    Sh("just watch", "sh: 1: inotifywait: command not found\nerror: Recipe `watch` failed on line 21 with exit code 127", code=127, secs=0.3),
    Sh("sudo apt-get install -y inotify-tools", "Reading package lists... Done\nThe following NEW packages will be installed:\n  inotify-tools libinotifytools0\nSetting up inotify-tools (3.22.6.0-4) ...", secs=4.4),
    Sh("grep -n 'PORT' src/quince.gleam", "12:  let port = envoy.get(\"PORT\") |> result.then(int.parse) |> result.unwrap(8042)"),
    Sh("timeout 5 just watch", "  Compiling quince\n   Compiled in 1.92s\n    Running quince.main\nINFO Listening on http://127.0.0.1:8042", code=124, secs=5.0),
    Say("- `just watch` needs inotifywait: `sudo apt-get install -y inotify-tools` fixed the `command not found`\n- `just dev` serves on PORT, default 8042 (src/quince.gleam)\n- watch now rebuilds and restarts on save"),
    U("noice"),
))

QU5 = Session("qu5", "quince", 2.1, (
    U("tests hang forever now", "smth stuck?"),
    Sh("pgrep -af beam.smp", "48213 /usr/lib/erlang/erts-15.1.2/bin/beam.smp -- -root /usr/lib/erlang -progname erl -- -noshell -eval quince_test:main()"),
    U("ya kill it"),
    Sh("kill 48213 && just test", "gleam test\n    Running quince_test.main\n..................\n18 tests, 0 failures", secs=4.0),
    Say("Killed the leftover test VM; 18/18 pass."),
    U("ty", "what otp r we on btw"),
    Sh("cat .tool-versions", "gleam 1.6.3\nerlang 27.1.2\nrebar 3.24.0"),
    Say("`.tool-versions` pins erlang 27.1.2 and gleam 1.6.3."),
))
QU7 = Session("qu7", "quince", 11.9, (
    U("ci red on pr 23", "whats up w it"),
    Sh("gh pr checks 23", "Some checks were not successful\n1 failing, 1 successful, 0 skipped, and 0 pending checks\n\n   NAME    DESCRIPTION  ELAPSED  URL\nX  format               14s      https://github.com/quince-app/quince/actions/runs/12655018472/job/35268103394\n✓  test                 1m09s    https://github.com/quince-app/quince/actions/runs/12655018472/job/35268103277"),
    Sh("gleam format --check src test", "src/quince/web/refunds.gleam\nerror: These files have not been formatted", code=1, secs=0.6),
    Sh("gleam format src test", "", secs=0.5),
    Sh("git diff --stat", " src/quince/web/refunds.gleam | 6 +++---\n 1 file changed, 3 insertions(+), 3 deletions(-)"),
    Say("- the `format` job runs `gleam format --check`, which said refunds.gleam has not been formatted\n- `gleam format src test` fixed it (3 lines); diff above, ok to commit?"),
    U("ya", "also pls look at the review while ur there"),
    Sh("gh pr view 23 --comments", "Refund endpoint #23\nOpen • tamsinr wants to merge 3 commits into main from refunds\n\n——————— Review: commented ———————\nmbeki • 1 hour ago\n  src/quince/web/refunds.gleam L31: no io.println in request handlers please,\n  log through wisp.log_info / wisp.log_error so it ends up in the structured logs."),
    Patch("*** Update File: src/quince/web/refunds.gleam\n@@\n-  io.println(\"refund created \" <> int.to_string(id))\n+  wisp.log_info(\"refund created \" <> int.to_string(id))"),
    Sh("gleam format --check src test && just test", "gleam test\n    Running quince_test.main\n.................\n17 tests, 0 failures", secs=4.6),
    Sh("git commit -am 'Format refunds handler; log through wisp' && git push", "[refunds 0c61a7e] Format refunds handler; log through wisp\n 1 file changed, 4 insertions(+), 4 deletions(-)\nTo github.com:quince-app/quince.git\n   f1d2e3a..0c61a7e  refunds -> refunds"),
    Say("Formatted, swapped io.println for wisp.log_info in the handler, tests 17/17, pushed."),
    U("🙌"),
))


QU6 = Session("qu6", "quince", 1.4, (
    U("we dropped dbmate", "migrations r cigogne now, its merged in main", "pls redo the justfile migrate recipe"),
    Sh("git log --oneline -3 -- priv/migrations gleam.toml", "a77c2e0 chore: move migrations to cigogne\n5e1b9c4 feat: refunds table\nd0c3e12 feat: order status"),
    Sh("grep -n cigogne gleam.toml", "14:cigogne = \">= 4.0.0 and < 5.0.0\""),
    Patch("*** Update File: justfile\n@@\n migrate:\n-    dbmate --migrations-dir priv/migrations up\n+    gleam run -m cigogne all"),
    Sh("just migrate", "gleam run -m cigogne all\n   Compiled in 0.51s\n    Running cigogne.main\nApplying migration 20241210101544-create_refunds... already applied\nAll migrations are applied.", secs=2.2),
    Say("`just migrate` now runs `gleam run -m cigogne all`; dbmate is gone from the justfile."),
    U("👍"),
), later=True)

# -- ternkit: a Kotlin Multiplatform library (JVM, JS, iOS), Gradle behind a Makefile

TK_MAKEFILE = """\
GRADLE := ./gradlew --console=plain

.PHONY: check test-jvm test-ios api publish

check:
\t$(GRADLE) check apiCheck

test-jvm:
\t$(GRADLE) :core:jvmTest

test-ios:
\t$(GRADLE) :core:iosSimulatorArm64Test

api:
\t$(GRADLE) apiDump

publish:
\t$(GRADLE) publishAndReleaseToMavenCentral --no-configuration-cache"""

TK1 = Session("tk1", "ternkit", 17.8, (
    U("sup", "ternkit: add a Duration.toIsoString() ext in core", "no emoji in commit msgs tho lol 😅"),
    Sh("cat Makefile", TK_MAKEFILE),
    Sh("grep -n '^kotlin\\|^agp\\|^datetime' gradle/libs.versions.toml", "3:kotlin = \"2.0.21\"\n4:agp = \"8.7.2\"\n7:datetime = \"0.6.1\""),
    Patch("*** Add File: core/src/commonMain/kotlin/dev/ternkit/core/DurationIso.kt\n+package dev.ternkit.core\n+\n+import kotlin.time.Duration\n+\n+public fun Duration.toIsoString(): String = toIsoString()\n*** Add File: core/src/commonTest/kotlin/dev/ternkit/core/DurationIsoTest.kt\n+package dev.ternkit.core\n+\n+import kotlin.test.Test\n+import kotlin.test.assertEquals\n+import kotlin.time.Duration.Companion.minutes\n+\n+class DurationIsoTest {\n+    @Test fun ninetyMinutes() = assertEquals(\"PT1H30M\", 90.minutes.toIsoString())\n+}"),
    Sh("make test-jvm", "./gradlew --console=plain :core:jvmTest\n> Task :core:compileKotlinJvm\nw: core/src/commonMain/kotlin/dev/ternkit/core/DurationIso.kt:5:54 Extension is shadowed by a member: public final fun toIsoString(): String\n> Task :core:jvmTest\nBUILD SUCCESSFUL in 38s", secs=38.0),
    Say("kotlin.time.Duration already has `toIsoString()` as a member, so the extension is shadowed (warning) and useless. Drop it?"),
    U("lol yes drop it", "nvm the whole thing"),
    Patch("*** Delete File: core/src/commonMain/kotlin/dev/ternkit/core/DurationIso.kt\n*** Delete File: core/src/commonTest/kotlin/dev/ternkit/core/DurationIsoTest.kt"),
    Say("Dropped. FYI: Kotlin is 2.0.21 here (gradle/libs.versions.toml); iOS tests are `make test-ios` → `./gradlew :core:iosSimulatorArm64Test`."),
))

TK2 = Session("tk2", "ternkit", 14.3, (
    U("ios tests pls", "then rebase my branch on develop, no merge commits"),
    Sh("make test-ios", "./gradlew --console=plain :core:iosSimulatorArm64Test\n> Task :core:linkDebugTestIosSimulatorArm64\n> Task :core:iosSimulatorArm64Test FAILED\nxcrun: error: unable to find utility \"simctl\", not a developer tool or in PATH\n\nFAILURE: Build failed with an exception.\n* What went wrong:\nExecution failed for task ':core:iosSimulatorArm64Test'.\n> Process 'command 'xcrun'' finished with non-zero exit value 72", code=2, secs=61.0),
    Sh("xcode-select -p", "/Library/Developer/CommandLineTools"),
    Say("xcode-select points at the Command Line Tools, which have no simctl. Switching it to the full Xcode needs sudo: `sudo xcode-select -s /Applications/Xcode.app/Contents/Developer`."),
    U("ok do it"),
    Sh("sudo xcode-select -s /Applications/Xcode.app/Contents/Developer", ""),
    Sh("make test-ios", "./gradlew --console=plain :core:iosSimulatorArm64Test\n> Task :core:iosSimulatorArm64Test\nBUILD SUCCESSFUL in 1m 47s", secs=107.0),
    Sh("git fetch origin && git rebase origin/develop", "Successfully rebased and updated refs/heads/parse-offsets."),
    Sh("make check", "./gradlew --console=plain check apiCheck\n> Task :core:apiCheck FAILED\n\nFAILURE: Build failed with an exception.\n* What went wrong:\nExecution failed for task ':core:apiCheck'.\n> API check failed for project core.\n  --- core/api/core.api\n  +++ core/build/api/core.api\n  +	public static final fun parseOffset (Ljava/lang/String;)Ldev/ternkit/core/Offset;\n  You can run :core:apiDump task to overwrite API declarations", code=2, secs=72.0),
    Say("apiCheck fails: the branch adds public `parseOffset` and core/api/core.api wasn't updated. `make api` (apiDump) rewrites it; want that?"),
    U("ya", "thats the rule btw, any public api change = apiDump + commit the .api file in the same pr"),
    Sh("make api && make check", "./gradlew --console=plain apiDump\nBUILD SUCCESSFUL in 21s\n./gradlew --console=plain check apiCheck\nBUILD SUCCESSFUL in 1m 12s", secs=93.0),
    Sh("git commit -am 'Update core.api for parseOffset' && git push --force-with-lease", "[parse-offsets c3d8e02] Update core.api for parseOffset\n 1 file changed, 1 insertion(+)\n + 1f9e4a0...c3d8e02 parse-offsets -> parse-offsets (forced update)"),
    Say("- iOS: `unable to find utility simctl` → fixed with `sudo xcode-select -s /Applications/Xcode.app/Contents/Developer`\n- rebased on origin/develop (no merge commit)\n- apiDump, core.api committed, `make check` green"),
))

TK3 = Session("tk3", "ternkit", 8.8, (
    U("pr 88 has review", "go"),
    Sh("gh pr view 88 --comments", "Add Offset.fromTimestamp #88\nOpen • tamsinr wants to merge 2 commits into develop from offset-ts\n\n——————— Review: changes requested ———————\nlukasz-w • 5 hours ago\n  core/src/commonMain/.../Offset.kt L14: commonMain can't import java.time — the JS and\n  iOS targets don't have it. Use kotlinx-datetime (Instant) in commonMain; java.time\n  only in jvmMain if you really need it."),
    Sh("gh pr diff 88 | grep '^+import'", "+import java.time.Instant"),
    Patch("*** Update File: core/src/commonMain/kotlin/dev/ternkit/core/Offset.kt\n@@\n-import java.time.Instant\n+import kotlinx.datetime.Instant\n@@\n-public fun Offset.Companion.fromTimestamp(ts: Instant): Offset = Offset(ts.toEpochMilli())\n+public fun Offset.Companion.fromTimestamp(ts: Instant): Offset = Offset(ts.toEpochMilliseconds())"),
    Sh("./gradlew --console=plain build", "> Task :kotlinStoreYarnLock FAILED\n\nFAILURE: Build failed with an exception.\n* What went wrong:\nExecution failed for task ':kotlinStoreYarnLock'.\n> Lock file was changed. Run the `kotlinUpgradeYarnLock` task to actualize lock file", code=1, secs=44.0),
    Sh("./gradlew --console=plain kotlinUpgradeYarnLock", "> Task :kotlinUpgradeYarnLock\nBUILD SUCCESSFUL in 9s", secs=9.3),
    Sh("./gradlew --console=plain build", "> Task :core:jsTest\n> Task :core:jvmTest\n> Task :core:apiCheck\nBUILD SUCCESSFUL in 2m 3s", secs=123.0),
    Say("- commonMain now uses kotlinx-datetime's Instant instead of java.time\n- build failed: `Lock file was changed` (kotlin-js-store/yarn.lock) → `./gradlew kotlinUpgradeYarnLock`, then build passes\n- pushed? not yet"),
    U("push", "then check ci w gh pr checks b4 u say its green pls, same as everywhere"),
    Sh("git commit -am 'Use kotlinx-datetime Instant in commonMain; refresh yarn.lock' && git push", "[offset-ts 8d0a51f] Use kotlinx-datetime Instant in commonMain; refresh yarn.lock\n 2 files changed, 9 insertions(+), 7 deletions(-)\nTo github.com:ternkit/ternkit.git\n   0a1c9d2..8d0a51f  offset-ts -> offset-ts"),
    Sh("gh pr checks 88 --watch", "✓  build (macos-14)    6m02s\n✓  build (ubuntu)      3m40s\nAll checks were successful", secs=362.0),
    Say("`gh pr checks 88`: both builds pass."),
))

TK4 = Session("tk4", "ternkit", 4.7, (
    U("gonna cut 0.9.0 soon", "full make check b4 anything pls"),
    Sh("make check", "./gradlew --console=plain check apiCheck\n> Task :core:compileKotlinIosSimulatorArm64\n\nException in thread \"Daemon worker\" java.lang.OutOfMemoryError: Java heap space\n\nFAILURE: Build failed with an exception.\n* What went wrong:\nGradle build daemon has been stopped: JVM garbage collector thrashing", code=1, secs=183.0),
    Sh("cat gradle.properties", "org.gradle.jvmargs=-Xmx2g -Dfile.encoding=UTF-8\nkotlin.code.style=official\nkotlin.mpp.enableCInteropCommonization=true"),
    U("sry my cat sat on the keyboard", "ignore whatever i just typed", "yeah bump the heap"),
    Patch("*** Update File: gradle.properties\n@@\n-org.gradle.jvmargs=-Xmx2g -Dfile.encoding=UTF-8\n+org.gradle.jvmargs=-Xmx4g -Dfile.encoding=UTF-8"),
    Sh("./gradlew --stop && make check", "Stopping Daemon(s)\n1 Daemon stopped\n./gradlew --console=plain check apiCheck\nBUILD SUCCESSFUL in 4m 11s", secs=251.0),
    Say("- `Java heap space` OOM in the iOS compile → raised `org.gradle.jvmargs` to `-Xmx4g` in gradle.properties\n- `make check` passes"),
    U("ok how does publishing work"),
    Sh("grep -A1 '^publish:' Makefile", "publish:\n\t$(GRADLE) publishAndReleaseToMavenCentral --no-configuration-cache"),
    Say("`make publish` runs `./gradlew publishAndReleaseToMavenCentral` (vanniktech plugin), which uploads and releases to Maven Central in one go, so it's the last step, after the tag."),
    U("k thx"),
))

TK5 = Session("tk5", "ternkit", 2.7, (
    U("tiny thing", "kdoc typo in Offset.kt 'miliseconds'"),
    Sh("rg -n 'miliseconds' core/src", "core/src/commonMain/kotlin/dev/ternkit/core/Offset.kt:8: * Offset in miliseconds since the epoch."),
    Patch("*** Update File: core/src/commonMain/kotlin/dev/ternkit/core/Offset.kt\n@@\n- * Offset in miliseconds since the epoch.\n+ * Offset in milliseconds since the epoch."),
    Sh("git commit -am 'docs: fix milliseconds typo in Offset kdoc'", "[develop 6a0e3f9] docs: fix milliseconds typo in Offset kdoc\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Say("Fixed and committed."),
    U("👍"),
))

TK6 = Session("tk6", "ternkit", 0.7, (
    U("kotlin bump pr 97 landed on develop", "pull + make sure everythings still fine"),
    Sh("gh pr view 97 --json title,state,mergedAt", "{\"mergedAt\":\"2026-12-06T14:02:11Z\",\"state\":\"MERGED\",\"title\":\"Bump Kotlin to 2.1.10\"}"),
    Sh("git pull --rebase && grep -n '^kotlin' gradle/libs.versions.toml", "Updating 6a0e3f9..b21c7d8\nFast-forward\n gradle/libs.versions.toml | 2 +-\n3:kotlin = \"2.1.10\""),
    Sh("make check", "./gradlew --console=plain check apiCheck\nBUILD SUCCESSFUL in 3m 55s", secs=235.0),
    Say("On Kotlin 2.1.10 now (libs.versions.toml, was 2.0.21); `make check` passes."),
    U("ty"),
), later=True)

TK7 = Session("tk7", "ternkit", 12.1, (
    U("getting a wall of errors after adding the Span class", "halp"),
    Sh("make test-jvm", "./gradlew --console=plain :core:jvmTest\n> Task :core:compileKotlinJvm FAILED\ne: core/src/commonMain/kotlin/dev/ternkit/core/Span.kt:3:1 Visibility must be specified in explicit API mode\ne: core/src/commonMain/kotlin/dev/ternkit/core/Span.kt:5:5 Visibility must be specified in explicit API mode\n\nFAILURE: Build failed with an exception.", code=2, secs=29.0),
    Sh("grep -n 'explicitApi' core/build.gradle.kts", "9:    explicitApi()"),
    Say("core/build.gradle.kts turns on `explicitApi()`, so every declaration needs `public` or `internal`. I could add `@file:Suppress(\"EXPLICIT_API_MODE\")`-style opt-outs, or just mark Span `public`."),
    U("nope no suppress stuff", "mark it public"),
    Patch("*** Update File: core/src/commonMain/kotlin/dev/ternkit/core/Span.kt\n@@\n-data class Span(val start: Offset, val end: Offset) {\n-    fun length(): Long = end.millis - start.millis\n+public data class Span(val start: Offset, val end: Offset) {\n+    public fun length(): Long = end.millis - start.millis"),
    Sh("make test-jvm && make api", "./gradlew --console=plain :core:jvmTest\nBUILD SUCCESSFUL in 41s\n./gradlew --console=plain apiDump\nBUILD SUCCESSFUL in 17s", secs=58.0),
    Say("Span is `public` now (explicit API mode in core), jvm tests pass and core.api is updated via apiDump."),
    U("ty"),
))

SESSIONS = (
    PK1, MO1, QU1, TK1, PK2, MO2, QU2, TK2, PK3, MO3, QU3, TK3,
    PK4, MO4, QU4, TK4, PK5, MO5, QU5, TK5, QU7, TK7,
    PK6, MO6, QU6, TK6,
)

FACTS = (
    # preferences, stated once, in shorthand
    Fact("pref_short_bullets", "preference", None, "Keep replies short, in bullets rather than paragraphs.", M("short|shorter|brief", "bullet|bullets"), ("pk1",)),
    Fact("pref_conventional", "preference", None, "Commit messages follow Conventional Commits (feat:, fix:, chore:).", M("conventional commits|conventional commit"), ("mo1",)),
    Fact("pref_diff_first", "preference", None, "Show the diff before committing anything.", M("diff", "before|b4", "commit|committing|commits"), ("qu1",)),
    Fact("pref_no_emoji_commits", "preference", None, "No emoji in commit messages.", M("emoji", "commit|commits"), ("tk1",)),
    Fact("pref_draft_prs", "preference", None, "Open pull requests as drafts; the user marks them ready.", M("draft|drafts", "PR|PRs|pull request|pull requests"), ("pk2",)),
    # general rules, stated in two projects
    Fact("gen_rebase", "general_rule", None, "Rebase on the main branch; no merge commits.", M("rebase|rebased", "merge|merging"), ("pk2", "tk2")),
    Fact("gen_review_threads", "general_rule", None, "Reply to review comments but leave resolving the threads to the reviewer.", M("resolve|resolving", "thread|threads"), ("mo2", "qu2")),
    Fact("gen_pr_checks", "general_rule", None, "Check CI with gh pr checks before saying it is green.", M("gh pr checks"), ("pk3", "tk3")),
    # project rules
    Fact("pr_pk_just_test", "project_rule", "pikeline", "Tests go through just test, not zig build test directly.", M("just test"), ("pk1",)),
    Fact("pr_pk_arena", "project_rule", "pikeline", "Hot paths allocate from the arena passed into run(), never std.heap.page_allocator.", M("page_allocator", "arena"), ("pk3",)),
    Fact("pr_mo_no_apply", "project_rule", "moorland", "Plan only: no terraform apply from the workstation.", M("terraform apply"), ("mo1",)),
    Fact("pr_mo_make_docs", "project_rule", "moorland", "Run make docs whenever a variables.tf changes; CI diffs the README.", M("make docs", "variables.tf"), ("mo2",)),
    Fact("pr_qu_sql_generated", "project_rule", "quince", "src/quince/sql.gleam is generated by squirrel: change the .sql files and run just sql, never hand-edit it.", M("sql.gleam", "squirrel|generated"), ("qu2",)),
    Fact("pr_tk_apidump", "project_rule", "ternkit", "Any public API change needs apiDump and the .api file committed in the same PR.", M("apiDump"), ("tk2",)),
    Fact("pr_tk_common_datetime", "project_rule", "ternkit", "commonMain cannot use java.time; use kotlinx-datetime.", M("commonMain", "kotlinx-datetime|kotlinx.datetime"), ("tk3",)),
    Fact("pr_qu_wisp_log", "project_rule", "quince", "Request handlers log through wisp.log_info / wisp.log_error, not io.println.", M("io.println", "wisp.log_info|wisp.log_error|wisp"), ("qu7",)),
    # project facts, only in tool output or the agent's conclusion
    Fact("pf_pk_zig_013", "project_fact", "pikeline", "build.zig.zon sets minimum_zig_version 0.13.0.", M("0.13.0"), ("pk1",), superseded_by="su_pk_zig_014"),
    Fact("pf_pk_release", "project_fact", "pikeline", "just release builds with -Doptimize=ReleaseSafe for x86_64-linux-musl.", M("ReleaseSafe"), ("pk2",)),
    Fact("pf_pk_golden", "project_fact", "pikeline", "Golden outputs live in testdata/golden and are regenerated by just golden.", M("testdata/golden"), ("pk4",)),
    Fact("pf_mo_aws_540", "project_fact", "moorland", "Modules pin the aws provider at ~> 5.40 (versions.tf).", M("aws|provider", "5.40"), ("mo1",), superseded_by="su_mo_aws_6"),
    Fact("pf_mo_tf_docs", "project_fact", "moorland", "terraform-docs writes each module README's inputs between the BEGIN_TF_DOCS markers.", M("BEGIN_TF_DOCS"), ("mo2",)),
    Fact("pf_mo_terratest", "project_fact", "moorland", "make test runs the Terratest suite in test/ with go test -timeout 45m against real AWS.", M("Terratest|go test", "45m"), ("mo3",)),
    Fact("pf_qu_db_url", "project_fact", "quince", "Tests read QUINCE_DB_URL; the test Postgres is on 127.0.0.1:55432.", M("QUINCE_DB_URL", "55432"), ("qu1",)),
    Fact("pf_qu_dbmate", "project_fact", "quince", "Migrations are SQL files in priv/migrations applied by just migrate (dbmate).", M("dbmate"), ("qu3",), superseded_by="su_qu_cigogne"),
    Fact("pf_qu_tool_versions", "project_fact", "quince", ".tool-versions pins erlang 27.1.2 and gleam 1.6.3.", M("27.1.2"), ("qu5",)),
    Fact("pf_tk_kotlin_2021", "project_fact", "ternkit", "Kotlin is 2.0.21 (gradle/libs.versions.toml).", M("2.0.21"), ("tk1",), superseded_by="su_tk_kotlin_2110"),
    Fact("pf_tk_ios_test", "project_fact", "ternkit", "iOS tests run with make test-ios, i.e. ./gradlew :core:iosSimulatorArm64Test.", M("iosSimulatorArm64Test"), ("tk1",)),
    Fact("pf_tk_explicit_api", "project_fact", "ternkit", "core builds in explicit API mode (explicitApi() in core/build.gradle.kts): declarations need public or internal.", M("explicitApi|explicit API"), ("tk7",)),
    Fact("pf_tk_publish", "project_fact", "ternkit", "make publish runs ./gradlew publishAndReleaseToMavenCentral.", M("publishAndReleaseToMavenCentral"), ("tk4",)),
    # failure -> fix, the fix a different command or an edit
    Fact("ff_pk_hash", "failure_fix", "pikeline", "zig build fails with hash mismatch on a dependency: zig fetch --save <url> rewrites the hash.", M("zig fetch --save"), ("pk2",), link=M("hash mismatch")),
    Fact("ff_pk_zstd", "failure_fix", "pikeline", "just test cannot find the system library zstd: sudo apt-get install -y libzstd-dev.", M("libzstd-dev"), ("pk4",), link=M("zstd")),
    Fact("ff_mo_init", "failure_fix", "moorland", "make validate says Module not installed: terraform init -backend=false in each module.", M("init -backend=false"), ("mo1",), link=M("Module not installed|not installed")),
    Fact("ff_mo_tflint", "failure_fix", "moorland", "make lint says Plugin aws not found: run tflint --init.", M("tflint --init"), ("mo3",), link=M("plugin|plugins")),
    Fact("ff_qu_db", "failure_fix", "quince", "just test fails with econnrefused: start the database with docker compose up -d db (just db).", M("compose up -d db|just db"), ("qu1",), link=M("econnrefused|connection refused|connection_refused")),
    Fact("ff_qu_clean", "failure_fix", "quince", "gleam build says Unknown module after a branch switch: gleam clean, then build.", M("gleam clean"), ("qu3",), link=M("Unknown module")),
    Fact("ff_tk_simctl", "failure_fix", "ternkit", "make test-ios: unable to find utility simctl: sudo xcode-select -s /Applications/Xcode.app/Contents/Developer.", M("xcode-select"), ("tk2",), link=M("simctl")),
    Fact("ff_tk_yarn_lock", "failure_fix", "ternkit", "build fails with Lock file was changed (kotlinStoreYarnLock): run ./gradlew kotlinUpgradeYarnLock.", M("kotlinUpgradeYarnLock"), ("tk3",), link=M("lock file|yarn.lock|kotlinStoreYarnLock")),
    Fact("ff_tk_heap", "failure_fix", "ternkit", "make check dies with Java heap space: org.gradle.jvmargs=-Xmx4g in gradle.properties.", M("Xmx4g|-Xmx4g"), ("tk4",), link=M("heap space|Java heap|OutOfMemoryError")),
    Fact("ff_qu_format", "failure_fix", "quince", "The CI format job (gleam format --check) says files have not been formatted: run gleam format src test.", M("gleam format src"), ("qu7",), link=M("format --check|not been formatted|format job")),
    # the forgotten session's own facts (qu4): stated nowhere else
    Fact("ff_qu_inotify", "failure_fix", "quince", "just watch says inotifywait: command not found: sudo apt-get install -y inotify-tools.", M("inotify-tools"), ("qu4",), link=M("inotifywait")),
    Fact("pf_qu_port", "project_fact", "quince", "just dev serves on PORT, default 8042.", M("8042"), ("qu4",)),
    # later sessions state new values in place of old ones
    Fact("su_pk_zig_014", "superseding", "pikeline", "build.zig.zon now sets minimum_zig_version 0.14.0.", M("0.14.0"), ("pk6",)),
    Fact("su_mo_aws_6", "superseding", "moorland", "Modules now require the aws provider ~> 6.0.", M("aws|provider", "6.0"), ("mo6",)),
    Fact("su_qu_cigogne", "superseding", "quince", "Migrations run with cigogne: just migrate is gleam run -m cigogne all; dbmate is gone.", M("cigogne"), ("qu6",)),
    Fact("su_tk_kotlin_2110", "superseding", "ternkit", "Kotlin is now 2.1.10.", M("2.1.10"), ("tk6",)),
)

DISTRACTORS = (
    Distractor("d_run_id", "transient", "a GitHub Actions run id", M("12873409551"), ("pk3",)),
    Distractor("d_lock_id", "transient", "a Terraform state lock id", M("9b1f3c2a-6d4e-4a57-8c1b-2e7f0d9a4b61"), ("mo4",)),
    Distractor("d_pid", "transient", "the pid of a stuck test VM", M("48213"), ("qu5",)),
    Distractor("d_webhook", "secret", "a Slack webhook pasted into the chat", M("q7Vt2LwZ8xYb3NcR5mKp0HsD"), ("mo5",)),
    Distractor("d_run_id_format", "transient", "the run id of a failing format job", M("12655018472"), ("qu7",)),
    Distractor("d_ramen", "small_talk", "going for ramen", M("ramen"), ("pk4",)),
    Distractor("d_cat", "small_talk", "the cat on the keyboard", M("cat", "keyboard"), ("tk4",)),
    Distractor("d_zig_fmt_off", "rejected", "wrapping a table in zig fmt: off", M("zig fmt: off"), ("pk3",), negatable=True),
    Distractor("d_suppress_explicit_api", "rejected", "suppressing explicit API mode errors", M("Suppress", "EXPLICIT_API_MODE|explicit API"), ("tk7",), negatable=True),
    Distractor("d_ignore_changes", "rejected", "lifecycle ignore_changes on tags", M("ignore_changes"), ("mo4",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="n",
    how="fast chat shorthand: lowercase, abbreviations, several short messages per turn; knowledge from code review through gh (pr view --comments, pr diff, pr checks) and from Makefile/justfile targets (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="qu4",
    notes={
        "pikeline": "Zig CLI, zig build behind a justfile",
        "moorland": "Terraform AWS modules, tflint, terraform-docs, Terratest behind a Makefile",
        "quince": "Gleam web service on the BEAM, squirrel, Postgres, justfile",
        "ternkit": "Kotlin Multiplatform library, Gradle behind a Makefile",
    },
)
