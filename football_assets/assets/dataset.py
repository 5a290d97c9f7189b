"""dataset assets (placeholder until its issue lands)."""
