"""``football-events``: ``run`` (alias ``demo``) materializes the whole asset graph on the manifest's clips;
``analyze`` finds the events of one video; ``ask`` places a described moment in a video; ``search`` finds
moments in the event index; ``review`` serves the match review page; ``highlights`` cuts a reel; ``train
--dry-run`` prints the preflight plan. Only ``run`` imports Dagster."""

import argparse
import importlib
import sys

#: command -> (module under football_assets.cli, one line of help); ``demo`` is ``run`` under its old name.
COMMANDS = {
    "run": ("run", "the whole asset graph on the manifest's clips (the built-in demo when it lists none)"),
    "demo": ("run", "the same as run"),
    "analyze": ("analyze", "VIDEO: the events of one video (analyze --help)"),
    "ask": ("ask", "VIDEO QUESTION: when a described moment happens (ask --help)"),
    "search": ("search", "QUERY: moments across the library (search --help)"),
    "review": ("review", "the match review page in the browser (review --help)"),
    "highlights": ("highlights", "EVENTS.json --out reel.mp4: a highlight reel (highlights --help)"),
    "train": ("train", "--dry-run: the preflight memory plan (train --help)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in COMMANDS:  # the command's own parser takes the rest (so `analyze --help` works)
        module = importlib.import_module(f"football_assets.cli.{COMMANDS[argv[0]][0]}")
        return module.main(argv[1:])
    parser = argparse.ArgumentParser(prog="football-events", description="football video -> match events",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(f"  {name:<8} {what}" for name, (_, what) in COMMANDS.items()))
    parser.add_argument("command", choices=list(COMMANDS))
    parser.parse_args(argv)
    return 2


if __name__ == "__main__":
    sys.exit(main())
