"""Train the offline demo model: a tiny CLIP that knows coloured shapes on plain backgrounds.

Exact command that produced the committed checkpoint (from the repository root):

    PYTHONPATH=. python scripts/train_demo_model.py

(defaults: --pictures 32000 --steps 800 --batch 256 --lr 4e-3 --seed 0 --threads 2). It renders
its own pictures with clipsearch.demo.render, learns a small BPE vocabulary on the caption words,
trains deterministically on CPU (about 7 minutes on 2 cores shared with other work) and writes, into
clipsearch/demo/model/ (or --out DIR, for experiments): the open_clip model config, the BPE merges,
the safetensors checkpoint and TRAINING.md (command, seconds, held-out eval numbers from
scripts/eval_demo_model.py, checkpoint sha256).

Weights are identical between runs at the same thread count, not across thread counts. The
checkpoint is committed; CI never retrains.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from eval_demo_model import EVAL_SEED, evaluate_seeds, format_table, load_demo_model
from PIL import Image
from safetensors.torch import save_file

from clipsearch.demo import (
    BACKGROUNDS,
    COLOURS,
    DEMO_IMAGE_SIZE,
    DEMO_MERGES_FILE,
    DEMO_MODEL_DIR,
    DEMO_MODEL_NAME,
    SHAPES,
    Scene,
    SceneObject,
    demo_checkpoint_path,
    random_scene,
    render_scene,
    write_demo_model_config,
)

CAPTION_WORDS = sorted({*COLOURS, *SHAPES, *BACKGROUNDS, "a", "an", "and", "on", "background"})
BACKGROUND_SHARE = 0.3
TRAIN_SIZES = (
    64,
    64,
    80,
    96,
    128,
    160,
)  # then resized to 64 by the model's own preprocess


def model_config(vocab_size: int) -> dict:
    """The architecture: ModifiedResNet image tower, 2-layer text transformer, 128-d embeddings."""
    return {
        "embed_dim": 128,
        "vision_cfg": {
            "image_size": DEMO_IMAGE_SIZE,
            "layers": [1, 1, 1, 1],
            "width": 16,
        },
        "text_cfg": {
            "context_length": 16,
            "vocab_size": vocab_size,
            "width": 64,
            "heads": 4,
            "layers": 2,
            "tokenizer_kwargs": {"bpe_path": DEMO_MERGES_FILE},  # made absolute at run time
        },
    }


def learn_bpe(words: list[str]) -> list[tuple[str, str]]:
    """Byte-pair merges, in open_clip's format, until every word is a single token.

    Words are plain ASCII, so open_clip's byte-to-unicode mapping leaves their characters as is.
    """
    vocab = {tuple(w[:-1]) + (w[-1] + "</w>",): 1 for w in words}
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in vocab.items():
            for pair in itertools.pairwise(word):
                pairs[pair] += count
        if not pairs:
            return merges
        best = min(pairs, key=lambda p: (-pairs[p], p))  # ties broken alphabetically
        merges.append(best)
        merged = {}
        for word, count in vocab.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = count
        vocab = merged


def write_tokenizer_and_config(out: Path) -> int:
    """Write the merges file (gzip; header line, no trailing newline) and the packaged config."""
    lines = ["#version: 0.2 clipsearch-demo caption words"] + [" ".join(m) for m in learn_bpe(CAPTION_WORDS)]
    data = gzip.compress("\n".join(lines).encode("utf-8"), mtime=0)
    (out / DEMO_MERGES_FILE).write_bytes(data)
    vocab_size = open_clip.SimpleTokenizer(bpe_path=str(out / DEMO_MERGES_FILE)).vocab_size
    config = json.dumps(model_config(vocab_size), indent=2) + "\n"
    (out / f"{DEMO_MODEL_NAME}.json").write_text(config, encoding="utf-8")
    return vocab_size


def render_training_set(n: int, preprocess, rng: random.Random) -> tuple[list[Scene], torch.Tensor, tuple]:
    """Scenes and uint8 pictures (n, 3, 64, 64) after the model's resize/crop, plus mean/std.

    Pictures come at mixed sizes and a quarter go through JPEG, like photos in a library.
    """
    *resize_crop, _to_tensor, normalize = preprocess.transforms
    scenes, pixels = (
        [],
        np.empty((n, DEMO_IMAGE_SIZE, DEMO_IMAGE_SIZE, 3), dtype=np.uint8),
    )
    for i in range(n):
        scene = random_scene(rng)
        image = render_scene(scene, rng.choice(TRAIN_SIZES), rng)
        if rng.random() < 0.25:
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=rng.randint(75, 95))
            image = Image.open(buffer).convert("RGB")
        for transform in resize_crop:
            image = transform(image)
        pixels[i] = np.asarray(image)
        scenes.append(scene)
    return (
        scenes,
        torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous(),
        (normalize.mean, normalize.std),
    )


def multi_positive_loss(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Contrastive loss where every caption true for an image is a positive, both directions.

    Plain CLIP loss would punish "a red circle" as a negative for the other pictures in the batch
    that also show a red circle (about ten per batch of 256). Texts true for no picture in the
    batch (hard negatives) only take part in the image-to-text direction.
    """
    image_to_text = positives / positives.sum(dim=1, keepdim=True)
    loss_i = -(image_to_text * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    matched = positives.sum(dim=0) > 0
    text_positives = positives.T[matched]
    text_to_image = text_positives / text_positives.sum(dim=1, keepdim=True)
    loss_t = -(text_to_image * F.log_softmax(logits.T[matched], dim=1)).sum(dim=1).mean()
    return (loss_i + loss_t) / 2


def every_caption() -> list[str]:
    """Every caption any scene can have (8,000), so that all texts are tokenized once."""
    objects = [SceneObject(c, s) for c in COLOURS for s in SHAPES]
    captions: set[str] = set()
    for background in BACKGROUNDS:
        for a in objects:
            captions.update(Scene((a,), background).captions())
            for b in objects:
                if a != b:
                    captions.update(Scene((a, b), background).captions())
    return sorted(captions)


def true_caption(captions: list[str], rng: random.Random) -> str:
    """One of a picture's true captions, naming the background only BACKGROUND_SHARE of the time.

    Captions name the background half the time otherwise, which lets the plain background weigh
    too much in image-to-image similarity (a purple star on white beside a blue star on white).
    """
    with_background = rng.random() < BACKGROUND_SHARE
    return rng.choice([c for c in captions if c.endswith(" background") == with_background])


def hard_negative(scene: Scene, rng: random.Random) -> str:
    """A caption that is false for the scene but close to a true one.

    Colours and shapes bound the wrong way round ("a red square" for a red circle beside a blue
    square), one colour or shape changed, or the wrong background. Random batches rarely hold such
    near misses, and binding colour to shape is what the model finds hardest.
    """
    true = set(scene.captions())
    while True:
        kind = rng.randrange(4)
        obj = rng.choice(scene.objects)
        if kind == 0:
            if len(scene.objects) == 1:
                continue
            a, b = scene.objects
            swapped = (SceneObject(a.colour, b.shape), SceneObject(b.colour, a.shape))
            candidate = rng.choice([*(o.phrase for o in swapped), " and ".join(o.phrase for o in swapped)])
        elif kind == 1:
            candidate = SceneObject(rng.choice(sorted(COLOURS)), obj.shape).phrase
        elif kind == 2:
            candidate = SceneObject(obj.colour, rng.choice(SHAPES)).phrase
        else:
            objects = rng.choice(scene.captions()).split(" on a ")[0]
            candidate = f"{objects} on a {rng.choice(sorted(BACKGROUNDS))} background"
        if candidate not in true:
            return candidate


def train(args: argparse.Namespace) -> tuple[float, float, list[float]]:
    """Build the model through open_clip, train it, save the checkpoint; returns (seconds, losses)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    args.out.mkdir(parents=True, exist_ok=True)
    write_tokenizer_and_config(args.out)
    with tempfile.TemporaryDirectory() as folder:
        open_clip.add_model_config(write_demo_model_config(folder, args.out))
        model, _, preprocess = open_clip.create_model_and_transforms(DEMO_MODEL_NAME)
        tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    model.train()

    rng = random.Random(args.seed)
    scenes, pixels, (mean, std) = render_training_set(args.pictures, preprocess, rng)
    mean = torch.tensor(mean).view(1, 3, 1, 1) * 255
    std = torch.tensor(std).view(1, 3, 1, 1) * 255
    caption_sets = [scene.captions() for scene in scenes]
    all_captions = every_caption()
    caption_ids = {c: i for i, c in enumerate(all_captions)}
    tokens = tokenizer(all_captions)
    true_sets = [{caption_ids[c] for c in captions} for captions in caption_sets]
    print(
        f"rendered {args.pictures} pictures in {time.perf_counter() - start:.0f} s",
        flush=True,
    )

    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": 0.1},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(
            (s + 1) / warmup,
            0.5 * (1 + math.cos(math.pi * max(0, s - warmup) / (args.steps - warmup))),
        ),
    )

    order: list[int] = []
    losses: list[float] = []
    for step in range(args.steps):
        if len(order) < args.batch:
            order += rng.sample(range(args.pictures), args.pictures)
        batch, order = order[: args.batch], order[args.batch :]
        # One true caption per picture, then one near miss per picture.
        texts = [true_caption(caption_sets[i], rng) for i in batch]
        texts += [hard_negative(scenes[i], rng) for i in batch]
        text_ids = [caption_ids[t] for t in texts]
        positives = torch.tensor([[t in true_sets[i] for t in text_ids] for i in batch], dtype=torch.float32)
        images = (pixels[batch].float() - mean) / std

        image_features = F.normalize(model.encode_image(images), dim=-1)
        text_features = F.normalize(model.encode_text(tokens[text_ids]), dim=-1)
        logits = model.logit_scale.exp() * image_features @ text_features.T
        loss = multi_positive_loss(logits, positives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        if step % 50 == 0 or step == args.steps - 1:
            print(
                f"step {step:4d}  loss {loss.item():.3f}  scale {model.logit_scale.exp().item():.1f}  "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(
        state,
        str(demo_checkpoint_path(args.out)),
        metadata={"format": "pt"},  # one key: safetensors writes several in random order
    )
    demo_checkpoint_path(args.out).chmod(0o644)  # safetensors writes 0600; package data must be readable
    return time.perf_counter() - start, time.process_time() - cpu_start, losses


def write_training_notes(
    out: Path, command: str, seconds: tuple[float, float], losses: list[float], table: str
) -> None:
    """Record how the checkpoint was made, next to it."""
    checkpoint = demo_checkpoint_path(out)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    size_mb = checkpoint.stat().st_size / 1e6
    text = f"""# The clipsearch demo model

A tiny CLIP (open_clip ModifiedResNet image tower, 2-layer text transformer, 128-d embeddings,
64 px input) trained on synthetic pictures from `clipsearch.demo.render`: 1-2 coloured shapes
(8 colours x 5 shapes) on plain backgrounds. It only knows those words; it exists so clipsearch
can be tried and tested offline.

## How it was made

    {command}

- torch {torch.__version__}, open_clip {open_clip.__version__}, CPU, {torch.get_num_threads()} threads,
  deterministic algorithms; rerunning at the same thread count gives identical weights.
- Rendering + training + saving took {seconds[0]:.0f} s wall clock, {seconds[1]:.0f} s CPU time
  (load average {os.getloadavg()[0]:.1f} at the end: the machine was shared). Final training loss
  {np.mean(losses[-20:]):.3f} (mean of the last 20 steps).
- Loss: contrastive, every caption true for a picture counted as a positive, plus one near-miss
  caption per picture as a hard negative (colour and shape bound the wrong way round, one
  attribute changed, or the wrong background).

## Files

- `{DEMO_MODEL_NAME}.json`: open_clip model config; `bpe_path` is made absolute at run time by
  `clipsearch.demo.write_demo_model_config`.
- `{DEMO_MERGES_FILE}`: BPE merges learned on the {len(CAPTION_WORDS)} caption words.
- `{checkpoint.name}`: fp32 state dict, {size_mb:.2f} MB,
  sha256 `{digest}`.

## Held-out evaluation

From `PYTHONPATH=. python scripts/eval_demo_model.py --repeats 5`: 500 freshly rendered pictures per
seed, seeds not used in training, mixed sizes through the model's own preprocess. One seed alone
(the script's default) moves single-object R@1 in steps of 0.025.

{table}
"""
    (out / "TRAINING.md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pictures", type=int, default=32000, help="training pictures to render")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=DEMO_MODEL_DIR, help="where to write the model (default: the package)"
    )
    args = parser.parse_args()

    seconds, cpu_seconds, losses = train(args)
    model, preprocess, tokenizer = load_demo_model(args.out)
    seeds = [EVAL_SEED + i for i in range(5)]
    table = format_table(evaluate_seeds(model, preprocess, tokenizer, 500, seeds), seeds)
    print(table)
    command = "PYTHONPATH=. python scripts/train_demo_model.py " + " ".join(sys.argv[1:])
    write_training_notes(args.out, command.strip(), (seconds, cpu_seconds), losses, table)
    print(f"trained in {seconds:.0f} s; wrote {demo_checkpoint_path(args.out)}")


if __name__ == "__main__":
    main()
