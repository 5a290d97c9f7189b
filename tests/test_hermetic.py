"""The tests never touch the user's own data directory, Dagster instance, manifest or Label Studio: the
autouse ``isolated_environment`` fixture (``tests/conftest.py``) points every such setting at a temporary
place, in this process and in every subprocess a test starts."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, UNSET


def _inside(path: str | Path, base: Path) -> bool:
    return Path(path).resolve().is_relative_to(base.resolve())


def test_settings_point_at_temporary_places(isolated_environment):
    from football_assets.core.layout import DataLayout
    from resources import DataDirResource

    base = isolated_environment
    assert _inside(DataLayout.from_env().root, base) and not _inside(DataLayout.from_env().root, ROOT)
    assert _inside(DataDirResource().manifest_path, base)
    assert _inside(os.environ["DAGSTER_HOME"], base)
    assert not any(name in os.environ for name in UNSET), [n for n in UNSET if n in os.environ]


def test_dagster_instance_is_a_temporary_one(isolated_environment):
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        assert _inside(instance.root_directory, isolated_environment)


def test_subprocesses_inherit_the_isolation(isolated_environment):
    code = "from football_assets.core.layout import DataLayout; print(DataLayout.from_env().root)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.strip()
    assert _inside(out, isolated_environment)
