"""The `podium` command line. Each command imports what it needs when it runs, so `podium --help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from podium.adapters.dynamodb import DynamoStore
    from podium.domain.boards import Board, BoardKind
    from podium.domain.roster import Roster

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """A mistake in the command's input, reported as one clear message and exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        result: int = args.run(args)
        return result
    except CommandError as e:
        print(f"podium {args.command}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `podium score ... | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="Podium: success tracking and leaderboards.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = sub.add_parser(
        "score",
        help="compute a board offline from a program file, a submissions CSV and a roster CSV",
        description="Compute a board from files with the pure domain: the same numbers the service shows.",
    )
    score.add_argument("program", type=Path, help="program file (YAML or JSON)")
    score.add_argument("submissions", type=Path, help="submissions CSV: id,participant,at[,voids],<metric columns>")
    score.add_argument("--roster", type=Path, required=True, help="roster CSV: id,name,email,team,division")
    score.add_argument(
        "--period",
        help="period key (2026-W47, 2026-11, 2026-Q4, 2026, all, 2026-11-20); "
        "default: the program's period of the latest submission",
    )
    score.add_argument(
        "--board",
        default="program",
        help="program | participants | division:D | team:T (D and T by id or name; default: program)",
    )
    score.add_argument("--since", help="show movement since this ISO-8601 time (the same board then)")
    score.add_argument("--values", action="store_true", help="show metric values instead of metric points")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.set_defaults(run=_score)

    admin = sub.add_parser(
        "admin",
        help="organisations and keys, straight on the table",
        description="Administration on the table named by PODIUM_TABLE, with the standard AWS settings "
        "(AWS_REGION; AWS_ENDPOINT_URL points at DynamoDB Local).",
    )
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="ADMIN_COMMAND", required=True)
    create_org = admin_sub.add_parser("create-org", help="create an organisation and print its first admin key")
    create_org.add_argument("org", help="the organisation id: lowercase letters, digits and -")
    create_org.add_argument("--name", default="", help="display name (default: the id)")
    create_org.add_argument("--json", action="store_true", help='print {"org": …, "key": …}')
    create_org.set_defaults(run=_create_org)

    local = sub.add_parser(
        "local",
        help="run Podium on this machine: DynamoDB Local, the HTTP API, the stream, the demo program",
        description="Run Podium locally, wired from template.yaml, with the demo program seeded on first start.",
    )
    local.add_argument("--port", type=int, default=3000, help="HTTP port on 127.0.0.1 (default 3000; 0 picks one)")
    local.add_argument("--data", type=Path, default=Path(".podium"), help="where data is kept (default .podium/)")
    local.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    local.add_argument("--simulate", action="store_true", help="keep new scores trickling in, so boards move")
    local.add_argument("--no-demo", action="store_true", help="start empty (no demo organisation or program)")
    local.set_defaults(run=_local)
    local_sub = local.add_subparsers(dest="local_command", metavar="LOCAL_COMMAND")
    fire = local_sub.add_parser(
        "fire",
        help="fire a function's schedule now, in the running local stack, and print what it returned",
        description="Invoke a function with the event its template schedule delivers, in the running `podium local`.",
    )
    fire.add_argument("function", help="the function's logical id in template.yaml")
    # SUPPRESS: without it this default would hide a --data given before `fire`.
    fire.add_argument("--data", type=Path, default=argparse.SUPPRESS, help="the running stack's data folder")
    fire.set_defaults(run=_local_fire)

    for name, run, text in (
        ("verify", _verify, "recompute every standing from the log and report drift (exit 1 if any)"),
        ("rebuild", _rebuild, "repair standings: remove misplaced items and have the stream recompute everyone"),
    ):
        command = sub.add_parser(name, help=text, description=text + ". Uses PODIUM_TABLE and the AWS settings.")
        command.add_argument("--org", required=True, help="the organisation id")
        command.add_argument("--program", required=True, help="the program id")
        command.add_argument("--period", help="a period of the program's kind (default: the current one)")
        command.set_defaults(run=run)
    return parser


def _local(args: argparse.Namespace) -> int:
    from podium_cli.local.stack import main as run_local

    try:
        return run_local(
            args.port, args.data, in_memory=args.in_memory, simulate_scores=args.simulate, demo=not args.no_demo
        )
    except (RuntimeError, OSError) as e:
        raise CommandError(str(e)) from None


def _local_fire(args: argparse.Namespace) -> int:
    """Ask the running stack (found through its stack.json) to fire a function's schedule now."""
    import urllib.error
    import urllib.request

    from podium_cli.local.stack import find_root

    try:
        data_dir = args.data if args.data.is_absolute() else find_root() / args.data
    except RuntimeError as e:
        raise CommandError(str(e)) from None
    state_file = data_dir / "stack.json"
    if not state_file.is_file():
        raise CommandError(f"no local stack is running ({state_file} is missing): start one with `podium local`")
    url = f"{json.loads(state_file.read_text())['url']}/_local/fire/{args.function}"
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - our own loopback stack
    try:
        with urllib.request.urlopen(request, timeout=900) as reply:  # noqa: S310
            answer = json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return _fire_failed(args.function, json.loads(e.read() or b"{}").get("error", {}))
    except OSError:
        raise CommandError(f"no local stack answers at {url} (is `podium local` running?)") from None
    for firing in answer["fired"]:
        print(f"fired {args.function} ({firing['event']}: {firing['expression']})", file=sys.stderr)
        print(json.dumps(firing["returned"], indent=2, default=str))
    return 0


def _fire_failed(function: str, error: dict[str, Any]) -> int:
    if error.get("code") == "unknown_function":
        known = ", ".join(error.get("schedulable", [])) or "none: template.yaml gives no function a schedule"
        raise CommandError(f"{function} has no schedule in template.yaml; functions with one: {known}")
    print(f"podium local fire: {function} failed: {error.get('message', error)}", file=sys.stderr)
    return 1


def _table_store() -> DynamoStore:
    """The table the functions use, from the same environment they read (PODIUM_TABLE, AWS settings)."""
    from podium.adapters.dynamodb import DynamoStore
    from podium.config import Settings

    try:
        settings = Settings.from_env()
    except RuntimeError as e:
        raise CommandError(str(e)) from None
    return DynamoStore(settings.table, settings.region, settings.dynamodb_endpoint)


def _progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def _verify(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from podium.adapters.standings import DynamoStandings
    from podium.domain.errors import PodiumError
    from podium.services.verify import verify

    store = _table_store()
    standings = DynamoStandings(store)
    try:
        period, drift = verify(store, standings, args.org, args.program, args.period, datetime.now(UTC), _progress)
    except PodiumError as e:
        raise CommandError(str(e)) from None
    if not drift:
        print(f"{args.program} {period.key}: every stored standing matches the log.")
        return 0
    print(f"{args.program} {period.key}: {len(drift)} difference(s) from the log:")
    for d in drift:
        print(f"  {d}")
    print("Run `podium rebuild` with the same options to repair them.")
    return 1


def _rebuild(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from podium.adapters.standings import DynamoStandings
    from podium.domain.errors import PodiumError
    from podium.services.verify import rebuild

    store = _table_store()
    standings = DynamoStandings(store)
    try:
        period, count = rebuild(store, standings, args.org, args.program, args.period, datetime.now(UTC), _progress)
    except PodiumError as e:
        raise CommandError(str(e)) from None
    print(
        f"{args.program} {period.key}: asked the stream to recompute {count} participant(s); "
        "run `podium verify` once it has settled."
    )
    return 0


def _create_org(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from podium.domain.errors import PodiumError
    from podium.services.auth import create_org

    store = _table_store()
    try:
        issued = create_org(store, args.org, args.name, datetime.now(UTC))
    except PodiumError as e:
        raise CommandError(str(e).splitlines()[-1].strip()) from None
    if args.json:
        print(json.dumps({"org": args.org, "key": issued.token}))
    else:
        print(f"Organisation {args.org!r} created. Its first admin key (shown once, keep it safe):")
        print(issued.token)
    return 0


def _score(args: argparse.Namespace) -> int:
    from podium.domain.boards import BoardKind, compute_scorebook
    from podium.domain.errors import InvalidInput, InvalidPeriod, UnknownBoard
    from podium.domain.periods import parse_period, period_of
    from podium.domain.program import parse_program
    from podium.domain.records import parse_instant, read_roster_csv, read_submissions_csv

    program_text = _read(args.program)
    try:
        program = parse_program(program_text, filename=args.program.name)
    except InvalidInput as e:
        raise CommandError(_problems(args.program, e)) from None
    try:
        with _open(args.roster) as f:
            roster = read_roster_csv(f)
    except InvalidInput as e:
        raise CommandError(_problems(args.roster, e)) from None
    except UnicodeDecodeError:
        raise CommandError(f"{args.roster}: is not UTF-8 text (save the spreadsheet as CSV UTF-8)") from None
    try:
        with _open(args.submissions) as f:
            # An old log may name people deactivated since: boards leave them out, reading keeps them.
            rows = read_submissions_csv(f, program, roster, known_ids=set(), reject_inactive=False)
    except UnicodeDecodeError:
        raise CommandError(f"{args.submissions}: is not UTF-8 text (save the spreadsheet as CSV UTF-8)") from None
    if rows.problems:
        raise CommandError(_problems(args.submissions, InvalidInput(rows.problems, "submissions")))
    if not rows.submissions:
        raise CommandError(f"{args.submissions}: has no submissions")

    try:
        if args.period:
            period = parse_period(args.period, program.week_start)
        else:
            latest = max(s.at for s in rows.submissions)
            period = period_of(latest, program.period, program.tz, program.week_start)
    except InvalidPeriod as e:
        raise CommandError(str(e)) from None

    kind_text, _, ref = args.board.partition(":")
    try:
        kind = BoardKind(kind_text)
    except ValueError:
        raise CommandError(f"--board {args.board!r}: use program, participants, division:D or team:T") from None
    if kind in (BoardKind.DIVISION, BoardKind.TEAM) and not ref:
        raise CommandError(f"--board {kind.value} needs a name or id: {_examples(kind, roster)}")
    if kind in (BoardKind.PROGRAM, BoardKind.PARTICIPANTS) and ref:
        raise CommandError(f"--board {kind.value} takes no name (use division:D or team:T for a group)")
    since = None
    if args.since:
        try:
            since = parse_instant(args.since, program.tz)
        except ValueError as e:
            raise CommandError(f"--since: {e}") from None

    try:
        board = compute_scorebook(program, roster, rows.submissions, period).board(kind, ref or None)
    except UnknownBoard as e:
        raise CommandError(f"{e}; {_examples(kind, roster)}") from None
    if since is not None:
        earlier = [s for s in rows.submissions if s.at < since]
        before = compute_scorebook(program, roster, earlier, period).board(kind, ref or None)
        board = board.since({s.id: s.rank for s in before.standings}, since)

    if args.json:
        print(json.dumps(board.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_table(board, show_values=args.values))
    return 0


def render_table(board: Board, *, show_values: bool = False) -> str:
    """A board as an aligned text table with a heading that states the period, the ranking and the tie rule."""
    from podium.domain.boards import BoardKind, Level

    program = board.program
    window = ""
    first, end = board.period.first_day, board.period.end_day
    if first and end:
        last = end - timedelta(days=1)
        window = f" ({first:%a %d %b %Y} – {last:%a %d %b %Y}, {program.timezone})"
    title = {
        BoardKind.PROGRAM: "program board",
        BoardKind.PARTICIPANTS: "everyone",
        BoardKind.DIVISION: f"division {board.name}",
        BoardKind.TEAM: f"team {board.name}",
    }[board.kind]
    position = program.ranking.value == "position"
    if position:
        rule = "Ranking: position — each metric ranks everyone; the lowest sum of ranks wins."
        shown = "values." if show_values else "ranks (1 = best)."
    else:
        rule = "Ranking: points — the highest total wins."
        shown = "values." if show_values else "points."
    lines = [
        f"{program.name} · {title} · period {board.period.key}{window}",
        f"{rule} Ties: {board.ties.value} — {board.ties.description}.",
        f"Metric columns show {shown}",
        "",
    ]
    has_groups = any(s.level is not Level.PARTICIPANT for s in board.standings)
    header = ["Rank", "Name"] + (["People"] if has_groups else []) + ["Rank sum" if position else "Points"]
    header += [m.key for m in program.metrics]
    if any(s.movement is not None for s in board.standings):
        header.append("Move")
    table = [header]
    for s in board.standings:
        row = [str(s.rank), s.name]
        if has_groups:
            row.append(str(s.headcount) if s.level is not Level.PARTICIPANT else "")
        row.append(_fmt(s.points))
        for m in program.metrics:
            score = s.metrics[m.key]
            row.append(_fmt(score.value) if show_values else _fmt(score.points))
        if header[-1] == "Move":
            row.append(_move(s.movement))
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    left = {1}
    for r in table:
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x - round(x)) < 5e-5:
        return f"{round(x):,}"
    return f"{x:,.1f}"


def _move(m: int | None) -> str:
    if m is None:
        return "new"
    return "=" if m == 0 else (f"▲{m}" if m > 0 else f"▼{-m}")


def _examples(kind: BoardKind, roster: Roster) -> str:
    groups = roster.divisions if kind.value == "division" else roster.teams
    if not groups:
        return f"this roster has no {kind.value}s"
    names = sorted(groups)
    more = f" (and {len(names) - 4} more)" if len(names) > 4 else ""
    return "try " + ", ".join(f"{kind.value}:{n}" for n in names[:4]) + more


def _problems(path: Path, error: Exception) -> str:
    from podium.domain.errors import InvalidInput

    if isinstance(error, InvalidInput):
        shown = error.problems[:20]
        more = len(error.problems) - len(shown)
        lines = [f"{path}: {p}" for p in shown]
        if more:
            lines.append(f"{path}: … and {more} more")
        return "\n".join(lines)
    return f"{path}: {error}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CommandError(f"{path}: cannot read: {e.strerror}") from None


def _open(path: Path) -> TextIO:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise CommandError(f"{path}: cannot read: {e.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
