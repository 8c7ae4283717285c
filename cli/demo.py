"""``python -m clipsearch.demo make-library DIR [--n 300] [--seed 0]``: a sample library to try clipsearch on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clipsearch.demo.render import make_sample_library
from clipsearch.reports import counted

from . import flags
from .terminal import ArgumentParser, shown


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and write the sample library; returns the exit code."""
    parser = ArgumentParser(prog="python -m clipsearch.demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-library", help="write synthetic captioned pictures to try clipsearch on")
    make.add_argument("folder", help="where to write the pictures (created if missing)")
    make.add_argument("-n", "--n", type=flags.positive, default=300, help="how many pictures (default 300)")
    make.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    make.add_argument("--clips", type=int, default=0, metavar="N",
                      help="also N short videos in its videos/ folder, to search by moment (default none)")
    make.add_argument("--signs", type=int, default=0, metavar="N",
                      help="also N photos of signs, labels and receipts in its signs/ folder, to find by the "
                      "words they show (index with --ocr; default none)")
    args = parser.parse_args(argv)
    for flag, value in (("--clips", args.clips), ("--signs", args.signs)):
        if value < 0:
            parser.error(f"argument {flag}: a number, 0 or more, not {value}")

    made = make_sample_library(args.folder, n=args.n, seed=args.seed)
    print(f"sample library ready: {counted(len(made), 'picture')} and manifest.json in {shown(Path(args.folder).resolve())}")
    if args.clips:
        from clipsearch.demo.clips import make_sample_clips

        clips = make_sample_clips(Path(args.folder) / "videos", n=args.clips, seed=args.seed)
        print(f"and {counted(len(clips), 'video')} of {counted(sum(len(shots) for _, shots in clips), 'shot')} in "
              f"{shown((Path(args.folder) / 'videos').resolve())}")
    if args.signs:
        words = make_signs(Path(args.folder) / "signs", args.signs, args.seed)
        print(f"and {counted(args.signs, 'photo')} with words in {shown((Path(args.folder) / 'signs').resolve())} (index with --ocr, "
              f"then search for one of their words: {', '.join(words[:6])}...)")
    return 0


def make_signs(folder: Path, n: int, seed: int) -> list[str]:
    """Photos of signs, labels and receipts (``textrender.make_text_library``), written once: a
    re-run with the same number and seed leaves them alone. Returns the words they show."""
    from clipsearch.demo.textrender import load_manifest, make_text_library

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        same = (manifest.get("seed"), manifest.get("n_text"), manifest.get("n_plain")) == (seed, n, 0)
        photos = load_manifest(folder) if same and all((folder / p["name"]).is_file() for p in manifest["photos"]) else None
    except (OSError, ValueError, KeyError, TypeError):
        photos = None
    photos = photos or make_text_library(folder, n_text=n, n_plain=0, seed=seed)
    return [w.word for photo in photos for w in photo.words]


if __name__ == "__main__":
    sys.exit(main())
