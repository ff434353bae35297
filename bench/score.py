"""Benchmark of the pure domain on the seed case: how fast every board of the 230-rep example is computed.

Prints, from one run on this machine:
- scoring: submissions/s for a full scorebook (every participant, team and division) and the time per board;
- baseline: submissions/s of a bare Python loop summing the same values per participant, in the same run,
  and the ratio between the two (the price of periods, corrections, rules, rollup and ranking);
- import time of the command line and of the domain, next to the interpreter starting with nothing imported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from podium.domain.boards import compute_scorebook
from podium.domain.periods import parse_period
from podium.domain.program import parse_program
from podium.domain.records import read_roster_csv, read_submissions_csv

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "healthcare-sales"
ROUNDS = 7


def best_of(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def import_ms(statement: str) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    program = parse_program((EXAMPLE / "program.yaml").read_text())
    with (EXAMPLE / "roster.csv").open(newline="") as f:
        roster = read_roster_csv(f)
    with (EXAMPLE / "submissions.csv").open(newline="") as f:
        submissions = read_submissions_csv(f, program, roster).submissions
    period = parse_period("2026-W47")
    n = len(submissions)

    def full() -> None:
        book = compute_scorebook(program, roster, submissions, period)
        book.board("program")
        for d in roster.divisions:
            book.board("division", d)
        for t in roster.teams:
            book.board("team", t)

    def bare_sum() -> None:
        totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for s in submissions:
            for k, v in s.values.items():
                totals[s.participant][k] += v

    boards = 1 + len(roster.divisions) + len(roster.teams)
    podium_s = best_of(full)
    baseline_s = best_of(bare_sum)
    print(
        f"seed case: {n} submissions, {len(roster.participants)} participants, {len(program.metrics)} metrics, "
        f"{boards} boards"
    )
    print(f"scoring:  {n / podium_s:>10,.0f} submissions/s  ({podium_s * 1000:.1f} ms for every board)")
    print(f"baseline: {n / baseline_s:>10,.0f} submissions/s  (bare per-participant sum of the same values)")
    print(f"ratio:    {podium_s / baseline_s:>10.1f}× the bare sum's time")
    bare = import_ms("pass")
    cli = import_ms("import podium_cli.main")
    domain = import_ms("import podium.domain.boards, podium.domain.records")
    print(
        f"startup:  {bare:.0f} ms bare interpreter; +{cli - bare:.0f} ms `import podium_cli.main`; "
        f"+{domain - bare:.0f} ms the whole domain (median of 5)"
    )


if __name__ == "__main__":
    main()
