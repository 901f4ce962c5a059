"""The decoder stages of train_demo.py: the autoencoder (64x64 RGB <-> [4, 16, 16] latents) and
its scaling factor, the unCLIP UNet (latent diffusion conditioned on noise-augmented image
embeddings, Stable unCLIP's way) and the linear latent-to-RGB preview projection."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F

from dataset import WORK
from models_demo import EMBED_DIM, AutoEncoder, UNet, timestep_embedding
from schedulers import add_noise, alphas_cumprod, v_target
from train_common import caption_tokens, load, log, save, to_fp16_values, tokenizer
from train_encoders import embed_images, load_clip

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


def load_unet() -> tuple[UNet, dict]:
    ck = load("unet.pt")
    unet = UNet()
    unet.load_state_dict(ck["state"])
    return to_fp16_values(unet).eval(), ck


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
