"""A probe, not a feature: decoding 12 MP JPEGs on the GPU with nvjpeg (README's "On a GPU",
**Decoding on the GPU: measured, not done**).

    python benchmarks/bench_gpu_decode.py            # needs CUDA
    python benchmarks/bench_gpu_decode.py --device cpu --photos 32   # checks the script itself

Times ``torchvision.io.decode_jpeg`` in lists of several sizes, with and without the resize and
crop to 224 pixels on the device, and from several threads; times PIL's reduced-scale decode on
one core (what the indexer does); compares ViT-B-32's vectors of the two paths (random weights);
and tries a rotated photo (EXIF orientation 6), a JPEG cut in half and one of garbage.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision.transforms.v2.functional as F  # noqa: E402
from bench_indexing import ensure_photos  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.io import ImageReadMode, decode_jpeg  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=128)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--work", type=Path, default=Path("/tmp/clipsearch-gpu-decode"))
    args = parser.parse_args()
    device = args.device
    paths = ensure_photos(args.work, args.photos)
    blobs = [p.read_bytes() for p in paths]
    tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    def small(image: torch.Tensor) -> torch.Tensor:
        resized = F.resize(image.float(), 224, interpolation=F.InterpolationMode.BICUBIC, antialias=True)
        return F.center_crop(resized, 224)

    def decode(part: list[torch.Tensor], resize: bool) -> list[torch.Tensor]:
        images = decode_jpeg(part, mode=ImageReadMode.RGB, device=device)
        return [small(im) for im in images] if resize else images

    def rate(chunk: int, resize: bool) -> float:
        decode(tensors[:chunk], resize)  # warm-up
        sync()
        started = time.perf_counter()
        for start in range(0, len(tensors), chunk):
            decode(tensors[start : start + chunk], resize)
        sync()
        return len(tensors) / (time.perf_counter() - started)

    print(f"torch {torch.__version__}; {len(paths)} photos of 4000x3000 on {device}")
    for chunk in (1, 8, 32, 64):
        print(f"lists of {chunk}: decode {rate(chunk, False):.0f} pictures/s, "
              f"decode + resize + crop {rate(chunk, True):.0f}")
    for threads in (2, 4):
        parts = [tensors[i : i + 16] for i in range(0, len(tensors), 16)]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda part: decode(part, True), parts))
            sync()
            started = time.perf_counter()
            list(pool.map(lambda part: decode(part, True), parts))
            sync()
        print(f"{threads} threads, lists of 16, decode + resize + crop: "
              f"{len(tensors) / (time.perf_counter() - started):.0f} pictures/s")
    started = time.perf_counter()
    few = blobs[:32]
    for blob in few:
        image = Image.open(io.BytesIO(blob))
        image.draft("RGB", (224, 224))
        image.load()
    print(f"PIL at reduced scale, one core: {(time.perf_counter() - started) / len(few) * 1000:.1f} ms per photo")
    agreement(paths[:32], decode, device)
    oddities(paths[0], blobs, device)
    return 0


def agreement(paths: list[Path], decode, device: str) -> None:
    """ViT-B-32's vectors of the indexer's path against those of the decode on the device."""
    from clipsearch.config import ModelSpec
    from clipsearch.encoders.openclip import OpenClipEncoder
    from clipsearch.images import load_image

    torch.manual_seed(0)
    encoder = OpenClipEncoder(ModelSpec(name="ViT-B-32", pretrained=None, device=device)).load()
    state = encoder._state()
    ours = encoder.embed_prepared([encoder.prepare(load_image(p, min_size=224).image) for p in paths])
    mean = torch.as_tensor(state.mean, device=device)
    std = torch.as_tensor(state.std, device=device)
    images = decode([torch.frombuffer(bytearray(p.read_bytes()), dtype=torch.uint8) for p in paths], True)
    batch = torch.stack([(im.clamp(0, 255) / 255 - mean) / std for im in images])
    with torch.inference_mode():
        theirs = torch.nn.functional.normalize(state.model.encode_image(batch.to(state.dtype)).float(), dim=-1)
    cosines = np.sum(ours * theirs.cpu().numpy(), axis=1)
    print(f"cosine, the indexer's path against the device's decode: lowest {cosines.min():.5f}, "
          f"mean {cosines.mean():.5f} ({len(paths)} photos)")


def oddities(path: Path, blobs: list[bytes], device: str) -> None:
    image = Image.open(path)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    rotated = decode_jpeg(torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8), mode=ImageReadMode.RGB,
                          device=device, apply_exif_orientation=True)
    print(f"a 4000x3000 photo with EXIF orientation 6, apply_exif_orientation=True: "
          f"{rotated.shape[2]}x{rotated.shape[1]} (upright would be 3000x4000)")
    for name, data in (("cut in half", blobs[0][: len(blobs[0]) // 2]), ("garbage", b"\xff\xd8" + os.urandom(5000))):
        try:
            decode_jpeg([torch.frombuffer(bytearray(data), dtype=torch.uint8)], mode=ImageReadMode.RGB, device=device)
            print(f"a JPEG {name}: decoded without an error")
        except RuntimeError as exc:
            print(f"a JPEG {name}: {str(exc).splitlines()[0][:120]}")


if __name__ == "__main__":
    sys.exit(main())
