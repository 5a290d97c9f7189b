"""The event spotter: a cheap per-frame model (2D CNN + temporal model) that scores every frame for the
eight event classes, decoded into spots with confidences and into intervals; plain Python, no Dagster."""
