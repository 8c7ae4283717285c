"""Reading videos: sampled moments, keyframe and every-frame decoding, facts, previews, bad files.

Real PyAV on small clips rendered into tmp_path (``clipsearch.demo.clips``): five still shots of
two seconds each, so what a frame at time t must show is known.
"""

from __future__ import annotations

import errno
import random
import struct
import threading
import time
from datetime import datetime, timezone

import av
import numpy as np
import pytest
from PIL import Image

from clipsearch import ahead, video_frames
from clipsearch.demo.clips import write_clip
from clipsearch.demo.render import random_scene, render_scene
from clipsearch.errors import UnreadableImage
from clipsearch.image_formats import is_video_name
from clipsearch.video_frames import Frame, VideoFacts, frame_at, read_video

SIZE = 64
_SCENE_RNG, _PICTURE_RNG = random.Random(3), random.Random(0)
SCENES = [random_scene(_SCENE_RNG) for _ in range(5)]
# The pictures write_clip renders (the same seed, 0, and order), to compare frames with.
PICTURES = [np.asarray(render_scene(scene, SIZE, _PICTURE_RNG), dtype=np.float32) for scene in SCENES]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """10 s clips at 10 fps: keyframes every second (gop 10) or every five seconds (gop 50)."""
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for suffix in (".mp4", ".webm"):
        for gop in (10, 50):
            path = folder / f"g{gop}{suffix}"
            write_clip(path, SCENES, size=SIZE, gop=gop)
            made[suffix, gop] = path
    return made


def shot(image: Image.Image) -> int:
    """Which scene a picture shows: the rendered picture it differs least from."""
    pixels = np.asarray(image.convert("RGB").resize((SIZE, SIZE)), dtype=np.float32)
    differences = [np.abs(pixels - picture).mean() for picture in PICTURES]
    best = int(np.argmin(differences))
    assert differences[best] < 12, differences  # close to it, despite compression
    return best


def decoding_modes(monkeypatch) -> list[str]:
    """Record what each decode skips: "NONKEY" (keyframes only), "NONREF" (every frame needed)."""
    seen, frames = [], video_frames._Video.frames

    def spy(self, skip, *args):
        seen.append(skip)
        return frames(self, skip, *args)

    monkeypatch.setattr(video_frames._Video, "frames", spy)
    return seen


def test_video_names_any_case():
    assert is_video_name("clip.MP4") and is_video_name("a/b/holiday.mts") and is_video_name("x.WebM")
    assert not is_video_name("photo.jpg") and not is_video_name("mp4") and not is_video_name("notes.mp4.txt")


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
@pytest.mark.parametrize("gop", [10, 50])
@pytest.mark.parametrize(("every", "times"), [(1.0, range(10)), (2.0, range(0, 10, 2)), (5.0, (0, 5))])
def test_one_frame_per_every_seconds_showing_the_scene_of_its_time(clips, suffix, gop, every, times):
    facts, frames = read_video(clips[suffix, gop], every=every)
    assert [frame.t for frame in frames] == pytest.approx(list(times), abs=0.21)  # a B-frame may be skipped
    assert [shot(frame.image) for frame in frames] == [int(frame.t // 2) for frame in frames]
    assert all(isinstance(f, Frame) and f.image.mode == "RGB" and f.image.size == (SIZE, SIZE) for f in frames)
    assert isinstance(facts, VideoFacts)


def test_keyframes_only_where_they_are_dense_enough(clips, monkeypatch):
    modes = decoding_modes(monkeypatch)
    for gop, every in ((10, 1.0), (10, 2.0), (50, 2.0), (50, 5.0), (50, 4.0)):
        read_video(clips[".mp4", gop], every=every)
        read_video(clips[".webm", gop], every=every)  # no full index: the packets are read first
    dense, sparse = ["NONKEY"] * 2, ["NONREF"] * 2
    assert modes == dense + dense + sparse + dense + sparse


def test_keyframes_only_take_the_first_keyframe_at_or_after_each_moment(tmp_path, monkeypatch):
    path = tmp_path / "g15.mkv"
    write_clip(path, SCENES, size=SIZE, gop=15)  # a keyframe every 1.5 s: dense enough for every=2
    modes = decoding_modes(monkeypatch)
    _, frames = read_video(path, every=2.0)
    assert modes == ["NONKEY"]
    assert [frame.t for frame in frames] == pytest.approx([0.0, 3.0, 4.5, 6.0, 9.0])
    assert [shot(frame.image) for frame in frames] == [0, 1, 2, 3, 4]


def test_too_many_frames_widen_the_step_over_the_whole_video(clips):
    _, frames = read_video(clips[".mp4", 50], every=1.0, max_frames=4)  # every frame decoded: exact
    assert [frame.t for frame in frames] == pytest.approx([0.0, 2.5, 5.0, 7.5], abs=0.11)
    _, frames = read_video(clips[".webm", 10], every=0.5, max_frames=4)  # keyframes: the next second
    assert [frame.t for frame in frames] == pytest.approx([0.0, 3.0, 5.0, 8.0])
    _, frames = read_video(clips[".mp4", 10], every=0.5, max_frames=1)
    assert [frame.t for frame in frames] == [0.0]


def test_min_size_shrinks_the_shorter_side_and_never_enlarges(tmp_path):
    path = tmp_path / "wide.mp4"
    write_clip(path, SCENES[:2], size=(128, 64))
    facts, frames = read_video(path, min_size=32)
    assert (facts.width, facts.height) == (128, 64)  # the facts are the file's
    assert {frame.image.size for frame in frames} == {(64, 32)}
    _, frames = read_video(path, min_size=224)
    assert {frame.image.size for frame in frames} == {(128, 64)}
    assert frame_at(path, 1.0, min_size=16).size == (32, 16)


def test_facts_duration_size_and_date_taken_from_creation_time(tmp_path, clips):
    facts, _ = read_video(clips[".webm", 10])
    assert facts.duration == pytest.approx(10.0, abs=0.1) and (facts.width, facts.height) == (SIZE, SIZE)
    assert facts.date_taken is None  # none written
    path = tmp_path / "dated.mp4"
    write_clip(path, SCENES[:1], size=(96, 64), creation_time="2021-07-04T10:20:30.000000Z")
    facts, _ = read_video(path)
    local = datetime(2021, 7, 4, 10, 20, 30, tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
    assert facts == VideoFacts(2.0, 96, 64, local.isoformat())  # UTC, shown as this machine's time
    write_clip(path, SCENES[:1], size=SIZE, creation_time="1904-01-01T00:00:00.000000Z")  # "never set"
    assert read_video(path)[0].date_taken is None


def test_date_taken_prefers_the_local_time_an_iphone_writes(tmp_path):
    path = tmp_path / "IMG_0001.mov"
    with av.open(str(path), "w", options={"movflags": "use_metadata_tags"}) as container:
        container.metadata["com.apple.quicktime.creationdate"] = "2021-07-04T12:20:30+0200"
        container.metadata["creation_time"] = "2021-07-04T10:20:30.000000Z"
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert read_video(path)[0].date_taken == "2021-07-04T12:20:30"  # the clock where it was shot


@pytest.mark.parametrize("suffix", [".mts", ".mkv", ".avi", ".mov"])
def test_other_containers(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    write_clip(path, SCENES, size=SIZE, codec="libx264" if suffix == ".mts" else None)
    facts, frames = read_video(path)  # .mts starts its clock at 0.2 s; moments count from the start
    assert facts.duration == pytest.approx(10.0, abs=0.1)
    assert [frame.t for frame in frames] == pytest.approx([0, 2, 4, 6, 8], abs=0.21)
    assert [shot(frame.image) for frame in frames] == [0, 1, 2, 3, 4]
    assert shot(frame_at(path, 6.5)) == 3


def test_frame_at_shows_the_moment_and_the_last_frame_past_the_end(clips):
    for key in ((".mp4", 10), (".mp4", 50), (".webm", 50)):
        # the frame nearest t: 7.9 is the last of scene 3, 7.99 is nearer 8.0, the first of scene 4
        moments = {0.0: 0, 1.94: 0, 2.0: 1, 3.3: 1, 5.1: 2, 7.9: 3, 7.99: 4, 9.95: 4, 100.0: 4, -1.0: 0}
        assert {t: shot(frame_at(clips[key], t)) for t in moments} == moments, key


def test_phone_portrait_video_comes_out_upright(tmp_path):
    # Stored as a phone stores portrait video: landscape pixels (the scene's top at the left),
    # and the display matrix an iPhone writes, which FFmpeg reads as "turn 90 degrees clockwise".
    path = tmp_path / "portrait.mov"
    stored = np.zeros((64, 128, 3), np.uint8)
    stored[:, :64] = (220, 30, 30)  # left half red: the top once upright
    stored[:, 64:] = (30, 70, 220)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        stream.set_display_matrix([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30])
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    facts, frames = read_video(path)  # keyframes only
    assert (facts.width, facts.height) == (64, 128)
    _, every_frame = read_video(path, every=0.5)  # every frame decoded
    for image in (frames[0].image, every_frame[1].image, frame_at(path, 0.5), frame_at(path, 0.5, min_size=32)):
        pixels = np.asarray(image, dtype=np.float32)
        height = pixels.shape[0]
        assert pixels.shape[1] * 2 == height
        assert np.abs(pixels[: height // 2 - 4] - (220, 30, 30)).mean() < 12  # red on top
        assert np.abs(pixels[height // 2 + 4:] - (30, 70, 220)).mean() < 12


R, G, B, Y = (220, 30, 30), (30, 190, 60), (30, 70, 220), (230, 210, 40)
QUARTER = 65536


@pytest.mark.parametrize(("a", "b", "c", "d", "shown"), [
    (1, 0, 0, 1, (R, G, B, Y)),
    (-1, 0, 0, 1, (G, R, Y, B)),  # a front camera's mirror: FFmpeg's player applies hflip
    (1, 0, 0, -1, (B, Y, R, G)),  # vflip
    (-1, 0, 0, -1, (Y, B, G, R)),  # a half turn
    (0, 1, -1, 0, (B, R, Y, G)),  # a quarter turn clockwise (an iPhone held upright)
    (0, -1, 1, 0, (G, Y, R, B)),  # counter-clockwise
    (0, 1, 1, 0, (R, B, G, Y)),  # transpose=cclock_flip: a quarter turn and a mirror
    (0, -1, -1, 0, (Y, G, B, R)),  # transpose=clock_flip
])
def test_a_mirroring_display_matrix_shows_the_frames_as_a_player_does(tmp_path, a, b, c, d, shown):
    """Each of the display matrix's eight forms, shown as FFmpeg's own command line and player show
    it. PyAV's ``rotation`` reads a mirrored matrix as a turn (a left-right mirror as 180 degrees,
    top-bottom as none): such frames were indexed upside down or unmirrored."""
    stored = np.zeros((64, 128, 3), np.uint8)  # quadrants: red, green over blue, yellow
    stored[:32, :64], stored[:32, 64:], stored[32:, :64], stored[32:, 64:] = R, G, B, Y
    path = tmp_path / "front.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        stream.set_display_matrix([a * QUARTER, b * QUARTER, 0, c * QUARTER, d * QUARTER, 0, 0, 0, 1 << 30])
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    facts, frames = read_video(path)
    sideways = a == 0
    assert (facts.width, facts.height) == ((64, 128) if sideways else (128, 64))
    for image in (frames[0].image, frame_at(path, 0.5), frame_at(path, 0.5, min_size=32)):
        pixels = np.asarray(image, dtype=np.float32)
        h, w = pixels.shape[0] // 2, pixels.shape[1] // 2
        assert (pixels.shape[1] < pixels.shape[0]) == sideways
        m = 4 * pixels.shape[0] // 64  # a margin from the quadrants' edges, which the codec blurs
        quadrants = (pixels[:h - m, :w - m], pixels[:h - m, w + m:], pixels[h + m:, :w - m], pixels[h + m:, w + m:])
        assert [np.abs(q - colour).mean() < 16 for q, colour in zip(quadrants, shown)] == [True] * 4


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_write_clip_rotation_round_trips_as_the_phone_matrix(tmp_path, suffix):
    path = tmp_path / f"turned{suffix}"
    write_clip(path, SCENES[:2], size=SIZE, rotation=-90)
    with av.open(str(path)) as container:
        first = next(container.decode(video=0))
        matrix = struct.unpack("=9i", bytes(first.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)))
    assert matrix == (0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)  # what an iPhone writes for portrait
    _, frames = read_video(path)
    assert [shot(frame.image) for frame in frames] == [0, 1]  # the rendered pictures, upright


def test_write_clip_is_deterministic_and_says_when_each_shot_is(tmp_path):
    shots = write_clip(tmp_path / "a.mp4", SCENES[:3], seconds_each=1.5, seed=4)
    write_clip(tmp_path / "b.mp4", SCENES[:3], seconds_each=1.5, seed=4)
    assert shots == [(0.0, 1.5, SCENES[0]), (1.5, 3.0, SCENES[1]), (3.0, 4.5, SCENES[2])]
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    with pytest.raises(ValueError):
        write_clip(tmp_path / "c.avi", SCENES[:1], rotation=90)  # AVI has no display matrix


def reason_of(path, **options) -> str:
    with pytest.raises(UnreadableImage) as info:
        read_video(path, **options)
    with pytest.raises(UnreadableImage) as preview:
        frame_at(path, 1.0)
    assert info.value.reason == preview.value.reason and info.value.path == str(path)
    return info.value.reason


def test_files_that_are_no_video_say_why(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("these are my holiday notes, not a video\n" * 20)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert reason_of(text) == "not a video"
    assert reason_of(empty) == "empty file"
    assert reason_of(tmp_path / "gone.mp4") == "vanished"
    audio = tmp_path / "voice.mp4"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert reason_of(audio) == "no video stream"


def test_cut_off_files_keep_what_could_be_read(tmp_path, clips):
    whole = clips[".webm", 10].read_bytes()
    half = tmp_path / "half.webm"
    half.write_bytes(whole[: len(whole) // 2])
    facts, frames = read_video(half)
    assert 1 <= len(frames) < 5 and [shot(f.image) for f in frames] == [int(f.t // 2) for f in frames]
    assert shot(frame_at(half, 100.0)) == int(frames[-1].t // 2)  # the last frame there is
    head = tmp_path / "head.webm"
    head.write_bytes(whole[:300])
    assert reason_of(head) == "corrupt video"
    cut = tmp_path / "cut.mp4"  # an MP4's index is written last: without it nothing can be read
    cut.write_bytes(clips[".mp4", 10].read_bytes()[:5000])
    assert reason_of(cut) == "corrupt video"


def test_permission_denied(tmp_path, clips, monkeypatch):
    def refuse(*args, **kwargs):
        raise av.error.PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(video_frames.av, "open", refuse)
    assert reason_of(clips[".mp4", 10]) == "permission denied"


def test_a_decode_that_stalls_is_abandoned_and_then_stops(clips, monkeypatch):
    release, opened = threading.Event(), []
    real_open = av.open

    def hang(*args, **kwargs):  # a file on a share that stopped answering
        release.wait(5)
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(video_frames.av, "open", hang)
    with pytest.raises(UnreadableImage) as info:
        read_video(clips[".mp4", 10], timeout=0.1)
    assert info.value.reason == "timed out"
    decoders = [t for t in threading.enumerate() if t.name == "video decode"]
    release.set()
    for thread in decoders:
        thread.join(5)
        assert not thread.is_alive()  # it stopped at its first packet, not after the whole video


def test_a_slow_but_moving_decode_is_not_abandoned(tmp_path, monkeypatch):
    path = tmp_path / "short.mp4"
    write_clip(path, SCENES[:2], size=SIZE, gop=50)  # 40 packets, every frame decoded
    ticks = ahead.Watch.tick

    def slow_tick(self):
        threading.Event().wait(0.01)
        ticks(self)

    monkeypatch.setattr(ahead.Watch, "tick", slow_tick)
    started = time.monotonic()
    _, frames = read_video(path, every=1.0, timeout=0.2)  # never 0.2 s without a packet
    assert len(frames) == 4 and time.monotonic() - started > 0.3  # but longer in all
