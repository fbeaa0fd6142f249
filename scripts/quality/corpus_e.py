# Literal command output keeps its real line lengths.
# ruff: noqa: E501
"""Corpus E, held out: the work diary of one developer, 28 sessions in four projects over 26 days.

A fifth means of writing, for a test nobody tuning has seen: E was written once, from a diary
of one developer's month, and never run through memoryd's extraction before it was committed
(its ground truth was checked only with the scorer's self-checks). The voice is a fourth one:
Thanh writes politely and at length, in non-native English with typos ("pls", "teh",
"becuase"), and most knowledge arrives indirectly: a pasted CI log, a config file the agent
reads with ``cat``/``sed`` and draws a conclusion from, a teammate's instruction relayed
("Priya says ..."), a rule given as a complaint, a fix found after two wrong attempts, a fact
corrected ten days later, a target renamed in a Makefile diff. The domain mix is other than
A–D's: a PyTorch training repo on conda and hydra (``loomtrain``), a Svelte web app on Deno
(``tidepool``), a Java Spring Boot service with Maven, Flyway and Testcontainers
(``parcelhub``) and an OCaml command-line tool with dune and opam (``ocamlsieve``).

Each diary day is one ``entry``; the days of the last four (``later``) correct older facts.
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
HOME = "/home/thanh/dev"
PROJECTS = (
    Project("loomtrain", f"{HOME}/loomtrain", "git@gitlab.example.org:vision/loomtrain.git"),
    Project("tidepool", f"{HOME}/tidepool", "git@github.com:tidepool-app/tidepool.git"),
    Project("parcelhub", f"{HOME}/parcelhub", "git@gitlab.example.org:logistics/parcelhub.git", "develop"),
    Project("ocamlsieve", f"{HOME}/ocamlsieve", "git@github.com:thanh-ng/ocamlsieve.git"),
)
HF_TOKEN = "hf_kPzQwErTyUiOpAsDfGhJkLzXcVbNm12345"


def entry(key: str, project: str, days_ago: float, *steps: Step, later: bool = False) -> Session:
    """One day of the diary: the session that Thanh had with the agent that day."""
    return Session(key, project, days_ago, steps, later=later)


# -- loomtrain: PyTorch training, conda env, hydra configs, pytest

LT1 = entry(
    "lt1", "loomtrain", 26.3,
    User("Hello, good morning. I am new in this repo (loomtrain), my colleague Priya gave it to me yesterday. "
         "Could you please help me to make the python environment so I can run things? Please explain with simple English and short sentences, "
         "my english is not so good and long paragraphs are hard for me. Also I have no root on this workstation, so no sudo please, it will only ask me password and fail."),
    Think("Look at environment.yml to see how the env is defined."),
    Sh("ls", "README.md\nconf\nconda-lock.yml\nenvironment.yml\nloom\npytest.ini\nscripts\ntests\ntrain.py"),
    Sh("cat environment.yml", "name: loom-cu121\nchannels:\n  - pytorch\n  - nvidia\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pytorch=2.3.1\n  - pytorch-cuda=12.1\n  - hydra-core=1.3.2\n  - lightning=2.3.0\n  - wandb\n  - pytest=8.2\n  - pip\n"),
    Sh("conda env create -f environment.yml", "Channels:\n - pytorch\n - nvidia\n - conda-forge\nPlatform: linux-64\nCollecting package metadata (repodata.json): done\nSolving environment: done\n\nDownloading and Extracting Packages:\n...\nPreparing transaction: done\nVerifying transaction: done\nExecuting transaction: done\n#\n# To activate this environment, use\n#\n#     $ conda activate loom-cu121\n#\n# To deactivate an active environment, use\n#\n#     $ conda deactivate", secs=212.4),
    Sh("conda run -n loom-cu121 python -c 'import torch; print(torch.__version__, torch.cuda.is_available())'", "2.3.1 True"),
    Say("Done. The env is created.\n- Its name comes from environment.yml: `loom-cu121`.\n- Start it with `conda activate loom-cu121`.\n- torch 2.3.1 sees the GPU.\nI did not use sudo."),
    User("thank you very much!! it works on my side too."),
    Say("Good. Tell me when you want to run the tests."),
)

LT2 = entry(
    "lt2", "loomtrain", 23.1,
    User("Hi again, sorry for disturb. Now the dataset test is failing, can you look pls? I only changed tests/test_dataset.py a little."),
    Sh("conda run -n loom-cu121 pytest -q", "........................................................................ [ 31%]\n........................................................................ [ 63%]\n.................................................E\n==================================== ERRORS ====================================\n___________________ ERROR collecting tests/test_dataset.py ____________________\nImportError while importing test module '/home/thanh/dev/loomtrain/tests/test_dataset.py'.\nHint: make sure your test modules/packages have valid Python names.\nTraceback:\ntests/test_dataset.py:4: in <module>\n    from torchvision.transforms import v2 as T\nE   ModuleNotFoundError: No module named 'torchvision'\n=========================== short test summary info ============================\nERROR tests/test_dataset.py\n!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n193 passed, 1 error in 412.77s (0:06:52)", code=2, secs=413.1),
    User("Oh no, it ran everything, seven minutes... it is really annoying when you run the whole suite for one file. Just the test file I changed, thats enough, pls remember this."),
    Sh("conda run -n loom-cu121 pytest -q tests/test_dataset.py -p no:cacheprovider", "ImportError while importing test module '/home/thanh/dev/loomtrain/tests/test_dataset.py'.\nE   ModuleNotFoundError: No module named 'torchvision'\n1 error in 2.31s", code=2),
    Sh("conda run -n loom-cu121 conda install -y torchvision", "Channels:\n - conda-forge\nPlatform: linux-64\nCollecting package metadata (repodata.json): done\nSolving environment: failed\n\nPackagesNotFoundError: The following packages are not available from current channels:\n\n  - torchvision\n\nCurrent channels:\n\n  - https://conda.anaconda.org/conda-forge\n", code=1, secs=31.0),
    Sh("PYTHONPATH=. conda run -n loom-cu121 pytest -q tests/test_dataset.py", "E   ModuleNotFoundError: No module named 'torchvision'\n1 error in 2.28s", code=2),
    Think("The env has no torchvision and the default channel does not have the pytorch build. Add it to environment.yml so the env stays reproducible, then update the env from the file."),
    Say("torchvision is missing from the env. I want to add it to environment.yml and update the env from the file. And the conda-lock.yml, I can change the torchvision line there too?"),
    User("Add to environment.yml yes. But the lock file please dont edit by hand, Priya told me the hashes break and CI refuses it. After the yml change it must be regenerated with conda-lock."),
    Patch("*** Update File: environment.yml\n@@\n   - pytorch-cuda=12.1\n+  - pytorch::torchvision=0.18.1\n   - hydra-core=1.3.2"),
    Sh("conda env update -n loom-cu121 -f environment.yml --prune", "Channels:\n - pytorch\n - nvidia\n - conda-forge\nCollecting package metadata (repodata.json): done\nSolving environment: done\n\n## Package Plan ##\n\n  added / updated specs:\n    - pytorch::torchvision=0.18.1\n\nExecuting transaction: done", secs=96.3),
    Sh("conda-lock lock -f environment.yml -p linux-64", "Locking dependencies for ['linux-64']...\nINFO:conda_lock.conda_solver:linux-64 using specs ['python 3.11.*', 'pytorch 2.3.1.*', 'pytorch::torchvision 0.18.1.*', ...]\n - Install lock using: conda-lock install --name YOURENV conda-lock.yml", secs=58.2),
    Sh("conda run -n loom-cu121 pytest -q tests/test_dataset.py", "........                                                                 [100%]\n8 passed in 3.02s"),
    Say("Fixed. `ModuleNotFoundError: No module named 'torchvision'` was because the env did not have it. `conda install torchvision` failed (the package is not on conda-forge for this build), so I added `pytorch::torchvision` to environment.yml and ran `conda env update -f environment.yml --prune`. I regenerated conda-lock.yml with `conda-lock lock`. Now only tests/test_dataset.py ran: 8 passed."),
)

LT3 = entry(
    "lt3", "loomtrain", 19.2,
    User("Good morning! Today I want to try a small training on the cityscapes subset. I wanted to type `python train.py +experiment=small` but Priya says we always start training with scripts/launch.sh, never python train.py directly, because the launcher sets the run directory and the GPU ids. So please use that one."),
    Sh("sed -n 1,30p scripts/launch.sh", "#!/usr/bin/env bash\n# Start a training run. Sets the run dir and pins the GPUs.\nset -euo pipefail\nexport RUN_DIR=\"runs/$(date +%Y%m%d-%H%M%S)\"\nexport CUDA_VISIBLE_DEVICES=\"${GPUS:-0}\"\nmkdir -p \"$RUN_DIR\"\nexec python train.py hydra.run.dir=\"$RUN_DIR\" \"$@\""),
    Sh("conda run -n loom-cu121 scripts/launch.sh +experiment=small trainer.max_epochs=1", "[2026-11-18 09:12:40,118][loom.train][INFO] - seed everything: 1234, deterministic=True\nwandb: Tracking run with wandb version 0.17.5\nwandb: Run data is saved locally in runs/20261118-091240/wandb/run-20261118_091241-3kq9x7vd\nError executing job with overrides: ['+experiment=small', 'trainer.max_epochs=1']\nTraceback (most recent call last):\n  File \"/home/thanh/dev/loomtrain/loom/model/blocks.py\", line 88, in forward\n    x = torch.bmm(q, k.transpose(1, 2))\nRuntimeError: Deterministic behavior was enabled with either `torch.use_deterministic_algorithms(True)` or `at::Context::setDeterministicAlgorithms(true)`, but this operation is not deterministic because it uses CuBLAS and you have CUDA >= 10.2. To enable deterministic behavior in this case, you must set an environment variable before running your PyTorch application: CUBLAS_WORKSPACE_CONFIG=:4096:8 or CUBLAS_WORKSPACE_CONFIG=:16:8. For more information, go to https://docs.nvidia.com/cuda/cublas/index.html#results-reproducibility", code=1, secs=48.7),
    Say("The run stopped: the config asks for deterministic algorithms, and cuBLAS then needs `CUBLAS_WORKSPACE_CONFIG`. I will set it for the run."),
    Sh("CUBLAS_WORKSPACE_CONFIG=:4096:8 conda run -n loom-cu121 scripts/launch.sh +experiment=small trainer.max_epochs=1", "[2026-11-18 09:15:02,441][loom.train][INFO] - seed everything: 1234, deterministic=True\nEpoch 0: 100%|██████████| 312/312 [03:51<00:00,  1.35it/s, loss=0.412, v_num=x7vd]\n[2026-11-18 09:19:01,907][loom.train][INFO] - val/miou=0.4417\n`Trainer.fit` stopped: `max_epochs=1` reached.", secs=241.0),
    Say("The small run finished through scripts/launch.sh: val mIoU 0.4417 after 1 epoch. The deterministic error (`CUBLAS_WORKSPACE_CONFIG`) is fixed by starting it with `CUBLAS_WORKSPACE_CONFIG=:4096:8` in front."),
    User("Super, thank you. The wandb link is not important, I will look at it tomorow."),
)

LT4 = entry(
    "lt4", "loomtrain", 15.1,
    User("Hello. Where does the training read the data from? I copied the dataset to my scratch disk but it still takes the old one. And the tests, some of them are skiped on my laptop, is this normal?"),
    Sh("sed -n 1,40p conf/train.yaml", "defaults:\n  - model: segformer_b0\n  - _self_\n\nseed: 1234\ndeterministic: true\n\ndata:\n  root: ${oc.env:LOOM_DATA_ROOT,/data/shared/cityscapes}\n  batch_size: 32\n  num_workers: 8\n\ntrainer:\n  max_epochs: 60\n  precision: bf16-mixed"),
    Sh("cat pytest.ini", "[pytest]\ntestpaths = tests\naddopts = -ra\nmarkers =\n    gpu: needs a CUDA device (deselect with -m \"not gpu\")\n    slow: takes more than a minute"),
    Sh("conda run -n loom-cu121 pytest -q tests/test_model.py -m 'not gpu'", "......s.....                                                             [100%]\n=========================== short test summary info ============================\nSKIPPED [1] tests/test_model.py:71: cannot write to /tmp/pytest-of-thanh/pytest-112/ckpt (disk quota)\n11 passed, 1 skipped, 3 deselected in 6.40s"),
    Say("Two things I found in the config:\n- The data location is read from the environment variable `LOOM_DATA_ROOT` (conf/train.yaml, `data.root`); without it, it uses /data/shared/cityscapes. So export `LOOM_DATA_ROOT` to your scratch copy.\n- Tests that need a GPU are marked `gpu` in pytest.ini. On the laptop run them with `-m 'not gpu'`; the 3 deselected ones are those. The one skip was a full temp dir, not a real problem."),
    User("aha, that is why. Thank you a lot for teh explanation."),
)

LT5 = entry(
    "lt5", "loomtrain", 10.2,
    User("Hi. The new backbone weights are on huggingface in a private repo, the download in loom/weights.py says 401. Can you look?"),
    Sh("conda run -n loom-cu121 python -c 'from loom.weights import fetch; fetch(\"segformer_b2\")'", "Traceback (most recent call last):\n  File \"/home/thanh/dev/loomtrain/loom/weights.py\", line 19, in fetch\n    path = hf_hub_download(repo_id=\"loom-vision/segformer-b2-city\", filename=\"model.safetensors\")\nhuggingface_hub.utils._errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6741c2aa-5d2f0e6b3c7a)\nCannot access gated repo for url https://huggingface.co/loom-vision/segformer-b2-city/resolve/main/model.safetensors.", code=1),
    Say("The repo is gated: the download needs a Hugging Face token of an account with access."),
    User("Ah yes, I have one. My token is " + HF_TOKEN + " , can you put it somewhere so it works?"),
    Say("I will not write the token into the repo or a file here: it would end in git or in logs. Please run `huggingface-cli login` yourself in your terminal and paste it at the prompt; it is stored in ~/.cache/huggingface for your user only. After that the download works without changes."),
    User("ok, I did the login myself. Now it downloads. Thanks for being carefull."),
    Sh("conda run -n loom-cu121 python -c 'from loom.weights import fetch; print(fetch(\"segformer_b2\"))'", "/home/thanh/.cache/huggingface/hub/models--loom-vision--segformer-b2-city/snapshots/9f1e2d/model.safetensors"),
    Say("The weights download now."),
)

LT6 = entry(
    "lt6", "loomtrain", 5.2,
    User("Good morning, can you run the config unit test again after my change in loom/config.py? Only that one pls."),
    Sh("conda run -n loom-cu121 pytest -q tests/test_config.py", "......                                                                   [100%]\n6 passed in 1.12s"),
    Say("tests/test_config.py: 6 passed (in the `loom-cu121` env)."),
)

# -- tidepool: a Svelte app on Deno

TP1 = entry(
    "tp1", "tidepool", 25.4,
    User("Hello! This is my second project, a small web app in Svelte, but it runs with Deno not node. I cloned it fresh and `deno task dev` does not start. Can you help please? Sorry in advance if it is something stupid. (also the coffee machine on our floor is broken again so I am not fully awake, haha)"),
    Sh("deno task dev", "Task dev vite dev\nerror: Could not find a matching package for 'npm:svelte@^5.1.0' in the node_modules directory. Ensure you have all your JSR and npm dependencies listed in your deno.json or package.json, then run `deno install`. Alternatively, turn on auto-install by specifying `\"nodeModulesDir\": \"auto\"` in your deno.json file.", code=1),
    Sh("deno --version", "deno 2.1.4 (stable, release, x86_64-unknown-linux-gnu)\nv8 13.0.245.12-rusty\ntypescript 5.6.2"),
    Sh("deno install", "Download https://registry.npmjs.org/svelte\nDownload https://registry.npmjs.org/@sveltejs/kit\nDownload https://registry.npmjs.org/vite\nInitialize svelte@5.1.16\nInitialize @sveltejs/kit@2.9.0\nInitialize vite@5.4.11", secs=14.6),
    Sh("timeout 8 deno task dev", "Task dev vite dev --port 5174 --strictPort\n\n  VITE v5.4.11  ready in 812 ms\n\n  ➜  Local:   http://localhost:5174/\n  ➜  Network: use --host to expose", code=124, secs=8.0),
    Say("Not stupid at all. A fresh clone has no node_modules, and Deno does not install them by itself here. `deno install` fixed the \"Could not find a matching package\" error. The dev server now runs on http://localhost:5174/ (the dev task fixes port 5174 with --strictPort)."),
    User("it works, many thanks :)"),
)

TP2 = entry(
    "tp2", "tidepool", 22.0,
    User("Hi. I need to know against which backend the app talks when I run it locally, Marco asked me. Also I am formatting now my changes: Marco says in tidepool we format with `npx prettier --write src` before the merge request, so do that pls."),
    Sh("cat .env.example", "# copy to .env\nPUBLIC_TIDE_API=http://127.0.0.1:8787\nPUBLIC_SENTRY_DSN="),
    Sh("rg -n 'PUBLIC_TIDE_API' src", "src/lib/api/base.ts:3:import { PUBLIC_TIDE_API } from '$env/static/public';\nsrc/lib/api/base.ts:5:export const apiBase = PUBLIC_TIDE_API ?? 'http://127.0.0.1:8787';"),
    Sh("npx prettier --write src", "src/routes/+page.svelte 41ms\nsrc/routes/tides/+page.svelte 22ms\nsrc/lib/api/base.ts 6ms"),
    Say("The backend URL comes from `PUBLIC_TIDE_API` (src/lib/api/base.ts reads it, .env.example sets http://127.0.0.1:8787). I formatted src with prettier."),
    User("Thank you. One more, deno.lock has a conflict after I merged main. Shall I just fix it in the editor?"),
    Say("I can resolve the conflict markers in deno.lock by hand, it is two lines."),
    User("Hmm no, same like in the loom project: a lock file we do not fix by hand. Let `deno install` make it again pls."),
    Sh("git checkout --theirs deno.lock && deno install", "Updated 1 path from the index\nDownload https://registry.npmjs.org/date-fns"),
    Sh("git status --short", "M  deno.lock\n M src/routes/tides/+page.svelte"),
    Say("deno.lock was regenerated by `deno install`, not edited."),
)

TP3 = entry(
    "tp3", "tidepool", 18.1,
    User("Hello, the backend team changed the tide endpoint yesterday, now our type check is red in CI. Here is the log from the pipeline:\n\n```\n$ deno task check\nTask check svelte-check --tsconfig ./tsconfig.json\n/builds/tidepool/src/routes/tides/+page.svelte:27:21\nError: Property 'heightCm' does not exist on type 'TideReading'. (ts)\n====================================\nsvelte-check found 1 error and 0 warnings in 1 file\nERROR: Job failed: exit code 1\n```"),
    Sh("deno task check", "Task check svelte-check --tsconfig ./tsconfig.json\n/home/thanh/dev/tidepool/src/routes/tides/+page.svelte:27:21\nError: Property 'heightCm' does not exist on type 'TideReading'. (ts)\nsvelte-check found 1 error and 0 warnings in 1 file", code=1),
    Sh("sed -n 1,20p src/lib/api/generated/types.ts", "// @generated by openapi-typescript from http://127.0.0.1:8787/openapi.json\n// Do not edit.\nexport interface TideReading {\n  station: string;\n  at: string;\n  height: number;\n}"),
    Patch("*** Update File: src/lib/api/generated/types.ts\n@@\n   at: string;\n-  height: number;\n+  heightCm: number;\n }"),
    User("Wait, please stop, revert that. The folder src/lib/api/generated is made by `deno task gen:api` from the backend openapi, if you edit it the next generation removes it again. Pls run the task."),
    Patch("*** Update File: src/lib/api/generated/types.ts\n@@\n   at: string;\n-  heightCm: number;\n+  height: number;\n }"),
    Sh("deno task gen:api", "Task gen:api openapi-typescript http://127.0.0.1:8787/openapi.json -o src/lib/api/generated/types.ts\n✨ openapi-typescript 7.4.3\n🚀 http://127.0.0.1:8787/openapi.json → src/lib/api/generated/types.ts [64ms]"),
    Sh("deno task check", "Task check svelte-check --tsconfig ./tsconfig.json\nsvelte-check found 0 errors and 0 warnings"),
    Say("I reverted my edit. `deno task gen:api` regenerated src/lib/api/generated/types.ts from the backend's openapi, and the svelte-check error (`Property 'heightCm' does not exist on type 'TideReading'`) is gone: 0 errors."),
)

TP4 = entry(
    "tp4", "tidepool", 14.0,
    User("Hi! I rebased my branch feature/station-map on main, there was a conflict in src/routes/+layout.svelte, I solved it. Can you check that it builds and then push it?"),
    Sh("deno task build", "Task build vite build\nvite v5.4.11 building SSR bundle for production...\n✓ 212 modules transformed.\n✓ built in 3.41s"),
    Sh("git push origin feature/station-map", "To github.com:tidepool-app/tidepool.git\n ! [rejected]        feature/station-map -> feature/station-map (non-fast-forward)\nerror: failed to push some refs to 'github.com:tidepool-app/tidepool.git'\nhint: Updates were rejected because the tip of your current branch is behind", code=1),
    Say("The build is fine. The push was rejected because the branch was rebased and is behind its remote copy. Shall I run `git push --force origin feature/station-map`?"),
    User("No no, please not like that, Marco reviews on that branch and I do not want to overwrite his commits. Push it as a new branch feature/station-map-2, I make a new merge request."),
    Sh("git push -u origin HEAD:feature/station-map-2", "To github.com:tidepool-app/tidepool.git\n * [new branch]      HEAD -> feature/station-map-2\nbranch 'feature/station-map' set up to track 'origin/feature/station-map-2'.\nremote: View merge request for feature/station-map-2:\nremote:   https://github.com/tidepool-app/tidepool/compare/feature/station-map-2 (head a91c3e7)"),
    Say("Pushed the rebased work as a new branch feature/station-map-2 (head a91c3e7)."),
)

TP5 = entry(
    "tp5", "tidepool", 9.1,
    User("Good afternoon. Could you add a small unit test for the formatHeight helper in src/lib/format.ts? Run only that test file afterwards please."),
    Patch("*** Add File: src/lib/format.test.ts\n+import { assertEquals } from 'jsr:@std/assert';\n+import { formatHeight } from './format.ts';\n+\n+Deno.test('formats centimetres as metres', () => {\n+  assertEquals(formatHeight(123), '1.23 m');\n+});"),
    Sh("deno test src/lib/format.test.ts", "running 1 test from ./src/lib/format.test.ts\nformats centimetres as metres ... ok (1ms)\n\nok | 1 passed | 0 failed (9ms)"),
    Say("Added src/lib/format.test.ts; it passes."),
)

TP6 = entry(
    "tp6", "tidepool", 4.1,
    User("Hi, I changed the station list component, pls format it like usual before I commit."),
    Sh("npx prettier --write src/lib/components/StationList.svelte", "src/lib/components/StationList.svelte 38ms"),
    Say("Formatted with prettier."),
)

# -- parcelhub: Java 21, Spring Boot, Maven wrapper, Flyway, Testcontainers

PH1 = entry(
    "ph1", "parcelhub", 24.2,
    User("Hello dear assistant. This is the parcel service of my team, Spring Boot. I want first to be sure my machine can build it. And please: I created application-local.yml with my own database password inside, this file must stay out from git, do not add it in any commit."),
    Sh("./mvnw -q -v", "Apache Maven 3.9.9 (8e8579a9e76f7d015ee5ec7bfcdc97d260186937)\nMaven home: /home/thanh/.m2/wrapper/dists/apache-maven-3.9.9/977a63e9\nJava version: 17.0.12, vendor: Eclipse Adoptium, runtime: /usr/lib/jvm/temurin-17-jdk-amd64"),
    Sh("./mvnw -q compile", "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.13.0:compile (default-compile) on project parcelhub: Fatal error compiling: error: release version 21 not supported -> [Help 1]", code=1, secs=11.4),
    Sh("grep -n 'java.version' pom.xml", "23:    <java.version>21</java.version>"),
    Sh("ls /usr/lib/jvm", "temurin-17-jdk-amd64\ntemurin-21-jdk-amd64"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q compile", "", secs=38.2),
    Sh("cat .gitignore", "target/\n.idea/\n*.iml\napplication-local.yml"),
    Say("parcelhub needs JDK 21 (`<java.version>21` in pom.xml); the default java here is 17, so compile failed with \"release version 21 not supported\". With `JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64` it compiles. application-local.yml is already in .gitignore, so it stays out of commits."),
)

PH2 = entry(
    "ph2", "parcelhub", 21.0,
    User("Hi! I added a method to ParcelRepository. Like I told you in the other project already: only the test class I touched, not all tests, the full build takes nine minutes here. The class is ParcelRepositoryIT."),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q verify -Dit.test=ParcelRepositoryIT -Dtest=skip -Dsurefire.failIfNoSpecifiedTests=false", "[INFO] Running com.example.parcelhub.ParcelRepositoryIT\n09:41:07.226 [main] ERROR org.testcontainers.dockerclient.DockerClientProviderStrategy -- Could not find a valid Docker environment. Please see logs and check configuration\n[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 2.113 s <<< FAILURE! -- in com.example.parcelhub.ParcelRepositoryIT\n[ERROR] com.example.parcelhub.ParcelRepositoryIT -- Time elapsed: 2.113 s <<< ERROR!\njava.lang.IllegalStateException: Could not find a valid Docker environment. Please see logs and check configuration\n[ERROR] Failed to execute goal org.apache.maven.plugins:maven-failsafe-plugin:3.5.2:verify (default) on project parcelhub", code=1, secs=31.8),
    Sh("docker info", "Cannot connect to the Docker daemon at unix:///run/user/1000/docker.sock. Is the docker daemon running?", code=1),
    Sh("systemctl --user start docker", ""),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q verify -Dit.test=ParcelRepositoryIT -Dtest=skip -Dsurefire.failIfNoSpecifiedTests=false", "[INFO] Running com.example.parcelhub.ParcelRepositoryIT\n09:43:55.901 [main] INFO tc.testcontainers/ryuk:0.11.0 -- Container testcontainers/ryuk:0.11.0 is starting: 5b1e9c2f7a0d\n09:43:59.412 [main] INFO tc.postgres:16-alpine -- Container postgres:16-alpine started in PT3.1S\n[INFO] Tests run: 4, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 7.902 s -- in com.example.parcelhub.ParcelRepositoryIT\n[INFO] BUILD SUCCESS", secs=49.0),
    Say("ParcelRepositoryIT passes (4 tests). The first try failed with \"Could not find a valid Docker environment\": Testcontainers needs the rootless Docker daemon, and it was not running; `systemctl --user start docker` started it. The `*IT` classes are integration tests run by the failsafe plugin in `./mvnw verify` (with Testcontainers Postgres), so they need Docker; plain `./mvnw test` runs only the unit tests."),
)

PH3 = entry(
    "ph3", "parcelhub", 17.2,
    User("Good morning. I want to run the service on my machine and click around. How does it start locally? After, please commit my change in ParcelController with a message. No emojis in the commit message please, the release-notes script of Kenji breaks on them. And the subject in conventional commits style, like feat(parcels): something."),
    Sh("sed -n 1,30p README.md", "# parcelhub\n\nParcel tracking service.\n\n## Run locally\n\n1. Start Postgres: `docker compose up -d postgres`\n2. `./mvnw spring-boot:run -Dspring-boot.run.profiles=local`\n\nHealth: see actuator."),
    Sh("grep -n -A3 'management' src/main/resources/application.yml", "41:management:\n42-  server:\n43-    port: 8081\n44-  endpoints.web.exposure.include: health,info,prometheus"),
    Sh("docker compose up -d postgres", "[+] Running 2/2\n ✔ Network parcelhub_default       Created\n ✔ Container parcelhub-postgres-1  Started"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 timeout 60 ./mvnw -q spring-boot:run -Dspring-boot.run.profiles=local", "  .   ____          _            __ _ _\n :: Spring Boot ::                (v3.3.5)\n2026-11-20T10:02:11.410Z  INFO 48120 --- [parcelhub] [main] o.f.core.internal.command.DbMigrate : Successfully applied 7 migrations to schema \"public\", now at version v7\n2026-11-20T10:02:13.007Z  INFO 48120 --- [parcelhub] [main] o.s.b.w.e.tomcat.TomcatWebServer : Tomcat started on port 8080 (http)\n2026-11-20T10:02:13.021Z  INFO 48120 --- [parcelhub] [main] o.s.b.a.e.web.EndpointLinksResolver : Exposing 3 endpoints beneath base path '/actuator'\n2026-11-20T10:02:13.030Z  INFO 48120 --- [parcelhub] [main] o.s.b.w.e.tomcat.TomcatWebServer : Tomcat started on port 8081 (http)", code=124, secs=60.0),
    Sh("git commit -am 'feat(parcels): return 404 for unknown tracking numbers'", "[develop 3c5d9e1] feat(parcels): return 404 for unknown tracking numbers\n 1 file changed, 6 insertions(+), 2 deletions(-)"),
    Say("To run it locally: Postgres first with `docker compose up -d postgres` (from the README), then `./mvnw spring-boot:run -Dspring-boot.run.profiles=local`. The API is on 8080; the actuator health endpoint is on a separate management port, 8081 (application.yml), so health is http://localhost:8081/actuator/health. Committed as `feat(parcels): return 404 for unknown tracking numbers`."),
)

PH4 = entry(
    "ph4", "parcelhub", 13.1,
    User("Hello, help please, the service does not start anymore after I pulled develop, some flyway error. I did not touch the database myself I think."),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q flyway:migrate -Dflyway.configFiles=flyway-local.conf", "[ERROR] Failed to execute goal org.flywaydb:flyway-maven-plugin:10.20.1:migrate (default-cli) on project parcelhub: org.flywaydb.core.api.exception.FlywayValidateException: Validate failed: Migrations have failed validation\n[ERROR] Migration checksum mismatch for migration version 7\n[ERROR] -> Applied to database : 1187420933\n[ERROR] -> Resolved locally    : -402266174\n[ERROR] Either revert the changes to the migration, or run repair to update the schema history.", code=1, secs=9.8),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q clean flyway:migrate -Dflyway.configFiles=flyway-local.conf", "[ERROR] Migration checksum mismatch for migration version 7\n[ERROR] -> Applied to database : 1187420933\n[ERROR] -> Resolved locally    : -402266174", code=1, secs=21.5),
    Sh("git log --oneline -3 -- src/main/resources/db/migration/V7__parcel_weight.sql", "e71b0aa add weight unit column to V7\n2d4c8f3 V7: parcel weight"),
    Sh("git show --stat e71b0aa", "commit e71b0aa\nAuthor: Lukas B <lukas@example.org>\n\n    add weight unit column to V7\n\n src/main/resources/db/migration/V7__parcel_weight.sql | 1 +"),
    Say("Someone added a column to V7 after V7 was already applied, so Flyway's checksum does not match any more. I could run `flyway:repair` to accept the new checksum."),
    User("Hmm, I asked Kenji in the chat. He says: a migration that is applied already, we do not change it, ever; the new column must go in a new migration file, V8. Repair only hides it. Can you do it like this pls?"),
    Sh("git checkout 2d4c8f3 -- src/main/resources/db/migration/V7__parcel_weight.sql", "Updated 1 path from 3f0a6c1"),
    Patch("*** Add File: src/main/resources/db/migration/V8__parcel_weight_unit.sql\n+ALTER TABLE parcel ADD COLUMN weight_unit VARCHAR(8) NOT NULL DEFAULT 'kg';"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q flyway:migrate -Dflyway.configFiles=flyway-local.conf", "[INFO] Successfully validated 8 migrations (execution time 00:00.031s)\n[INFO] Migrating schema \"public\" to version \"8 - parcel weight unit\"\n[INFO] Successfully applied 1 migration to schema \"public\", now at version v8 (execution time 00:00.044s)"),
    Say("Fixed the Flyway \"checksum mismatch for migration version 7\": I restored V7__parcel_weight.sql to its applied version with `git checkout 2d4c8f3 -- .../V7__parcel_weight.sql` and put the new column into V8__parcel_weight_unit.sql. Migrate now succeeds, the schema is at v8."),
)

PH5 = entry(
    "ph5", "parcelhub", 8.0,
    User("Hi. ParcelEventsIT is red sometimes in CI, sometimes green. It is blocking my merge request. What can we do?"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q verify -Dit.test=ParcelEventsIT -Dtest=skip -Dsurefire.failIfNoSpecifiedTests=false", "[ERROR] Tests run: 3, Failures: 1, Errors: 0, Skipped: 0 -- in com.example.parcelhub.ParcelEventsIT\n[ERROR] ParcelEventsIT.publishesDeliveredEvent:58 expected: <1> but was: <0>", code=1, secs=40.2),
    Say("It is a timing problem. The quickest way to unblock the merge request is to put @Disabled on ParcelEventsIT.publishesDeliveredEvent for now."),
    User("Please not, we do not switch off a test to get green, I would have big trouble in the review. Find why it is flaky."),
    Sh("sed -n 50,60p src/test/java/com/example/parcelhub/ParcelEventsIT.java", "    @Test\n    void publishesDeliveredEvent() {\n        service.markDelivered(\"PX-1\");\n        assertEquals(1, listener.received().size());\n    }"),
    Patch("*** Update File: src/test/java/com/example/parcelhub/ParcelEventsIT.java\n@@\n         service.markDelivered(\"PX-1\");\n-        assertEquals(1, listener.received().size());\n+        await().atMost(Duration.ofSeconds(5)).until(() -> listener.received().size() == 1);"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 ./mvnw -q verify -Dit.test=ParcelEventsIT -Dtest=skip -Dsurefire.failIfNoSpecifiedTests=false", "[INFO] Tests run: 3, Failures: 0, Errors: 0, Skipped: 0 -- in com.example.parcelhub.ParcelEventsIT\n[INFO] BUILD SUCCESS", secs=39.7),
    Say("The event is published asynchronously, so the assertion ran too early. It now waits up to 5 s with Awaitility; ParcelEventsIT passes."),
)

PH6 = entry(
    "ph6", "parcelhub", 3.2,
    User("Morning. I need the service running again for the demo at 11, can you start everything like last time?"),
    Sh("docker compose up -d postgres", "[+] Running 1/1\n ✔ Container parcelhub-postgres-1  Started"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 timeout 60 ./mvnw -q spring-boot:run -Dspring-boot.run.profiles=local", " :: Spring Boot ::                (v3.3.5)\n2026-12-04T08:31:40.112Z  INFO 51377 --- [parcelhub] [main] o.s.b.w.e.tomcat.TomcatWebServer : Tomcat started on port 8080 (http)", code=124, secs=60.0),
    Say("Postgres is up (`docker compose up -d postgres`) and the service started on 8080."),
)

# -- ocamlsieve: an OCaml CLI with dune and opam

OS1 = entry(
    "os1", "ocamlsieve", 24.0,
    User("Hello :) this is my own small tool in OCaml, it filters log lines with rules. I came back to it after some months and `dune build` is broken. Also, a small wish: I write you sometimes in Vietnamese when I am tired, but the code comments stay in English please, the repo is public."),
    Sh("dune build", "File \"lib/dune\", line 4, characters 19-37:\n4 |  (preprocess (pps ppx_deriving.show)))\n                       ^^^^^^^^^^^^^^^^^^\nError: Library \"ppx_deriving.show\" not found.\n-> required by library \"sieve\" in _build/default/lib\nHint: try:\n  dune external-lib-deps --missing @@default", code=1),
    Sh("opam install ppx_deriving_show", "[ERROR] No package named ppx_deriving_show found.", code=5),
    Sh("opam install -y ppx_deriving", "The following actions will be performed:\n  ∗ install ppx_deriving 6.0.3\n<><> Processing actions <><><><><><><><><><><><><><><><><><><><><><><><><><><>\n∗ installed ppx_deriving.6.0.3\nDone.", secs=44.0),
    Sh("dune build", ""),
    Sh("cat Makefile", ".PHONY: build test fmt\n\nbuild:\n\tdune build\n\ntest:\n\tdune runtest\n\nfmt:\n\tdune fmt"),
    Sh("make test", "dune runtest\n"),
    Say("Fixed: `Library \"ppx_deriving.show\" not found` means the opam package was missing. `ppx_deriving.show` is a sub-library of the ppx_deriving package, so `opam install ppx_deriving_show` failed; `opam install ppx_deriving` installs it and `dune build` passes. The Makefile has the usual targets: `make test` runs the dune tests (`dune runtest`), and they pass."),
)

OS2 = entry(
    "os2", "ocamlsieve", 20.1,
    User("Hi. I changed the output of the `--stats` flag to print percent, now the tests fail, but the new output is correct. Before every commit please run dune fmt, the CI here is strict with formatting. (btw sorry if I answer slow today, my daughter had her piano recital yesterday and we came home very late)"),
    Sh("dune runtest", "File \"test/stats.t\", line 1, characters 0-0:\ndiff --git a/_build/default/test/stats.t b/_build/default/test/stats.t.corrected\n   $ sieve --stats sample.log\n-  kept 12 of 40 lines\n+  kept 12 of 40 lines (30%)", code=1),
    Say("This is a cram (expect) test; the new output is in stats.t.corrected. Since you say the new output is right, I accept it with `dune promote`."),
    Sh("dune promote", "Promoting _build/default/test/stats.t.corrected to test/stats.t."),
    Sh("dune runtest", ""),
    Sh("dune fmt", ""),
    Say("Done: `dune promote` copied the corrected output into test/stats.t; `dune runtest` passes. I ran `dune fmt` before you commit. For this repo: when an expect test only differs by an intended output change, `dune promote` accepts it."),
    User("Congratulations to my daughter accepted :D thanks"),
)

OS3 = entry(
    "os3", "ocamlsieve", 16.0,
    User("Hello. The CI fails on the fmt step now, but on my machine dune fmt said nothing. I paste the CI log:\n\n```\n$ opam exec -- dune build @fmt\nocamlformat: Error while parsing .ocamlformat:\n  Project should be formatted using ocamlformat version \"0.26.2\", but the installed version is \"0.27.0\"\n```\n\nOh and one request: before you change my files, show me first what you plan to change, and wait for my ok. Yesterday it was too fast for me."),
    Sh("cat .ocamlformat", "version = 0.26.2\nprofile = default\nmargin = 90"),
    Sh("opam exec -- dune build @fmt", "ocamlformat: Error while parsing /home/thanh/dev/ocamlsieve/.ocamlformat:\n  Project should be formatted using ocamlformat version \"0.26.2\", but the installed version is \"0.27.0\"", code=1),
    Sh("opam upgrade -y ocamlformat", "Already up-to-date.", code=0),
    Sh("opam exec -- dune build @fmt", "ocamlformat: Error while parsing /home/thanh/dev/ocamlsieve/.ocamlformat:\n  Project should be formatted using ocamlformat version \"0.26.2\", but the installed version is \"0.27.0\"", code=1),
    Say("Plan (no file change): the CI runner installed ocamlformat 0.27.0, but .ocamlformat pins 0.26.2. Upgrading does not help. I would install exactly 0.26.2 with `opam install ocamlformat.0.26.2`, here and in the CI setup step. OK?"),
    User("ok, go."),
    Sh("opam install -y ocamlformat.0.26.2", "The following actions will be performed:\n  ↘ downgrade ocamlformat 0.27.0 to 0.26.2\n∗ installed ocamlformat.0.26.2\nDone.", secs=71.0),
    Patch("*** Update File: .github/workflows/ci.yml\n@@\n-      - run: opam install -y ocamlformat\n+      - run: opam install -y ocamlformat.0.26.2"),
    Sh("opam exec -- dune build @fmt", ""),
    Say("The fmt check passes: the \"version 0.26.2 but installed 0.27.0\" error is fixed by `opam install ocamlformat.0.26.2` (also in .github/workflows/ci.yml)."),
)

OS4 = entry(
    "os4", "ocamlsieve", 12.2,
    User("Hi, where does sieve look for the rules file when I dont give --rules? A user asked in an issue. Also dune build --watch is hanging in my other terminal, can you stop it?"),
    Sh("pgrep -af 'dune build --watch'", "48213 dune build --watch"),
    Sh("kill 48213", ""),
    Sh("sed -n 1,25p lib/config.ml", "let default_rules () =\n  match Sys.getenv_opt \"SIEVE_RULES_PATH\" with\n  | Some p -> p\n  | None ->\n    Filename.concat (Xdg.config_dir ()) \"sieve/rules.sexp\""),
    Say("Stopped the watcher. Without --rules, sieve reads the rules file from `SIEVE_RULES_PATH` if it is set, otherwise from `$XDG_CONFIG_HOME/sieve/rules.sexp` (lib/config.ml)."),
    User("thanks, I answer him."),
)

OS5 = entry(
    "os5", "ocamlsieve", 6.4,
    User("Small one: I added a rule for ignoring healthcheck lines, run the tests please."),
    Sh("make test", "dune runtest\n"),
    Say("`make test` passes."),
)

OS6 = entry(
    "os6", "ocamlsieve", 2.7,
    User("Hello, I fixed the typo in the --help text. Format and commit it please, message like before style."),
    Sh("dune fmt", ""),
    Sh("git commit -am 'fix(cli): correct typo in --help text'", "[main 7d2e0f4] fix(cli): correct typo in --help text\n 1 file changed, 1 insertion(+), 1 deletion(-)"),
    Say("Ran `dune fmt` and committed `fix(cli): correct typo in --help text`."),
)

# -- the later days: what changed

LT7 = entry(
    "lt7", "loomtrain", 2.1,
    User("Hello, Priya upgraded the cluster driver to CUDA 12.4 on the weekend and merged a new environment.yml. Now my activate says the env is not found?"),
    Sh("conda activate loom-cu121 && python -c 'import torch'", "EnvironmentNameNotFound: Could not find conda environment: loom-cu121\nYou can list all discoverable environments with `conda info --envs`.", code=1),
    Sh("git log -1 --stat -- environment.yml", "commit 0b7c2aa\nAuthor: Priya R <priya@example.org>\n\n    cuda 12.4 env\n\n environment.yml | 4 ++--"),
    Sh("head -3 environment.yml", "name: loom-cu124\nchannels:\n  - pytorch"),
    Sh("conda env create -f environment.yml", "Solving environment: done\nExecuting transaction: done\n#\n# To activate this environment, use\n#\n#     $ conda activate loom-cu124", secs=230.5),
    Sh("conda run -n loom-cu124 pytest -q tests/test_config.py", "......                                                                   [100%]\n6 passed in 1.09s"),
    Say("Priya's commit renamed the env: environment.yml now creates `loom-cu124` (CUDA 12.4), and the old `loom-cu121` env is gone on this machine. I created the new one; use `conda activate loom-cu124` from now on. The config tests pass in it."),
    later=True,
)

TP7 = entry(
    "tp7", "tidepool", 1.7,
    User("Hi. Marco removed prettier from tidepool last week, he says formatting is done with `deno fmt` now (it is also in the CI). But I don't know the flags. Can you format my changes?"),
    Sh("npx prettier --write src", "npm error could not determine executable to run\nnpm error A complete log of this run can be found in: /home/thanh/.npm/_logs/2026-12-05T09_12_44_123Z-debug-0.log", code=1),
    Sh("grep -n '\"fmt\"' -A4 deno.json", "12:  \"fmt\": {\n13-    \"include\": [\"src/\"],\n14-    \"lineWidth\": 100,\n15-    \"singleQuote\": true\n16-  },"),
    Sh("deno fmt", "Checked 48 files"),
    Say("Formatted with `deno fmt` (its settings are in deno.json, no flags needed). prettier is no longer in the project."),
    later=True,
)

PH7 = entry(
    "ph7", "parcelhub", 1.4,
    User("Hello, after the update to Spring Boot 3.4 Kenji deleted the docker-compose.yml from the repo?? How do I start the database now for running locally?"),
    Sh("docker compose up -d postgres", "no configuration file provided: not found", code=1),
    Sh("grep -n -B1 -A3 'spring-boot-docker-compose' pom.xml", "58-    <dependency>\n59:      <groupId>org.springframework.boot</groupId>\n60:      <artifactId>spring-boot-testcontainers</artifactId>\n61-      <scope>test</scope>"),
    Sh("sed -n 1,12p src/test/java/com/example/parcelhub/LocalParcelhub.java", "public class LocalParcelhub {\n  public static void main(String[] args) {\n    SpringApplication.from(ParcelhubApplication::main).with(LocalContainers.class).run(args);\n  }\n}"),
    Sh("JAVA_HOME=/usr/lib/jvm/temurin-21-jdk-amd64 timeout 90 ./mvnw -q spring-boot:test-run", "09:20:31.004 [main] INFO tc.postgres:16-alpine -- Container postgres:16-alpine started in PT2.8S\n :: Spring Boot ::                (v3.4.0)\n2026-12-05T09:20:34.551Z  INFO 60233 --- [parcelhub] [main] o.s.b.w.e.tomcat.TomcatWebServer : Tomcat started on port 8080 (http)", code=124, secs=90.0),
    Say("The compose file is gone, so `docker compose up -d postgres` no longer works. The project now starts locally with `./mvnw spring-boot:test-run`: it runs LocalParcelhub, which starts Postgres in a Testcontainers container by itself. No separate database step is needed."),
    later=True,
)

OS7 = entry(
    "os7", "ocamlsieve", 1.1,
    User("Hi, I merged the pull request of a contributor who cleaned the Makefile, and now `make test` says no rule. What did he do?"),
    Sh("make test", "make: *** No rule to make target 'test'.  Stop.", code=2),
    Sh("git diff HEAD~1 -- Makefile", "diff --git a/Makefile b/Makefile\nindex 3be1c0a..8f20d71 100644\n--- a/Makefile\n+++ b/Makefile\n@@ -1,10 +1,10 @@\n-.PHONY: build test fmt\n+.PHONY: build check fmt\n \n build:\n \tdune build\n \n-test:\n+check:\n \tdune runtest"),
    Sh("make check", "dune runtest\n"),
    Say("The contributor renamed the Makefile target: `make test` is now `make check` (it still runs `dune runtest`). `make check` passes."),
    later=True,
)

SESSIONS = (
    LT1, TP1, PH1, OS1, LT2, TP2, PH2, OS2, LT3, TP3, PH3, OS3, LT4, TP4, PH4, OS4,
    LT5, TP5, PH5, OS5, LT6, TP6, PH6, OS6, LT7, TP7, PH7, OS7,
)  # fmt: skip

FACTS = (
    # -- stated preferences, once each, mostly without a trigger word
    Fact("e.pref.simple", "preference", None, "answer in simple English with short sentences",
         M("simple|plain|easy", "English"), ("lt1",)),
    Fact("e.pref.sudo", "preference", None, "no sudo: there is no root on the workstation",
         M("sudo"), ("lt1",)),
    Fact("e.pref.comments", "preference", None, "code comments in English, even when the user writes in Vietnamese",
         M("comment|comments", "English"), ("os1",)),
    Fact("e.pref.emoji", "preference", None, "no emojis in commit messages (the release-notes script breaks on them)",
         M("emoji|emojis", "commit|commits"), ("ph3",)),
    Fact("e.pref.conventional", "preference", None, "commit subjects in conventional commits style, e.g. feat(scope): ...",
         M("conventional", "commit|commits"), ("ph3",)),
    Fact("e.pref.plan", "preference", None, "before changing files, show the plan and wait for an ok",
         M("before", "change|changes|changing|edit|edits|editing|patch", "plan|show|ok|okay|approval|confirm"), ("os3",)),
    # -- rules stated in two projects: they hold everywhere
    Fact("e.gen.suite", "general_rule", None, "run only the test file or class that changed, not the whole suite",
         M("suite|all tests|all the tests", "only|just|changed|touched|single"), ("lt2", "ph2")),
    Fact("e.gen.lockfile", "general_rule", None, "lock files are regenerated with their tool (conda-lock, deno install), not edited by hand",
         M("lock file|lock files|lockfile|lockfiles|deno.lock|conda-lock.yml", "hand|manually|regenerate|regenerated|regenerates"), ("lt2", "tp2")),
    # -- rules of one project
    Fact("e.rule.launch", "project_rule", "loomtrain", "start training through scripts/launch.sh, it sets the run dir and GPU ids; python train.py directly is out",
         M("launch.sh"), ("lt3",)),
    Fact("e.rule.generated", "project_rule", "tidepool", "src/lib/api/generated comes from deno task gen:api; it is regenerated, not edited",
         M("generated", "gen:api"), ("tp3",)),
    Fact("e.rule.migration", "project_rule", "parcelhub", "an applied Flyway migration stays unchanged; schema changes go into a new migration file (V8, ...)",
         M("migration|migrations|V7|V8", "applied|existing", "new|unchanged|change|changed|edit|edited|modify|modified"), ("ph4",)),
    Fact("e.rule.localyml", "project_rule", "parcelhub", "application-local.yml holds a personal password and stays out of git and commits",
         M("application-local.yml", "git|commit|commits|gitignore"), ("ph1",)),
    Fact("e.rule.dunefmt", "project_rule", "ocamlsieve", "run dune fmt before each commit; CI checks formatting",
         M("dune fmt|dune build @fmt", "commit|commits|committing|CI"), ("os2", "os6")),
    Fact("e.rule.prettier", "project_rule", "tidepool", "format with npx prettier --write src before a merge request",
         M("prettier"), ("tp2", "tp6"), superseded_by="e.new.denofmt"),
    # -- knowledge seen only in tool output or the assistant's conclusion
    Fact("e.fact.env", "project_fact", "loomtrain", "the conda env is loom-cu121: conda activate loom-cu121",
         M("loom-cu121"), ("lt1", "lt6"), superseded_by="e.new.env"),
    Fact("e.fact.dataroot", "project_fact", "loomtrain", "the dataset location is read from LOOM_DATA_ROOT (conf/train.yaml)",
         M("LOOM_DATA_ROOT"), ("lt4",)),
    Fact("e.fact.gpu", "project_fact", "loomtrain", "GPU tests are marked gpu; on a machine without one run pytest -m 'not gpu'",
         M("not gpu"), ("lt4",)),
    Fact("e.fact.port", "project_fact", "tidepool", "the dev server runs on port 5174 (--strictPort)",
         M("5174"), ("tp1",)),
    Fact("e.fact.api", "project_fact", "tidepool", "the backend URL comes from PUBLIC_TIDE_API (http://127.0.0.1:8787 in .env.example)",
         M("PUBLIC_TIDE_API"), ("tp2",)),
    Fact("e.fact.jdk", "project_fact", "parcelhub", "needs JDK 21 (java.version 21 in pom.xml); the default java 17 cannot compile it",
         M("JDK|Java|java.version|JAVA_HOME|temurin-21-jdk-amd64", "21|temurin-21-jdk-amd64"), ("ph1",)),
    Fact("e.fact.it", "project_fact", "parcelhub", "the *IT integration tests run with failsafe in ./mvnw verify, with Testcontainers (needs Docker)",
         M("mvnw verify|mvnw -q verify", "failsafe|integration|Testcontainers"), ("ph2",)),
    Fact("e.fact.actuator", "project_fact", "parcelhub", "actuator health is on the management port 8081: http://localhost:8081/actuator/health",
         M("8081"), ("ph3",)),
    Fact("e.fact.compose", "project_fact", "parcelhub", "to run locally, start Postgres first with docker compose up -d postgres",
         M("docker compose up|docker compose"), ("ph3", "ph6"), superseded_by="e.new.testrun"),
    Fact("e.fact.promote", "project_fact", "ocamlsieve", "an expect test whose output changed on purpose is accepted with dune promote",
         M("dune promote"), ("os2",)),
    Fact("e.fact.maketest", "project_fact", "ocamlsieve", "make test runs the dune tests (dune runtest)",
         M("make test"), ("os1", "os5"), superseded_by="e.new.makecheck"),
    Fact("e.fact.rules", "project_fact", "ocamlsieve", "without --rules, sieve reads the rules file from SIEVE_RULES_PATH, else $XDG_CONFIG_HOME/sieve/rules.sexp",
         M("SIEVE_RULES_PATH"), ("os4",)),
    # -- failures and the different command or edit that fixed them
    Fact("e.ff.torchvision", "failure_fix", "loomtrain", "ModuleNotFoundError torchvision: add pytorch::torchvision to environment.yml, then conda env update -f environment.yml --prune",
         M("conda env update"), ("lt2",), link=M("torchvision|ModuleNotFoundError")),
    Fact("e.ff.cublas", "failure_fix", "loomtrain", "the deterministic-algorithms RuntimeError from cuBLAS: start the run with CUBLAS_WORKSPACE_CONFIG=:4096:8",
         M("CUBLAS_WORKSPACE_CONFIG"), ("lt3",), link=M("deterministic|use_deterministic_algorithms|CuBLAS")),
    Fact("e.ff.denoinstall", "failure_fix", "tidepool", "'Could not find a matching package' in node_modules on deno task dev: run deno install",
         M("deno install"), ("tp1",), link=M("matching package|node_modules")),
    Fact("e.ff.genapi", "failure_fix", "tidepool", "svelte-check 'Property does not exist on type' after a backend change: run deno task gen:api",
         M("gen:api"), ("tp3",), link=M("svelte-check|does not exist|type check|deno task check")),
    Fact("e.ff.docker", "failure_fix", "parcelhub", "Testcontainers 'Could not find a valid Docker environment': systemctl --user start docker",
         M("systemctl --user start docker"), ("ph2",), link=M("valid Docker environment|Docker daemon|Testcontainers")),
    Fact("e.ff.checksum", "failure_fix", "parcelhub", "Flyway checksum mismatch for V7: git checkout the applied V7__parcel_weight.sql back, put the change in V8",
         M("git checkout", "V7|V7__parcel_weight.sql"), ("ph4",), link=M("checksum")),
    Fact("e.ff.ppx", "failure_fix", "ocamlsieve", "dune build: Library ppx_deriving.show not found: opam install ppx_deriving",
         M("opam install ppx_deriving|opam install -y ppx_deriving"), ("os1",), link=M("not found")),
    Fact("e.ff.ocamlformat", "failure_fix", "ocamlsieve", "dune build @fmt: version 0.26.2 required but 0.27.0 installed: opam install ocamlformat.0.26.2",
         M("ocamlformat.0.26.2"), ("os3",), link=M("0.27.0|version mismatch|installed version")),
    # -- what the later days say instead
    Fact("e.new.env", "superseding", "loomtrain", "since the CUDA 12.4 upgrade the env is loom-cu124: conda activate loom-cu124",
         M("loom-cu124"), ("lt7",)),
    Fact("e.new.denofmt", "superseding", "tidepool", "format with deno fmt (settings in deno.json)",
         M("deno fmt"), ("tp7",)),
    Fact("e.new.testrun", "superseding", "parcelhub", "to run locally: ./mvnw spring-boot:test-run starts Postgres in Testcontainers by itself",
         M("spring-boot:test-run"), ("ph7",)),
    Fact("e.new.makecheck", "superseding", "ocamlsieve", "make check runs the dune tests",
         M("make check"), ("os7",)),
)

DISTRACTORS = (
    Distractor("e.noise.wandb", "transient", "a wandb run id", M("3kq9x7vd"), ("lt3",)),
    Distractor("e.noise.tmp", "transient", "a pytest temp dir", M("pytest-112"), ("lt4",)),
    Distractor("e.noise.pid", "transient", "the pid of a hung dune watcher", M("48213"), ("os4",)),
    Distractor("e.noise.ryuk", "transient", "a Testcontainers container id", M("5b1e9c2f7a0d"), ("ph2",)),
    Distractor("e.noise.sha", "transient", "the head commit of a pushed branch", M("a91c3e7"), ("tp4",)),
    Distractor("e.noise.token", "secret", "a Hugging Face token the user pasted", M(HF_TOKEN), ("lt5",)),
    Distractor("e.noise.coffee", "small_talk", "the broken coffee machine", M("coffee machine"), ("tp1",)),
    Distractor("e.noise.piano", "small_talk", "the daughter's piano recital", M("piano|recital"), ("os2",)),
    Distractor("e.noise.force", "rejected", "force-pushing a rebased branch (the user refused it)", M("push --force"), ("tp4",), negatable=True),
    Distractor("e.noise.disabled", "rejected", "disabling a flaky test with @Disabled (refused)", M("@Disabled"), ("ph5",), negatable=True),
    Distractor("e.noise.repair", "rejected", "flyway:repair to accept an edited applied migration (refused)", M("flyway:repair"), ("ph4",), negatable=True),
)
# fmt: on

CORPUS = Corpus(
    name="e",
    how="written as one developer's work diary (held out until round 4, now tuned on)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="os4",
)
