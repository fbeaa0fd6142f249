# Literal command output and the user's and agent's words keep their real line lengths.
# ruff: noqa: E501
"""Corpus T: a research software engineer who looks after four research codes on a university
HPC cluster.

Aoife is the research software engineer of a small environmental-science group and keeps four
codes running on the university's Slurm cluster: reedbed (a Snakemake pipeline for wetland
sediment eDNA, conda environments per rule), pelagos (a Fortran ocean model built with CMake
and MPI against Lmod modules), karstflow (a Python groundwater-tracer analysis managed with
pixi) and ptarmigan (a C++/Kokkos Monte Carlo radiative-transfer code whose dependencies come
from a Spack environment). She writes to the agent in long run-on paragraphs that mix two or
three topics (teaching, her supervisor's grant report, another code's trouble), with the rules
buried mid-paragraph and hedged ("I think it'd be best if...", "ideally...", "my supervisor
wants...", "let's try to..."), and now and then forwards what her supervisor or the cluster's
admins wrote, in their words. Knowledge arrives in tool output (sbatch, squeue, sacct, salloc,
Lmod errors, conda/mamba solver errors, snakemake dry runs, CMake and gfortran errors, pixi,
spack, git) and in the agent's conclusions. The group's rules come back in two or three codes
in other words; look-alike rules differ per code (partition, formatter, intermediate file
format). Later sessions bring an OpenMPI module swap after an OS upgrade, a renamed pixi task,
a new reference database and a new compute allocation.

Written after A-S without reading their sessions or memoryd's extraction and consolidation
code, and never run through memoryd before it was committed: held out for round 13's
measurement, tuned on since round 14.
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
HOME = "/home/abrannigan/rse"
PROJECTS = (
    Project("reedbed", f"{HOME}/reedbed", "git@gitlab.uni-example.ac.uk:wetlands-lab/reedbed.git"),
    Project("pelagos", f"{HOME}/pelagos", "git@gitlab.uni-example.ac.uk:ocean-dyn/pelagos.git", "develop"),
    Project("karstflow", f"{HOME}/karstflow", "git@gitlab.uni-example.ac.uk:hydro/karstflow.git"),
    Project("ptarmigan", f"{HOME}/ptarmigan", "git@gitlab.uni-example.ac.uk:rt-lab/ptarmigan.git"),
)

GITLAB_TOKEN = "glpat-Xq7vR2mK9tLp4WzN8cYb"

# -- reedbed: Snakemake pipeline for sediment eDNA, conda envs per rule, Slurm executor

RB1 = Session("rb1", "reedbed", 26.2, (
    User("Hi, so I'm picking reedbed back up after the summer because the new PhD student wants to run the 2026 sediment cores through it and nobody has touched it since Snakemake 8 came out on the cluster, could you do a dry run of the whole thing and tell me what it would do, and just so you know my supervisor wants the login nodes kept for editing and git only, so anything that actually executes rules has to go through sbatch or at least an srun session and not run here, the dry run itself is fine though since it only builds the DAG. Also I'm marking lab reports all week so I'll be reading your replies on my phone in between, short bullet points would honestly help a lot more than long paragraphs."),
    Think("Read the config and the profile first, then run a dry run with the profile."),
    Sh("ls profiles/ && cat profiles/slurm/config.yaml", "slurm\nexecutor: slurm\njobs: 40\nlatency-wait: 60\nuse-conda: true\nconda-frontend: mamba\ndefault-resources:\n  slurm_partition: short\n  slurm_account: wetlab-rse\n  runtime: 120\n  mem_mb: 4000\nrestart-times: 1\nprintshellcmds: true"),
    Sh("cat config/config.yaml", "samples: config/samples_2026.tsv\nreads_dir: /project/wetlands/raw/2026\nsilva_db: /nfs/refdb/silva-138.1\nprimer_fwd: GTGYCAGCMGCCGCGGTAA\nprimer_rev: GGACTACNVGGGTWTCTAAT\nmin_len: 200\nthreads: 8"),
    Sh("snakemake --profile profiles/slurm -n", "usage: snakemake [-h] [--dry-run] [--profile PROFILE] [--cache [RULE ...]]\n                 [--snakefile FILE] [--cores N] [--jobs N] [--local-cores N]\n                 ...\nsnakemake: error: argument --executor/-e: invalid choice: 'slurm' (choose from 'local', 'dryrun', 'touch')", code=2, secs=3.1),
    Say("Snakemake 8 moved cluster submission into executor plugins, and the `snakemake` env on the cluster only has the built-in ones (`local`, `dryrun`, `touch`). The profile asks for `executor: slurm`, so the plugin has to be installed into the same environment."),
    Sh("mamba install -y -n snakemake -c conda-forge -c bioconda snakemake-executor-plugin-slurm", "Looking for: ['snakemake-executor-plugin-slurm']\n\nconda-forge/linux-64                                        Using cache\nbioconda/linux-64                                           Using cache\n\n  Package                                Version  Build         Channel\n─────────────────────────────────────────────────────────────────────────────\n  + snakemake-executor-plugin-slurm        0.11.2  pyhdfd78af_0  bioconda\n  + snakemake-executor-plugin-slurm-jobstep 0.2.1  pyhdfd78af_0  bioconda\n\nTransaction finished", secs=41.0),
    Sh("snakemake --profile profiles/slurm -n", "Using profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nJob stats:\njob               count\n--------------  -------\nall                     1\ncutadapt_trim          48\ndada2_denoise           1\nmerge_pairs            48\nassign_taxonomy         1\nbuild_report            1\ntotal                 100\n\nThis was a dry-run (flag -n). The order of jobs does not reflect the order of execution.", secs=6.2),
    Say("- Dry run works now: 100 jobs (48 trims, 48 merges, denoise, taxonomy, report).\n- Fix: the Slurm executor is a plugin in Snakemake 8; I installed `snakemake-executor-plugin-slurm` into the `snakemake` env with mamba.\n- Submission settings come from `profiles/slurm/config.yaml` (partition `short`, account `wetlab-rse`, 4 GB default); always pass `--profile profiles/slurm`.\n- Taxonomy uses `/nfs/refdb/silva-138.1` from `config/config.yaml`."),
    User("Great, that's exactly the format, thanks. Can you note in the README that the plugin is needed, one line is enough."),
    Patch("*** Update File: README.md\n@@ ## Running on the cluster\n-Run `snakemake --profile profiles/slurm` from a login node.\n+Run `snakemake --profile profiles/slurm` from a login node (it only submits jobs).\n+Snakemake 8 needs `snakemake-executor-plugin-slurm` in the same environment (`mamba install -n snakemake -c conda-forge -c bioconda snakemake-executor-plugin-slurm`)."),
    Say("- README updated under \"Running on the cluster\"."),
))

RB2 = Session("rb2", "reedbed", 22.0, (
    User("Morning! The student tried the real run last night and it died straight away creating the conda environments, I've pasted nothing because I honestly don't know where the log is, could you have a look, and while you're in there, my supervisor wants the git commit hash written next to every results folder so reviewers of the paper can trace which version of the pipeline produced what, something like a small PROVENANCE file would do, I think it'd be best if the report rule wrote it. Oh and sorry if I'm slow today, it's the department bake-off and I've been roped into judging the lemon drizzle category."),
    Sh("snakemake --use-conda --conda-create-envs-only --cores 1", "Building DAG of jobs...\nCreating conda environment workflow/envs/cutadapt.yaml...\nDownloading and installing remote packages.\nCreateCondaEnvironmentException:\nCould not create conda environment from /home/abrannigan/rse/reedbed/workflow/envs/cutadapt.yaml:\nCommand:\nmamba env create --quiet --no-default-packages --file \"/home/abrannigan/rse/reedbed/.snakemake/conda/3f1c9a2e_.yaml\" --prefix \"/home/abrannigan/rse/reedbed/.snakemake/conda/3f1c9a2e_\"\nOutput:\nerror    libmamba Could not solve for environment specs\n    The following packages are incompatible\n    ├─ cutadapt 4.9**  is installable and it requires\n    │  └─ python >=3.8,<3.13 , which can be installed;\n    └─ python 3.13**  is not installable because it conflicts with any installable versions previously reported.\ncritical libmamba Could not solve for environment specs", code=1, secs=95.0),
    Sh("cat workflow/envs/cutadapt.yaml && conda config --show channel_priority", "channels:\n  - conda-forge\n  - bioconda\n  - defaults\ndependencies:\n  - cutadapt=4.9\n  - python\nchannel_priority: flexible"),
    Say("With `channel_priority: flexible` the solver mixes `defaults` into the conda-forge/bioconda stack and picks python 3.13, which cutadapt 4.9 does not support. Bioconda documents strict channel priority as a requirement, so I'll set that and recreate the envs only (no jobs run)."),
    Sh("conda config --set channel_priority strict", ""),
    Sh("snakemake --use-conda --conda-create-envs-only --cores 1", "Building DAG of jobs...\nCreating conda environment workflow/envs/cutadapt.yaml...\nDownloading and installing remote packages.\nEnvironment for /home/abrannigan/rse/reedbed/workflow/envs/cutadapt.yaml created (location: .snakemake/conda/3f1c9a2e_)\nCreating conda environment workflow/envs/dada2.yaml...\nEnvironment for /home/abrannigan/rse/reedbed/workflow/envs/dada2.yaml created (location: .snakemake/conda/b81d04c7_)\nCreating conda environment workflow/envs/report.yaml...\nEnvironment for /home/abrannigan/rse/reedbed/workflow/envs/report.yaml created (location: .snakemake/conda/e0a99f13_)", secs=212.0),
    Say("- The envs build now: `conda config --set channel_priority strict` fixed the libmamba \"Could not solve for environment specs\" error (flexible priority pulled python 3.13 from defaults).\n- The per-rule environments live in `workflow/envs/`; they are created under `.snakemake/conda/`.\n- Next: the provenance file from the report rule."),
    User("Yes please, go on with the provenance bit."),
    Patch("*** Update File: workflow/rules/report.smk\n@@ rule build_report:\n     output:\n         html=\"results/{batch}/report.html\",\n+        prov=\"results/{batch}/PROVENANCE\",\n     conda:\n         \"../envs/report.yaml\"\n     shell:\n-        \"Rscript workflow/scripts/report.R {input} {output.html}\"\n+        \"Rscript workflow/scripts/report.R {input} {output.html} && \"\n+        \"printf 'pipeline_commit=%s\\\\n' \\\"$(git rev-parse HEAD)\\\" > {output.prov}\""),
    Sh("snakemake --profile profiles/slurm -n results/cores2026/PROVENANCE", "Using profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nJob stats:\njob             count\n------------  -------\nbuild_report        1\ntotal               1\n\nThis was a dry-run (flag -n). The order of jobs does not reflect the order of execution."),
    Say("- `build_report` now also writes `results/<batch>/PROVENANCE` with the output of `git rev-parse HEAD`.\n- Dry run of that target is clean. Good luck with the lemon drizzle."),
))

RB3 = Session("rb3", "reedbed", 17.2, (
    User("So the student's run got killed when the node she was on was rebooted for maintenance (I did not know that was happening, the admins' email went to my spam) and now snakemake refuses to start again and says something about a lock, can you get it going, I've got a meeting with the ethics panel in half an hour about an entirely different project so I'm going to leave you with it, and if it needs a scratch copy of anything to test, put it in a temp dir, don't mess up her results folder."),
    Sh("snakemake --profile profiles/slurm -n", "Using profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nError: Directory cannot be locked. Please make sure that no other Snakemake process is trying to create the same files in the following directory:\n/home/abrannigan/rse/reedbed\nIf you are sure that no other instances of snakemake are running on this directory, the remaining lock was likely caused by a kill signal or a power loss. It can be removed with the --unlock argument.\nLockException:", code=1, secs=2.4),
    Sh("squeue --me --format='%.10i %.20j %.8T %.10M'", "     JOBID                 NAME    STATE       TIME"),
    Say("No jobs of yours are queued or running, so the lock is stale from the reboot. The quickest clean-up would be `rm -rf .snakemake` and a fresh start. Shall I?"),
    User("No no, please don't delete that folder, the conda environments from last week live in there and they took ages to build, and its metadata is how snakemake knows which outputs are complete, isn't there a proper way?"),
    Sh("snakemake --unlock", "Unlocking working directory."),
    Sh("mktemp -d && snakemake --profile profiles/slurm -n --rerun-incomplete", "/tmp/reedbed.k3Jd9Q\nUsing profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nJob stats:\njob               count\n--------------  -------\nall                     1\nassign_taxonomy         1\nbuild_report            1\ndada2_denoise           1\nmerge_pairs            17\ntotal                  21\n\nThis was a dry-run (flag -n). The order of jobs does not reflect the order of execution."),
    Say("- `snakemake --unlock` removed the stale lock; `.snakemake/` (conda envs, job metadata) is untouched.\n- The dry run with `--rerun-incomplete` shows 21 jobs left (17 merges and the steps after them); the 31 finished merges are kept.\n- I didn't need the temp dir in the end."),
))

RB4 = Session("rb4", "reedbed", 12.2, (
    User("Hey, the resumed run finished everything except the assembly step for the long-read subset, which we added last week, the student says it just stops with no error in the snakemake log and I'm not sure where Slurm puts its side of the story, could you dig, and while I remember: the results and the raw reads should stay out of the repo, I think it'd be best if the results/ and data/ folders were in .gitignore before someone accidentally commits 40 GB of fastq like last year, and one more thing that's been bugging me, the intermediate tables between rules, can those be gzipped TSV, .tsv.gz, rather than the mix of csv and rds we have now, it would make the downstream R scripts simpler to read."),
    Sh("grep -rn 'rule assemble' -A 12 workflow/rules/assemble.smk", "workflow/rules/assemble.smk:1:rule assemble:\nworkflow/rules/assemble.smk-2-    input:\nworkflow/rules/assemble.smk-3-        \"results/{batch}/longreads/{sample}.filtered.fastq.gz\",\nworkflow/rules/assemble.smk-4-    output:\nworkflow/rules/assemble.smk-5-        directory(\"results/{batch}/assembly/{sample}\"),\nworkflow/rules/assemble.smk-6-    conda:\nworkflow/rules/assemble.smk-7-        \"../envs/megahit.yaml\"\nworkflow/rules/assemble.smk-8-    threads: 8\nworkflow/rules/assemble.smk-9-    shell:\nworkflow/rules/assemble.smk-10-        \"megahit -r {input} -t {threads} -o {output}\""),
    Sh("srun --time=01:00:00 --partition=short --account=wetlab-rse snakemake --profile profiles/slurm --rerun-incomplete results/cores2026/assembly/LR03", "srun: job 48177339 queued and waiting for resources\nsrun: job 48177339 has been allocated resources\nUsing profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nrule assemble:\n    input: results/cores2026/longreads/LR03.filtered.fastq.gz\n    output: results/cores2026/assembly/LR03\n    resources: mem_mb=4000, mem_mib=3815, disk_mb=1000, runtime=120, slurm_partition=short, slurm_account=wetlab-rse\nJob 0 has been submitted with SLURM jobid 48177342 (log: .snakemake/slurm_logs/rule_assemble/LR03/48177342.log).\n[Wed Nov 25 10:41:07 2026]\nError in rule assemble:\n    message: SLURM-job '48177342' failed, SLURM status is: 'OUT_OF_MEMORY'. For further error details see the cluster/cloud log and the log files of the involved rule(s).\n    jobid: 0\nExiting because a job execution failed. Look above for error message\nsrun: error: node0397: task 0: Exited with exit code 1", code=1, secs=1310.0),
    Sh("sacct -u abrannigan -S 2026-11-24 --name=rule_assemble --format=JobID,JobName%16,State%15,ExitCode,MaxRSS,ReqMem", "JobID                 JobName           State ExitCode     MaxRSS     ReqMem\n------------ ---------------- --------------- -------- ---------- ----------\n48177342        rule_assemble   OUT_OF_MEMORY    0:125                  4000M\n48177342.ba+            batch   OUT_OF_MEMORY    0:125      4091M\n48177342.ex+           extern       COMPLETED      0:0          0\n48177343        rule_assemble   OUT_OF_MEMORY    0:125                  4000M\n48177343.ba+            batch   OUT_OF_MEMORY    0:125      4088M", code=0),
    Say("Slurm killed the assembly jobs for memory: `sacct` shows OUT_OF_MEMORY at the profile's 4000 MB default. MEGAHIT on these long-read subsets needs more; the rule itself declares no resources, so it inherits the default. I'll give `assemble` its own `mem_mb`."),
    Patch("*** Update File: workflow/rules/assemble.smk\n@@ rule assemble:\n     conda:\n         \"../envs/megahit.yaml\"\n     threads: 8\n+    resources:\n+        mem_mb=16000,\n+        runtime=360,\n     shell:\n-        \"megahit -r {input} -t {threads} -o {output}\"\n+        \"megahit -r {input} -t {threads} -m 0.9 -o {output}\""),
    Sh("snakemake --profile profiles/slurm -n --forcerun assemble | grep -A3 'rule assemble'", "rule assemble:\n    input: results/cores2026/longreads/LR03.filtered.fastq.gz\n    output: results/cores2026/assembly/LR03\n    resources: mem_mb=16000, mem_mib=15259, disk_mb=1000, runtime=360, slurm_partition=short, slurm_account=wetlab-rse"),
    Patch("*** Update File: .gitignore\n@@\n .snakemake/\n+results/\n+data/\n+*.fastq.gz"),
    Sh("git status --short && git check-ignore -v results/cores2026/report.html", " M .gitignore\n M workflow/rules/assemble.smk\n.gitignore:2:results/\tresults/cores2026/report.html"),
    Say("- Assembly: `sacct` showed OUT_OF_MEMORY (4 GB default); `assemble` now requests `mem_mb=16000` and 6 h, and MEGAHIT uses 90 % of it.\n- `results/`, `data/` and `*.fastq.gz` are in `.gitignore` (checked with `git check-ignore`).\n- TSV switch: the rules writing `.csv`/`.rds` intermediates are `merge_pairs`, `dada2_denoise` and `assign_taxonomy`; want me to convert them to `.tsv.gz` in this session or the next?"),
    User("Next one, thanks, I need to go and teach. Resubmit just the assembly for now please."),
    Sh("sbatch --wrap='snakemake --profile profiles/slurm --rerun-incomplete results/cores2026/assembly/LR03' --job-name=reedbed-driver --time=08:00:00 --partition=short --account=wetlab-rse", "Submitted batch job 48190455"),
    Say("- Submitted the driver as job 48190455 (the driver itself runs on a compute node, not the login node)."),
))

RB5 = Session("rb5", "reedbed", 7.1, (
    User("Okay TSV day, let's convert those three rules to write .tsv.gz like we said, and then something my supervisor brought up in group meeting, she got bitten on the other cluster when the default R changed under her, so ideally every module in the job scripts and the profile gets its full version written out, like R/4.4.1 instead of just R, because the defaults move whenever the admins install something newer. Completely unrelated, but do you think we should be moving this whole thing to Nextflow at some point? The bioinformatics core keeps saying it's the future. Actually forget it, that's a conversation for after the paper is out."),
    Sh("grep -rn 'module load' profiles/ workflow/ | head", "workflow/scripts/run_report.sh:3:module load R\nprofiles/slurm/config.yaml:14:  slurm_extra: \"'--export=ALL'\""),
    Sh("module avail R/ 2>&1 | tail -n 4", "------------------------------- /opt/modulefiles/lang --------------------------------\n   R/4.2.3    R/4.3.2    R/4.4.1 (D)\n\n  Where:\n   D:  Default Module"),
    Patch("*** Update File: workflow/scripts/run_report.sh\n@@\n #!/bin/bash\n set -euo pipefail\n-module load R\n+module load R/4.4.1"),
    Patch("*** Update File: workflow/rules/merge.smk\n@@ rule merge_pairs:\n     output:\n-        \"results/{batch}/merged/{sample}.csv\",\n+        \"results/{batch}/merged/{sample}.tsv.gz\",\n*** Update File: workflow/rules/dada2.smk\n@@ rule dada2_denoise:\n     output:\n-        seqtab=\"results/{batch}/dada2/seqtab.rds\",\n+        seqtab=\"results/{batch}/dada2/seqtab.tsv.gz\",\n*** Update File: workflow/rules/taxonomy.smk\n@@ rule assign_taxonomy:\n     output:\n-        \"results/{batch}/taxonomy/assignments.csv\",\n+        \"results/{batch}/taxonomy/assignments.tsv.gz\","),
    Sh("snakemake --profile profiles/slurm -n --rerun-triggers code", "Using profile profiles/slurm for setting default command line arguments.\nBuilding DAG of jobs...\nMissingInputException in rule assign_taxonomy in file workflow/rules/taxonomy.smk, line 3:\nMissing input files for rule assign_taxonomy:\n    output: results/cores2026/taxonomy/assignments.tsv.gz\n    affected files:\n        results/cores2026/dada2/seqtab.rds", code=1),
    Patch("*** Update File: workflow/rules/taxonomy.smk\n@@ rule assign_taxonomy:\n     input:\n-        \"results/{batch}/dada2/seqtab.rds\",\n+        \"results/{batch}/dada2/seqtab.tsv.gz\","),
    Sh("snakemake --profile profiles/slurm -n --rerun-triggers code | tail -n 9", "job               count\n--------------  -------\nall                     1\nassign_taxonomy         1\nbuild_report            1\ndada2_denoise           1\nmerge_pairs            48\ntotal                  52\n\nThis was a dry-run (flag -n). The order of jobs does not reflect the order of execution."),
    Say("- The three rules now write `.tsv.gz` intermediates; the taxonomy rule's input still pointed at the `.rds`, fixed after the dry run's MissingInputException.\n- `run_report.sh` loads `R/4.4.1` explicitly (it was the bare `R`, currently defaulting to 4.4.1).\n- The next run redoes 52 jobs because the outputs' names changed."),
))

RB_L = Session("rbL", "reedbed", 2.6, (
    User("Forwarding this from my supervisor because it changes the taxonomy step, she wrote: \"We're moving every amplicon project to SILVA 138.2 from this month; the 138.1 files on /nfs/refdb will be deleted at the end of the year. Please make sure reedbed uses /nfs/refdb/silva-138.2 before the student reruns the cores.\" So could you switch it over and check the dry run, and I think it'd be best if the taxonomy step got rerun for the cores because the assignments depend on it, the rest can stay as it is."),
    Sh("ls /nfs/refdb/", "gtdb-r220\nsilva-138.1\nsilva-138.2\nunite-10.0"),
    Patch("*** Update File: config/config.yaml\n@@\n reads_dir: /project/wetlands/raw/2026\n-silva_db: /nfs/refdb/silva-138.1\n+silva_db: /nfs/refdb/silva-138.2\n primer_fwd: GTGYCAGCMGCCGCGGTAA"),
    Sh("snakemake --profile profiles/slurm -n --forcerun assign_taxonomy | tail -n 7", "job                count\n---------------  -------\nall                    1\nassign_taxonomy        1\nbuild_report           1\ntotal                  3\n\nThis was a dry-run (flag -n). The order of jobs does not reflect the order of execution."),
    Say("- `config/config.yaml` now points `silva_db` at `/nfs/refdb/silva-138.2` (SILVA 138.1 is being retired).\n- A forced rerun of `assign_taxonomy` redoes 3 jobs (taxonomy, report, all); submit it with the usual profile when the student is ready."),
), later=True)

# -- pelagos: Fortran 2008 ocean model, CMake presets, MPI, NetCDF-Fortran from Lmod modules

PG1 = Session("pg1", "pelagos", 25.4, (
    User("Hello, new code for you, pelagos is the group's ocean model, Fortran, builds with CMake against MPI and NetCDF, and I need a fresh build on the cluster because the postdoc who maintained the build scripts left in September. Before anything, the admins sent this round on Monday and I'd rather we didn't end up on their list, pasting it as they wrote it:\n\n> Dear users, we have again found long-running processes on the login nodes. Login nodes are shared by 400 people. Compilation of small codes is tolerated; anything using more than a few minutes of CPU belongs on a compute node: request one with salloc or srun for interactive work. Offending processes will be terminated without warning. -- HPC Support\n\nSo compiling is okay there but running is not, and related to that, the habit in our group, which I think it'd be best to keep, is to run the small channel test first and look at it before anyone submits the full 256-rank run, the supervisor has been burnt by week-long jobs that died on day one. Anyway, the build please, whatever modules it needs."),
    Sh("cmake --list-presets", "Available configure presets:\n\n  \"gnu-mpi\"   - GNU Fortran + MPI (cluster)\n  \"gnu-debug\" - GNU Fortran + MPI, -O0 -g -fcheck=all\n  \"intel-mpi\" - Intel oneAPI + Intel MPI (retired)"),
    Sh("module purge && module load gcc/12.2.0 openmpi/4.1.5 && cmake --preset gnu-mpi", "Preset CMake variables:\n\n  CMAKE_BUILD_TYPE=\"Release\"\n  CMAKE_Fortran_COMPILER=\"mpif90\"\n\n-- The Fortran compiler identification is GNU 12.2.0\n-- Found MPI_Fortran: /opt/apps/openmpi/4.1.5-gcc12/lib/libmpi_usempif08.so (found version \"3.1\")\nCMake Error at /opt/apps/cmake/3.27.9/share/cmake-3.27/Modules/FindPackageHandleStandardArgs.cmake:230 (message):\n  Could NOT find NetCDF_Fortran (missing: NetCDF_Fortran_LIBRARY\n  NetCDF_Fortran_INCLUDE_DIR)\nCall Stack (most recent call first):\n  /opt/apps/cmake/3.27.9/share/cmake-3.27/Modules/FindPackageHandleStandardArgs.cmake:600 (_FPHSA_FAILURE_MESSAGE)\n  cmake/FindNetCDF_Fortran.cmake:41 (find_package_handle_standard_args)\n  CMakeLists.txt:29 (find_package)\n\n-- Configuring incomplete, errors occurred!", code=1, secs=4.2),
    Sh("module spider netcdf-fortran 2>&1 | sed -n '1,12p'", "----------------------------------------------------------------------------\n  netcdf-fortran:\n----------------------------------------------------------------------------\n     Versions:\n        netcdf-fortran/4.5.4\n        netcdf-fortran/4.6.1\n\n  You will need to load all module(s) on any one of the lines below before the\n  \"netcdf-fortran/4.6.1\" module is available to load.\n\n      gcc/12.2.0  openmpi/4.1.5"),
    Sh("module load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1 && cmake --preset gnu-mpi && cmake --build build-gnu -j 4", "-- The Fortran compiler identification is GNU 12.2.0\n-- Found MPI_Fortran: /opt/apps/openmpi/4.1.5-gcc12/lib/libmpi_usempif08.so (found version \"3.1\")\n-- Found NetCDF_Fortran: /opt/apps/netcdf-fortran/4.6.1-gcc12-ompi415/lib/libnetcdff.so\n-- Configuring done (3.1s)\n-- Generating done (0.1s)\n-- Build files have been written to: /home/abrannigan/rse/pelagos/build-gnu\n[  8%] Building Fortran object src/CMakeFiles/pelagos_core.dir/kinds.F90.o\n[ 16%] Building Fortran object src/CMakeFiles/pelagos_core.dir/grid.F90.o\n...\n[ 91%] Linking Fortran executable pelagos\n[100%] Built target pelagos", secs=96.0),
    Say("The build works. What it needs:\n- modules `gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1`: without the `netcdf-fortran/4.6.1` module CMake stops at \"Could NOT find NetCDF_Fortran\" (that module only appears after gcc and openmpi are loaded);\n- the `gnu-mpi` CMake preset (`cmake --preset gnu-mpi`), which builds into `build-gnu/`; the intel preset is marked retired.\nNothing was run on the login node beyond compiling."),
    User("Lovely. Could you put those module lines in a file we can source so the student doesn't have to remember them?"),
    Patch("*** Add File: env/cluster.sh\n+# Source before configuring or running pelagos on the cluster.\n+module purge\n+module load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1"),
    Say("Added `env/cluster.sh`; `source env/cluster.sh && cmake --preset gnu-mpi` is the whole configure step now."),
))

PG2 = Session("pg2", "pelagos", 20.8, (
    User("I pulled the postdoc's last branch, the one with the new halo exchange, and it doesn't compile any more with the gcc 12 module, something about types, can you look at it. Also, two things from the group meeting that I'm meant to pass on: first, the diagnostics, I think it'd be best if every accumulator in the energy and tracer budgets was real64, the single precision sums drifted by a percent over a model year and my supervisor spent a week thinking it was physics, and second, the formatting in this repo, we agreed on fprettify with --indent 3 so the diffs stop being all whitespace, could you run it over whatever you touch. Sorry for the wall of text, it's been one of those weeks with the grant report."),
    Sh("source env/cluster.sh && cmake --build build-gnu -j 4 2>&1 | tail -n 14", "[ 25%] Building Fortran object src/CMakeFiles/pelagos_core.dir/halo.F90.o\n/home/abrannigan/rse/pelagos/src/halo.F90:88:22:\n\n   81 |     call MPI_Isend(sendbuf_e, n, MPI_DOUBLE_PRECISION, east, tag, comm, reqs(1), ierr)\n      |                   1\n......\n   88 |     call MPI_Isend(sendbuf_n, 1, MPI_INTEGER, north, tag, comm, reqs(3), ierr)\n      |                   2\nError: Type mismatch between actual argument at (1) and actual argument at (2) (REAL(8)/INTEGER(4)).\nmake[2]: *** [src/CMakeFiles/pelagos_core.dir/build.make:146: src/CMakeFiles/pelagos_core.dir/halo.F90.o] Error 1\nmake[1]: *** [CMakeFiles/Makefile2:112: src/CMakeFiles/pelagos_core.dir/all] Error 2\nmake: *** [Makefile:136: all] Error 2", code=2, secs=22.0),
    Sh("sed -n '1,12p' src/halo.F90", "module halo\n   use kinds, only: dp\n   implicit none\n   include 'mpif.h'\n   private\n   public :: exchange_halo\ncontains\n   subroutine exchange_halo(field, comm)\n      real(dp), intent(inout) :: field(:, :)\n      integer, intent(in) :: comm\n      real(dp), allocatable :: sendbuf_e(:), sendbuf_n(:)\n      integer :: reqs(4), ierr"),
    Say("gfortran 10 and later reject calling the same implicit-interface routine with different argument types, which is what `include 'mpif.h'` gives you. The clean fix is the typed `mpi_f08` bindings (OpenMPI 4.1.5 ships them), which also means `type(MPI_Comm)` and `type(MPI_Request)`."),
    Patch("*** Update File: src/halo.F90\n@@\n module halo\n    use kinds, only: dp\n+   use mpi_f08\n    implicit none\n-   include 'mpif.h'\n    private\n@@\n       real(dp), intent(inout) :: field(:, :)\n-      integer, intent(in) :: comm\n+      type(MPI_Comm), intent(in) :: comm\n       real(dp), allocatable :: sendbuf_e(:), sendbuf_n(:)\n-      integer :: reqs(4), ierr\n+      type(MPI_Request) :: reqs(4)\n+      integer :: ierr"),
    Sh("grep -n 'real(sp)\\|real ::' src/diagnostics.F90", "41:      real(sp) :: ke_sum, pe_sum\n42:      real(sp) :: tracer_sum(ntracers)"),
    Patch("*** Update File: src/diagnostics.F90\n@@\n-      real(sp) :: ke_sum, pe_sum\n-      real(sp) :: tracer_sum(ntracers)\n+      real(real64) :: ke_sum, pe_sum\n+      real(real64) :: tracer_sum(ntracers)"),
    Sh("fprettify --indent 3 src/halo.F90 src/diagnostics.F90 && source env/cluster.sh && cmake --build build-gnu -j 4 2>&1 | tail -n 3", "[ 83%] Building Fortran object src/CMakeFiles/pelagos_core.dir/diagnostics.F90.o\n[ 91%] Linking Fortran executable pelagos\n[100%] Built target pelagos", secs=31.0),
    Say("It compiles again:\n- `src/halo.F90` now uses `mpi_f08` instead of `include 'mpif.h'`, which fixes gfortran's \"Type mismatch between actual argument\" error;\n- the energy and tracer sums in `src/diagnostics.F90` are `real(real64)` (needs `use iso_fortran_env`, which the module already has);\n- both files went through `fprettify --indent 3`."),
    User("Thank you! That's lovely."),
))

PG3 = Session("pg3", "pelagos", 15.9, (
    User("Right, time to actually run the channel case on a compute node, let's grab an allocation and try it interactively before we write a proper job script, I've got 4 ranks in mind. And one thing my supervisor was quite firm about at the last group meeting, she said bare module names in job scripts aren't allowed any more in the group, each module load has to spell out the version, so whatever script comes out of this should look like env/cluster.sh does. Also, small thing but I'd really like to see the sbatch script here in the chat before you submit it, I've had too many jobs go to the wrong account."),
    Sh("salloc --nodes=1 --ntasks=4 --time=00:30:00 --partition=mpi --account=ocean-g42", "salloc: Pending job allocation 48213907\nsalloc: job 48213907 queued and waiting for resources\nsalloc: job 48213907 has been allocated resources\nsalloc: Granted job allocation 48213907\nsalloc: Nodes node1147 are ready for job", secs=38.0),
    Sh("source env/cluster.sh && mpirun -np 4 ./build-gnu/pelagos cases/channel_small/namelist.ocean", "[node1147:2741185] PMIX ERROR: UNREACHABLE in file server/pmix_server.c at line 3224\n--------------------------------------------------------------------------\nIt looks like MPI_INIT failed for some reason; your parallel process is\nlikely to abort.  There are many reasons that a parallel process can\nfail during MPI_INIT; some of which are due to configuration or environment\nproblems.  This failure appears to be an internal failure; here's some\nadditional information (which may only be relevant to an Open MPI\ndeveloper):\n\n  ompi_mpi_init: ompi_rte_init failed\n  --> Returned \"Not found\" (-13) instead of \"Success\" (0)\n--------------------------------------------------------------------------", code=1, secs=3.0),
    Sh("srun --mpi=list 2>&1 | head -n 5", "MPI plugin types are...\n\tnone\n\tpmi2\n\tpmix\nspecific pmix plugin versions available: pmix_v4"),
    Say("This OpenMPI module was built for Slurm's PMIx launcher, not for its own `mpirun` inside an allocation. Launching with `srun --mpi=pmix` lets Slurm start the ranks."),
    Sh("source env/cluster.sh && srun --mpi=pmix -n 4 ./build-gnu/pelagos cases/channel_small/namelist.ocean | tail -n 4", " step   1440  t=  1.000 d  ke= 3.2184E-03  max|u|= 0.412\n writing cases/channel_small/out/pelagos_0001.nc\n run complete: 1440 steps, wall 212.4 s\n MPI ranks: 4", secs=214.0),
    User("Ooh it runs. One thing, the postdoc's notes say the big halo buffers can segfault with the default stack limit on the bigger cases, so for today's debugging you can just do ulimit -s unlimited in the shell, but please don't put it in the repo or the job script, it hides real problems."),
    Sh("ulimit -s unlimited && srun --mpi=pmix -n 4 ./build-gnu/pelagos cases/channel_small/namelist.ocean | tail -n 1", " MPI ranks: 4", secs=209.0),
    Say("Here is the job script I'd submit for the full channel case; nothing is submitted yet:\n\n```bash\n#!/bin/bash\n#SBATCH --job-name=pelagos-channel\n#SBATCH --partition=mpi\n#SBATCH --account=ocean-g42\n#SBATCH --nodes=4\n#SBATCH --ntasks-per-node=64\n#SBATCH --time=24:00:00\nmodule purge\nmodule load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1\nsrun --mpi=pmix ./build-gnu/pelagos cases/channel/namelist.ocean\n```"),
    User("Looks right, the mpi partition is the one, the short partition kills anything over one node. Save it as jobs/channel.sbatch but don't submit, I'll do it myself tonight."),
    Patch("*** Add File: jobs/channel.sbatch\n+#!/bin/bash\n+#SBATCH --job-name=pelagos-channel\n+#SBATCH --partition=mpi\n+#SBATCH --account=ocean-g42\n+#SBATCH --nodes=4\n+#SBATCH --ntasks-per-node=64\n+#SBATCH --time=24:00:00\n+module purge\n+module load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1\n+srun --mpi=pmix ./build-gnu/pelagos cases/channel/namelist.ocean"),
    Sh("exit", "salloc: Relinquishing job allocation 48213907"),
    Say("Saved `jobs/channel.sbatch` (not submitted) and released the allocation. In short: inside Slurm, launch pelagos with `srun --mpi=pmix`; plain `mpirun` fails in MPI_INIT with a PMIX error."),
))

PG4 = Session("pg4", "pelagos", 10.8, (
    User("Two things today and then I'm off to the HPC carpentry workshop I'm helping at. The tests, I honestly have no idea what tests pelagos has, the postdoc mentioned ctest once, could you find out how to run whatever is quick, and then the output side: my supervisor asked whether we can tell from a NetCDF file which code made it, and I think it'd be best if the model's output carried the git describe string as a global attribute, provenance basically, and while you're in that part of the code, the output directory, the runs should write under /scratch/abrannigan/pelagos-runs and not into the home directory, home is tiny and it's backed up so the admins hate big files there."),
    Sh("ls cases/ && ctest --test-dir build-gnu -N | tail -n 8", "channel\nchannel_small\ngyre_eddy\nseamount\n  Test #1: unit_grid\n  Test #2: unit_eos\n  Test #3: unit_halo\n  Test #4: unit_diagnostics\n  Test #5: regression_channel_small\n  Test #6: regression_gyre_eddy\n\nTotal Tests: 6"),
    Sh("ctest --test-dir build-gnu --print-labels", "Test project /home/abrannigan/rse/pelagos/build-gnu\nAll Labels:\n  mpi\n  regression\n  unit"),
    Sh("source env/cluster.sh && ctest --test-dir build-gnu -L unit --output-on-failure", "Test project /home/abrannigan/rse/pelagos/build-gnu\n    Start 1: unit_grid\n1/4 Test #1: unit_grid ........................   Passed    0.04 sec\n    Start 2: unit_eos\n2/4 Test #2: unit_eos .........................   Passed    0.03 sec\n    Start 3: unit_halo\n3/4 Test #3: unit_halo ........................   Passed    0.88 sec\n    Start 4: unit_diagnostics\n4/4 Test #4: unit_diagnostics .................   Passed    0.05 sec\n\n100% tests passed, 0 tests failed out of 4\n\nLabel Time Summary:\nunit    =   1.00 sec*proc (4 tests)", secs=2.1),
    Say("The quick tests are the `unit` label: `ctest --test-dir build-gnu -L unit` runs four unit tests in about a second (safe on a login node). The `regression` label runs `channel_small` and `gyre_eddy` through MPI and belongs in an allocation. Now the provenance attribute."),
    Patch("*** Update File: CMakeLists.txt\n@@\n project(pelagos LANGUAGES Fortran)\n+execute_process(COMMAND git describe --always --dirty\n+                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}\n+                OUTPUT_VARIABLE PELAGOS_GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE)\n+add_compile_definitions(PELAGOS_GIT_DESCRIBE=\"${PELAGOS_GIT_DESCRIBE}\")\n*** Update File: src/output.F90\n@@ subroutine open_output(path, ncid)\n       call check(nf90_create(path, NF90_NETCDF4, ncid))\n+      call check(nf90_put_att(ncid, NF90_GLOBAL, 'pelagos_git_describe', PELAGOS_GIT_DESCRIBE))\n*** Update File: cases/channel/namelist.ocean\n@@ &output\n-   out_dir = 'out'\n+   out_dir = '/scratch/abrannigan/pelagos-runs/channel'"),
    Sh("source env/cluster.sh && cmake --build build-gnu -j 4 2>&1 | tail -n 1 && ctest --test-dir build-gnu -L unit | tail -n 3", "[100%] Built target pelagos\n100% tests passed, 0 tests failed out of 4", secs=44.0),
    Say("- Output files get a global attribute `pelagos_git_describe` (from `git describe --always --dirty` at configure time).\n- `cases/channel/namelist.ocean` writes to `/scratch/abrannigan/pelagos-runs/channel`.\n- Quick tests: `ctest --test-dir build-gnu -L unit`; the small test case for trial runs is `cases/channel_small`."),
))

PG5 = Session("pg5", "pelagos", 5.9, (
    User("The full channel run finished over the weekend, so now the postprocessing, at the moment the student has a bash loop that sleeps and checks squeue every ten minutes and then submits the postprocessing job, which is a bit embarrassing, I think we should chain the postprocessing after the model job with --dependency=afterok so Slurm does the waiting, could you set that up with a little submit script. And a docs thing while you're at it, the README is half American half British, our funder is British and my supervisor reads every word, so British spelling in the docs and comments please, colour, behaviour, modelling."),
    Sh("cat jobs/postprocess.sbatch && cat scripts/wait_and_post.sh", "#!/bin/bash\n#SBATCH --job-name=pelagos-post\n#SBATCH --partition=short\n#SBATCH --account=ocean-g42\n#SBATCH --time=02:00:00\nmodule purge\nmodule load gcc/12.2.0 python/3.11.5\npython tools/postprocess.py \"$1\"\n#!/bin/bash\nwhile squeue --me | grep -q pelagos-channel; do sleep 600; done\nsbatch jobs/postprocess.sbatch /scratch/abrannigan/pelagos-runs/channel"),
    Patch("*** Add File: scripts/submit_channel.sh\n+#!/bin/bash\n+# Submit the channel run and its postprocessing; the second job starts only if the first succeeds.\n+set -euo pipefail\n+model=$(sbatch --parsable jobs/channel.sbatch)\n+sbatch --dependency=afterok:\"$model\" jobs/postprocess.sbatch /scratch/abrannigan/pelagos-runs/channel\n+echo \"model job $model, postprocessing waits for it\"\n*** Delete File: scripts/wait_and_post.sh"),
    Sh("bash -n scripts/submit_channel.sh && grep -n 'color\\|behavior\\|modeling' README.md", "12:The model's behavior near the open boundary is controlled by `obc_relax`.\n31:Colors in the quick-look plots follow the cmocean maps.\n44:See docs/modeling-notes.md for the modeling assumptions."),
    Patch("*** Update File: README.md\n@@\n-The model's behavior near the open boundary is controlled by `obc_relax`.\n+The model's behaviour near the open boundary is controlled by `obc_relax`.\n@@\n-Colors in the quick-look plots follow the cmocean maps.\n+Colours in the quick-look plots follow the cmocean maps.\n@@\n-See docs/modeling-notes.md for the modeling assumptions.\n+See docs/modelling-notes.md for the modelling assumptions."),
    Sh("git mv docs/modeling-notes.md docs/modelling-notes.md && git status --short", "M  README.md\nR  docs/modeling-notes.md -> docs/modelling-notes.md\nA  scripts/submit_channel.sh\nD  scripts/wait_and_post.sh"),
    Say("- `scripts/submit_channel.sh` submits `jobs/channel.sbatch` and then `jobs/postprocess.sbatch` with `--dependency=afterok:<model job>`; the sleep loop is deleted.\n- README spelling is British now (behaviour, colours, modelling) and the notes file is renamed to `docs/modelling-notes.md`."),
    User("Perfect, thank you."),
))

PG_L = Session("pgL", "pelagos", 2.1, (
    User("Bad news from the admins, the cluster had its OS upgrade over the weekend and now nothing of mine loads, this is what they sent, I only skimmed it:\n\n> The cluster now runs Rocky Linux 9. The following modules have been removed because they cannot be rebuilt: openmpi/4.1.5, netcdf-fortran/4.5.4. Please rebuild your codes against the new MPI stack. -- HPC Support\n\nCould you get pelagos building again and fix env/cluster.sh and the job scripts, I think it'd be best to do a quick rerun of the small channel case after, just to see the numbers didn't move."),
    Sh("source env/cluster.sh", "Lmod has detected the following error:  The following module(s) are unknown:\n\"openmpi/4.1.5\"\n\nPlease check the spelling or version number. Also try \"module spider ...\"\nIt is also possible your cache file is out-of-date; it may help to try:\n  $ module --ignore_cache load \"openmpi/4.1.5\"", code=1),
    Sh("module spider openmpi 2>&1 | sed -n '4,8p'", "     Versions:\n        openmpi/5.0.3\n     Other possible modules matches:\n        openmpi-cuda"),
    Patch("*** Update File: env/cluster.sh\n@@\n module purge\n-module load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1\n+module load gcc/12.2.0 openmpi/5.0.3 netcdf-fortran/4.6.1\n*** Update File: jobs/channel.sbatch\n@@\n module purge\n-module load gcc/12.2.0 openmpi/4.1.5 netcdf-fortran/4.6.1\n+module load gcc/12.2.0 openmpi/5.0.3 netcdf-fortran/4.6.1"),
    Sh("source env/cluster.sh && rm -rf build-gnu && cmake --preset gnu-mpi >/dev/null && cmake --build build-gnu -j 4 2>&1 | tail -n 1", "[100%] Built target pelagos", secs=102.0),
    Sh("salloc --nodes=1 --ntasks=4 --time=00:20:00 --partition=mpi --account=ocean-g42 srun --mpi=pmix -n 4 ./build-gnu/pelagos cases/channel_small/namelist.ocean | tail -n 3", "salloc: Granted job allocation 48302216\n step   1440  t=  1.000 d  ke= 3.2184E-03  max|u|= 0.412\n run complete: 1440 steps, wall 198.7 s", secs=240.0),
    Say("- `openmpi/4.1.5` is gone after the Rocky 9 upgrade; `env/cluster.sh` and `jobs/channel.sbatch` now load `gcc/12.2.0 openmpi/5.0.3 netcdf-fortran/4.6.1`.\n- Rebuilt from scratch with `cmake --preset gnu-mpi`; the small channel case gives the same kinetic energy (3.2184E-03) as before."),
), later=True)

# -- karstflow: Python groundwater-tracer analysis, pixi-managed environment

KF1 = Session("kf1", "karstflow", 24.3, (
    User("Hi again, third code, karstflow, it's the tracer-breakthrough analysis for the hydrogeology group, plain Python but managed with pixi which I've never used, the student who wrote it swears by it, could you get the environment installed on the cluster so I can run their figures for the annual report. One more thing, and I think it'd be best if we sorted this out right at the start: anything big like package caches, environments and model outputs should live on /scratch because home is only 50 GB and I've already had two quota emails this term. Oh and whatever files you create, dates in the file names as YYYY-MM-DD please, the student's mix of 03-11 and 11-03 has already cost us an afternoon."),
    Sh("cat pixi.toml", "[workspace]\nname = \"karstflow\"\nchannels = [\"conda-forge\"]\nplatforms = [\"linux-64\", \"osx-arm64\"]\n\n[tasks]\ntest = \"pytest -q tests\"\nfigures = \"python -m karstflow.figures --out figures/\"\nlint = \"ruff check src tests\"\n\n[dependencies]\npython = \"3.12.*\"\nnumpy = \">=2.1\"\npandas = \">=2.2\"\nxarray = \">=2024.10\"\nscipy = \">=1.14\"\nmatplotlib = \">=3.9\"\npytest = \">=8.3\""),
    Sh("pixi install", "⠁ updating lock-file\n  × failed to link 'numpy-2.1.3-py312h58c1407_0.conda'\n  ├─▶ failed to write '/home/abrannigan/.cache/rattler/cache/pkgs/numpy-2.1.3-py312h58c1407_0/lib/python3.12/site-packages/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so'\n  ╰─▶ Disk quota exceeded (os error 122)", code=1, secs=58.0),
    Sh("quota -s", "Disk quotas for user abrannigan (uid 40217):\n     Filesystem   space   quota   limit   grace   files   quota   limit   grace\nnfs-home:/home  51200M* 51200M  53248M  6days    412k    1000k   1200k"),
    Say("Home is at its 50 GB quota, and pixi puts its package cache under `~/.cache/rattler`. Pointing the cache at scratch with `PIXI_CACHE_DIR` keeps it off home; the environment itself lives in `.pixi/` inside the checkout, which is small."),
    Sh("export PIXI_CACHE_DIR=/scratch/abrannigan/pixi-cache && pixi install", "✔ The default environment has been installed.", secs=74.0),
    Sh("pixi task list", "Tasks that can run on this machine:\n-----------------------------------\nfigures, lint, test"),
    Patch("*** Update File: README.md\n@@ ## Setup\n-Run `pixi install`.\n+On the cluster, keep pixi's package cache off home: `export PIXI_CACHE_DIR=/scratch/$USER/pixi-cache` (in `~/.bashrc`), then `pixi install`."),
    Say("- Installed. Fix: `export PIXI_CACHE_DIR=/scratch/abrannigan/pixi-cache` before `pixi install`; with the cache in home it failed with \"Disk quota exceeded (os error 122)\".\n- Tasks: `pixi run test` (pytest), `pixi run figures` (writes to `figures/`) and `pixi run lint` (ruff).\n- README says to set the cache variable."),
    User("Brilliant. Can you run the figures now then? It's light, just matplotlib."),
    Sh("pixi run figures", "✨ Pixi task (figures in default): python -m karstflow.figures --out figures/\nwrote figures/2026-11-13_breakthrough_curves.pdf\nwrote figures/2026-11-13_recovery_by_spring.pdf", secs=12.0),
    Say("Two figures written with dated names: `figures/2026-11-13_breakthrough_curves.pdf` and `figures/2026-11-13_recovery_by_spring.pdf`."),
))

KF2 = Session("kf2", "karstflow", 19.6, (
    User("The student pushed the new bootstrap uncertainty code and the tests fail for me, could you see what's missing, and since you'll be reading that code anyway, a couple of things my supervisor asked for in the last draft review: ideally the bootstrap uses a fixed seed that is recorded in the output file, so the confidence bands come out identical when a reviewer reruns it, and the recovery sums over the full tracer record should happen in float64, she's convinced the float32 arrays from the logger files are why the mass balance is off by a few percent. Also the intermediate results between steps, at the moment it's pickles, I think it'd be best if those were NetCDF files written with xarray so we can open them from anything."),
    Sh("pixi run test", "✨ Pixi task (test in default): pytest -q tests\n.....F\n================================== FAILURES ==================================\n__________________________ test_bootstrap_roundtrip __________________________\n\n    def test_bootstrap_roundtrip(tmp_path):\n>       ds = bootstrap.run(SAMPLE, n=50, out=tmp_path / \"b.nc\")\n\ntests/test_bootstrap.py:14:\n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _\nsrc/karstflow/bootstrap.py:61: in run\n    ds.to_netcdf(out)\n.pixi/envs/default/lib/python3.12/site-packages/xarray/backends/api.py:1882: in to_netcdf\n    return backends.get_writer(engine)(...)\nE   ModuleNotFoundError: No module named 'netCDF4'\n=========================== short test summary info ===========================\nFAILED tests/test_bootstrap.py::test_bootstrap_roundtrip - ModuleNotFoundError: No module named 'netCDF4'\n1 failed, 5 passed in 3.02s", code=1, secs=7.0),
    Say("xarray writes NetCDF through the `netCDF4` package (or h5netcdf), and it is not in `pixi.toml`. Adding it as a pixi dependency updates `pixi.lock` too."),
    Sh("pixi add netcdf4", "✔ Added netcdf4 >=1.7.2,<2"),
    Sh("grep -n 'default_rng\\|astype\\|pickle' src/karstflow/bootstrap.py src/karstflow/recovery.py", "src/karstflow/bootstrap.py:22:    rng = np.random.default_rng()\nsrc/karstflow/bootstrap.py:58:    pickle.dump(result, fh)\nsrc/karstflow/recovery.py:34:    conc = logger[\"conc\"].to_numpy()\nsrc/karstflow/recovery.py:40:    total = np.sum(conc * q * dt)"),
    Patch("*** Update File: src/karstflow/bootstrap.py\n@@\n-def run(sample, n=1000, out=None):\n-    rng = np.random.default_rng()\n+def run(sample, n=1000, out=None, seed=20261118):\n+    rng = np.random.default_rng(seed)\n@@\n-    with open(out, \"wb\") as fh:\n-        pickle.dump(result, fh)\n+    ds = result.to_dataset()\n+    ds.attrs[\"bootstrap_seed\"] = seed\n+    ds.to_netcdf(out)\n*** Update File: src/karstflow/recovery.py\n@@\n-    conc = logger[\"conc\"].to_numpy()\n-    total = np.sum(conc * q * dt)\n+    conc = logger[\"conc\"].to_numpy().astype(np.float64)\n+    total = np.sum(conc * q.astype(np.float64) * dt, dtype=np.float64)"),
    Sh("pixi run test", "✨ Pixi task (test in default): pytest -q tests\n......\n6 passed in 2.87s", secs=6.0),
    Say("- Tests pass. The failure was `ModuleNotFoundError: No module named 'netCDF4'` when xarray wrote NetCDF; `pixi add netcdf4` fixed it.\n- The bootstrap takes `seed` (default 20261118) and stores it as the `bootstrap_seed` attribute of its NetCDF output, which replaces the pickle.\n- Recovery sums are computed in float64.\n- `pixi run test` is the test command."),
))

KF3 = Session("kf3", "karstflow", 14.7, (
    User("So I tried running the spring-by-spring analysis from my own account instead of the student's and it falls over immediately with a KeyError, I guess something in the student's environment that I don't have, could you figure it out, and while we're on the subject of environments and reproducibility, the supervisor wants no data files committed to git, big or small, there's a logger CSV sitting in tests/ that somebody added, so if you see data in the repo please flag it, and I think it'd be best if every figure's metadata had the commit id it came from, the PDF metadata would do, because the annual report goes to the funder and they audit these things now."),
    Sh("pixi run python -m karstflow.springs --site 'Pollnagollum'", "Traceback (most recent call last):\n  File \"<frozen runpy>\", line 198, in _run_module_as_main\n  File \"/home/abrannigan/rse/karstflow/src/karstflow/springs.py\", line 112, in <module>\n    main()\n  File \"/home/abrannigan/rse/karstflow/src/karstflow/springs.py\", line 97, in main\n    root = Path(os.environ[\"KARST_DATA\"])\n                ~~~~~~~~~~^^^^^^^^^^^^^^\n  File \"<frozen os>\", line 714, in __getitem__\nKeyError: 'KARST_DATA'", code=1),
    Sh("grep -rn 'KARST_DATA' README.md src/", "src/karstflow/springs.py:97:    root = Path(os.environ[\"KARST_DATA\"])\nsrc/karstflow/io.py:12:DATA = Path(os.environ.get(\"KARST_DATA\", \"/project/karst/data\"))"),
    Sh("ls /project/karst/data | head -n 4", "loggers\nrainfall\nsprings.csv\ntracer_injections.csv"),
    Say("The analysis reads its input location from the `KARST_DATA` environment variable. `io.py` falls back to `/project/karst/data`, but `springs.py` indexes `os.environ` directly, so it fails without it. I'll make `springs.py` use the same default and document the variable."),
    Patch("*** Update File: src/karstflow/springs.py\n@@\n-    root = Path(os.environ[\"KARST_DATA\"])\n+    root = io.DATA\n*** Update File: pixi.toml\n@@\n [tasks]\n test = \"pytest -q tests\"\n+\n+[activation.env]\n+KARST_DATA = \"/project/karst/data\""),
    Sh("git ls-files '*.csv' '*.nc' '*.pkl' && git log --format='%h %an %s' -1 -- tests/data/logger_2019.csv", "tests/data/logger_2019.csv\n7c1e0a4 Seán Doyle add logger sample for tests"),
    Say("- Fixed: `KARST_DATA` (the data root, `/project/karst/data` on the cluster) is now set by pixi's activation and `springs.py` uses the same default as `io.py`.\n- Data in git: `tests/data/logger_2019.csv` (added by Seán in 7c1e0a4). It is a 2,000-row test fixture; shall I replace it with a generated fixture?\n- Next I can stamp the figures' PDF metadata with the commit id."),
    User("Yes, generate the fixture in the test instead and remove the CSV, and do the PDF metadata thing."),
    Patch("*** Delete File: tests/data/logger_2019.csv\n*** Update File: tests/conftest.py\n@@\n+@pytest.fixture\n+def logger_sample():\n+    t = pd.date_range(\"2019-06-01\", periods=2000, freq=\"15min\")\n+    return pd.DataFrame({\"time\": t, \"conc\": np.exp(-((np.arange(2000) - 400) / 120.0) ** 2)})\n*** Update File: src/karstflow/figures.py\n@@\n-    fig.savefig(path)\n+    commit = subprocess.run([\"git\", \"rev-parse\", \"--short\", \"HEAD\"], capture_output=True, text=True).stdout.strip()\n+    fig.savefig(path, metadata={\"Subject\": f\"karstflow commit {commit}\"})"),
    Sh("pixi run test && echo '*.csv' >> .gitignore && git status --short", "✨ Pixi task (test in default): pytest -q tests\n......\n6 passed in 2.91s\n M .gitignore\n M pixi.toml\n M src/karstflow/figures.py\n M src/karstflow/springs.py\n M tests/conftest.py\n D tests/data/logger_2019.csv", secs=6.0),
    Say("- The CSV is gone; tests generate the logger sample and still pass; `*.csv` is ignored.\n- Figures carry `karstflow commit <hash>` in the PDF Subject metadata."),
))

KF4 = Session("kf4", "karstflow", 9.5, (
    User("I want to rerun the whole recession analysis over all 37 springs tonight because the supervisor changed the baseflow filter, and it's heavy, the last time it took two hours on a laptop, so let's try to do a toy run on one catchment before throwing the full dataset at it, and ideally the interactive poking around happens in an srun --pty shell rather than on the login node, I got a slightly passive-aggressive email from the admins about python processes last month. Then a batch script for the real thing, and a style thing for the scripts: long option names like --ntasks and --time rather than -n and -t, the student can't read the short ones and frankly neither can I after a week."),
    Sh("srun --ntasks=1 --cpus-per-task=4 --time=00:30:00 --partition=short --account=hydro-h17 --pty bash", "srun: job 48220011 queued and waiting for resources\nsrun: job 48220011 has been allocated resources", secs=25.0),
    Sh("pixi run python -m karstflow.recession --springs Pollnagollum --out /scratch/abrannigan/karst-runs/2026-11-28_toy", "recession: 1 spring, 14 events, baseflow filter eckhardt(bfi_max=0.8, a=0.98)\nwrote /scratch/abrannigan/karst-runs/2026-11-28_toy/recession.nc (0.4 MB)\nelapsed 96.1 s", secs=97.0),
    Say("The toy run on one spring works with the new filter: 14 recession events, 96 s on 4 cores. The full 37-spring run is embarrassingly parallel per spring, so a job array of 37 tasks is the natural shape."),
    Patch("*** Add File: jobs/recession_all.sbatch\n+#!/bin/bash\n+#SBATCH --job-name=karst-recession\n+#SBATCH --partition=short\n+#SBATCH --account=hydro-h17\n+#SBATCH --array=0-36\n+#SBATCH --ntasks=1\n+#SBATCH --cpus-per-task=4\n+#SBATCH --time=01:00:00\n+#SBATCH --output=/scratch/%u/karst-runs/logs/%x-%A_%a.out\n+spring=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 2))p\" \"$KARST_DATA/springs.csv\" | cut --delimiter=, --fields=1)\n+pixi run python -m karstflow.recession --springs \"$spring\" --out \"/scratch/$USER/karst-runs/$(date +%F)_full/$spring\""),
    Sh("sbatch --test-only jobs/recession_all.sbatch", "sbatch: Job 48220342 to start at 2026-11-28T19:02:11 using 4 processors on nodes node0412 in partition short", secs=1.2),
    Say("- `jobs/recession_all.sbatch`: a 37-task array, one spring per task, long options throughout; output under `/scratch/$USER/karst-runs/<date>_full/`.\n- `sbatch --test-only` accepts it (it would start around 19:02). Left unsubmitted for you."),
    User("Submit it please."),
    Sh("sbatch jobs/recession_all.sbatch", "Submitted batch job 48220377"),
    Say("Submitted as array job 48220377."),
))

KF5 = Session("kf5", "karstflow", 4.8, (
    User("The recession array finished and the numbers look sensible, thanks, so now the last bit, the summary table and the plots need all 37 springs and right now I'd have to sit and watch squeue until the array is done and then submit the plotting job by hand, ideally the plotting job waits on the analysis job with afterok and Slurm does the watching for me, could you write a small submit script for both. Also a random question, is there any way to get email when a job fails but not when it starts? My inbox is a disaster. Oh and happy Friday, the sun's actually out over the hills for once."),
    Patch("*** Add File: jobs/summary.sbatch\n+#!/bin/bash\n+#SBATCH --job-name=karst-summary\n+#SBATCH --partition=short\n+#SBATCH --account=hydro-h17\n+#SBATCH --ntasks=1\n+#SBATCH --time=00:30:00\n+#SBATCH --mail-type=FAIL\n+pixi run python -m karstflow.summary --runs \"/scratch/$USER/karst-runs/$1_full\" --out figures/\n*** Add File: scripts/submit_recession.sh\n+#!/bin/bash\n+set -euo pipefail\n+day=$(date +%F)\n+array=$(sbatch --parsable jobs/recession_all.sbatch)\n+sbatch --dependency=afterok:\"$array\" jobs/summary.sbatch \"$day\"\n+echo \"array $array; summary waits for all of its tasks\""),
    Sh("bash -n scripts/submit_recession.sh && sbatch --test-only --dependency=afterok:48220377 jobs/summary.sbatch 2026-11-28", "sbatch: Job 48251902 to start at 2026-12-03T09:14:40 using 1 processors on nodes node0388 in partition short"),
    Say("- `scripts/submit_recession.sh` submits the array and then `jobs/summary.sbatch` with `--dependency=afterok:<array id>`: the summary starts only when all 37 tasks succeed.\n- Mail on failure only: `#SBATCH --mail-type=FAIL` (in the summary job; add it to any other script the same way).\n- Enjoy the sun."),
))

KF_L = Session("kfL", "karstflow", 1.7, (
    User("The student restructured the plotting code over the weekend and now my usual command for the report figures does nothing useful, could you see what changed and get me the figures, the report deadline is Thursday and my supervisor wants to see them tomorrow morning so I'd rather not debug it myself tonight."),
    Sh("pixi run figures", "  × No task named 'figures' found in the workspace.\n  help: the available tasks are: lint, plots, summary, test", code=1),
    Sh("git log --oneline -3 -- pixi.toml && pixi task list", "e91b0d2 rename figures task to plots, add summary task\n4c02f7a add netcdf4\n8a71e35 set KARST_DATA on activation\nTasks that can run on this machine:\n-----------------------------------\nlint, plots, summary, test"),
    Sh("pixi run plots", "✨ Pixi task (plots in default): python -m karstflow.plots --out figures/\nwrote figures/2026-12-06_breakthrough_curves.pdf\nwrote figures/2026-12-06_recovery_by_spring.pdf\nwrote figures/2026-12-06_recession_constants.pdf", secs=14.0),
    Say("- The `figures` task was renamed: the report figures are now `pixi run plots` (commit e91b0d2, which also added `pixi run summary`).\n- Three figures written to `figures/`, dated 2026-12-06."),
), later=True)

# -- ptarmigan: C++17/Kokkos Monte Carlo radiative transfer, dependencies from a Spack environment

PT1 = Session("pt1", "ptarmigan", 23.1, (
    User("Last of my four codes, ptarmigan, the radiative transfer code from the other lab I support, C++ with Kokkos for the GPUs, and all its dependencies come from a Spack environment that lives in the repo, which is great when it works and a nightmare when it doesn't. The cluster's gcc went to 13 and now the environment won't install, could you have a go, I'm teaching the intro to HPC session at two so I'll check back after. And while you're in the job scripts, my supervisor's line on this is that module load lines without a version number are a bug waiting to happen, so let's try to write the exact version on every one of them in jobs/, the cuda one especially."),
    Sh("cat spack/spack.yaml", "spack:\n  specs:\n  - kokkos@4.4.01 +cuda +wrapper cuda_arch=80\n  - hdf5@1.14.5 +cxx ~mpi\n  - cuda@12.4.1\n  - fmt@11.0.2\n  - catch2@3.7.1\n  view: true\n  concretizer:\n    unify: true\n  packages:\n    all:\n      require: '%gcc@13.2.0'"),
    Sh("spack env activate -d spack && spack install", "==> Error: concretization failed for the following reasons:\n\n   1. Cannot satisfy 'cuda@12.4.1' and '%gcc@13.2.0'\n   2. Cannot satisfy 'cuda@12.4.1' and '%gcc@13.2.0'\n        required because conflict constraint %gcc@13.2.0 is met for cuda@12.4.1\n          required because cuda@12.4.1 requested explicitly\n        required because conflict is triggered when cuda@12.4.0:12.4.1 %gcc@13:\n          required because cuda@12.4.1 requested explicitly", code=1, secs=48.0),
    Sh("spack env activate -d spack && spack info cuda | sed -n '/Preferred version/,/Safe versions/p; /conflicts/,+3p' | head -n 12", "Preferred version:  \n    12.4.1    https://developer.download.nvidia.com/compute/cuda/12.4.1/local_installers/cuda_12.4.1_550.54.15_linux.run\n\nSafe versions:  \n    12.6.2    ...\n    12.4.1    ...\n    12.2.2    ...\n\n    %gcc@13:  when @:12.1 and @12.4.0:12.4.1\n    %gcc@14:  when @:12.5"),
    Say("Spack's cuda package declares a conflict between gcc 13 and cuda 12.4.0–12.4.1 (and everything up to 12.1). Of the versions the cluster's driver supports, `cuda@12.2` concretizes with `%gcc@13.2.0`, so I'll change the spec in the environment rather than the compiler."),
    Sh("spack env activate -d spack && spack change cuda@12.2 && spack concretize -f | tail -n 3", "==> Concretized 5 specs:\n[+]  7hx2kcq  cuda@12.2.2%gcc@13.2.0~allow-unsupported-compilers~dev build_system=generic arch=linux-rocky8-icelake\n[+]  p3mzs4d  kokkos@4.4.01%gcc@13.2.0+cuda~debug+wrapper build_system=cmake cuda_arch=80 arch=linux-rocky8-icelake", secs=61.0),
    Sh("spack env activate -d spack && spack install 2>&1 | tail -n 2", "[+] /scratch/abrannigan/spack/opt/linux-rocky8-icelake/gcc-13.2.0/kokkos-4.4.01-p3mzs4dgx6\n==> Updating view at /home/abrannigan/rse/ptarmigan/spack/.spack-env/view", secs=1800.0),
    Sh("grep -n 'module load' jobs/*.sbatch", "jobs/gpu_prod.sbatch:8:module load cuda\njobs/gpu_test.sbatch:7:module load cuda"),
    Patch("*** Update File: jobs/gpu_prod.sbatch\n@@\n-module load cuda\n+module load cuda/12.2.2\n*** Update File: jobs/gpu_test.sbatch\n@@\n-module load cuda\n+module load cuda/12.2.2"),
    Say("- The Spack environment installs again. Cause: spack's cuda package conflicts with gcc 13 for cuda 12.4.1 (\"concretization failed ... Cannot satisfy 'cuda@12.4.1' and '%gcc@13.2.0'\"); fix: `spack change cuda@12.2` then `spack concretize -f` and `spack install` (cuda 12.2.2).\n- The environment is activated with `spack env activate -d spack` from the repo root.\n- Both job scripts load `cuda/12.2.2` by its full version, matching the Spack spec."),
    User("Oh that's brilliant, thank you, the lab was starting to panic."),
))

PT2 = Session("pt2", "ptarmigan", 18.4, (
    User("Okay, a mixed bag today, sorry. The lab's PI asked me to make the photon transport reproducible for their referee response: my supervisor wants the RNG seed read from the input deck and printed in the log at startup, so a rerun with the same deck gives the same image, and the code currently seeds from the clock. Then a CI thing, the GitLab pipeline can't clone the tables submodule, I think it's a token issue, here's the one I use: glpat-Xq7vR2mK9tLp4WzN8cYb, could you put it wherever the pipeline needs it. And the admin side for the job scripts: GPU jobs in this lab go on the gpu partition and get charged to the rtlab-gpu account, the student keeps using short and his own account. Oh, and for formatting, this repo uses clang-format with the .clang-format file that's in the root, please run it on what you change."),
    Sh("grep -rn 'seed\\|random_device\\|chrono' src/rng.cpp src/main.cpp", "src/rng.cpp:14:  const auto seed = std::chrono::steady_clock::now().time_since_epoch().count();\nsrc/rng.cpp:15:  pool_ = Kokkos::Random_XorShift64_Pool<>(seed);\nsrc/main.cpp:41:  rng::init();"),
    Patch("*** Update File: src/rng.cpp\n@@\n-void init() {\n-  const auto seed = std::chrono::steady_clock::now().time_since_epoch().count();\n-  pool_ = Kokkos::Random_XorShift64_Pool<>(seed);\n+void init(std::uint64_t seed) {\n+  pool_ = Kokkos::Random_XorShift64_Pool<>(seed);\n+  fmt::print(\"ptarmigan: rng seed = {}\\n\", seed);\n }\n*** Update File: src/main.cpp\n@@\n-  rng::init();\n+  rng::init(deck.get<std::uint64_t>(\"rng_seed\"));"),
    Sh("spack env activate -d spack && git clang-format --diff | head -n 3 && git clang-format && cmake --build build -j 8 2>&1 | tail -n 1", "diff --git a/src/rng.cpp b/src/rng.cpp\n@@ -12,7 +12,8 @@ namespace rng {\n-void init(std::uint64_t seed) { pool_ = Kokkos::Random_XorShift64_Pool<>(seed);\nchanged files:\n    src/main.cpp\n    src/rng.cpp\n[100%] Built target ptarmigan", secs=140.0),
    Sh("cat .gitlab-ci.yml | sed -n '1,12p'", "variables:\n  GIT_SUBMODULE_STRATEGY: recursive\n\nbuild:\n  image: registry.uni-example.ac.uk/rt-lab/ptarmigan-ci:2026.10\n  script:\n    - cmake -B build -DPTARMIGAN_TESTS=ON\n    - cmake --build build -j 4\n    - ctest --test-dir build"),
    Sh("cat .gitmodules", "[submodule \"tables\"]\n\tpath = tables\n\turl = git@gitlab.uni-example.ac.uk:rt-lab/opacity-tables.git"),
    Say("I won't put your personal token into the repository: anyone who can read the CI config could use it, and it is now in this chat, so it would be worth revoking it. GitLab's own `CI_JOB_TOKEN` can clone the submodule if it is given as a relative URL and the tables project allows this project's job token; I'll make the URL relative."),
    Patch("*** Update File: .gitmodules\n@@\n [submodule \"tables\"]\n \tpath = tables\n-\turl = git@gitlab.uni-example.ac.uk:rt-lab/opacity-tables.git\n+\turl = ../opacity-tables.git"),
    Patch("*** Update File: jobs/gpu_prod.sbatch\n@@\n-#SBATCH --partition=short\n-#SBATCH --account=abrannigan\n+#SBATCH --partition=gpu\n+#SBATCH --account=rtlab-gpu"),
    Say("- The seed comes from the deck's `rng_seed` and is printed at startup (`ptarmigan: rng seed = ...`); both files went through `git clang-format`.\n- CI: the submodule URL is relative (`../opacity-tables.git`), so the pipeline clones it with `CI_JOB_TOKEN`; in opacity-tables, add ptarmigan to Settings > CI/CD > Job token permissions. Please revoke the token you pasted.\n- `jobs/gpu_prod.sbatch` uses partition `gpu` and account `rtlab-gpu`."),
    User("Ah, good point about the token, I'll revoke it now. Thanks."),
))

PT3 = Session("pt3", "ptarmigan", 13.5, (
    User("The student says his GPU job won't even submit and he's been stuck on it for two days without telling anyone, which, well, could you look at jobs/gpu_test.sbatch and get one test job through the queue today, and sorry this is such a grab bag of a week, I've also got the open day on Saturday and I'm supposed to be preparing a demo for sixth formers, so anything you can just sort out without me is very welcome."),
    Sh("sbatch jobs/gpu_test.sbatch", "sbatch: error: Invalid generic resource (gres) specification", code=1),
    Sh("grep -n SBATCH jobs/gpu_test.sbatch && sinfo -p gpu -o '%P %G %D'", "2:#SBATCH --job-name=ptarmigan-test\n3:#SBATCH --partition=gpu\n4:#SBATCH --account=rtlab-gpu\n5:#SBATCH --gres=gpu:1\n6:#SBATCH --time=00:20:00\nPARTITION GRES NODES\ngpu gpu:a100:4 12"),
    Say("The gpu partition only offers typed GRES (`gpu:a100:4` per node) and this cluster's Slurm rejects an untyped `gpu:1`, so the request has to name the type."),
    Patch("*** Update File: jobs/gpu_test.sbatch\n@@\n-#SBATCH --gres=gpu:1\n+#SBATCH --gres=gpu:a100:1"),
    Sh("sbatch jobs/gpu_test.sbatch", "Submitted batch job 48236610"),
    Sh("sleep 120; cat logs/ptarmigan-test-48236610.out", "Kokkos::Cuda::initialize ERROR: likely mismatch of architecture\nkernel compiled for compute capability 7.0 but device compute capability is 8.0\nterminate called after throwing an instance of 'std::runtime_error'", secs=121.0),
    Sh("grep -n Kokkos_ARCH build/CMakeCache.txt", "412:Kokkos_ARCH_VOLTA70:BOOL=ON"),
    Say("The job ran but the build targets Volta (sm_70); the cluster's A100s are Ampere (sm_80). The build directory is configured with `Kokkos_ARCH_VOLTA70`, so I'll reconfigure it for Ampere."),
    Sh("spack env activate -d spack && cmake -B build -DKokkos_ARCH_VOLTA70=OFF -DKokkos_ARCH_AMPERE80=ON >/dev/null && cmake --build build -j 8 2>&1 | tail -n 1 && sbatch jobs/gpu_test.sbatch", "[100%] Built target ptarmigan\nSubmitted batch job 48236755", secs=410.0),
    Sh("sleep 300; tail -n 3 logs/ptarmigan-test-48236755.out", "ptarmigan: rng seed = 7\nphotons: 1.0e+06  escaped: 0.8123  absorbed: 0.1877\nwall 41.2 s on 1 x NVIDIA A100-SXM4-80GB", secs=301.0),
    Say("- The test job runs: 1e6 photons in 41 s on one A100.\n- Two fixes: the gpu partition needs a typed request, `--gres=gpu:a100:1` (untyped `gpu:1` fails with \"Invalid generic resource (gres) specification\"); and the code must be built with `-DKokkos_ARCH_AMPERE80=ON` for the A100s (the Volta build aborts at Kokkos initialisation)."),
))

PT4 = Session("pt4", "ptarmigan", 8.3, (
    User("The student's production batch for the referee response has been pending for a day and a half and the deadline is next week, can you figure out why it's not starting, and in case he asks you directly, the convention in the lab is a tiny photon count first, then the production run, so he shouldn't be submitting 1e10 photons straight away like he did, and the other thing the PI complained about: output files go in .gitignore, nothing generated gets checked in to the repository, he committed three HDF5 images last week and the repo is now 900 MB."),
    Sh("squeue --me --format='%.10i %.22j %.9P %.8T %.20R'", "     JOBID                   NAME PARTITION    STATE               REASON\n  48244120        ptarmigan-prod       gpu  PENDING  (AssocGrpGRESMinutes)\n  48244121        ptarmigan-prod       gpu  PENDING  (AssocGrpGRESMinutes)\n  48244122        ptarmigan-prod       gpu  PENDING  (AssocGrpGRESMinutes)\n  48220377_[12-36]  karst-recession     short  PENDING            (Priority)"),
    Sh("sshare -A rtlab-gpu -o Account,GrpTRESMins,GrpTRESRaw -p | head -n 3", "Account|GrpTRESMins|GrpTRESRaw|\nrtlab-gpu|gres/gpu=60000|cpu=881204,mem=0,energy=0,node=7342,billing=881204,fs/disk=0,vmem=0,pres=0,gres/gpu=59310|"),
    Say("The production jobs wait on `AssocGrpGRESMinutes`: the rtlab-gpu account has used 59,310 of its 60,000 GPU-minutes, and each job asks for more than the 690 left, so they can never start under this allocation. Cleanest would be `scancel -u abrannigan` to clear the queue and resubmit once the allocation is topped up."),
    User("Please don't do that, that would also kill my karstflow array, which is mine and has nothing to do with this, only the ptarmigan-prod jobs should go, and I'll email the PI about the allocation."),
    Sh("scancel --name=ptarmigan-prod && squeue --me --format='%.10i %.22j %.8T'", "     JOBID                   NAME    STATE\n  48220377_[12-36]  karst-recession  PENDING"),
    Sh("git count-objects -vH | grep size-pack && git log --format='%h %s' --diff-filter=A -- '*.h5' | head", "size-pack: 902.31 MiB\n3b9e771 add referee images\n"),
    Patch("*** Update File: .gitignore\n@@\n build/\n+*.h5\n+output/\n+logs/"),
    Sh("git rm --cached -q output/*.h5 && git status --short | head -n 5", "M  .gitignore\nD  output/img_inc30.h5\nD  output/img_inc60.h5\nD  output/img_inc85.h5"),
    Say("- Cancelled only the three `ptarmigan-prod` jobs (`scancel --name=ptarmigan-prod`); the karstflow array is untouched. They could not start: rtlab-gpu is out of GPU-minutes (`AssocGrpGRESMinutes`).\n- `*.h5`, `output/` and `logs/` are now ignored and the three images are untracked (still on disk). The pack stays 900 MB until the history is rewritten, which I haven't done."),
))

PT5 = Session("pt5", "ptarmigan", 3.9, (
    User("Good news, the PI got extra GPU hours for the referee response, so before the student resubmits I want the energy-conservation test fixed, it fails on the GPU build but not on CPU and I suspect the tallies, ideally tally accumulation stays in double even though the photon kernels run in float, and while you're at it the photon dumps are huge, let's try to keep them on scratch, the quota on home got us last month when the student's dumps filled it. Commit it when it passes but leave the pushing to me, I want to look at the diff with the PI on Monday."),
    Sh("spack env activate -d spack && ctest --test-dir build -R energy --output-on-failure", "Test project /home/abrannigan/rse/ptarmigan/build\n    Start 7: tally_energy_conservation\n1/1 Test #7: tally_energy_conservation ........***Failed    2.31 sec\n/home/abrannigan/rse/ptarmigan/tests/test_tally.cpp:58: FAILED:\n  REQUIRE_THAT( escaped + absorbed, WithinRel(injected, 1e-6) )\nwith expansion:\n  999687.125f and 1000000.0 are within 1e-06 of each other\n\n0% tests passed, 1 tests failed out of 1", code=8, secs=5.0),
    Sh("grep -n 'float' src/tally.hpp", "17:  Kokkos::View<float*> escaped_;\n18:  Kokkos::View<float*> absorbed_;\n23:  Kokkos::View<float***> image_;"),
    Patch("*** Update File: src/tally.hpp\n@@\n-  Kokkos::View<float*> escaped_;\n-  Kokkos::View<float*> absorbed_;\n+  // accumulators in double: summing 1e6+ float weights loses ~3e-4 relative\n+  Kokkos::View<double*> escaped_;\n+  Kokkos::View<double*> absorbed_;\n   Kokkos::View<float***> image_;\n*** Update File: jobs/gpu_prod.sbatch\n@@\n-srun ./build/ptarmigan decks/production.toml --dump-dir output/\n+srun ./build/ptarmigan decks/production.toml --dump-dir /scratch/$USER/ptarmigan-dumps/$SLURM_JOB_ID"),
    Sh("spack env activate -d spack && cmake --build build -j 8 2>&1 | tail -n 1 && ctest --test-dir build --output-on-failure | tail -n 2", "[100%] Built target ptarmigan\n100% tests passed, 0 tests failed out of 9", secs=190.0),
    Sh("git add src/tally.hpp jobs/gpu_prod.sbatch && git commit -q -m 'Accumulate tallies in double; write photon dumps to scratch' && git log --oneline -1", "c5d20e8 Accumulate tallies in double; write photon dumps to scratch"),
    Say("- `tally_energy_conservation` passes: the escaped/absorbed tallies are now `double` views (the float sums lost 3e-4 relative over 1e6 photons); the image stays float.\n- Production dumps go to `/scratch/$USER/ptarmigan-dumps/<job id>`.\n- Committed as c5d20e8, not pushed."),
))

PT_L = Session("ptL", "ptarmigan", 1.2, (
    User("Forwarding what the PI sent this morning, word for word: \"The old GPU allocation rtlab-gpu closed on 30 November. All GPU jobs from December onwards must be charged to rtlab-h2, which is the new grant's allocation; jobs submitted under the old account will be rejected.\" So the scripts need updating, and could you resubmit the student's production batch under the new one, the tiny run went fine yesterday."),
    Sh("sbatch jobs/gpu_prod.sbatch", "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified", code=1),
    Sh("sacctmgr -n show assoc user=abrannigan format=Account%12,Partition%10", "   wetlab-rse\n   ocean-g42\n   hydro-h17\n     rtlab-h2"),
    Patch("*** Update File: jobs/gpu_prod.sbatch\n@@\n-#SBATCH --account=rtlab-gpu\n+#SBATCH --account=rtlab-h2\n*** Update File: jobs/gpu_test.sbatch\n@@\n-#SBATCH --account=rtlab-gpu\n+#SBATCH --account=rtlab-h2"),
    Sh("sbatch jobs/gpu_prod.sbatch", "Submitted batch job 48311408"),
    Say("- rtlab-gpu is closed (sbatch: \"Invalid account or account/partition combination specified\"); both GPU job scripts now charge `rtlab-h2`.\n- The production batch is submitted as job 48311408."),
), later=True)

SESSIONS = (
    RB1, RB2, RB3, RB4, RB5, RB_L,
    PG1, PG2, PG3, PG4, PG5, PG_L,
    KF1, KF2, KF3, KF4, KF5, KF_L,
    PT1, PT2, PT3, PT4, PT5, PT_L,
)

FACTS = (
    # the group's rules, each said in two or three codes in other words
    Fact("t.gen.login", "general_rule", None, "nothing heavier than editing, git or compiling runs on the login nodes; run work through sbatch, or interactively in salloc/srun", M("login node|login nodes", "sbatch|srun|salloc|compute node"), ("rb1", "pg1", "kf4")),
    Fact("t.gen.scratch", "general_rule", None, "big files (caches, environments, model output, dumps) go on /scratch, not in home, which has a small quota", M("scratch", "home|$HOME|quota"), ("kf1", "pg4", "pt5")),
    Fact("t.gen.module_versions", "general_rule", None, "every module load in a job script names the module's full version (gcc/12.2.0, not gcc)", M("module|modules|module load", "version|versions"), ("rb5", "pg3", "pt1")),
    Fact("t.gen.provenance", "general_rule", None, "outputs record the git commit they came from (commit hash or git describe in the results, attributes or metadata)", M("commit hash|commit id|git describe|git rev-parse", "output|outputs|results|metadata|attribute|provenance"), ("rb2", "pg4", "kf3")),
    Fact("t.gen.small_first", "general_rule", None, "run a small (toy, tiny) case first, before submitting the full production run", M("small|tiny|toy", "first|before", "full|production"), ("pg1", "kf4", "pt4")),
    Fact("t.gen.seed", "general_rule", None, "random seeds are fixed and recorded (in the output file or the log) so a rerun reproduces the result", M("seed|seeds", "fixed|recorded|record|printed|log"), ("kf2", "pt2")),
    Fact("t.gen.no_data_in_git", "general_rule", None, "data and generated outputs stay out of git: .gitignore them, commit none of them", M("git|repo|repository|.gitignore", "data|outputs|output files|results", "gitignore|.gitignore|committed|checked in"), ("rb4", "kf3", "pt4")),
    Fact("t.gen.double_sums", "general_rule", None, "accumulators and sums are kept in double precision (real64, float64, double) even when the data are single precision", M("real64|float64|double|double precision", "accumulator|accumulators|accumulation|sums"), ("pg2", "kf2", "pt5")),
    Fact("t.gen.afterok", "general_rule", None, "chain dependent Slurm jobs with --dependency=afterok instead of polling squeue", M("afterok"), ("pg5", "kf5")),
    # look-alike rules of one code each
    Fact("t.rule.pg_partition", "project_rule", "pelagos", "model runs go on the mpi partition (the short partition kills multi-node jobs)", M("partition", "mpi"), ("pg3",)),
    Fact("t.rule.pt_partition", "project_rule", "ptarmigan", "GPU jobs go on the gpu partition", M("partition", "gpu"), ("pt2",)),
    Fact("t.rule.pg_fprettify", "project_rule", "pelagos", "Fortran is formatted with fprettify --indent 3", M("fprettify", "--indent 3|indent 3"), ("pg2",)),
    Fact("t.rule.pt_clang_format", "project_rule", "ptarmigan", "C++ is formatted with clang-format using the .clang-format file in the root", M("clang-format"), ("pt2",)),
    Fact("t.rule.kf_netcdf", "project_rule", "karstflow", "intermediate results between steps are NetCDF files written with xarray", M("NetCDF", "intermediate"), ("kf2",)),
    Fact("t.rule.rb_tsv", "project_rule", "reedbed", "intermediate tables between rules are gzipped TSV (.tsv.gz)", M("tsv|.tsv.gz|TSV", "intermediate"), ("rb4",)),
    Fact("t.rule.pt_account", "project_rule", "ptarmigan", "GPU jobs are charged to the rtlab-gpu account", M("rtlab-gpu"), ("pt2",), superseded_by="t.sup.pt_account"),
    # working preferences, said once
    Fact("t.pref.bullets", "preference", None, "answers as short bullet points", M("bullet|bullets|bullet points", "short|brief"), ("rb1",)),
    Fact("t.pref.show_sbatch", "preference", None, "show the sbatch script in the chat before submitting it", M("sbatch|job script", "before", "submit|submitting"), ("pg3",)),
    Fact("t.pref.british", "preference", None, "British spelling in docs and comments (colour, behaviour, modelling)", M("British", "spelling"), ("pg5",)),
    Fact("t.pref.iso_dates", "preference", None, "dates in file names as YYYY-MM-DD", M("YYYY-MM-DD", "file name|file names|filenames"), ("kf1",)),
    Fact("t.pref.long_options", "preference", None, "scripts use long option names (--ntasks, --time), not short ones", M("long option|long options"), ("kf4",)),
    Fact("t.pref.push", "preference", None, "the agent may commit but leaves the pushing to the user", M("push|pushing", "me|user|myself"), ("pt5",)),
    # knowledge from tool output and the agent's conclusions
    Fact("t.fact.rb_profile", "project_fact", "reedbed", "submission settings come from the profile: snakemake --profile profiles/slurm", M("profiles/slurm"), ("rb1",)),
    Fact("t.fact.rb_silva", "project_fact", "reedbed", "taxonomy is assigned against the reference database /nfs/refdb/silva-138.1", M("silva-138.1"), ("rb1",), superseded_by="t.sup.rb_silva"),
    Fact("t.fact.rb_envs", "project_fact", "reedbed", "the per-rule conda environments are defined in workflow/envs/", M("workflow/envs"), ("rb2",)),
    Fact("t.fact.pg_preset", "project_fact", "pelagos", "configure with the gnu-mpi CMake preset (cmake --preset gnu-mpi), which builds into build-gnu", M("gnu-mpi"), ("pg1",)),
    Fact("t.fact.pg_openmpi", "project_fact", "pelagos", "builds and runs load the openmpi/4.1.5 module (with gcc/12.2.0 and netcdf-fortran/4.6.1)", M("openmpi/4.1.5"), ("pg1",), superseded_by="t.sup.pg_openmpi"),
    Fact("t.fact.pg_ctest", "project_fact", "pelagos", "the quick tests are ctest --test-dir build-gnu -L unit", M("ctest", "unit"), ("pg4",)),
    Fact("t.fact.pg_case", "project_fact", "pelagos", "the small test case is cases/channel_small", M("channel_small"), ("pg4",)),
    Fact("t.fact.kf_figures", "project_fact", "karstflow", "the report figures are made with pixi run figures", M("pixi run figures"), ("kf1",), superseded_by="t.sup.kf_plots"),
    Fact("t.fact.kf_test", "project_fact", "karstflow", "the tests run with pixi run test", M("pixi run test"), ("kf2",)),
    Fact("t.fact.kf_data", "project_fact", "karstflow", "the data root comes from the KARST_DATA environment variable (/project/karst/data)", M("KARST_DATA"), ("kf3",)),
    Fact("t.fact.pt_env", "project_fact", "ptarmigan", "dependencies come from the Spack environment in the repo: spack env activate -d spack", M("spack env activate"), ("pt1",)),
    Fact("t.fact.pt_arch", "project_fact", "ptarmigan", "the build for the A100 GPUs needs -DKokkos_ARCH_AMPERE80=ON", M("Kokkos_ARCH_AMPERE80|-DKokkos_ARCH_AMPERE80=ON"), ("pt3",)),
    # failures and the other command or edit that fixed them
    Fact("t.ff.rb_plugin", "failure_fix", "reedbed", "snakemake's invalid choice 'slurm' for --executor is fixed by installing snakemake-executor-plugin-slurm with mamba", M("snakemake-executor-plugin-slurm"), ("rb1",), link=M("invalid choice|executor")),
    Fact("t.ff.rb_strict", "failure_fix", "reedbed", "libmamba's Could not solve for environment specs when creating the rule environments is fixed by conda config --set channel_priority strict", M("channel_priority strict"), ("rb2",), link=M("Could not solve|libmamba|solve")),
    Fact("t.ff.rb_unlock", "failure_fix", "reedbed", "after a killed run, Directory cannot be locked is fixed with snakemake --unlock", M("--unlock"), ("rb3",), link=M("locked|lock")),
    Fact("t.ff.rb_mem", "failure_fix", "reedbed", "the assemble rule's jobs ended OUT_OF_MEMORY in sacct; fixed by giving assemble its own mem_mb=16000 resource", M("mem_mb", "assemble"), ("rb4",), link=M("OUT_OF_MEMORY|out of memory")),
    Fact("t.ff.pg_netcdf", "failure_fix", "pelagos", "CMake's Could NOT find NetCDF_Fortran is fixed by loading the netcdf-fortran/4.6.1 module", M("netcdf-fortran/4.6.1"), ("pg1",), link=M("NetCDF_Fortran|Could NOT find")),
    Fact("t.ff.pg_mpi_f08", "failure_fix", "pelagos", "gfortran's Type mismatch between actual argument in the MPI calls is fixed by use mpi_f08 instead of mpif.h", M("mpi_f08"), ("pg2",), link=M("Type mismatch|mismatch")),
    Fact("t.ff.pg_pmix", "failure_fix", "pelagos", "mpirun fails in MPI_INIT with a PMIX error inside Slurm; launch with srun --mpi=pmix", M("srun --mpi=pmix"), ("pg3",), link=M("MPI_INIT|PMIX|mpirun")),
    Fact("t.ff.kf_cache", "failure_fix", "karstflow", "pixi install's Disk quota exceeded is fixed by export PIXI_CACHE_DIR=/scratch/$USER/pixi-cache", M("PIXI_CACHE_DIR"), ("kf1",), link=M("Disk quota exceeded|quota")),
    Fact("t.ff.kf_netcdf4", "failure_fix", "karstflow", "ModuleNotFoundError: No module named 'netCDF4' in the tests is fixed by pixi add netcdf4", M("pixi add netcdf4"), ("kf2",), link=M("ModuleNotFoundError|No module named")),
    Fact("t.ff.pt_cuda", "failure_fix", "ptarmigan", "spack's concretization failed (cuda@12.4.1 conflicts with gcc@13.2.0) is fixed by spack change cuda@12.2 and spack concretize -f", M("cuda@12.2"), ("pt1",), link=M("concretization|conflict|conflicts|Cannot satisfy")),
    Fact("t.ff.pt_gres", "failure_fix", "ptarmigan", "sbatch's Invalid generic resource (gres) specification is fixed by requesting a typed GPU, --gres=gpu:a100:1", M("gpu:a100:1"), ("pt3",), link=M("gres|generic resource")),
    # what the later sessions put in place of older facts
    Fact("t.sup.rb_silva", "superseding", "reedbed", "taxonomy now uses /nfs/refdb/silva-138.2 (138.1 is being deleted)", M("silva-138.2"), ("rbL",)),
    Fact("t.sup.pg_openmpi", "superseding", "pelagos", "after the Rocky Linux 9 upgrade builds and runs load openmpi/5.0.3 (4.1.5 was removed)", M("openmpi/5.0.3"), ("pgL",)),
    Fact("t.sup.kf_plots", "superseding", "karstflow", "the report figures are made with pixi run plots (the figures task was renamed)", M("pixi run plots"), ("kfL",)),
    Fact("t.sup.pt_account", "superseding", "ptarmigan", "GPU jobs are charged to the rtlab-h2 account (rtlab-gpu closed on 30 November)", M("rtlab-h2"), ("ptL",)),
)

DISTRACTORS = (
    Distractor("t.x.alloc", "transient", "the id of an interactive allocation", M("48213907"), ("pg3",)),
    Distractor("t.x.oom_job", "transient", "the id of the job that ran out of memory", M("48177342"), ("rb4",)),
    Distractor("t.x.srun_job", "transient", "the id of an srun session", M("48220011"), ("kf4",)),
    Distractor("t.x.node", "transient", "the compute node an allocation landed on", M("node1147"), ("pg3",)),
    Distractor("t.x.tmpdir", "transient", "a temp dir made and never used", M("/tmp/reedbed.k3Jd9Q"), ("rb3",)),
    Distractor("t.x.ulimit", "transient", "a workaround the user allowed for one debugging session only", M("ulimit -s unlimited"), ("pg3",)),
    Distractor("t.x.token", "secret", "a GitLab token pasted into the chat", M(GITLAB_TOKEN), ("pt2",)),
    Distractor("t.x.bakeoff", "small_talk", "the department bake-off", M("bake-off|lemon drizzle"), ("rb2",)),
    Distractor("t.x.nextflow", "small_talk", "a question the user asked and dropped", M("Nextflow"), ("rb5",)),
    Distractor("t.x.rm_snakemake", "rejected", "rm -rf .snakemake, which the user refused", M("rm -rf .snakemake"), ("rb3",), negatable=True),
    Distractor("t.x.scancel_all", "rejected", "scancel -u on all of the user's jobs, which the user refused", M("scancel -u"), ("pt4",), negatable=True),
)

# the rules of one code each that look like another code's but differ
LOOKALIKES = (
    ("t.rule.pg_partition", "t.rule.pt_partition"),
    ("t.rule.pg_fprettify", "t.rule.pt_clang_format"),
    ("t.rule.kf_netcdf", "t.rule.rb_tsv"),
)

CORPUS = Corpus(
    name="t",
    how="a research software engineer's long hedged run-on paragraphs about four research codes on an HPC cluster, with forwarded words of her supervisor and the cluster's admins (measured once held out, tuned on since round 14)",
    projects=PROJECTS,
    sessions=SESSIONS,
    facts=FACTS,
    distractors=DISTRACTORS,
    forget="pt3",
)
# fmt: on
