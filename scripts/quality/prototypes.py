"""Generic prototype sentences per class for the meaning probe's nearest-prototype classifier.

Written for the probe, in wording no corpus has (no corpus's projects, tools or phrasing;
``tests/unit/test_probe_labels.py`` checks that none shares most of its words with a corpus
sentence): this set, not the corpora, is what could ship in memoryd. ``other`` holds what a
session says that is not worth remembering: requests for now, progress, acknowledgements,
questions, small talk.
"""

from __future__ import annotations

from quality.labels import OTHER

PROTOTYPES: dict[str, tuple[str, ...]] = {
    "rule": (
        "From now on always use X instead of Y.",
        "Never commit directly to the main branch.",
        "I prefer short answers without long explanations.",
        "Please do not pull in extra libraries unless I approve them.",
        "In this repository every change needs a test.",
        "Whenever you change the API, update the documentation too.",
        "We don't use that library here, use the standard one.",
        "Variable names are spelled out, never abbreviated.",
        "Type hints are required on every public function.",
        "Whitespace-only edits go into a separate cleanup patch.",
        "Commit messages should be written in the imperative mood.",
        "Check with me before you drop a database table.",
        "Our team's convention is to put tests next to the code they test.",
        "It is annoying when you change unrelated files, please stop doing that.",
        "Debug output must not be left behind in merged code.",
        "Stick to the existing style of the file.",
    ),
    "fact": (
        "The service reads its port from an environment variable.",
        "The configuration lives in a file under the config directory.",
        "The database URL comes from the settings file and defaults to a local instance.",
        "The tests need the local database to be running first.",
        "This project uses version 3 of the framework.",
        "The generated code is produced by a script and must not be edited by hand.",
        "To run the integration tests, start the containers first.",
        "The build tool was replaced by a newer one last month.",
        "The old command no longer exists; there is a new target for it.",
        "The server listens on localhost at a fixed port in development.",
        "Credentials are loaded from a dotenv file at startup.",
        "The app is started with a make target that also runs the migrations.",
        "The documentation is built from the docs folder with a static site generator.",
        "The default locale is set in the main configuration.",
        "The CI pipeline runs the checks on every pull request.",
    ),
    "fix": (
        "The tests failed because a module was missing; installing the package fixed it.",
        "The build broke on a missing header, and adding the dev package solved it.",
        "Regenerating the stale lock file cleared the resolver failure.",
        "It failed with a version conflict until we pinned the older release.",
        "The migration failed because the database did not exist; creating it first fixed that.",
        "The import error was caused by a stale cache, clearing it made the run pass.",
        "The command was not found, so I installed the tool and the rerun succeeded.",
        "The lint step failed on formatting; running the formatter fixed it.",
        "The compile error came from an outdated generated file; regenerating it resolved it.",
        "After setting the missing environment variable the server started fine.",
        "The check passes now that the dependency is updated.",
        "That failure was a permissions problem, solved by running it in the container.",
    ),
    OTHER: (
        "Thank you, that reads well.",
        "Can you investigate this crash report?",
        "Let me check the logs first.",
        "I'm starting the whole check pipeline now.",
        "Everything is green now.",
        "Here is the change I made to the function.",
        "What does this error mean?",
        "Sounds fine, proceed.",
        "Good morning, hope your weekend was nice.",
        "Please rename the button label to Submit.",
        "I opened the file and read the function.",
        "The output is shown below.",
        "Let's continue with the next ticket.",
        "Done, I updated the two files.",
        "Sorry for the delay, I was away.",
        "Could you rename this variable?",
    ),
}
