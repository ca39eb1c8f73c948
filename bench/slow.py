"""A slow hall terminal on this machine: the bench process (and all it starts) on one core, with 1/F of it.

`--slow F` of every bench calls `confine(F)` first, so the kiosk and the raw reference it is measured beside
are limited alike. The quota comes from a cgroup: v2 `cpu.max` where the unified hierarchy has the cpu
controller, else v1 `cpu.cfs_quota_us`. Where neither can be written (not root, no delegated cgroup) the
process only gets one core, and the table's title says so: run as root, or under
`systemd-run --user --scope -p CPUQuota=33% -p AllowedCPUs=0` (which is the same limit, made by systemd).

What is not the terminal runs beside it, not in its quota (`off_the_terminal`): the emulated card and PSAM (the
chips' own processors), the reference backend (the bureau's server) and the soak's stand-in for the sound card
(a Python process per prompt, where a terminal runs aplay: 10-19 ms of the slowed core each, aplay's is ~0).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
DOCS = Path(__file__).resolve().parent.parent / "docs"
NICE_OFF_THE_TERMINAL = 19  # where they must share a core with it, they take only what the kiosk leaves
QUOTA_US = 1_000  # a fine grain (the kernel's least): 1 ms of CPU, then (F - 1) ms waiting, as a slower CPU
# would stretch every turn; with the default 100 ms period a 30 ms turn ran at full speed, then stopped for 70


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--slow", type=float, default=0, metavar="F",
                        help="as on a terminal F times slower: one core, 1/F of its time (bench/slow.py)")  # fmt: skip


def soak_file(slow: float) -> Path:
    """Where `bench/soak.py --save` keeps its rows for bench/run: one file for this machine, one per slowing."""
    return DOCS / ("soak.json" if slow <= 1 else f"soak-slow{slow:g}.json")


_home: list[str] = []  # set by confine(): the cgroup's cgroup.procs and the cores the terminal's quota is not on


def confine(factor: float) -> str:
    """Limit this process and its children; the words for the table's title (what limit holds)."""
    if factor <= 1:
        return ""
    cores = os.sched_getaffinity(0)
    core = min(cores)
    home = _own_cgroup_procs()
    os.sched_setaffinity(0, {core})  # the quota alone would still spread over every core
    period = int(QUOTA_US * factor)
    name = f"ss-kiosk-slow-{factor:g}"
    for how in (_cgroup_v2, _cgroup_v1):
        try:
            done = how(name, period)
        except OSError:
            continue
        if done:
            others = sorted(cores - {core}) or [core]
            _home[:] = [str(home), ",".join(map(str, others))]
            return f"slowed {factor:g}×: core {core} only, {100 / factor:.0f} % of it ({done})"
    return f"NOT slowed {factor:g}× (no writable cgroup; core {core} only): see bench/slow.py"


def off_the_terminal(command: list[str]) -> list[str]:
    """`command` for a stand-in of what is not on the hall's terminal: at nice 19, and when slowed, first moved
    out of the slow terminal's cgroup (to where the bench started) and onto the other cores."""
    nice = ["nice", "-n", str(NICE_OFF_THE_TERMINAL), *command]
    if not _home:
        return nice
    move = 'procs=$1 cores=$2; shift 2; echo $$ > "$procs" && exec taskset -c "$cores" "$@"'
    return ["sh", "-c", move, "off-the-terminal", *_home, *nice]


def _own_cgroup_procs() -> Path:
    """The cgroup.procs of the cgroup this process is in now: v2 where it has the cpu controller, else v1's cpu."""
    groups = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
    if _v2_has_cpu():
        return CGROUP / groups.get("", "/").lstrip("/") / "cgroup.procs"
    v1 = next((path for names, path in groups.items() if "cpu" in names.split(",")), "/")
    return CGROUP / "cpu" / v1.lstrip("/") / "cgroup.procs"


def _v2_has_cpu() -> bool:
    try:
        return "cpu" in (CGROUP / "cgroup.controllers").read_text().split()
    except OSError:  # a v1 machine
        return False


def _cgroup_v2(name: str, period: int) -> str:
    if not _v2_has_cpu():
        return ""
    group = CGROUP / name
    group.mkdir(exist_ok=True)
    (group / "cpu.max").write_text(f"{QUOTA_US} {period}")
    (group / "cgroup.procs").write_text(str(os.getpid()))
    return "cgroup v2 cpu.max"


def _cgroup_v1(name: str, period: int) -> str:
    group = CGROUP / "cpu" / name
    group.mkdir(exist_ok=True)
    (group / "cpu.cfs_quota_us").write_text("-1")  # the period may be shorter than a quota left from before
    (group / "cpu.cfs_period_us").write_text(str(period))
    (group / "cpu.cfs_quota_us").write_text(str(QUOTA_US))
    (group / "cgroup.procs").write_text(str(os.getpid()))  # every thread of the process, and its children
    return "cgroup v1 cpu.cfs_quota_us"
