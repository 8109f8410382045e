"""Similar past cases at /diagnose, and a second opinion when outcomes contradict the diagnosis."""
