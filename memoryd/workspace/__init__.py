"""The memory root as a git workspace: baseline, stat cache, diff, snapshots, and the run
history."""
