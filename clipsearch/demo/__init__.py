"""The offline demo: synthetic captioned pictures and a tiny CLIP model trained on them.

Everything here works without torch or open_clip; the encoder (clipsearch.encoders.openclip)
loads the model from the files this module points at:

    cfg = write_demo_model_config(tmpdir)
    open_clip.add_model_config(cfg)
    model, _, preprocess = open_clip.create_model_and_transforms(
        DEMO_MODEL_NAME, pretrained=str(demo_checkpoint_path()))
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    model.eval()  # BatchNorm in the image tower: embeddings differ in train mode
"""

from __future__ import annotations

import json
from pathlib import Path

from clipsearch.demo.render import (
    BACKGROUNDS,
    COLOURS,
    SHAPES,
    Scene,
    SceneObject,
    make_sample_library,
    random_scene,
    render_scene,
)

DEMO_MODEL_NAME = "clipsearch-demo"
# The words the demo model reads: every colour and shape of its pictures, what its topics are named
# from (clipsearch.topics: it reads no "a photo of a beach").
DEMO_WORDS = tuple(SceneObject(colour, shape).phrase for colour in COLOURS for shape in SHAPES)  # "an orange star"
DEMO_MODEL_DIR = Path(__file__).parent / "model"
DEMO_MERGES_FILE = "clipsearch-demo-bpe.txt.gz"
DEMO_IMAGE_SIZE = 64

__all__ = [
    "BACKGROUNDS",
    "COLOURS",
    "DEMO_IMAGE_SIZE",
    "DEMO_MERGES_FILE",
    "DEMO_MODEL_DIR",
    "DEMO_MODEL_NAME",
    "DEMO_WORDS",
    "SHAPES",
    "Scene",
    "SceneObject",
    "demo_checkpoint_path",
    "make_sample_library",
    "random_scene",
    "render_scene",
    "write_demo_model_config",
]


def demo_checkpoint_path(model_dir: Path = DEMO_MODEL_DIR) -> Path:
    """Path of the packaged demo model weights (open_clip state dict, safetensors).

    model_dir is only for training experiments kept outside the package.
    """
    return Path(model_dir) / f"{DEMO_MODEL_NAME}.safetensors"


def write_demo_model_config(folder: Path, model_dir: Path = DEMO_MODEL_DIR) -> Path:
    """Write the demo model's open_clip config as folder/clipsearch-demo.json and return its path.

    The packaged config names its BPE merges file relatively; open_clip would resolve that
    against the working directory, so the written copy points at the packaged file absolutely.
    Pass the result to open_clip.add_model_config, then create the model by DEMO_MODEL_NAME.
    model_dir is only for training experiments kept outside the package.
    """
    model_dir = Path(model_dir)
    config = json.loads((model_dir / f"{DEMO_MODEL_NAME}.json").read_text(encoding="utf-8"))
    merges = (model_dir / DEMO_MERGES_FILE).resolve()
    config["text_cfg"].setdefault("tokenizer_kwargs", {})["bpe_path"] = str(merges)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{DEMO_MODEL_NAME}.json"
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path
