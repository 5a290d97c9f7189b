"""football-events: football video -> fine-tuned video-language model, as a Dagster asset graph.

``football_assets.core`` holds the plain-Python code (video, dataset, training, metrics) and never
imports Dagster; the rest of this package is the Dagster wiring (``definitions.defs``).
"""
