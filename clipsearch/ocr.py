"""Reading the words in a photo: the only importer of rapidocr.

``TextReader`` wraps RapidOCR (PP-OCRv6 detection and recognition through onnxruntime). The models
ship inside the rapidocr wheel and are named by path here, so nothing is ever downloaded. Two
sizes matter for speed: detection runs on a copy at most ``detect_side`` pixels on its longer
side (its cost grows with the pixels), while each detected line is cut for recognition from a
sharper copy of up to ``read_side`` pixels (a line is scaled to 48 px high whatever its source,
so a sharper source costs almost nothing and keeps small type readable).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .errors import ClipSearchError

log = logging.getLogger(__name__)

# Measured with benchmarks/bench_ocr.py on 1600x1200 photos (type 45-130 px): see README.
DETECT_SIDE = 736
READ_SIDE = 2048
MIN_CONFIDENCE = 0.6  # a line read with less confidence is dropped
MIN_WORD_CONFIDENCE = 0.5
# Texture read as text (bricks, blinds, foliage) comes out as one to three characters ("1", "01",
# "一") read with 0.5-0.85 confidence, and shapes as one letter read surely (a cross as "X" at
# 0.94): a line of one character is dropped, one of two or three must be read surely to count.
SHORT_LINE = 3
MIN_SHORT_LINE_CONFIDENCE = 0.9
_MODELS = {  # Det / Cls / Rec -> file in the wheel's models folder
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}


class OcrUnavailable(ClipSearchError):
    """The OCR engine or its bundled models cannot be loaded."""


@dataclass(frozen=True)
class Word:
    """One word read from a picture, with the reader's confidence and its box.

    ``box`` is four (x, y) corners in the pixels of the picture given to ``TextReader.read``.
    """

    text: str
    confidence: float
    box: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Line:
    """One line of text as the detector found it, with its words."""

    text: str
    confidence: float
    words: tuple[Word, ...]


@dataclass(frozen=True)
class PageText:
    """Everything read from one picture (no lines: no text found)."""

    lines: tuple[Line, ...]
    width: int
    height: int

    @property
    def text(self) -> str:
        """The lines, one per row: what is indexed for search."""
        return "\n".join(line.text for line in self.lines)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (what the text store keeps of the boxes)."""
        return {
            "width": self.width, "height": self.height,
            "lines": [{"text": ln.text, "confidence": round(ln.confidence, 4),
                       "words": [[w.text, round(w.confidence, 4), [list(p) for p in w.box]]
                                 for w in ln.words]} for ln in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageText:
        lines = tuple(
            Line(ln["text"], float(ln["confidence"]),
                 tuple(Word(t, float(c), tuple(tuple(p) for p in box)) for t, c, box in ln["words"]))
            for ln in data.get("lines", []))
        return cls(lines, int(data.get("width", 0)), int(data.get("height", 0)))


def _models_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _quiet_rapidocr() -> None:
    """RapidOCR logs through its own handler at INFO, and warns for every picture without text.
    Route it through ours (propagate) and keep only its errors."""
    rapid = logging.getLogger("RapidOCR")
    for handler in list(rapid.handlers):
        rapid.removeHandler(handler)
    rapid.propagate = True
    rapid.setLevel(logging.ERROR)


def _has_letter_or_digit(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


class TextReader:
    """Reads the words in PIL images. Thread-safe; the models load on first use (~1 s).

    ``threads``: how many pictures may be read at once, each by its own single-threaded
    onnxruntime engine (None: one per core). Independent engines scale better on few cores than
    one engine's threads, which wait on each other for every layer. ``detect_side`` and
    ``read_side``: see the module's docstring. Lines and words read with less confidence than
    the floors are dropped.
    """

    def __init__(self, *, threads: int | None = None, detect_side: int = DETECT_SIDE,
                 read_side: int = READ_SIDE, min_confidence: float = MIN_CONFIDENCE,
                 use_angle_classifier: bool = False) -> None:
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.detect_side = detect_side
        self.read_side = read_side
        self.min_confidence = min_confidence
        self.use_angle_classifier = use_angle_classifier
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._made = 0
        self._make_lock = threading.Lock()

    @property
    def stamp(self) -> dict[str, Any]:
        """What reads the text: recorded with an index's text, so a better reader can re-read."""
        return {"reader": "rapidocr", "version": _rapidocr_version(), "models": sorted(_MODELS.values()),
                "detect_side": self.detect_side, "read_side": self.read_side,
                "min_confidence": self.min_confidence}

    def load(self) -> None:
        """Load the models now (otherwise the first ``read`` does)."""
        self._release(self._acquire())

    def _acquire(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._make_lock:
            if self._made < self.threads:
                engine = self._build()
                self._made += 1
                return engine
        return self._idle.get()

    def _release(self, engine: Any) -> None:
        self._idle.put(engine)

    def _build(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - an installation problem
            raise OcrUnavailable(f"text reading needs the rapidocr and onnxruntime packages ({exc})") from exc
        folder = _models_dir()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": self.use_angle_classifier,
            "Global.use_preprocess_img": False,  # we size the picture ourselves
            "Global.text_score": self.min_confidence,
            "Det.limit_type": "max",
            "Det.limit_side_len": self.detect_side,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        for task, name in _MODELS.items():
            path = folder / name
            if not path.is_file():
                raise OcrUnavailable(f"the OCR model {name} is missing from the rapidocr package in {folder}")
            params[f"{task}.model_path"] = str(path)
        try:
            engine = RapidOCR(params=params)
            for load in ("_load_det_model", "_load_rec_model"):  # now, not on the first picture
                getattr(engine, load, lambda: None)()
        except Exception as exc:  # noqa: BLE001 - a broken installation, named for the user
            raise OcrUnavailable(f"the OCR engine could not start: {type(exc).__name__}: {exc}") from exc
        _quiet_rapidocr()
        return engine

    def read(self, image: Image.Image) -> PageText:
        """The lines and words in ``image`` (EXIF orientation already applied by the caller)."""
        width, height = image.size
        scale = min(1.0, self.read_side / max(width, height, 1))
        source = image.convert("RGB")
        if scale < 1.0:
            source = source.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                   Image.Resampling.BILINEAR, reducing_gap=2.0)
        bgr = np.ascontiguousarray(np.asarray(source)[:, :, ::-1])
        engine = self._acquire()
        try:
            result = engine(bgr, return_word_box=True)
        finally:
            self._release(engine)
        return PageText(self._lines(result, 1.0 / scale), width, height)

    def _lines(self, result: Any, back: float) -> tuple[Line, ...]:
        if result is None or not getattr(result, "txts", None):
            return ()
        lines = []
        word_groups = result.word_results if len(result.word_results) == len(result.txts) else None
        for i, (text, score) in enumerate(zip(result.txts, result.scores)):
            text = " ".join(str(text).split())
            if not self._keep_line(text, float(score)):
                continue
            words = []
            for entry in (word_groups[i] if word_groups else ()):
                wtext, wscore, wbox = entry
                if not wtext or wbox is None or float(wscore) < MIN_WORD_CONFIDENCE:
                    continue
                if _has_letter_or_digit(wtext):
                    box = tuple((round(x * back), round(y * back)) for x, y in wbox)
                    words.append(Word(str(wtext), float(wscore), box))
            lines.append(Line(text, float(score), tuple(words)))
        return tuple(lines)


    def _keep_line(self, text: str, score: float) -> bool:
        if score < self.min_confidence or not _has_letter_or_digit(text):
            return False
        length = len(text.replace(" ", ""))
        return length > SHORT_LINE or (length > 1 and score >= MIN_SHORT_LINE_CONFIDENCE)


def _rapidocr_version() -> str:
    try:
        from importlib.metadata import version

        return version("rapidocr")
    except Exception:  # noqa: BLE001 - metadata missing: still usable
        return "unknown"
