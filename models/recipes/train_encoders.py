"""The encoder stages of train_demo.py: a small CLIP (image + text towers, contrastive, then
frozen) and the bound encoders (audio, depth, thermal, IMU: InfoNCE against the frozen image
embeddings only), with their loaders and the embedding helpers the later stages use."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from augment import fbank_augment
from dataset import AMBIENCE_AUG_EVERY, AMBIENCE_EVERY
from models_demo import AudioEncoder, ImageTower, ImuEncoder, MapEncoder, TextTower
from preprocess import DEPTH_PREPROCESS, THERMAL_PREPROCESS, VISION_PREPROCESS, images_to_tensor_fast
from train_common import (CAPTION_VARIANTS, VARIANT_NAMES, agree, caption_tokens, load, log, save, soft_contrastive,
                          to_used_width, tokenizer)

# ImageBind's postprocessing logit scales (imagebind_model.py): audio 20, depth 5, thermal 10, IMU 5.
# Here they initialise a learned temperature; the learned value is the manifest's scale.
BIND_SCALE_INIT = {"audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}
# What each modality can perceive of a scene: samples that agree on these are positives.
PERCEIVES = {"audio": ("place", "object", "size"), "depth": ("place", "object", "size"),
             "thermal": ("place", "object", "colour", "size"), "imu": ("place",)}
# Audio augmentation (augment.py, issue #13): the share of training sounds taken from the
# degraded re-mixes, of the scenes with an ambience-only recording that use it, and of sounds
# given the online fbank augmentation.
AUGMENTED_SHARE = 0.5
AMBIENCE_SHARE = 0.4
FBANK_AUGMENTED_SHARE = 0.6
# the share of depth maps taken from the re-drawn backgrounds (augment.randomised_depth)
DEPTH_AUGMENTED_SHARE = 0.7


# ---------------------------------------------------------------- clip

def stage_clip(data: dict, epochs: int) -> None:
    torch.manual_seed(10)
    tok = tokenizer()
    tokens = to_used_width(torch.from_numpy(caption_tokens(data["scenes"], tok)))  # export: full context
    images = images_to_tensor_fast(data["images"], VISION_PREPROCESS)
    n = len(images)
    img_model, txt_model = ImageTower(), TextTower(len(tok.vocab))
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature
    params = list(img_model.parameters()) + list(txt_model.parameters()) + [logit_scale]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.05)
    batch = 250
    steps = epochs * (n // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    step = 0
    for epoch in range(epochs):
        perm = torch.randperm(n)
        img_model.train(); txt_model.train()
        total = 0.0
        for b in range(n // batch):
            idx = perm[b * batch:(b + 1) * batch]
            variant = torch.randint(0, CAPTION_VARIANTS, (batch,))
            x = images[idx]
            # light augmentation: flips keep every attribute of the scene
            if torch.rand(()) < 0.5:
                x = x.flip(3)
            ie = F.normalize(img_model(x), dim=-1)
            te = F.normalize(txt_model(tokens[idx, variant])[0], dim=-1)
            # text j is true of image i when they agree on place, object and what caption j names
            pos = agree(data, idx, idx, ("place", "object"))
            for v, names in VARIANT_NAMES.items():
                cols = variant == v
                if cols.any() and names:
                    pos[:, cols] &= agree(data, idx, idx[cols], names)
            scale = logit_scale.exp().clamp(max=100)
            logits = scale * ie @ te.t()
            loss = 0.5 * (soft_contrastive(logits, pos) + soft_contrastive(logits.t(), pos.t()))
            opt.zero_grad(); loss.backward(); opt.step(); sched.step(); step += 1
            total += loss.item()
        log(f"clip epoch {epoch + 1}/{epochs} loss {total / (n // batch):.3f} scale {logit_scale.exp().item():.1f}")
    save({"image": img_model.state_dict(), "text": txt_model.state_dict(), "logit_scale": logit_scale.exp().item(), "vocab_size": len(tok.vocab)}, "clip.pt")


def load_clip() -> tuple[ImageTower, TextTower, float]:
    ck = load("clip.pt")
    img, txt = ImageTower(), TextTower(ck["vocab_size"])
    img.load_state_dict(ck["image"]); txt.load_state_dict(ck["text"])
    return img.eval(), txt.eval(), ck["logit_scale"]


@torch.no_grad()
def embed_images(model: ImageTower, images_u8: np.ndarray) -> torch.Tensor:
    x = images_to_tensor_fast(images_u8, VISION_PREPROCESS)
    return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)])


# ---------------------------------------------------------------- bind

def modality_input(data: dict, modality: str, idx: torch.Tensor, train: bool) -> torch.Tensor:
    if modality == "audio":
        fb = torch.from_numpy(data["fbank"][idx.numpy()]).float()  # [B, 3, 1, 128, 204]
        if train:
            clip = torch.randint(0, fb.shape[1], (len(idx),))
            x = fb[torch.arange(len(idx)), clip]
            if "fbank_aug" in data:  # the degraded re-mix of the scene (augment.py)
                use = torch.rand(len(idx)) < AUGMENTED_SHARE
                if use.any():
                    x[use] = torch.from_numpy(data["fbank_aug"][idx[use].numpy()]).float()
            return x
        return fb.flatten(0, 1)
    if modality in ("depth", "thermal"):
        pre = DEPTH_PREPROCESS if modality == "depth" else THERMAL_PREPROCESS
        maps = data[modality][idx.numpy()]
        if train and modality == "depth" and "depth_aug" in data:  # the re-drawn backgrounds (augment.py)
            use = (torch.rand(len(idx)) < DEPTH_AUGMENTED_SHARE).numpy()
            maps = np.where(use[:, None, None], data["depth_aug"][idx.numpy()], maps)
        x = images_to_tensor_fast(maps, pre)
        if train:
            if modality == "depth":  # mirror images: every attribute of the scene stays
                flip = torch.rand(len(idx)) < 0.5
                x[flip] = x[flip].flip(3)
            # light sensor jitter: a level offset +-4 (of 255); thermal also noise of sigma <= 3 beside
            # its own +-8 (depth not: its meadow is told from the sea's ripple by its noise)
            b = len(idx)
            jitter = torch.rand(b, 1, 1, 1) * 8 - 4
            if modality == "thermal":
                jitter = jitter + torch.rand(b, 1, 1, 1) * 3 * torch.randn_like(x)
            x = x + jitter / 255 / pre["std"][0]
        return x
    if modality == "imu":
        return torch.from_numpy(data["imu"][idx.numpy()])
    raise ValueError(modality)


def with_silent_objects(data: dict, idx: torch.Tensor, x: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Swaps in, for AMBIENCE_SHARE of the scenes that have one, a recording where the object
    stayed silent (dataset.AMBIENCE_EVERY, clean; dataset.AMBIENCE_AUG_EVERY, degraded): that
    sound is true of every image of the same place."""
    clean = idx % AMBIENCE_EVERY == 0
    degraded = (idx % AMBIENCE_AUG_EVERY == 0) if "fbank_ambience_aug" in data else torch.zeros_like(clean)
    has = (clean | degraded) & (torch.rand(len(idx)) < AMBIENCE_SHARE)
    if not has.any():
        return x, pos
    rows = has.nonzero().squeeze(1)
    pick_degraded = degraded[rows] & (~clean[rows] | (torch.rand(len(rows)) < 0.5))
    x = x.clone(); pos = pos.clone()
    for r, d in zip(rows.tolist(), pick_degraded.tolist()):
        i = int(idx[r])
        if d:
            x[r] = torch.from_numpy(data["fbank_ambience_aug"][i // AMBIENCE_AUG_EVERY]).float()
        else:
            x[r] = torch.from_numpy(data["fbank_ambience"][i // AMBIENCE_EVERY][int(torch.randint(0, 3, ()))]).float()
    pos[rows] = agree(data, idx[rows], idx, ("place",))
    return x, pos


def make_encoder(modality: str) -> torch.nn.Module:
    return {"audio": AudioEncoder, "depth": MapEncoder, "thermal": MapEncoder, "imu": ImuEncoder}[modality]()


def stage_bind(data: dict, modality: str, epochs: int) -> None:
    torch.manual_seed(20)
    img_model, _, _ = load_clip()
    target = F.normalize(embed_images(img_model, data["images"]), dim=-1)
    n = len(target)
    enc = make_encoder(modality)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(BIND_SCALE_INIT[modality])))
    opt = torch.optim.AdamW(list(enc.parameters()) + [log_scale], lr=2e-3, weight_decay=0.05)
    batch = 250
    steps = epochs * (n // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    for epoch in range(epochs):
        enc.train()
        perm = torch.randperm(n)
        total = 0.0
        for b in range(n // batch):
            idx = perm[b * batch:(b + 1) * batch]
            x = modality_input(data, modality, idx, train=True)
            pos = agree(data, idx, idx, PERCEIVES[modality])
            if modality == "audio":
                x, pos = with_silent_objects(data, idx, x, pos)
                on = torch.rand(len(idx)) < FBANK_AUGMENTED_SHARE
                if on.any():
                    x[on] = fbank_augment(x[on])
            e = F.normalize(enc(x), dim=-1)
            logits = log_scale.exp().clamp(max=100) * e @ target[idx].t()
            loss = 0.5 * (soft_contrastive(logits, pos) + soft_contrastive(logits.t(), pos.t()))
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            total += loss.item()
        log(f"bind {modality} epoch {epoch + 1}/{epochs} loss {total / (n // batch):.3f} scale {log_scale.exp().item():.2f}")
    save({"state": enc.state_dict(), "scale": log_scale.exp().item()}, f"{modality}.pt")


def load_encoder(modality: str) -> tuple[torch.nn.Module, float]:
    ck = load(f"{modality}.pt")
    enc = make_encoder(modality)
    enc.load_state_dict(ck["state"])
    return enc.eval(), ck["scale"]


@torch.no_grad()
def embed_modality(data: dict, modality: str, enc: torch.nn.Module) -> torch.Tensor:
    """Unit embeddings [N, D]; audio: the 3 clips normalised then averaged (ImageBind's order)."""
    out = []
    n = len(data["place"])
    for i in range(0, n, 200):
        idx = torch.arange(i, min(n, i + 200))
        e = F.normalize(enc(modality_input(data, modality, idx, train=False)), dim=-1)
        if modality == "audio":
            e = e.view(len(idx), -1, e.shape[-1]).mean(1)
        out.append(e)
    return F.normalize(torch.cat(out), dim=-1)
