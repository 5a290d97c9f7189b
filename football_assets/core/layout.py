"""Where every stage keeps its files under the data root (``FOOTBALL_DATA_DIR``, default ``./data``).

Assets pass paths, not in-memory objects: a trainer in a pod or under torchrun reads the same layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_root() -> Path:
    """``FOOTBALL_DATA_DIR`` (default ``./data``), as ``resources.environment`` reads it."""
    from resources import environment

    return environment.data_dir()


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @classmethod
    def from_env(cls) -> "DataLayout":
        return cls(default_root())

    @classmethod
    def at(cls, root: str | os.PathLike = "") -> "DataLayout":
        """The layout under ``root``; empty means ``FOOTBALL_DATA_DIR`` (default ``./data``)."""
        return cls(Path(root).resolve() if str(root) else default_root())

    def _dir(self, name: str) -> Path:
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def sources_dir(self) -> Path:
        """One JSON per registered clip: the resolved ``ClipSource`` its partition was created from."""
        return self._dir("sources")

    @property
    def raw_dir(self) -> Path:
        return self._dir("raw")

    @property
    def clips_dir(self) -> Path:
        """4 fps model clips ``<key>.mp4`` with ``<key>.json`` facts beside them."""
        return self._dir("clips_4fps")

    @property
    def labels_dir(self) -> Path:
        """Label Studio JSON export files read by the embedded (serverless) annotations path."""
        return self._dir("labels")

    @property
    def annotations_dir(self) -> Path:
        return self._dir("annotations")

    @property
    def splits_dir(self) -> Path:
        return self._dir("splits")

    @property
    def models_dir(self) -> Path:
        return self._dir("models")

    @property
    def reports_dir(self) -> Path:
        return self._dir("reports")

    @property
    def adapter_dir(self) -> Path:
        """The current LoRA adapter (``lora_adapter``), replaced atomically by each training run."""
        return self.models_dir / "lora_adapter"

    @property
    def spotter_dir(self) -> Path:
        """The current event spotter (``event_spotter``): weights, config and val-chosen thresholds."""
        return self.models_dir / "event_spotter"

    @property
    def predictions_file(self) -> Path:
        """The adapter's events on unannotated clips (``predictions``), read as Label Studio pre-annotations."""
        return self.root / "predictions" / "latest.json"

    @property
    def index_file(self) -> Path:
        """The event index (``event_index``): SQLite + FTS5 over truth and model events, queried by
        ``football-events search`` or directly with ``sqlite3``."""
        return self._dir("index") / "events.sqlite"

    @property
    def analyses_dir(self) -> Path:
        """``football-events analyze --index`` results, kept so the index can be rebuilt from them."""
        return self._dir("analyses")

    @property
    def incoming_dir(self) -> Path:
        """Videos waiting to be analysed from the review page (uploads land here, or drop files in)."""
        return self._dir("incoming")

    @property
    def highlights_dir(self) -> Path:
        """Highlight reels built from the review page."""
        return self._dir("highlights")

    def raw_clip(self, key: str) -> Path:
        return self.raw_dir / f"{key}.mp4"

    def clip(self, key: str) -> Path:
        return self.clips_dir / f"{key}.mp4"

    def clip_facts(self, key: str) -> Path:
        return self.clips_dir / f"{key}.json"

    def source_file(self, key: str) -> Path:
        return self.sources_dir / f"{key}.json"
