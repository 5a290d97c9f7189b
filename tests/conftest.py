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
if os.environ.get("PYTEST_XDIST_WORKER"):
    # each xdist worker (and the trainers it starts) gets its share of the cores: two workers of two torch threads
    # each on a 2-core machine oversubscribe it, and torch's CPU kernels then run several times slower
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))

pytest_plugins = [
    "tests.fixtures_evaluation",
    "tests.fixtures_video",
    "tests.fixtures_dataset",
    "tests.fixtures_training",
    "tests.fixtures_label_studio",
    "tests.fixtures_ops",
    "tests.fixtures_spotter",
    "tests.fixtures_review",
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


#: Session fixtures that take a minute or more to build (a trained adapter, a Label Studio server, rendered demo
#: data), most expensive first. ``make test`` runs two pytest-xdist workers (``-n 2 --dist loadgroup`` in
#: pyproject.toml), each with its own session: every test that uses one of these joins its group, so the fixture
#: is built on one worker only; any other test stays with its file, so module fixtures are built once too.
SHARED_FIXTURES = ("trained_root", "label_studio_server", "review_root", "spotter_splits", "demo_splits",
                   "demo_data_master")


def pytest_collection_modifyitems(items):
    for item in items:
        used = getattr(item, "fixturenames", ())
        group = next((name for name in SHARED_FIXTURES if name in used), item.nodeid.split("::")[0])
        item.add_marker(pytest.mark.xdist_group(group))
