"""``football-events analyze VIDEO``: find and describe the events of any video (the work itself is in
``core/inference/analyze.py`` and, for the spotter modes, ``core/inference/cascade_run.py``).

Any video (any fps, size, rotation) is resampled to the model's 4 fps clip format in a temp dir. A
video longer than the model's clip length (the base model's frame budget, 8 s for both registered
models) is cut into overlapping windows; each window's events are shifted to video time and the merged
list goes through per-class non-maximum suppression (an event seen by two overlapping windows is kept
once: the more confident one, then the one farther from a cut window edge). ``--overlay out.mp4``
writes the original video with the event labels drawn on it (ffmpeg drawtext). ``--index`` adds the events
to the event index (``football-events search``), kept under ``<data>/analyses/`` for the ``event_index`` asset.

Modes (``--mode``): ``cascade`` (the default when a spotter exists) sends only the windows around the
spotter's proposals to the VLM; ``vlm`` sends every window; ``spotter`` runs no VLM. An explicit
``--adapter`` with the default spotter of another splits version runs the VLM alone and says so in one
line (a cascade of models that saw different test clips would leak test data); an explicit ``--spotter``
or ``--mode cascade`` that does not match is an error naming the flag that fixes it.

When a spotter is trained the result carries ``domain`` (``{score, in_domain, threshold}``: how far the
video lies from the training clips) and an out-of-domain video gets one console line saying so.

Every bad input (missing, empty or corrupt video; missing, broken or mismatched adapter or spotter) ends
with one clear ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from football_assets.core.fsutil import write_json
from football_assets.core.inference import cascade_run
from football_assets.core.inference.analyze import (
    DEFAULT_NMS_IOU,
    DEFAULT_OVERLAP_S,
    AnalyzeError,
    analyze_video,
    default_window_s,
    draw_overlay,
    load_predictor,
)
from football_assets.core.inference.cascade_run import has_spotter, resolve_mode
from football_assets.core.ingest.video import VideoError, probe
from football_assets.core.search.index import SearchError
from football_assets.core.spotter.cascade import CascadeMismatchError, check_same_splits
from football_assets.core.spotter.domain import out_of_domain_line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="football-events analyze", description=__doc__.split("\n\n")[0])
    p.add_argument("video", help="any video file ffmpeg can read (a clip or a whole half)")
    p.add_argument("--adapter", default=None,
                   help="trained LoRA adapter directory (default: <FOOTBALL_DATA_DIR>/models/lora_adapter)")
    p.add_argument("--base", default=None, help="base model name (default: the adapter's train_meta base_model)")
    p.add_argument("--no-adapter", action="store_true", help="run the base model without adapter (needs --base)")
    p.add_argument("--out", default=None, help="write the events JSON here (default: print it)")
    p.add_argument("--overlay", default=None, help="also write the video with the event labels drawn on it")
    p.add_argument("--window", type=float, default=None, help="window length in s (default: the model's clip length)")
    p.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP_S, help="window overlap in s")
    p.add_argument("--nms-iou", type=float, default=DEFAULT_NMS_IOU, help="per-class NMS tIoU threshold")
    p.add_argument("--device", default="auto", help="torch device (auto: cuda where a GPU is visible, else cpu)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
                   help="model dtype (auto: bfloat16 on cuda, float32 on cpu)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="answer length limit (default: the predictor's)")
    p.add_argument("--index", action="store_true",
                   help="also add the events to the event index (<FOOTBALL_DATA_DIR>/index), for `football-events search`")
    p.add_argument("--match", default=None, help="with --index: the match the video belongs to (default: its file name)")
    p.add_argument("--mode", choices=cascade_run.MODES, default=None,
                   help="cascade (spotter proposals -> VLM), vlm (every window), spotter (no VLM); "
                        "default: cascade when a spotter exists, else vlm")
    p.add_argument("--spotter", default=None,
                   help="trained event spotter directory (default: <FOOTBALL_DATA_DIR>/models/event_spotter)")
    p.add_argument("--proposal-threshold", type=float, default=None,
                   help="spot confidence that sends a window to the VLM (default: the spotter's val-chosen threshold)")
    return p


def cascade_or_vlm(args: argparse.Namespace, adapter: str, spotter: Path) -> str:
    """The cascade needs a spotter and an adapter of one splits version. When they differ: the VLM alone with
    a one-line note if the user chose only the adapter (the spotter is the data directory's default), else
    an error naming the flag that fixes it."""
    from football_assets.core.inference.analyze import adapter_info

    adapter_info(adapter, args.base)  # the adapter's own errors before the spotter's
    try:
        check_same_splits(spotter, adapter)
    except CascadeMismatchError as exc:
        if args.adapter is not None and args.spotter is None and args.mode is None:
            print(f"note: {exc}; running the VLM alone (pass --spotter DIR trained on the adapter's splits for the "
                  "cascade)", file=sys.stderr)
            return "vlm"
        raise AnalyzeError(f"{exc} (pass --spotter DIR trained on the adapter's splits, or --mode vlm)") from None
    return "cascade"


def add_to_index(result: dict, match: str | None, layout) -> None:
    """Keep the analysis under <data>/analyses/ and sync it into the event index (only its own rows)."""
    from football_assets.core.search.library import index_analysis

    what = index_analysis(layout, result, match)
    print(f"event index: analysis of {Path(result['video']).name} {what}", file=sys.stderr)


def run(args: argparse.Namespace) -> dict:
    from football_assets.core.layout import DataLayout

    layout = DataLayout.from_env()
    video = Path(args.video)
    probe(video)  # fail fast on a missing, empty or unreadable video, before loading any model
    if args.overlay and Path(args.overlay).resolve() == video.resolve():
        raise AnalyzeError(f"--overlay {args.overlay} would overwrite the input video")
    adapter = None if args.no_adapter else (args.adapter or str(layout.adapter_dir))
    spotter_dir = Path(args.spotter or layout.spotter_dir)
    mode = resolve_mode(args.mode, spotter_dir)
    # the spotter also gives the domain score, so the VLM-only mode loads one when it exists
    spotter = cascade_run.load_spotter(spotter_dir, args.device) if mode != "vlm" or has_spotter(spotter_dir) else None
    if mode == "cascade" and adapter is not None:
        mode = cascade_or_vlm(args, adapter, spotter_dir)
    try:
        predictor = version = None
        if mode != "spotter":
            predictor, version, base = load_predictor(adapter, args.base, args.device, args.dtype)
            window = args.window or default_window_s(base, predictor.budget)
        else:
            window = args.window or spotter.clip_frames / spotter.cfg.fps
        if mode == "vlm":
            result = analyze_video(video, predictor, version, window, args.overlap, args.nms_iou,
                                   max_new_tokens=args.max_new_tokens, spotter=spotter)
        else:
            result = cascade_run.cascade_video(video, spotter, predictor, version, window, args.proposal_threshold,
                                               args.nms_iou, max_new_tokens=args.max_new_tokens)
    except ValueError as exc:
        raise AnalyzeError(str(exc)) from None
    if args.out:
        write_json(args.out, result)
    else:
        print(json.dumps(result, indent=2))
    if args.overlay:
        draw_overlay(video, result["events"], args.overlay)
    if args.index:
        add_to_index(result, args.match, layout)
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except (AnalyzeError, VideoError, SearchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if line := out_of_domain_line(result):
        print(line, file=sys.stderr)
    if args.out:
        print(f"{len(result['events'])} events in {args.video} -> {args.out}", file=sys.stderr)
    return 0
