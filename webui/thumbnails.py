"""Small cached JPEG versions of indexed photos: what the browser gets instead of the originals.

A thumbnail's name is a hash of the photo's path, mtime and size, so an edited photo gets a new
one and nothing about the photo's location can be read from the name. The cache folder is the
only folder the web app lets Gradio serve; the photo folders never are.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from PIL import Image, ImageDraw

from clipsearch import ImageRecord
from clipsearch.cache_tag import new_file_mode, tag_as_cache
from clipsearch.errors import InvalidQuery, UnreadableImage
from clipsearch.images import DEFAULT_MAX_PIXELS, call_abandonable, load_image
from clipsearch.region import Region, query_picture

log = logging.getLogger(__name__)

THUMB_SIZE = 256
PREVIEW_SIZE = 1024
JPEG_QUALITY = 85
PLACEHOLDER_NAME = "unreadable.jpg"
DEFAULT_TIMEOUT = 60.0  # seconds, as Settings.file_timeout
# A prune reads every record; a re-index commits a batch every few seconds. Prune at most this often.
PRUNE_EVERY = 300.0  # seconds


class ThumbnailCache:
    """Makes and remembers downscaled JPEGs of photos, in ``<cache_dir>/thumbs/<size>/``.

    Callers must only pass paths of indexed photos: this class opens whatever it is given.
    A photo that takes longer than ``timeout`` seconds to decode gets the placeholder; the
    decode is abandoned on its own daemon thread, so a hung file never holds a worker.
    """

    def __init__(self, cache_dir: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, workers: int = 4,
                 timeout: float = DEFAULT_TIMEOUT, prune_every: float = PRUNE_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = (Path(cache_dir) / "thumbs").resolve()
        self.max_pixels = max_pixels
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbs")
        self._prune = _PruneSchedule(prune_every, clock)
        self.write_error: str | None = None  # why the last thumbnail could not be saved (a full disk)
        self._tag()
        with contextlib.suppress(OSError):  # made now, while there is room: a full disk later shows it
            self.placeholder()

    def _tag(self) -> None:
        """A ``CACHEDIR.TAG`` in the cache folder (``clipsearch.cache_tag``), where it lacks one: a run
        over a photo folder the cache is in leaves the thumbnails out, even one not given this
        ``$CLIPSEARCH_CACHE`` (cron's, ``--watch``); backup programs skip them too."""
        with contextlib.suppress(OSError):  # no room, read-only: the thumbnails cannot be saved either, and say it
            tag_as_cache(self.root)

    def path_for(self, photo: str, size: int) -> Path | None:
        """Where the thumbnail of ``photo`` at ``size`` lives (None when the photo is gone)."""
        try:
            st = os.stat(photo)
        except OSError:
            return None
        return self.root / str(size) / f"{thumbnail_key(photo, st.st_mtime_ns, st.st_size)}.jpg"

    def prune(self, records: Iterable[ImageRecord]) -> int:
        """Delete the thumbnails and previews of photos no longer indexed (or since changed).

        They could otherwise still be fetched by name after their photo left the index.
        """
        keep = {thumbnail_key(r.path, r.mtime_ns, r.size) for r in records}
        removed = 0
        for folder in (p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else ():
            for thumb in folder.glob("*.jpg"):
                if thumb.name.split(".")[0] not in keep:  # a part's name: the photo's key, then the part's
                    with contextlib.suppress(OSError):
                        thumb.unlink()
                        removed += 1
        return removed

    def prune_when_due(self, records: Callable[[], Iterable[ImageRecord]],
                       changed: bool) -> threading.Thread | None:
        """Prune on a daemon thread if the index changed since the last prune, at most every ``prune_every`` s.

        ``changed`` says whether the index changed now; a change inside the quiet period is
        remembered and pruned on the first call after it. Returns the thread it started, if any.
        """
        if not self._prune.due(changed):
            return None
        thread = threading.Thread(target=self._prune_in_background, args=(records,), daemon=True,
                                  name="thumbs-prune")
        thread.start()
        return thread

    def _prune_in_background(self, records: Callable[[], Iterable[ImageRecord]]) -> None:
        try:
            removed = self.prune(records())
        except Exception as exc:  # a cache chore must never disturb searching
            log.warning("could not prune thumbnails: %s", exc)
            return
        finally:
            self._prune.done()
        if removed:
            log.info("removed %d thumbnails of photos no longer indexed", removed)

    def get(self, photo: str, size: int = THUMB_SIZE, known: tuple[int, int] | None = None) -> str:
        """The path of a JPEG of ``photo`` no larger than ``size`` px, made on first use.

        A photo that vanished or cannot be decoded gets a grey placeholder instead of an error;
        but one not on disk now (a disk not mounted) whose index record is ``known`` (its mtime_ns
        and size) keeps the thumbnail made while it was there (at ``size``, else the small one).
        """
        target = self.path_for(photo, size)
        if target is None:  # a preview never made falls back to the small thumbnail made earlier
            kept = [self.root / str(each) / f"{thumbnail_key(photo, *known)}.jpg"
                    for each in dict.fromkeys((size, THUMB_SIZE))] if known else []
            return next((str(k) for k in kept if k.exists()), None) or self.placeholder()
        if target.exists():
            return str(target)
        return self._made(target, size, photo, lambda: load_image(photo, min_size=size, max_pixels=self.max_pixels,
                                                                  timeout=self.timeout).image)

    def _made(self, target: Path, size: int, what: str, picture: Callable[[], Image.Image]) -> str:
        """``target``, made of what ``picture()`` reads (``what``, for the log), shrunk to ``size``
        px at most; the placeholder where it cannot be read or saved. Any decoder's error gives the
        placeholder, not only ``UnreadableImage``: a codec's own (a damaged AVIF's RuntimeError, a
        mistyped EXIF tag's struct.error) must not make one photo's thumbnail fail a whole page of
        results. A region the photo does not hold (``InvalidQuery``) is the caller's to say."""
        try:
            made = picture()
            made.thumbnail((size, size), Image.Resampling.LANCZOS)
        except InvalidQuery:
            raise
        except Exception as exc:
            reason = exc.reason if isinstance(exc, UnreadableImage) else f"{type(exc).__name__}: {exc}"
            log.warning("no thumbnail for %s: %s", what, " ".join(reason.split())[:200])  # one line
            return self.placeholder()
        try:
            if not target.parent.is_dir():  # a new size, or a cache deleted since the start: tagged first
                self._tag()
            _save_jpeg(made, target)
        except OSError as exc:  # a full disk must not fail the search: its results show placeholders
            problem = f"cannot save thumbnails in {self.root}: {exc.strerror or exc}"
            if problem != self.write_error:
                log.warning("%s (placeholders shown until it can)", problem)
            self.write_error = problem
            return self.placeholder()
        self.write_error = None
        return str(target)

    def get_part(self, photo: str, region: Region, size: int) -> str:
        """The path of a JPEG of ``region`` of ``photo``, no larger than ``size`` px, made on first use
        and kept beside the photo's thumbnails (pruned with them); the placeholder where the photo
        cannot be read now, and ``InvalidQuery`` for a region it does not hold."""
        return self._beside(photo, size, hashlib.sha256(str(region).encode()).hexdigest()[:16], f"a part of {photo}",
                            lambda: query_picture(photo, region, size, max_pixels=self.max_pixels, timeout=self.timeout))

    def get_moment(self, video: str, at: float, size: int) -> str:
        """The path of a JPEG of the frame of ``video`` shown at ``at`` seconds, no larger than ``size``
        px, made on first use and kept beside its thumbnails (pruned with them); the placeholder
        where the video cannot be read now."""
        return self._beside(video, size, f"t{at:.3f}", f"{video} at {at:.1f} s",
                            lambda: _frame(video, at, size, self.timeout))

    def _beside(self, photo: str, size: int, tag: str, what: str, picture: Callable[[], Image.Image]) -> str:
        """A JPEG of what ``picture()`` reads of ``photo`` (``what``, for the log), kept beside its
        thumbnails as ``<their name>.<tag>.jpg`` (pruned with them), made on first use."""
        whole = self.path_for(photo, size)
        if whole is None:
            return self.placeholder()
        target = whole.with_name(f"{whole.stem}.{tag}.jpg")
        if target.exists():
            return str(target)
        return self._made(target, size, what, picture)

    def get_many(self, photos: Iterable[str], size: int = THUMB_SIZE,
                 known: Iterable[tuple[int, int] | None] | None = None) -> list[str]:
        """Thumbnails of several photos, made in parallel (decoding releases the GIL); ``known``:
        each one's record (mtime_ns, size), as ``get`` takes it."""
        photos = list(photos)
        return list(self._pool.map(lambda p, k: self.get(p, size, k), photos, known or [None] * len(photos)))

    def placeholder(self) -> str:
        """A grey square with a cross, shown for photos that cannot be read: in the cache, else in
        Gradio's upload folder, which the page and REST serve too. A cache deleted since the start
        on a disk full or read-only now (or full from the start) cannot hold it, and its failed
        write made each thumbnail a 500 where a placeholder was promised."""
        target = self.root / PLACEHOLDER_NAME
        if target.exists():
            return str(target)
        self._tag()
        try:
            _save_jpeg(_placeholder_picture(), target)
            return str(target)
        except OSError:
            from gradio.utils import get_upload_folder

            spare = Path(get_upload_folder()) / "clipsearch" / PLACEHOLDER_NAME
            if not spare.exists():
                _save_jpeg(_placeholder_picture(), spare)
            return str(spare)

    def contains(self, path: str | Path) -> bool:
        """True when ``path`` is inside this cache (for checks and tests)."""
        try:
            Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _PruneSchedule:
    """When to prune: after a change, one prune at a time, and at most every ``every`` seconds."""

    def __init__(self, every: float, clock: Callable[[], float]) -> None:
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._pending = False
        self._running = False
        self._last: float | None = None

    def due(self, changed: bool) -> bool:
        """True (and the prune counted as started) when one should start now."""
        with self._lock:
            self._pending = self._pending or changed
            now = self.clock()
            if not self._pending or self._running or (self._last is not None and now - self._last < self.every):
                return False
            self._pending, self._running, self._last = False, True, now
            return True

    def done(self) -> None:
        with self._lock:
            self._running = False


def _frame(video: str, at: float, size: int, timeout: float) -> Image.Image:
    """The frame of ``video`` at ``at`` s, decoded on a thread abandoned after ``timeout`` s."""
    # PyAV (15 MB) loads with the first video shown, not with the app
    from clipsearch.video_frames import frame_at

    try:
        return call_abandonable(timeout, frame_at, video, at, size)
    except FutureTimeout:
        raise UnreadableImage(video, "timed out", f"no frame after {timeout:g} s") from None


def thumbnail_key(photo: str, mtime_ns: int, size: int) -> str:
    """The cache name of a photo's thumbnails: a hash of its path, mtime and size."""
    text = f"{photo}\0{mtime_ns}\0{size}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _placeholder_picture() -> Image.Image:
    picture = Image.new("RGB", (THUMB_SIZE, THUMB_SIZE), (200, 200, 200))
    draw = ImageDraw.Draw(picture)
    draw.line((60, 60, 196, 196), fill=(120, 120, 120), width=8)
    draw.line((60, 196, 196, 60), fill=(120, 120, 120), width=8)
    return picture


def _save_jpeg(picture: Image.Image, target: Path) -> None:
    """Write atomically so that a concurrent reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    with contextlib.suppress(OSError):  # as any new file (mkstemp's 0600: another user's web app saw none)
        os.fchmod(handle, new_file_mode())
    try:
        with os.fdopen(handle, "wb") as out:
            picture.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
