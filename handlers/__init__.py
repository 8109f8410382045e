"""Slack listeners, grouped by kind. Each module has a `register(app, ctx)`."""

from slack_bolt import App

from bot.context import AppContext


def register_all(app: App, ctx: AppContext) -> None:
    from handlers import actions, checkins, commands, diagnose, events, fallback, manager

    commands.register(app, ctx)
    diagnose.register(app, ctx)
    actions.register(app, ctx)
    checkins.register(app, ctx)
    manager.register(app, ctx)
    events.register(app, ctx)
    fallback.register(app, ctx)  # last: only what nothing else handled
