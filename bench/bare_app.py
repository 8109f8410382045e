"""A bare Bolt app whose handlers only ack(), served exactly like Coachbot (waitress, same WSGI path).
The baseline for acknowledgement latency."""

from __future__ import annotations

import logging
import os
import sys

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack.http_server import serve


def main() -> None:
    logging.basicConfig()  # as waitress.serve() does, so the server logs the same way it did before
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @app.command("/diagnose")
    def diagnose(ack):
        ack()

    @app.action("checkin_log")
    def checkin(ack):
        ack()

    handler = SlackRequestHandler(app)
    serve(lambda environ, start_response: handler(environ, start_response), "127.0.0.1", int(sys.argv[1]))


if __name__ == "__main__":
    main()
