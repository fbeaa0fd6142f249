# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Quality corpus K (held out): a junior developer who is learning.

The user is new to most of what they touch and says so: they ask the agent what an error means
and why it chose a fix, the agent teaches at length (quoting the docs it opens, ``--help`` and
``man`` pages, compiler notes and hints), and the user then sums up what they learned in their
own words ("ok so basically ..."), sometimes slightly wrong and corrected by the agent. Their
preferences are about how they want to be taught. Some sessions drift into small talk and
career questions. Four projects none of A–J has: a Godot 4 platformer in GDScript, an ESP32
weather station on PlatformIO, a SvelteKit blog and a Clojure service built with Leiningen.

Written after A–I, without reading their sessions or memoryd's extraction and consolidation
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
HOME = "/home/noor"
PROJECTS = (
    Project("mossgrove", f"{HOME}/games/mossgrove", "git@github.com:noor-codes/mossgrove.git"),
    Project("thermocline", f"{HOME}/embedded/thermocline", "git@github.com:noor-codes/thermocline.git"),
    Project("pebblepost", f"{HOME}/sites/pebblepost", "git@gitlab.com:noor-codes/pebblepost.git"),
    Project("quillmark", f"{HOME}/work/quillmark", "git@git.internal.example:backend/quillmark.git", "develop"),
)
GH_TOKEN = "ghp_R8vQ2mK7xT4nL9pW3sZ6yB1cF5hJ0dG8aE2u"


def session(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    return Session(key, project, days_ago, tuple(steps), later=later)


# -- mossgrove: a 2D platformer in Godot 4 / GDScript

M1 = session(
    "m1", "mossgrove", 27.0,
    User("hi! I'm pretty new to Godot, I followed a youtube tutorial to start this platformer. "
         "There's a folder called .godot that git keeps showing me with hundreds of files, should I commit it? "
         "Please explain what's going on before you change anything, I want to understand it first."),
    Think("The user wants an explanation before edits. Look at the project layout and .gitignore."),
    Sh("ls -a && cat .gitignore 2>/dev/null || echo 'no .gitignore'",
       ".\n..\n.git\n.godot\nassets\nicon.svg\nicon.svg.import\nproject.godot\nscenes\nscripts\nno .gitignore"),
    Sh("head -20 project.godot",
       "; Engine configuration file.\n; It's best edited using the editor UI and not directly,\n; since the parameters that go here are not all obvious.\n;\n; Format:\n;   [section] ; section goes between []\n;   param=value ; assign values to parameters\n\nconfig_version=5\n\n[application]\n\nconfig/name=\"Mossgrove\"\nrun/main_scene=\"res://scenes/main.tscn\"\nconfig/features=PackedStringArray(\"4.2\", \"Forward Plus\")\nconfig/icon=\"res://icon.svg\"\n"),
    Sh("du -sh .godot && ls .godot",
       "38M\t.godot\neditor\nglobal_script_class_cache.cfg\nimported\nshader_cache\nuid_cache.bin"),
    Say("Here's what is going on, before touching anything:\n\n"
        "- `project.godot` says `config/features=PackedStringArray(\"4.2\", ...)`, so this project targets Godot 4.2.\n"
        "- `.godot/` is the editor's cache. When Godot imports an asset (a PNG, a WAV) it converts it into an engine "
        "format and stores the result in `.godot/imported/`; it also keeps the class-name cache and shader cache there. "
        "All of it can be regenerated from your real files, so it is machine-specific and should not be committed.\n"
        "- The small `*.import` files next to your assets (like `icon.svg.import`) are different: they hold the import "
        "settings you chose, so those DO get committed.\n\n"
        "The Godot docs page 'Version control systems' recommends a `.gitignore` with `.godot/` in it. Want me to add one?"),
    User("ok so basically: .godot is a cache the editor rebuilds from my real files, I don't edit it and I don't commit it, "
         "but the little .import files are settings so they go in git. Right? yes please add the gitignore"),
    Patch("*** Add File: .gitignore\n+# Godot 4 editor cache, rebuilt on import\n+.godot/\n+\n+# exports\n+build/\n"),
    Sh("git status --short | head",
       "?? .gitignore\n?? assets/\n?? icon.svg\n?? icon.svg.import\n?? project.godot\n?? scenes/\n?? scripts/"),
    Say("Exactly right. `.godot/` is now ignored, and `git status` no longer lists its hundreds of files. "
        "Recap:\n- `.godot/` = regenerated cache, never edited by hand, not in git\n- `*.import` = your import settings, in git\n"
        "- the project targets Godot 4.2 (see `config/features` in project.godot)"),
)

M2 = session(
    "m2", "mossgrove", 24.5,
    User("I installed GUT for unit tests like the tutorial said. can you run the tests? I get a scary error and I "
         "don't know what it means"),
    Sh("ls addons/gut | head -5 && ls test",
       "gut.gd\ngut_cmdln.gd\ngut_plugin.gd\nGutScene.tscn\nicon.png\ntest_player.gd"),
    Sh("godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit",
       "Godot Engine v4.2.2.stable.official.15073afe3 - https://godotengine.org\n\n"
       "SCRIPT ERROR: Parse Error: Could not find type \"Player\" in the current scope.\n"
       "          at: GDScript::reload (res://test/test_player.gd:4)\n"
       "ERROR: Failed to load script \"res://test/test_player.gd\" with error \"Parse error\".\n"
       "   at: load (modules/gdscript/gdscript.cpp:2936)\n"
       "[ERROR]:  Could not load script res://test/test_player.gd\n"
       "Totals\nScripts: 0\nTests: 0\n", code=1, secs=3.1),
    User("what does 'Could not find type Player in the current scope' mean?? Player definitely exists, it's in scripts/player.gd"),
    Sh("head -3 scripts/player.gd && grep -c Player .godot/global_script_class_cache.cfg",
       "class_name Player\nextends CharacterBody2D\n\n0", code=1),
    Say("Good question. The line `class_name Player` registers a global type, but Godot does not discover those by "
        "reading every script at startup: it reads a list in `.godot/global_script_class_cache.cfg`, and the editor "
        "writes that list when it imports the project. Your `.godot/` cache was created before `player.gd` got its "
        "`class_name`, and running headless never opened the editor, so the list has 0 entries for Player. "
        "Hence 'could not find type'. The fix is not to rerun the tests but to let Godot re-import first:"),
    Sh("godot --headless --import",
       "Godot Engine v4.2.2.stable.official.15073afe3 - https://godotengine.org\n"
       "[   0% ] first_scan_filesystem | Started Project initialization (5 steps)\n"
       "[  83% ] update_scripts_classes | Registering global classes...\n"
       "[ DONE ] first_scan_filesystem\n", secs=6.4),
    Sh("godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit",
       "Godot Engine v4.2.2.stable.official.15073afe3 - https://godotengine.org\n"
       "---- Totals ----\nScripts           1\nTests             4\n  Passing         4\nAsserts          9\n"
       "Time              0.212s\n---- All tests passed! ----\n", secs=3.8),
    Say("All 4 tests pass. In short: on a fresh clone or after adding a `class_name`, run `godot --headless --import` "
        "once so the global class cache is rebuilt, then the GUT command-line runner works: "
        "`godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit`."),
    User("ok let me say it back: the class names live in a cache file, headless mode doesn't refresh it, so I "
         "import first and then run the gut thing. got it, thanks!"),
    Say("That's it exactly."),
)

M3 = session(
    "m3", "mossgrove", 21.0,
    User("the coin spawner crashes as soon as the level starts. Copied the code from an old tutorial"),
    Sh("godot --headless --quit-after 120 res://scenes/level_1.tscn 2>&1 | tail -6",
       "SCRIPT ERROR: Invalid call. Nonexistent function 'instance' in base 'PackedScene'.\n"
       "          at: _spawn_coin (res://scripts/coin_spawner.gd:14)\n"
       "ERROR: Condition \"!is_inside_tree()\" is true.\n"
       "   at: get_global_transform (scene/2d/node_2d.cpp:460)\n"
       "WARNING: ObjectDB instances leaked at exit (run with --verbose for details).\n", code=1, secs=2.2),
    Sh("sed -n 10,16p scripts/coin_spawner.gd",
       "func _spawn_coin(at: Vector2) -> void:\n\tvar c = coin_scene.instance()\n\tc.position = at\n\tadd_child(c)\n"),
    Patch("*** Update File: scripts/coin_spawner.gd\n@@ func _spawn_coin(at: Vector2) -> void:\n-\tvar c = coin_scene.instance()\n+\tvar c := coin_scene.instantiate()\n"),
    Sh("godot --headless --quit-after 120 res://scenes/level_1.tscn 2>&1 | tail -2",
       "Godot Engine v4.2.2.stable.official.15073afe3 - https://godotengine.org\n", secs=2.3),
    Say("Fixed: the level runs without errors now. I changed `coin_scene.instance()` to `coin_scene.instantiate()`."),
    User("why did you use instantiate? the tutorial says instance() and it worked for the guy in the video"),
    Say("The video was made with Godot 3. In Godot 4 the method on `PackedScene` was renamed from `instance()` to "
        "`instantiate()`; the old name no longer exists, which is what 'Nonexistent function 'instance' in base "
        "'PackedScene'' tells you: the object (base) is a PackedScene and it has no function by that name. The "
        "'Upgrading from Godot 3 to Godot 4' docs page has a table of these renames (`instance` -> `instantiate`, "
        "`KinematicBody2D` -> `CharacterBody2D`, `yield` -> `await`). Tutorials made for 3.x will hit this a lot."),
    User("so basically old tutorials = godot 3, and in 4 it's instantiate() not instance(). I'll check that renames table"),
    User("also how does the score get to the HUD? I see GameState.score everywhere but no GameState node in the scene"),
    Sh("sed -n '/\\[autoload\\]/,/^$/p' project.godot",
       "[autoload]\n\nGameState=\"*res://autoload/game_state.gd\"\nSfx=\"*res://autoload/sfx.gd\"\n"),
    Say("It's an autoload. `project.godot` has an `[autoload]` section: `GameState=\"*res://autoload/game_state.gd\"`. "
        "Godot creates that node itself at startup, puts it under the root, and the `*` makes it reachable by name "
        "from any script, as a singleton. So the score lives in `res://autoload/game_state.gd`, not in a scene."),
)

M4 = session(
    "m4", "mossgrove", 17.2,
    User("I moved the HUD into a CanvasLayer and now the player script breaks, it says something about a null instance. "
         "could you explain what's wrong first, before fixing it?"),
    Sh("godot --headless --quit-after 60 res://scenes/level_1.tscn 2>&1 | tail -4; ls /tmp | grep godot-crash",
       "SCRIPT ERROR: Invalid call. Nonexistent function 'set_hearts' in base 'Nil'.\n"
       "          at: take_damage (res://scripts/player.gd:58)\n"
       "Crash log written to /tmp/godot-crash-7f3a2c.log\ngodot-crash-7f3a2c.log", code=1, secs=2.0),
    Sh("grep -n get_node scripts/player.gd",
       "57:\tvar hud = get_node(\"../../HUD\")\n"),
    Say("The error says the base is `Nil`: `get_node(\"../../HUD\")` returned nothing, because that path climbs two "
        "levels up from the player and expects a node called HUD there. You moved HUD into a CanvasLayer, so the "
        "path is now wrong. This is the classic problem with paths that reach up the tree: the child knows the shape "
        "of its parents, and any move breaks it.\n\nThe Godot way is 'call down, signal up': the player emits a "
        "signal (`health_changed`) and whoever cares (the level, which owns both) connects it to the HUD. The player "
        "no longer knows where the HUD is. Shall I make that change?"),
    User("yes. so basically a node shouldn't go looking for its parents with get_node(\"../..\"), it emits a signal "
         "and the parent wires it up. signals up, calls down"),
    Patch("*** Update File: scripts/player.gd\n@@\n+signal health_changed(hearts: int)\n+\n@@ func take_damage(amount: int) -> void:\n-\tvar hud = get_node(\"../../HUD\")\n-\thud.set_hearts(hearts)\n+\thealth_changed.emit(hearts)\n"
          "*** Update File: scripts/level.gd\n@@ func _ready() -> void:\n+\t$Player.health_changed.connect($UI/HUD.set_hearts)\n"),
    Sh("godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit | tail -2",
       "Tests             6\n---- All tests passed! ----", secs=3.5),
    Say("Done, tests pass (6/6). `player.gd` now emits `health_changed` and `level.gd` connects it to the HUD."),
    User("cool. my branch says it diverged from origin though, how do I push this?"),
    Sh("git status -sb | head -1 && git log --oneline -3 origin/feature/hud-signal",
       "## feature/hud-signal...origin/feature/hud-signal [ahead 2, behind 1]\n"
       "e41c9aa fix typo in level name\n0d22b71 hud in canvaslayer\n9a0f3e2 coins"),
    Say("Your branch and the remote each have a commit the other lacks. The quick way is `git push --force`, which "
        "overwrites the remote with your branch. Want me to run it?"),
    User("no, don't force push, someone else might have pushed that commit (my friend helps with levels). and in "
         "general check with me before you push anything, I want to ask first"),
    Say("Understood, no force push, and I'll ask before any push. The safe route is `git pull --rebase` to put your two "
        "commits on top of your friend's one, then a normal `git push`."),
)

M5 = session(
    "m5", "mossgrove", 12.3,
    User("quick one: when it's git stuff, just show me the git command and I'll type it myself, I want to learn "
         "them. how do I undo my last commit but keep the changes?"),
    Sh("man git-reset | col -b | sed -n '/^ *--soft/,/^ *--hard/p' | head -9",
       "       --soft\n           Does not touch the index file or the working tree at all (but resets the head to\n"
       "           <commit>, just like all modes do). This leaves all your changed files \"Changes to be\n"
       "           committed\", as git status would put it.\n\n       --mixed\n"
       "           Resets the index but not the working tree (i.e., the changed files are preserved but\n"
       "           not marked for commit) and reports what has not been updated. This is the default action.\n\n       --hard"),
    Say("Here's the command to type:\n\n    git reset --soft HEAD~1\n\n`--soft` moves the branch back one commit "
        "but leaves your changes staged; `--mixed` (the default) would unstage them; `--hard` would delete them, "
        "so avoid that one unless you mean it. `man git-reset` has the three modes under DESCRIPTION."),
    User("done, it worked! unrelated: I got offered a mid-level role on our web team at work, but I only have one "
         "year of experience. do you think I should take it or wait?"),
    Say("I can't know your situation, but a few thoughts: titles matter less than what you'll learn; if the team "
        "is supportive and has people to learn from, stretching is usually good. Ask what support you'd get."),
    User("thanks, that helps. back to the game: the jump feels floaty"),
    Sh("grep -n 'gravity\\|JUMP' scripts/player.gd",
       "4:const JUMP_VELOCITY := -330.0\n12:var gravity: float = ProjectSettings.get_setting(\"physics/2d/default_gravity\")\n"),
    Say("Gravity is the project default (980). A common trick is stronger gravity while falling: multiply it by "
        "1.6 when `velocity.y > 0`. Want me to add that?"),
    User("yes please"),
    Patch("*** Update File: scripts/player.gd\n@@ func _physics_process(delta: float) -> void:\n-\t\tvelocity.y += gravity * delta\n+\t\tvar g := gravity * (1.6 if velocity.y > 0.0 else 1.0)\n+\t\tvelocity.y += g * delta\n"),
    Say("Added: falling uses 1.6x gravity. Try it in the editor and tune the 1.6."),
)

M6 = session(
    "m6", "mossgrove", 8.0,
    User("the export to linux fails and the error is long. when you explain an error please quote the exact error "
         "line first and then tell me what it means, otherwise I get lost"),
    Sh("godot --headless --export-release \"Linux/X11\" build/mossgrove.x86_64",
       "ERROR: Cannot export project with preset \"Linux/X11\" due to configuration errors:\n"
       "No export template found at the expected path:\n"
       "/home/noor/.local/share/godot/export_templates/4.2.2.stable/linux_release.x86_64\n\n"
       "   at: _fs_changed (editor/editor_node.cpp:1012)\n", code=1, secs=4.0),
    Say("The line that matters:\n\n> No export template found at the expected path: "
        "/home/noor/.local/share/godot/export_templates/4.2.2.stable/linux_release.x86_64\n\n"
        "What it means: exporting doesn't compile your game, it copies a prebuilt engine binary (the 'export "
        "template') and packs your files next to it. Templates are a separate download per Godot version. "
        "In the editor: Editor > Manage Export Templates > Download and Install. I can't download it from here "
        "(no network in this sandbox)."),
    User("I installed them from the editor. try again?"),
    Sh("godot --headless --export-release \"Linux/X11\" build/mossgrove.x86_64 && ls -la build",
       "savepack: begin: Packing steps: 102\nsavepack: end\n"
       "total 71244\n-rwxr-xr-x 1 noor noor 69834512 mossgrove.x86_64\n-rw-r--r-- 1 noor noor  3118200 mossgrove.pck",
       secs=9.2),
    Say("The export works: `build/mossgrove.x86_64` and `build/mossgrove.pck`. `build/` is already in .gitignore."),
)

M_LATER = session(
    "m7", "mossgrove", 1.2,
    User("I updated godot to 4.3 from the website and opened the project, it asked to convert something and I said "
         "yes. is everything still ok? explain what changed please"),
    Sh("git diff --stat && git diff project.godot",
       " project.godot                 | 2 +-\n scenes/level_1.tscn           | 4 ++--\n 2 files changed, 3 insertions(+), 3 deletions(-)\n"
       "diff --git a/project.godot b/project.godot\n@@ -12,7 +12,7 @@ config/name=\"Mossgrove\"\n"
       "-config/features=PackedStringArray(\"4.2\", \"Forward Plus\")\n+config/features=PackedStringArray(\"4.3\", \"Forward Plus\")\n"),
    Sh("godot --version && godot --headless --import >/dev/null && godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit | tail -1",
       "4.3.stable.official.77dcf97d8\n---- All tests passed! ----", secs=11.0),
    Say("All fine. The editor moved the project from Godot 4.2 to Godot 4.3: `config/features` in project.godot now "
        "says \"4.3\", and the .tscn change is just the new scene format header. The tests pass on 4.3. From now on "
        "open it with 4.3 only: a 4.2 editor would refuse or downgrade the converted scenes. "
        "Export templates must also be the 4.3 ones now."),
    User("so the project is godot 4.3 now and the old 4.2 editor shouldn't open it anymore. ok!"),
    later=True,
)

# -- thermocline: an ESP32 weather station on PlatformIO (embedded C++/Arduino)

T1 = session(
    "t1", "thermocline", 26.0,
    User("I want to start an esp32 project with platformio. the guide says pip install platformio, should I do "
         "sudo pip install platformio? it says permission denied without sudo"),
    Sh("pip install platformio",
       "error: externally-managed-environment\n\n× This environment is externally managed\n╰─> To install Python "
       "packages system-wide, try apt install\n    python3-xyz, where xyz is the package you are trying to\n    install.\n\n"
       "    If you wish to install a non-Debian-packaged Python package,\n    create a virtual environment using python3 -m venv path/to/venv.\n"
       "    Or use pipx, which will manage a virtual environment for you.\n\n"
       "note: If you believe this is a mistake, please contact your Python installation or OS distribution provider.\n"
       "hint: See PEP 668 for the detailed specification.", code=1),
    Say("Please don't use sudo for this. The error is PEP 668: Debian protects its own Python from pip, because "
        "pip as root can overwrite files that apt installed and break system tools. `sudo` would only push past "
        "the protection. The hint names the right tool: `pipx` installs a command-line app in its own venv in your "
        "home directory, no root needed."),
    Sh("pipx install platformio && pio --version",
       "  installed package platformio 6.1.16, installed using Python 3.11.2\n  These apps are now globally available\n"
       "    - pio\n    - platformio\ndone! ✨ 🌟 ✨\nPlatformIO Core, version 6.1.16", secs=21.0),
    User("ok so basically: no sudo when installing stuff, sudo can break the system python, and pipx is for "
         "installing python apps. noted for everything, not just this project"),
    Sh("pio project init --board esp32dev && cat platformio.ini",
       "The current working directory /home/noor/embedded/thermocline will be used for the project.\n"
       "Project has been successfully initialized!\n\n"
       "[env:esp32dev]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nmonitor_speed = 115200\n"),
    Say("Project created. `platformio.ini` has one environment, `esp32dev`, and `monitor_speed = 115200`."),
    User("what is monitor_speed?\nso it's like the 9600 in the arduino serial monitor?"),
    Say("Same idea, different number: it's the baud rate the serial monitor listens at, and it must match "
        "`Serial.begin(...)` in your code, otherwise you see garbage characters. Here it's 115200, not 9600: "
        "ESP32 boot messages come at 115200, so use `Serial.begin(115200)` and `pio device monitor` will read it."),
    User("got it, the same number in the ini and in my code, otherwise I get garbage"),
)

T2 = session(
    "t2", "thermocline", 23.0,
    User("I wired the BME280 sensor board. can you write the code to read temperature? and what address does it use?"),
    Think("src/main.cpp is still the I2C scanner sketch from the wiring tutorial; flashing it shows the address."),
    Sh("pio run -t upload -t monitor 2>&1 | sed -n '/I2C scan/,/done/p'",
       "I2C scan\nfound device at 0x76\ndone (1 device)"),
    Say("The I2C scanner sketch found one device at address 0x76. BME280 boards use 0x76 or 0x77 depending on how "
        "the SDO pin is wired; yours is 0x76, so we pass that to `bme.begin(0x76)`."),
    Patch("*** Update File: src/main.cpp\n@@\n-#include <Arduino.h>\n+#include <Arduino.h>\n+#include <Wire.h>\n+#include <Adafruit_BME280.h>\n+\n+Adafruit_BME280 bme;\n@@ void setup() {\n+  if (!bme.begin(0x76)) {\n+    Serial.println(\"BME280 not found at 0x76\");\n+  }\n"),
    Sh("pio run",
       "Processing esp32dev (platform: espressif32; board: esp32dev; framework: arduino)\n"
       "Compiling .pio/build/esp32dev/src/main.cpp.o\n"
       "src/main.cpp:3:10: fatal error: Adafruit_BME280.h: No such file or directory\n\n"
       "*********************************************************************\n"
       "* Looking for Adafruit_BME280.h dependency? Check our library registry!\n*\n"
       "* CLI  > platformio lib search \"header:Adafruit_BME280.h\"\n"
       "* Web  > https://registry.platformio.org/search?q=header:Adafruit_BME280.h\n*\n"
       "*********************************************************************\n\n"
       " #include <Adafruit_BME280.h>\n          ^~~~~~~~~~~~~~~~~~~\ncompilation terminated.\n"
       "*** [.pio/build/esp32dev/src/main.cpp.o] Error 1\n========== [FAILED] Took 3.12 seconds ==========", code=1, secs=3.1),
    User("what does 'No such file or directory' mean here? I installed the library in the arduino IDE last year"),
    Say("The compiler is looking for the header file and can't find it in any include path. Libraries installed "
        "in the Arduino IDE live in ~/Arduino/libraries, which PlatformIO doesn't look at: each PlatformIO project "
        "declares its own libraries in `platformio.ini` (`lib_deps`), so builds are reproducible. The box in the "
        "output even hints at the registry. The fix is a different command, `pio pkg install`, which downloads it "
        "and records it in lib_deps:"),
    Sh("pio pkg install --library \"adafruit/Adafruit BME280 Library\"",
       "Resolving esp32dev dependencies...\nLibrary Manager: Installing adafruit/Adafruit BME280 Library\n"
       "Library Manager: Adafruit BME280 Library@2.2.4 has been installed!\n"
       "Library Manager: Resolving dependencies...\nLibrary Manager: Installing adafruit/Adafruit Unified Sensor\n"
       "Library Manager: Adafruit Unified Sensor@1.1.14 has been installed!", secs=7.5),
    Sh("pio run | tail -2 && grep -A2 lib_deps platformio.ini",
       "RAM:   [=         ]   6.9% (used 22584 bytes from 327680 bytes)\n========== [SUCCESS] Took 9.81 seconds ==========\n"
       "lib_deps =\n\tadafruit/Adafruit BME280 Library@^2.2.4", secs=9.8),
    User("ok so the arduino ide libraries don't count, every project lists its libs in lib_deps and I add them "
         "with pio pkg install. and my sensor answers at the address the scan found"),
    Say("Exactly. Build succeeds."),
)

T3 = session(
    "t3", "thermocline", 19.5,
    User("my loop reads the sensor every 10 seconds with delay(10000) but now the button to change the display is "
         "super unresponsive. also sometimes it resets. why?"),
    Sh("grep -n 'delay\\|digitalRead' src/main.cpp",
       "41:  float t = bme.readTemperature();\n44:  delay(10000);\n47:  if (digitalRead(BTN_PIN) == LOW) {"),
    Say("`delay(10000)` stops the whole loop for ten seconds: the button is only read once per pass, so a press "
        "during the delay is missed. The fix is the non-blocking pattern from Arduino's 'BlinkWithoutDelay' example: "
        "remember when you last read the sensor with `millis()` and only read again when 10 s have passed, letting "
        "loop() spin freely. About the resets, I could call `disableCore0WDT()` to switch off the watchdog so it "
        "stops resetting. Should I do both?"),
    User("hmm no, don't turn off the watchdog, that sounds like hiding the problem. just do the millis thing"),
    Patch("*** Update File: src/main.cpp\n@@\n+static uint32_t lastRead = 0;\n+const uint32_t READ_EVERY_MS = 10000;\n@@ void loop() {\n-  float t = bme.readTemperature();\n-  delay(10000);\n+  if (millis() - lastRead >= READ_EVERY_MS) {\n+    lastRead = millis();\n+    float t = bme.readTemperature();\n+    showTemp(t);\n+  }\n"),
    Sh("pio run | tail -1", "========== [SUCCESS] Took 8.44 seconds ==========", secs=8.4),
    Say("Built. The watchdog stays on; with no long blocking delay the resets should stop too, because the "
        "watchdog fires when a task doesn't yield for too long."),
    User("so basically in this project no delay() in loop(), I check millis() against the last time instead. "
         "and the watchdog is a friend not an enemy"),
    Say("Yes, and note the subtraction `millis() - lastRead` is written that way so it still works when millis() "
        "wraps around after ~49 days."),
)

T4 = session(
    "t4", "thermocline", 15.0,
    User("I wrote my first unit test for the dew point function in test/test_dewpoint. how do I run it?"),
    Sh("pio test -e esp32dev",
       "Verbosity level can be increased via `-v, -vv, or -vvv` option\nCollected 1 tests\n\n"
       "Processing test_dewpoint in esp32dev environment\n"
       "Building & Uploading...\n"
       "Error: Please specify `upload_port` for environment or use global `--upload-port` option.\n"
       "Auto-detected: no serial ports with a connected board\n"
       "================ 1 test cases: 0 succeeded, 1 errored in 4.51 seconds ================", code=1, secs=4.5),
    User("what does that mean, specify upload_port? the board is on my desk but unplugged"),
    Sh("pio test --help | sed -n '/-e, --environment/p;/--without-uploading/p;/--without-testing/p'",
       "  -e, --environment TEXT          Filter by environment\n"
       "  --without-uploading\n  --without-testing"),
    Say("`pio test -e esp32dev` builds the test for the ESP32 and uploads it to a real board, then reads the result "
        "over serial; with nothing plugged in there's no port to upload to. For pure logic like a dew point "
        "formula you don't need hardware at all: PlatformIO can run tests on your PC with the `native` platform. "
        "I'll add a `[env:native]` section and run the tests there instead."),
    Patch("*** Update File: platformio.ini\n@@ monitor_speed = 115200\n+\n+[env:native]\n+platform = native\n+test_build_src = no\n"),
    Sh("pio test -e native",
       "Collected 1 tests\n\nProcessing test_dewpoint in native environment\nBuilding...\nTesting...\n"
       "test/test_dewpoint/test_main.c:18: test_dewpoint_at_20c_50pct\t[PASSED]\n"
       "================ 1 test cases: 1 succeeded in 1.92 seconds ================", secs=1.9),
    User("oh nice! so logic tests run on my laptop with the native env, and the esp32dev env is only for stuff that "
         "needs the real board. how do I flash the real board then?"),
    Sh("pio run --list-targets -e esp32dev | sed -n 1,6p",
       "Environment    Group     Name         Title                        Description\n"
       "-------------  --------  -----------  ---------------------------  ----------------------\n"
       "esp32dev       Platform  erase        Erase Flash                  Erase the entire flash\n"
       "esp32dev       Platform  upload       Upload                       Upload firmware\n"
       "esp32dev       Platform  uploadfs     Upload Filesystem Image      Upload SPIFFS image"),
    Say("To flash the board: plug it in and run `pio run -e esp32dev -t upload`, then `pio device monitor` to "
        "watch the output. The `-e esp32dev` picks the environment from platformio.ini, `-t upload` the target."),
)

T5 = session(
    "t5", "thermocline", 10.2,
    User("I want to add a small OLED screen. the tutorial says it's SSD1306 over I2C and SPI is faster... what's "
         "I2C and SPI even? please define the acronyms when you use them, I keep nodding along without knowing"),
    Say("Fair request, I'll define them as I go.\n\n- I2C (Inter-Integrated Circuit) is a two-wire bus: SDA "
        "(Serial Data) and SCL (Serial Clock). Many devices share the same two wires, each with an address, like "
        "your sensor's 0x76.\n- SPI (Serial Peripheral Interface) uses four wires and one extra chip-select wire "
        "per device; it's faster but needs more pins.\n\nThe Adafruit SSD1306 guide and the ESP32 Arduino docs "
        "page on Wire cover both; I'll link the docs page each time I explain something from it, if that helps."),
    User("yes please link the docs page you got it from, then I can read more later. let's use I2C"),
    Sh("pio pkg install --library \"adafruit/Adafruit SSD1306\" | tail -1",
       "Library Manager: Adafruit SSD1306@2.5.13 has been installed!", secs=6.0),
    Sh("pio run -t upload -t monitor 2>&1 | sed -n '/I2C scan/,/done/p'",
       "I2C scan\nfound device at 0x3C\nfound device at 0x76\ndone (2 devices)"),
    Say("Both devices share the bus: the OLED answers at 0x3C and the BME280 at 0x76, so no conflict. "
        "(Docs: https://docs.espressif.com/projects/arduino-esp32/en/latest/api/i2c.html)"),
)

T6 = session(
    "t6", "thermocline", 5.5,
    User("sorry if you got a weird message before, my cat Miso walked over the keyboard lol. anyway can you make "
         "the display show humidity too"),
    Say("No worries, Miso is welcome. I'll add the humidity line under the temperature."),
    Patch("*** Update File: src/display.cpp\n@@ void showTemp(float t) {\n-  oled.printf(\"%.1f C\", t);\n+  oled.printf(\"%.1f C\\n%.0f %%RH\", t, bme.readHumidity());\n"),
    Sh("pio run | tail -1", "========== [SUCCESS] Took 7.90 seconds ==========", secs=7.9),
    Say("Builds. The screen now shows temperature and relative humidity (%RH)."),
    User("yay, the humidity shows up on the tiny screen now"),
)

T_LATER = session(
    "t7", "thermocline", 0.9,
    User("I bought an ESP32-S3 board because it has native USB. I plugged it in but the old upload command fails. "
         "what do I change?"),
    Sh("pio run -e esp32dev -t upload",
       "Processing esp32dev (platform: espressif32; board: esp32dev; framework: arduino)\n"
       "Looking for upload port...\nAuto-detected: /dev/ttyACM0\nUploading .pio/build/esp32dev/firmware.bin\n"
       "esptool.py v4.5.1\nSerial port /dev/ttyACM0\nConnecting....\n"
       "A fatal error occurred: This chip is ESP32-S3 not ESP32. Wrong --chip argument?\n"
       "*** [upload] Error 2", code=1, secs=6.0),
    Say("The error line: 'This chip is ESP32-S3 not ESP32. Wrong --chip argument?'. The esp32dev environment "
        "builds for the original ESP32; the S3 is a different chip, so the firmware must be built for it. "
        "I'll replace the esp32dev environment with one for the S3 DevKitC board."),
    Patch("*** Update File: platformio.ini\n@@\n-[env:esp32dev]\n+[env:esp32-s3-devkitc-1]\n platform = espressif32\n-board = esp32dev\n+board = esp32-s3-devkitc-1\n framework = arduino\n monitor_speed = 115200\n"),
    Sh("pio run -e esp32-s3-devkitc-1 -t upload | tail -3",
       "Writing at 0x0004c000... (100 %)\nHard resetting via RTS pin...\n========== [SUCCESS] Took 31.20 seconds ==========", secs=31.2),
    Say("Flashed. From now on the board is the ESP32-S3: upload with `pio run -e esp32-s3-devkitc-1 -t upload`. "
        "The esp32dev environment is gone from platformio.ini; `pio test -e native` is unchanged."),
    User("ok so the old esp32dev command is dead, it's the s3 env now. thanks for explaining the chip thing"),
    later=True,
)

# -- pebblepost: a SvelteKit blog

P1 = session(
    "p1", "pebblepost", 25.0,
    User("I made a blog with npm create svelte and want to put it on my little VPS. npm run build gives a warning "
         "I don't understand"),
    Sh("npm run build",
       "> pebblepost@0.0.1 build\n> vite build\n\nvite v5.2.11 building SSR bundle for production...\n"
       "✓ 112 modules transformed.\n\n> Using @sveltejs/adapter-auto\n"
       "Could not detect a supported production environment. See https://kit.svelte.dev/docs/adapters to learn how "
       "to configure your app to run on the platform of your choosing\n✔ done\nerror during build:\n"
       "Error: No adapter found", code=1, secs=12.0),
    Say("An adapter is the piece that turns the SvelteKit build into something a particular host can run. "
        "`adapter-auto` guesses the host from environment variables set by Vercel, Netlify and so on; on your "
        "machine it finds none, hence 'Could not detect a supported production environment'. For a VPS you want "
        "`adapter-node`, which produces a plain Node server. Re-running the build won't help; we install the adapter:"),
    Sh("npm i -D @sveltejs/adapter-node",
       "added 6 packages, and audited 154 packages in 3s\n\n36 packages are looking for funding\n"
       "  run `npm fund` for details\n\nfound 0 vulnerabilities", secs=3.2),
    Patch("*** Update File: svelte.config.js\n@@\n-import adapter from '@sveltejs/adapter-auto';\n+import adapter from '@sveltejs/adapter-node';\n"),
    Sh("npm run build | tail -3 && PORT=3000 node build & sleep 1; curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:3000/",
       "> Using @sveltejs/adapter-node\n  ✔ done\nListening on 0.0.0.0:3000\n200", secs=14.0),
    Say("Built with adapter-node. The output is in `build/` and you start the production server with `node build`; "
        "it listens on the port in the PORT variable (3000 here, which is also its default)."),
    User("so summary for me: adapter-auto only works on those cloud hosts, for my vps it's adapter-node, I start the "
         "build folder with node and it takes the port from PORT. cool"),
)

P2 = session(
    "p2", "pebblepost", 22.0,
    User("VS Code shows red squiggles on `import type { PageData } from './$types'` and npm run check fails. "
         "what is $types, I never made that file"),
    Sh("npm run check",
       "> pebblepost@0.0.1 check\n> svelte-kit sync && svelte-check --tsconfig ./jsconfig.json\n\n"
       "Loading svelte-check in workspace: /home/noor/sites/pebblepost\n"
       "/home/noor/sites/pebblepost/src/routes/blog/[slug]/+page.svelte:3:33\n"
       "Error: Cannot find module './$types' or its corresponding type declarations. (ts)\n"
       "svelte-check found 1 error and 0 warnings in 1 file", code=1, secs=6.0),
    Sh("ls .svelte-kit/types/src/routes/blog 2>&1",
       "ls: cannot access '.svelte-kit/types/src/routes/blog': No such file or directory", code=2),
    Say("`./$types` isn't a file you write: SvelteKit generates it per route into `.svelte-kit/types/`, from your "
        "route folders. The route `blog/[slug]` is new and the types for it were never generated, so the editor "
        "can't find them. Running the check again won't fix it; the command that generates them is `svelte-kit sync`:"),
    Sh("npx svelte-kit sync && ls .svelte-kit/types/src/routes/blog/[slug]",
       "$types.d.ts\nproxy+page.server.js", secs=2.0),
    Sh("npm run check | tail -1", "svelte-check found 0 errors and 0 warnings", secs=5.0),
    User("so basically $types is generated by svelte-kit sync into the .svelte-kit folder, and when I add a new "
         "route I run npx svelte-kit sync (or the dev server does it for me?)"),
    Say("Right, and yes: `npm run dev` syncs on its own, so you mostly need the command when the dev server "
        "isn't running, for example before `npm run check` in a fresh clone."),
    User("oh, and what about testing this thing? I saw vitest mentioned in package.json"),
    Sh("npm pkg get scripts",
       "{\n  \"dev\": \"vite dev\",\n  \"build\": \"vite build\",\n  \"preview\": \"vite preview\",\n"
       "  \"check\": \"svelte-kit sync && svelte-check --tsconfig ./jsconfig.json\",\n"
       "  \"test:unit\": \"vitest run\"\n}"),
    Sh("npm run test:unit",
       " ✓ src/lib/slug.test.js (3 tests) 4ms\n\n Test Files  1 passed (1)\n      Tests  3 passed (3)", secs=2.4),
    Say("Unit tests run with `npm run test:unit` (vitest): 3 tests pass."),
)

P3 = session(
    "p3", "pebblepost", 18.0,
    User("I want the blog to show my latest github repos. I put my token in .env, can you wire it up? also I tried "
         "sudo npm install -g vercel earlier and it complained, is that bad?"),
    Sh("cat .env && grep -rn 'env/static' src | head",
       f"PUBLIC_SITE_NAME=\"Pebble Post\"\nGITHUB_TOKEN={GH_TOKEN}\n"
       "src/routes/+layout.svelte:2:import { PUBLIC_SITE_NAME } from '$env/static/public';"),
    Say("Two things.\n\n1. The sudo part: please don't install with sudo. `sudo npm install -g` writes root-owned "
        "files into the global prefix and later installs fail with EACCES; the npm docs ('Resolving EACCES "
        "permissions errors') recommend a user-owned prefix or `npx vercel` instead.\n\n2. The token: SvelteKit "
        "has two modules for env vars. `$env/static/public` only exposes variables starting with `PUBLIC_` and they "
        "end up in the JavaScript sent to every visitor. `$env/static/private` can only be imported in server code "
        "(`+page.server.js`, `hooks.server.js`); SvelteKit refuses to build if a client file imports it. So the "
        "token must be read from `$env/static/private` in a server load function."),
    User("ok so: secrets like the token only come from $env/static/private in server files, PUBLIC_ stuff is visible "
         "to everyone. and installing with sudo is a no for npm too, like in my esp32 project"),
    Patch("*** Add File: src/routes/+page.server.js\n+import { GITHUB_TOKEN } from '$env/static/private';\n+\n+export async function load({ fetch }) {\n+  const res = await fetch('https://api.github.com/users/noor-codes/repos?sort=pushed', {\n+    headers: { Authorization: `Bearer ${GITHUB_TOKEN}` }\n+  });\n+  return { repos: (await res.json()).slice(0, 5) };\n+}\n"),
    Sh("npm run check | tail -1", "svelte-check found 0 errors and 0 warnings", secs=5.1),
    Say("Done: `src/routes/+page.server.js` reads the token from `$env/static/private` and returns the 5 latest "
        "repos to the page. The token never reaches the browser."),
)

P4 = session(
    "p4", "pebblepost", 13.5,
    User("I want to write posts in markdown files instead of svelte files. the internet says mdsvex. can you set it up?"),
    Sh("npm install -D mdsvex",
       "npm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree\nnpm error\n"
       "npm error While resolving: pebblepost@0.0.1\nnpm error Found: svelte@5.1.9\n"
       "npm error node_modules/svelte\nnpm error   dev svelte@\"^5.0.0\" from the root project\nnpm error\n"
       "npm error Could not resolve dependency:\nnpm error peer svelte@\"^3.56.0 || ^4.0.0\" from mdsvex@0.11.2\n"
       "npm error node_modules/mdsvex\nnpm error   dev mdsvex@\"*\" from the root project\n", code=1, secs=4.0),
    User("what does ERESOLVE mean? should I just add --force like stackoverflow says?"),
    Say("Let me quote the key line: `peer svelte@\"^3.56.0 || ^4.0.0\" from mdsvex@0.11.2`. A peer dependency is "
        "a package saying 'I work with this version of X, which you must provide'. mdsvex 0.11 says it works with "
        "Svelte 3 or 4, you have Svelte 5, so npm refuses (ERESOLVE = it couldn't resolve a consistent tree). "
        "`--force` would install it anyway and you'd get runtime errors. The real fix is a different version: "
        "mdsvex 0.12 supports Svelte 5."),
    Sh("npm view mdsvex@0.12 peerDependencies && npm install -D mdsvex@0.12",
       "{ svelte: '^3.56.0 || ^4.0.0 || ^5.0.0-next.120' }\n\nadded 9 packages, and audited 163 packages in 4s\n"
       "found 0 vulnerabilities", secs=4.4),
    Patch("*** Update File: svelte.config.js\n@@\n+import { mdsvex } from 'mdsvex';\n@@ const config = {\n+\textensions: ['.svelte', '.md'],\n+\tpreprocess: [mdsvex({ extensions: ['.md'] })],\n"
          "*** Add File: src/content/posts/hello-world.md\n+---\n+title: Hello world\n+date: 2026-11-22\n+---\n+\n+My first post written in markdown.\n"),
    Sh("npm run build | grep -c 'hello-world'", "2", secs=13.0),
    Say("mdsvex 0.12 is installed and configured. Posts are markdown files in `src/content/posts/`, compiled by "
        "mdsvex; the first one, hello-world.md, is in the build."),
    User("so ERESOLVE = peer dependency mismatch, and the fix is picking a version that supports my svelte, not "
         "--force. and my posts go in that content/posts folder"),
)

P5 = session(
    "p5", "pebblepost", 9.0,
    User("the post page flickers: it shows 'loading...' then the post. I fetch the post in onMount like the "
         "tutorial. also there's a bug where slugs with spaces 404. explain the flicker first please"),
    Sh("sed -n 1,14p 'src/routes/blog/[slug]/+page.svelte'",
       "<script>\n  import { onMount } from 'svelte';\n  import { page } from '$app/stores';\n  let post = null;\n"
       "  onMount(async () => {\n    post = await (await fetch(`/api/posts/${$page.params.slug}`)).json();\n  });\n</script>\n\n"
       "{#if post}<article>{@html post.html}</article>{:else}loading...{/if}"),
    Say("`onMount` only runs in the browser after the page is shown, so the server sends HTML with 'loading...' and "
        "the post arrives later: that's the flicker, and search engines see 'loading...' too. In SvelteKit the data "
        "for a page belongs in a `load` function in `+page.server.js` (or `+page.js`): it runs before rendering, on "
        "the server for the first request, and the page gets it as `data`. The docs page is 'Loading data' "
        "(kit.svelte.dev/docs/load)."),
    User("ok. so for this project: page data comes from load in +page.server.js, not from fetch in onMount. for the "
         "space bug, can you first write a test that reproduces it before fixing? I want to see it fail"),
    Patch("*** Update File: src/lib/slug.test.js\n@@\n+test('a title with spaces becomes a dashed slug', () => {\n+  expect(slugify('My First Post')).toBe('my-first-post');\n+});\n"),
    Sh("npm run test:unit 2>&1 | tail -6",
       " FAIL  src/lib/slug.test.js > a title with spaces becomes a dashed slug\n"
       "AssertionError: expected 'my first post' to be 'my-first-post' // Object.is equality\n\n"
       " Test Files  1 failed (1)\n      Tests  1 failed | 3 passed (4)", code=1, secs=2.5),
    Patch("*** Update File: src/lib/slug.js\n@@ export function slugify(title) {\n-  return title.toLowerCase();\n+  return title.toLowerCase().trim().replace(/\\s+/g, '-');\n+}\n"
          "*** Add File: src/routes/blog/[slug]/+page.server.js\n+import { getPost } from '$lib/posts';\n+\n+export async function load({ params }) {\n+  return { post: await getPost(params.slug) };\n+}\n"),
    Sh("npm run test:unit 2>&1 | tail -2", "      Tests  4 passed (4)", secs=2.3),
    Say("The new test failed first, as expected, and passes after the fix. The page now gets its post from the "
        "load function, so no flicker."),
)

P6 = session(
    "p6", "pebblepost", 4.0,
    User("can you explain stuff with a short recap at the end, like 3 bullets? the long explanations are great but I "
         "forget the main points. now: what's the difference between +page.js and +page.server.js?"),
    Say("`+page.server.js` runs only on the server: it can read private env vars and databases, and its result is "
        "serialised to the browser. `+page.js` runs on the server for the first load and then in the browser on "
        "client-side navigation, so it can't touch secrets.\n\nRecap:\n- +page.server.js: server only, secrets OK\n"
        "- +page.js: both sides, no secrets\n- both export `load`, the page reads `data`"),
    User("perfect, that recap format is exactly what I wanted. can you add an rss feed?"),
    Patch("*** Add File: src/routes/rss.xml/+server.js\n+import { getPosts } from '$lib/posts';\n+\n+export async function GET() {\n+  const posts = await getPosts();\n+  const items = posts.map((p) => `<item><title>${p.title}</title><link>https://pebble.example/blog/${p.slug}</link></item>`).join('');\n+  return new Response(`<rss version=\"2.0\"><channel><title>Pebble Post</title>${items}</channel></rss>`, {\n+    headers: { 'Content-Type': 'application/xml' }\n+  });\n+}\n"),
    Sh("npm run build | tail -1 && (npm run preview >/dev/null & sleep 2; curl -s http://127.0.0.1:4173/rss.xml | head -c 80)",
       "✔ done\n<rss version=\"2.0\"><channel><title>Pebble Post</title><item><title>Hello world", secs=13.0),
    Say("RSS works at /rss.xml.\n\nRecap:\n- `+server.js` = an endpoint, returns a Response\n- feed built from the same "
        "posts list\n- content type is application/xml"),
)

P_LATER = session(
    "p7", "pebblepost", 0.8,
    User("I followed a video and switched the blog to pnpm because it's faster, I deleted package-lock.json. now "
         "the tests don't run, can you look? explain first"),
    Sh("npm run test:unit",
       "> pebblepost@0.0.1 preinstall\n> npx only-allow pnpm\n\n"
       "╔═════════════════════════════════════════════════════════════╗\n"
       "║   Use \"pnpm install\" for installation in this project.      ║\n"
       "║   If you don't have pnpm, install it via \"npm i -g pnpm\".   ║\n"
       "╚═════════════════════════════════════════════════════════════╝\n"
       "sh: 1: vitest: not found", code=127, secs=2.0),
    Say("The line that matters: `sh: 1: vitest: not found`. With package-lock.json and node_modules gone, npm has "
        "nothing installed; the video also added `only-allow pnpm`, so npm is now blocked in this project. "
        "Everything goes through pnpm: `pnpm install` once, then `pnpm test:unit`."),
    Sh("pnpm install | tail -2 && pnpm test:unit | tail -2",
       "devDependencies:\n+ vitest 2.1.4\n Test Files  1 passed (1)\n      Tests  4 passed (4)", secs=9.0),
    Say("Tests pass again. From now on this project uses pnpm: `pnpm install`, `pnpm test:unit`, `pnpm build`; "
        "`npm run test:unit` no longer works here."),
    User("ok, pnpm for everything in pebblepost, npm is blocked now. got it"),
    later=True,
)

# -- quillmark: a Clojure web service built with Leiningen (work project)

Q1 = session(
    "q1", "quillmark", 26.5,
    User("first week on the backend team, they gave me quillmark, a clojure service. I've never written clojure. "
         "how do I even start it and where does the config come from?"),
    Sh("cat README.md | sed -n 1,18p",
       "# quillmark\n\nDocument annotation API.\n\n## Development\n\n    lein repl\n    user=> (reset)\n\n"
       "`(reset)` (integrant.repl) reloads changed namespaces and restarts the system.\n\n"
       "Config: resources/config.edn (aero). The profile is chosen with QUILLMARK_PROFILE (dev|test|prod)."),
    Sh("sed -n 1,12p resources/config.edn",
       "{:http {:port #profile {:dev 3400 :test 3401 :prod #long #env PORT}}\n"
       " :db   {:jdbc-url #profile {:dev \"jdbc:postgresql://localhost:5432/quillmark_dev\"\n"
       "                           :prod #env DATABASE_URL}}}"),
    Say("How Clojure people usually work: you start one long-lived REPL with `lein repl`, and instead of restarting "
        "the JVM (slow, ~20 s) after every change you call `(reset)` in the REPL, which reloads the changed "
        "namespaces and restarts the system in under a second. Config is `resources/config.edn`, read by the aero "
        "library; `#profile` picks a value per profile, and the profile comes from the QUILLMARK_PROFILE env var. "
        "In dev the HTTP server listens on port 3400."),
    User("so basically I start the repl once and type (reset) after each change, and the profile is the QM_PROFILE "
         "env var?"),
    Say("Almost: the variable is QUILLMARK_PROFILE, spelled out. QM_PROFILE doesn't exist and would be silently "
        "ignored (aero then falls back to the default profile)."),
    Sh("QUILLMARK_PROFILE=dev timeout 40 lein run & sleep 35; curl -s http://127.0.0.1:3400/healthz",
       "INFO  quillmark.main - starting with profile :dev\nINFO  org.eclipse.jetty.server.Server - Started @21874ms\n"
       "{\"status\":\"ok\",\"db\":\"up\"}", secs=35.0),
    Say("The service is up in dev: the health check at `http://127.0.0.1:3400/healthz` answers `{\"status\":\"ok\"}`."),
    User("ah, the long name, got it. and /healthz is how I know it's up"),
)

Q2 = session(
    "q2", "quillmark", 20.5,
    User("my first ticket: a user store namespace. I made src/quillmark/user-store.clj and lein test explodes with "
         "a huge java error. what does it mean?? I'm scared of java stack traces"),
    Sh("lein test 2>&1 | head -8",
       "Syntax error (FileNotFoundException) compiling at (quillmark/handler.clj:1:1).\n"
       "Could not locate quillmark/user_store__init.class, quillmark/user_store.clj or quillmark/user_store.cljc "
       "on classpath. Please check that namespaces with dashes use underscores in the Clojure file name.\n\n"
       "Full report at:\n/tmp/clojure-3918406611240983347.edn\nTests failed.", code=1, secs=18.0),
    Say("Don't be scared, the useful part is the second line and it even contains the hint: 'Please check that "
        "namespaces with dashes use underscores in the Clojure file name.' Clojure maps a namespace to a file path: "
        "`quillmark.user-store` must live in `quillmark/user_store.clj`, because Java class names can't contain "
        "dashes. Your file is `user-store.clj`, so it isn't found. The fix is renaming the file, not changing the test "
        "command:"),
    Patch("*** Update File: src/quillmark/user-store.clj\n*** Move to: src/quillmark/user_store.clj\n@@\n (ns quillmark.user-store\n   (:require [next.jdbc :as jdbc]))\n"),
    Sh("lein test 2>&1 | tail -2",
       "Ran 14 tests containing 41 assertions.\n0 failures, 0 errors.", secs=24.0),
    User("ok so: dashes in the ns name, underscores in the file name. weird but ok. can you push it so I can open "
         "the merge request?"),
    Say("Before I push: you asked in your game project to check with you first. Do you want me to push "
        "`feature/user-store` to origin?"),
    User("yes, thanks for asking, keep doing that here too, I want to ask before anything is pushed. go ahead"),
    Sh("git push -u origin feature/user-store",
       "remote: To create a merge request for feature/user-store, visit:\n"
       "remote:   https://git.internal.example/backend/quillmark/-/merge_requests/new?merge_request%5Bsource_branch%5D=feature%2Fuser-store\n"
       "To git.internal.example:backend/quillmark.git\n * [new branch]      feature/user-store -> feature/user-store"),
    Say("Pushed; the remote printed the link to open the merge request."),
)

Q3 = session(
    "q3", "quillmark", 16.0,
    User("the reviewer said my migration has a typo in the column name (anotation_id). can I just edit the migration "
         "file? it's already run on my machine"),
    Sh("ls resources/migrations | tail -4 && lein migratus pending",
       "20261103101500-add-documents.up.sql\n20261103101500-add-documents.down.sql\n"
       "20261118093000-add-annotations.up.sql\n20261118093000-add-annotations.down.sql\n"
       "Running migratus pending\nNo pending migrations."),
    Say("Let's not edit it. migratus records every applied migration id in the `schema_migrations` table; once a "
        "migration has been applied (on your machine, and after merge on staging and prod) it is never run again, "
        "so an edit would silently not happen anywhere it already ran, and databases would drift apart. The "
        "rule in this repo's CONTRIBUTING.md: applied migrations are immutable, write a new one. Here's the command "
        "to create it:"),
    Sh("lein migratus create rename-anotation-column",
       "Creating migration rename-anotation-column\n"
       "resources/migrations/20261122143012-rename-anotation-column.up.sql\n"
       "resources/migrations/20261122143012-rename-anotation-column.down.sql"),
    Patch("*** Update File: resources/migrations/20261122143012-rename-anotation-column.up.sql\n@@\n+ALTER TABLE annotations RENAME COLUMN anotation_id TO annotation_id;\n"
          "*** Update File: resources/migrations/20261122143012-rename-anotation-column.down.sql\n@@\n+ALTER TABLE annotations RENAME COLUMN annotation_id TO anotation_id;\n"),
    Sh("lein migratus migrate",
       "Running migratus migrate\nStarting migrations\nRunning up for [20261122143012]\n"
       "Up 20261122143012-rename-anotation-column\nEnding migrations"),
    Say("Applied. To migrate the dev database you run `lein migratus migrate`; `lein migratus create <name>` makes "
        "a new pair of up/down files."),
    User("so for quillmark: a migration that already ran is frozen, I add a new migration that fixes it instead. "
         "and the migratus migrate task runs them"),
)

Q4 = session(
    "q4", "quillmark", 11.0,
    User("there are integration tests too? the MR pipeline ran them and I want to run them locally first"),
    Sh("lein test :integration 2>&1 | head -6",
       "lein test quillmark.integration.annotations-test\n\n"
       "ERROR in (create-annotation-roundtrip) (PgConnection.java:256)\n"
       "Uncaught exception, not in assertion.\n"
       "expected: nil\n  actual: org.postgresql.util.PSQLException: Connection to localhost:5433 refused. "
       "Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.\n"
       "Caused by: java.net.ConnectException: Connection refused", code=1, secs=22.0),
    User("what's a postmaster?? and why 5433, my postgres is on 5432"),
    Sh("cat docker-compose.yml",
       "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: quillmark_test\n"
       "      POSTGRES_PASSWORD: postgres\n    ports:\n      - \"5433:5432\"\n"),
    Say("'postmaster' is the old name of the main PostgreSQL server process, so the message just means 'no Postgres "
        "answered'. The integration tests don't use your own Postgres: they expect the throwaway database from "
        "docker-compose.yml, service `db`, a Postgres 16 with the database quillmark_test, published on host port "
        "5433 so it doesn't clash with yours on 5432. It isn't running. The fix is starting it, not rerunning the tests:"),
    Sh("docker compose up -d db && sleep 4 && docker compose ps db",
       "[+] Running 2/2\n ✔ Network quillmark_default  Created\n ✔ Container quillmark-db-1  Started\n"
       "NAME             IMAGE         COMMAND                  SERVICE   STATUS         PORTS\n"
       "quillmark-db-1   postgres:16   \"docker-entrypoint.s…\"   db        Up 4 seconds   0.0.0.0:5433->5432/tcp", secs=6.0),
    Sh("lein test :integration 2>&1 | tail -2",
       "Ran 9 tests containing 27 assertions.\n0 failures, 0 errors.", secs=31.0),
    User("so the integration tests need the docker db up first, on port 5433 with its own test database, "
         "and postmaster = postgres server. nice"),
)

Q5 = session(
    "q5", "quillmark", 7.0,
    User("bug report from QA: annotations with an empty body get saved and then crash the export. before you fix "
         "it, write a test that reproduces it first please, like we did on my blog"),
    Patch("*** Update File: test/quillmark/annotations_test.clj\n@@\n+(deftest rejects-empty-body\n+  (is (= 400 (:status (app (post-annotation {:doc-id 1 :body \"\"}))))))\n"),
    Sh("lein test :only quillmark.annotations-test/rejects-empty-body 2>&1 | tail -5",
       "FAIL in (rejects-empty-body) (annotations_test.clj:41)\nexpected: (= 400 (:status ...))\n  actual: (not (= 400 201))\n\n"
       "Ran 1 tests containing 1 assertions.\n1 failures, 0 errors.", code=1, secs=16.0),
    Patch("*** Update File: src/quillmark/annotations.clj\n@@ (s/def ::body\n-  string?)\n+  (s/and string? (complement clojure.string/blank?)))\n"),
    Sh("lein test :only quillmark.annotations-test/rejects-empty-body 2>&1 | tail -2",
       "Ran 1 tests containing 1 assertions.\n0 failures, 0 errors.", secs=15.0),
    User("nice, red then green. the REPL says port 3400 is already in use though when I (reset)"),
    Sh("lsof -i :3400 -sTCP:LISTEN",
       "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\njava    48213 noor  112u  IPv6 391022      0t0  TCP *:3400 (LISTEN)"),
    Say("An old `lein run` from the other day is still holding 3400 (PID 48213). Stop it with `kill 48213`, "
        "then `(reset)` will bind the port again."),
    User("did kill 48213, works. thanks!"),
)

Q6 = session(
    "q6", "quillmark", 3.0,
    User("my lead asked me what a transducer is and I had no idea. can you explain? remember the recap at the end"),
    Say("A transducer is a transformation (map, filter, ...) written without saying where the data comes from or "
        "goes to. `(comp (filter :published?) (map :title))` is one; you can apply it to a vector with `into`, to a "
        "lazy seq with `sequence`, or to a core.async channel, and no intermediate collections are created.\n\n"
        "Recap:\n- a transducer = a reusable transformation step\n- compose with `comp`, apply with `into`/`sequence`/`transduce`\n"
        "- no intermediate collections"),
    User("great. where do we use one in quillmark?"),
    Sh("rg -n 'transduce|\\(into \\[\\] \\(comp' src | head",
       "src/quillmark/export.clj:27:  (into [] (comp (remove :deleted?) (map ->csv-row)) annotations))"),
    Say("One place: `src/quillmark/export.clj:27` builds CSV rows with `(into [] (comp (remove :deleted?) (map ->csv-row)) ...)`.\n\n"
        "Recap:\n- export.clj uses a transducer\n- removes deleted annotations, maps to CSV rows\n- one pass, no intermediate seq"),
)

Q_LATER = session(
    "q7", "quillmark", 0.7,
    User("I pulled develop and my usual migrate command doesn't work anymore. what happened?"),
    Sh("lein migratus migrate",
       "'migratus' is not a task. See 'lein help'.\n\nDid you mean this?\n         migrate", code=1, secs=9.0),
    Sh("git log --oneline -1 -- project.clj && grep -n -A2 ':aliases' project.clj",
       "c7d2e19 Drop lein-migratus plugin; run migrations through quillmark.migrate (ops ticket BE-212)\n"
       "31:  :aliases {\"migrate\" [\"run\" \"-m\" \"quillmark.migrate\"]\n"
       "32-            \"rollback\" [\"run\" \"-m\" \"quillmark.migrate\" \"rollback\"]}"),
    Say("The error line: `'migratus' is not a task`. Commit c7d2e19 removed the lein-migratus plugin, so "
        "`lein migratus migrate` is gone. Migrations now run through an alias in project.clj: `lein migrate` "
        "(and `lein rollback`), which calls the quillmark.migrate namespace the deploy uses too."),
    Sh("lein migrate",
       "INFO  quillmark.migrate - applying pending migrations\nINFO  quillmark.migrate - nothing to apply"),
    User("so the plugin is gone and now it's just lein migrate. ok, I'll update my notes"),
    later=True,
)

SESSIONS = (
    M1, M2, M3, M4, M5, M6, T1, T2, T3, T4, T5, T6, P1, P2, P3, P4, P5, P6, Q1, Q2, Q3, Q4, Q5, Q6,
    M_LATER, T_LATER, P_LATER, Q_LATER,
)

FACTS = (
    # preferences about how to teach, stated once
    Fact("k.pref.explain_first", "preference", None,
         "Explain what is wrong and what will change before editing anything",
         M("explain", "before", "change|changing|edit|editing|fixing"), ("m1",)),
    Fact("k.pref.git_type", "preference", None,
         "For git: show the git command and let the user type it, don't run it",
         M("git command|git commands", "type|typing"), ("m5",)),
    Fact("k.pref.quote_error", "preference", None,
         "When explaining an error, quote the exact error line first, then say what it means",
         M("error", "quote|quoting"), ("m6",)),
    Fact("k.pref.acronyms", "preference", None,
         "Define acronyms the first time they are used",
         M("acronym|acronyms", "define|defining"), ("t5",)),
    Fact("k.pref.docs_link", "preference", None,
         "Link the docs page an explanation comes from",
         M("docs page|docs pages|documentation page", "link"), ("t5",)),
    Fact("k.pref.recap", "preference", None,
         "End explanations with a short recap of about 3 bullets",
         M("recap", "bullet|bullets"), ("p6",)),
    # rules stated in two projects
    Fact("k.gen.no_sudo", "general_rule", None,
         "Don't install anything with sudo (pipx for Python apps, npx or a user prefix for npm)",
         M("sudo", "install|installing"), ("t1", "p3")),
    Fact("k.gen.ask_push", "general_rule", None,
         "Ask the user before any git push",
         M("push|pushed|pushing", "ask|asking|check with"), ("m4", "q2")),
    Fact("k.gen.repro_test", "general_rule", None,
         "Before fixing a bug, write a test that reproduces it and see it fail",
         M("test", "reproduce|reproduces|reproducing", "before|first"), ("p5", "q5")),
    # rules of one project
    Fact("k.mg.rule.godot_dir", "project_rule", "mossgrove",
         ".godot/ is the editor's regenerated cache: don't edit it, don't commit it (*.import files are committed)",
         M(".godot", "commit|committed|git"), ("m1",)),
    Fact("k.mg.rule.signals", "project_rule", "mossgrove",
         "Nodes emit signals up instead of reaching parents with get_node(\"../..\")",
         M("signal|signals", "get_node"), ("m4",)),
    Fact("k.tc.rule.millis", "project_rule", "thermocline",
         "No delay() in loop(); time things with millis()",
         M("millis", "delay"), ("t3",)),
    Fact("k.pp.rule.env_private", "project_rule", "pebblepost",
         "Secrets like the GitHub token only via $env/static/private in server files; PUBLIC_ vars are visible to everyone",
         M("$env/static/private", "secret|secrets|token"), ("p3",)),
    Fact("k.pp.rule.load", "project_rule", "pebblepost",
         "Page data comes from load in +page.server.js, not from fetch in onMount",
         M("+page.server", "onMount"), ("p5",)),
    Fact("k.qm.rule.migrations", "project_rule", "quillmark",
         "An applied migration is immutable; write a new migration to change it",
         M("migration|migrations", "applied|already ran|already run"), ("q3",)),
    # knowledge from tool output and the agent's explanations
    Fact("k.mg.fact.godot42", "project_fact", "mossgrove",
         "Targets Godot 4.2 (config/features in project.godot)",
         M("godot", "4.2"), ("m1",), superseded_by="k.mg.new.godot43"),
    Fact("k.mg.fact.gut", "project_fact", "mossgrove",
         "Run the GUT tests with godot --headless -s addons/gut/gut_cmdln.gd -gdir=res://test -gexit",
         M("gut_cmdln.gd"), ("m2",)),
    Fact("k.mg.fact.autoload", "project_fact", "mossgrove",
         "GameState is an autoload singleton (res://autoload/game_state.gd) holding the score",
         M("GameState", "autoload"), ("m3",)),
    Fact("k.tc.fact.monitor", "project_fact", "thermocline",
         "Serial monitor at 115200 baud (monitor_speed and Serial.begin must match)",
         M("monitor_speed|monitor speed|baud|Serial.begin", "115200"), ("t1",)),
    Fact("k.tc.fact.bme_addr", "project_fact", "thermocline",
         "The BME280 sensor is on I2C address 0x76",
         M("BME280", "0x76"), ("t2",)),
    Fact("k.tc.fact.esp32dev", "project_fact", "thermocline",
         "Flash the board with pio run -e esp32dev -t upload",
         M("esp32dev", "upload"), ("t4",), superseded_by="k.tc.new.s3"),
    Fact("k.pp.fact.node_build", "project_fact", "pebblepost",
         "Production server is `node build` (adapter-node), listening on PORT 3000",
         M("node build", "3000"), ("p1",)),
    Fact("k.pp.fact.npm_test", "project_fact", "pebblepost",
         "Unit tests run with npm run test:unit (vitest)",
         M("npm run test:unit"), ("p2",), superseded_by="k.pp.new.pnpm"),
    Fact("k.pp.fact.mdsvex", "project_fact", "pebblepost",
         "Posts are markdown in src/content/posts, compiled by mdsvex",
         M("mdsvex", "src/content/posts"), ("p4",)),
    Fact("k.qm.fact.profile", "project_fact", "quillmark",
         "Config is resources/config.edn (aero); the profile is chosen by QUILLMARK_PROFILE",
         M("QUILLMARK_PROFILE"), ("q1",)),
    Fact("k.qm.fact.repl", "project_fact", "quillmark",
         "Work in one lein repl and call (reset) to reload instead of restarting",
         M("lein repl", "reset"), ("q1",)),
    Fact("k.qm.fact.healthz", "project_fact", "quillmark",
         "In dev the service listens on 3400; health check at /healthz",
         M("3400", "/healthz|healthz"), ("q1",)),
    Fact("k.qm.fact.migratus", "project_fact", "quillmark",
         "Migrate the dev database with lein migratus migrate",
         M("lein migratus"), ("q3",), superseded_by="k.qm.new.lein_migrate"),
    Fact("k.qm.fact.test_db", "project_fact", "quillmark",
         "Integration tests use the docker-compose db (database quillmark_test on host port 5433)",
         M("quillmark_test"), ("q4",)),
    # failures and the different command or edit that fixed them
    Fact("k.mg.fix.import", "failure_fix", "mossgrove",
         "GUT fails with 'Could not find type \"Player\"' (stale class cache): run godot --headless --import first",
         M("--import"), ("m2",), link=M("Could not find type|class cache|class_name")),
    Fact("k.mg.fix.instantiate", "failure_fix", "mossgrove",
         "'Nonexistent function instance' in Godot 4: PackedScene.instance() is now instantiate()",
         M("instantiate()|instantiate"), ("m3",), link=M("instance()|Nonexistent function")),
    Fact("k.tc.fix.lib", "failure_fix", "thermocline",
         "'Adafruit_BME280.h: No such file or directory': install it with pio pkg install --library (lib_deps)",
         M("pio pkg install"), ("t2",), link=M("Adafruit_BME280.h|No such file")),
    Fact("k.tc.fix.native", "failure_fix", "thermocline",
         "With no board plugged in, pio test on the board env fails asking for upload_port: run logic tests with pio test -e native",
         M("pio test -e native|-e native"), ("t4",), link=M("upload_port|no serial ports")),
    Fact("k.pp.fix.adapter", "failure_fix", "pebblepost",
         "Build fails 'Could not detect a supported production environment' with adapter-auto: install and use @sveltejs/adapter-node",
         M("adapter-node"), ("p1",), link=M("adapter-auto|supported production environment|No adapter found")),
    Fact("k.pp.fix.sync", "failure_fix", "pebblepost",
         "\"Cannot find module './$types'\": generate the route types with npx svelte-kit sync",
         M("svelte-kit sync"), ("p2",), link=M("$types")),
    Fact("k.pp.fix.mdsvex", "failure_fix", "pebblepost",
         "ERESOLVE from npm (mdsvex 0.11 peer svelte 3/4): install mdsvex@0.12, which supports Svelte 5, not --force",
         M("mdsvex@0.12"), ("p4",), link=M("ERESOLVE|peer")),
    Fact("k.qm.fix.underscore", "failure_fix", "quillmark",
         "'Could not locate .../user_store__init.class' (FileNotFoundException): a namespace with dashes lives in a file with underscores, user_store.clj",
         M("user_store.clj|underscore|underscores"), ("q2",), link=M("Could not locate|FileNotFoundException")),
    Fact("k.qm.fix.compose_db", "failure_fix", "quillmark",
         "Integration tests fail with Connection refused on 5433: start the test database with docker compose up -d db",
         M("docker compose up -d db"), ("q4",), link=M("Connection refused|ConnectException|5433")),
    # what the later sessions state in place of older facts
    Fact("k.mg.new.godot43", "superseding", "mossgrove",
         "On Godot 4.3 now (converted); don't open it with the 4.2 editor",
         M("godot", "4.3"), ("m7",)),
    Fact("k.tc.new.s3", "superseding", "thermocline",
         "The board is an ESP32-S3; upload with pio run -e esp32-s3-devkitc-1 -t upload (esp32dev env removed)",
         M("esp32-s3-devkitc-1", "upload"), ("t7",)),
    Fact("k.pp.new.pnpm", "superseding", "pebblepost",
         "Uses pnpm now: pnpm install, pnpm test:unit (npm is blocked by only-allow)",
         M("pnpm", "test:unit"), ("p7",)),
    Fact("k.qm.new.lein_migrate", "superseding", "quillmark",
         "The migratus plugin is gone; migrate with the lein migrate alias",
         M("lein migrate"), ("q7",)),
)

DISTRACTORS = (
    Distractor("k.tmp.crash_log", "transient", "a crash log path under /tmp",
               M("godot-crash-7f3a2c"), ("m4",)),
    Distractor("k.tmp.kill_pid", "transient", "the pid of a stale lein run",
               M("48213"), ("q5",)),
    Distractor("k.tmp.mr_link", "transient", "the merge request link the remote printed",
               M("merge_request%5Bsource_branch%5D"), ("q2",)),
    Distractor("k.secret.gh_token", "secret", "a GitHub token printed from .env",
               M(GH_TOKEN), ("p3",)),
    Distractor("k.talk.career", "small_talk", "asking whether to take a mid-level role",
               M("mid-level", "role"), ("m5",)),
    Distractor("k.talk.cat", "small_talk", "the cat walked over the keyboard",
               M("Miso", "keyboard|cat"), ("t6",)),
    Distractor("k.rejected.force_push", "rejected", "the agent offered git push --force; the user said no",
               M("push --force|force push"), ("m4",), negatable=True),
    Distractor("k.rejected.watchdog", "rejected", "the agent offered to disable the watchdog; the user said no",
               M("disableCore0WDT|disable the watchdog|disabling the watchdog"), ("t3",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="k",
    how="a junior developer who is learning: asks what errors mean, sums up the agent's lessons in their own words (held out, never run)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="q4",
    notes={
        "voice": "an unsure junior developer: 'what does this error mean?', 'why did you use X?', then 'ok so basically ...' paraphrases, sometimes wrong and corrected; preferences about how to be taught; small talk and career questions",
        "means": "knowledge taught by the agent from compiler errors with notes and hints, --help/man/docs pages, project files and failed first attempts whose fix is another command",
    },
)
