"""Generate the healthcare-sales example data: roster.csv and submissions.csv, beside this file.

Deterministic (random.Random(2026), standard library only): every run writes byte-identical files.

    python examples/healthcare-sales/generate.py

The roster is 230 fake reps in 17 local teams within 5 regional divisions. The submissions are a baseline row per
rep on Friday 2026-11-13 (week 2026-W46: LinkedIn followers and training modules so far), then a week of daily
activity, Monday 2026-11-16 to Friday 2026-11-20 (week 2026-W47), with three correction rows that void earlier ones.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 2026
EMAIL_DOMAIN = "example-health.com"

# America/Chicago is on Central Standard Time (UTC-06:00) for all of 13-20 November 2026 (DST ended 1 November).
CHICAGO_CST = timezone(timedelta(hours=-6))

# Division -> [(team, headcount)]. Sizes vary a lot on purpose: Indianapolis has 4 reps, Chicago 25.
DIVISIONS: list[tuple[str, list[tuple[str, int]]]] = [
    ("South East", [("Charlotte", 18), ("Atlanta", 22), ("Miami", 14), ("Nashville", 9)]),
    ("Mid-West", [("Detroit", 16), ("Chicago", 25), ("Minneapolis", 8), ("Indianapolis", 4)]),
    ("North East", [("Boston", 12), ("New York", 24), ("Philadelphia", 10)]),
    ("West", [("Denver", 7), ("Phoenix", 11), ("Seattle", 13), ("Los Angeles", 20)]),
    ("South Central", [("Dallas", 6), ("Houston", 11)]),
]
TOTAL_REPS = 230

FIRST_NAMES = """
Aaliyah Aaron Abigail Adrian Aisha Alejandro Alexis Amara Andre Angela Anika Antonio Ava Benjamin Bianca Brandon
Brianna Caleb Camila Carlos Carmen Chloe Christopher Claire Daniel Daniela Darius David Deepa Derek Diana Dmitri
Elena Elijah Emily Emma Ethan Fatima Gabriel Grace Hannah Hector Imani Isaac Isabella Jamal Jasmine Javier Jennifer
Jordan Joseph Julia Kai Keisha Kevin Kimberly Lakshmi Laura Leah Lucas Luis Malik Maria Marcus Maya Megan Michael
Mohammed Naomi Nathan Nia Nicole Noah Olivia Omar Priya Rachel Rafael Rebecca Ricardo Rosa Ryan Samantha Samuel
Sofia Stephanie Tanya Terrence Thomas Tyrone Valentina Victor Vanessa Wei Xavier Yuki Zoe
""".split()  # noqa: SIM905 (easier to read and extend as a block of words)

LAST_NAMES = """
Adams Alvarez Anderson Baker Banerjee Bennett Brooks Brown Bryant Campbell Carter Castillo Chen Clark Coleman Collins
Cooper Cruz Davis Diaz Edwards Evans Fischer Flores Foster Garcia Gomez Gonzalez Gray Green Griffin Gupta Hall Harris
Hayes Henderson Hernandez Hill Howard Hughes Jackson James Jenkins Johnson Jones Kelly Kim Kowalski Lee Lewis Lopez
Martin Martinez Mendoza Miller Mitchell Moore Morales Morgan Murphy Nguyen Novak O'Brien Okafor Ortiz Park Patel
Perez Peterson Phillips Powell Price Ramirez Reed Reyes Richardson Rivera Roberts Robinson Rodriguez Ross Russell
Sanchez Sanders Scott Shah Singh Smith Sullivan Taylor Thompson Torres Turner Walker Washington Watson White Williams
Wilson Wong Wright Young
""".split()  # noqa: SIM905 (easier to read and extend as a block of words)

ROSTER_COLUMNS = ["id", "name", "email", "team", "division"]
METRICS = [
    "calls",
    "demos",
    "deals_closed",
    "revenue",
    "nps",
    "training_modules",
    "response_minutes",
    "linkedin_followers",
]
SUBMISSION_COLUMNS = ["id", "participant", "at", "voids", *METRICS]

BASELINE_DAY = date(2026, 11, 13)  # Friday of 2026-W46
WEEK_DAYS = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]  # Monday..Friday of 2026-W47
DAY_START = 8 * 60  # 08:00, in minutes
DAY_END = 18 * 60  # 18:00

# Activity tiers: share of reps, weights for 1/2/3 rows a day, calls per row, demo odds, deal odds per row.
TIERS = {
    "strong": {"share": 0.18, "rows": (1, 2, 8), "calls": (14, 40), "demo": 0.55, "deal": 0.05},
    "steady": {"share": 0.57, "rows": (1, 3, 5), "calls": (6, 30), "demo": 0.35, "deal": 0.025},
    "weak": {"share": 0.25, "rows": (3, 4, 2), "calls": (0, 16), "demo": 0.15, "deal": 0.008},
}
INACTIVE_REPS = 2  # on the roster, no rows at all in W47


def email_for(first: str, last: str) -> str:
    def clean(s: str) -> str:
        return "".join(c for c in s.lower() if c.isalnum())

    return f"{clean(first)}.{clean(last)}@{EMAIL_DOMAIN}"


def build_roster(rng: random.Random) -> list[dict[str, str]]:
    slots = [(team, division) for division, teams in DIVISIONS for team, size in teams for _ in range(size)]
    assert len(slots) == TOTAL_REPS, len(slots)
    rng.shuffle(slots)
    names: set[tuple[str, str]] = set()
    roster = []
    for number, (team, division) in enumerate(slots, start=1):
        while True:
            pair = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if pair not in names:
                names.add(pair)
                break
        first, last = pair
        roster.append(
            {
                "id": f"rep-{number:03d}",
                "name": f"{first} {last}",
                "email": email_for(first, last),
                "team": team,
                "division": division,
            }
        )
    return roster


def stamp(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=CHICAGO_CST)


def times_for_day(rng: random.Random, day: date, count: int) -> list[datetime]:
    minutes = sorted(rng.sample(range(DAY_START, DAY_END + 1), count))
    return [stamp(day, m) for m in minutes]


def build_submissions(rng: random.Random, roster: list[dict[str, str]]) -> list[dict[str, object]]:
    """Rows as dicts with an `at` datetime and metric values; ids and voids are filled in after sorting."""
    team_spirit = {team: rng.uniform(0.8, 1.2) for _, teams in DIVISIONS for team, _ in teams}
    inactive = set(rng.sample([r["id"] for r in roster if r["team"] != "Indianapolis"], INACTIVE_REPS))
    tier_names = list(TIERS)
    tier_weights = [TIERS[t]["share"] for t in tier_names]

    rows: list[dict[str, object]] = []
    for rep in roster:
        pid = rep["id"]
        followers = rng.randint(150, 3000)
        modules = rng.randint(0, 6)
        rows.append(
            {
                "participant": pid,
                "at": stamp(BASELINE_DAY, rng.randint(DAY_START, DAY_END)),
                "values": {"training_modules": modules, "linkedin_followers": followers},
            }
        )
        if pid in inactive:
            continue

        tier = TIERS[rng.choices(tier_names, tier_weights)[0]]
        spirit = team_spirit[rep["team"]] * rng.uniform(0.85, 1.15)
        speed = rng.uniform(0.4, 1.6)  # lower is faster lead response
        week: list[dict[str, object]] = []
        for day in WEEK_DAYS:
            count = rng.choices((1, 2, 3), tier["rows"])[0]
            for at in times_for_day(rng, day, count):
                lo, hi = tier["calls"]
                calls = max(0, min(40, round(rng.randint(lo, hi) * spirit)))
                demos = 0
                if rng.random() < tier["demo"] * spirit:
                    demos = rng.choices((1, 2, 3), (6, 3, 1))[0]
                deal = 1 if rng.random() < tier["deal"] * spirit else 0
                values: dict[str, object] = {
                    "calls": calls,
                    "demos": demos,
                    "deals_closed": deal,
                    "revenue": rng.randrange(2000, 30001, 50) if deal else 0,
                }
                if rng.random() < 0.5:
                    minutes = max(2.0, min(90.0, rng.uniform(2.0, 60.0) * speed))
                    values["response_minutes"] = f"{minutes:.1f}"
                week.append({"participant": pid, "at": at, "values": values})

        # NPS once or twice in the week; a later one supersedes an earlier one.
        nps_base = rng.randint(-5, 80)
        for row in rng.sample(week, rng.choice((1, 1, 2))):
            row["values"]["nps"] = max(-20, min(90, nps_base + rng.randint(-10, 10)))
        # Training modules now and then: a new all-time total, 1 or 2 more than the baseline.
        if rng.random() < 0.35:
            rng.choice(week)["values"]["training_modules"] = modules + rng.choice((1, 2))
        # LinkedIn followers: one or two new totals for most reps, growing 0-60 over the week.
        if rng.random() < 0.75:
            gained = rng.randint(0, 60)
            picked = sorted(rng.sample(range(len(week)), min(len(week), rng.choice((1, 2)))))
            totals = (
                [followers + gained] if len(picked) == 1 else [followers + rng.randint(0, gained), followers + gained]
            )
            for index, total in zip(picked, totals, strict=True):
                week[index]["values"]["linkedin_followers"] = total
        rows.extend(week)

    add_corrections(rng, rows)
    return rows


def add_corrections(rng: random.Random, rows: list[dict[str, object]]) -> None:
    """Three W47 corrections, each voiding an earlier row of the same rep and carrying the fixed values."""
    week_start = stamp(WEEK_DAYS[0], 0)
    plain = [
        r
        for r in rows
        if r["at"] >= week_start
        and r["at"].time() <= time(14, 0)
        and not {"nps", "training_modules", "linkedin_followers"} & set(r["values"])
    ]
    with_deal = [r for r in plain if r["values"]["deals_closed"]]
    no_deal = [r for r in plain if not r["values"]["deals_closed"] and r["values"]["calls"] >= 12]
    first, second = rng.sample(no_deal, 2)
    third = rng.choice(with_deal)

    corrections = []
    # 1: calls typed with a digit missing (e.g. 3 for 34).
    fixed = dict(first["values"])
    first["values"]["calls"] = first["values"]["calls"] // 10
    corrections.append((first, fixed))
    # 2: calls with the digits swapped, and a demo left out.
    fixed = dict(second["values"])
    fixed["demos"] = second["values"]["demos"] + 1
    calls = second["values"]["calls"]
    swapped = int(str(calls)[::-1])
    second["values"]["calls"] = swapped if swapped != calls and swapped <= 40 else calls - 7
    corrections.append((second, fixed))
    # 3: a deal's revenue entered $9,000 off.
    fixed = dict(third["values"])
    revenue = third["values"]["revenue"]
    third["values"]["revenue"] = revenue + 9000 if revenue + 9000 <= 30000 else revenue - 9000
    corrections.append((third, fixed))

    for original, values in corrections:
        at = original["at"] + timedelta(minutes=rng.randint(20, 240))
        rows.append({"participant": original["participant"], "at": at, "values": values, "voids_row": original})


def write_roster(roster: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ROSTER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(roster)


def write_submissions(rows: list[dict[str, object]], path: Path) -> None:
    # Stable order: by time, then rep, then generation order; ids follow file order.
    ordered = sorted(enumerate(rows), key=lambda item: (item[1]["at"], item[1]["participant"], item[0]))
    ids: dict[int, str] = {}
    for number, (_, row) in enumerate(ordered, start=1):
        ids[id(row)] = f"s-{number:05d}"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SUBMISSION_COLUMNS)
        for _, row in ordered:
            voided = row.get("voids_row")
            values = row["values"]
            writer.writerow(
                [
                    ids[id(row)],
                    row["participant"],
                    row["at"].isoformat(),
                    ids[id(voided)] if voided is not None else "",
                    *(str(values[m]) if m in values else "" for m in METRICS),
                ]
            )


def main() -> None:
    rng = random.Random(SEED)
    roster = build_roster(rng)
    rows = build_submissions(rng, roster)
    write_roster(roster, HERE / "roster.csv")
    write_submissions(rows, HERE / "submissions.csv")
    print(f"wrote {len(roster)} reps to roster.csv and {len(rows)} rows to submissions.csv in {HERE}")


if __name__ == "__main__":
    main()
