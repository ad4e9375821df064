"""Benchmarks: wezparallel side by side with supervisord 4.3, in one run on one machine.

`make bench` (`python -m benchmarks`) runs every workload family on both tools and prints one
table, each figure for both tools and their ratio (wezparallel / supervisord; every figure is
lower-is-better), and writes it with the machine and date to `benchmarks/RESULTS.md`.
`--quick` runs the same code with few processes and samples (what CI runs so the harness
cannot rot); `--only FAMILY` runs some families.

supervisord comes from PyPI (`supervisor==4.3.0`), installed on first use into its own venv,
`benchmarks/.venv`, so the project's venv never depends on it. wezparallel runs from
`benchmarks/.venv-wezparallel`, where the working tree is installed as a user installs a
release (a regular, not editable, `pip install` with constraints.txt, reinstalled when the
source changes): pip compiles the bytecode of both tools alike, whereas the project's editable
venv, on a machine with PYTHONDONTWRITEBYTECODE set, would compile every module at each start.

Families, one module each: `footprint` (cold start, RSS, idle CPU), `sampling`
(idle CPU with wezparallel's metrics off), `control` (status round
trips), `recovery` (crash -> new pid), `reload` (save -> new pid), `scale` (1000 processes),
`panes` (tmux, wezparallel only), `statusbar` (the WezTerm status bar's cost per refresh,
wezparallel only). `harness` measures (time, /proc), `session` is what a
workload asks of a daemon, `sup_driver` / `wez_driver` answer it for each tool, `suite` runs
the families, `results` renders the table. Figures are figures, never pass/fail.
"""
