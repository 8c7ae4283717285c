"""The demo's sample clips: written once, left alone by a re-run (an indexer then sees them unchanged)."""

from __future__ import annotations

import os

import clipsearch.demo.clips as clips


def test_a_rerun_leaves_the_clips_alone_even_where_the_encoder_gives_other_bytes(tmp_path, monkeypatch):
    tmp_path = tmp_path / "videos"
    first = clips.make_sample_clips(tmp_path, n=2)
    stamps = {path.name: (os.stat(path).st_mtime_ns, path.read_bytes()) for path, _ in first}
    stamps[clips.CLIPS_RECORD] = ((tmp_path / clips.CLIPS_RECORD).stat().st_mtime_ns,
                                  (tmp_path / clips.CLIPS_RECORD).read_bytes())
    assert (tmp_path / clips.CLIPS_RECORD).is_file()  # hidden: no scan indexes it
    real_write = clips.write_clip

    def other_bytes(path, *args, **kwargs):  # as some builds of x264 do: the same frames, other bytes
        shots = real_write(path, *args, **kwargs)
        with open(path, "ab") as handle:
            handle.write(b"\0")
        return shots

    monkeypatch.setattr(clips, "write_clip", other_bytes)
    clips.make_sample_clips(tmp_path, n=2)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()} == stamps  # nothing else
    other_seed = clips.make_sample_clips(tmp_path, n=1, seed=1)  # another library: written anew
    assert other_seed[0][0].read_bytes() != stamps["clip_01.mp4"][1]
