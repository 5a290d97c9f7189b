"""``football-events run`` (``demo`` is the same command): the whole asset graph on the manifest's clips, told
to a person reading the console.

1. Every clip of ``sources.yaml`` (the built-in synthetic demo when it lists none) becomes a partition and is
   ingested in batched runs: a progress bar over the clips, one ``clip: cause`` line per failed clip.
2. With a Label Studio server configured, its tasks are created.
3. When enough clips are annotated (the demo's ground truth, export files under ``<data>/labels/`` or a
   server's submitted annotations: ``core/annotation/readiness.py``), the downstream graph runs in one run:
   one line per stage with what it made and its time, a progress bar where the work is long. Otherwise the
   command stops with status 0 and says what comes next.
4. A summary: the headline figures, where the report is, what to run next.

Everything lands in the project's Dagster instance (``DAGSTER_HOME``), so the UI shows the same
materializations, checks and lineage. Tracebacks and per-step logs stay in the Dagster event log and in
``<data>/logs/<run id>.log``; the console gets one line per failure.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from dagster import AssetKey, DagsterEventType, DagsterInstance, RunsFilter, execute_job, reconstructable

from football_assets.core.annotation.readiness import MIN_MATCHES, annotated_clip_ids, readiness
from football_assets.core.ingest import batch, catalog
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.partitions import CLIPS_PER_RUN, clip_partitions, clip_ranges
from football_assets.defs.ingest.sensors import resolve_sources
from resources import DataDirResource, environment

#: Dagster's console logger: warnings only (the stage lines below say what happened); the in-process executor
#: runs the steps one after another in this process (no per-step interpreter start-up).
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}, "execution": {"config": {"in_process": {}}}}
INGEST_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failed clips: one line each, below

#: Stage names as people say them, in graph order.
STAGES = {
    "label_studio_tasks": "Label Studio tasks", "annotations": "annotations", "sft_splits": "SFT splits",
    "event_spotter": "event spotter", "lora_adapter": "LoRA adapter", "evaluation_report": "evaluation report",
    "predictions": "predictions", "label_studio_predictions": "pre-annotations", "event_index": "event index",
}

#: Per stage, the materialization metadata that says what it made (``(key, label)``; shown when present).
SAYS = {
    "label_studio_tasks": (("mode", ""), ("tasks_created", "tasks created")),
    "annotations": (("annotated_clips", "annotated clips"), ("events", "events")),
    "sft_splits": (("train", "train"), ("val", "val"), ("test", "test")),
    "event_spotter": (("skipped", "unchanged, skipped"), ("val_tight_a_mAP", "val tight a-mAP")),
    "lora_adapter": (("skipped", "unchanged, skipped"), ("final_loss", "final loss"), ("steps", "steps")),
    "evaluation_report": (("eval/cascade_f1", "cascade event F1"), ("eval/micro_f1", "VLM event F1")),
    "predictions": (("clips", "clips"), ("events", "events")),
    "label_studio_predictions": (("mode", ""), ("predictions_added", "added")),
    "event_index": (("rows", "events indexed"),),
}

#: A progress message a stage logs (``"<what>: <done>/<total> <unit>"``): drives the stage's progress bar.
PROGRESS = re.compile(r"(?P<done>\d+)/(?P<total>\d+) (?P<unit>samples|steps|clips|windows)\b")


def _ingest_job():
    """The ingest job from the ingest assets alone: importing the whole code location (Label Studio SDK,
    pandas, the trainer) would cost the CLI seconds before the first clip."""
    from dagster import Definitions

    from football_assets.defs.ingest.assets import ingest_clips
    from football_assets.defs.ingest.jobs import ingest_job

    return Definitions(assets=[ingest_clips], jobs=[ingest_job], resources={"storage": DataDirResource()}) \
        .resolve_job_def("ingest_job")


def _training_job():
    from football_assets.definitions import defs

    return defs.resolve_job_def("training_job")


def _first_error(result) -> str:
    for ev in result.all_events:
        if ev.is_step_failure and ev.step_failure_data and ev.step_failure_data.error:
            return ev.step_failure_data.error.message.strip().splitlines()[0]
    return "run failed"


# ---------------------------------------------------------------------------------------------------
# Ingest


def ingest_range(instance: DagsterInstance, first: str, last: str, workers: int | None = None):
    """One ingest run over the clip partitions ``first``..``last`` (the tags a backfill run carries)."""
    run_config = {**INGEST_QUIET, "ops": {"ingest_clips": {"config": {"workers": workers or 0}}}}
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return execute_job(reconstructable(_ingest_job), instance=instance, run_config=run_config, tags=tags,
                       raise_on_error=False)


def register_partitions(instance: DagsterInstance, storage: DataDirResource) -> list[str]:
    sources = resolve_sources(storage)
    catalog.register(DataLayout.at(storage.root), sources)
    keys = [s.key for s in sources]
    known = set(instance.get_dynamic_partitions(clip_partitions.name))
    missing = [k for k in keys if k not in known]
    if missing:
        instance.add_dynamic_partitions(clip_partitions.name, missing)
    return keys


def up_to_date(instance: DagsterInstance, keys: list[str], layout) -> set[str]:
    """Clips already materialized in this instance (both assets) whose files are current on disk: a
    re-run skips them, as "materialize missing" would, so it records and encodes nothing for them."""
    done = set(instance.get_materialized_partitions(AssetKey("raw_clips"))) & \
        set(instance.get_materialized_partitions(AssetKey("clips_4fps")))
    return {k for k in keys if k in done and catalog.is_current(layout, k)}


def ingest_all(keys: list[str], workers: int | None = None, log=print, progress: bool = True,
               skip_current: bool = True, instance: DagsterInstance | None = None) -> dict[str, str]:
    """Ingest the clips that are not up to date in runs of at most ``CLIPS_PER_RUN``; return {key: cause}
    for the clips that failed."""
    if instance is None:
        with DagsterInstance.get() as instance:
            return ingest_all(keys, workers, log, progress, skip_current, instance)
    from tqdm import tqdm

    failed: dict[str, str] = {}
    done: set[str] = set()
    if skip_current:
        current = up_to_date(instance, keys, DataLayout.at(DataDirResource().root))
        if current:
            log(f"{len(current)} of {len(keys)} clips up to date (materialized, files unchanged)")
        keys = [k for k in keys if k not in current]
    if not keys:
        return failed
    bar = tqdm(total=len(keys), unit="clip", desc="ingest", disable=not progress or None, leave=False)

    def report(outcome: batch.ClipOutcome) -> None:
        done.add(outcome.key)
        if not outcome.ok:
            failed[outcome.key] = outcome.cause
            (bar.write if progress else log)(outcome.line)
        bar.update(1)

    batch.PROGRESS_LISTENERS.append(report)
    try:
        registered = instance.get_dynamic_partitions(clip_partitions.name)
        for first, last in clip_ranges(keys, registered, CLIPS_PER_RUN):
            result = ingest_range(instance, first, last, workers)
            if not result.success:  # clips the run never reached (it failed before them) fail with its error
                span = registered[registered.index(first):registered.index(last) + 1]
                for key in (k for k in span if k not in done):
                    report(batch.ClipOutcome(key, failed_step="run", cause=_first_error(result)))
    finally:
        batch.PROGRESS_LISTENERS.remove(report)
        bar.close()
    return failed


# ---------------------------------------------------------------------------------------------------
# Downstream graph, one line per stage


def failure_cause(data) -> str:
    """One line for a failed step: a ``Failure``'s description, else the innermost exception's message."""
    if data is None:
        return "failed"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip().splitlines()[0]
    err = data.error
    while err is not None and err.cause is not None:
        err = err.cause
    if err is None:
        return "failed"
    return f"{err.cls_name}: {(err.message.strip().splitlines() or [''])[0].split(': ', 1)[-1]}"


def _says(asset: str, metadata: dict) -> str:
    """What a stage made, from its materialization metadata (``SAYS``)."""
    parts = []
    for key, label in SAYS.get(asset, ()):
        if key not in metadata:
            continue
        value = getattr(metadata[key], "value", metadata[key])
        if key == "skipped":
            if value:
                return label
            continue
        if isinstance(value, float):
            value = f"{value:.3f}"
        parts.append(f"{label} {value}".strip() if label else str(value))
    return ", ".join(parts)


class StageConsole:
    """Prints one line per finished stage and, on a terminal, a progress bar while a long stage reports
    ``done/total`` progress. Fed with the run's event records as they arrive."""

    def __init__(self, out=sys.stdout):
        self.out, self.started, self.says, self.bar, self.failed = out, {}, {}, None, {}
        self.n, self.ended = len(STAGES), 0  # stages are numbered in the order they end (independent ones may swap)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def feed(self, entry) -> None:
        ev, step = entry.dagster_event, entry.step_key
        if ev is None:  # a log message: progress of the running stage
            m = PROGRESS.search(entry.user_message or "")
            if m and step in STAGES:
                from tqdm import tqdm

                total, done = int(m["total"]), int(m["done"])
                if self.bar is None or self.bar.total != total:
                    self._close_bar()
                    self.bar = tqdm(total=total, unit=m["unit"].rstrip("s"), desc=f"  {STAGES[step]}", leave=False,
                                    file=self.out, disable=None)
                self.bar.update(done - self.bar.n)
            return
        kind = ev.event_type
        if kind == DagsterEventType.STEP_START:
            self.started[step] = entry.timestamp
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            mat = ev.event_specific_data.materialization
            self.says[mat.asset_key.to_user_string()] = _says(mat.asset_key.to_user_string(), dict(mat.metadata))
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and step in STAGES:
            self._close_bar()
            took = entry.timestamp - self.started.get(step, entry.timestamp)
            self.ended += 1
            i = self.ended
            if kind == DagsterEventType.STEP_SUCCESS:
                line = f"{i}/{self.n} {STAGES[step]:<19} {self.says.get(step, '')}"
            else:
                cause = failure_cause(ev.step_failure_data)
                self.failed[step] = cause
                line = f"{i}/{self.n} {STAGES[step]:<19} FAILED: {cause}"
            print(f"{line.rstrip():<78} {took:5.0f} s", file=self.out, flush=True)
        elif kind == DagsterEventType.STEP_SKIPPED and step in STAGES:
            self.ended += 1
            print(f"{self.ended}/{self.n} {STAGES[step]:<19} not run (a stage before it failed)", file=self.out, flush=True)


def run_downstream(layout: DataLayout, console: StageConsole, poll_s: float = 0.5) -> tuple[bool, str | None]:
    """The downstream graph in one run, its events fed to ``console`` as they arrive; ``(success, run_id)``.
    The run's whole event log is written to ``<data>/logs/<run id>.log``."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the stage line has its own bar; model loading in evaluation would draw another
    tag = {"football/console": uuid.uuid4().hex}
    outcome: dict = {}

    def target() -> None:
        try:
            with DagsterInstance.get() as instance:
                outcome["result"] = execute_job(reconstructable(_training_job), instance=instance, run_config=RUN_CONFIG,
                                                tags=tag, raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - reported as the run's failure below
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="downstream-run", daemon=True)
    worker.start()
    run_id, cursor = None, None
    with DagsterInstance.get() as instance:
        while True:
            alive = worker.is_alive()
            if run_id is None:
                runs = instance.get_runs(RunsFilter(tags=tag), limit=1)
                run_id = runs[0].run_id if runs else None
            if run_id is not None:
                conn = instance.get_records_for_run(run_id, cursor=cursor)
                cursor = conn.cursor
                for record in conn.records:
                    console.feed(record.event_log_entry)
            if not alive:
                break
            time.sleep(poll_s)
        if run_id is not None:
            write_log(instance, run_id, layout)
    if "error" in outcome:
        console.failed["run"] = f"{type(outcome['error']).__name__}: {outcome['error']}"
        return False, run_id
    return outcome["result"].success, run_id


def log_file(layout: DataLayout, run_id: str) -> Path:
    return layout.root / "logs" / f"{run_id}.log"


def write_log(instance: DagsterInstance, run_id: str, layout: DataLayout) -> Path:
    """The run's whole event log (every stage's messages, tracebacks included) as text."""
    from football_assets.core.fsutil import atomic_path

    dest = log_file(layout, run_id)
    dest.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for e in instance.all_logs(run_id):
        when = time.strftime("%H:%M:%S", time.localtime(e.timestamp))
        what = e.dagster_event.event_type_value if e.dagster_event else "LOG"
        lines.append(f"{when} {e.level if isinstance(e.level, str) else e.level:<5} {e.step_key or '-':<24} {what}: "
                     f"{e.message or e.user_message}")
        err = e.dagster_event.step_failure_data.error if e.dagster_event and e.dagster_event.is_step_failure \
            and e.dagster_event.step_failure_data else None
        if err is not None:
            lines.append(err.to_string())
    with atomic_path(dest) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return dest


# ---------------------------------------------------------------------------------------------------
# Own footage: are there annotations to train on?


def annotation_state(layout: DataLayout, clips: list[dict]):
    """``(readiness, where)``: the clips with ground truth now, from the configured Label Studio server or
    the export files under ``<data>/labels/`` (and the demo's own)."""
    url, key = environment.label_studio()
    if url and key:
        from football_assets.core.annotation import snapshots
        from football_assets.core.annotation.ls_client import LabelStudioClient

        client = LabelStudioClient(url, key, environment.label_studio_project())
        tasks = snapshots.parse_export(client.export(client.ensure_project()), f"Label Studio at {url}")
        return readiness(clips, annotated_clip_ids(layout, clips, tasks)), f"Label Studio at {url}"
    return readiness(clips, annotated_clip_ids(layout, clips)), f"export files under {layout.labels_dir}"


def push_tasks(layout: DataLayout) -> str:
    """Create the Label Studio tasks of new clips (the ``label_studio_tasks`` asset alone); one line."""
    with DagsterInstance.get() as instance:
        result = execute_job(reconstructable(_training_job), instance=instance, run_config=RUN_CONFIG,
                             asset_selection=[AssetKey("label_studio_tasks")], raise_on_error=False)
    if not result.success:
        return f"Label Studio tasks: FAILED: {_first_error(result)}"
    mat = result.asset_materializations_for_node("label_studio_tasks")
    md = dict(mat[0].metadata) if mat else {}
    value = lambda k: getattr(md.get(k), "value", md.get(k))  # noqa: E731
    return f"Label Studio tasks: {value('tasks')} in project {value('project_id')} at {value('url')} " \
           f"({value('tasks_created')} new)"


def next_steps_without_annotations(state, where: str, layout: DataLayout) -> list[str]:
    """What the user does next when too few matches are annotated to train on."""
    url, key = environment.label_studio()
    lines = [f"annotations: {state.annotated_clips} of {state.clips} clips annotated ({state.annotated_matches} "
             f"matches) in {where}; {state.waiting} clips are waiting for annotation.",
             f"Training needs annotated clips from at least {MIN_MATCHES} matches (one each for train, val and test; "
             "every event class in train), so the graph stops here. Next:"]
    if not (url and key):
        lines += ["  1. start Label Studio:  export LABEL_STUDIO_PASSWORD=... LABEL_STUDIO_USER_TOKEN=...; make label-studio",
                  "  2. point the pipeline at it:  export LABEL_STUDIO_URL=http://127.0.0.1:8080 "
                  "LABEL_STUDIO_API_KEY=$LABEL_STUDIO_USER_TOKEN",
                  "  3. run this command again: it creates one task per clip",
                  "  4. annotate in the browser (docs/annotating.md), then run it again to train",
                  f"  (or put Label Studio JSON exports in {layout.labels_dir})"]
    else:
        lines += [f"  1. annotate the clips in Label Studio at {url} (docs/annotating.md)",
                  "  2. run this command again: it trains once enough matches are annotated"]
    lines.append("docs/own_footage.md walks through the whole loop.")
    return lines


# ---------------------------------------------------------------------------------------------------
# Summary


def summary(layout: DataLayout, seconds: float, run_id: str | None) -> list[str]:
    """What was built, how good it is (the report's first table) and what to run next."""
    from football_assets.core.evaluation.store import reports_root
    from football_assets.core.fsutil import read_json

    minutes, secs = divmod(round(seconds), 60)  # round once: 479.6 s is "8 min 00 s", not "7 min 60 s"
    lines = [f"done in {minutes} min {secs:02d} s. Built under {layout.root}:"]
    latest = reports_root(layout) / "LATEST"
    rep = read_json(reports_root(layout) / latest.read_text().strip() / "report.json") if latest.exists() else None
    lines += [f"  adapter   {layout.adapter_dir}" + (f" ({rep['model_version']})" if rep else ""),
              f"  spotter   {layout.spotter_dir}"]
    if rep:
        lines.append(f"  report    {reports_root(layout) / latest.read_text().strip() / 'report.html'}")
    lines.append(f"  index     {layout.index_file}")
    if rep and rep.get("product"):
        lines.append(f"How good it is (test split, {rep.get('n_samples', {}).get('test', '?')} samples; "
                     f"event F1 at tIoU {rep['metrics']['threshold']}):")
        for row in rep["product"]:
            name = row["predictor"] + (" (what analyze runs)" if row["default"] else "")
            f1 = "n/a" if row.get("f1") is None else f"{row['f1']:.2f}"
            lines.append(f"  {name:<52} {f1}")
    lines += ["Next:",
              "  make dev                                       the Dagster UI: asset graph, checks, runs (127.0.0.1:3000)",
              "  football-events analyze VIDEO --out events.json   events of any video (the cascade)",
              '  football-events search "header from a corner"      moments across the library']
    if run_id:
        lines.append(f"Full log: {log_file(layout, run_id)}")
    return lines


def keep_children_stoppable() -> None:
    """Started in the background (`cmd &` in a script, CI), SIGINT is ignored, and Dagster maps SIGTERM to SIGINT's
    handler while it executes, so SIGTERM became ignored too, in every child. Dagster stops its compute-log `tail`
    processes with SIGTERM: each run then waited 2 x 30 s for them at its end and left them running. So an ignored
    SIGINT gets Python's default handler back (main thread only)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="football-events run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=0, help="clips ingested at once (default: the cores)")
    parser.add_argument("--ingest-only", action="store_true", help="stop after raw_clips and clips_4fps")
    args = parser.parse_args(argv)
    t0 = time.time()
    keep_children_stoppable()
    storage = DataDirResource()
    layout = DataLayout.at(storage.root)
    with DagsterInstance.get() as instance:
        keys = register_partitions(instance, storage)
        print(f"{len(keys)} clips from {storage.manifest_path}" + ("" if Path(storage.manifest_path).exists()
                                                                   else " (none there: the built-in demo)"))
        failed = ingest_all(keys, args.workers or None, instance=instance)
    print(f"ingest: {len(keys) - len(failed)} clips ok, {len(failed)} failed ({time.time() - t0:.0f} s)", flush=True)
    if args.ingest_only or len(failed) == len(keys):
        return 1 if len(failed) == len(keys) else 0
    clips = catalog.list_clips(layout)
    url, key = environment.label_studio()
    state, where = annotation_state(layout, clips)
    if not state.ready:
        if url and key:
            print(push_tasks(layout))
        for line in next_steps_without_annotations(state, where, layout):
            print(line)
        return 0
    console = StageConsole()
    ok, run_id = run_downstream(layout, console)
    if not ok:
        stages = ", ".join(STAGES.get(k, k) for k in console.failed) or "the run"
        print(f"stopped: {stages} failed" + (f"; full log: {log_file(layout, run_id)}" if run_id else ""))
        if "run" in console.failed:
            print(console.failed["run"])
        return 1
    for line in summary(layout, time.time() - t0, run_id):
        print(line)
    return 0
