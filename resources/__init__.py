"""Dagster ConfigurableResources: thin configuration wrappers around the plain-Python code."""

from .storage import DataDirResource

__all__ = ["DataDirResource"]
