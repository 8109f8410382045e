"""The manager's view of a team: weekly summary, coaching time, App Home and export."""
