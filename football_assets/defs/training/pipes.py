"""Launching a trainer out of process through Dagster Pipes, shared by ``lora_adapter`` and ``event_spotter``:
the repository root on the child's ``PYTHONPATH``, rank 0's reported metrics back as metadata, and the
loss curve inlined as a picture."""

import base64
import json
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from dagster import AssetExecutionContext, Failure, MetadataValue, PipesMessageReader, PipesSubprocessClient
from dagster_pipes import PipesDefaultMessageWriter

from football_assets.core.training.launch import launch_env
from football_assets.core.training.progress import TRAINER_LOG
from resources import environment

REPO_ROOT = Path(__file__).resolve().parents[3]


class WholeLineMessageReader(PipesMessageReader):
    """Dagster's file message reader, except that a message is parsed only once its whole line is written.

    The stock reader (dagster 1.13) parses whatever ``readline()`` returns; a line the trainer is still writing
    (its buffer flushed in two writes, a busy machine) raises in the reader thread, which then stops: every later
    message, the materialization included, is lost and the stage reports no figures."""

    def __init__(self, poll_s: float = 0.01):
        self.poll_s = poll_s

    @contextmanager
    def read_messages(self, handler):
        with tempfile.TemporaryDirectory(prefix="pipes-") as tmp:
            path = str(Path(tmp) / "messages.jsonl")
            Path(path).touch()
            closed = threading.Event()
            thread = threading.Thread(target=self._read, args=(path, handler, closed), daemon=True)
            thread.start()
            try:
                yield {PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                       PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: False}
            finally:
                closed.set()
                thread.join()

    def _read(self, path: str, handler, closed: threading.Event) -> None:
        pending = ""
        try:
            with open(path, encoding="utf-8") as stream:
                while True:
                    chunk = stream.readline()
                    if chunk:
                        pending += chunk
                        if pending.endswith("\n"):
                            handler.handle_message(json.loads(pending))
                            pending = ""
                    elif closed.is_set():  # the process has ended: everything it wrote has been read
                        break
                    else:
                        time.sleep(self.poll_s)
            if pending.strip():  # the writer ended without a newline: its last message, whole by now
                handler.handle_message(json.loads(pending))
        except Exception:
            handler.report_pipes_framework_exception(f"{type(self).__name__} reader thread", sys.exc_info())
            raise

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a temporary file (WholeLineMessageReader)."


def run_trainer(context: AssetExecutionContext, command: list[str], output_dir: str | Path, profile: str = "cpu") -> dict:
    """Run ``command`` under ``PipesSubprocessClient``; return the materialization metadata it reported.

    The trainer's environment is this one plus ``launch.launch_env(profile)``."""
    env = environment.child_env(REPO_ROOT, **launch_env(profile))
    context.log.info(f"launching: {' '.join(command)}")
    with warnings.catch_warnings():
        # Dagster's own PipesSubprocessClient calls its preview API `PipesMessageReader.expected_writer_count`
        # (dagster 1.13): nothing of ours to change, so its PreviewWarning is not shown to the user.
        warnings.filterwarnings("ignore", message=".*expected_writer_count.*")
        try:
            result = PipesSubprocessClient(env=env, message_reader=WholeLineMessageReader()).run(command=command, context=context).get_materialize_result()
        except Exception as exc:  # the client's error class is not public: whatever it raised, quote the trainer's log
            log = Path(output_dir) / TRAINER_LOG
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
            if not lines:
                raise
            raise Failure(description=f"trainer failed: {lines[-1].strip()} (log: {log}; {exc})") from None
    md = dict(result.metadata or {})
    png = Path(output_dir) / "loss_curve.png"
    if png.exists():
        data = base64.b64encode(png.read_bytes()).decode()
        md["loss_curve_plot"] = MetadataValue.md(f"![loss curve](data:image/png;base64,{data})")
    return md
