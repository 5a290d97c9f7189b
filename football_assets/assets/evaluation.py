"""evaluation assets (placeholder until its issue lands)."""
