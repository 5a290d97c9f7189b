"""Schedules (re-training)."""
