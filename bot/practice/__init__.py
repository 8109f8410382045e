"""The rep's week: nudges, check-ins, closeouts and pauses, with their schedule and views."""
