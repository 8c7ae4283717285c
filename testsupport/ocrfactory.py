"""Libraries for the OCR tests: photos with words (real fonts), beside the demo's shape pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipsearch.demo import make_sample_library
from clipsearch.demo.textrender import load_manifest, make_text_library

LARGE_TYPE = 70  # px at 1600x1200: words this large are read surely (the tests query these)


@dataclass
class OcrLibrary:
    folder: Path
    words: dict[str, Path]  # a large word -> the photo it is in
    photos: int  # pictures in the library (with and without words)


def make_ocr_library(folder: Path, n_text: int = 3, n_shapes: int = 3, seed: int = 4) -> OcrLibrary:
    """``n_text`` 1600x1200 photos with words under ``signs/``, ``n_shapes`` small pictures
    without words under ``shapes/``; manifests removed (they are not pictures anyway)."""
    signs = folder / "signs"
    make_text_library(signs, n_text=n_text, n_plain=0, seed=seed)
    words = {w.word: signs / p.name for p in load_manifest(signs) for w in p.words if w.px >= LARGE_TYPE}
    (signs / "manifest.json").unlink()
    if n_shapes:
        make_sample_library(folder / "shapes", n=n_shapes, seed=seed)
        (folder / "shapes" / "manifest.json").unlink()
    assert words, "the seed placed no large word: pick another"
    return OcrLibrary(folder, words, n_text + n_shapes)
