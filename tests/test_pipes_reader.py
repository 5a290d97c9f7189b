"""The trainers' Pipes messages are parsed only when whole: a line written in two pieces (a busy machine, a
flushed buffer) reaches the handler once, intact, and later messages still arrive. Dagster's stock file reader
raised in its reader thread on the first piece and lost the rest, the materialization included. The real path
(``PipesSubprocessClient`` launching a trainer) is in ``test_spotter_asset.py`` and ``test_training_asset.py``."""

import json
import time

from dagster_pipes import PipesDefaultMessageWriter

from football_assets.defs.training.pipes import WholeLineMessageReader


class Recorder:
    """Stands in for Dagster's message handler: keeps what it is given."""

    def __init__(self):
        self.messages, self.errors = [], []

    def handle_message(self, message):
        self.messages.append(message)

    def report_pipes_framework_exception(self, origin, exc_info):
        self.errors.append((origin, exc_info))


def test_a_message_written_in_two_pieces_arrives_whole():
    handler = Recorder()
    first = {"__dagster_pipes_version": "0.1", "method": "log", "params": {"message": "step 1/9", "level": "INFO"}}
    big = {"__dagster_pipes_version": "0.1", "method": "report_asset_materialization",
           "params": {"metadata": {"val_tight_a_mAP": {"raw_value": 0.955, "type": "float"}}, "note": "x" * 20_000}}
    with WholeLineMessageReader().read_messages(handler) as params:
        path = params[PipesDefaultMessageWriter.FILE_PATH_KEY]
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(first) + "\n")
            line = json.dumps(big) + "\n"
            out.write(line[:100])
            out.flush()
            time.sleep(0.2)  # the reader sees the first piece alone, many times over
            out.write(line[100:])
            out.write(json.dumps({**first, "params": {"message": "done", "level": "INFO"}}))  # no newline at the end
    assert not handler.errors
    assert [m["method"] for m in handler.messages] == ["log", "report_asset_materialization", "log"]
    assert handler.messages[1] == big and handler.messages[2]["params"]["message"] == "done"
