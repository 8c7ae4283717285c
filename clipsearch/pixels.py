"""Pixel signatures: whether two pictures are the same shot, checked on the pixels themselves.

CLIP vectors say what a picture shows, not where: two different pictures of a red circle on grey
score as high as a picture and its re-encoded copy. A signature is the low-frequency content of
a 32x32 thumbnail in an opponent colour space (brightness, red-green, yellow-blue): the 8x8
lowest DCT frequencies of each channel without their mean, 189 numbers of unit length (the
pattern), then the three channels' means (the light). The cosine of two patterns is the
correlation of the two thumbnails blurred to 8x8 detail. It is a continuous form of the
perceptual hash (pHash): resizing, re-encoding and a brighter exposure barely move it, a light
crop moves it a little, and the same shape elsewhere in the frame moves it a lot. Colour
matters: a red shape on brown is invisible to a grey-level hash.

The pattern alone cannot tell the same shape in the same place on another background (an orange
ball on black, then on brown): each channel's contrast scales, the correlation stays. So two
pictures are alike only where their light is one exposure apart (``same_light``): the means'
colour within a few degrees of each other's, and one at most a third brighter than the other.

Signatures are computed from the file (decoded at reduced scale) and kept in a small SQLite
cache beside the index, keyed by the file's content fingerprint, so a second pass and the
folding of search results do not decode again.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import UnreadableImage
from .images import load_image

log = logging.getLogger(__name__)

THUMB = 32  # side of the thumbnail the signature is made from
FREQUENCIES = 8  # lowest DCT frequencies kept per axis and channel
PATTERN_DIM = 3 * (FREQUENCIES * FREQUENCIES - 1)
SIGNATURE_DIM = PATTERN_DIM + 3  # the pattern, then each channel's mean
MAX_GAIN = 1.35  # one picture at most this much brighter than the other (an edit's exposure)
MAX_TINT = 0.08  # the sine of the angle between their mean colours: 4.6 degrees (edited copies: 2.5 at most)
_DARK = 0.03  # mean colours this short are near black: no colour to compare
CACHE_NAME = "pixels.sqlite"  # in the index folder; disposable, rebuilt on demand
# Signatures with their light; the release before kept patterns alone in "signatures", which it
# still reads: the two live side by side, so either release can open the folder.
_TABLE = "signatures2"
_DECODE_SIZE = 2 * THUMB  # JPEGs decode at the smallest scale keeping both sides this large
_FLAT = 1e-4  # below this energy a thumbnail is one flat colour and has no signature


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix.astype(np.float32)


_DCT = _dct_matrix(THUMB)[:FREQUENCIES]  # only the rows of the frequencies kept
# Brightness, red-green and yellow-blue: a brighter copy changes the first far more than the others.
_OPPONENT = np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, -0.5, 0.0], [0.25, 0.25, -0.5]], np.float32)


def signature(image: Image.Image) -> np.ndarray:
    """The pixel signature of an upright RGB picture: its unit-length pattern (zeros for a flat
    picture), then its light (each opponent channel's mean)."""
    small = image.convert("RGB").resize((THUMB, THUMB), Image.Resampling.BOX)
    channels = (np.asarray(small, np.float32) / 255.0) @ _OPPONENT.T  # (32, 32, 3)
    low = np.einsum("fy,yxc,gx->cfg", _DCT, channels, _DCT)  # (3, 8, 8)
    light = low[:, 0, 0] / THUMB  # each channel's mean: exposure and colour, compared apart
    low[:, 0, 0] = 0.0
    flat = low.reshape(-1)
    pattern = flat[np.flatnonzero(np.tile(np.arange(FREQUENCIES * FREQUENCIES) != 0, 3))]
    norm = float(np.linalg.norm(pattern))
    pattern = pattern / norm if norm * norm >= _FLAT else np.zeros(PATTERN_DIM, np.float32)
    return np.concatenate([pattern, light]).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two signatures are: their patterns' cosine where their light is one exposure
    apart (``same_light``), else 0."""
    if not same_light(a[PATTERN_DIM:], b[PATTERN_DIM:]):
        return 0.0
    return float(np.dot(a[:PATTERN_DIM], b[:PATTERN_DIM]))


def same_light(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two pictures' mean colours (opponent channels) are one exposure apart: a copy
    brightened by 12% scales all three, another background turns them."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if max(na, nb) < _DARK:
        return True
    if min(na, nb) < _DARK or max(na, nb) > MAX_GAIN * min(na, nb):
        return False
    cos = float(np.dot(a, b)) / (na * nb)
    return cos > 0 and 1.0 - cos * cos <= MAX_TINT * MAX_TINT


def signature_of_file(path: str) -> np.ndarray:
    """The signature of an image file, decoded upright at reduced scale (``UnreadableImage``)."""
    return signature(load_image(path, min_size=_DECODE_SIZE).image)


class SignatureCache:
    """Signatures by content fingerprint, in SQLite beside the index (or in memory only).

    The file is a cache: when it cannot be written (a read-only folder, a full disk) the
    signatures live in memory for this process and nothing fails.
    """

    def __init__(self, folder: str | Path | None) -> None:
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if folder is not None and Path(folder).is_dir():
            try:
                db = sqlite3.connect(str(Path(folder) / CACHE_NAME), timeout=10, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (fingerprint TEXT PRIMARY KEY, value BLOB NOT NULL)")
                db.commit()
                self._db = db
            except sqlite3.Error as exc:
                log.info("signature cache in memory only (%s)", exc)

    def get_many(self, fingerprints: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached signatures among ``fingerprints``."""
        wanted = list(dict.fromkeys(fingerprints))
        with self._lock:
            out = {fp: self._memory[fp] for fp in wanted if fp in self._memory}
            missing = [fp for fp in wanted if fp not in out]
            if self._db is not None:
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    with contextlib.suppress(sqlite3.Error):
                        for fp, blob in self._db.execute(
                            f"SELECT fingerprint, value FROM {_TABLE} WHERE fingerprint IN ({marks})", chunk
                        ):
                            out[fp] = np.frombuffer(blob, np.float16).astype(np.float32)
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Remember signatures (stored as float16: 384 bytes each)."""
        if not items:
            return
        with self._lock:
            self._memory.update(items)
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?)",
                        [(fp, value.astype(np.float16).tobytes()) for fp, value in items.items()],
                    )
            except sqlite3.Error as exc:
                log.info("could not write the signature cache: %s", exc)

    def carry(self, pairs: list[tuple[str, str]]) -> None:
        """Keep the signatures of (old, new) pairs' old contents under their new ones: contents of
        one picture (a file whose metadata alone changed, ``picture_fingerprint``)."""
        known = self.get_many(old for old, _ in pairs)
        self.put_many({new: known[old] for old, new in pairs if old in known})

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def signatures_for(
    files: list[tuple[str, str]],
    cache: SignatureCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Signatures of ``(path, fingerprint)`` pairs by path: from the cache, else from the file.

    A file that has gone or cannot be decoded is left out (logged), so it matches nothing.
    """
    known = cache.get_many(fp for _, fp in files) if cache is not None else {}
    out: dict[str, np.ndarray] = {}
    fresh: dict[str, np.ndarray] = {}
    for done, (path, fp) in enumerate(files, 1):
        if fp in known:
            out[path] = known[fp]
        else:
            try:
                out[path] = fresh[fp] = signature_of_file(path)
            except UnreadableImage as exc:
                log.info("no pixel signature for %s: %s", path, exc.reason)
            if len(fresh) >= 256 and cache is not None:
                cache.put_many(fresh)
                fresh = {}
        if progress is not None and (done % 64 == 0 or done == len(files)):
            progress(done, len(files))
    if cache is not None:
        cache.put_many(fresh)
    return out
