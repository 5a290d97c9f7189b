"""annotation assets (placeholder until its issue lands)."""
