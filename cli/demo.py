"""``python -m clipsearch.demo make-library DIR [--n 300] [--seed 0]``: a sample library to try clipsearch on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clipsearch.demo.render import make_sample_library

from . import flags


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write the sample library; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m clipsearch.demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-library", help="write synthetic captioned pictures to try clipsearch on")
    make.add_argument("folder", help="where to write the pictures (created if missing)")
    make.add_argument("--n", type=flags.positive, default=300, help="how many pictures (default 300)")
    make.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    make.add_argument("--clips", type=int, default=0, metavar="N",
                      help="also N short videos in its videos/ folder, to search by moment (default none)")
    args = parser.parse_args(argv)
    if args.clips < 0:
        parser.error(f"argument --clips: a number of videos, 0 or more, not {args.clips}")

    made = make_sample_library(args.folder, n=args.n, seed=args.seed)
    print(f"sample library ready: {len(made)} pictures and manifest.json in {Path(args.folder).resolve()}")
    if args.clips:
        from clipsearch.demo.clips import make_sample_clips

        clips = make_sample_clips(Path(args.folder) / "videos", n=args.clips, seed=args.seed)
        print(f"and {len(clips)} videos of {sum(len(shots) for _, shots in clips)} shots in "
              f"{(Path(args.folder) / 'videos').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
