"""The three levers a sales leader can pull (hiring, coaching, team composition): lagging numbers
beside the coached behaviors, the team's make-up, and the Fit Risk Diagnostic that says which leaks most."""
