"""Sensors, one module per thing watched."""
