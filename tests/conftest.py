"""Shared pytest set-up. Each area keeps its fixtures in its own plugin module below.

Hermetic by default: before any test or fixture runs, every setting the project reads from the environment
points at a temporary place (data directory, Dagster instance, manifest) or is unset (Label Studio server,
model, GPU profile, retraining knobs), so no test reads or writes the user's ``data/``, ``.dagster/``,
``sources.yaml`` or Label Studio, whatever ``make`` or the shell exported. A test that needs its own values
sets them with ``monkeypatch`` as before. ``tests/test_hermetic.py`` proves it.
"""

import os
import sys
from pathlib import Path

import pytest

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

#: Settings that would connect a test to the user's own services or choose another model: unset for tests.
UNSET = ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_PROJECT", "LABEL_STUDIO_PROJECT_ID", "FOOTBALL_MODEL", "COSMOS_REASON1_PATH", "FOOTBALL_GPU_PROFILE",
         "FOOTBALL_TRAIN_LAUNCHER", "FOOTBALL_GPUS", "FOOTBALL_RETRAIN_AFTER", "FOOTBALL_RETRAIN_CRON",
         "FOOTBALL_RETRAIN_TZ", "FOOTBALL_INGEST_WORKERS", "DAGSTER_PIPES_CONTEXT")


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """The user's data directory, Dagster instance and manifest replaced by temporary ones for the session."""
    base = tmp_path_factory.mktemp("isolated")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FOOTBALL_DATA_DIR", str(base / "data"))
        mp.setenv("DAGSTER_HOME", str(base / "dagster_home"))
        mp.setenv("FOOTBALL_MANIFEST", str(base / "sources.yaml"))
        for name in UNSET:
            mp.delenv(name, raising=False)
        (base / "dagster_home").mkdir()
        yield base
