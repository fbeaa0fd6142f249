"""The daemon process: supervisor (task group, signals, reload, phase-2 loop), lock,
sd_notify, ``run --once`` and the service install."""
