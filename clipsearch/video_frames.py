"""Reading video files: sampled frames for moments, one frame for a preview, and the file's facts.

The only importer of PyAV. ``SampledVideo`` hands over a frame every ``every`` seconds as it is
decoded (``read_video``: all at once), upright (the display matrix phones write for portrait
video, a turn or a mirror, applied as a player does: ``display_matrix``), RGB, shrunk by FFmpeg
while converting (a 4K frame never exists in RGB at full size); ``frame_at`` seeks to one moment
for a thumbnail. Every failure is an ``UnreadableImage`` with a short, stable reason, as for photos.

Why keyframes: decoding is the whole cost; a keyframe decodes on its own, any other frame needs
every frame back to its keyframe. Phones and cameras write one every second or two, so where no
two are more than ``every`` apart (an MP4's sample table says so for free, else the packets are
read once, decoding nothing) only keyframes are decoded: one frame in 30-60, a minute of 720p in
well under a second on two cores. Elsewhere (screen recordings, edits with keyframes ten seconds
apart) every frame is decoded, bar those nothing refers to, and only the samples are converted:
the video's full decoding, 15-20 times faster than real time at 720p and 8 Mb/s on two cores.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial

import av
from av.stream import Disposition
from PIL import Image

from .ahead import Watch, run_ahead
from .display_matrix import SIDEWAYS, upright_of
from .errors import UnreadableImage
from .images import os_reason

log = logging.getLogger(__name__)

_EPSILON = 1e-3  # seconds: frame times are rounded to the container's time base
# A file FFmpeg cannot open is "corrupt video" when it starts like a video container (a cut-off
# MP4 has lost its index), else "not a video".
_CONTAINER_MAGIC = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"wide"), (4, b"free"),
                    (0, b"\x1a\x45\xdf\xa3"), (0, b"RIFF"), (0, b"\x00\x00\x01\xba"),
                    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"))
_STAMP = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class VideoFacts:
    """What the index records about a video file."""

    duration: float  # seconds
    width: int  # of the upright picture, as a player shows it
    height: int
    date_taken: str | None  # ISO 8601 local time, from the container's creation time when sane


@dataclass(frozen=True)
class Frame:
    """One sampled moment of a video."""

    t: float  # seconds from the start
    image: Image.Image  # upright RGB


def read_video(path: str | os.PathLike, every: float = 2.0, max_frames: int = 1800, min_size: int | None = None,
               timeout: float | None = 60.0) -> tuple[VideoFacts, list[Frame]]:
    """The video's facts and all its sampled frames at once (``SampledVideo``'s, which see)."""
    with SampledVideo(path, every, max_frames, min_size, timeout) as video:
        frames = list(video)
    assert video.facts is not None  # a video with no frame raised
    return video.facts, frames


class SampledVideo:
    """A video's frames sampled one every ``every`` seconds, at most ``max_frames``, each handed
    over as it is decoded (iterate; a reader that uses each frame and lets it go holds a few, where
    an hour's 1,800 at once are about 480 MB), and its facts once the last has come.

    For each moment 0, every, 2*every, ... before the end, the first frame at or after it (from
    keyframes only where they are that dense, so then the nearest keyframe after it); a long
    video that would give more than ``max_frames`` is sampled more sparsely, evenly over its whole
    length. Where every frame is decoded, those no other frame refers to (most B-frames) are not:
    a third to a half fewer, for a sample a frame or two late at worst. With ``min_size`` each
    picture is shrunk so its shorter side is about that (never enlarged). A cut-off file gives the
    frames before the cut. With ``timeout``, decoding runs on a thread of its own, up to ``ahead``
    frames ahead of the reader (decoding the next while the reader works on one), and a decode that
    reads nothing for that many seconds is abandoned ("timed out"): a stall, not a long video,
    times out. Leaving the iteration or the ``with`` block early stops the decoding at its next packet.
    """

    def __init__(self, path: str | os.PathLike, every: float = 2.0, max_frames: int = 1800,
                 min_size: int | None = None, timeout: float | None = 60.0, ahead: int = 16) -> None:
        if every <= 0 or max_frames < 1:
            raise ValueError(f"every must be > 0 and max_frames >= 1, not {every} and {max_frames}")
        self.name, self.every, self.max_frames, self.min_size = os.fspath(path), every, max_frames, min_size
        self.timeout, self.ahead = timeout, max(1, ahead)
        self.facts: VideoFacts | None = None  # known once the last frame has come
        self._watch = Watch()

    def __iter__(self) -> Iterator[Frame]:
        frames = _sampled(self, self._watch)
        if self.timeout is None:
            return frames
        stalled = partial(UnreadableImage, self.name, "timed out", f"nothing read for {self.timeout:g} s")
        return run_ahead(frames, self._watch, self.timeout, stalled, self.ahead, name="video decode")

    def close(self) -> None:
        """Stop decoding (at its next packet): the frames not taken yet are not wanted."""
        self._watch.abandoned = True

    def __enter__(self) -> SampledVideo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def frame_at(path: str | os.PathLike, t: float, min_size: int | None = None) -> Image.Image:
    """The upright RGB frame nearest ``t`` seconds (the last one for a time past the end), for
    thumbnails and previews of a moment: a seek, then at most one keyframe interval decoded."""
    name = os.fspath(path)
    video = _Video(name)
    try:
        return video.picture(video.frame_near(max(0.0, t)), min_size)
    except (av.FFmpegError, OSError, ValueError, MemoryError) as exc:
        raise UnreadableImage(name, "corrupt video", str(exc)[:200]) from None
    finally:
        video.container.close()


def frames_at(path: str | os.PathLike, times: list[float], min_size: int | None = None,
              watch: Watch | None = None) -> Iterator[Frame]:
    """The upright RGB frames nearest ``times`` (in order), the file opened once, each a tick of
    ``watch``: the frames of a video's moments read again (their words: ``videowords``)."""
    name, watch = os.fspath(path), watch or Watch()
    video = _Video(name)
    try:
        for t in times:
            watch.tick()
            yield Frame(t, video.picture(video.frame_near(max(0.0, t)), min_size))
    except (av.FFmpegError, OSError, ValueError, MemoryError) as exc:
        raise UnreadableImage(name, "corrupt video", str(exc)[:200]) from None
    finally:
        video.container.close()


def _sampled(sampling: SampledVideo, watch: Watch) -> Iterator[Frame]:
    """The sampled frames, decoded here; the facts, at the end, set on ``sampling``."""
    video = _Video(sampling.name)
    try:
        watch.tick()
        targets = _Targets(video.duration, sampling.every, sampling.max_frames)
        keyframes_only = video.keyframes_dense(targets.every, watch)
        facts, t, taken = None, 0.0, 0
        # Keyframes only: those no moment takes are not even decoded (half of them, at one a second).
        chooser = copy.copy(targets) if keyframes_only else None
        for t, frame in video.frames("NONKEY" if keyframes_only else "NONREF", watch, chooser):
            facts = facts or video.facts(frame)
            if targets.take(t):
                yield Frame(t, video.picture(frame, sampling.min_size))
                taken += 1
                if targets.done:
                    break
        if facts is None:
            raise UnreadableImage(video.name, "corrupt video", video.damage or "no frame could be decoded")
        if video.duration is None:  # no header said: then every frame was read
            facts = replace(facts, duration=t + video.frame_time)
        if video.damage:
            log.info("%s: kept the %d frames before damage (%s)", video.name, taken, video.damage)
        sampling.facts = facts
    except (av.FFmpegError, OSError, ValueError, MemoryError) as exc:
        raise UnreadableImage(sampling.name, "corrupt video", str(exc)[:200]) from None
    finally:
        video.container.close()


class _Targets:
    """The moments to sample: 0, every, 2*every, ... before the end, at most ``max_frames``."""

    def __init__(self, duration: float | None, every: float, max_frames: int) -> None:
        self.every, self.count, self.next, self.done = every, max_frames, 0, False
        if duration:  # an unknown length is sampled at ``every`` up to max_frames
            self.count = max(1, math.ceil(duration / every - 1e-9))
            if self.count > max_frames:
                self.every, self.count = duration / max_frames, max_frames

    def take(self, t: float) -> bool:
        """Whether the frame at ``t`` (frames come in order) is the first at or after the next moment."""
        if self.done or t < self.next * self.every - _EPSILON:
            return False
        self.next = max(self.next + 1, math.floor((t + _EPSILON) / self.every) + 1)  # moments it passed too
        self.done = self.next >= self.count
        return True


class _Video:
    """One open video file and its video stream: its clock, its keyframes, its pictures."""

    def __init__(self, name: str) -> None:
        self.name, self.damage = name, ""
        self.container = _open(name)
        try:
            self.stream = stream = _video_stream(self.container, name)
        except BaseException:
            self.container.close()
            raise
        self.time_base = stream.time_base or 1
        self.start = float(stream.start_time * self.time_base) if stream.start_time is not None else 0.0
        if stream.duration and stream.duration > 0:
            self.duration: float | None = float(stream.duration * self.time_base)
        else:
            self.duration = self.container.duration / av.time_base if self.container.duration else None
        rate = stream.average_rate or stream.guessed_rate
        self.frame_time = float(1 / rate) if rate else 1 / 30
        stream.thread_type = "AUTO"  # frame and slice threads, one per core

    def reopen(self) -> None:
        """Start again from the first packet (more dependable than seeking to 0 in every format)."""
        index = self.stream.index
        self.container.close()
        self.container = _open(self.name)
        self.stream = self.container.streams[index]
        self.stream.thread_type = "AUTO"

    def keyframes_dense(self, every: float, watch: Watch) -> bool:
        """Whether no two keyframes (nor the last and the end) are more than ``every`` apart: an MP4
        or AVI index says for free, else the packets are read (nothing decoded) up to a wide gap."""
        entries = self.stream.index_entries
        indexed = [e.timestamp for e in entries if e.is_keyframe]
        if indexed and self._dense([(k - indexed[0]) * self.time_base for k in indexed], every):
            return True
        if len(indexed) < len(entries):  # a full index, with non-key samples: it knows
            return False
        keys: list[float] = []
        try:
            for packet in self.container.demux(self.stream):
                watch.tick()
                stamp = packet.pts if packet.pts is not None else packet.dts
                if packet.is_keyframe and stamp is not None:
                    keys.append(float(stamp * self.time_base) - self.start)
                    if len(keys) > 1 and keys[-1] - keys[-2] > every + _EPSILON:
                        break
        except av.FFmpegError:  # damage: decoding will keep what comes before it
            pass
        self.reopen()
        return self._dense(keys, every)

    def _dense(self, keys: list[float], every: float) -> bool:
        if not keys:
            return False
        end = self.duration if self.duration is not None else keys[-1]
        return max(b - a for a, b in zip(keys, keys[1:] + [end])) <= every + _EPSILON

    def frames(self, skip: str, watch: Watch | None = None,
               chooser: _Targets | None = None) -> Iterator[tuple[float, av.VideoFrame]]:
        """(seconds from the start, frame) in showing order, without the frames ``skip`` says
        ("NONKEY", "NONREF", "DEFAULT") nor keyframes ``chooser`` does not take; damage ends the
        frames, noted in ``damage``."""
        self.stream.codec_context.skip_frame = skip
        t = -self.frame_time
        try:
            for packet in self.container.demux(self.stream):
                if watch is not None:
                    watch.tick()
                if skip == "NONKEY" and not self._needed(packet, chooser):
                    continue
                try:
                    decoded = packet.decode()
                except av.FFmpegError as exc:  # one bad packet; the decoder recovers at a keyframe
                    self.damage = str(exc)[:200]
                    continue
                for frame in decoded:
                    t = float(frame.time) - self.start if frame.time is not None else t + self.frame_time
                    yield t, frame
        except av.FFmpegError as exc:  # a cut-off or damaged file: keep what was read
            self.damage = str(exc)[:200]

    def _needed(self, packet: av.Packet, chooser: _Targets | None) -> bool:
        if not packet.size:  # the end: it flushes the decoder's threads
            return True
        if not packet.is_keyframe or chooser is None or packet.pts is None:
            return packet.is_keyframe
        return chooser.take(float(packet.pts * self.time_base) - self.start)

    def frame_near(self, t: float) -> av.VideoFrame:
        """The frame nearest ``t``: seek to the keyframe before it, decode forward."""
        if t > 0:
            try:
                self.container.seek(int((self.start + t) / self.time_base), stream=self.stream, backward=True)
                frame, overshot = self._forward(t)
            except av.FFmpegError:
                frame, overshot = None, True
            if frame is not None and not overshot:
                return frame
            self.reopen()  # the seek landed after t (or nowhere): from the start instead
        frame, _ = self._forward(t)
        if frame is None:
            raise UnreadableImage(self.name, "corrupt video", self.damage or "no frame could be decoded")
        return frame

    def _forward(self, t: float) -> tuple[av.VideoFrame | None, bool]:
        last = None
        for frame_t, frame in self.frames("DEFAULT"):
            if last is None and frame_t > t + self.frame_time / 2:
                return frame, True
            if frame_t >= t - self.frame_time / 2:
                return frame, False
            last = frame
        return last, False

    def facts(self, frame: av.VideoFrame) -> VideoFacts:
        width, height = self._display_size(frame)
        if upright_of(frame) in SIDEWAYS:
            width, height = height, width
        return VideoFacts(self.duration or 0.0, width, height, _date_taken(self.container, self.stream))

    def _display_size(self, frame: av.VideoFrame) -> tuple[int, int]:
        """The picture's size as shown: anamorphic video (DV, some camcorders) has non-square pixels."""
        ratio = self.stream.sample_aspect_ratio
        if ratio and ratio > 0 and ratio != 1:
            return max(1, round(frame.width * ratio)), frame.height
        return frame.width, frame.height

    def picture(self, frame: av.VideoFrame, min_size: int | None) -> Image.Image:
        """Upright RGB, shrunk by FFmpeg while converting (far cheaper than converting, then shrinking)."""
        width, height = self._display_size(frame)
        if min_size and min(width, height) > min_size:
            scale = min_size / min(width, height)
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        same = (width, height) == (frame.width, frame.height)
        image = frame.to_image() if same else frame.to_image(width=width, height=height, interpolation="AREA")
        turn = upright_of(frame)
        return image.transpose(turn) if turn is not None else image  # FLIP_LEFT_RIGHT is 0


def _open(name: str) -> av.container.InputContainer:
    try:
        size = os.stat(name).st_size
    except OSError as exc:
        raise UnreadableImage(name, os_reason(exc), str(exc.strerror or exc)) from None
    if size == 0:
        raise UnreadableImage(name, "empty file")
    try:
        return av.open(name, metadata_errors="ignore")
    except (PermissionError, FileNotFoundError) as exc:  # PyAV's are these too
        raise UnreadableImage(name, os_reason(exc), str(exc.strerror or exc)) from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UnreadableImage(name, _unopenable(name), str(exc)[:200]) from None


def _unopenable(name: str) -> str:
    """Why FFmpeg could not open a file: a damaged video, or something else named like one."""
    try:
        with open(name, "rb") as handle:
            head = handle.read(200)
    except OSError:
        return "corrupt video"
    magic = any(head[at:at + len(magic)] == magic for at, magic in _CONTAINER_MAGIC)
    transport = any(len(head) > at + 188 and head[at] == head[at + 188] == 0x47 for at in (0, 4))  # .mts
    return "corrupt video" if magic or transport else "not a video"


def _video_stream(container: av.container.InputContainer, name: str) -> av.VideoStream:
    """The first real video stream; an audio file's cover picture is no video."""
    videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    for stream in videos:
        if stream.codec_context is not None:
            return stream
    raise UnreadableImage(name, "no video stream", "no decoder for its video" if videos else "")


def _date_taken(container: av.container.InputContainer, stream: av.VideoStream) -> str | None:
    """When the video was shot, as local time: Apple's creationdate is local time with its offset
    (kept as shown there); ``creation_time`` is UTC (turned into this machine's local time)."""
    tags = [{k.lower(): v for k, v in metadata.items()} for metadata in (container.metadata, stream.metadata)]
    values = [tags[0].get("com.apple.quicktime.creationdate")] + [tag.get("creation_time") for tag in tags]
    for value in values:
        match = _STAMP.match(value) if isinstance(value, str) else None
        if match is None or not 1970 < int(match.group(1)) < 2200:  # 1904-01-01, 1970-01-01: "never set"
            continue
        try:
            stamp = datetime(*(int(part) for part in match.groups()[:6]))
        except ValueError:  # 2021-02-30
            continue
        if match.group(7) == "Z":
            stamp = stamp.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
        return stamp.isoformat()
    return None
