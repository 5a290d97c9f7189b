"""training assets (placeholder until its issue lands)."""
