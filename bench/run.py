"""Every bench in bench/, each in its own process, and one table of their figures, DESIGN §8's budgets first;
printed, and written to docs/bench.md. The counts keep the whole run under three minutes on two cores.

Usage: bench/run   (or python -m bench.run). card_read.py and ui.py use pcscd: run it alone.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import Row, rows_from_json, table  # noqa: E402

BENCHES = [  # each with the counts that fit the run in three minutes
    ["card_read.py", "--inserts", "15"],
    ["ui.py", "--inserts", "15", "--starts", "9", "--notices", "10000"],
    ["sync.py", "--notices", "10000", "--receipts", "1000"],
    ["speech.py", "--runs", "20"],
]
DESIGN = [  # the rows that measure DESIGN §8's budgets, in its order
    "ui.greeting", "card.gen3_greeting", "ui.detection", "ui.personal", "ui.cold_start", "ui.session_stall",
    "ui.sync_stall", "speech.stall", "sync.first", "sync.poll_304", "ui.memory", "soak.memory_growth", "speech.fixed",
    "speech.fresh",
]  # fmt: skip
# Memory growth over 1,000 sessions takes longer than this whole run: bench/soak.py measures it on its own, and
# `bench/soak.py --save` keeps its rows in SOAK_SAVED, shown here (its memory row in place of the placeholder).
SOAK = Row("soak.memory_growth", "memory growth over 1,000 sessions: see bench/soak.py", None, unit="MB",
           budget="≤ 5 MB")  # fmt: skip
SOAK_SAVED = ROOT / "docs" / "soak.json"
COMMAND = "bench/run"
OUTPUT = ROOT / "docs" / "bench.md"


def run_bench(argv: list[str]) -> tuple[list[Row], str]:
    """One bench in its own process: its rows, and what went wrong ("" when nothing did)."""
    started = time.monotonic()
    print(f"bench/{' '.join(argv)} …", end=" ", file=sys.stderr, flush=True)
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / argv[0]), *argv[1:], "--json"],
                              capture_output=True, text=True, cwd=ROOT, timeout=170)  # fmt: skip
    except subprocess.TimeoutExpired:
        print("timed out", file=sys.stderr)
        return [], f"bench/{argv[0]} did not finish within 170 s"
    print(f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    lines = done.stdout.strip().splitlines()
    if done.returncode not in (0, 1) or not lines:  # 1: a figure over its budget, still a result
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"bench/{argv[0]} failed (exit {done.returncode}): {error}"
    return rows_from_json(lines[-1]), ""


def saved_soak() -> list[Row]:
    """The rows of the last `bench/soak.py --save` (each says when it ran); none before the first."""
    return rows_from_json(SOAK_SAVED.read_text(encoding="utf-8")) if SOAK_SAVED.exists() else []


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


def markdown(lines: str, seconds: float, problems: list[str]) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"# Bench figures\n\n`{COMMAND}` on {when}, {machine()}: {seconds:.0f} s in all.\n\n{lines}\n\n"
        "Ours and the raw reference (measured in the same run) as median and 95th percentile; the ratio is "
        "ours ÷ raw, medians. The rows down to the first speech audio are DESIGN §8's budgets; the rest are "
        "further figures the benches print. Each bench alone: `python bench/<name>.py --help`.\n"
        + "".join(f"\n**{p}**\n" for p in problems)
    )


def main() -> int:
    started = time.monotonic()
    rows: list[Row] = []
    problems: list[str] = []
    for argv in BENCHES:
        got, problem = run_bench(argv)
        rows += got
        problems += [problem] if problem else []
    seconds = time.monotonic() - started
    rows += saved_soak()
    lines = table(ordered(rows))
    print(f"\n{lines}\n")
    for problem in problems:
        print(problem)
    print(f"{seconds:.0f} s in all; written to {OUTPUT.relative_to(ROOT)}")
    OUTPUT.write_text(markdown(lines, seconds, problems), encoding="utf-8")
    return 1 if problems or any(r.passed is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
