# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Corpus U: the tech lead of a small hardware startup who explains why.

Wanjiru leads the software side of a six-person company that builds soil and air sensor nodes.
She keeps four repositories: nightjar (the Zephyr RTOS firmware for the nRF52840 sensor board,
built with west, tested with twister on native_sim and on a hardware-in-the-loop rig, flashed
with nrfjprog and updated over mcumgr), lodestar (a Bazel monorepo with bzlmod for the host-side
tools: the factory flasher, calibration and log decoding), tamarack (a Haskell ingest service
built with Stack and hpack, linted with hlint, formatted with ormolu) and quillwort (the Azure
infrastructure in Bicep, deployed with the az CLI). She rarely gives orders: a rule arrives as
the story behind it ("last spring someone flashed ... so ..."), as a rhetorical question she
answers herself, as a team convention ("we keep ...", "around here nobody ..."), as a
consequence ("if you run X without Y, ...") or as a correction of the agent's wrong assumption
("no, that's not where it lives"). Some messages are several short paragraphs, some sessions
pick up where an earlier one stopped. Knowledge arrives in tool output (west, devicetree and
Kconfig errors, linker maps, nrfjprog, mcumgr, bazel analysis errors, stack and GHC errors with
source spans, hpack, az and bicep errors with codes, git) and in the agent's conclusions. Her
team's rules come back in two or three repositories in other words and shapes; look-alike rules
differ per repository (formatter, branch to target, which environment a command runs against).
Later sessions bring a Zephyr SDK upgrade, a Bazel major version, a new Stackage resolver and a
region move.

Written after A-T without reading their sessions or memoryd's extraction and consolidation
code, and never run through memoryd before it was committed: held out.
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
HOME = "/home/wnjoroge/code"
PROJECTS = (
    Project("nightjar", f"{HOME}/nightjar", "git@github.com:soilwise-hw/nightjar-fw.git", "fw-next"),
    Project("lodestar", f"{HOME}/lodestar", "git@github.com:soilwise-hw/lodestar.git"),
    Project("tamarack", f"{HOME}/tamarack", "git@github.com:soilwise-hw/tamarack-ingest.git"),
    Project("quillwort", f"{HOME}/quillwort", "git@github.com:soilwise-hw/quillwort-infra.git", "env/staging"),
)

STORAGE_CONN = "DefaultEndpointsProtocol=https;AccountName=stsoilwisedev;AccountKey=Zq3v8TnW1xKp5Lr9Yb2Hc6Df0Gj4Mk7Ns1Qt8Vw3Xy5Az9Be2Cf6Dg0Eh4Ij8Kl1Mn5Op9Qr3St7Uv2Wx6Yz0AbCdEfGh==;EndpointSuffix=core.windows.net"
STORAGE_KEY = "Zq3v8TnW1xKp5Lr9Yb2Hc6Df0Gj4Mk7Ns1Qt8Vw3Xy5Az9Be2Cf6Dg0Eh4Ij8Kl1Mn5Op9Qr3St7Uv2Wx6Yz0AbCdEfGh=="

# -- nightjar: Zephyr firmware for the nRF52840 sensor node (west, twister, nrfjprog, mcumgr)

NJ1 = Session("nj1", "nightjar", 25.3, (
    User("We're moving nightjar to the rev C boards this week and I'd like a bench build for them before the hardware people start asking.\n\nA bit of history so the rest of the month makes sense. Last spring someone flashed the production bootloader from a dev build on their laptop and we bricked eleven boards at a vineyard in Stellenbosch, so the images we ship to customers come out of CI and from nowhere else. What you build here is for the bench.\n\nThe C in this repo goes through clang-format with the .clang-format file that Zephyr itself ships. We took theirs on purpose: when we upstream a driver fix nobody wants a review thread about brace placement."),
    Think("Find the board definition and the overlay for rev C, then do a pristine build."),
    Sh("ls boards/arm/ app/boards/", "boards/arm/:\nfennec_node\n\napp/boards/:\nfennec_node_nrf52840.overlay\nfennec_node_nrf52840_revc.overlay"),
    Sh("west build -p always -b fennec_node/nrf52840 app -- -DEXTRA_DTC_OVERLAY_FILE=boards/fennec_node_nrf52840_revc.overlay", "-- west build: generating a build system\nLoading Zephyr default modules (Zephyr base).\n-- Application: /home/wnjoroge/code/nightjar/app\n-- Found Python3: /usr/bin/python3 (found suitable version \"3.12.3\", minimum required is \"3.10\")\n-- Board: fennec_node, qualifiers: nrf52840\n-- Found host-tools: zephyr 0.16.8 (/opt/zephyr-sdk-0.16.8)\n-- Found toolchain: zephyr 0.16.8 (/opt/zephyr-sdk-0.16.8)\n-- Found Dtc: /opt/zephyr-sdk-0.16.8/sysroots/x86_64-pokysdk-linux/usr/bin/dtc (found suitable version \"1.6.0\", minimum required is \"1.4.6\")\n-- Found BOARD.dts: /home/wnjoroge/code/nightjar/boards/arm/fennec_node/fennec_node_nrf52840.dts\n-- Found devicetree overlay: boards/fennec_node_nrf52840_revc.overlay\ndevicetree error: /home/wnjoroge/code/nightjar/app/boards/fennec_node_nrf52840_revc.overlay:9 (column 1): parse error: undefined node label 'arduino_i2c'\n-- In: /home/wnjoroge/code/nightjar/build/zephyr, command: /usr/bin/python3;/home/wnjoroge/zephyrproject/zephyr/scripts/dts/gen_defines.py\nCMake Error at /home/wnjoroge/zephyrproject/zephyr/cmake/modules/dts.cmake:295 (execute_process):\n  execute_process failed command indexes:\n    1: \"Child return code: 1\"\n-- Configuring incomplete, errors occurred!\nFATAL ERROR: command exited with status 1: /usr/bin/cmake -DWEST_PYTHON=/usr/bin/python3 -B/home/wnjoroge/code/nightjar/build -GNinja -DBOARD=fennec_node/nrf52840 -S/home/wnjoroge/code/nightjar/app", code=1, secs=9.4),
    Sh("sed -n '1,20p' app/boards/fennec_node_nrf52840_revc.overlay && grep -n 'i2c1\\|i2c0' boards/arm/fennec_node/fennec_node_nrf52840.dts", "/* Rev C: the SHT4x moved to the second TWIM bus, pins P0.26/P0.27 */\n#include <zephyr/dt-bindings/gpio/gpio.h>\n\n/ {\n\taliases {\n\t\tambient = &sht4x;\n\t};\n};\n\n&arduino_i2c {\n\tstatus = \"okay\";\n\tsht4x: sht4x@44 {\n\t\tcompatible = \"sensirion,sht4x\";\n\t\treg = <0x44>;\n\t\trepeatability = <2>;\n\t};\n};\n148:&i2c0 {\n162:&i2c1 {"),
    Say("The rev C overlay was copied from a DK example: `arduino_i2c` is a label of the nRF52840 DK's devicetree, and our board's .dts has only `i2c0` and `i2c1`. The comment says the sensor moved to the second TWIM bus, so the node belongs under `&i2c1`."),
    Patch("*** Update File: app/boards/fennec_node_nrf52840_revc.overlay\n@@\n-&arduino_i2c {\n+&i2c1 {\n \tstatus = \"okay\";\n \tsht4x: sht4x@44 {"),
    Sh("west build -p always -b fennec_node/nrf52840 app -- -DEXTRA_DTC_OVERLAY_FILE=boards/fennec_node_nrf52840_revc.overlay 2>&1 | tail -n 9", "[212/218] Linking C executable zephyr/zephyr_pre0.elf\n[216/218] Linking C executable zephyr/zephyr.elf\nMemory region         Used Size  Region Size  %age Used\n           FLASH:      401236 B       480 KB     81.63%\n             RAM:       97840 B       256 KB     37.32%\n        IDT_LIST:          0 GB        32 KB      0.00%\nGenerating files from /home/wnjoroge/code/nightjar/build/zephyr/zephyr.elf for board: fennec_node\n[218/218] Generating zephyr/zephyr.hex\nwest build: build complete", secs=74.0),
    Say("Rev C builds for the bench.\n\n- Board target: `fennec_node/nrf52840` (our own board under `boards/arm/fennec_node`), with `-DEXTRA_DTC_OVERLAY_FILE=boards/fennec_node_nrf52840_revc.overlay` for rev C.\n- The devicetree error \"undefined node label 'arduino_i2c'\" came from a DK label in the overlay; the SHT4x node now sits under `&i2c1`.\n- Toolchain: Zephyr SDK 0.16.8 in `/opt/zephyr-sdk-0.16.8`.\n- Flash use is 81.6 % of the 480 KB application slot, worth watching."),
    User("Good. Format the overlay change the way the repo expects and leave it uncommitted, I want to look at the diff with Tomás tomorrow."),
    Sh("git clang-format --diff HEAD -- app/ && git status --short", "no modified files to format\n M app/boards/fennec_node_nrf52840_revc.overlay"),
    Say("clang-format has nothing to change (it only looks at C sources; the overlay edit is one label). The change is left uncommitted in `app/boards/fennec_node_nrf52840_revc.overlay`."),
))

NJ2 = Session("nj2", "nightjar", 22.1, (
    User("Picking up from Monday: the SHT4x readings need the sensor subsystem switched on, and the humidity channel should be in the unit tests too.\n\nA word about the rig before you go near it. If you run twister against the HIL rig and walk away, it stays powered overnight, and the Li-ion cells in the test fixtures swell. We lost two fixtures like that in August. So whoever uses the rig finishes with rigctl off, every time, even after a failed run.\n\nWhen you report back, put the result in the first line and the reasoning below it. I read these between standups and the first line is often all I get to."),
    Patch("*** Update File: app/prj.conf\n@@\n CONFIG_LOG=y\n+CONFIG_SENSOR=y\n+CONFIG_SHT4X=y"),
    Sh("west build -b fennec_node/nrf52840 app 2>&1 | tail -n 12", "-- Found devicetree overlay: boards/fennec_node_nrf52840_revc.overlay\nParsing /home/wnjoroge/code/nightjar/app/Kconfig\nLoaded configuration '/home/wnjoroge/code/nightjar/boards/arm/fennec_node/fennec_node_nrf52840_defconfig'\nMerged configuration '/home/wnjoroge/code/nightjar/app/prj.conf'\n\nwarning: SHT4X (defined at /home/wnjoroge/zephyrproject/zephyr/drivers/sensor/sensirion/sht4x/Kconfig:6) was assigned the value 'y' but got the value 'n'. Check these unsatisfied dependencies: I2C (=n). See http://docs.zephyrproject.org/latest/kconfig.html#CONFIG_SHT4X and/or look up SHT4X in the menuconfig/guiconfig interface.\n\nerror: Aborting due to Kconfig warnings\n\nCMake Error at /home/wnjoroge/zephyrproject/zephyr/cmake/modules/kconfig.cmake:396 (message):\n  command failed with return code: 1\n-- Configuring incomplete, errors occurred!", code=1, secs=6.8),
    Say("Kconfig refuses `CONFIG_SHT4X=y` because its dependency `I2C` is off in this app's configuration (the board's defconfig does not enable it). Adding `CONFIG_I2C=y` to `prj.conf`."),
    Patch("*** Update File: app/prj.conf\n@@\n CONFIG_LOG=y\n+CONFIG_I2C=y\n CONFIG_SENSOR=y\n CONFIG_SHT4X=y"),
    Sh("west build -b fennec_node/nrf52840 app 2>&1 | tail -n 2", "[231/231] Generating zephyr/zephyr.hex\nwest build: build complete", secs=58.0),
    Patch("*** Update File: tests/sensors/src/main.c\n@@ ZTEST(sensors, test_temperature_scaling)\n+ZTEST(sensors, test_humidity_scaling)\n+{\n+\tstruct sensor_value v = raw_to_rh(0x7a1c);\n+\n+\tzassert_equal(v.val1, 53, \"integer part\");\n+\tzassert_within(v.val2, 410000, 5000, \"fractional part\");\n+}"),
    Sh("west twister -T tests -p native_sim --inline-logs", "INFO    - Using Ninja..\nINFO    - Zephyr version: v3.7.0\nINFO    - Using 'zephyr' toolchain.\nINFO    - Building initial testsuite list...\nINFO    - JOBS: 2\nINFO    - Adding tasks to the queue...\nINFO    - Added initial list of jobs to queue\nINFO    - Total complete:    6/   6  100%  built (not run):    0, filtered:    0, failed:    0, error:    0\nINFO    - 6 test scenarios (6 configurations) selected, 0 configurations filtered (0 by static filter, 0 at runtime).\nINFO    - 6 of 6 executed test configurations passed (100.00%), 0 built (not run), 0 failed, 0 errored, with no warnings in 41.22 seconds.\nINFO    - 31 of 31 executed test cases passed (100.00%) on 1 out of total 1 platforms (100.00%).\nINFO    - Completed in 41.87 seconds", secs=44.0),
    Sh("cat rig/hardware-map.yaml && west twister -T tests/hil --device-testing --hardware-map rig/hardware-map.yaml 2>&1 | tail -n 3", "- connected: true\n  id: '001050298134'\n  platform: fennec_node/nrf52840\n  product: J-Link\n  runner: nrfjprog\n  serial: /dev/ttyACM3\nINFO    - 4 of 4 executed test configurations passed (100.00%), 0 built (not run), 0 failed, 0 errored, with no warnings in 212.40 seconds.\nINFO    - 12 of 12 executed test cases passed (100.00%) on 1 out of total 1 platforms (100.00%).\nINFO    - Completed in 214.03 seconds", secs=216.0),
    Sh("rigctl off && rigctl status", "rig: relay 1 (fixture power) OFF\nrig: relay 2 (J-Link USB) OFF\nstate: idle, all outputs off"),
    Say("Sensor readings work and every test passes, on native_sim and on the rig.\n\n- Kconfig stopped at \"SHT4X ... Check these unsatisfied dependencies: I2C (=n)\" and \"Aborting due to Kconfig warnings\"; `CONFIG_I2C=y` in `app/prj.conf` fixed it.\n- Unit tests run with `west twister -T tests -p native_sim` (31 cases, including the new humidity one); the HIL suite in `tests/hil` ran on the rig with `rig/hardware-map.yaml`.\n- The rig is off again (`rigctl off`, both relays off)."),
))

NJ3 = Session("nj3", "nightjar", 18.2, (
    User("The first batch of rev C boards came back from the assembler. Can you put the bench build on the one that's plugged in and check it boots?\n\nAnd while you're near the manifest: we pin zephyr in west.yml to a release tag. Two days before the Hannover demo a west update pulled main and the Bluetooth stack changed underneath us; we spent the night bisecting instead of sleeping. So if the tag in there looks old, that's on purpose."),
    Sh("west flash --runner nrfjprog", "-- west flash: rebuilding\nninja: no work to do.\n-- west flash: using runner nrfjprog\n-- runners.nrfjprog: reset after flashing requested\n-- runners.nrfjprog: Flashing file: /home/wnjoroge/code/nightjar/build/zephyr/zephyr.hex\nERROR: The operation attempted is unavailable due to readback protection in\nERROR: your device. Please use --recover to unlock the device.\nFATAL ERROR: command exited with status 16: nrfjprog --program /home/wnjoroge/code/nightjar/build/zephyr/zephyr.hex --sectoranduicrerase --verify -f NRF52 --snr 1050298134", code=16, secs=3.9),
    Say("The new boards arrive with APPROTECT set, so the debugger cannot read or program them until the chip is recovered. `nrfjprog --recover` erases the whole chip including UICR, which is fine on a board that has never been flashed (nothing on it yet)."),
    Sh("nrfjprog --recover -f NRF52 --snr 1050298134", "Recovering device. This operation might take 30s.\nErasing user code and UICR flash areas.\nWriting image to disable ap protect.", secs=31.0),
    Sh("west flash --runner nrfjprog 2>&1 | tail -n 4", "Parsing image file.\nVerifying programming.\nVerified OK.\nApplying system reset.", secs=12.0),
    Sh("mcumgr conn show && mcumgr -c fennec-usb echo hello", "Connection profiles:\n  fennec-usb: type=serial, connstring='dev=/dev/ttyACM0,baud=115200,mtu=512'\nhello"),
    Sh("git show HEAD:west.yml | sed -n '1,14p'", "manifest:\n  remotes:\n    - name: zephyrproject-rtos\n      url-base: https://github.com/zephyrproject-rtos\n  projects:\n    - name: zephyr\n      remote: zephyrproject-rtos\n      revision: v3.7.0\n      import:\n        name-allowlist:\n          - cmsis\n          - hal_nordic\n  self:\n    path: nightjar"),
    Say("The rev C board boots the bench build.\n\n- `west flash` stopped at \"readback protection ... Please use --recover\"; `nrfjprog --recover -f NRF52` unlocked the chip (fresh boards ship with APPROTECT on), then `west flash` verified and reset.\n- The board answers over SMP: `mcumgr -c fennec-usb echo hello` (the `fennec-usb` connection profile is the board's USB CDC serial at 115200).\n- `west.yml` pins zephyr at `v3.7.0`; I left it alone."),
))

NJ4 = Session("nj4", "nightjar", 13.3, (
    User("Next: the field logging feature from Tomás's branch pushes the image past the flash limit. See what you can do.\n\nYou'll see -Werror is on in CI. That's not an accident either. Last year a warning about a variable that might be used uninitialised scrolled past in a build log, and three months later it was a sensor node in a greenhouse reporting 6553 °C. Since then, in this repo, warnings are build errors and we fix the code rather than the flags.\n\nWhen it builds, the PR goes to fw-next. Main only moves when we cut a release, which keeps what the factory flashes boring and predictable."),
    Sh("git switch field-logging && west build -p always -b fennec_node/nrf52840 app 2>&1 | tail -n 6", "Switched to branch 'field-logging'\n[224/230] Linking C executable zephyr/zephyr_pre0.elf\nFAILED: zephyr/zephyr_pre0.elf zephyr/zephyr_pre0.map\n/opt/zephyr-sdk-0.16.8/arm-zephyr-eabi/bin/../lib/gcc/arm-zephyr-eabi/12.2.0/../../../../arm-zephyr-eabi/bin/ld.bfd: zephyr/zephyr_pre0.elf section `text' will not fit in region `FLASH'\n/opt/zephyr-sdk-0.16.8/arm-zephyr-eabi/bin/../lib/gcc/arm-zephyr-eabi/12.2.0/../../../../arm-zephyr-eabi/bin/ld.bfd: region `FLASH' overflowed by 9412 bytes\ncollect2: error: ld returned 1 exit status", code=1, secs=71.0),
    Sh("west build -t rom_report 2>&1 | grep -E '^(├──|│   ├──) ' | sort -k3 -n -r | head -n 5", "├── lib                                   61208  12.75%  -\n│   ├── os                                38920   8.11%  -\n│   │   ├── cbprintf_complete.c            14760   3.08%  -\n├── subsys                                98412  20.50%  -\n│   ├── logging                           22188   4.62%  -"),
    Say("The full `cbprintf` formatter alone is 14.7 KB. The logging code only formats integers and strings, so the nano variant does the job; that should free more than the 9.4 KB we are short."),
    Patch("*** Update File: app/prj.conf\n@@\n CONFIG_LOG=y\n+# Field logging formats ints and strings only; the full formatter costs ~14 KB of flash.\n+CONFIG_CBPRINTF_NANO=y\n CONFIG_I2C=y"),
    Sh("west build -b fennec_node/nrf52840 app 2>&1 | grep -A3 'Memory region'", "Memory region         Used Size  Region Size  %age Used\n           FLASH:      479844 B       480 KB     97.62%\n             RAM:      101204 B       256 KB     38.61%\n        IDT_LIST:          0 GB        32 KB      0.00%", secs=66.0),
    Say("It fits, but only just: 97.6 % of the slot. The settings partition on the bench board also looks corrupted from Tomás's experiments (the log shows `settings: failed to load`); the quickest way to clear it is `west flash --erase`, which wipes the whole chip before programming. Shall I?"),
    User("No — the settings partition is where the factory calibration lives. Erase it and that board goes back into the climate chamber for a day. Delete the one bad key over mcumgr instead if it's really in the way.\n\nAnd sorry for the short replies today, half the team is at embedded world in Nuremberg and I'm covering the booth calls."),
    Sh("mcumgr -c fennec-usb shell exec 'settings delete fieldlog/cursor'", "status=0"),
    Sh("git add app/prj.conf && git commit -q -m 'Use the nano cbprintf so field logging fits in flash' -m 'The full formatter cost ~14 KB; field logging only prints ints and strings.' && git push -q -u origin field-logging && gh pr create --base fw-next --fill", "https://github.com/soilwise-hw/nightjar-fw/pull/212"),
    Say("Field logging builds and the PR is open against fw-next.\n\n- The linker said \"region `FLASH' overflowed by 9412 bytes\"; `CONFIG_CBPRINTF_NANO=y` in `app/prj.conf` brought it to 97.6 % of flash (14 KB saved).\n- Only the `fieldlog/cursor` setting was deleted over mcumgr; the calibration is untouched.\n- PR: https://github.com/soilwise-hw/nightjar-fw/pull/212 (base `fw-next`)."),
))

NJ5 = Session("nj5", "nightjar", 7.2, (
    User("Picking up the field logging work from last week. The greenhouse pilot wants the new image on the six nodes in the lab over the air rather than on the J-Link. Can you get it onto the one on the bench first, and tell me what the steps were so I can hand them to Amara?"),
    Sh("west build -b fennec_node/nrf52840 app -- -DEXTRA_CONF_FILE=overlay-mcuboot.conf 2>&1 | tail -n 2", "[240/240] Generating zephyr/zephyr.signed.bin\nwest build: build complete", secs=80.0),
    Sh("mcumgr -c fennec-usb image upload build/zephyr/zephyr.signed.bin", " 236.41 KiB / 236.41 KiB [===========================================] 100.00% 9.12 KiB/s 25s\nDone", secs=27.0),
    Sh("mcumgr -c fennec-usb image list", "Images:\n image=0 slot=0\n    version: 1.4.0\n    bootable: true\n    flags: active confirmed\n    hash: 3c1e9f0a7b44d2e8a51c06f9d8e2b7a4c1f05d3e9a8b7c6d5e4f3a2b1c0d9e8f\n image=0 slot=1\n    version: 1.5.0\n    bootable: true\n    flags:\n    hash: a7d4e21b9c0f83e6d5b4a3c2e1f0d9c8b7a6e5d4c3b2a1f0e9d8c7b6a5f4e3d2\nSplit status: N/A (0)"),
    Sh("mcumgr -c fennec-usb image test a7d4e21b9c0f83e6d5b4a3c2e1f0d9c8b7a6e5d4c3b2a1f0e9d8c7b6a5f4e3d2 && mcumgr -c fennec-usb reset", "Images:\n image=0 slot=0\n    version: 1.4.0\n    bootable: true\n    flags: active confirmed\n image=0 slot=1\n    version: 1.5.0\n    bootable: true\n    flags: pending\nSplit status: N/A (0)\nDone"),
    Say("The bench node runs 1.5.0 after an over-the-air update. Steps for Amara:\n\n1. Build with the MCUboot config: `west build -b fennec_node/nrf52840 app -- -DEXTRA_CONF_FILE=overlay-mcuboot.conf` (gives `build/zephyr/zephyr.signed.bin`).\n2. `mcumgr -c fennec-usb image upload build/zephyr/zephyr.signed.bin` (about 25 s over USB).\n3. `mcumgr -c fennec-usb image list`, then `image test <hash of slot 1>` and `reset`.\n4. After it boots, `image confirm`, or MCUboot swaps back on the next reset."),
    User("That's the list I wanted. One question though: is the test-then-confirm dance needed in the lab, or only in the field?"),
    Say("In both: MCUboot reverts an unconfirmed image on the next reset wherever it runs. In the lab it is cheap insurance if 1.5.0 crashes at boot; the node comes back on 1.4.0 without a J-Link."),
))

NJ_L = Session("njL", "nightjar", 1.6, (
    User("Picking this back up after the SDK bump. Tomás moved the build machine to Zephyr SDK 0.17.0 on Friday because the 0.16 toolchain has a codegen bug in the FPU context switch that bit the new pressure sensor driver. The old SDK directory is gone. Can you get the bench build working again?"),
    Sh("west build -p always -b fennec_node/nrf52840 app 2>&1 | sed -n '4,9p'", "-- Board: fennec_node, qualifiers: nrf52840\nCMake Error at /home/wnjoroge/zephyrproject/zephyr/cmake/modules/FindZephyr-sdk.cmake:126 (find_package):\n  Could not find a configuration file for package \"Zephyr-sdk\" that is\n  compatible with requested version \"0.16\".\n\n  The following configuration files were considered but not accepted:\n    /opt/zephyr-sdk-0.17.0/cmake/Zephyr-sdkConfig.cmake, version: 0.17.0", code=1, secs=4.1),
    Sh("grep -rn ZEPHYR_SDK_INSTALL_DIR ~/.zephyrrc .envrc 2>/dev/null", ".envrc:2:export ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk-0.16.8"),
    Patch("*** Update File: .envrc\n@@\n export ZEPHYR_BASE=$HOME/zephyrproject/zephyr\n-export ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk-0.16.8\n+export ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk-0.17.0"),
    Sh("direnv allow && west build -p always -b fennec_node/nrf52840 app 2>&1 | grep -E 'toolchain|build complete'", "-- Found toolchain: zephyr 0.17.0 (/opt/zephyr-sdk-0.17.0)\nwest build: build complete", secs=77.0),
    Say("The bench build works on the new SDK.\n\n- `.envrc` pointed `ZEPHYR_SDK_INSTALL_DIR` at the removed `/opt/zephyr-sdk-0.16.8`; it now points at `/opt/zephyr-sdk-0.17.0` and CMake finds toolchain 0.17.0."),
), later=True)

# -- lodestar: Bazel monorepo (bzlmod) for the host-side tools: factory flasher, calibration, log decoder

LS1 = Session("ls1", "lodestar", 24.4, (
    User("Different repo today. lodestar is where the host tools live, the factory flasher, the calibration scripts and the log decoder, all in one Bazel workspace. Since Joaquim's last merge `bazel build //...` fails on my machine and I haven't had time to look.\n\nOne thing before you start. Do we really want the agent touching MODULE.bazel.lock by hand? No. It's generated output; a hand-edited one sat on main for a week in the summer and everybody got different pip wheels without knowing it. If it needs to change, let bazel write it."),
    Sh("cat .bazelversion && cat .bazelrc", "7.4.1\ncommon --enable_bzlmod\nbuild --remote_cache=grpcs://cache.soilwise.internal:9092\nbuild --remote_upload_local_results=false\nbuild:ci --remote_upload_local_results=true\nbuild:ci --config=strict\nbuild:strict --incompatible_strict_action_env\ntest --test_output=errors"),
    Sh("bazel build //...", "INFO: Invocation ID: 2b7e4c90-51d3-4f6a-8e1b-c3a9d0f47e12\nComputing main repo mapping: \nLoading: \nLoading: 0 packages loaded\nAnalyzing: 37 targets (41 packages loaded, 0 targets configured)\nERROR: /home/wnjoroge/code/lodestar/tools/decoder/BUILD.bazel:9:10: no such package '@@[unknown repo 'pip' requested from @@]//pyserial': The repository '@@[unknown repo 'pip' requested from @@]' could not be resolved: No repository visible as '@pip' from main repository and referenced by '//tools/decoder:decoder'\nERROR: Analysis of target '//tools/decoder:decoder' failed; build aborted: Analysis failed\nINFO: Elapsed time: 3.118s\nINFO: 0 processes.\nFAILED: Build did NOT complete successfully (0 packages loaded, 0 targets configured)", code=1, secs=3.4),
    Sh("grep -n 'pip' MODULE.bazel", "11:bazel_dep(name = \"rules_python\", version = \"0.40.0\")\n14:pip = use_extension(\"@rules_python//python/extensions:pip.bzl\", \"pip\")\n15:pip.parse(\n16:    hub_name = \"pip\",\n17:    python_version = \"3.12\",\n18:    requirements_lock = \"//third_party/python:requirements_lock.txt\",\n19:)"),
    Say("MODULE.bazel sets up the pip extension with `hub_name = \"pip\"` but never brings the hub into scope, so `@pip//pyserial` in the decoder's BUILD file cannot be resolved. Joaquim's merge dropped the `use_repo` line. Adding it back; bazel will refresh the lockfile itself on the next build."),
    Patch("*** Update File: MODULE.bazel\n@@\n     requirements_lock = \"//third_party/python:requirements_lock.txt\",\n )\n+use_repo(pip, \"pip\")"),
    Sh("bazel build //... 2>&1 | tail -n 4", "INFO: Analyzed 37 targets (112 packages loaded, 2904 targets configured).\nINFO: Found 37 targets...\nINFO: Elapsed time: 48.930s, Critical Path: 21.07s\nINFO: Build completed successfully, 214 total actions", secs=50.0),
    Sh("git status --short", " M MODULE.bazel\n M MODULE.bazel.lock"),
    Say("`bazel build //...` passes again.\n\n- The error was \"no such package '@@[unknown repo 'pip' requested from @@]//pyserial'\": MODULE.bazel had `pip.parse(hub_name = \"pip\")` but no `use_repo(pip, \"pip\")`. I added that line.\n- Bazel rewrote `MODULE.bazel.lock` on its own during the build; I did not edit it.\n- The workspace runs Bazel 7.4.1 (`.bazelversion`) with a read-only remote cache at `grpcs://cache.soilwise.internal:9092`; only `--config=ci` uploads."),
))

LS2 = Session("ls2", "lodestar", 20.3, (
    User("Can you add a Bazel test for the calibration tool's CRC check? It lives in tools/calib.\n\nTwo bits of context. Any test that needs a real board on USB gets the tags manual and requires-rig. The CI runners have no USB at all, and the last time a hardware test slipped in untagged, the pipeline sat there for an hour waiting on a port that doesn't exist.\n\nAlso, buildifier will probably complain about something. We fix what it says; when one of its lint warnings really is wrong for a file, the disable line gets a comment next to it saying why, so the next person doesn't have to guess."),
    Patch("*** Add File: tools/calib/crc_test.py\n+import unittest\n+\n+from tools.calib.crc import crc16_ccitt\n+\n+\n+class Crc16Test(unittest.TestCase):\n+    def test_known_vector(self):\n+        self.assertEqual(crc16_ccitt(b\"123456789\"), 0x29B1)\n+\n+\n+if __name__ == \"__main__\":\n+    unittest.main()\n*** Update File: tools/calib/BUILD.bazel\n@@\n+py_test(\n+    name = \"crc_test\",\n+    srcs = [\"crc_test.py\"],\n+    deps = [\":calib_lib\", \"//libs/framing:framing\"],\n+)"),
    Sh("bazel test //tools/calib:crc_test", "INFO: Invocation ID: 90d1aa37-0c6e-4b52-9f84-7e2d61c5b803\nERROR: /home/wnjoroge/code/lodestar/tools/calib/BUILD.bazel:21:8: in py_test rule //tools/calib:crc_test: target '//libs/framing:framing' is not visible from target '//tools/calib:crc_test'. Check the visibility declaration of the former target if you think the dependency is legitimate\nERROR: /home/wnjoroge/code/lodestar/tools/calib/BUILD.bazel:21:8: Analysis of target '//tools/calib:crc_test' failed\nERROR: Analysis of target '//tools/calib:crc_test' failed; build aborted\nINFO: Elapsed time: 1.402s\nFAILED: Build did NOT complete successfully (3 packages loaded, 11 targets configured)\nERROR: Couldn't start the build. Unable to run tests", code=1, secs=1.6),
    Sh("grep -n -A4 'name = \"framing\"' libs/framing/BUILD.bazel", "3:py_library(\n4:    name = \"framing\",\n5:    srcs = [\"framing.py\"],\n6:    visibility = [\"//tools/decoder:__pkg__\"],\n7:)"),
    Say("`//libs/framing` is only visible to the decoder package. The calibration tool is another host tool under `//tools`, so widening it to `//tools:__subpackages__` covers both without making it public."),
    Patch("*** Update File: libs/framing/BUILD.bazel\n@@\n     srcs = [\"framing.py\"],\n-    visibility = [\"//tools/decoder:__pkg__\"],\n+    visibility = [\"//tools:__subpackages__\"],\n )"),
    Sh("bazel test //tools/calib:crc_test 2>&1 | tail -n 3", "//tools/calib:crc_test                                          PASSED in 0.6s\n\nExecuted 1 out of 1 test: 1 test passes.", secs=14.0),
    Sh("buildifier --lint=warn -r tools/calib libs/framing", "tools/calib/BUILD.bazel:14: load-on-top: Load statements should be at the top of the file. (https://github.com/bazelbuild/buildtools/blob/main/WARNINGS.md#load-on-top)", code=4),
    Patch("*** Update File: tools/calib/BUILD.bazel\n@@\n+load(\"@rules_python//python:defs.bzl\", \"py_binary\", \"py_library\", \"py_test\")\n+\n py_library(\n@@\n-load(\"@rules_python//python:defs.bzl\", \"py_binary\", \"py_library\", \"py_test\")"),
    Sh("buildifier --lint=warn -r tools/calib libs/framing && echo clean", "clean"),
    Say("The CRC test passes.\n\n- `bazel test //tools/calib:crc_test` first failed in analysis: \"target '//libs/framing:framing' is not visible\". `libs/framing` now has `visibility = [\"//tools:__subpackages__\"]` instead of the decoder package only.\n- buildifier's `load-on-top` warning was real; the load is at the top now, nothing disabled.\n- The test needs no board, so no `requires-rig` tag."),
))

LS3 = Session("ls3", "lodestar", 15.4, (
    User("CI on lodestar went red overnight on something about the lockfile. Can you see what's going on?\n\nWhile you're in there, the release job. Around here the flasher binaries that go to the factory line come out of the CI pipeline and nobody builds a release one locally. The factory PCs check the signature, and only the pipeline has the signing key.\n\nOn commits: subject line in the imperative, and the body says why the change was needed. The what is in the diff already."),
    Sh("gh run view --log-failed | tail -n 8", "test\tRun bazel test //... --config=ci --lockfile_mode=error\ttest\t2026-11-22T02:14:09.3311Z INFO: Invocation ID: 5d93c1e8-7a20-4b15-b6d4-0f8e2a71c349\ntest\tRun bazel test //... --config=ci --lockfile_mode=error\ttest\t2026-11-22T02:14:11.0482Z ERROR: Error computing the main repository mapping: Lock file is no longer up-to-date because: The MODULE.bazel file has changed. Please run `bazel mod deps --lockfile_mode=update` to update your lockfile.\ntest\tRun bazel test //... --config=ci --lockfile_mode=error\ttest\t2026-11-22T02:14:11.0519Z FAILED: Build did NOT complete successfully\ntest\tRun bazel test //... --config=ci --lockfile_mode=error\ttest\t##[error]Process completed with exit code 1.", code=0),
    Sh("bazel test //... --lockfile_mode=error 2>&1 | tail -n 2", "ERROR: Error computing the main repository mapping: Lock file is no longer up-to-date because: The MODULE.bazel file has changed. Please run `bazel mod deps --lockfile_mode=update` to update your lockfile.\nFAILED: Build did NOT complete successfully", code=1, secs=2.2),
    Sh("git log --oneline -3 -- MODULE.bazel MODULE.bazel.lock", "e41a0b7 Bump rules_python to 0.40.0\n7c3d1f2 Restore use_repo for the pip hub\n19be6a4 Add pyserial for the decoder"),
    Say("The rules_python bump changed MODULE.bazel but the commit did not include the refreshed lockfile, and CI runs with `--lockfile_mode=error`, so it refuses to resolve anything. Bazel regenerates the lockfile itself with `bazel mod deps --lockfile_mode=update`."),
    Sh("bazel mod deps --lockfile_mode=update && git diff --stat", "INFO: Invocation ID: 0a6f8d21-c4b3-4e9a-9d57-1b2e3f4a5c6d\n MODULE.bazel.lock | 38 +++++++++++++++++++++-----------------\n 1 file changed, 21 insertions(+), 17 deletions(-)", secs=11.0),
    Sh("bazel test //... --lockfile_mode=error 2>&1 | tail -n 2", "Executed 9 out of 9 tests: 9 tests pass.\nINFO: Build completed successfully, 9 total actions", secs=61.0),
    Sh("git add MODULE.bazel.lock && git commit -q -m 'Regenerate MODULE.bazel.lock for rules_python 0.40.0' -m 'The bump in e41a0b7 changed MODULE.bazel without the lockfile, and CI resolves with --lockfile_mode=error, so every job failed before analysis.' && git log --oneline -1", "b2c95d0 Regenerate MODULE.bazel.lock for rules_python 0.40.0"),
    Say("CI should be green again.\n\n- Cause: \"Lock file is no longer up-to-date because: The MODULE.bazel file has changed\" after the rules_python 0.40.0 bump.\n- Fix: `bazel mod deps --lockfile_mode=update` regenerated `MODULE.bazel.lock`; `bazel test //... --lockfile_mode=error` passes (9 tests).\n- Committed as b2c95d0 with the reason in the body, not pushed. The release job's workflow was already building from the tag; nothing changed there."),
))

LS4 = Session("ls4", "lodestar", 10.2, (
    User("The factory asked for a --dry-run flag on the flasher so they can check a tray of boards without writing anything. Could you add it and show me how they'd run it?\n\nAnd a half-formed thought I keep having: would it be worth moving the host tools to Nix so the factory PC and our laptops match exactly? Actually, forget it, not this quarter, we have enough moving parts.\n\nOne more thing, since the factory is in Penang and we're in Nairobi: any time you put in a log line or a message for them, write it in UTC. Local times have already caused one missed shipment."),
    Sh("bazel query 'kind(py_binary, //tools/...)'", "//tools/calib:calib\n//tools/decoder:decoder\n//tools/flasher:flasher"),
    Sh("sed -n '1,30p' tools/flasher/main.py | grep -n 'add_argument'", "12:    parser.add_argument(\"--tray\", required=True, help=\"tray manifest (CSV of serials)\")\n13:    parser.add_argument(\"--image\", required=True)\n14:    parser.add_argument(\"--jlink\", action=\"append\", default=[])"),
    Patch("*** Update File: tools/flasher/main.py\n@@\n     parser.add_argument(\"--jlink\", action=\"append\", default=[])\n+    parser.add_argument(\n+        \"--dry-run\",\n+        action=\"store_true\",\n+        help=\"connect to each board and verify the manifest, but write nothing\",\n+    )\n@@ def flash_tray(args):\n     for serial in tray.serials:\n         probe = connect(serial, args.jlink)\n+        if args.dry_run:\n+            log.info(\"%s dry run: would flash %s (UTC %s)\", serial, args.image, utc_now())\n+            continue\n         probe.program(args.image)"),
    Sh("bazel run //tools/flasher -- --help", "INFO: Invocation ID: 6f0e2c1a-93b4-4d7e-a1f5-2b8c9d0e7a41\nINFO: Analyzed target //tools/flasher:flasher (0 packages loaded, 0 targets configured).\nINFO: Found 1 target...\nTarget //tools/flasher:flasher up-to-date:\n  bazel-bin/tools/flasher/flasher\nINFO: Build completed successfully, 4 total actions\nINFO: Running command line: bazel-bin/tools/flasher/flasher --help\nusage: flasher [-h] --tray TRAY --image IMAGE [--jlink JLINK] [--dry-run]\n\noptions:\n  -h, --help     show this help message and exit\n  --tray TRAY    tray manifest (CSV of serials)\n  --image IMAGE  path to the signed image\n  --jlink JLINK\n  --dry-run      connect to each board and verify the manifest, but write nothing", secs=9.0),
    Sh("bazel test //tools/flasher/... 2>&1 | tail -n 2", "Executed 3 out of 3 tests: 3 tests pass.\nINFO: Build completed successfully, 12 total actions", secs=22.0),
    Say("`--dry-run` is in and the flasher's tests pass.\n\n- The flasher is the target `//tools/flasher:flasher`; the factory would run `bazel run //tools/flasher -- --tray tray-0412.csv --image nightjar-1.5.0.signed.hex --dry-run`, or the built `bazel-bin/tools/flasher/flasher` with the same flags.\n- In dry-run mode it connects to each board in the tray and logs what it would flash, with UTC timestamps, and writes nothing."),
))

LS5 = Session("ls5", "lodestar", 5.3, (
    User("Picking up from Thursday. The decoder needs the newer protobuf runtime for the rev C log format. Can you bring it in?\n\nWe keep every bazel_dep pinned to an exact version and every git_override to a commit rather than a branch. It means a bump is a line in a diff someone reviews, rather than something that happens to you on a Monday."),
    Sh("grep -n 'protobuf' MODULE.bazel", "8:bazel_dep(name = \"protobuf\", version = \"27.1\")"),
    Patch("*** Update File: MODULE.bazel\n@@\n-bazel_dep(name = \"protobuf\", version = \"27.1\")\n+bazel_dep(name = \"protobuf\", version = \"29.2\")"),
    Sh("bazel build //tools/decoder/... 2>&1 | tail -n 2", "INFO: Elapsed time: 142.771s, Critical Path: 96.40s\nINFO: Build completed successfully, 1187 total actions", secs=144.0),
    Sh("bazel test //tools/decoder/... 2>&1 | tail -n 1 && git status --short", "Executed 4 out of 4 tests: 4 tests pass.\n M MODULE.bazel\n M MODULE.bazel.lock"),
    Say("protobuf is at 29.2 and the decoder's 4 tests pass. Only `MODULE.bazel`'s `bazel_dep` line changed by hand; bazel refreshed `MODULE.bazel.lock` itself. Left uncommitted for you to look at."),
))

LS_L = Session("lsL", "lodestar", 1.3, (
    User("Joaquim moved lodestar to Bazel 8 on the CI side yesterday and the rest of us follow today. Can you switch the workspace over and check everything still builds?"),
    Sh("git pull -q && cat .bazelversion && bazel --version", "8.0.1\nbazel 8.0.1"),
    Sh("bazel build //... 2>&1 | tail -n 3", "INFO: Analyzed 39 targets (131 packages loaded, 3310 targets configured).\nINFO: Elapsed time: 201.406s, Critical Path: 88.12s\nINFO: Build completed successfully, 1402 total actions", secs=203.0),
    Sh("bazel test //... 2>&1 | tail -n 1", "Executed 12 out of 12 tests: 12 tests pass.", secs=70.0),
    Say("The workspace is on Bazel 8.0.1 now (`.bazelversion` from Joaquim's commit). `bazel build //...` and `bazel test //...` (12 tests) pass without changes on our side."),
), later=True)

# -- tamarack: Haskell ingest service (Stack, hpack package.yaml, hlint, ormolu, Postgres)

TM1 = Session("tm1", "tamarack", 23.5, (
    User("tamarack is the service the sensor nodes report to: readings come in over HTTPS, get decoded and land in Postgres. It's Haskell, built with Stack. I bumped servant in package.yaml last night because the new auth combinator needs it, and now nothing builds. Could you sort it out?\n\nWe format with ormolu. We ran fourmolu for a month last year, and because the two disagree about import lists, every file anyone touched turned into a whitespace diff; settling on one ended that."),
    Sh("stack build", "Error: [S-4804]\n       Stack failed to construct a build plan.\n\n       While constructing the build plan, Stack encountered the following errors. The\n       'Stack configuration' refers to the set of package versions specified by the\n       snapshot (after any dropped packages, or pruned GHC boot packages; if a boot\n       package is replaced, Stack prunes all other such packages that depend on it)\n       and any extra-deps:\n\n       In the dependencies for tamarack-ingest-0.3.1:\n         * servant must match >=0.20.2, but servant-0.20.1 is in the Stack\n           configuration (latest matching version is 0.20.2).\n         * servant-server must match >=0.20.2, but servant-server-0.20 is in the\n           Stack configuration (latest matching version is 0.20.2).\n       The above is/are needed since tamarack-ingest is a build target.\n\n       Some different approaches to resolving some or all of this:\n\n         * Recommended action: try adding the following to your extra-deps in\n           /home/wnjoroge/code/tamarack/stack.yaml (project-level configuration):\n\n           - servant-0.20.2@sha256:3a2b6c1e0f9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a,6311\n           - servant-server-0.20.2@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0,7120", code=1, secs=5.2),
    Sh("sed -n '1,12p' stack.yaml", "snapshot: lts-22.43\n\npackages:\n- .\n\nextra-deps:\n- hasql-pool-1.2.0.2\n\nnix:\n  enable: false\n\nallow-newer: false"),
    Say("The snapshot `lts-22.43` carries servant 0.20.1; the bump asks for 0.20.2, which is on Hackage but not in that snapshot. Stack's own recommendation is to add both packages as extra-deps, which keeps the rest of the snapshot as it is."),
    Patch("*** Update File: stack.yaml\n@@\n extra-deps:\n - hasql-pool-1.2.0.2\n+- servant-0.20.2\n+- servant-server-0.20.2"),
    Sh("stack build 2>&1 | tail -n 4", "tamarack-ingest> Building library for tamarack-ingest-0.3.1..\ntamarack-ingest> [14 of 14] Compiling Tamarack.Api\ntamarack-ingest> Installing executable tamarack-ingest in /home/wnjoroge/code/tamarack/.stack-work/install/x86_64-linux/2f9e1c7a/9.6.6/bin\nCompleted 3 action(s).", secs=188.0),
    Sh("ormolu --mode check $(git ls-files '*.hs') && echo formatted", "formatted"),
    Say("It builds again.\n\n- `stack build` failed with \"[S-4804] Stack failed to construct a build plan\": the `lts-22.43` snapshot has servant 0.20.1 and servant-server 0.20, and package.yaml now wants 0.20.2.\n- I added `servant-0.20.2` and `servant-server-0.20.2` to `extra-deps` in `stack.yaml`; stack updated `stack.yaml.lock` with their hashes.\n- `ormolu --mode check` is clean."),
))

TM2 = Session("tm2", "tamarack", 19.3, (
    User("Picking up from Tuesday. The batch endpoint (POST /readings/batch) is half written on the batch-endpoint branch and doesn't compile. Can you finish it?\n\nWhen something fails, paste me the GHC error itself, the lines with the span, rather than a description of it. I read a type error faster than a paraphrase of one."),
    Sh("git switch -q batch-endpoint && stack build 2>&1 | sed -n '3,14p'", "tamarack-ingest> Building library for tamarack-ingest-0.3.1..\ntamarack-ingest> [12 of 14] Compiling Tamarack.Batch\ntamarack-ingest> \ntamarack-ingest> /home/wnjoroge/code/tamarack/src/Tamarack/Batch.hs:48:22: error: [GHC-83865]\ntamarack-ingest>     • Couldn't match type ‘[Char]’ with ‘Text’\ntamarack-ingest>       Expected: Text\ntamarack-ingest>         Actual: String\ntamarack-ingest>     • In the first argument of ‘rejectBatch’, namely\ntamarack-ingest>         ‘\"batch larger than 500 readings\"’\ntamarack-ingest>       In the expression: rejectBatch \"batch larger than 500 readings\"\ntamarack-ingest>    |\ntamarack-ingest> 48 |   | n > 500 = rejectBatch \"batch larger than 500 readings\"", code=1, secs=41.0),
    Say("The error, as GHC prints it:\n\n```\nsrc/Tamarack/Batch.hs:48:22: error: [GHC-83865]\n    • Couldn't match type ‘[Char]’ with ‘Text’\n      Expected: Text\n        Actual: String\n```\n\nThe older modules turn on `OverloadedStrings` with a pragma at the top, so their string literals can be `Text`; `Tamarack.Batch` is new and has no pragma. I'll put `OverloadedStrings` in package.yaml's `default-extensions` instead, so every module has it."),
    Patch("*** Update File: package.yaml\n@@\n default-extensions:\n - DerivingStrategies\n - ImportQualifiedPost\n+- OverloadedStrings\n - RecordWildCards"),
    Sh("stack build 2>&1 | sed -n '1,6p'", "/home/wnjoroge/code/tamarack/tamarack-ingest.cabal was modified manually, please use --force to overwrite.\nError: [S-1095]\n       Stack failed to parse package.yaml: the Cabal file /home/wnjoroge/code/tamarack/tamarack-ingest.cabal was modified manually and Stack will not overwrite it.", code=1, secs=2.0),
    Sh("git status --short && git diff --stat tamarack-ingest.cabal", " M package.yaml\n M tamarack-ingest.cabal\n tamarack-ingest.cabal | 3 ++-\n 1 file changed, 2 insertions(+), 1 deletion(-)"),
    Say("Someone edited `tamarack-ingest.cabal` directly on this branch (the uncommitted diff adds `Tamarack.Batch` to `exposed-modules` by hand), so hpack refuses to regenerate it. Since package.yaml is the source, the right move is to throw the hand edit away and let hpack write the file: its `source-dirs` picks up the new module anyway. Shall I restore the .cabal file rather than forcing?"),
    User("Yes, restore it. That one's on me, I added the module there in a hurry.\n\nAround here nobody edits the .cabal file: hpack writes it from package.yaml, and package.yaml is what we review. stack.yaml.lock is the same story, stack writes it and we commit whatever it wrote; nobody fixes up a lock file by hand."),
    Sh("git checkout -- tamarack-ingest.cabal && stack build 2>&1 | tail -n 3", "tamarack-ingest> [14 of 15] Compiling Tamarack.Batch\ntamarack-ingest> [15 of 15] Compiling Tamarack.Api\nCompleted 2 action(s).", secs=96.0),
    Sh("git diff --stat", " package.yaml          | 1 +\n tamarack-ingest.cabal | 5 +++--\n 2 files changed, 4 insertions(+), 2 deletions(-)"),
    Say("The batch endpoint compiles.\n\n- Stack stopped with \"tamarack-ingest.cabal was modified manually, please use --force to overwrite\"; `git checkout -- tamarack-ingest.cabal` dropped the hand edit and hpack regenerated the file from package.yaml (the new module is picked up through `source-dirs`).\n- `OverloadedStrings` is in package.yaml's `default-extensions`, which fixed the `Couldn't match type ‘[Char]’ with ‘Text’` error at `src/Tamarack/Batch.hs:48:22`."),
))

TM3 = Session("tm3", "tamarack", 16.1, (
    User("The batch endpoint needs integration tests before anyone merges it. Could you write a couple and run the suite?\n\nCareful with where it points. If the integration suite runs against the shared dev database, its setup truncates the readings table; that's how Priya's demo data disappeared the week before the October investor visit. So the suite runs against tamarack_test on your own local Postgres and nothing else."),
    Sh("stack ide targets && cat .env.example", "tamarack-ingest:lib\ntamarack-ingest:exe:tamarack-ingest\ntamarack-ingest:test:integration\ntamarack-ingest:test:unit\nTAMARACK_PORT=8081\nTAMARACK_DB_URL=postgresql://tamarack@localhost:5432/tamarack_test\nTAMARACK_LOG_LEVEL=info"),
    Patch("*** Update File: test/integration/BatchSpec.hs\n@@\n+spec :: SpecWith TestEnv\n+spec = describe \"POST /readings/batch\" $ do\n+  it \"stores every reading of a valid batch\" $ \\env -> do\n+    resp <- postBatch env (sampleBatch 20)\n+    statusCode resp `shouldBe` 201\n+    countReadings env `shouldReturn` 20\n+  it \"rejects a batch of more than 500 readings\" $ \\env -> do\n+    resp <- postBatch env (sampleBatch 501)\n+    statusCode resp `shouldBe` 413"),
    Sh("stack test tamarack-ingest:test:integration 2>&1 | tail -n 6", "tamarack-ingest> test (suite: integration)\n\nintegration: libpq: failed (connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n)\n\ntamarack-ingest> Test suite integration failed\nError: [S-1995] Test suite failure for package tamarack-ingest-0.3.1", code=1, secs=35.0),
    Sh("cat docker-compose.yml | sed -n '1,10p'", "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: tamarack\n      POSTGRES_HOST_AUTH_METHOD: trust\n      POSTGRES_DB: tamarack_test\n    ports:\n      - \"5432:5432\""),
    Sh("docker compose up -d db && sleep 3 && docker compose ps db", " Container tamarack-db-1  Started\nNAME            IMAGE         COMMAND                  SERVICE   CREATED         STATUS         PORTS\ntamarack-db-1   postgres:16   \"docker-entrypoint.s…\"   db        4 seconds ago   Up 3 seconds   0.0.0.0:5432->5432/tcp"),
    Sh("stack test tamarack-ingest:test:integration 2>&1 | tail -n 12", "tamarack-ingest> /home/wnjoroge/code/tamarack/src/Tamarack/Decode.hs:77:1: error: [GHC-62161] [-Wincomplete-patterns, Werror=incomplete-patterns]\ntamarack-ingest>     Pattern match(es) are non-exhaustive\ntamarack-ingest>     In an equation for ‘unitOf’:\ntamarack-ingest>         Patterns of type ‘SensorKind’ not matched: Pressure\ntamarack-ingest>    |\ntamarack-ingest> 77 | unitOf Temperature = Celsius\ntamarack-ingest>    | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\nError: [S-7282]\n       Stack failed to execute the build plan.", code=1, secs=22.0),
    Say("The database is up (`docker compose up -d db`), and now the build stops on something else: `Pressure` was added to `SensorKind` on this branch but `unitOf` in `src/Tamarack/Decode.hs` has no case for it, and incomplete patterns are an error here (`-Werror=incomplete-patterns`). Do you want hectopascals for it?"),
    User("Hectopascals, yes.\n\nAnd you'll notice nobody here turns that flag down. Do we want to ship a build with an incomplete-patterns warning in it? No. The last one that slipped through was exactly this, a new sensor kind hitting a missing case, and the ingest fell over at 3am. Warnings stay errors in package.yaml."),
    Patch("*** Update File: src/Tamarack/Decode.hs\n@@\n unitOf Temperature = Celsius\n unitOf Humidity = RelativePercent\n+unitOf Pressure = Hectopascal"),
    Sh("stack test tamarack-ingest:test:integration 2>&1 | tail -n 5", "POST /readings/batch\n  stores every reading of a valid batch [✔]\n  rejects a batch of more than 500 readings [✔]\n\nFinished in 1.8302 seconds\n11 examples, 0 failures", secs=64.0),
    Say("The integration suite passes: 11 examples, including the two new batch ones.\n\n- Run it with `stack test tamarack-ingest:test:integration`; the settings come from `.env.example` (`TAMARACK_DB_URL` points at `tamarack_test` on `localhost:5432`, the service listens on `TAMARACK_PORT=8081`).\n- It first failed with libpq `connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused`: the local database was not running; `docker compose up -d db` starts it.\n- `unitOf Pressure = Hectopascal` fills the missing case."),
))

TM4 = Session("tm4", "tamarack", 11.4, (
    User("Could you run hlint over the decoder and the batch code and deal with what it finds?\n\nShould a hint we disagree with get switched off in .hlint.yaml without a word? No: it gets a comment above it saying why, or the next person turns it back on and we relitigate it.\n\nWhile you're at it, check the service still gets the database password the way it should. For about a day in 2024 it sat in config/production.yaml in git, and we spent that weekend rotating every credential we own. Now the service reads the password from Key Vault when it starts, and I'd like to be sure nothing has crept back."),
    Sh("hlint src/Tamarack/Decode.hs src/Tamarack/Batch.hs", "src/Tamarack/Decode.hs:41:15-38: Warning: Use fmap\nFound:\n  liftM toReading (decodeFrame bs)\nPerhaps:\n  fmap toReading (decodeFrame bs)\n\nsrc/Tamarack/Batch.hs:63:3-47: Suggestion: Use mapM_\nFound:\n  void (mapM (insertReading pool) rs)\nPerhaps:\n  mapM_ (insertReading pool) rs\n\n2 hints", code=1),
    Patch("*** Update File: src/Tamarack/Decode.hs\n@@\n-decodeAll bs = liftM toReading (decodeFrame bs)\n+decodeAll bs = fmap toReading (decodeFrame bs)\n*** Update File: src/Tamarack/Batch.hs\n@@\n-  void (mapM (insertReading pool) rs)\n+  mapM_ (insertReading pool) rs"),
    Sh("hlint src/ && cat .hlint.yaml", "No hints\n- ignore: {name: \"Use camelCase\", within: [Tamarack.Wire]}  # field names mirror the firmware's C structs"),
    Sh("git grep -n -i 'password' -- config/ src/ | head", "config/settings.yaml:9:  password_secret: tamarack-db-password   # resolved from the vault at startup\nsrc/Tamarack/Config.hs:52:  pw <- fetchSecret vault (cfgPasswordSecret cfg)"),
    Sh("mktemp -d && git log -p --all -S 'password:' --format='%h %s' -- config/ | head -n 3", "/tmp/tmp.Vq8Zr2LcXe\n4e0d2a1 Remove the database password from production.yaml\n"),
    Say("- hlint: two hints (`Use fmap` in `Decode.hs`, `Use mapM_` in `Batch.hs`), both fixed; `hlint src/` now says \"No hints\". The one existing ignore in `.hlint.yaml` already has its reason next to it.\n- The password: `config/settings.yaml` only names the secret (`tamarack-db-password`) and `Tamarack.Config` fetches it from the vault at startup. The only commit with a literal password is the 2024 one that removed it."),
))

TM5 = Session("tm5", "tamarack", 6.2, (
    User("The nodes on rev C send a battery voltage field. Could you add it to the decoder and the readings table, with a migration?\n\nHow I'd like this to work between us from now on. You can build, test and commit on a branch without checking with me. Pushing, or anything that reaches Azure or a board, comes to me first; those are the things other people see.\n\nAnd keep PRs small enough to review on a phone. Amara and I do a lot of our reviewing on the matatu home."),
    Sh("git switch -c battery-voltage && ls migrations/ | tail -n 3", "Switched to a new branch 'battery-voltage'\n0011_sensor_kind_pressure.sql\n0012_batch_ids.sql\n0013_reading_source.sql"),
    Patch("*** Add File: migrations/0014_battery_mv.sql\n+ALTER TABLE readings ADD COLUMN battery_mv integer;\n*** Update File: src/Tamarack/Decode.hs\n@@ data Reading = Reading\n   , rdHumidity :: Maybe Double\n+  , rdBatteryMv :: Maybe Int\n   }"),
    Sh("stack build && stack test tamarack-ingest:test:unit 2>&1 | tail -n 2", "Finished in 0.0411 seconds\n38 examples, 0 failures", secs=120.0),
    Sh("ormolu --mode inplace src/Tamarack/Decode.hs && git add -A && git commit -q -m 'Store the battery voltage that rev C nodes report' -m 'Rev C firmware sends battery_mv in every frame; keeping it lets us spot failing cells before a node goes silent.' && git log --oneline -1", "8d31f6e Store the battery voltage that rev C nodes report"),
    Say("Battery voltage is stored: migration `0014_battery_mv.sql` adds `battery_mv`, the decoder reads it, unit tests pass (38). Committed as 8d31f6e on `battery-voltage`; not pushed."),
))

TM_L = Session("tmL", "tamarack", 1.1, (
    User("Picking up from last week's dependency chat. We're moving tamarack to an lts-23 snapshot so we get GHC 9.8 and can drop the servant extra-deps. Can you do the move and see what breaks?"),
    Patch("*** Update File: stack.yaml\n@@\n-snapshot: lts-22.43\n+snapshot: lts-23.5\n@@\n extra-deps:\n - hasql-pool-1.2.0.2\n-- servant-0.20.2\n-- servant-server-0.20.2"),
    Sh("stack build 2>&1 | tail -n 3", "tamarack-ingest> [15 of 15] Compiling Tamarack.Api\ntamarack-ingest> Installing executable tamarack-ingest in /home/wnjoroge/code/tamarack/.stack-work/install/x86_64-linux/b41c0e99/9.8.4/bin\nCompleted 41 action(s).", secs=640.0),
    Sh("stack test 2>&1 | tail -n 1", "49 examples, 0 failures", secs=90.0),
    Say("tamarack now builds on `lts-23.5` (GHC 9.8.4). The snapshot has servant 0.20.2, so the two servant extra-deps are gone from `stack.yaml`; all 49 tests pass and `stack.yaml.lock` was regenerated by stack."),
), later=True)

# -- quillwort: Azure infrastructure in Bicep, deployed with the az CLI

QW1 = Session("qw1", "quillwort", 26.0, (
    User("New one for you: quillwort is our Azure infrastructure, all Bicep. Before I change anything I'd like a what-if of what's on main against dev, so we both know where we stand.\n\nOne thing to understand first. Prod and dev live in the same tenant, and the az CLI will cheerfully deploy to whatever your default happens to be. If you point a what-if, or worse a deployment, at anything other than rg-soilwise-dev while you're learning the repo, you can take the customer dashboards down. Tomás did exactly that in his first week."),
    Sh("az account show", "ERROR: AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-08-03T09:12:44.1170000Z and was inactive for 90.00:00:00. Trace ID: 5b0d7a2e-6c41-4f3e-9a18-0e2d4c6b8f00 Correlation ID: 1f7e9c3a-2b5d-4e60-8a1f-c9d3e5b7a201 Timestamp: 2026-11-11 08:02:31Z\nInteractive authentication is needed. Please run:\naz login", code=1, secs=2.1),
    Say("The cached Azure CLI token has expired. This machine has no browser, so an interactive `az login` would hang waiting for one; the device-code flow works from a terminal."),
    Sh("az login --use-device-code --tenant soilwise.onmicrosoft.com --output table", "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FQ7K2ZL9M to authenticate.\nCloudName    IsDefault    Name              State    TenantId\n-----------  -----------  ----------------  -------  ------------------------------------\nAzureCloud   True         soilwise-nonprod  Enabled  8c2f4e61-9a3b-4d7c-b5e0-2f1a6c8d9e34\nAzureCloud   False        soilwise-prod     Enabled  8c2f4e61-9a3b-4d7c-b5e0-2f1a6c8d9e34", secs=48.0),
    Sh("ls && ls params/", "bicepconfig.json\nmain.bicep\nmodules\nparams\nREADME.md\ndev.bicepparam\nprod.bicepparam\nstaging.bicepparam"),
    Say("Logged in; the default subscription is `soilwise-nonprod`. I'll run the what-if with `main.parameters.json` as the parameter file."),
    User("No, that's not where they live. The JSON parameter files went when we moved to .bicepparam files last spring; each environment has its own file in params/, and the file already names main.bicep, so you don't pass the template twice."),
    Sh("az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam", "Note: The result may contain false positive predictions (noise).\nYou can help us improve the accuracy of the result by opening an issue here: https://aka.ms/WhatIfIssues\n\nResource and property changes are indicated with these symbols:\n  ~ Modify\n  = Nochange\n\nThe deployment will update the following scope:\n\nScope: /subscriptions/3d9a1f27-6b8e-4c05-a2d4-71e0f5b8c963/resourceGroups/rg-soilwise-dev\n\n  ~ Microsoft.Devices/IotHubs/iot-soilwise-dev [2023-06-30-preview]\n    ~ properties.routing.fallbackRoute.isEnabled: false => true\n  = Microsoft.Storage/storageAccounts/stsoilwisedev [2023-05-01]\n  = Microsoft.Web/serverfarms/asp-soilwise-dev [2023-12-01]\n  = Microsoft.Web/sites/app-tamarack-dev [2023-12-01]\n\nResource changes: 1 to modify, 3 no change.", secs=22.0),
    Say("Where dev stands against main:\n\n- One drift: the IoT hub's fallback route is disabled in Azure but enabled in `main.bicep` (someone switched it off in the portal). Everything else matches.\n- Sign-in: the cached token had expired (\"AADSTS700082: The refresh token has expired due to inactivity\"); `az login --use-device-code` works on this headless machine. Default subscription: `soilwise-nonprod` (prod is the separate `soilwise-prod`).\n- What-if runs as `az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam`."),
))

QW2 = Session("qw2", "quillwort", 21.2, (
    User("Picking up from last week's what-if. The tamarack team needs a storage account for raw uploads from the nodes, private, with a 30-day lifecycle rule. Can you add it to dev?\n\nI'll say it now because it'll come up: do we really want a production deployment going out from someone's laptop? No. Prod changes go through the pipeline, whose service principal is the only identity with write access on the prod resource group, and that was a deliberate choice after the dashboard outage.\n\nAlso, if you switch off a linter rule in bicepconfig.json without a comment saying why, the next person will assume it was a mistake and turn it back on, and we'll have the same argument twice."),
    Patch("*** Add File: modules/rawstore.bicep\n+param name string\n+\n+resource raw 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n+  name: name\n+  location: 'westeurope'\n+  sku: { name: 'Standard_ZRS' }\n+  kind: 'StorageV2'\n+  properties: {\n+    allowBlobPublicAccess: false\n+    minimumTlsVersion: 'TLS1_2'\n+  }\n+}\n*** Update File: main.bicep\n@@\n+module rawstore 'modules/rawstore.bicep' = {\n+  name: 'rawstore'\n+  params: { name: 'st${prefix}raw${env}' }\n+}"),
    Sh("az bicep build --file main.bicep", "/home/wnjoroge/code/quillwort/modules/rawstore.bicep(5,13) : Error no-hardcoded-location: A resource location should not use a hard-coded string or variable value. Please use a parameter value, an expression, or the string 'global'. Found: 'westeurope' [https://aka.ms/bicep/linter/no-hardcoded-location]", code=1, secs=4.0),
    Sh("cat params/dev.bicepparam && grep -n 'no-hardcoded-location' -A2 bicepconfig.json", "using '../main.bicep'\n\nparam env = 'dev'\nparam prefix = 'soilwise'\nparam location = 'westeurope'\nparam tags = {\n  owner: 'platform'\n  costCenter: 'rnd'\n}\n14:        \"no-hardcoded-location\": {\n15:          \"level\": \"error\"\n16:        },"),
    Say("The linter rule is set to `error` in `bicepconfig.json`, and rightly: the region belongs in the parameter file (`params/dev.bicepparam` sets `location = 'westeurope'`). The module should take a `location` parameter defaulting to its resource group's, and `main.bicep` passes the environment's."),
    Patch("*** Update File: modules/rawstore.bicep\n@@\n param name string\n+param location string = resourceGroup().location\n \n resource raw 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n   name: name\n-  location: 'westeurope'\n+  location: location\n*** Update File: main.bicep\n@@\n-  params: { name: 'st${prefix}raw${env}' }\n+  params: { name: 'st${prefix}raw${env}', location: location }\n*** Update File: modules/rawstore.bicep\n@@\n+resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {\n+  parent: raw\n+  name: 'default'\n+  properties: { policy: { rules: [ { name: 'expire-raw', enabled: true, type: 'Lifecycle', definition: { filters: { blobTypes: [ 'blockBlob' ] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 30 } } } } } ] } }\n+}"),
    Sh("az bicep build --file main.bicep && az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam --result-format ResourceIdOnly", "Note: The result may contain false positive predictions (noise).\n\nResource and property changes are indicated with this symbol:\n  + Create\n  ~ Modify\n\nThe deployment will update the following scope:\n\nScope: /subscriptions/3d9a1f27-6b8e-4c05-a2d4-71e0f5b8c963/resourceGroups/rg-soilwise-dev\n\n  + Microsoft.Storage/storageAccounts/stsoilwiserawdev\n  + Microsoft.Storage/storageAccounts/stsoilwiserawdev/managementPolicies/default\n  ~ Microsoft.Devices/IotHubs/iot-soilwise-dev\n\nResource changes: 2 to create, 1 to modify.", secs=25.0),
    Say("The raw-upload storage account is ready for dev; nothing deployed yet.\n\n- `az bicep build` failed on \"Error no-hardcoded-location\" for `'westeurope'` in the new module; the module now takes `param location string = resourceGroup().location` and `main.bicep` passes the environment's `location`. The rule stays at `error`.\n- Dev's region comes from `params/dev.bicepparam` (`westeurope`).\n- What-if: 2 to create (account, 30-day lifecycle policy), plus the IoT hub drift from last week."),
))

QW3 = Session("qw3", "quillwort", 17.0, (
    User("The ingest team wants a Container Apps environment in dev for their new batch worker, consumption plan, pulling its database secret the same way the web app does. Can you add it and show me the what-if?"),
    Sh("az keyvault list --resource-group rg-soilwise-dev --query '[].name' --output tsv", "kv-soilwise-dev-01"),
    Patch("*** Add File: modules/workerenv.bicep\n+param location string = resourceGroup().location\n+param vaultName string\n+\n+resource cae 'Microsoft.App/managedEnvironments@2024-03-01' = {\n+  name: 'cae-soilwise-dev'\n+  location: location\n+  properties: { workloadProfiles: [ { name: 'Consumption', workloadProfileType: 'Consumption' } ] }\n+}\n*** Update File: params/dev.bicepparam\n@@\n param location = 'westeurope'\n+param vaultName = 'kv-soilwise-dev-01'"),
    Sh("az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam", "ERROR: {\"code\": \"InvalidTemplateDeployment\", \"message\": \"The template deployment 'dev' is not valid according to the validation procedure. The tracking id is '7d2c4b1e-90af-4e38-b6c5-3a1f0e9d8c27'. See inner errors for details.\"}\n\nInner Errors:\n{\"code\": \"MissingSubscriptionRegistration\", \"message\": \"The subscription is not registered to use namespace 'Microsoft.App'. See https://aka.ms/rps-not-found for how to register subscriptions.\"}", code=1, secs=9.0),
    Say("The subscription has never used Container Apps, so its resource provider is not registered. Registering a provider is a one-off per subscription and does not create anything billable."),
    Sh("az provider register --namespace Microsoft.App --wait && az provider show --namespace Microsoft.App --query registrationState --output tsv", "Registered", secs=95.0),
    Sh("az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam --result-format ResourceIdOnly", "Note: The result may contain false positive predictions (noise).\n\nResource and property changes are indicated with this symbol:\n  + Create\n\nThe deployment will update the following scope:\n\nScope: /subscriptions/3d9a1f27-6b8e-4c05-a2d4-71e0f5b8c963/resourceGroups/rg-soilwise-dev\n\n  + Microsoft.App/managedEnvironments/cae-soilwise-dev\n\nResource changes: 1 to create.", secs=19.0),
    Say("What-if for the worker environment: 1 to create (`cae-soilwise-dev`, consumption profile).\n\n- The first what-if failed with \"MissingSubscriptionRegistration ... not registered to use namespace 'Microsoft.App'\"; `az provider register --namespace Microsoft.App --wait` fixed it (one-off for the subscription).\n- The worker will read its secret from the dev vault `kv-soilwise-dev-01`, now passed as `vaultName` in the dev parameters."),
))

QW4 = Session("qw4", "quillwort", 12.1, (
    User(f"Amara set up a storage account for the greenhouse pilot by hand and sent me this to \"just put in the params file\":\n\n{STORAGE_CONN}\n\nWhy would a connection string go into a parameter file when the Key Vault reference is there for exactly this? It would sit in git history for ever. Please wire the tamarack web app to read it from the vault instead, then deploy that to dev once the what-if looks right, and I'll get her to rotate that key today.\n\nWe branch from env/staging for this, because merges there roll out to staging, and main only gets what has lived in staging for a few days."),
    Sh("git switch -c pilot-storage-secret origin/env/staging && grep -n 'appSettings' -A6 modules/webapp.bicep", "Switched to a new branch 'pilot-storage-secret'\n31:      appSettings: [\n32:        { name: 'TAMARACK_LOG_LEVEL', value: 'info' }\n33:        { name: 'TAMARACK_DB_PASSWORD', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=tamarack-db-password)' }\n34:      ]"),
    Patch("*** Update File: modules/webapp.bicep\n@@\n         { name: 'TAMARACK_DB_PASSWORD', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=tamarack-db-password)' }\n+        { name: 'PILOT_STORAGE_CONNECTION', value: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=pilot-storage-conn)' }\n       ]"),
    Sh("az bicep build --file main.bicep && az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam --result-format ResourceIdOnly | tail -n 3", "  ~ Microsoft.Web/sites/app-tamarack-dev\n\nResource changes: 1 to modify.", secs=21.0),
    Sh("az deployment group create --resource-group rg-soilwise-dev --name main-4f7c2a --parameters params/dev.bicepparam --query '{id:id, state:properties.provisioningState}' --output json", "{\n  \"id\": \"/subscriptions/3d9a1f27-6b8e-4c05-a2d4-71e0f5b8c963/resourceGroups/rg-soilwise-dev/providers/Microsoft.Resources/deployments/main-4f7c2a\",\n  \"state\": \"Succeeded\"\n}", secs=118.0),
    Sh("az group list --query \"[?starts_with(name, 'rg-soilwise')].name\" --output tsv", "rg-soilwise-dev\nrg-soilwise-pilot-tmp\nrg-soilwise-prod\nrg-soilwise-staging"),
    Say("Deployed to dev: the web app reads `PILOT_STORAGE_CONNECTION` through a Key Vault reference (secret `pilot-storage-conn`); the connection string itself is in no file. Someone needs to put the rotated value in the vault under that name.\n\nI also see `rg-soilwise-pilot-tmp`, which holds the hand-made storage account; once the secret is in place, `az group delete --name rg-soilwise-pilot-tmp --yes` would tidy it away. Shall I?"),
    User("No, leave that group alone. The pilot data is still in there, and Amara will move it across herself before anyone deletes anything."),
    Say("Understood, `rg-soilwise-pilot-tmp` stays. The change is on `pilot-storage-secret`, branched from `env/staging`, uncommitted."),
))

QW5 = Session("qw5", "quillwort", 4.3, (
    User("If a resource here uses a -preview API version, the next API release can change its shape under us. That happened with the IoT hub's routing properties last year and a deployment failed halfway through, leaving the hub in a state nobody could explain. That's why every resource in these templates is pinned to a GA apiVersion. Could you go through the modules and find any that slipped?"),
    Sh("grep -rn \"@[0-9-]*preview\" main.bicep modules/", "modules/iothub.bicep:4:resource hub 'Microsoft.Devices/IotHubs@2023-06-30-preview' = {"),
    Sh("az provider show --namespace Microsoft.Devices --query \"resourceTypes[?resourceType=='IotHubs'].apiVersions[] | [0:4]\" --output tsv", "2023-06-30-preview\n2023-06-30\n2022-11-15-preview\n2022-04-30-preview"),
    Patch("*** Update File: modules/iothub.bicep\n@@\n-resource hub 'Microsoft.Devices/IotHubs@2023-06-30-preview' = {\n+resource hub 'Microsoft.Devices/IotHubs@2023-06-30' = {"),
    Sh("az bicep build --file main.bicep && az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam --result-format ResourceIdOnly | tail -n 2", "\nResource changes: 2 no change.", secs=20.0),
    Say("Only one had slipped: `modules/iothub.bicep` used `Microsoft.Devices/IotHubs@2023-06-30-preview`; it is on the GA `2023-06-30` now. The build is clean and the what-if against dev shows no change. Left uncommitted."),
))

QW_L = Session("qwL", "quillwort", 0.9, (
    User("Picking up the region question from the planning call. Microsoft can't give us the IoT Hub tier we need in westeurope before March, so dev moves to Sweden Central now and staging follows next month. Can you make the change for dev and show me the what-if? I'll deal with the data copy separately."),
    Patch("*** Update File: params/dev.bicepparam\n@@\n param prefix = 'soilwise'\n-param location = 'westeurope'\n+param location = 'swedencentral'"),
    Sh("az deployment group what-if --resource-group rg-soilwise-dev --parameters params/dev.bicepparam --result-format ResourceIdOnly | tail -n 6", "  - Microsoft.Devices/IotHubs/iot-soilwise-dev\n  + Microsoft.Devices/IotHubs/iot-soilwise-dev\n  - Microsoft.Storage/storageAccounts/stsoilwisedev\n  + Microsoft.Storage/storageAccounts/stsoilwisedev\n\nResource changes: 6 to delete, 6 to create.", secs=24.0),
    Say("Dev's parameters now say `location = 'swedencentral'`. The what-if recreates every regional resource (6 delete, 6 create), because a resource's location cannot be changed in place; the data copy has to happen before this is deployed."),
), later=True)

SESSIONS = (
    NJ1, NJ2, NJ3, NJ4, NJ5, NJ_L,
    LS1, LS2, LS3, LS4, LS5, LS_L,
    TM1, TM2, TM3, TM4, TM5, TM_L,
    QW1, QW2, QW3, QW4, QW5, QW_L,
)

FACTS = (
    # the team's rules, each told in two or three repositories in other words and shapes
    Fact("u.gen.ci_release", "general_rule", None, "what ships (release images, factory binaries, production deployments) comes out of the CI pipeline, never from a laptop build", M("CI|pipeline", "release|releases|prod|production|ship|shipped"), ("nj1", "ls3", "qw2")),
    Fact("u.gen.lockfiles", "general_rule", None, "lock files (MODULE.bazel.lock, stack.yaml.lock) are written by the tool, not edited by hand", M("lockfile|lockfiles|lock file|lock files|MODULE.bazel.lock|stack.yaml.lock", "by hand|hand-edited|manually"), ("ls1", "tm2")),
    Fact("u.gen.warnings", "general_rule", None, "compiler warnings are build errors (-Werror); fix the code, not the flags", M("warning|warnings", "error|errors"), ("nj4", "tm3")),
    Fact("u.gen.key_vault", "general_rule", None, "passwords and connection strings live in Key Vault and are read from it at runtime, not put in config or parameter files in git", M("Key Vault", "secret|secrets|password|passwords|connection string|connection strings"), ("tm4", "qw4")),
    Fact("u.gen.pinned", "general_rule", None, "dependencies and API versions are pinned to an exact release (a zephyr tag in west.yml, exact bazel_dep versions, GA apiVersions)", M("pin|pinned|pins|pinning", "version|versions|tag|tags|commit|apiVersion|apiVersions"), ("nj3", "ls5", "qw5")),
    Fact("u.gen.lint_comment", "general_rule", None, "a lint rule (buildifier, hlint, the bicep linter) is only switched off with a comment saying why", M("disable|disabled|disabling|ignore|ignored|switch off|switched off|turn off|turned off|silence|silenced", "lint|linter|linters|hlint|buildifier", "comment|comments|why|reason"), ("ls2", "tm4", "qw2")),
    # look-alike rules of one repository each
    Fact("u.rule.nj_clang_format", "project_rule", "nightjar", "C is formatted with clang-format using the .clang-format Zephyr ships", M("clang-format"), ("nj1",)),
    Fact("u.rule.tm_ormolu", "project_rule", "tamarack", "Haskell is formatted with ormolu (not fourmolu)", M("ormolu"), ("tm1",)),
    Fact("u.rule.nj_fw_next", "project_rule", "nightjar", "PRs target the fw-next branch; main moves only at a release", M("fw-next"), ("nj4",)),
    Fact("u.rule.qw_env_staging", "project_rule", "quillwort", "PRs target the env/staging branch, which rolls out to staging on merge", M("env/staging"), ("qw4",)),
    Fact("u.rule.qw_dev_rg", "project_rule", "quillwort", "what-if and deployments run against the rg-soilwise-dev resource group", M("rg-soilwise-dev"), ("qw1",)),
    Fact("u.rule.tm_test_db", "project_rule", "tamarack", "the integration suite runs against the local tamarack_test database, not the shared dev database", M("tamarack_test"), ("tm3",)),
    # rules of one repository
    Fact("u.rule.nj_rigctl", "project_rule", "nightjar", "whoever uses the HIL rig switches it off afterwards with rigctl off", M("rigctl off"), ("nj2",)),
    Fact("u.rule.ls_requires_rig", "project_rule", "lodestar", "tests that need a board on USB are tagged manual and requires-rig", M("requires-rig"), ("ls2",)),
    Fact("u.rule.tm_package_yaml", "project_rule", "tamarack", "edit package.yaml; hpack generates the .cabal file", M("package.yaml", ".cabal|cabal file"), ("tm2",)),
    # working preferences, said once
    Fact("u.pref.result_first", "preference", None, "reports put the result in the first line and the reasoning below it", M("first line", "result|results|outcome"), ("nj2",)),
    Fact("u.pref.imperative", "preference", None, "commit subjects in the imperative, the body says why", M("imperative", "commit|commits|subject"), ("ls3",)),
    Fact("u.pref.utc", "preference", None, "times in log lines and messages are written in UTC", M("UTC", "time|times|timestamp|timestamps|log|logs|message|messages"), ("ls4",)),
    Fact("u.pref.paste_error", "preference", None, "paste the compiler's actual error lines rather than a description of them", M("paste|pasted|quote|quoted", "error|errors"), ("tm2",)),
    Fact("u.pref.ask_push", "preference", None, "the agent builds, tests and commits on a branch alone; pushing, deploying to Azure or flashing a board is asked first", M("push|pushing|pushes", "check|checking|ask|asks|first|comes to me"), ("tm5",)),
    Fact("u.pref.small_prs", "preference", None, "PRs small enough to review on a phone", M("small|smaller", "PR|PRs|pull request|pull requests"), ("tm5",)),
    # knowledge from tool output and the agent's conclusions
    Fact("u.fact.nj_board", "project_fact", "nightjar", "the firmware builds for the board target fennec_node/nrf52840 (west build -b fennec_node/nrf52840 app)", M("fennec_node"), ("nj1",)),
    Fact("u.fact.nj_sdk", "project_fact", "nightjar", "the toolchain is the Zephyr SDK in /opt/zephyr-sdk-0.16.8", M("zephyr-sdk-0.16.8"), ("nj1",), superseded_by="u.sup.nj_sdk"),
    Fact("u.fact.nj_native_sim", "project_fact", "nightjar", "unit tests run with west twister -T tests -p native_sim", M("native_sim"), ("nj2",)),
    Fact("u.fact.nj_mcumgr", "project_fact", "nightjar", "the board is reached over SMP with the mcumgr connection profile fennec-usb", M("fennec-usb"), ("nj3",)),
    Fact("u.fact.ls_cache", "project_fact", "lodestar", "builds read the remote cache at grpcs://cache.soilwise.internal:9092; only --config=ci uploads", M("cache.soilwise.internal"), ("ls1",)),
    Fact("u.fact.ls_bazel", "project_fact", "lodestar", "the workspace runs Bazel 7.4.1 (.bazelversion)", M("7.4.1", "Bazel|.bazelversion"), ("ls1",), superseded_by="u.sup.ls_bazel"),
    Fact("u.fact.ls_flasher", "project_fact", "lodestar", "the factory flasher is the target //tools/flasher:flasher, run with bazel run //tools/flasher --", M("//tools/flasher"), ("ls4",)),
    Fact("u.fact.tm_snapshot", "project_fact", "tamarack", "stack.yaml builds on the snapshot lts-22.43", M("lts-22.43"), ("tm1",), superseded_by="u.sup.tm_snapshot"),
    Fact("u.fact.tm_integration", "project_fact", "tamarack", "the integration tests run with stack test tamarack-ingest:test:integration", M("tamarack-ingest:test:integration"), ("tm3",)),
    Fact("u.fact.tm_port", "project_fact", "tamarack", "the service listens on TAMARACK_PORT=8081", M("TAMARACK_PORT", "8081"), ("tm3",)),
    Fact("u.fact.qw_subscription", "project_fact", "quillwort", "the default subscription is soilwise-nonprod (prod is soilwise-prod)", M("soilwise-nonprod"), ("qw1",)),
    Fact("u.fact.qw_params", "project_fact", "quillwort", "each environment's parameters are a .bicepparam file: what-if with --parameters params/dev.bicepparam", M("dev.bicepparam"), ("qw1",)),
    Fact("u.fact.qw_region", "project_fact", "quillwort", "dev's region is westeurope (location in params/dev.bicepparam)", M("westeurope"), ("qw2",), superseded_by="u.sup.qw_region"),
    Fact("u.fact.qw_vault", "project_fact", "quillwort", "the dev Key Vault is kv-soilwise-dev-01", M("kv-soilwise-dev-01"), ("qw3",)),
    # failures and the other command or edit that fixed them
    Fact("u.ff.nj_dts_label", "failure_fix", "nightjar", "the devicetree error undefined node label 'arduino_i2c' in the rev C overlay is fixed by putting the sensor node under &i2c1", M("&i2c1"), ("nj1",), link=M("undefined node label|devicetree error|arduino_i2c")),
    Fact("u.ff.nj_kconfig_i2c", "failure_fix", "nightjar", "Kconfig's unsatisfied dependency I2C for SHT4X (Aborting due to Kconfig warnings) is fixed by CONFIG_I2C=y in prj.conf", M("CONFIG_I2C=y"), ("nj2",), link=M("Kconfig|unsatisfied|SHT4X")),
    Fact("u.ff.nj_recover", "failure_fix", "nightjar", "west flash stopping at readback protection on new boards is fixed by nrfjprog --recover", M("nrfjprog --recover"), ("nj3",), link=M("readback protection|APPROTECT|protected")),
    Fact("u.ff.nj_flash_overflow", "failure_fix", "nightjar", "the linker's region FLASH overflowed is fixed by CONFIG_CBPRINTF_NANO=y", M("CONFIG_CBPRINTF_NANO"), ("nj4",), link=M("overflowed|FLASH")),
    Fact("u.ff.ls_use_repo", "failure_fix", "lodestar", "bazel's unknown repo 'pip' (no such package) is fixed by use_repo(pip, \"pip\") in MODULE.bazel", M("use_repo"), ("ls1",), link=M("unknown repo|no such package")),
    Fact("u.ff.ls_visibility", "failure_fix", "lodestar", "target //libs/framing is not visible from the calibration test; fixed with visibility //tools:__subpackages__", M("//tools:__subpackages__"), ("ls2",), link=M("not visible|visibility")),
    Fact("u.ff.ls_lockfile", "failure_fix", "lodestar", "Lock file is no longer up-to-date under --lockfile_mode=error is fixed by bazel mod deps --lockfile_mode=update", M("--lockfile_mode=update"), ("ls3",), link=M("up-to-date|out of date|no longer up")),
    Fact("u.ff.tm_extra_deps", "failure_fix", "tamarack", "Stack's [S-4804] failed to construct a build plan for servant 0.20.2 is fixed by adding servant and servant-server 0.20.2 to extra-deps in stack.yaml", M("extra-deps"), ("tm1",), link=M("build plan|S-4804")),
    Fact("u.ff.tm_overloaded", "failure_fix", "tamarack", "GHC's Couldn't match type '[Char]' with 'Text' is fixed by OverloadedStrings in package.yaml's default-extensions", M("OverloadedStrings"), ("tm2",), link=M("Couldn't match|GHC-83865")),
    Fact("u.ff.tm_cabal", "failure_fix", "tamarack", "tamarack-ingest.cabal was modified manually is fixed by git checkout -- tamarack-ingest.cabal so hpack regenerates it", M("tamarack-ingest.cabal", "git checkout|git restore"), ("tm2",), link=M("modified manually")),
    Fact("u.ff.tm_db", "failure_fix", "tamarack", "the integration suite's libpq Connection refused on port 5432 is fixed by docker compose up -d db", M("docker compose up -d db|docker compose up"), ("tm3",), link=M("Connection refused|connection to server")),
    Fact("u.ff.qw_device_code", "failure_fix", "quillwort", "AADSTS700082 (the refresh token has expired) is fixed by az login --use-device-code on the headless machine", M("--use-device-code"), ("qw1",), link=M("AADSTS700082|refresh token")),
    Fact("u.ff.qw_location", "failure_fix", "quillwort", "az bicep build's no-hardcoded-location error is fixed by param location string = resourceGroup().location", M("resourceGroup().location"), ("qw2",), link=M("no-hardcoded-location|hard-coded")),
    Fact("u.ff.qw_provider", "failure_fix", "quillwort", "what-if's MissingSubscriptionRegistration for Microsoft.App is fixed by az provider register --namespace Microsoft.App", M("az provider register"), ("qw3",), link=M("MissingSubscriptionRegistration|not registered")),
    # what the later sessions put in place of older facts
    Fact("u.sup.nj_sdk", "superseding", "nightjar", "the toolchain is Zephyr SDK 0.17.0: ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk-0.17.0", M("zephyr-sdk-0.17.0"), ("njL",)),
    Fact("u.sup.ls_bazel", "superseding", "lodestar", "the workspace runs Bazel 8.0.1", M("8.0.1"), ("lsL",)),
    Fact("u.sup.tm_snapshot", "superseding", "tamarack", "stack.yaml builds on the snapshot lts-23.5 (GHC 9.8.4)", M("lts-23.5"), ("tmL",)),
    Fact("u.sup.qw_region", "superseding", "quillwort", "dev's region is swedencentral", M("swedencentral"), ("qwL",)),
)

DISTRACTORS = (
    Distractor("u.x.tty", "transient", "the serial port the rig's board showed up on", M("/dev/ttyACM3"), ("nj2",)),
    Distractor("u.x.snr", "transient", "a board's J-Link serial number", M("1050298134"), ("nj3",)),
    Distractor("u.x.invocation", "transient", "a bazel invocation id", M("6f0e2c1a-93b4-4d7e-a1f5-2b8c9d0e7a41"), ("ls4",)),
    Distractor("u.x.tmpdir", "transient", "a temp dir made and never used", M("/tmp/tmp.Vq8Zr2LcXe"), ("tm4",)),
    Distractor("u.x.deployment", "transient", "the name of one deployment", M("main-4f7c2a"), ("qw4",)),
    Distractor("u.x.pr", "transient", "the number of one pull request", M("pull/212"), ("nj4",)),
    Distractor("u.x.storage_key", "secret", "a storage account key pasted into the chat", M(STORAGE_KEY), ("qw4",)),
    Distractor("u.x.embedded_world", "small_talk", "half the team at a trade fair", M("embedded world|Nuremberg"), ("nj4",)),
    Distractor("u.x.nix", "small_talk", "a question the user asked and dropped", M("Nix"), ("ls4",)),
    Distractor("u.x.erase", "rejected", "west flash --erase, which the user refused (it wipes the calibration)", M("--erase"), ("nj4",), negatable=True),
    Distractor("u.x.group_delete", "rejected", "az group delete of the pilot's resource group, which the user refused", M("az group delete"), ("qw4",), negatable=True),
)

# the rules of one repository each that look like another's but differ
LOOKALIKES = (
    ("u.rule.nj_clang_format", "u.rule.tm_ormolu"),
    ("u.rule.nj_fw_next", "u.rule.qw_env_staging"),
    ("u.rule.qw_dev_rg", "u.rule.tm_test_db"),
)

CORPUS = Corpus(
    name="u",
    how="a hardware startup's tech lead who explains why: rules as the story behind them, rhetorical questions answered, team conventions and consequences, across Zephyr firmware, a Bazel monorepo, a Haskell service and Azure Bicep (held out)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="qw3",
)
# fmt: on
