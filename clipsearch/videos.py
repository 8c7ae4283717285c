"""Videos searched by moment: the engine's side of ``videos.sqlite`` (``--videos``).

``engine.moments(query)`` scores every moment of every video (``videoindex``) against the query's
vector, the same vector a photo search uses, and answers one result a video: its best moment
("clip.mp4 at 1:23"), with the video's other matching moments beside it. Which moments match is
decided the way photos are (``clipsearch.cutoff``), with the moments and the index's photos as one
library (``_beside_photos``: a frame is a picture to the model): from the query's best scores and
its scores over a sample of both, and words whose best score stays under every vague word's best
name nothing the library holds (``calibration``); a best moment far above every other is the one
match (``moments_threshold``: a scene filmed once is one moment). A query of several terms is
judged term by term, as a photo search is (``cutoff_terms``: a negative term rules out the moments
it names, a sum keeps either term's); a video with a match shows its best matching moment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import mount_points
from .calibration import names_nothing
from .cutoff import (
    LIBRARY_TOP,
    SAMPLE_SIZE,
    TOP_CANDIDATES,
    gap_ratios,
    library_standing,
    narrow_cutoff,
    relevance_cutoff,
)
from .cutoff_terms import (
    PICTURE_GROUP,
    TermVector,
    combine,
    combine_strong,
    has_picture,
    judged,
    uses_combined_cut,
)
from .errors import InvalidQuery
from .folders import filter_as_covered
from .indexing import VideosLess
from .ocr import TextReader
from .query import QueryTerm, check_cutoff, check_k, check_terms, parse_query
from .region import Region
from .sidestore import SideStore
from .stores.base import SearchFilter, stamp_differences
from .textindex import parse_text_query
from .textsearch import text_of_query, without_quotes
from .videoindex import VideoIndex, VideoRecord
from .videopass import VideoPass, VideoProgress, VideoReport
from .videowords import WordsPass, WordsReport

DEFAULT_VIDEOS = 10
MAX_ALSO = 12  # other matching moments listed beside a video's best
LONE_GAP = 8.0  # a best moment this many times the spacing below it above the next one stands alone


@dataclass(frozen=True)
class MomentResult:
    """One video that matches: its best moment (``at``, seconds), how well (cosine), and its other
    matching moments (``also``, in time order)."""

    path: str
    at: float
    score: float
    duration: float
    width: int
    height: int
    date_taken: str | None
    size: int
    mtime_ns: int
    strong: bool = True
    also: tuple[float, ...] = ()
    words: str | None = None  # what the moment says, where its words match the query (``[marked]``)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "at": round(self.at, 3), "score": round(self.score, 6), "strong": self.strong,
                "duration": round(self.duration, 3), "also": [round(t, 3) for t in self.also],
                "width": self.width, "height": self.height, "date_taken": self.date_taken,
                "size": self.size, "mtime_ns": self.mtime_ns, **({"words": self.words} if self.words else {})}


def clock(seconds: float) -> str:
    """A time in a video as people write it: ``0:07``, ``1:23``, ``1:02:03``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class VideoSide(SideStore):
    """The video store of one index folder, opened when first needed, and what uses it."""

    def __init__(self, index_dir: str | Path) -> None:
        super().__init__(index_dir, VideoIndex.open)
        self._vague_level: tuple[int, float] | None = None  # (generation, level)

    def store(self, create: bool = False) -> VideoIndex | None:
        """The video store (None when the index has none and ``create`` is false)."""
        return super().store(create)

    def info_entry(self) -> dict[str, Any]:
        """``{"videos": ...}`` when the index has a video store, else nothing (for ``engine.info``)."""
        store = self.store()
        return {} if store is None else {"videos": {"enabled": store.enabled, **store.counts()}}

    def has_moments(self, stamp: dict[str, Any]) -> bool:
        """Whether there are moments, embedded by the model of ``stamp`` (another's are read again
        by the next pass, and meanwhile mean nothing)."""
        store = self.store()
        return (store is not None and not stamp_differences(store.stamp or stamp, stamp)
                and len(store.moments().times) > 0)

    def search(self, vector: np.ndarray, k: int, where: SearchFilter | None, matching: Callable,
               strong_from: float | None = None, said: dict[tuple[str, float], str] | None = None) -> list[MomentResult]:
        """The ``k`` videos with a moment nearest ``vector``, best first; ``matching(scores, standing,
        moments)`` says which moments match (a mask over every moment; ``standing(scores)``: the
        best ``TOP_CANDIDATES`` of any scores over the moments among the videos ``where`` allows,
        best first, and their scores over the moments' sample). A video with a matching moment is
        ``strong``, at its best matching moment, and comes first; ``strong_from``: the score from
        which a video's best moment is ``strong`` instead (a flat cut-off). ``said``: the moments
        whose words match the query ((fingerprint, t) -> snippet): matches whatever their score,
        their videos first, each at such a moment."""
        store = self.store()
        moments = store.moments() if store is not None else None
        if moments is None or not len(moments.times):
            return []
        videos = [v for v in store.records(where) if v.fingerprint in moments.rows]
        if not videos:
            return []
        allowed = None if where is None or where.is_empty() else np.concatenate(
            [np.arange(moments.rows[fp].start, moments.rows[fp].stop) for fp in {v.fingerprint for v in videos}])

        def standing(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mine = scores if allowed is None else scores[allowed]
            top = -np.sort(-np.partition(mine, len(mine) - TOP_CANDIDATES)[-TOP_CANDIDATES:]) \
                if len(mine) > TOP_CANDIDATES else np.sort(mine)[::-1]
            return top, scores[moments.sample]

        scores = moments.vectors @ np.asarray(vector, np.float32)
        words = _rows_said(said or {}, moments)
        saying = np.zeros(len(scores), bool)
        saying[list(words)] = True
        matches = matching(scores, standing, moments) | saying
        bests = np.maximum.reduceat(scores, moments.starts)  # each content's best moment, in one pass
        says = np.maximum.reduceat(saying, moments.starts)
        if strong_from is None:  # a video with a match shows its best match (a composite query's need not be its best)
            shown = np.maximum.reduceat(np.where(matches, scores, -np.inf), moments.starts)
            strong = shown > -np.inf
            shown = np.where(strong, shown, bests)
        else:
            shown, strong = bests, (bests >= strong_from) | says
        place = moments.group
        videos.sort(key=lambda v: (not strong[place[v.fingerprint]], not says[place[v.fingerprint]],
                                   -shown[place[v.fingerprint]], v.path))
        return [_result(video, moments.rows[video.fingerprint], scores, moments.times, matches,
                        bool(strong[place[video.fingerprint]]), strong_from is None, saying, words)
                for video in videos[:k]]

    def vague_level(self, moments: Any, vague_vectors: Callable[[], np.ndarray]) -> float:
        """The vague words' level over the moments (``calibration``), kept per generation."""
        kept = self._vague_level
        if kept is not None and kept[0] == moments.generation:
            return kept[1]
        level = float(np.min(np.max(moments.vectors @ vague_vectors().T, axis=0)))
        self._vague_level = (moments.generation, level)
        return level


def _tell(progress: Callable | None, state: VideoProgress, told: list) -> None:
    told[:] = [state]
    if progress is not None:
        progress(state)


def _rows_said(said: dict[tuple[str, float], str], moments: Any) -> dict[int, str]:
    """The rows of the moments ``said`` names (fingerprint, t), with their snippets."""
    rows = {}
    for (fingerprint, t), snippet in said.items():
        mine = moments.rows.get(fingerprint)
        if mine is not None:
            at = np.flatnonzero(np.abs(moments.times[mine] - t) < 1e-6)
            if len(at):
                rows[mine.start + int(at[0])] = snippet
    return rows


def _result(video: VideoRecord, rows: slice, scores: np.ndarray, times: np.ndarray, matches: np.ndarray,
            strong: bool, at_match: bool, saying: np.ndarray, words: dict[int, str]) -> MomentResult:
    """A video's result: at its best moment that says the query's words, else its best matching
    moment (``at_match``, where it has one), else its best."""
    mine, when, hit, says = scores[rows], times[rows], matches[rows], saying[rows]
    prefer = says if says.any() else hit if at_match and hit.any() else None
    best = int(np.argmax(mine if prefer is None else np.where(prefer, mine, -np.inf)))
    also = np.sort(when[hit & (np.arange(len(mine)) != best)])[:MAX_ALSO]
    return MomentResult(video.path, float(when[best]), float(mine[best]), video.duration, video.width,
                        video.height, video.date_taken, video.size, video.mtime_ns, strong,
                        tuple(float(t) for t in also), words.get(rows.start + best))


def moments_threshold(top: np.ndarray, sample: np.ndarray, total: int) -> float:
    """The score from which a moment matches: the automatic cut-off's (``cutoff.relevance_cutoff``),
    unless the best moment alone stands far apart (a gap at least ``LONE_GAP`` times the spacing
    below it, and ``cutoff.LIBRARY_TOP`` deviations or more above the rest of the moments): then
    that one. A photo search takes no group of one (a broad query's best photo stands apart by
    chance too often: docs/cutoff.md), but a scene filmed once is one moment of one video."""
    threshold = relevance_cutoff(top[:TOP_CANDIDATES], sample, total).threshold
    ratios = gap_ratios(top[:TOP_CANDIDATES])
    if (len(ratios) and ratios[0] >= LONE_GAP and threshold < top[1]
            and library_standing(top[:TOP_CANDIDATES], 1, sample, total) >= LIBRARY_TOP):
        return float((top[0] + top[1]) / 2)
    return threshold


class VideoFinding:
    """The engine's videos: reading them into moments, and finding the moments a query shows."""

    @property
    def videos(self) -> VideoSide:
        side = self.__dict__.get("_video_side")
        if side is None:
            side = self.__dict__.setdefault("_video_side", VideoSide(self.settings.index_dir))
        return side

    def video_records(self) -> list[VideoRecord]:
        """Every video the index holds moments of, in path order."""
        store = self.videos.store()
        return [] if store is None else store.records()

    def video_record(self, path: str) -> VideoRecord | None:
        """What the index knows of the video at ``path``, or None when it holds no such video."""
        store = self.videos.store()
        return None if store is None else store.record(os.path.abspath(os.fspath(path)))

    def forget_videos_under(self, folder: str) -> int:
        """Forget the videos in or under ``folder`` (``remove_folder``); returns how many."""
        store = self.videos.store()
        if store is None:
            return 0
        inside = os.path.join(folder, "")
        return store.forget([r.path for r in store.records() if r.path.startswith(inside)] +
                            [p for p in store.unreadable() if p.startswith(inside)])

    def set_video_reading(self, on: bool) -> None:
        """Turn reading the videos in the index's folders on or off; the index remembers it."""
        self.videos.set_enabled(on)

    def read_videos(self, *, progress: Callable[[VideoProgress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, dry_run: bool = False,
                    folders: list[str] | None = None, removing: Iterable[str | Path] = (),
                    words: bool | None = None) -> VideoReport | None:
        """Read the videos of the index's folders that are new or changed into moments, under the
        index's lock (None when reading videos is off). Its own pass after ``index_folder``.
        ``dry_run``: only say what it would read and remove, whether reading videos is on or not,
        without the lock, over the folders the run it foretells covers: the index's and ``folders``
        (a dry run of photos records none), less those it is ``removing`` first (``remove_folder``).
        ``words``: the moments' words too (default: where the index reads words, ``--ocr``)."""
        if not (self.videos.enabled or dry_run):
            return None
        words = self.text.enabled if words is None else words
        with self.index.lock_unless(dry_run):
            if not self._writable:
                self.reload_if_changed()
            store, folders, left_out = self._video_scope(self.videos.store(), folders, dry_run, removing)
            told: list[VideoProgress] = []
            report = VideoPass(store, self.encoder, progress=lambda state: _tell(progress, state, told),
                               should_stop=should_stop, known_stamp=self._store().stamp,
                               mounts=mount_points.load(self.settings.index_dir)).run(
                folders, [str(self.settings.index_dir), *left_out], dry_run=dry_run)
            if dry_run and words:  # the moments whose words a pass would read (those read now)
                pending = store.words_pending(TextReader().stamp)
                report.words = WordsReport(videos=len(pending), moments=sum(len(times) for _, times in pending))
            elif not (report.interrupted or dry_run) and words:  # the words in the moments too
                last = told[-1] if told else VideoProgress()
                report.words = WordsPass(VideosLess.readable(store), TextReader(), should_stop=should_stop,
                                         progress=lambda words: _tell(
                                             progress, replace(last, words=words.moments, current=""), told)).run()
                report.interrupted = report.words.interrupted  # what is left, its summary says
            return report

    def moments(self, terms: str | list[QueryTerm], k: int = DEFAULT_VIDEOS, where: SearchFilter | None = None,
                cutoff: Any = "auto") -> list[MomentResult]:
        """The videos with a moment that matches ``terms``, best first (one result a video, its best
        matching moment first); ``cutoff`` as in ``search`` says which are ``strong``: ``"auto"``,
        a flat score, or None/0 for all. A result's ``also`` lists the moments the automatic
        cut-off calls matches, whatever ``cutoff`` is."""
        terms = parse_query(terms) if isinstance(terms, str) else check_terms(terms)  # as ``search``, videos or not
        if not self._finds_moments(cutoff, k):
            return []
        if getattr(self._last_query, "terms", None) is terms:  # the photos' search of the same terms: not embedded again
            parts = self._last_query.parts
        else:
            with getattr(self.encoder, "query", contextlib.nullcontext)():
                parts = self.term_vectors(without_quotes(terms))
        return self._moments_of(parts, k, where, cutoff, said=self._moments_saying(terms))

    def _moments_saying(self, terms: list[QueryTerm]) -> dict[tuple[str, float], str]:
        """The moments whose words match a plain query of words, as photos' words are matched
        (whole words first, then word beginnings; ``--ocr`` on); none for any other query."""
        text, store = text_of_query(terms), self.videos.store()
        parsed = parse_text_query(text) if text and self.text.enabled and store is not None else None
        if parsed is None:
            return {}
        found = store.moments_saying(parsed.exact, parsed.words)
        more = store.moments_saying(parsed.prefix, parsed.words, exact=False) if parsed.prefix else {}
        for key, snippet in more.items():
            found.setdefault(key, snippet)
        return found

    def similar_moments(self, path: str | Path, k: int = DEFAULT_VIDEOS, where: SearchFilter | None = None,
                        cutoff: Any = "auto", region: Region | None = None) -> list[MomentResult]:
        """The videos with a moment like the indexed photo at ``path`` (its stored vector), or like
        its ``region`` (read from the file, once for ``similar`` and this on the same thread), as
        ``moments`` answers; the photo itself is no evidence of what matches it."""
        if not self._finds_moments(cutoff, k):
            return []
        path = os.path.abspath(os.fspath(path))
        if region is not None:
            terms = [QueryTerm(1.0, image=path, region=region)]
            last = getattr(self._last_query, "terms", None)  # ``similar``'s own, of the same part: its vector
            return self.moments(last if last == terms else terms, k, where, cutoff)
        vector = self._store().vector(path)
        if vector is None:
            raise InvalidQuery(f"{path} is not in the index")
        return self._moments_of([TermVector(1.0, np.asarray(vector, np.float32), False)], k, where, cutoff,
                                leave_out=path)

    def _finds_moments(self, cutoff: Any, k: Any) -> bool:
        check_k(k)  # as the photos' search: k=-1 listed all but one video
        check_cutoff(cutoff)
        return self.videos.has_moments(self.encoder.stamp)

    def _moments_of(self, parts: list[TermVector], k: int, where: SearchFilter | None, cutoff: Any,
                    leave_out: str | None = None, said: dict | None = None) -> list[MomentResult]:
        """The moments of a query's terms: one term's are judged by its own cut; several terms' as a
        photo search judges them (``cutoff_terms``: each judged term by its own cut, combined)."""
        where = filter_as_covered(where, self.folders)
        vector, text_like = combine(parts, self.encoder.dim)

        def cut(term: TermVector, scores: np.ndarray, standing: Callable, moments: Any, words: bool) -> float:
            """The score from which a moment matches ``term`` (``scores``: the term's over every moment)."""
            top, sample = standing(scores)
            level = self.videos.vague_level(moments, self.calibration.vague_vectors)
            top, sample, total, level = self._beside_photos(term.vector, term.text, where, top, sample, moments,
                                                            level, leave_out)
            return np.inf if words and names_nothing(top, level) else moments_threshold(top, sample, total)

        def matching(scores: np.ndarray, standing: Callable, moments: Any) -> np.ndarray:
            whole = TermVector(1.0, vector, text_like)
            if len(parts) == 1:
                return scores >= cut(whole, scores, standing, moments, bool(parts[0].text and parts[0].weight > 0))
            term_strong, positive = {}, []
            for i in judged(parts):
                term = replace(parts[i], vector=np.asarray(parts[i].vector, np.float32))
                own = moments.vectors @ term.vector
                threshold = cut(term, own, standing, moments, term.text)
                term_strong[i] = own >= threshold
                positive += [threshold] if term.weight > 0 else []
            # a sum of words (each decides), or every positive word names nothing the library holds
            if not uses_combined_cut(parts) or (positive and np.all(np.isposinf(positive))):
                combined = np.zeros(len(scores), bool)
            elif has_picture(parts):  # a picture plus words: its best group, as a narrow query's
                combined = scores >= narrow_cutoff(standing(scores)[0], PICTURE_GROUP).threshold
            else:
                combined = scores >= cut(whole, scores, standing, moments, False)
            return combine_strong(parts, combined, term_strong)

        flat = None if cutoff == "auto" else float(cutoff) if cutoff and cutoff > 0 else -np.inf
        return self.videos.search(vector, k, where, matching, strong_from=flat, said=said)

    def _beside_photos(self, vector: np.ndarray, text_like: bool, where: SearchFilter | None, top: np.ndarray,
                       sample: np.ndarray, moments: Any, level: float,
                       leave_out: str | None = None) -> tuple[np.ndarray, np.ndarray, int, float]:
        """The moments' best scores, sample, count and vague words' level joined with the photos'
        (their best under ``where``, the library sample's scores, each part of the joint sample as
        large as the share of the pictures it stands for): a frame is a picture to the model, and a
        few moments alone are too few to judge by (the demo's 11 called a blue circle a strong match
        for "a red circle", beside 300 photos with red circles in them). ``leave_out``: the photo
        searched by, whose score of 1 to itself says nothing of the moments."""
        store, total = self.store, len(moments.times)
        count = store.count() if store is not None else 0
        if not count:
            return top, sample, total, level
        best = np.array([score for record, score in store.search(vector, TOP_CANDIDATES, where=where,
                                                                 text_like=text_like) if record.path != leave_out])
        joined = np.sort(np.concatenate([top, best]))[::-1][:TOP_CANDIDATES]
        size = min(SAMPLE_SIZE, count + total)
        photos = round(size * count / (count + total))
        rng = np.random.default_rng(moments.generation)
        ours = sample[rng.permutation(len(sample))[:size - photos]]
        theirs = np.einsum("ij,j->i", self.library_sample()[:photos], np.asarray(vector, np.float32))
        return joined, np.concatenate([theirs, ours]), count + total, max(level, self.calibration.vague_level(store))
