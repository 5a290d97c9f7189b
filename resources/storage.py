"""Where the project keeps its files and its clip manifest."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource


class DataDirResource(ConfigurableResource):
    """Data root (empty: ``FOOTBALL_DATA_DIR``, default ``./data``; ``DataLayout.at`` resolves it) and the
    sources manifest path."""

    root: str = ""
    manifest: str = ""  # default: $FOOTBALL_MANIFEST, else ./sources.yaml

    @property
    def manifest_path(self) -> Path:
        from resources import environment

        return Path(self.manifest).resolve() if self.manifest else environment.manifest_path()
