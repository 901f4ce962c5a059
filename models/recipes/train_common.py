"""What the stages of train_demo.py share: the caption variants, logging, the checkpoints in
.work/, the tokenizer stage and the captions' tokens, the contrastive losses, and the rounding
of trained weights to float16 values."""
from __future__ import annotations

import itertools
import time

import numpy as np
import torch
import torch.nn.functional as F

import clip_bpe
import world
from dataset import WORK

CAPTION_VARIANTS = 5
# caption variant -> attributes it names (world.Scene.caption)
VARIANT_NAMES = {0: ("size", "colour"), 1: ("size", "colour"), 2: ("colour",), 3: ("size",), 4: ()}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save(obj, name: str) -> None:
    # Written under a temporary name, then renamed: the sibling process waiting for this file
    # (sibling_wait.py) never loads half of it.
    partial = WORK / f"{name}.partial"
    torch.save(obj, partial)
    partial.replace(WORK / name)


def load(name: str):
    return torch.load(WORK / name)


# ---------------------------------------------------------------- tokenizer

def all_captions() -> list[str]:
    out = []
    for p, o, c, s in itertools.product(world.PLACES, world.OBJECTS, world.COLOURS, world.SIZES):
        scene = world.Scene(p, o, c, s, 10, 32, 32, 0)
        out += [scene.caption(v) for v in range(CAPTION_VARIANTS)]
    return out


def stage_tokenizer() -> None:
    merges = clip_bpe.train_merges(all_captions() + [f"a photo of the {p}" for p in world.PLACES], max_merges=600)
    clip_bpe.save(merges, WORK / "tokenizer")
    log(f"tokenizer: {len(merges)} merges")


def tokenizer() -> clip_bpe.ClipBpeTokenizer:
    return clip_bpe.ClipBpeTokenizer.from_files(WORK / "tokenizer/vocab.json", WORK / "tokenizer/merges.txt")


def caption_tokens(scenes: list[dict], tok: clip_bpe.ClipBpeTokenizer) -> np.ndarray:
    """int64 [N, variants, 77]"""
    texts = [world.Scene(**s).caption(v) for s in scenes for v in range(CAPTION_VARIANTS)]
    return tok.tokenize(texts, 77).reshape(len(scenes), CAPTION_VARIANTS, 77)


def to_used_width(tokens: torch.Tensor) -> torch.Tensor:
    """Token ids [..., 77] cut after the last position any caption uses (13 here). The text
    tower is causal, so its pooled end-token embedding does not depend on the positions after
    it: the same embedding for a sixth of the work. Not for the hidden states the UNet reads,
    which cover all 77 positions."""
    return tokens[..., :int((tokens != 0).flatten(0, -2).any(0).nonzero().max()) + 1]


# ---------------------------------------------------------------- losses

def soft_contrastive(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """InfoNCE (Oord et al. 2018) with every positive in the batch as a target, uniformly weighted.
    The demo world has only 200 kinds of scene, so a batch always holds several samples of the
    same kind; ImageBind's one-positive loss would teach the encoders to tell them apart."""
    target = positives.float() / positives.float().sum(dim=1, keepdim=True)
    return -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def agree(data: dict, idx_a: torch.Tensor, idx_b: torch.Tensor, attrs: tuple[str, ...]) -> torch.Tensor:
    m = torch.ones(len(idx_a), len(idx_b), dtype=torch.bool)
    for a in attrs:
        lab = torch.from_numpy(data[a])
        m &= lab[idx_a][:, None] == lab[idx_b][None, :]
    return m


# ---------------------------------------------------------------- weights

def to_fp16_values(model: torch.nn.Module) -> torch.nn.Module:
    """Rounds every weight to the nearest float16 value (kept as float32), so that the pack can
    store these weights as float16 losslessly (export_demo.py) and every PyTorch reference uses
    exactly the weights the pack ships."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model
