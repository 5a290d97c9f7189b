"""Dagster ConfigurableResources: configuration only. Nothing here imports ``football_assets``; the
definitions in ``football_assets/defs/`` turn these settings into layouts, clients and commands."""

from .storage import DataDirResource

__all__ = ["DataDirResource"]
