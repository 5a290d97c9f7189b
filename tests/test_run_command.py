"""``football-events run`` on the user's own footage (the five real clips beside the checkout, unlabelled): it
ingests them, creates the Label Studio tasks when a server is configured, then stops with status 0 and says
what comes next, in a few lines and without a traceback. Run as the user runs it: its own process, the
project's dagster.yaml."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.fixtures_ops import make_dagster_home


def run_command(tmp_path: Path, clips: list[Path], data: Path, **env: str) -> subprocess.CompletedProcess:
    manifest = tmp_path / "sources.yaml"
    manifest.write_text("sources:\n" + "".join(f"  - path: {p}\n    source_id: match-{i}\n" for i, p in enumerate(clips)))
    home = make_dagster_home(tmp_path / "dagster_home")
    entry = "import sys; from football_assets.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", entry, "run"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(home),
                               "FOOTBALL_DATA_DIR": str(data), "FOOTBALL_MANIFEST": str(manifest), **env})


def test_own_footage_without_annotations_stops_cleanly_with_next_steps(tmp_path, real_clips):
    done = run_command(tmp_path, real_clips[:2], tmp_path / "data")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "ingest: 2 clips ok, 0 failed" in done.stdout, out
    assert "0 of 2 clips annotated" in done.stdout and "2 clips are waiting for annotation" in done.stdout, out
    assert "at least 3 matches" in done.stdout and "make label-studio" in done.stdout, out
    assert "Traceback" not in out and "Warning" not in out, out
    assert len(done.stdout.splitlines()) <= 12, out  # a screenful, not a log


def test_own_footage_with_label_studio_creates_tasks_then_stops(tmp_path, real_clips, label_studio_server):
    from football_assets.core.annotation.ls_client import LabelStudioClient

    data = label_studio_server.data_root / "own_footage"  # under the server's local-files document root
    done = run_command(tmp_path, real_clips[:2], data, LABEL_STUDIO_URL=label_studio_server.url,
                       LABEL_STUDIO_API_KEY=label_studio_server.token, LABEL_STUDIO_PROJECT="own footage")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Label Studio tasks: 2 in project" in done.stdout and "(2 new)" in done.stdout, out
    assert f"annotate the clips in Label Studio at {label_studio_server.url}" in done.stdout, out
    assert "Traceback" not in out, out
    client = LabelStudioClient(label_studio_server.url, label_studio_server.token, "own footage")
    assert len(client.tasks_by_clip(client.ensure_project())) == 2


def test_summary_names_what_was_built_how_good_and_what_next(tmp_path):
    """The closing lines of `football-events run`, from the report the graph wrote (its first table)."""
    from football_assets.cli.run import summary
    from football_assets.core.evaluation.store import reports_root
    from football_assets.core.fsutil import write_json
    from football_assets.core.layout import DataLayout

    layout = DataLayout(tmp_path / "data")
    product = [{"predictor": "cascade", "default": True, "what": "x", "f1": 0.912},
               {"predictor": "VLM only", "default": False, "what": "y", "f1": 0.431},
               {"predictor": "best trivial baseline: random", "default": False, "what": "z", "f1": None}]
    write_json(reports_root(layout) / "tiny-abc" / "report.json",
               {"model_version": "tiny-abc", "product": product, "metrics": {"threshold": 0.5}, "n_samples": {"test": 102}})
    (reports_root(layout) / "LATEST").write_text("tiny-abc\n")
    text = "\n".join(summary(layout, 421.0, "run-1"))
    assert "done in 7 min 01 s" in text and "(tiny-abc)" in text and "report.html" in text
    assert "done in 8 min 00 s" in "\n".join(summary(layout, 479.6, "run-1"))  # rounded once, never "7 min 60 s"
    assert "cascade (what analyze runs)" in text and "0.91" in text and "0.43" in text and "n/a" in text
    assert "make dev" in text and "football-events analyze" in text and "logs/run-1.log" in text


def test_a_background_run_keeps_its_children_stoppable(tmp_path):
    """Started with SIGINT ignored (as `cmd &` in a script or CI starts it), a run that executes Dagster jobs must
    not leave SIGTERM ignored for its children: Dagster stops its compute-log tails with SIGTERM."""
    (tmp_path / "sources.yaml").write_text("sources: []\ndemo: {clips: 1, seed: 0}\n")
    code = ("import signal\nfrom dagster import DagsterInstance\nfrom football_assets.cli import run\n"
            "from resources import DataDirResource\nimport sys\n"
            "if sys.argv[1] == 'guard':\n    run.keep_children_stoppable()\n"
            "with DagsterInstance.get() as instance:\n"
            "    keys = run.register_partitions(instance, DataDirResource())\n"
            "    assert not run.ingest_all(keys, 1, instance=instance, progress=False)\n"
            "print('SIGTERM ignored' if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN else 'SIGTERM handled')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FOOTBALL_MANIFEST": str(tmp_path / "sources.yaml")}
    said = {}
    for mode in ("no guard", "guard"):  # the first shows the problem is real here, the second that the guard fixes it
        env.update(DAGSTER_HOME=str(make_dagster_home(tmp_path / mode / "home")), FOOTBALL_DATA_DIR=str(tmp_path / mode / "data"))
        done = subprocess.run([sys.executable, "-c", code, mode], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        assert done.returncode == 0, done.stdout + done.stderr
        said[mode] = done.stdout.strip().splitlines()[-1]
    assert said == {"no guard": "SIGTERM ignored", "guard": "SIGTERM handled"}, said
