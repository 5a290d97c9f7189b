"""``football-events ask VIDEO "question"``: where in the video a described moment happens, as a time
range, answered by the adapter (free-text grounding; the work is in ``core/inference/ask.py``).

Prints ``start-end s (class)`` or says the moment was not found; ``--json`` prints everything (every
window's raw answer too). With a trained spotter the result carries ``domain`` and an out-of-domain video
gets one line saying so. A bad video or adapter ends with one ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from football_assets.core.inference.analyze import AnalyzeError, default_window_s, load_predictor
from football_assets.core.ingest.video import VideoError, probe
from football_assets.core.spotter.domain import out_of_domain_line


def build_parser() -> argparse.ArgumentParser:
    from football_assets.core.layout import DataLayout, default_root

    p = argparse.ArgumentParser(prog="football-events ask", description=__doc__.split("\n\n")[0])
    p.add_argument("video", help="any video file ffmpeg can read")
    p.add_argument("question", help='the moment, e.g. "When does the goalkeeper hold the low shot?"')
    p.add_argument("--adapter", default=str(DataLayout(default_root()).adapter_dir),
                   help="trained LoRA adapter directory (default: <FOOTBALL_DATA_DIR>/models/lora_adapter)")
    p.add_argument("--base", default=None, help="base model name (default: the adapter's train_meta base_model)")
    p.add_argument("--window", type=float, default=None, help="window length in s (default: the model's clip length)")
    p.add_argument("--device", default="auto", help="torch device (auto: cuda where a GPU is visible, else cpu)")
    p.add_argument("--spotter", default=str(DataLayout(default_root()).spotter_dir),
                   help="trained event spotter directory, for the domain score (default: "
                        "<FOOTBALL_DATA_DIR>/models/event_spotter; none there: no domain score)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    return p


def run(args: argparse.Namespace) -> dict:
    from football_assets.core.inference.ask import ask_video
    from football_assets.core.inference.cascade_run import has_spotter, load_spotter

    video = Path(args.video)
    probe(video)  # fail fast on a missing or unreadable video, before loading any model
    if not args.question.strip():
        raise AnalyzeError("the question is empty: describe the moment, e.g. 'When does the keeper hold the shot?'")
    predictor, version, base = load_predictor(args.adapter, args.base, args.device)
    window = args.window or default_window_s(base, predictor.budget)
    spotter = load_spotter(args.spotter, args.device) if has_spotter(args.spotter) else None
    return ask_video(video, args.question, predictor, version, window, spotter=spotter)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except (AnalyzeError, VideoError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if line := out_of_domain_line(result):
        print(line, file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["answer"]:
        a = result["answer"]
        print(f"{a['start_time']:.1f}-{a['end_time']:.1f} s" + (f" ({a['event']})" if a.get("event") else ""))
    else:
        print(f"not found: no window of {args.video} placed {args.question!r}")
    return 0
