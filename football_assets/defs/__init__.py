"""Dagster definitions, one folder per stage (ingest, annotation, dataset, training, evaluation), loaded by
``dg.load_from_defs_folder`` in ``football_assets/definitions.py``. Thin wiring: the logic is in ``football_assets/core``."""
