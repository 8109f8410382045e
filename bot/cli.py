"""The `coachbot` command: run, migrate, import, dispatch, export."""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.install.commands import add_commands, dispatch_clients, team_client
from bot.locations import safe_database_url
from bot.playbook.models import Playbook, PlaybookError, load_playbook
from bot.settings import Settings, SettingsError, describe_startup, load_settings

EXIT_CONFIG = 2
log = logging.getLogger("coachbot")
RECORD_ID_MAX = 2**31 - 1  # ids are PostgreSQL INTEGERs
_loaded: list[Settings] = []  # the settings this invocation started with, for error lines


def _fail(lines: Sequence[str], code: int = EXIT_CONFIG) -> int:
    for line in lines:
        print(f"coachbot: {line}", file=sys.stderr)
    return code


def _settings(required: Sequence[str]) -> Settings:
    settings = load_settings(required=required)
    _loaded[:] = [settings]
    return settings


def _announce(settings: Settings) -> Settings:
    """The start-up line (database, .env, home) on stdout, for the one-shot commands that keep
    stderr for errors."""
    print(describe_startup(settings), flush=True)
    return settings


def _playbook(settings: Settings) -> Playbook:
    return load_playbook(settings.playbook_path or None)


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    settings = _settings([])
    _announce(settings)
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    print(f"database schema at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from slack_sdk.errors import SlackApiError

    from bot.onboarding.offer import offer_plans
    from bot.onboarding.service import without_plan
    from bot.roster.importer import ImportRejected, apply_rows, read_rows, validate_rows
    from bot.slack.users import SlackUser, fetch_user, fetch_user_by_email
    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade

    settings = _settings(["SLACK_BOT_TOKEN"])
    _announce(settings)
    playbook = _playbook(settings)
    client = team_client(settings, args.team)
    try:
        team_id = args.team or client.auth_test()["team_id"]
    except SlackApiError as exc:
        return _fail([f"Slack refused the bot token ({exc.response.get('error')}); check SLACK_BOT_TOKEN"], 1)
    cache: dict[str, SlackUser | None] = {}

    def resolve(ref: str) -> SlackUser | None:
        if ref not in cache:
            cache[ref] = fetch_user_by_email(client, ref) if "@" in ref else fetch_user(client, ref)
        return cache[ref]

    try:
        rows = validate_rows(read_rows(args.file), playbook, resolve, team_id)
    except ImportRejected as rejected:
        print(
            f"coachbot: {args.file} was not imported; nothing was changed. Fix these and run it again:", file=sys.stderr
        )
        for err in rejected.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    except SlackApiError as exc:
        return _fail([f"Slack lookup failed ({exc.response.get('error')}); nothing was imported"], 1)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        summary = apply_rows(session, team_id, rows)
        if args.dry_run:
            session.rollback()
            print(f"dry run, nothing written. {summary.describe()}")
            return 0
    print(summary.describe())
    for line in offer_plans(engine, client, team_id, datetime.now(UTC)).lines():  # after the commit
        print(line)
    with session_scope(engine) as session:
        waiting = without_plan(session, team_id, datetime.now(UTC).date())
    if waiting:
        print(
            f"{len(waiting)} rep(s) are in their first 90 days with no onboarding plan; their managers can draft "
            "one with `/coach plan @rep` (the weekly summary reminds them)."
        )
    return 0


def cmd_import_metrics(args: argparse.Namespace) -> int:
    from slack_sdk.errors import SlackApiError

    from bot.levers.flows import import_metrics
    from bot.roster.importer import ImportRejected
    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings([] if args.team else ["SLACK_BOT_TOKEN"])
    _announce(settings)
    try:
        team_id = args.team or team_client(settings, None).auth_test()["team_id"]
    except SlackApiError as exc:
        return _fail([f"Slack refused the bot token ({exc.response.get('error')}); check SLACK_BOT_TOKEN"], 1)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        stored = import_metrics(engine, team_id, args.file, datetime.now(UTC), args.dry_run)
    except ImportRejected as rejected:
        print(
            f"coachbot: {args.file} was not imported; nothing was changed. Fix these and run it again:", file=sys.stderr
        )
        for err in rejected.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    print(("dry run, nothing written. " if args.dry_run else "") + stored.describe())
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.context import AppContext
    from bot.logging_setup import configure_logging
    from bot.outbox.dispatcher import Dispatcher
    from bot.slack.client import make_dispatch_client
    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings(["SLACK_BOT_TOKEN"])
    configure_logging(settings.log_level, settings.secrets())
    log.info(describe_startup(settings))
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            return _fail([f"--now '{args.now}' is not an ISO-8601 time such as 2026-11-30T09:00:00+00:00"])
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    else:
        now = datetime.now(UTC)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx = AppContext(settings=settings, engine=engine, playbook=_playbook(settings))
    report = Dispatcher(ctx, make_dispatch_client(settings), clients=dispatch_clients(ctx)).run_pass(now)
    print(report.describe())
    return 0


def _export_pip(args: argparse.Namespace) -> int:
    """One PIP's evidence pack as Markdown; the PIP must be the given (or the bot token's) workspace's."""
    from slack_sdk.errors import SlackApiError

    from bot.pip.export import NotFound, export_pip
    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings([] if args.team else ["SLACK_BOT_TOKEN"])
    _announce(settings)
    if args.since:
        return _fail(["--since does not apply to --pip: the evidence pack covers the PIP's whole gap"])
    try:
        team_id = args.team or str(team_client(settings, None).auth_test()["team_id"])
    except SlackApiError as exc:
        return _fail([f"Slack refused the bot token ({exc.response.get('error')}); give --team instead"], 1)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        if not 0 < args.pip <= RECORD_ID_MAX:  # no such row can exist, and the database would refuse the id
            raise NotFound(args.pip)
        with Session(engine) as session:
            plan = export_pip(session, team_id, args.pip, args.file, _playbook(settings))
    except NotFound:
        return _fail([f"no PIP {args.pip} in team {team_id}"], 1)
    except OSError as exc:
        return _fail([f"cannot write {args.file} ({exc.strerror})"], 1)
    print(f"wrote the evidence pack of PIP {plan.id} ({plan.rep_id}, team {team_id}) to {args.file}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from datetime import date

    from bot.team.export import export_csv
    from storage.db import make_engine
    from storage.migrate import upgrade

    if args.pip is not None:
        return _export_pip(args)
    if not args.team:
        return _fail(["export needs --team TEAM_ID (or --pip ID for one PIP's evidence pack)"])
    settings = _settings([])
    _announce(settings)
    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since)
        except ValueError:
            return _fail([f"--since '{args.since}' is not a date like 2026-01-31"])
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with Session(engine) as session:
            counts = export_csv(session, args.team, since, args.file)
    except OSError as exc:
        return _fail([f"cannot write {args.file} ({exc.strerror})"], 1)
    total = sum(counts.values())
    detail = ", ".join(f"{n} {kind.replace('_', '-')}(s)" for kind, n in sorted(counts.items())) or "nothing"
    print(f"wrote {total} record(s) for team {args.team} to {args.file}: {detail}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from slack_bolt.error import BoltError

    from bot.app import create_app
    from bot.context import AppContext
    from bot.logging_setup import configure_logging
    from storage.db import make_engine
    from storage.migrate import upgrade

    required = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"] if args.http else ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]
    settings = _settings(required)
    if settings.oauth and not args.http:
        return _fail(
            ["SLACK_CLIENT_ID is set (many workspaces): the install pages need HTTP; run `coachbot run --http`"]
        )
    configure_logging(settings.log_level, settings.secrets())
    log.info(describe_startup(settings))
    playbook = _playbook(settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx = AppContext(settings=settings, engine=engine, playbook=playbook)
    try:
        app = create_app(ctx)
    except BoltError as exc:
        return _fail([f"could not start: {str(exc)[:200]} (is SLACK_BOT_TOKEN valid and SLACK_API_URL reachable?)"], 1)
    from bot.outbox.dispatcher import Dispatcher
    from bot.outbox.scheduler import start_scheduler
    from bot.slack.client import make_dispatch_client

    scheduler = start_scheduler(Dispatcher(ctx, make_dispatch_client(settings), clients=dispatch_clients(ctx)))
    # Everything built so far lives as long as the process: keep it out of the collector's full scans,
    # which otherwise show up as pauses in acknowledgement latency.
    gc.collect()
    gc.freeze()
    if args.http:
        from bot.slack.http_server import make_wsgi_app, serve

        serve(make_wsgi_app(app, engine, settings.signing_secret), args.host, args.port)
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("connecting to Slack with Socket Mode")
        SocketModeHandler(app, settings.app_token).start()
    scheduler.shutdown(wait=False)
    return 0


SETTINGS_HELP = """\
settings:
  Settings come from the environment and from a .env file; the environment wins.
  Coachbot's home is COACHBOT_HOME if set (in the environment), else the folder
  of the nearest .env in the current directory or one of its parents, else the
  current directory. .env is read from the home, and a relative SQLite file in
  DATABASE_URL (the default, sqlite:///coachbot.db, included) or a relative
  COACHBOT_PLAYBOOK is taken relative to the home, not the current directory.
  Absolute paths and postgresql:// URLs are used as given. At start every
  command reports one line naming the database and the .env it uses."""


@functools.cache  # built once per process (~4 ms): parsing leaves it as it was, and tests run many commands
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coachbot",
        description="Coachbot: weekly, wiring-based sales coaching in Slack.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, description: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description or summary[0].upper() + summary[1:] + ".",
            epilog=SETTINGS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command(
        "run",
        "run the bot (Socket Mode by default)",
        "Run the bot: Socket Mode by default (needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN), or HTTP with\n"
        "--http (needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET). Applies database migrations first, and\n"
        "sends scheduled messages (nudges, reminders, closeouts, manager summaries) once a minute.",
    )
    run.add_argument("--http", action="store_true", help="serve POST /slack/events and GET /healthz instead")
    run.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    run.set_defaults(func=cmd_run)
    mig = command("migrate", "apply database schema migrations and exit")
    mig.set_defaults(func=cmd_migrate)
    imp = command("import", "import roster and assessment data from CSV or JSON")
    imp.add_argument("file", help="a .csv or .json file (columns in the README)")
    imp.add_argument("--team", help="Slack team id (default: the bot token's workspace)")
    imp.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    imp.set_defaults(func=cmd_import)
    met = command(
        "import-metrics",
        "import lagging numbers (quota attainment, pipeline) and employment events from CSV or JSON",
        "Import each rep's lagging numbers by week (2026-W45) or month (2026-11): quota attainment %,\n"
        "pipeline created, pipeline quality %; and employment events (start, exit). Reps must be on the\n"
        "roster. All or nothing; importing the same file again changes nothing. Columns in the README.",
    )
    met.add_argument("file", help="a .csv or .json file")
    met.add_argument("--team", help="Slack team id (default: the bot token's workspace)")
    met.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    met.set_defaults(func=cmd_import_metrics)
    dis = command(
        "dispatch",
        "send everything due once (nudges, reminders, closeouts, weekly manager summaries), then exit",
        "Send everything that is due once, then exit: practice nudges to reps, mid-window reminders,\n"
        "closeouts of finished commitments, and the weekly manager summaries. For cron, for catching up,\n"
        "and for tests; safe to run while `coachbot run` is running (each message goes out once).",
    )
    dis.add_argument("--now", help="act as if it were this ISO-8601 time (default: the real time)")
    dis.set_defaults(func=cmd_dispatch)
    exp = command(
        "export",
        "write diagnoses, commitments, check-ins and sessions to a CSV file, or one PIP's evidence pack",
        "Write a workspace's diagnoses, commitments, check-ins and coaching sessions to a CSV file\n"
        "(--team), or one PIP's evidence pack to a Markdown file (--pip ID; the PIP must belong to\n"
        "--team, or to the bot token's workspace when --team is left out).",
    )
    exp.add_argument("--team", help="Slack team id (T...); required without --pip")
    exp.add_argument("--pip", type=int, metavar="ID", help="write this PIP's evidence pack as Markdown instead")
    exp.add_argument("--since", help="only records from this date on (YYYY-MM-DD)")
    exp.add_argument("file", help="the CSV file to write")
    exp.set_defaults(func=cmd_export)
    add_commands(command, lambda: _announce(_settings([])))
    return parser


def _safe_url() -> str:
    """DATABASE_URL with any password hidden, for error lines."""
    try:
        return safe_database_url((_loaded[0] if _loaded else load_settings()).database_url)
    except Exception:
        return "DATABASE_URL"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _loaded.clear()
    try:
        return int(args.func(args))
    except SettingsError as exc:
        return _fail([f"configuration error: {p}" for p in exc.problems])
    except PlaybookError as exc:
        return _fail([f"playbook {exc.source}: {p}" for p in exc.problems])
    except DBAPIError as exc:
        return _fail([f"cannot use the database at {_safe_url()}: {str(exc.orig).strip().splitlines()[0][:200]}"], 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
