# Literal command output and the pasted documents keep their real line lengths.
# ruff: noqa: E501
"""Quality corpus L (held out): a user who pastes documents and adds one line on top.

Almost every user message is a pasted artifact with a short plain ask above it ("pls handle",
"see below, same as last time"): a Jira ticket, a PR description, an email from the security
or ops team, an excerpt of CONTRIBUTING.md or of the team wiki, a Slack thread export, a
customer's bug report. The durable rules sit inside those documents; the agent acts on them,
learns the rest from lock files, CI config and ``--version`` output, and fixes failures with a
command the pasted document names. Later sessions paste an announcement that replaces an older
fact. Four projects none of A–K has: Solidity contracts with Foundry, a ROS 2 robot package
built with colcon, an Erlang service built with rebar3 and a Hugo documentation site.

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
    Step,
    Think,
    User,
)

# fmt: off
HOME = "/home/bex/repos"
PROJECTS = (
    Project("tollbooth", f"{HOME}/tollbooth", "git@github.com:bexlabs/tollbooth.git"),
    Project("ferrybot", f"{HOME}/ferrybot_ws/src/ferrybot", "git@github.com:bexlabs/ferrybot.git", branch="rolling-dev"),
    Project("switchyard", f"{HOME}/switchyard", "git@github.com:bexlabs/switchyard.git"),
    Project("almanac", f"{HOME}/almanac", "git@github.com:bexlabs/almanac.git"),
)
DEPLOYER_KEY = "0x8f2a6c1d9e4b7a3f5c0d2e8b1a6f4c9d7e2b5a8c3f1d6e9b4a7c2f5d8e1b3a6c9f"


def session(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    return Session(key, project, days_ago, tuple(steps), later=later)


def paste(ask: str, doc: str) -> User:
    """The user's one line on top of a pasted document."""
    return User(f"{ask}\n\n{doc.rstrip()}")


def sh(cmd: str, out: str = "", code: int = 0, secs: float = 0.9) -> Sh:
    return Sh(cmd, out, code, secs)


# -- tollbooth: fee-collecting contracts, Solidity with Foundry

T1 = session(
    "t1", "tollbooth", 27.2,
    paste("new laptop, pls get the repo building per the doc below",
          "--- CONTRIBUTING.md (excerpt) ---\n"
          "## Getting started\n"
          "Dependencies are git submodules under lib/. After cloning, run `git submodule update --init --recursive` before the first build.\n\n"
          "## Before you push\n"
          "- Run `forge fmt --check` before pushing; CI rejects unformatted Solidity.\n"
          "- Commit messages use Conventional Commits (`feat:`, `fix:`, `chore:` ...).\n"
          "- Branch names start with the ticket key, e.g. `TOLL-97/fee-cap`.\n"),
    sh("forge --version", "forge Version: 1.0.0-stable\nCommit SHA: 2a5f4e9c1b7d3a8e6f0c2b4d9e1a7c5f3b8d6e0a\nBuild Timestamp: 2026-10-02T00:20:14.000000000Z (1790900414)\nBuild Profile: maxperf"),
    sh("cat foundry.toml", "[profile.default]\nsrc = \"src\"\nout = \"out\"\nlibs = [\"lib\"]\nsolc_version = \"0.8.26\"\nevm_version = \"cancun\"\noptimizer = true\noptimizer_runs = 200\n\n[profile.ci]\noptimizer_runs = 10000\nfuzz = { runs = 5000 }\n\n[rpc_endpoints]\nsepolia = \"${SEPOLIA_RPC_URL}\"\n"),
    sh("forge build", "[⠊] Compiling...\nError: failed to resolve file: \"/home/bex/repos/tollbooth/lib/openzeppelin-contracts/contracts/token/ERC20/IERC20.sol\": No such file or directory (os error 2); check configured remappings\n\t--> /home/bex/repos/tollbooth/src/FeeVault.sol\n\t@openzeppelin/contracts/token/ERC20/IERC20.sol", code=1, secs=2.4),
    Think("lib/ is empty: the submodules were never checked out, exactly the step CONTRIBUTING names."),
    sh("git submodule update --init --recursive", "Submodule 'lib/forge-std' (https://github.com/foundry-rs/forge-std) registered for path 'lib/forge-std'\nSubmodule 'lib/openzeppelin-contracts' (https://github.com/OpenZeppelin/openzeppelin-contracts) registered for path 'lib/openzeppelin-contracts'\nCloning into '/home/bex/repos/tollbooth/lib/forge-std'...\nCloning into '/home/bex/repos/tollbooth/lib/openzeppelin-contracts'...\nSubmodule path 'lib/forge-std': checked out '1714bee72e286e73f76e320d110e0eaf5c4e649d'\nSubmodule path 'lib/openzeppelin-contracts': checked out 'dbb6104ce834628e473d2173bbc9d47f81a9eec3'", secs=11.2),
    sh("forge build", "[⠊] Compiling...\n[⠒] Compiling 41 files with Solc 0.8.26\n[⠢] Solc 0.8.26 finished in 3.81s\nCompiler run successful!", secs=6.0),
    Say("Builds now. `forge build` failed with \"failed to resolve file ... lib/openzeppelin-contracts\" because the submodules were not checked out; `git submodule update --init --recursive` fixed it, as CONTRIBUTING says. The compiler is pinned in foundry.toml: solc_version 0.8.26, evm_version cancun; there is a separate `ci` profile with 10000 optimizer runs."),
    User("ok. fmt check too"),
    sh("forge fmt --check", "", secs=1.1),
    Say("`forge fmt --check` is clean, nothing to reformat."),
)

T2 = session(
    "t2", "tollbooth", 24.0,
    paste("pls handle. just a bullet list of what you changed when done, skip the recap",
          "TOLL-142  Fee split rounds the treasury share down to zero for small tolls\n"
          "Type: Bug   Priority: High   Reporter: Dana K. (customer success)\n"
          "Description:\n"
          "Customer report from Harbor Freight Co.: tolls under 100 wei send the whole amount to the operator, treasury gets 0.\n"
          "Expected: treasury share is ceil(amount * treasuryBps / 10_000).\n"
          "Acceptance: a fuzz test over amounts 1..1e24 in test/FeeSplit.t.sol\n"),
    sh("git switch -c TOLL-142/treasury-rounding", "Switched to a new branch 'TOLL-142/treasury-rounding'"),
    Patch("*** Update File: src/FeeSplit.sol\n@@ function split(uint256 amount) internal view returns (uint256 treasury, uint256 operator) {\n-        treasury = amount * treasuryBps / 10_000;\n+        treasury = Math.mulDiv(amount, treasuryBps, 10_000, Math.Rounding.Ceil);\n         operator = amount - treasury;"),
    Patch("*** Add File: test/FeeSplit.t.sol\n+// SPDX-License-Identifier: MIT\n+pragma solidity 0.8.26;\n+\n+import {Test} from \"forge-std/Test.sol\";\n+import {FeeSplitHarness} from \"./harness/FeeSplitHarness.sol\";\n+\n+contract FeeSplitTest is Test {\n+    FeeSplitHarness h = new FeeSplitHarness(250);\n+\n+    function testFuzz_treasuryNeverZero(uint256 amount) public view {\n+        amount = bound(amount, 1, 1e24);\n+        (uint256 t, uint256 o) = h.split(amount);\n+        assertGt(t, 0);\n+        assertEq(t + o, amount);\n+    }\n+}"),
    sh("forge test --match-contract FeeSplitTest", "[⠊] Compiling...\n[⠒] Compiling 3 files with Solc 0.8.26\nError: Compiler run failed:\nError: Stack too deep. Try compiling with `--via-ir` (cli) or the equivalent `viaIR: true` (standard JSON) while enabling the optimizer. Otherwise, try removing local variables.\n  --> src/FeeSplit.sol:88:13:\n   |\n88 |             uint256 rebate = _rebateFor(msg.sender, operator);\n   |             ^^^^^^^^^^^^^^", code=1, secs=4.2),
    Think("Stack too deep after adding the Math import's locals; the message names via-ir. Set it in foundry.toml so every profile gets it."),
    Patch("*** Update File: foundry.toml\n@@ [profile.default]\n optimizer = true\n optimizer_runs = 200\n+via_ir = true"),
    sh("forge test --match-contract FeeSplitTest", "[⠊] Compiling...\n[⠒] Compiling 41 files with Solc 0.8.26\n[⠢] Solc 0.8.26 finished in 19.44s\nCompiler run successful!\n\nRan 1 test for test/FeeSplit.t.sol:FeeSplitTest\n[PASS] testFuzz_treasuryNeverZero(uint256) (runs: 256, μ: 9120, ~: 9120)\nSuite result: ok. 1 passed; 0 failed; 0 skipped; finished in 41.02ms (38.77ms CPU time)", secs=22.0),
    Say("- `src/FeeSplit.sol`: treasury share rounds up with `Math.mulDiv(..., Math.Rounding.Ceil)`\n- `test/FeeSplit.t.sol`: fuzz test over 1..1e24\n- `foundry.toml`: `via_ir = true`, because `forge test` then failed with \"Stack too deep\"; with via_ir the contract compiles and the test passes"),
    User("👍 commit it"),
    sh("git add -A && git commit -m 'fix(fees): round the treasury share up (TOLL-142)'", "[TOLL-142/treasury-rounding 5c81e0a] fix(fees): round the treasury share up (TOLL-142)\n 3 files changed, 24 insertions(+), 1 deletion(-)\n create mode 100644 test/FeeSplit.t.sol"),
    Say("Committed as 5c81e0a on TOLL-142/treasury-rounding."),
)

T3 = session(
    "t3", "tollbooth", 20.1,
    paste("fyi from security, then pls deploy FeeVault to sepolia",
          "From: security@bexlabs.dev\nSubject: [ACTION] Deployment keys on contract repos\n\n"
          "Hi all,\n\n"
          "After last week's incident, effective today:\n"
          "1. Private keys do not go in .env files or on the command line. Import the key once with `cast wallet import deployer --interactive` and deploy with `--account deployer` (Foundry keystore).\n"
          "2. Sepolia deployments are owned by the team Safe multisig: transfer ownership to the Safe right after the deploy script runs.\n"
          "3. Commits on contract repos must be signed (`git commit -S`).\n\n"
          "Thanks,\nPriya, Security"),
    Say("Before I start: the deploy script reads the key from `PRIVATE_KEY`, so the quickest path is `forge script script/Deploy.s.sol --rpc-url sepolia --private-key $PRIVATE_KEY --broadcast`. Shall I run that?"),
    paste("no, that's exactly what the email says not to do. this is the thread where it came up",
          "#contracts-dev  (Slack export)\n"
          "[09:12] marco: deploy is failing for me, here's my .env in case i typo'd something\n"
          f"[09:12] marco: PRIVATE_KEY={DEPLOYER_KEY}\n"
          "[09:13] priya: marco please delete that and rotate, that key is burned\n"
          "[09:20] marco: done, rotated 🙈\n"),
    sh("cast wallet import deployer --interactive", "Enter private key:\nEnter password:\n`deployer` keystore was saved successfully. Address: 0x3b9c4f1e7a2d8c6b0e5f9a1d4c7b2e8f6a0d3c5b", secs=14.0),
    Patch("*** Update File: script/Deploy.s.sol\n@@ function run() external {\n-        uint256 pk = vm.envUint(\"PRIVATE_KEY\");\n-        vm.startBroadcast(pk);\n+        vm.startBroadcast();\n         FeeVault vault = new FeeVault(treasury);\n+        vault.transferOwnership(vm.envAddress(\"TEAM_SAFE\"));\n         vm.stopBroadcast();"),
    sh("forge script script/Deploy.s.sol --rpc-url sepolia --account deployer --broadcast", "[⠊] Compiling...\nNo files changed, compilation skipped\nScript ran successfully.\n\n## Setting up 1 EVM.\n==========================\nChain 11155111\nEstimated gas price: 3.1 gwei\nEstimated total gas used for script: 1893342\n==========================\n\n##### sepolia\n✅  [Success] Hash: 0x7d1e9a44c2b8f0e6a3d5c7b9e1f2a4c6d8e0b2a4c6e8f0a2b4d6c8e0f2a4b6c8\nContract Address: 0x5A1c3E9b7D2f4a6C8e0B1d3F5a7C9e1B3d5F7a9C\nBlock: 7204418\nPaid: 0.00587 ETH (1893342 gas * 3.1 gwei)\n\nONCHAIN EXECUTION COMPLETE & SUCCESSFUL.", secs=31.0),
    Say("Deployed with the keystore account (`--account deployer`), no key on the command line or in .env; the script now hands ownership to the Safe multisig (`TEAM_SAFE`) as the security email asks for Sepolia. The key Marco pasted in Slack is burned, so I did not use it anywhere."),
    User("good. and -S on commits from now"),
    sh("git commit -S -am 'chore(deploy): keystore account and Safe ownership'", "[main 8e2f1a7] chore(deploy): keystore account and Safe ownership\n 1 file changed, 2 insertions(+), 2 deletions(-)"),
    Say("Signed commit 8e2f1a7."),
)

T4 = session(
    "t4", "tollbooth", 14.3,
    paste("see below, CI red on this one. same as last time: fix and commit, i push myself",
          "PR #311  perf(vault): pack Claim struct into one slot\n\n"
          "## What\nPacks `Claim{amount,expiry,claimer}` into a single storage slot.\n\n"
          "## Gas\nGas snapshots are recorded under the ci profile: update them with `FOUNDRY_PROFILE=ci forge snapshot` and check with `FOUNDRY_PROFILE=ci forge snapshot --check`. The default profile has fewer optimizer runs and gives other numbers.\n\n"
          "## Checklist\n- [x] tests\n- [ ] .gas-snapshot updated\n"),
    sh("cat .github/workflows/ci.yml", "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    env:\n      FOUNDRY_PROFILE: ci\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          submodules: recursive\n      - uses: foundry-rs/foundry-toolchain@v1\n        with:\n          version: v1.0.0\n      - run: forge fmt --check\n      - run: forge build --sizes\n      - run: forge test -vvv\n      - run: forge snapshot --check\n"),
    sh("forge snapshot --check", "[⠊] Compiling...\nNo files changed, compilation skipped\n\nRan 14 tests for test/FeeVault.t.sol:FeeVaultTest\nSuite result: ok. 14 passed; 0 failed; 0 skipped\nDiff in \"FeeVaultTest::test_claim()\": consumed \"(gas: 48211)\" gas, expected \"(gas: 51907)\" gas \nDiff in \"FeeVaultTest::test_collect()\": consumed \"(gas: 61532)\" gas, expected \"(gas: 63040)\" gas \nError: Snapshots differ from previous run", code=1, secs=8.1),
    Think("Locally the default profile is used; CI exports FOUNDRY_PROFILE=ci. The PR description says to record under ci."),
    sh("FOUNDRY_PROFILE=ci forge snapshot", "[⠊] Compiling...\n[⠒] Compiling 41 files with Solc 0.8.26\nCompiler run successful!\n\nRan 14 tests for test/FeeVault.t.sol:FeeVaultTest\nSuite result: ok. 14 passed; 0 failed; 0 skipped", secs=25.0),
    sh("FOUNDRY_PROFILE=ci forge snapshot --check", "No files changed, compilation skipped\n\nRan 14 tests for test/FeeVault.t.sol:FeeVaultTest\nSuite result: ok. 14 passed; 0 failed; 0 skipped", secs=7.0),
    Say("CI ran `forge snapshot --check` under `FOUNDRY_PROFILE=ci` (set in .github/workflows/ci.yml), so a snapshot taken with the default profile differs. Regenerated with `FOUNDRY_PROFILE=ci forge snapshot`; the check now passes."),
    User("commit, not push"),
    sh("git commit -S -am 'chore(gas): refresh .gas-snapshot under the ci profile'", "[perf/pack-claim 91d0c4e] chore(gas): refresh .gas-snapshot under the ci profile\n 1 file changed, 2 insertions(+), 2 deletions(-)"),
    Say("Committed 91d0c4e on perf/pack-claim, not pushed."),
)

T5 = session(
    "t5", "tollbooth", 8.6,
    paste("customer can't reproduce our numbers locally, pls look",
          "From: ops@bexlabs.dev\nSubject: local chain ports\n\n"
          "Reminder for anyone running the stack locally: the local anvil node for tollbooth runs on port 8546 (8545 is the frontend's hardhat node). "
          "Start it with `anvil --port 8546 --chain-id 31337`.\n\n-- ops\n\n"
          "> Forwarded customer ticket #4471: \"cast call against localhost returns a different fee than your docs, am I on the wrong chain?\""),
    sh("anvil --port 8546 --chain-id 31337 > /tmp/anvil-8546.log 2>&1 &", "[1] 52117"),
    sh("forge script script/Deploy.s.sol --rpc-url http://127.0.0.1:8546 --account deployer --broadcast", "Script ran successfully.\n\n##### anvil-hardhat\n✅  [Success] Hash: 0x1b44f0e2a7c9d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3\nContract Address: 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\n\nONCHAIN EXECUTION COMPLETE & SUCCESSFUL.", secs=6.0),
    sh("cast call 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512 'quote(uint256)(uint256,uint256)' 1000 --rpc-url http://127.0.0.1:8546", "25\n975"),
    Say("The customer's `cast call` hit port 8545, the frontend's hardhat node. Against the tollbooth anvil on port 8546 the quote for 1000 wei is 25 / 975, matching the docs. I replied on #4471 with the 8546 command."),
    User("thx. kill the anvil"),
    sh("kill 52117", ""),
    Say("Stopped."),
)

T6 = session(
    "t6", "tollbooth", 4.2,
    paste("dependabot-ish bump from marco, tests broke after it. pls fix",
          "PR #329  chore(deps): openzeppelin-contracts v5.1.0\n\n"
          "Moves lib/openzeppelin-contracts to v5.1.0 and deletes the old hand-written remappings.txt (forge can generate it).\n"),
    sh("forge test", "[⠊] Compiling...\nError: Unable to resolve imports:\n      \"@openzeppelin/contracts/token/ERC20/IERC20.sol\" in \"/home/bex/repos/tollbooth/src/FeeVault.sol\"\n      \"@openzeppelin/contracts/utils/math/Math.sol\" in \"/home/bex/repos/tollbooth/src/FeeSplit.sol\"\nwith remappings:\n      forge-std/=lib/forge-std/src/", code=1, secs=2.2),
    sh("forge remappings > remappings.txt && cat remappings.txt", "@openzeppelin/contracts/=lib/openzeppelin-contracts/contracts/\nerc4626-tests/=lib/openzeppelin-contracts/lib/erc4626-tests/\nforge-std/=lib/forge-std/src/\nhalmos-cheatcodes/=lib/openzeppelin-contracts/lib/halmos-cheatcodes/src/"),
    sh("forge test", "Compiler run successful!\n\nRan 4 test suites in 312.55ms (1.02s CPU time): 31 tests passed, 0 failed, 0 skipped (31 total tests)", secs=21.0),
    Say("`forge test` failed with \"Unable to resolve imports\" for `@openzeppelin/contracts` because the PR deleted remappings.txt. `forge remappings > remappings.txt` regenerated it; all 31 tests pass."),
    User("commit on his branch pls"),
    sh("git commit -S -am 'chore(deps): regenerate remappings.txt'", "[deps/oz-5.1 0a6d3f2] chore(deps): regenerate remappings.txt\n 1 file changed, 4 insertions(+)"),
    Say("Done, 0a6d3f2."),
)

T7 = session(
    "t7", "tollbooth", 1.9,
    paste("announcement below, pls apply",
          "#contracts-announce\n"
          "[10:02] priya: Compiler bump: tollbooth moves from solc 0.8.26 to solc 0.8.28 this sprint (transient storage fixes). Update foundry.toml and the pragmas; 0.8.26 is off the approved list from Monday.\n"),
    Patch("*** Update File: foundry.toml\n@@ [profile.default]\n-solc_version = \"0.8.26\"\n+solc_version = \"0.8.28\""),
    sh("grep -rl 'pragma solidity 0.8.26' src test script | xargs sed -i 's/pragma solidity 0.8.26/pragma solidity 0.8.28/'", ""),
    sh("forge build", "[⠊] Compiling...\n[⠒] Installing Solc version 0.8.28\n[⠢] Successfully installed Solc 0.8.28\n[⠆] Compiling 41 files with Solc 0.8.28\n[⠰] Solc 0.8.28 finished in 4.02s\nCompiler run successful!", secs=9.0),
    User("tests?"),
    sh("forge test", "Ran 4 test suites in 298.10ms (0.98s CPU time): 31 tests passed, 0 failed, 0 skipped (31 total tests)", secs=20.0),
    Say("tollbooth now compiles with solc 0.8.28 (foundry.toml `solc_version` and every pragma); 31 tests pass."),
    later=True,
)

# -- ferrybot: a ROS 2 docking robot package, built with colcon

F1 = session(
    "f1", "ferrybot", 26.4,
    paste("pls get ferrybot building, wiki page below",
          "=== Lab wiki: ferrybot / Build ===\n"
          "* Build from the workspace root with `colcon build --symlink-install --packages-select ferrybot` (symlink install so launch and param edits apply without a rebuild).\n"
          "* System deps come from rosdep: `rosdep install --from-paths src --ignore-src -y`.\n"
          "* After every build, source the overlay: `source install/setup.bash`.\n"
          "* Branch names start with the Jira key (`FERRY-12/dock-timeout`).\n"),
    sh("printenv ROS_DISTRO && ros2 doctor --report | head -8", "jazzy\n\n   NETWORK CONFIGURATION\n...\n   PLATFORM INFORMATION\nsystem           : Linux\nplatform info    : Linux-6.8.0-49-generic-x86_64-with-glibc2.39\nrelease          : 6.8.0-49-generic\nprocessor        : x86_64"),
    sh("cd ~/repos/ferrybot_ws && colcon build --symlink-install --packages-select ferrybot", "Starting >>> ferrybot\n--- stderr: ferrybot\nCMake Error at CMakeLists.txt:14 (find_package):\n  By not providing \"Findnav2_msgs.cmake\" in CMAKE_MODULE_PATH this project has\n  asked CMake to find a package configuration file provided by \"nav2_msgs\",\n  but CMake did not find one.\n\n  Could not find a package configuration file provided by \"nav2_msgs\" with\n  any of the following names:\n\n    nav2_msgsConfig.cmake\n    nav2_msgs-config.cmake\n---\nFailed   <<< ferrybot [2.31s, exited with code 1]\n\nSummary: 0 packages finished [2.61s]\n  1 package failed: ferrybot", code=1, secs=3.0),
    sh("cd ~/repos/ferrybot_ws && rosdep install --from-paths src --ignore-src -y", "executing command [sudo -H apt-get install -y ros-jazzy-nav2-msgs]\nReading package lists... Done\nSetting up ros-jazzy-nav2-msgs (1.3.4-1noble.20260911.151200) ...\n#All required rosdeps installed successfully", secs=38.0),
    sh("cd ~/repos/ferrybot_ws && colcon build --symlink-install --packages-select ferrybot", "Starting >>> ferrybot\nFinished <<< ferrybot [14.8s]\n\nSummary: 1 package finished [15.1s]", secs=15.2),
    Say("ferrybot targets ROS 2 Jazzy (ROS_DISTRO=jazzy). The first `colcon build` failed on the missing `nav2_msgs` package config; `rosdep install --from-paths src --ignore-src -y` installed ros-jazzy-nav2-msgs and the build then finished."),
    User("run the dock node"),
    sh("cd ~/repos/ferrybot_ws && ros2 run ferrybot dock_node", "Package 'ferrybot' not found", code=1, secs=0.6),
    sh("cd ~/repos/ferrybot_ws && source install/setup.bash && ros2 run ferrybot dock_node --ros-args -p dry_run:=true", "[INFO] [1795310000.102311] [dock_node]: dry run: waiting for /dock/goal\n[INFO] [1795310002.104512] [dock_node]: no goal, exiting (dry_run)", secs=2.5),
    Say("`ros2 run` said \"Package 'ferrybot' not found\" because the overlay was not sourced; after `source install/setup.bash` the node starts."),
)

F2 = session(
    "f2", "ferrybot", 22.7,
    paste("ops email, pls set this up in the launch files",
          "From: lab-ops@bexlabs.dev\nSubject: ROS networking on the lab floor\n\n"
          "Team,\nto stop the robots hearing each other: ferrybot uses ROS_DOMAIN_ID=42 on the lab network. Put it in the launch environment, not in personal shell rc files.\n\n-- lab ops"),
    sh("cat launch/dock.launch.py", "from launch import LaunchDescription\nfrom launch.actions import DeclareLaunchArgument\nfrom launch_ros.actions import Node\n\n\ndef generate_launch_description():\n    return LaunchDescription([\n        DeclareLaunchArgument('use_sim_time', default_value='false'),\n        Node(package='ferrybot', executable='dock_node',\n             parameters=['config/dock.yaml', {'use_sim_time': LaunchConfiguration('use_sim_time')}]),\n    ])"),
    Patch("*** Update File: launch/dock.launch.py\n@@ from launch import LaunchDescription\n-from launch.actions import DeclareLaunchArgument\n+from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable\n@@ def generate_launch_description():\n     return LaunchDescription([\n+        SetEnvironmentVariable('ROS_DOMAIN_ID', '42'),\n         DeclareLaunchArgument('use_sim_time', default_value='false'),"),
    sh("cd ~/repos/ferrybot_ws && source install/setup.bash && ros2 launch ferrybot dock.launch.py use_sim_time:=true --print", "<launch.launch_description.LaunchDescription object at 0x7f3a1c2b9e50>\n├── SetEnvironmentVariable('ROS_DOMAIN_ID', '42')\n├── DeclareLaunchArgument('use_sim_time', default='false')\n└── Node(package='ferrybot', executable='dock_node', parameters=['config/dock.yaml', {'use_sim_time': 'true'}])"),
    Say("dock.launch.py now sets ROS_DOMAIN_ID=42 for every node it starts. In simulation, launch it with `use_sim_time:=true`; the launch file defaults it to false, which makes the dock timeouts fire against wall-clock time in Gazebo."),
    User("ok commit. FERRY-31"),
    sh("git switch -c FERRY-31/domain-id && git commit -S -am 'feat(launch): set ROS_DOMAIN_ID in the launch environment'", "Switched to a new branch 'FERRY-31/domain-id'\n[FERRY-31/domain-id 3f7c2b1] feat(launch): set ROS_DOMAIN_ID in the launch environment\n 1 file changed, 2 insertions(+), 1 deletion(-)"),
    Say("Committed on FERRY-31/domain-id."),
)

F3 = session(
    "f3", "ferrybot", 17.5,
    paste("bug report from the field team, pls handle",
          "FERRY-44  Dock approach overshoots by ~8 cm on the new chassis\n"
          "Reporter: field team (Oslo site)\n"
          "Steps: send /dock/goal at 0.4 m/s; robot stops past the contacts.\n"
          "Log excerpt:\n  [dock_node]: approach_speed=0.40 decel=0.25 stop_dist=0.05\n"),
    sh("git switch -c FERRY-44/overshoot", "Switched to a new branch 'FERRY-44/overshoot'"),
    Patch("*** Update File: config/dock.yaml\n@@ dock_node:\n   ros__parameters:\n     approach_speed: 0.4\n-    decel: 0.25\n+    decel: 0.6\n     stop_dist: 0.05"),
    sh("python3 -m pytest test/test_dock_profile.py -q", "ImportError while importing test module '/home/bex/repos/ferrybot_ws/src/ferrybot/test/test_dock_profile.py'.\nHint: make sure your test modules/packages have valid Python names.\nTraceback:\n/usr/lib/python3.12/importlib/__init__.py:90: in import_module\n    return _bootstrap._gcd_import(name[level:], package, level)\ntest/test_dock_profile.py:3: in <module>\n    from ferrybot.profile import stopping_distance\nE   ModuleNotFoundError: No module named 'ferrybot'\n=========================== short test summary info ============================\nERROR test/test_dock_profile.py\n1 error in 0.21s", code=2, secs=1.4),
    Think("The package is only importable from the colcon install space; run the tests through colcon."),
    sh("cd ~/repos/ferrybot_ws && colcon test --packages-select ferrybot --event-handlers console_direct+ && colcon test-result --verbose", "Starting >>> ferrybot\n============================= test session starts ==============================\ncollected 9 items\n\ntest/test_copyright.py .\ntest/test_dock_profile.py ......\ntest/test_flake8.py .\ntest/test_pep257.py .\n\n============================== 9 passed in 2.87s ===============================\nFinished <<< ferrybot [4.10s]\n\nSummary: 1 package finished [4.40s]\nSummary: 9 tests, 0 errors, 0 failures, 0 skipped", secs=6.0),
    Say("- `config/dock.yaml`: decel 0.25 → 0.6 m/s², stopping within stop_dist at 0.4 m/s\n- tests: `python3 -m pytest` directly fails with \"No module named 'ferrybot'\"; `colcon test --packages-select ferrybot` runs them from the install space: 9 passed"),
    User("nice, leave it uncommitted, field team wants to try it first"),
    Say("Left as a working-tree change on FERRY-44/overshoot."),
)

F4 = session(
    "f4", "ferrybot", 11.0,
    User("back from the robotics meetup, the demo went well! the lidar guy loved the dock 😄 anyway, pls look at why the build is slow"),
    Say("Glad the demo went well. Looking at the build now."),
    sh("cd ~/repos/ferrybot_ws && colcon build --packages-select ferrybot", "Starting >>> ferrybot\nFinished <<< ferrybot [1min 12s]\n\nSummary: 1 package finished [1min 12s]", secs=72.0),
    sh("ls -la install/ferrybot/share/ferrybot/launch/", "total 12\ndrwxr-xr-x 2 bex bex 4096 Nov 26 10:01 .\ndrwxr-xr-x 6 bex bex 4096 Nov 26 10:01 ..\n-rw-r--r-- 1 bex bex  911 Nov 26 10:01 dock.launch.py"),
    Say("That build ran without `--symlink-install`, so the launch and config files were copied and CMake reconfigured; with `colcon build --symlink-install --packages-select ferrybot` (as the wiki says) an edit to a launch file needs no rebuild, and incremental builds take ~15 s."),
    User("right, my bad. and there's a stuck build process"),
    sh("pgrep -af colcon", "48213 /usr/bin/python3 /usr/bin/colcon build --packages-select ferrybot"),
    sh("kill 48213", ""),
    Say("Killed the stale colcon build."),
)

F5 = session(
    "f5", "ferrybot", 6.3,
    paste("another one from the field team, see below. no new packages without asking me first",
          "FERRY-52  dock_node crashes when /battery is silent\n"
          "Trace from the robot:\n  terminate called after throwing an instance of 'rclcpp::exceptions::InvalidParameterValueException'\n    what():  battery_timeout_s must be > 0\n"),
    sh("grep -n battery_timeout config/dock.yaml src/dock_node.cpp", "config/dock.yaml:9:    battery_timeout_s: 0\nsrc/dock_node.cpp:57:  declare_parameter(\"battery_timeout_s\", 5.0, positive_only());"),
    Patch("*** Update File: config/dock.yaml\n@@ dock_node:\n-    battery_timeout_s: 0\n+    battery_timeout_s: 5.0"),
    sh("cd ~/repos/ferrybot_ws && colcon build --symlink-install --packages-select ferrybot && colcon test --packages-select ferrybot && colcon test-result", "Finished <<< ferrybot [13.9s]\nSummary: 1 package finished [14.2s]\nFinished <<< ferrybot [3.8s]\nSummary: 9 tests, 0 errors, 0 failures, 0 skipped", secs=19.0),
    Say("config/dock.yaml had `battery_timeout_s: 0`, which the node rejects; set to 5.0 (the declared default). Built and tested: 9 tests pass."),
    User("commit pls FERRY-52"),
    sh("git switch -c FERRY-52/battery-timeout && git commit -S -am 'fix(config): battery_timeout_s must be positive'", "Switched to a new branch 'FERRY-52/battery-timeout'\n[FERRY-52/battery-timeout 77a0d9c] fix(config): battery_timeout_s must be positive\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Say("Committed 77a0d9c."),
)

F7 = session(
    "f7", "ferrybot", 1.4,
    paste("ops again, pls update",
          "From: lab-ops@bexlabs.dev\nSubject: RE: ROS networking on the lab floor\n\n"
          "Update: the new warehouse robots took domain 42. From today ferrybot moves to ROS_DOMAIN_ID=17; domain 42 belongs to the warehouse fleet.\n\n-- lab ops"),
    Patch("*** Update File: launch/dock.launch.py\n@@ def generate_launch_description():\n-        SetEnvironmentVariable('ROS_DOMAIN_ID', '42'),\n+        SetEnvironmentVariable('ROS_DOMAIN_ID', '17'),"),
    sh("cd ~/repos/ferrybot_ws && source install/setup.bash && ros2 launch ferrybot dock.launch.py --print | head -2", "<launch.launch_description.LaunchDescription object at 0x7f19d04c1a90>\n├── SetEnvironmentVariable('ROS_DOMAIN_ID', '17')"),
    User("👍"),
    Say("ferrybot's launch environment now uses ROS_DOMAIN_ID=17."),
    later=True,
)

# -- switchyard: a message router in Erlang/OTP, built with rebar3

S1 = session(
    "s1", "switchyard", 25.8,
    paste("first time on this repo. pls build + test, wiki below",
          "=== switchyard wiki: Development ===\n"
          "- `rebar3 dialyzer` has to pass before a merge; reviewers will not look at a PR with dialyzer warnings.\n"
          "- Use Conventional Commits for messages.\n"
          "- The common test suites start a distributed node.\n"),
    sh("rebar3 version", "rebar 3.22.1 on Erlang/OTP 26 Erts 14.2.5"),
    sh("cat rebar.lock | head -12", "{\"1.2.0\",\n[{<<\"cowboy\">>,{pkg,<<\"cowboy\">>,<<\"2.12.0\">>},0},\n {<<\"cowlib\">>,{pkg,<<\"cowlib\">>,<<\"2.13.0\">>},1},\n {<<\"jsx\">>,{pkg,<<\"jsx\">>,<<\"3.1.0\">>},0},\n {<<\"ranch\">>,{pkg,<<\"ranch\">>,<<\"1.8.0\">>},1},\n {<<\"telemetry\">>,{pkg,<<\"telemetry\">>,<<\"1.3.0\">>},0}]}."),
    sh("rebar3 ct", "===> Verifying dependencies...\n===> Analyzing applications...\n===> Compiling switchyard\n===> Running Common Test suites...\n%%% router_SUITE ==> init_per_suite: FAILED\n%%% router_SUITE ==> {ct_peer_start_failed,not_alive}\n\nEXPERIMENTAL: Writing retry specification at /home/bex/repos/switchyard/_build/test/logs/retry.spec\nFailed 0 tests. Passed 0 tests.\n===> Failures occurred running tests: 12", code=1, secs=9.5),
    Think("not_alive: the test node itself is not distributed; ct needs --sname to start peers."),
    sh("rebar3 ct --sname switchyard_ct", "===> Running Common Test suites...\n%%% router_SUITE: ............\n%%% routes_SUITE: .......\nAll 19 tests passed.", secs=14.0),
    sh("rebar3 dialyzer", "===> Dialyzer starting, this may take a while...\n===> Updating plt...\n===> Resolving files...\n===> Checking 212 files in _build/default/rebar3_26.2.5_plt...\n===> Doing success typing analysis...\n===> Resolving files...\n===> Analyzing 14 files with _build/default/rebar3_26.2.5_plt...", secs=61.0),
    Say("switchyard builds on Erlang/OTP 26 with rebar 3.22.1 (rebar.lock pins cowboy 2.12.0). `rebar3 ct` failed in init_per_suite with `not_alive` because the suites start peer nodes; `rebar3 ct --sname switchyard_ct` passes all 19 tests. `rebar3 dialyzer` is clean."),
    User("ok good"),
)

S2 = session(
    "s2", "switchyard", 21.3,
    paste("ops email, builds on the CI runners are broken, pls handle",
          "From: ops@bexlabs.dev\nSubject: hex.pm egress closed on build runners\n\n"
          "Build runners can no longer reach repo.hex.pm. Point rebar3 at the internal mirror: export HEX_CDN=https://hex-mirror.bexlabs.internal before fetching deps.\n"
          "Also: switchyard exposes Prometheus metrics on port 9568 (the listener on 9410 is health only). Scrape configs should use 9568.\n"
          "Commits on service repos must be signed with `git commit -S` from the 1st.\n\n-- ops"),
    sh("rm -rf _build/default/lib && rebar3 compile", "===> Verifying dependencies...\n===> Fetching cowboy v2.12.0\n===> Failed to fetch and copy dep: {pkg,<<\"cowboy\">>,<<\"2.12.0\">>,\n                                    <<\"8A7ABE6D183372CEB21CAA2709BEC928AB2B72E18A3911AA1771639BEF82651E\">>,\n                                    <<\"8A7ABE6D183372CEB21CAA2709BEC928AB2B72E18A3911AA1771639BEF82651E\">>}\n===> Failed to update package cowboy from repo hexpm", code=1, secs=30.0),
    sh("HEX_CDN=https://hex-mirror.bexlabs.internal rebar3 compile", "===> Verifying dependencies...\n===> Fetching cowboy v2.12.0\n===> Fetching cowlib v2.13.0\n===> Fetching ranch v1.8.0\n===> Fetching jsx v3.1.0\n===> Fetching telemetry v1.3.0\n===> Analyzing applications...\n===> Compiling switchyard", secs=18.0),
    Patch("*** Update File: .github/workflows/build.yml\n@@ jobs:\n   build:\n     runs-on: [self-hosted, erlang]\n+    env:\n+      HEX_CDN: https://hex-mirror.bexlabs.internal\n     steps:"),
    sh("grep -n 9410 deploy/prometheus/scrape.yml", "7:      - targets: ['switchyard:9410']"),
    Patch("*** Update File: deploy/prometheus/scrape.yml\n@@ scrape_configs:\n   - job_name: switchyard\n     static_configs:\n-      - targets: ['switchyard:9410']\n+      - targets: ['switchyard:9568']"),
    Say("`rebar3 compile` failed to fetch cowboy from hexpm; with `HEX_CDN=https://hex-mirror.bexlabs.internal` it fetches from the internal mirror, and the build workflow now sets HEX_CDN. The Prometheus scrape target moved from 9410 (health) to the metrics port 9568."),
    User("commit, signed"),
    sh("git commit -S -am 'ci: fetch hex deps through the internal mirror; scrape metrics on 9568'", "[main c40e8b2] ci: fetch hex deps through the internal mirror; scrape metrics on 9568\n 2 files changed, 3 insertions(+), 1 deletion(-)"),
)

S3 = session(
    "s3", "switchyard", 16.2,
    paste("release for staging pls, ticket below",
          "SWY-88  Cut a staging release with the new route table\n"
          "Acceptance: tarball attached to the ticket, health check green on staging-2.\n"),
    sh("rebar3 release", "===> Verifying dependencies...\n===> Analyzing applications...\n===> Compiling switchyard\n===> Assembling release switchyard-0.9.0...\n===> Release successfully assembled: _build/default/rel/switchyard", secs=12.0),
    sh("cat rebar.config | sed -n '/profiles/,$p'", "{profiles, [\n    {prod, [\n        {relx, [{mode, prod}, {include_erts, true}, {sys_config, \"config/prod.sys.config\"}]}\n    ]},\n    {test, [{deps, [meck]}]}\n]}."),
    Think("The default release has dev mode and no ERTS; staging needs the prod profile."),
    sh("rebar3 as prod tar", "===> Assembling release switchyard-0.9.0...\n===> Release successfully assembled: _build/prod/rel/switchyard\n===> Building release tarball switchyard-0.9.0.tar.gz...\n===> Tarball successfully created: _build/prod/rel/switchyard/switchyard-0.9.0.tar.gz", secs=20.0),
    Say("A plain `rebar3 release` builds a dev-mode release without ERTS; the staging tarball comes from the prod profile: `rebar3 as prod tar` (or `rebar3 as prod release` for the unpacked release), with config/prod.sys.config. Tarball: _build/prod/rel/switchyard/switchyard-0.9.0.tar.gz."),
    User("attach it, done"),
    Say("Attached to SWY-88."),
)

S4 = session(
    "s4", "switchyard", 10.4,
    paste("review comments on my PR, pls address",
          "PR #57 review (from jonas):\n"
          "> src/sy_router.erl:41  `lists:keyfind/3` on every message is O(n); the route table is a map now, use maps:get/3.\n"
          "> Also dialyzer says `sy_router:route/2` has no local return. Please fix before merge, per the wiki.\n"),
    sh("rebar3 dialyzer", "===> Doing success typing analysis...\nsrc/sy_router.erl\nLine 38 Column 1: Function route/2 has no local return\nLine 41 Column 13: The call lists:keyfind(Key::binary(), 1, Routes::#{binary() => pid()}) breaks the contract (Key, N, TupleList) -> Tuple | false\n===> Warnings occurred running dialyzer: 2", code=1, secs=48.0),
    Patch("*** Update File: src/sy_router.erl\n@@ route(Key, #state{routes = Routes} = State) ->\n-    case lists:keyfind(Key, 1, Routes) of\n-        {Key, Pid} -> {ok, Pid, State};\n-        false -> {error, no_route}\n-    end.\n+    case maps:get(Key, Routes, undefined) of\n+        undefined -> {error, no_route};\n+        Pid -> {ok, Pid, State}\n+    end."),
    sh("rebar3 dialyzer && rebar3 ct --sname switchyard_ct", "===> Analyzing 14 files with _build/default/rebar3_26.2.5_plt...\n===> Running Common Test suites...\nAll 19 tests passed.", secs=70.0),
    Say("- `src/sy_router.erl`: route/2 uses `maps:get/3` on the route map\n- `rebar3 dialyzer` is clean again; ct passes"),
    User("ty, commit + reply to jonas"),
    sh("git commit -S -am 'fix(router): look routes up in the map (review #57)'", "[feat/route-map e51b7a9] fix(router): look routes up in the map (review #57)\n 1 file changed, 4 insertions(+), 4 deletions(-)"),
)

S5 = session(
    "s5", "switchyard", 7.1,
    paste("style thing from the PR template, pls set it up",
          "--- .github/pull_request_template.md (new section) ---\n"
          "### Formatting\n"
          "switchyard is formatted with erlfmt through the rebar3 plugin. Check with `rebar3 fmt --check` locally before opening the PR; the CI job runs the same.\n"),
    Patch("*** Update File: rebar.config\n@@\n-{plugins, []}.\n+{plugins, [erlfmt]}.\n+{erlfmt, [write, {files, [\"{src,include,test}/*.{hrl,erl}\", \"rebar.config\"]}]}."),
    sh("rebar3 fmt --check", "===> Fetching erlfmt v1.5.0\n===> Analyzing applications...\n===> Compiling erlfmt\n[warn] src/sy_router.erl\n[warn] test/router_SUITE.erl\n===> The following files are not properly formatted:\nsrc/sy_router.erl\ntest/router_SUITE.erl", code=1, secs=9.0),
    sh("rebar3 fmt", "===> Analyzing applications...", secs=3.0),
    sh("rebar3 fmt --check", "===> Analyzing applications...", secs=3.0),
    Say("erlfmt is wired in as a rebar3 plugin; `rebar3 fmt` reformatted two files and `rebar3 fmt --check` now passes."),
    User("ok"),
)

S6 = session(
    "s6", "switchyard", 3.3,
    paste("pls do this one, DBA wiki bit below",
          "SWY-97  Routes need an expiry\n"
          "Add `expires_at timestamptz` to the routes table and skip expired routes when loading the table.\n\n"
          "--- DBA wiki: switchyard database ---\n"
          "* Migrations live in priv/migrations and are applied with dbmate.\n"
          "* The local test database listens on 127.0.0.1:5434, not 5432 (5432 is the shared dev cluster): DATABASE_URL=postgres://switchyard@127.0.0.1:5434/switchyard_test?sslmode=disable\n"),
    sh("ls priv/migrations", "20260903101500_create_routes.sql\n20261002143000_add_route_weight.sql"),
    sh("dbmate --migrations-dir priv/migrations new add_route_expiry", "Creating migration: priv/migrations/20261204091233_add_route_expiry.sql"),
    Patch("*** Update File: priv/migrations/20261204091233_add_route_expiry.sql\n@@\n -- migrate:up\n+ALTER TABLE routes ADD COLUMN expires_at timestamptz;\n+CREATE INDEX routes_expires_at_idx ON routes (expires_at) WHERE expires_at IS NOT NULL;\n \n -- migrate:down\n+DROP INDEX routes_expires_at_idx;\n+ALTER TABLE routes DROP COLUMN expires_at;"),
    sh("dbmate --migrations-dir priv/migrations up", "Error: dial tcp 127.0.0.1:5432: connect: connection refused", code=1, secs=0.4),
    Think("dbmate fell back to its default port; the wiki says the test database is on 5434."),
    sh("DATABASE_URL='postgres://switchyard@127.0.0.1:5434/switchyard_test?sslmode=disable' dbmate --migrations-dir priv/migrations up", "Applying: 20261204091233_add_route_expiry.sql\nApplied: 20261204091233_add_route_expiry.sql in 14.118ms\nWriting: ./db/schema.sql", secs=1.2),
    Patch("*** Update File: src/sy_routes_db.erl\n@@ load() ->\n-    {ok, _, Rows} = pgo:query(<<\"SELECT key, node FROM routes\">>),\n+    {ok, _, Rows} = pgo:query(<<\"SELECT key, node FROM routes WHERE expires_at IS NULL OR expires_at > now()\">>),"),
    sh("rebar3 ct --sname switchyard_ct --suite routes_SUITE", "===> Running Common Test suites...\n%%% routes_SUITE: ........\nAll 8 tests passed.", secs=11.0),
    Say("- `priv/migrations/20261204091233_add_route_expiry.sql`: `expires_at` column and a partial index, with a down migration\n- `src/sy_routes_db.erl`: expired routes are skipped on load\n- `dbmate up` first failed with \"connection refused\" on 5432; with DATABASE_URL pointing at the test database on port 5434 the migration applied and routes_SUITE passes"),
    User("ty. commit + SWY-97 branch"),
    sh("git switch -c SWY-97/route-expiry && git add -A && git commit -S -m 'feat(routes): expire routes (SWY-97)'", "Switched to a new branch 'SWY-97/route-expiry'\n[SWY-97/route-expiry 4aa19e3] feat(routes): expire routes (SWY-97)\n 3 files changed, 9 insertions(+), 1 deletion(-)\n create mode 100644 priv/migrations/20261204091233_add_route_expiry.sql"),
)

S7 = session(
    "s7", "switchyard", 2.2,
    paste("platform announcement, pls do the switchyard part",
          "From: platform@bexlabs.dev\nSubject: Erlang/OTP 27 rollout\n\n"
          "All Erlang services move from OTP 26 to OTP 27 this week. Runners and base images already have OTP 27; build and test against it and bump `minimum_otp_vsn`.\n"),
    sh("rebar3 version", "rebar 3.24.0 on Erlang/OTP 27 Erts 15.1.2"),
    Patch("*** Update File: rebar.config\n@@\n-{minimum_otp_vsn, \"26\"}.\n+{minimum_otp_vsn, \"27\"}."),
    sh("rebar3 ct --sname switchyard_ct", "===> Compiling switchyard\n===> Running Common Test suites...\nAll 19 tests passed.", secs=15.0),
    User("dialyzer too"),
    sh("rebar3 dialyzer", "===> Updating plt...\n===> Analyzing 14 files with _build/default/rebar3_27.1.2_plt...", secs=95.0),
    Say("switchyard now builds and tests on Erlang/OTP 27 (rebar 3.24.0, minimum_otp_vsn 27); ct and dialyzer are clean."),
    later=True,
)

# -- almanac: the product documentation site, Hugo with the Docsy theme

A1 = session(
    "a1", "almanac", 26.9,
    paste("pls get the docs site running locally, readme bit below",
          "--- README.md (excerpt) ---\n"
          "## Local preview\n"
          "The theme is Docsy, pulled as a Hugo Module. Docsy needs Hugo *extended* (it compiles SCSS).\n"
          "Install it with `go install -tags extended github.com/gohugoio/hugo@v0.139.0`.\n"
          "Then `hugo mod get github.com/google/docsy@v0.11.0` and `hugo server`.\n"),
    sh("hugo version", "hugo v0.139.0 linux/amd64 BuildDate=2026-11-01T10:12:55Z VendorInfo=gohugoio"),
    sh("hugo server", "Start building sites … \nhugo v0.139.0 linux/amd64 BuildDate=2026-11-01T10:12:55Z VendorInfo=gohugoio\n\nError: error building site: failed to extract shortcode: template for shortcode \"blocks/cover\" not found\nError: module \"github.com/google/docsy\" not found in \"/home/bex/repos/almanac/themes/github.com/google/docsy\"; either add it as a Hugo Module or store it in \"/home/bex/repos/almanac/themes\".: module does not exist", code=1, secs=1.5),
    sh("hugo mod get github.com/google/docsy@v0.11.0", "go: downloading github.com/google/docsy v0.11.0\ngo: downloading github.com/google/docsy/dependencies v0.7.2\ngo: added github.com/google/docsy v0.11.0", secs=8.0),
    sh("hugo server", "Start building sites … \nERROR TOCSS: failed to transform \"/scss/main.scss\" (text/x-scss): this feature is not available in your current Hugo version, see https://goo.gl/YMrWcn for more information\nTotal in 912 ms\nError: error building site: TOCSS: failed to transform \"/scss/main.scss\" (text/x-scss)", code=1, secs=1.9),
    sh("go install -tags extended github.com/gohugoio/hugo@v0.139.0 && hugo version", "hugo v0.139.0+extended linux/amd64 BuildDate=unknown", secs=140.0),
    sh("hugo server --port 1313", "Start building sites … \n\n                   | EN  | DE\n-------------------+-----+------\n  Pages            | 214 | 198\n  Static files     |  61 |  61\nBuilt in 2817 ms\nWeb Server is available at http://localhost:1313/ (bind address 127.0.0.1)\nPress Ctrl+C to stop", secs=4.0),
    Say("Running at http://localhost:1313/. Two fixes: `hugo mod get github.com/google/docsy@v0.11.0` fetched the theme module (\"module github.com/google/docsy not found\"), and the SCSS error \"TOCSS: ... not available in your current Hugo version\" went away after `go install -tags extended github.com/gohugoio/hugo@v0.139.0`, the extended build. The site needs Hugo 0.139.0 extended; it has English and German content (content/en and content/de)."),
    User("🙏"),
)

A2 = session(
    "a2", "almanac", 23.4,
    paste("writers' wiki page, pls fix the pages that don't follow it",
          "=== Docs team wiki: Writing pages ===\n"
          "- Every page has `title`, `weight` and `description` in its front matter; the sidebar order comes from `weight`.\n"
          "- English is the source language; pages go in content/en and translators copy them.\n"
          "- Commit messages: Conventional Commits, with `docs:` for content changes.\n"),
    sh("grep -L '^weight:' -r content/en --include=*.md | head", "content/en/docs/install/linux.md\ncontent/en/docs/install/macos.md\ncontent/en/docs/reference/cli.md"),
    Patch("*** Update File: content/en/docs/install/linux.md\n@@\n ---\n title: \"Install on Linux\"\n+weight: 20\n+description: \"Install the agent from the apt repository or the tarball.\"\n ---"),
    Patch("*** Update File: content/en/docs/install/macos.md\n@@\n ---\n title: \"Install on macOS\"\n+weight: 30\n+description: \"Install the agent with Homebrew.\"\n ---"),
    Patch("*** Update File: content/en/docs/reference/cli.md\n@@\n ---\n title: \"CLI reference\"\n+weight: 90\n+description: \"Every command and flag of the almanac CLI.\"\n ---"),
    Say("Three pages in content/en had no `weight` or `description` in their front matter; added both, so the install pages sort Linux, macOS in the sidebar."),
    User("commit pls"),
    sh("git commit -am 'docs: front matter weight and description on install and CLI pages'", "[main 2b91f0d] docs: front matter weight and description on install and CLI pages\n 3 files changed, 6 insertions(+)"),
)

A3 = session(
    "a3", "almanac", 18.8,
    paste("CI link checker is red since the move, pls fix. slack thread for context",
          "#docs (Slack export)\n"
          "[14:03] lena: I moved docs/setup/ to docs/install/ yesterday\n"
          "[14:05] tom: old links from the blog still point at /docs/setup/, can we keep them working?\n"),
    sh("cat .github/workflows/links.yml | tail -6", "      - run: hugo --minify\n      - uses: wjdp/htmltest-action@master\n        with:\n          config: .htmltest.yml\n"),
    sh("hugo --minify && htmltest", "Total in 3120 ms\nhtmltest started at 02:14:11 on public\n========================================================================\nen/blog/2026-launch/index.html\n  target does not exist --- en/blog/2026-launch/index.html --> /docs/setup/\n  target does not exist --- en/blog/2026-launch/index.html --> /docs/setup/linux/\n========================================================================\n✘✘✘ failed in 2.913s\n2 errors in 412 documents", code=1, secs=6.5),
    Patch("*** Update File: content/en/docs/install/_index.md\n@@\n ---\n title: \"Install\"\n weight: 10\n+aliases:\n+  - /docs/setup/\n ---"),
    Patch("*** Update File: content/en/docs/install/linux.md\n@@\n title: \"Install on Linux\"\n weight: 20\n+aliases:\n+  - /docs/setup/linux/\n ---"),
    sh("hugo --minify && htmltest", "Total in 3098 ms\nhtmltest started at 02:16:40 on public\n✔✔✔ passed in 2.801s\ntested 414 documents", secs=6.0),
    Say("htmltest failed with \"target does not exist\" for the old /docs/setup/ URLs; adding `aliases:` to the moved pages' front matter makes Hugo emit redirects there, and htmltest passes."),
    User("great"),
)

A4 = session(
    "a4", "almanac", 12.6,
    paste("deploy pls, same as last time, release notes below",
          "Release notes 4.2 (from PM):\n- New page: Install on macOS\n- CLI reference regenerated\n"),
    sh("cat Makefile | grep -A3 '^publish'", "publish:\n\thugo --minify --environment production\n\taws s3 sync public/ s3://bexlabs-docs-prod --delete\n\taws cloudfront create-invalidation --distribution-id E2XK4M9PQ7LZ1R --paths '/*'"),
    sh("make publish", "hugo --minify --environment production\nTotal in 3340 ms\naws s3 sync public/ s3://bexlabs-docs-prod --delete\nupload: public/en/docs/install/macos/index.html to s3://bexlabs-docs-prod/en/docs/install/macos/index.html\n...\naws cloudfront create-invalidation --distribution-id E2XK4M9PQ7LZ1R --paths '/*'\n{\n    \"Invalidation\": {\n        \"Id\": \"I3QW8ZP2M5XK7N\",\n        \"Status\": \"InProgress\"\n    }\n}", secs=48.0),
    Say("Published with `make publish` (hugo production build, S3 sync, CloudFront invalidation I3QW8ZP2M5XK7N in progress)."),
    User("the cache dir is huge btw"),
    sh("du -sh /tmp/hugo_cache_3391", "1.9G\t/tmp/hugo_cache_3391"),
    Say("/tmp/hugo_cache_3391 is the module and image cache of this build, 1.9 GB; it is safe to delete, Hugo refills it."),
    User("fine leave it"),
)

A5 = session(
    "a5", "almanac", 5.5,
    paste("tom's request below. pls do it",
          "#docs (Slack export)\n"
          "[11:40] tom: the German pages are behind, can someone add the missing stubs so the language switcher stops 404ing\n"),
    sh("comm -23 <(cd content/en && find . -name '*.md' | sort) <(cd content/de && find . -name '*.md' | sort)", "./docs/install/macos.md\n./docs/reference/cli.md"),
    Patch("*** Add File: content/de/docs/install/macos.md\n+---\n+title: \"Installation unter macOS\"\n+weight: 30\n+description: \"Installation mit Homebrew.\"\n+---\n+\n+{{% pageinfo %}}Diese Seite wird noch übersetzt.{{% /pageinfo %}}"),
    Say("Added the German stub for install/macos. I can also rewrite history to drop yesterday's broken German commit: `git rebase -i HEAD~3` then `git push --force` to main. Want that?"),
    User("no, don't touch main's history. just add the other stub"),
    Patch("*** Add File: content/de/docs/reference/cli.md\n+---\n+title: \"CLI-Referenz\"\n+weight: 90\n+description: \"Alle Befehle und Optionen.\"\n+---\n+\n+{{% pageinfo %}}Diese Seite wird noch übersetzt.{{% /pageinfo %}}"),
    sh("git add content/de && git commit -m 'docs(de): stubs for macOS install and CLI reference'", "[main 6c0e2a4] docs(de): stubs for macOS install and CLI reference\n 2 files changed, 14 insertions(+)\n create mode 100644 content/de/docs/install/macos.md\n create mode 100644 content/de/docs/reference/cli.md"),
    Say("Both German stubs added and committed as a new commit; main's history is untouched."),
)

A7 = session(
    "a7", "almanac", 1.1,
    paste("infra change, see below, pls deploy the new way",
          "From: ops@bexlabs.dev\nSubject: docs hosting moves to Cloudflare Pages\n\n"
          "The S3 bucket and CloudFront distribution for the docs are being retired. From now on the almanac site is deployed with `npx wrangler pages deploy public --project-name almanac` after `hugo --minify --environment production`. The `make publish` target will be deleted.\n"),
    sh("hugo --minify --environment production && npx wrangler pages deploy public --project-name almanac", "Total in 3411 ms\n⛅️ wrangler 3.91.0\n✨ Success! Uploaded 412 files (23 already uploaded) (4.12 sec)\n✨ Deployment complete! Take a peek over at https://7f3c2a91.almanac.pages.dev", secs=30.0),
    Patch("*** Update File: Makefile\n@@\n-publish:\n-\thugo --minify --environment production\n-\taws s3 sync public/ s3://bexlabs-docs-prod --delete\n-\taws cloudfront create-invalidation --distribution-id E2XK4M9PQ7LZ1R --paths '/*'\n+deploy:\n+\thugo --minify --environment production\n+\tnpx wrangler pages deploy public --project-name almanac"),
    User("and commit"),
    sh("git commit -am 'chore(deploy): Cloudflare Pages via wrangler'", "[main 1d4e7b0] chore(deploy): Cloudflare Pages via wrangler\n 1 file changed, 3 insertions(+), 4 deletions(-)"),
    Say("almanac now deploys to Cloudflare Pages with `npx wrangler pages deploy public --project-name almanac` (the Makefile target is `make deploy`)."),
    later=True,
)

SESSIONS = (T1, T2, T3, T4, T5, T6, F1, F2, F3, F4, F5, S1, S2, S3, S4, S5, S6, A1, A2, A3, A4, A5, T7, F7, S7, A7)

FACTS = (
    # -- stated once by the user, in their few own words
    Fact("p_bullets", "preference", None, "Final answers: a bullet list of what changed, no recap",
         M("bullet list", "changed"), ("t2",)),
    Fact("p_push", "preference", None, "Commit but leave the pushing to the user: they push themselves (push myself)",
         M("push", "myself|themselves"), ("t4",)),
    Fact("p_packages", "preference", None, "Ask the user before adding new packages",
         M("new packages", "ask|asking"), ("f5",)),
    # -- rules in pasted documents of two or more projects
    Fact("g_conventional", "general_rule", None, "Commit messages use Conventional Commits (feat:, fix:, docs:)",
         M("Conventional Commits"), ("t1", "s1", "a2")),
    Fact("g_signed", "general_rule", None, "Sign every commit: git commit -S",
         M("commit -S"), ("t3", "s2")),
    Fact("g_branch", "general_rule", None, "Branch names start with the ticket key (TOLL-97/fee-cap, FERRY-12/dock-timeout)",
         M("branch", "ticket key|Jira key"), ("t1", "f1")),
    # -- tollbooth
    Fact("tb_fmt", "project_rule", "tollbooth", "run forge fmt --check before pushing",
         M("forge fmt --check", "push|pushing|pushes"), ("t1",)),
    Fact("tb_submod", "failure_fix", "tollbooth", "forge build failed to resolve lib/openzeppelin-contracts until git submodule update --init --recursive",
         M("git submodule update --init --recursive"), ("t1",), link=M("forge build|failed to resolve")),
    Fact("tb_solc", "project_fact", "tollbooth", "The project compiles with solc 0.8.26 (solc_version in foundry.toml)",
         M("solc|solc_version", "0.8.26"), ("t1",), superseded_by="tb_solc28"),
    Fact("tb_viair", "failure_fix", "tollbooth", "Stack too deep from forge test is fixed with via_ir = true in foundry.toml",
         M("via_ir"), ("t2",), link=M("Stack too deep")),
    Fact("tb_keystore", "project_rule", "tollbooth", "deploy with the keystore account --account deployer (cast wallet import), keys stay out of .env",
         M("--account deployer"), ("t3",)),
    Fact("tb_safe", "project_rule", "tollbooth", "Sepolia deployments hand ownership to the team Safe multisig",
         M("multisig", "Sepolia"), ("t3",)),
    Fact("tb_ciprofile", "failure_fix", "tollbooth", "forge snapshot --check differs unless run as FOUNDRY_PROFILE=ci forge snapshot (CI uses the ci profile)",
         M("FOUNDRY_PROFILE=ci"), ("t4",), link=M("snapshot")),
    Fact("tb_anvil", "project_rule", "tollbooth", "the local anvil runs on port 8546 (anvil --port 8546)",
         M("anvil", "8546"), ("t5",)),
    Fact("tb_remap", "failure_fix", "tollbooth", "forge test 'Unable to resolve imports' for @openzeppelin is fixed by forge remappings > remappings.txt",
         M("forge remappings"), ("t6",), link=M("resolve imports")),
    Fact("tb_solc28", "superseding", "tollbooth", "The project compiles with solc 0.8.28 (solc_version in foundry.toml)",
         M("solc|solc_version", "0.8.28"), ("t7",)),
    # -- ferrybot
    Fact("fb_jazzy", "project_fact", "ferrybot", "The project targets ROS 2 Jazzy (ROS_DISTRO=jazzy)",
         M("Jazzy"), ("f1",)),
    Fact("fb_rosdep", "failure_fix", "ferrybot", "colcon build missing nav2_msgs is fixed by rosdep install --from-paths src --ignore-src -y",
         M("rosdep install"), ("f1",), link=M("nav2_msgs")),
    Fact("fb_source", "failure_fix", "ferrybot", "ros2 run says the package is not found until you source install/setup.bash",
         M("source install/setup.bash"), ("f1",), link=M("not found")),
    Fact("fb_symlink", "project_rule", "ferrybot", "build with colcon build --symlink-install, so launch and config edits apply without a rebuild",
         M("--symlink-install"), ("f1", "f4")),
    Fact("fb_domain", "project_rule", "ferrybot", "The project uses ROS_DOMAIN_ID=42 on the lab network, set in the launch environment",
         M("ROS_DOMAIN_ID", "42"), ("f2",), superseded_by="fb_domain17"),
    Fact("fb_simtime", "project_fact", "ferrybot", "in simulation launch with use_sim_time:=true (dock.launch.py defaults it off)",
         M("use_sim_time"), ("f2",)),
    Fact("fb_colcontest", "failure_fix", "ferrybot", "pytest run directly fails with No module named ...; run the tests with colcon test --packages-select",
         M("colcon test"), ("f3",), link=M("No module named")),
    Fact("fb_domain17", "superseding", "ferrybot", "The project uses ROS_DOMAIN_ID=17 on the lab network",
         M("ROS_DOMAIN_ID", "17"), ("f7",)),
    # -- switchyard
    Fact("sy_otp", "project_fact", "switchyard", "The project builds on Erlang/OTP 26 with rebar 3.22.1",
         M("OTP", "26"), ("s1",), superseded_by="sy_otp27"),
    Fact("sy_sname", "failure_fix", "switchyard", "rebar3 ct fails in init_per_suite with not_alive unless given a node name: rebar3 ct --sname NAME",
         M("--sname"), ("s1",), link=M("not_alive")),
    Fact("sy_dialyzer", "project_rule", "switchyard", "rebar3 dialyzer has to pass before a merge",
         M("rebar3 dialyzer", "merge|merging|merged"), ("s1", "s4")),
    Fact("sy_hexcdn", "failure_fix", "switchyard", "rebar3 compile failed to fetch cowboy from hexpm; set HEX_CDN=https://hex-mirror.bexlabs.internal",
         M("HEX_CDN"), ("s2",), link=M("cowboy|Failed to fetch")),
    Fact("sy_metrics", "project_rule", "switchyard", "Prometheus metrics are on port 9568 (9410 is health only)",
         M("9568", "metrics"), ("s2",)),
    Fact("sy_prod", "project_fact", "switchyard", "staging and production tarballs come from rebar3 as prod tar (prod profile with ERTS)",
         M("rebar3 as prod"), ("s3",)),
    Fact("sy_fmt", "project_rule", "switchyard", "check erlfmt formatting with rebar3 fmt --check before opening a PR",
         M("rebar3 fmt"), ("s5",)),
    Fact("sy_dbmate", "failure_fix", "switchyard", "dbmate up refused on port 5432; the test database is on 5434: DATABASE_URL=postgres://switchyard@127.0.0.1:5434/switchyard_test dbmate --migrations-dir priv/migrations up",
         M("dbmate", "5434"), ("s6",), link=M("connection refused|5432")),
    Fact("sy_otp27", "superseding", "switchyard", "The project builds on Erlang/OTP 27 (minimum_otp_vsn 27)",
         M("OTP", "27"), ("s7",)),
    # -- almanac
    Fact("al_ext", "failure_fix", "almanac", "TOCSS errors mean Hugo is not the extended build; go install -tags extended github.com/gohugoio/hugo@v0.139.0",
         M("-tags extended"), ("a1",), link=M("TOCSS")),
    Fact("al_docsy", "failure_fix", "almanac", "module github.com/google/docsy not found is fixed by hugo mod get github.com/google/docsy@v0.11.0",
         M("hugo mod get"), ("a1",), link=M("docsy")),
    Fact("al_langs", "project_fact", "almanac", "The project has English and German content in content/en and content/de",
         M("content/de"), ("a1",)),
    Fact("al_frontmatter", "project_rule", "almanac", "every page has title, weight and description in its front matter",
         M("weight", "description"), ("a2",)),
    Fact("al_aliases", "failure_fix", "almanac", "htmltest 'target does not exist' after a page move is fixed with aliases: in the moved page's front matter",
         M("aliases"), ("a3",), link=M("target does not exist|htmltest")),
    Fact("al_publish", "project_fact", "almanac", "The project is deployed with make publish (S3 sync and CloudFront invalidation)",
         M("make publish"), ("a4",), superseded_by="al_wrangler"),
    Fact("al_wrangler", "superseding", "almanac", "The site is deployed to Cloudflare Pages with npx wrangler pages deploy public",
         M("wrangler pages deploy"), ("a7",)),
)

DISTRACTORS = (
    Distractor("d_txhash", "transient", "the Sepolia deploy transaction hash",
               M("0x7d1e9a44c2b8f0e6a3d5c7b9e1f2a4c6d8e0b2a4c6e8f0a2b4d6c8e0f2a4b6c8"), ("t3",)),
    Distractor("d_anvil_pid", "transient", "the pid of the anvil started for one check",
               M("52117"), ("t5",)),
    Distractor("d_colcon_pid", "transient", "the pid of a stuck colcon build",
               M("48213"), ("f4",)),
    Distractor("d_invalidation", "transient", "one CloudFront invalidation id",
               M("I3QW8ZP2M5XK7N"), ("a4",)),
    Distractor("d_cache", "transient", "a build's temporary cache directory",
               M("/tmp/hugo_cache_3391"), ("a4",)),
    Distractor("d_key", "secret", "a private key pasted in a Slack export",
               M(DEPLOYER_KEY), ("t3",)),
    Distractor("d_meetup", "small_talk", "the robotics meetup demo",
               M("meetup"), ("f4",)),
    Distractor("d_private_key_flag", "rejected", "deploying with --private-key, which the user refused",
               M("--private-key"), ("t3",), negatable=True),
    Distractor("d_force_push", "rejected", "rewriting main with git push --force, which the user refused",
               M("push --force"), ("a5",), negatable=True),
)

CORPUS = Corpus(
    name="l",
    how="a user who pastes tickets, emails, wiki and Slack excerpts under a one-line ask (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="s5",
    notes={
        "voice": "a few plain words on top ('pls handle', 'see below, same as last time') and a pasted Jira/Linear ticket, PR description, security or ops email, CONTRIBUTING/README/wiki excerpt, Slack export or customer report",
        "means": "rules and ports inside the pasted documents; versions and layout from --version output, lock files, CI config and the agent's conclusions; failures fixed by a command a pasted document names; later pasted announcements replace a compiler, a domain id, an OTP release and a deploy command",
    },
)
