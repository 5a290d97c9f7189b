"""``football-events highlights EVENTS.json --out reel.mp4``: the events of an ``analyze --out`` result cut with
a margin (overlapping cuts merged), each cut captioned with its classes and match times, joined into one mp4
with the source's audio where it has some (``core/search/highlights.py``).

``--classes`` and ``--min-confidence`` filter the events first. Bad input (no events left after the filter, a
missing video, an unknown class, a file that is not an analysis) ends with one ``error: ...`` line and status 2.
"""

from __future__ import annotations

import argparse
import sys

from football_assets.core.ingest.video import VideoError
from football_assets.core.search.highlights import HighlightError, highlights, load_result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="football-events highlights", description=__doc__.split("\n\n")[0])
    p.add_argument("events", help="an `analyze --out` JSON (its 'video' is cut)")
    p.add_argument("--out", required=True, help="the reel mp4 to write")
    p.add_argument("--classes", default=None, help="comma-separated classes to keep, e.g. 'Goal,Red card' (default: all)")
    p.add_argument("--min-confidence", type=float, default=None, help="keep events at least this confident")
    p.add_argument("--margin", type=float, default=2.0, help="seconds added before and after each event (default 2)")
    p.add_argument("--offset", type=float, default=0.0,
                   help="where the video starts in its match, in seconds (captions show match time)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = load_result(args.events)
        out = highlights(result, args.out, args.classes.split(",") if args.classes else None, args.min_confidence,
                         args.margin, args.offset)
    except (HighlightError, VideoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{out['events']} events in {len(out['cuts'])} cuts, {out['duration_s']:.2f} s -> {args.out}", file=sys.stderr)
    return 0
