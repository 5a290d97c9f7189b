"""Shared pytest set-up. Each area keeps its fixtures in its own plugin module below."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")

pytest_plugins = [
    "tests.fixtures_evaluation",
    "tests.fixtures_video",
    "tests.fixtures_dataset",
    "tests.fixtures_training",
    "tests.fixtures_label_studio",
    "tests.fixtures_ops",
]
