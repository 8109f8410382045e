"""`coachbot purge` and `coachbot playbook`, and what the other commands need in OAuth mode (a workspace's
own client, the dispatcher's per-workspace clients). The parsers are added by `bot.cli`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.context import AppContext

TEAM_ID_RE = re.compile(r"T[A-Z0-9]{2,31}")
OAUTH_NEEDS_TEAM = "--team T is needed when SLACK_CLIENT_ID is set: each workspace has its own token"


def team_client(settings: Settings, team: str | None) -> WebClient:
    """The client a one-shot command talks to Slack with: SLACK_BOT_TOKEN's, or (OAuth mode) `team`'s."""
    from bot.slack.client import make_web_client

    if not settings.oauth:
        return make_web_client(settings)
    if not team:
        raise SettingsError([OAUTH_NEEDS_TEAM])
    from bot.slack.installs import NotInstalled, build_installs
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        return build_installs(settings, engine).clients.get(team)
    except NotInstalled:
        raise SettingsError([f"workspace {team} has no installation: install Coachbot there first"]) from None


def dispatch_clients(ctx: AppContext) -> Callable[[str], WebClient] | None:
    """The dispatcher's client per workspace in OAuth mode (None: the one SLACK_BOT_TOKEN client)."""
    if not ctx.settings.oauth:
        return None
    from bot.slack.installs import build_installs

    installs = ctx.installs = ctx.installs or build_installs(ctx.settings, ctx.engine)
    return lambda team_id: installs.clients.get(team_id, "dispatch")


def _team(value: str) -> str:
    """A Slack team id (T...), or a SettingsError naming what was given (shortened, printable)."""
    if not TEAM_ID_RE.fullmatch(value or ""):
        shown = value[:40].encode("ascii", "backslashreplace").decode() + ("..." if len(value) > 40 else "")
        raise SettingsError(
            [f"--team '{shown}' is not a Slack team id (T followed by capitals and digits, like T0123ABCD)"]
        )
    return value


def _refuse(line: str) -> int:
    print(f"coachbot: {line}", file=sys.stderr)
    return 1


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from bot.install.flows import purge_expired, purge_team
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.purge import is_installed

    if bool(args.team is not None) == bool(args.expired):
        raise SettingsError(["purge needs either --team T or --expired"])
    team = None if args.expired else _team(args.team)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if team is None:
        purged = purge_expired(engine, settings.retention_days, dry_run=args.dry_run)
        rows = "".join(f"\n  {t}: {n} row(s)" for t, n in purged.items())
        if args.dry_run:
            days, teams = settings.retention_days, ", ".join(purged) or "none"
            print(f"dry run, nothing deleted. {len(purged)} workspace(s) past {days} days: {teams}{rows}")
        else:
            print(f"purged {len(purged)} workspace(s) uninstalled more than {settings.retention_days} days ago{rows}")
        return 0
    installed = is_installed(engine, team)
    if installed and not args.dry_run and not args.even_if_installed:
        return _refuse(
            f"workspace {team} is still installed; nothing was deleted. Uninstall Coachbot there first (its data "
            "is then deleted after COACHBOT_RETENTION_DAYS, or at once by this command), or add --even-if-installed "
            "to delete its data and tokens now"
        )
    counts = purge_team(engine, team, args.dry_run)
    detail = "".join(f"\n  {table}: {n}" for table, n in sorted(counts.items()))
    verb = "would delete" if args.dry_run else "deleted"
    print(
        ("dry run, nothing deleted. " if args.dry_run else "")
        + f"{verb} {sum(counts.values())} row(s) of workspace {team}"
        + (" (still installed: a real purge needs --even-if-installed)" if installed and args.dry_run else "")
        + (detail or " (it has none)")
    )
    return 0


def cmd_playbook(args: argparse.Namespace, settings: Settings) -> int:
    from bot.install.flows import set_playbook
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.purge import is_installed

    if bool(args.file) == bool(args.default):
        raise SettingsError(["playbook needs a FILE, or --default to go back to the shared playbook"])
    team = _team(args.team)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if args.file and not is_installed(engine, team):
        return _refuse(f"workspace {team} is not installed: nothing was changed (is the team id right?)")
    chosen = set_playbook(engine, team, None if args.default else args.file)
    if args.default:
        print(f"workspace {team} uses the shared playbook again ({settings.playbook_path or 'the default'})")
    else:
        print(
            f"workspace {team} now uses {args.file}: {len(chosen.archetypes)} archetype(s), "
            f"{len(chosen.gaps)} gap(s); running bots pick it up within a minute"
        )
    return 0


def add_commands(command: Callable[..., argparse.ArgumentParser], load: Callable[[], Settings]) -> None:
    """The parsers of `purge` and `playbook`; `load()` reads (and announces) the settings."""
    pur = command(
        "purge",
        "delete every row of a workspace now (--team T), or of workspaces uninstalled too long ago (--expired)",
        "Delete a workspace's data from every table: at once with --team T (--dry-run counts the rows per\n"
        "table and deletes nothing), or for every workspace uninstalled more than COACHBOT_RETENTION_DAYS\n"
        "ago with --expired (the running bot also does this once an hour). A reinstall before then keeps it.\n"
        "A workspace that still has Coachbot installed is refused unless --even-if-installed is given.",
    )
    pur.add_argument("--team", help="Slack team id (T...) whose data goes now")
    pur.add_argument("--expired", action="store_true", help="every workspace past the retention period")
    pur.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    pur.add_argument(
        "--even-if-installed",
        action="store_true",
        help="with --team: purge a workspace that still has Coachbot installed (its tokens go too)",
    )
    pur.set_defaults(func=lambda args: cmd_purge(args, load()))
    pla = command(
        "playbook",
        "give one workspace its own playbook (or --default for the shared one)",
        "Check a playbook file and make it one workspace's own (many workspaces, one database): its\n"
        "archetypes, gaps, drills and prompts apply to that workspace only, in every running bot within a\n"
        "minute. --default goes back to the shared one (COACHBOT_PLAYBOOK, or the shipped playbook).",
    )
    pla.add_argument("--team", required=True, help="Slack team id (T...)")
    pla.add_argument("file", nargs="?", help="the playbook YAML file")
    pla.add_argument("--default", action="store_true", help="use the shared playbook again")
    pla.set_defaults(func=lambda args: cmd_playbook(args, load()))
