"""``football-events`` console script: ``demo`` runs the whole asset graph on the built-in demo; ``analyze``
finds the events of one video with the trained adapter; ``ask`` places a described moment in a video;
``search`` finds moments in the event index; ``highlights`` cuts a reel;
``review`` serves the match review page; ``train --dry-run`` prints the preflight plan (none of these
but ``demo`` imports Dagster)."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["analyze"]:  # before parsing, so that `analyze --help` reaches the analyze parser
        from football_assets.cli.analyze import main as analyze_main

        return analyze_main(argv[1:])
    if argv[:1] == ["ask"]:
        from football_assets.cli.ask import main as ask_main

        return ask_main(argv[1:])
    if argv[:1] == ["search"]:
        from football_assets.cli.search import main as search_main

        return search_main(argv[1:])
    if argv[:1] == ["highlights"]:
        from football_assets.cli.highlights import main as highlights_main

        return highlights_main(argv[1:])
    if argv[:1] == ["review"]:
        from football_assets.cli.review import main as review_main

        return review_main(argv[1:])
    if argv[:1] == ["train"]:
        from football_assets.cli.train import main as train_main

        return train_main(argv[1:])
    parser = argparse.ArgumentParser(prog="football-events", description="football video -> match events")
    parser.add_argument("command", choices=["demo", "analyze", "ask", "search", "highlights", "review", "train"],
                        help="demo: materialize the whole graph on the manifest's clips; "
                             "analyze VIDEO: events of one video (analyze --help); "
                             "ask VIDEO QUESTION: when a described moment happens (ask --help); "
                             "search QUERY: moments across the library (search --help); "
                             "highlights EVENTS.json --out reel.mp4: a highlight reel (highlights --help); "
                             "review: the match review page (review --help); "
                             "train --dry-run: the preflight memory plan (train --help)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from football_assets.cli.demo import main as demo_main

        return demo_main(rest)
    return 2


if __name__ == "__main__":
    sys.exit(main())
