"""Trains the demo pack the ImageBind way, stage by stage (each cached in .work/):

  tokenizer  CLIP BPE merges learned from the world's captions
  clip       a small CLIP (image + text towers), contrastive; then frozen
  bind       audio, depth, thermal and IMU encoders, InfoNCE against the frozen image
             embeddings only (no encoder but text's ever sees text)
  ae         the autoencoder (64x64 RGB <-> [4, 16, 16] latents) and its scaling factor
  unet       the unCLIP decoder: latent diffusion conditioned on noise-augmented image
             embeddings (Stable unCLIP), with classifier-free-guidance dropout
  prior      the DALLE-2 style prior: query embedding of any modality -> image embedding
  preview    the linear latent-to-RGB projection for live previews

Usage: python3 train_demo.py [--stages clip,bind,...] [--quick]
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import clip_bpe
import world
from dataset import AMBIENCE_EVERY, WORK, build_split
from models_demo import (EMBED_DIM, AudioEncoder, AutoEncoder, ImageTower, ImuEncoder, MapEncoder, Prior, TextTower,
                         UNet, timestep_embedding)
from preprocess import DEPTH_PREPROCESS, THERMAL_PREPROCESS, VISION_PREPROCESS, images_to_tensor_fast
from schedulers import add_noise, alphas_cumprod, v_target

TRAIN_SEED, TRAIN_COUNT = 1, 5000
# The latent UNet is the build's longest stage (0.51 s a step of 64 while the other training
# process runs, then 0.31 s with both cores): 3,500 steps fit the whole build_demo_pack.sh in
# 54 minutes on 2 cores. Its loss is weighted min-SNR-5 (Hang et al. 2023, "Efficient Diffusion
# Training via Min-SNR Weighting Strategy"): with a plain MSE, 3,500 steps drew the object right
# only 56.6 % of the time from audio (5,000 steps: 75.8 %); with the weighting, 89 %.
UNET_STEPS = 3500
DECODER_SCHEDULER = {"numTrainTimesteps": 1000, "betaSchedule": "scaled_linear", "betaStart": 0.00085, "betaEnd": 0.012,
                     "predictionType": "v_prediction", "timestepSpacing": "leading", "stepsOffset": 1,
                     "clipSample": False, "setAlphaToOne": False}
NOISE_AUG_SCHEDULER = {"numTrainTimesteps": 1000, "betaSchedule": "squaredcos_cap_v2"}
PRIOR_SCHEDULER = {"numTrainTimesteps": 1000, "betaSchedule": "squaredcos_cap_v2", "predictionType": "sample",
                   "timestepSpacing": "leading", "stepsOffset": 0, "clipSample": False, "setAlphaToOne": True}
# ImageBind's postprocessing logit scales (imagebind_model.py): audio 20, depth 5, thermal 10, IMU 5.
# Here they initialise a learned temperature; the learned value is the manifest's scale.
BIND_SCALE_INIT = {"audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}
# What each modality can perceive of a scene: samples that agree on these are positives.
PERCEIVES = {"audio": ("place", "object", "size"), "depth": ("place", "object", "size"),
             "thermal": ("place", "object", "colour", "size"), "imu": ("place",)}
CAPTION_VARIANTS = 5
# caption variant -> attributes it names (world.Scene.caption)
VARIANT_NAMES = {0: ("size", "colour"), 1: ("size", "colour"), 2: ("colour",), 3: ("size",), 4: ()}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save(obj, name: str) -> None:
    torch.save(obj, WORK / name)


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
            return fb[torch.arange(len(idx)), clip]
        return fb.flatten(0, 1)
    if modality == "depth":
        return images_to_tensor_fast(data["depth"][idx.numpy()], DEPTH_PREPROCESS)
    if modality == "thermal":
        return images_to_tensor_fast(data["thermal"][idx.numpy()], THERMAL_PREPROCESS)
    if modality == "imu":
        return torch.from_numpy(data["imu"][idx.numpy()])
    raise ValueError(modality)


def with_silent_objects(data: dict, idx: torch.Tensor, x: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Swaps in, for half of the scenes that have one, the recording where the object stayed
    silent (dataset.AMBIENCE_EVERY): that sound is true of every image of the same place."""
    has = (idx % AMBIENCE_EVERY == 0) & (torch.rand(len(idx)) < 0.5)
    if not has.any():
        return x, pos
    rows = has.nonzero().squeeze(1)
    amb = torch.from_numpy(data["fbank_ambience"][(idx[rows] // AMBIENCE_EVERY).numpy()]).float()  # [R, 3, 1, 128, 204]
    clip = torch.randint(0, amb.shape[1], (len(rows),))
    x = x.clone(); pos = pos.clone()
    x[rows] = amb[torch.arange(len(rows)), clip]
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


# ---------------------------------------------------------------- autoencoder

def stage_ae(data: dict, steps: int) -> None:
    torch.manual_seed(30)
    x_all = torch.from_numpy(data["images"]).float().permute(0, 3, 1, 2) / 127.5 - 1
    ae = AutoEncoder()
    opt = torch.optim.Adam(ae.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.05)
    for step in range(steps):
        x = x_all[torch.randint(0, len(x_all), (64,))]
        z = ae.encode(x)
        rec = ae.decode(z)
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + 1e-4 * z.pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        if (step + 1) % 250 == 0:
            log(f"ae step {step + 1}/{steps} loss {loss.item():.4f}")
    with torch.no_grad():
        z = torch.cat([ae.encode(x_all[i:i + 500]) for i in range(0, len(x_all), 500)])
    scaling = 1.0 / z.std().item()  # Stable Diffusion's 0.18215 is this, for its VAE
    save({"state": ae.state_dict(), "scaling": scaling}, "ae.pt")
    log(f"ae scaling factor {scaling:.5f}")


def load_ae() -> tuple[AutoEncoder, float]:
    ck = load("ae.pt")
    ae = AutoEncoder()
    ae.load_state_dict(ck["state"])
    return ae.eval(), ck["scaling"]


# ---------------------------------------------------------------- decoder

def noise_augment(emb: torch.Tensor, level: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, ac_aug: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Stable unCLIP's noise_image_embeddings: normalise, add noise at `level`, unnormalise,
    then append the level's timestep embedding -> class_labels [B, 2D]."""
    x = (emb - mean) / std
    x = add_noise(ac_aug, x, noise, level)
    x = x * std + mean
    return torch.cat([x, timestep_embedding(level, emb.shape[1], flip_sin_to_cos=True, downscale_freq_shift=0)], dim=1)


def stage_unet(data: dict, steps: int, batch: int = 64) -> None:
    torch.manual_seed(40)
    img_model, txt_model, _ = load_clip()
    ae, scaling = load_ae()
    with torch.no_grad():
        x = torch.from_numpy(data["images"]).float().permute(0, 3, 1, 2) / 127.5 - 1
        lat = torch.cat([ae.encode(x[i:i + 500]) for i in range(0, len(x), 500)]) * scaling
        emb = F.normalize(embed_images(img_model, data["images"]), dim=-1)
        tok = tokenizer()
        caps = torch.from_numpy(caption_tokens(data["scenes"], tok)[:, 0])
        hidden = torch.cat([txt_model(caps[i:i + 250])[1] for i in range(0, len(caps), 250)]).half()
        empty = txt_model(torch.from_numpy(tok.tokenize([""], 77)))[1]
    mean, std = emb.mean(0), emb.std(0)
    ac = alphas_cumprod(DECODER_SCHEDULER)
    ac_aug = alphas_cumprod(NOISE_AUG_SCHEDULER)
    unet = UNet()
    log(f"unet parameters {sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M")
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.05)
    ema = UNet(); ema.load_state_dict(unet.state_dict())
    params = list(unet.parameters())
    # Each step is two half batches, each its own graph, their gradients summed in a fixed
    # order: once the other training process of build_demo_pack.sh is done (prior.pt), the
    # halves run on two threads of one intra-op thread each (a second intra-op thread speeds
    # these small convolutions up by 10 %, a second half batch by about 40 %); before, one
    # after the other. Same arithmetic either way, so the weights do not depend on timing.
    pool = ThreadPoolExecutor(max_workers=2)
    side_by_side = False
    t0 = time.time()
    for step in range(steps):
        if step % 50 == 0 and not side_by_side:
            side_by_side = (WORK / "prior.pt").exists()
        idx = torch.randint(0, len(lat), (batch,))
        x0 = lat[idx]
        if torch.rand(()) < 0.5:  # flips keep the scene
            x0 = x0.flip(3)
        t = torch.randint(0, 1000, (batch,))
        noise = torch.randn_like(x0)
        xt = add_noise(ac, x0, noise, t)
        level = torch.where(torch.rand(batch) < 0.4, torch.zeros(batch, dtype=torch.long), torch.randint(0, 1000, (batch,)))
        labels = noise_augment(emb[idx], level, mean, std, ac_aug, torch.randn(batch, EMBED_DIM))
        labels = labels * (torch.rand(batch, 1) >= 0.1)  # CFG dropout: unconditional labels are zeros
        use_caption = (torch.rand(batch) < 0.3)[:, None, None]
        ctx = torch.where(use_caption, hidden[idx].float(), empty.expand(batch, -1, -1))
        target = v_target(ac, x0, noise, t)

        def half_gradients(half: slice) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
            per_sample = (unet(xt[half], t[half].float(), ctx[half], labels[half]) - target[half]).pow(2).mean(dim=(1, 2, 3))
            snr = ac[t[half]] / (1 - ac[t[half]])
            loss = (per_sample * snr.clamp(max=5.0) / (snr + 1)).mean()  # min-SNR-5 for v-prediction (Hang et al. 2023)
            return loss.detach(), torch.autograd.grad(loss, params)

        halves = (slice(0, batch // 2), slice(batch // 2, batch))
        (loss_a, grads_a), (loss_b, grads_b) = pool.map(half_gradients, halves) if side_by_side else map(half_gradients, halves)
        loss = 0.5 * (loss_a + loss_b)  # the batch mean: both halves have batch // 2 samples
        for p, ga, gb in zip(params, grads_a, grads_b):
            p.grad = 0.5 * (ga + gb)
        torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step(); sched.step()
        with torch.no_grad():
            decay = min(0.999, (1 + step) / (10 + step))
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.mul_(decay).add_(p, alpha=1 - decay)
        if (step + 1) % 200 == 0:
            log(f"unet step {step + 1}/{steps} loss {loss.item():.4f} ({(time.time() - t0) / (step + 1):.2f} s/step)")
    pool.shutdown()
    save({"state": ema.state_dict(), "mean": mean, "std": std, "scaling": scaling}, "unet.pt")


def to_fp16_values(model: torch.nn.Module) -> torch.nn.Module:
    """Rounds every weight to the nearest float16 value (kept as float32), so that the pack can
    store these weights as float16 losslessly (export_demo.py) and every PyTorch reference uses
    exactly the weights the pack ships."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


def load_unet() -> tuple[UNet, dict]:
    ck = load("unet.pt")
    unet = UNet()
    unet.load_state_dict(ck["state"])
    return to_fp16_values(unet).eval(), ck


# ---------------------------------------------------------------- prior

@torch.no_grad()
def query_embeddings(data: dict) -> dict[str, torch.Tensor]:
    """Unit query embeddings of every modality for every scene."""
    img_model, txt_model, _ = load_clip()
    tok = tokenizer()
    tokens = to_used_width(torch.from_numpy(caption_tokens(data["scenes"], tok)))  # [N, V, 13]
    text = torch.cat([txt_model(tokens[i:i + 250].flatten(0, 1))[0] for i in range(0, len(tokens), 250)])
    out = {"text": F.normalize(text, dim=-1).view(len(tokens), CAPTION_VARIANTS, -1)}
    for m in ("audio", "depth", "thermal", "imu"):
        out[m] = embed_modality(data, m, load_encoder(m)[0])
    out["vision"] = F.normalize(embed_images(img_model, data["images"]), dim=-1)
    return out


def stage_prior(data: dict, steps: int, batch: int = 256) -> None:
    torch.manual_seed(50)
    q = query_embeddings(data)
    target = q["vision"]
    mean, std = target.mean(0), target.std(0)
    x0_all = (target - mean) / std
    n = len(target)
    ac = alphas_cumprod(PRIOR_SCHEDULER)
    prior = Prior()
    opt = torch.optim.AdamW(prior.parameters(), lr=5e-4, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-4, total_steps=steps, pct_start=0.05)
    modalities = ["text", "audio", "depth", "thermal", "imu", "vision"]
    for step in range(steps):
        idx = torch.randint(0, n, (batch,))
        which = torch.randint(0, len(modalities), (batch,))
        cond = torch.zeros(batch, EMBED_DIM)
        for k, m in enumerate(modalities):
            sel = which == k
            if not sel.any():
                continue
            if m == "text":
                cond[sel] = q["text"][idx[sel], torch.randint(0, CAPTION_VARIANTS, (int(sel.sum()),))]
            else:
                cond[sel] = q[m][idx[sel]]
        cond = cond * (torch.rand(batch, 1) >= 0.1)  # CFG dropout: unconditional condition is zeros
        t = torch.randint(0, 1000, (batch,))
        x0 = x0_all[idx]
        xt = add_noise(ac, x0, torch.randn_like(x0), t)
        loss = F.mse_loss(prior(xt, t.float(), cond), x0)  # DALLE-2 predicts x0 directly
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        if (step + 1) % 1000 == 0:
            log(f"prior step {step + 1}/{steps} loss {loss.item():.4f}")
    save({"state": prior.state_dict(), "mean": mean, "std": std}, "prior.pt")


def load_prior() -> tuple[Prior, dict]:
    ck = load("prior.pt")
    prior = Prior()
    prior.load_state_dict(ck["state"])
    return to_fp16_values(prior).eval(), ck


# ---------------------------------------------------------------- preview

def stage_preview(data: dict) -> None:
    """Least squares: RGB (image average-pooled to the latent grid) ~ latent^T W + b."""
    ae, scaling = load_ae()
    with torch.no_grad():
        x = torch.from_numpy(data["images"][:2000]).float().permute(0, 3, 1, 2) / 127.5 - 1
        z = ae.encode(x) * scaling                       # [N, 4, 16, 16]
        rgb = F.avg_pool2d(x, 4)                         # [N, 3, 16, 16]
    a = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, 4), torch.ones(z.numel() // 4, 1)], dim=1).double()
    b = rgb.permute(0, 2, 3, 1).reshape(-1, 3).double()
    sol = torch.linalg.lstsq(a, b).solution.float()      # [5, 3]
    err = (a.float() @ sol - b.float()).abs().mean().item()
    save({"weight": sol[:4], "bias": sol[4], "mae": err}, "preview.pt")
    log(f"preview projection mean abs error {err:.3f} (of [-1, 1])")


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", default="data,tokenizer,clip,bind,ae,unet,prior,preview")
    ap.add_argument("--quick", action="store_true", help="tiny run to check the plumbing")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    stages = args.stages.split(",")
    q = args.quick
    count = 600 if q else TRAIN_COUNT
    t0 = time.time()
    if "data" not in stages:  # built by the other process (build_demo_pack.sh)
        while not (WORK / ("train_quick" if q else "train")).with_suffix(".scenes.json").exists():
            time.sleep(5)
    data = build_split("train_quick" if q else "train", TRAIN_SEED, count)
    if "tokenizer" in stages:
        stage_tokenizer()
    if "clip" in stages:
        stage_clip(data, 2 if q else 25)
    if "bind" in stages:
        for m, e in (("audio", 20), ("depth", 12), ("thermal", 12), ("imu", 10)):
            stage_bind(data, m, 1 if q else e)
    if "ae" in stages:
        stage_ae(data, 100 if q else 1200)
    if "unet" in stages:
        while not (WORK / "clip.pt").exists():  # trained by the other process (build_demo_pack.sh)
            time.sleep(10)
        stage_unet(data, 50 if q else UNET_STEPS)
    if "prior" in stages:
        stage_prior(data, 200 if q else 8000)
    if "preview" in stages:
        stage_preview(data)
    log(f"training done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
