"""Every bench in bench/, each in its own process, and one table of their figures, DESIGN §8's budgets first;
printed, and written to docs/bench.md. The counts keep the whole run under three minutes on two cores.

Usage: bench/run [--slow F]   (or python -m bench.run). card_read.py and ui.py use pcscd: run it alone.
`--slow F`: every bench as on a terminal F times slower (bench/slow.py); docs/bench.md keeps one table per
speed, each run replacing its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import Row, rows_from_json, table  # noqa: E402
from bench.slow import soak_file  # noqa: E402

BENCHES = [  # each with the counts that fit the run in three minutes
    ["card_read.py", "--inserts", "15"],
    ["ui.py", "--inserts", "15", "--starts", "9", "--notices", "10000", "--prints", "10"],
    ["sync.py", "--notices", "10000", "--receipts", "1000"],
    ["speech.py", "--runs", "20"],
]
DESIGN = [  # the rows that measure DESIGN §8's budgets, in its order
    "ui.greeting", "card.gen3_greeting", "ui.detection", "ui.personal", "ui.cold_start", "ui.session_stall",
    "ui.sync_stall", "speech.stall", "sync.first", "sync.poll_304", "ui.memory", "soak.memory_growth", "speech.fixed",
    "speech.fresh",
]  # fmt: skip
# Memory growth over 1,000 sessions takes longer than this whole run: bench/soak.py measures it on its own, and
# `bench/soak.py --save` keeps its rows in docs/soak.json (bench/slow.py soak_file), shown here (its memory row
# in place of the placeholder).
SOAK = Row("soak.memory_growth", "memory growth over 1,000 sessions: see bench/soak.py", None, unit="MB",
           budget="≤ 5 MB")  # fmt: skip
COMMAND = "bench/run"
OUTPUT = ROOT / "docs" / "bench.md"


def run_bench(argv: list[str], slow: float = 0) -> tuple[list[Row], str]:
    """One bench in its own process: its rows, and what went wrong ("" when nothing did)."""
    started = time.monotonic()
    print(f"bench/{' '.join(argv)} …", end=" ", file=sys.stderr, flush=True)
    try:
        slowed = ["--slow", f"{slow:g}"] if slow else []
        done = subprocess.run([sys.executable, str(ROOT / "bench" / argv[0]), *argv[1:], *slowed, "--json"],
                              capture_output=True, text=True, cwd=ROOT, timeout=170 * max(1.0, slow))  # fmt: skip
    except subprocess.TimeoutExpired:
        print("timed out", file=sys.stderr)
        return [], f"bench/{argv[0]} did not finish within {170 * max(1.0, slow):.0f} s"
    print(f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode not in (0, 1) or not lines:  # 1: a figure over its budget, still a result
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"bench/{argv[0]} failed (exit {done.returncode}): {error}"
    return rows_from_json(lines[-1]), ""


def saved_soak(slow: float = 0) -> list[Row]:
    """The rows of the last `bench/soak.py --save [--slow F]` (each says when it ran); none before the first."""
    saved = soak_file(slow)
    return rows_from_json(saved.read_text(encoding="utf-8")) if saved.exists() else []


def ordered(rows: list[Row]) -> list[Row]:
    """DESIGN §8's rows in its order (the soak's placeholder where no bench measured it), then the others."""
    by_key = {SOAK.key: SOAK} | {r.key: r for r in rows}
    return [by_key[k] for k in DESIGN if k in by_key] + [r for r in rows if r.key not in DESIGN]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())  # fmt: skip
    screen = f"DISPLAY {os.environ['DISPLAY']}" if os.environ.get("DISPLAY") else "the offscreen Qt platform"
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {system}, {screen}"


def section(lines: str, seconds: float, problems: list[str], slow: float) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    speed = f"`{COMMAND} --slow {slow:g}`: as on a terminal {slow:g}× slower" if slow else f"`{COMMAND}`: this machine"
    return (
        f"<!-- {marker(slow)} -->\n## {speed}\n\n{when}, {machine()}: {seconds:.0f} s in all.\n\n{lines}\n"
        + "".join(f"\n**{p}**\n" for p in problems)
        + f"<!-- /{marker(slow)} -->\n"
    )


def marker(slow: float) -> str:
    return f"bench slow {slow:g}" if slow else "bench"


def markdown(previous: str, new_section: str, slow: float) -> str:
    """docs/bench.md with this run's table in place of the last one at its speed; the other speeds kept."""
    kept = re.findall(r"<!-- (bench[^/]*?) -->\n.*?<!-- /\1 -->\n", previous, re.S)
    sections = {name: re.search(rf"<!-- {re.escape(name)} -->\n.*?<!-- /{re.escape(name)} -->\n", previous, re.S)
                .group(0) for name in kept}  # fmt: skip
    sections[marker(slow)] = new_section
    order = sorted(sections, key=lambda name: (name != "bench", name))
    return (
        "# Bench figures\n\nOurs and the raw reference (measured in the same run) as median and 95th percentile; "
        "the ratio is ours ÷ raw, medians. The rows down to the first speech audio are DESIGN §8's budgets; the "
        "rest are further figures the benches print. Each bench alone: `python bench/<name>.py --help`; "
        "`--slow F` runs it on one core with 1/F of its time (bench/slow.py).\n\n"
        + "\n".join(sections[name] for name in order)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=float, default=0, metavar="F", help="as on a terminal F times slower")
    slow = parser.parse_args().slow
    started = time.monotonic()
    rows: list[Row] = []
    problems: list[str] = []
    for argv in BENCHES:
        got, problem = run_bench(argv, slow)
        rows += got
        problems += [problem] if problem else []
    seconds = time.monotonic() - started
    rows += saved_soak(slow)
    lines = table(ordered(rows))
    print(f"\n{lines}\n")
    for problem in problems:
        print(problem)
    print(f"{seconds:.0f} s in all; written to {OUTPUT.relative_to(ROOT)}")
    previous = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    OUTPUT.write_text(markdown(previous, section(lines, seconds, problems, slow), slow), encoding="utf-8")
    return 1 if problems or any(r.passed is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
