"""Where the project keeps its files and its clip manifest."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource

from football_assets.core.layout import DataLayout, default_root


class DataDirResource(ConfigurableResource):
    """Data root (``FOOTBALL_DATA_DIR``, default ``./data``) and the sources manifest path."""

    root: str = ""
    manifest: str = ""  # default: $FOOTBALL_MANIFEST, else ./sources.yaml

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.root).resolve() if self.root else default_root())

    @property
    def manifest_path(self) -> Path:
        return Path(self.manifest or os.environ.get("FOOTBALL_MANIFEST", "sources.yaml")).resolve()
