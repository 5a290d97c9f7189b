"""Re-training sensors (placeholder)."""
