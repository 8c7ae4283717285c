"""The CUDA path, on a machine with an NVIDIA GPU (skipped elsewhere: CI has none; README's
"On a GPU" says where and when it last ran, with ``benchmarks/bench_gpu.py``'s figures)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo import make_sample_library
from clipsearch.encoders.openclip import OpenClipEncoder, calibration_images
from clipsearch.pipeline import IndexingPipeline

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)")
TEXTS = ["a red circle", "a blue star and a yellow square", "a green triangle - green"]


def test_cuda_runs_the_model_in_fp16_with_the_cpus_fp32_vectors():
    gpu = OpenClipEncoder(ModelSpec(name="demo", device="cuda")).load()
    cpu = OpenClipEncoder(ModelSpec(name="demo", device="cpu", precision="fp32")).load()
    assert (gpu.device, gpu.precision, gpu.batch_size) == ("cuda", "float16", 256)
    pictures = calibration_images()
    for ours, reference in ((gpu.embed_images(pictures), cpu.embed_images(pictures)),
                            (gpu.embed_texts(TEXTS), cpu.embed_texts(TEXTS))):
        assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
        assert np.min(np.sum(ours * reference, axis=1)) > 0.999


def test_a_folder_indexed_on_cuda_decodes_on_every_core_and_finds_its_pictures(tmp_path: Path):
    library = tmp_path / "photos"
    make_sample_library(library, n=40, seed=3)
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        assert engine.encoder.device == "cuda"
        assert IndexingPipeline(engine.encoder, store=None).workers == (os.cpu_count() or 2)
        report = engine.index_folder(library)
        assert report.embedded == 40 and not report.skipped_count
        probe = sorted(library.rglob("img_*"))[0]
        hits = engine.search_image(probe, k=3, cutoff=0.0)
        assert hits[0].path == str(probe) and hits[0].score > 0.99
    finally:
        engine.close()
