"""The open_clip encoder: with ``packed`` (its CPU towers) and ``devices`` (where it runs), the only
modules that import open_clip (from ``imports``) and torch.

Loads any open_clip model (name + pretrained tag, ``hf-hub:`` name, ``local-dir:`` folder, a
local checkpoint file, or the packaged demo model) once per process, on first use. Chooses the
device (CUDA, then MPS, then CPU) and the precision: fp16 on CUDA, bf16 on CPUs with native bf16
arithmetic when the bf16 embeddings agree with fp32 ones (cosine >= 0.99), else fp32. On a CPU,
the towers' matmul weights are packed once at load, and the text tower and a ViT's whole image
tower compiled (``packed``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..config import DEMO_MODEL, HUB_OFFLINE_ENV, ModelSpec, hub_offline
from ..errors import ModelUnavailable
from ..memory import release_freed_memory
from .base import normalize
from .devices import usable_device
from .imports import open_clip
from .packages import missing_package
from .packed import pack_patches, pack_tower, packed_image, released
from .packed_text import encode_text_truncated, packed_text

log = logging.getLogger(__name__)

BF16_AGREEMENT = 0.99
_LOADED: dict[ModelSpec, _Loaded] = {}
_LOAD_LOCK = threading.Lock()


class _Loaded:
    """A model in memory with its transform, tokenizer and run settings."""

    def __init__(self, model, preprocess, tokenizer, device: str, dtype, stamp: dict, text=None, image=None) -> None:
        self.model = model
        self.encode_text = text or (lambda tokens: encode_text_truncated(model, tokens))  # see packed.py
        # prepared pixels (a list) to float32 features: one compiled graph where it could be built
        self.encode_pixels = image or (lambda batch: model.encode_image(torch.stack(batch).to(device, dtype)).float())
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.stamp = stamp
        self.lock = threading.Lock()  # one forward pass at a time per model
        self.text_lock = threading.Lock()  # one pass of the text tower at a time (``embed_texts_beside``)
        self.busy = False  # several callers share the machine: the model keeps to one core
        self.threads: int | None = None  # while it does: the thread count to go back to
        self.pil_steps, self.mean, self.std = _split_transform(preprocess)


class OpenClipEncoder:
    """An ``Encoder`` over an open_clip model; the model loads lazily and once per process."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        self.spec = spec or ModelSpec()

    # --- loading -------------------------------------------------------------------------
    def load(self) -> OpenClipEncoder:
        """Load the model now (it otherwise loads on first use)."""
        self._state()
        return self

    def _state(self) -> _Loaded:
        state = _LOADED.get(self.spec)
        if state is None:
            with _LOAD_LOCK:
                state = _LOADED.get(self.spec)
                if state is None:
                    state = _load(self.spec)
                    _LOADED[self.spec] = state
        return state

    # --- the Encoder protocol ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self._state().stamp["dim"])

    @property
    def input_size(self) -> int:
        return int(self._state().stamp["image_size"])

    @property
    def stamp(self) -> dict[str, Any]:
        return dict(self._state().stamp)

    @property
    def device(self) -> str:
        return self._state().device

    @property
    def precision(self) -> str:
        return str(self._state().dtype).replace("torch.", "")

    @property
    def batch_size(self) -> int:
        return 256 if self._state().device == "cuda" else 32  # README's "On a GPU": 150-196 -> 220-266 images/s

    def share_cores(self, busy: bool) -> None:
        """Under concurrent load (``busy``), run the model on one core; alone, on all of them.

        One query gets its answer soonest on all cores. When several wait, the other cores serve
        them (HTTP, search, the cut-off) while the model runs, and one thread spends less CPU per
        query than several that must wait for each other (and stall when a core is taken).
        """
        self._state().busy = busy

    def prepare(self, image: Image.Image) -> torch.Tensor:
        state = self._state()
        if state.pil_steps is None:
            return state.preprocess(image)
        # The transform's own ToTensor + Normalize are four tiny torch ops, each a parallel region
        # of torch's thread pool: called from decode threads while the model runs, they waited
        # ~20 ms each for busy cores. NumPy does the same arithmetic in the calling thread.
        for step in state.pil_steps:
            image = step(image)
        if not isinstance(image, Image.Image) or image.mode != "RGB":
            return state.preprocess.transforms[-1](state.preprocess.transforms[-2](image))
        pixels = np.array(image, dtype=np.float32).transpose(2, 0, 1).copy()  # CHW, like ToTensor
        pixels /= np.float32(255)
        pixels -= state.mean
        pixels /= state.std
        return torch.from_numpy(pixels)

    def embed_prepared(self, batch: list[torch.Tensor]) -> np.ndarray:
        state = self._state()
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        with state.lock, torch.inference_mode():
            _use_cores(state)
            features = state.encode_pixels(batch)
        return normalize(features.cpu().numpy())

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.embed_prepared([self.prepare(img) for img in images])

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        state = self._state()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with state.lock:
            _use_cores(state)
            return _text_vectors(state, texts)

    # --- a second lane for texts, beside a picture call (``encoders.side``) ---------------------
    def side_ready(self) -> bool:
        """Whether torch's loops are on one thread now (the model's thread runs a call on one core),
        so that ``embed_texts_beside`` stays on one."""
        return self._state().device == "cpu" and torch.get_num_threads() == 1

    def embed_texts_beside(self, texts: list[str]) -> np.ndarray:
        """``embed_texts`` on the side thread, beside a picture call: it leaves the thread count be."""
        return _text_vectors(self._state(), texts)


def _text_vectors(state: _Loaded, texts: list[str]) -> np.ndarray:
    """The text tower's unit vectors, one pass at a time (``text_lock``: the model's thread and
    the side thread may both hold texts)."""
    tokens = state.tokenizer(list(texts)).to(state.device)
    with state.text_lock, torch.inference_mode():
        features = state.encode_text(tokens)
    return normalize(features.float().cpu().numpy())


def _split_transform(preprocess) -> tuple[list | None, np.ndarray | None, np.ndarray | None]:
    """The PIL steps of a transform ending in ToTensor + Normalize, and that Normalize's mean and
    std as (3, 1, 1) float32 arrays; ``(None, None, None)`` for any other transform."""
    steps = list(getattr(preprocess, "transforms", []) or [])
    if len(steps) < 2:
        return None, None, None
    to_tensor, norm = steps[-2], steps[-1]
    names = {cls.__name__ for cls in type(to_tensor).__mro__}
    if "ToTensor" not in names or type(norm).__name__ != "Normalize":
        return None, None, None
    mean = np.asarray(norm.mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(norm.std, np.float32).reshape(-1, 1, 1)
    if mean.shape[0] != 3 or std.shape[0] != 3:
        return None, None, None
    return steps[:-2], mean, std


def _use_cores(state: _Loaded) -> None:
    """Set torch's CPU threads for the next model call (see ``OpenClipEncoder.share_cores``): one
    while busy, then back to what they were (a caller's own ``torch.set_num_threads`` stands)."""
    if state.device == "cpu" and state.busy != (state.threads is not None):
        state.threads, restore = (torch.get_num_threads(), 1) if state.busy else (None, state.threads)
        torch.set_num_threads(restore)


def _load(spec: ModelSpec) -> _Loaded:
    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = usable_device(spec.device)
    name, pretrained, identity = _resolve(spec)
    log.info("loading model %s (%s) on %s", name, pretrained or "no weights", device)
    model, preprocess, tokenizer = _create(spec, name, pretrained, device)
    stamp = _stamp(spec, model, identity)
    dtype = _choose_dtype(spec, model, preprocess, tokenizer, device)
    if dtype == torch.float32 and next(model.parameters()).dtype != torch.float32:  # the rare model kept in fp32
        # is built again: the bf16 check rounded its weights (in place, which halves the loading peak)
        model, preprocess, tokenizer = _create(spec, name, pretrained, device)
    model.to(dtype)
    cpu_clip = device == "cpu" and isinstance(model, open_clip.CLIP)  # packed where it pays (packed.py)
    text = (packed_text(model, tokenizer(["a photo", "two dogs on a beach"]), lambda t: encode_text_truncated(model, t),
                        release=True) if cpu_clip else None)
    image = cpu_clip and pack_tower(model.visual, "transformer", release=True)
    if cpu_clip and released(model):  # a tower left plain after its weights went (packed.py): built again, plain
        (model, preprocess, tokenizer), text, image = _create(spec, name, pretrained, device), None, False
        model.to(dtype)
    patches = image and pack_patches(model.visual)
    whole = packed_image(model.visual, stamp["image_size"], dtype) if patches else None
    release_freed_memory()  # the fp32 weights a bf16 model replaced: about 250 MB for ViT-B-32
    image_tower = "image" + (" with its patches" if patches else "") + (", compiled whole" if whole else "")
    log.info("model ready: %s, dim %d, %s, packed towers: %s", name, stamp["dim"], dtype,
             " and ".join(t for t, done in (("text", text), (image_tower, image)) if done) or "none")
    return _Loaded(model, preprocess, tokenizer, device, dtype, stamp, text, whole)


def _create(spec: ModelSpec, name: str, pretrained: str | None, device: str):
    try:
        if package := missing_package(open_clip.get_model_config(name)):  # before open_clip downloads
            raise RuntimeError(f"the model needs `pip install {package}`")  # _unavailable says which
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
        tokenizer = open_clip.get_tokenizer(name)
    except ModelUnavailable:
        raise
    except Exception as exc:  # open_clip reports all of these as RuntimeError/OSError
        raise _unavailable(spec, exc) from None
    model.eval()
    model.to(device)
    return model, preprocess, tokenizer


def _resolve(spec: ModelSpec) -> tuple[str, str | None, dict]:
    """The open_clip name and pretrained argument for a spec, and what identifies the weights."""
    if spec.name == DEMO_MODEL:
        from ..demo import DEMO_MODEL_NAME, demo_checkpoint_path, write_demo_model_config

        # open_clip reads the config into its registry at once, so the file need not outlive this.
        with tempfile.TemporaryDirectory(prefix="clipsearch-demo-") as folder:
            open_clip.add_model_config(write_demo_model_config(Path(folder)))
        checkpoint = demo_checkpoint_path()
        return DEMO_MODEL_NAME, str(checkpoint), {"checkpoint_sha256": _sha256(checkpoint)}
    if spec.weights is not None:
        weights = Path(spec.weights).expanduser()
        if not weights.is_file():
            raise ModelUnavailable(f"checkpoint file not found: {weights}")
        return spec.name, str(weights), {"checkpoint_sha256": _sha256(weights)}
    if spec.name.startswith(("hf-hub:", "local-dir:")):
        return spec.name, None, {}
    return spec.name, spec.pretrained, {}


def _stamp(spec: ModelSpec, model, identity: dict) -> dict[str, Any]:
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", getattr(model.visual, "image_size", 224))
    size = size[0] if isinstance(size, (tuple, list)) else size
    dim = _embed_dim(model)
    return {
        "model": spec.name,
        "pretrained": None if (spec.weights or spec.name == DEMO_MODEL) else spec.pretrained,
        "weights": str(Path(spec.weights).expanduser().resolve()) if spec.weights else None,
        **identity,
        "dim": dim,
        "image_size": int(size),
        "preprocess": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
    }


def _embed_dim(model) -> int:
    with torch.inference_mode():
        proj = getattr(model, "text_projection", None)
        if isinstance(proj, torch.nn.Linear):
            return int(proj.out_features)
        if proj is not None:
            return int(proj.shape[1])
        size = getattr(model.visual, "image_size", 224)
        size = size[0] if isinstance(size, (tuple, list)) else size
        return int(model.encode_image(torch.zeros(1, 3, size, size)).shape[-1])


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 matrix products natively (AVX512_BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _choose_dtype(spec: ModelSpec, model, preprocess, tokenizer, device: str):
    wanted = spec.precision
    if wanted == "fp32":
        return torch.float32
    if wanted == "fp16":
        return torch.float16
    if wanted == "bf16":
        return torch.bfloat16
    if device == "cuda":
        return torch.float16
    if device != "cpu" or not cpu_has_native_bf16():
        return torch.float32
    agreement = bf16_agreement(model, preprocess, tokenizer, keep_bf16=True)
    if agreement < BF16_AGREEMENT:
        log.info("bf16 embeddings agree only to %.4f with fp32: staying in fp32", agreement)
        return torch.float32
    return torch.bfloat16


def bf16_agreement(model, preprocess, tokenizer, images: list[Image.Image] | None = None,
                   texts: list[str] | None = None, keep_bf16: bool = False) -> float:
    """Lowest cosine between fp32 and bf16 embeddings of some images and texts.

    Defaults to a few synthetic calibration pictures and captions. Leaves the model in fp32
    (its weights rounded to bf16's precision), or with ``keep_bf16`` in bf16: converting back and
    forth holds both copies at once, the highest memory of a model's loading.
    """
    images = torch.stack([preprocess(img) for img in (images or calibration_images())])
    tokens = tokenizer(texts or ["a photo of a dog", "a red circle", "sunset over the sea"])

    def embed(dtype):
        model.to(dtype)
        with torch.inference_mode():
            img = model.encode_image(images.to(dtype)).float()
            txt = encode_text_truncated(model, tokens).float()
        return normalize(torch.cat([img, txt]).numpy())

    try:
        reference = embed(torch.float32)
        low = embed(torch.bfloat16)
    finally:
        if not keep_bf16:
            model.to(torch.float32)
    return float(np.min(np.sum(reference * low, axis=1)))


def calibration_images() -> list[Image.Image]:
    """A few small, varied synthetic pictures (shapes, gradients, texture)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(4):
        img = Image.new("RGB", (160, 128), tuple(int(v) for v in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(img)
        for _ in range(3 + i):
            box = sorted(rng.integers(0, 160, 2)), sorted(rng.integers(0, 128, 2))
            colour = tuple(int(v) for v in rng.integers(0, 255, 3))
            draw.ellipse([box[0][0], box[1][0], box[0][1] + 8, box[1][1] + 8], fill=colour)
        out.append(img)
    noise = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    out.append(Image.fromarray(noise))
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unavailable(spec: ModelSpec, exc: Exception) -> ModelUnavailable:
    text = str(exc)
    what = spec.name + (f" ({spec.pretrained})" if spec.pretrained and not spec.weights else "")
    lowered = text.lower()
    needs = re.search(r"pip install ([A-Za-z0-9_.\[\]-]+)", text)  # open_clip's word for a missing package
    if needs:
        package = needs.group(1)
        return ModelUnavailable(f"model {what} needs the Python package `{package}`, which is not installed "
                                f"here: `pip install {package}` in this environment, then run again", package)
    if ("not found" in lowered or "not a known tag" in lowered) and "download" not in lowered:
        return ModelUnavailable(
            f"cannot load model {what}: {text}. Known names: open_clip.list_pretrained(); "
            "or give a checkpoint file, or use the demo model."
        )
    try:
        from huggingface_hub.constants import HF_HUB_CACHE as cache
    except Exception:  # pragma: no cover
        cache = os.path.expanduser("~/.cache/huggingface/hub")
    offline = f" ({HUB_OFFLINE_ENV} is set)" if hub_offline() else ""
    return ModelUnavailable(
        f"cannot load the weights of model {what}: they are not in the cache folder {cache} "
        f"and could not be downloaded{offline}. Ways out: connect once so the weights download "
        "(about 600 MB for ViT-B-32); or give a local checkpoint file (and the model name of its "
        "architecture); or use the offline demo model. "
        f"[{type(exc).__name__}: {text[:300]}]"
    )
