"""Performance improvement plans as coaching documents: readiness checked rule by rule, never a
cover for a seat or wiring problem."""
