"""Batch prior and decoder sampling in PyTorch with the manifest's constants (the reference
sampler that the TypeScript samplers in packages/unclip reproduce): classifier-free guidance
on rows [unconditional; conditional], u + g (c - u); unconditional prior condition and decoder
class labels are zeros; the unconditional prompt's hidden states for the other branch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from schedulers import alphas_cumprod, make_scheduler
from train_decoder import noise_augment


@torch.no_grad()
def sample_prior(prior, pri: dict, condition: torch.Tensor, noise: torch.Tensor, steps: int, guidance: float, scheduler: str = "ddim") -> torch.Tensor:
    """condition [B, D] -> image embeddings [B, D] rescaled to outputNorm."""
    sch = make_scheduler(scheduler, pri["scheduler"], steps)
    cond = F.normalize(condition, dim=-1) * pri["conditionNorm"]
    rows = torch.cat([torch.zeros_like(cond), cond])
    x = noise * sch.init_noise_sigma
    for t in sch.timesteps:
        inp = sch.scale_model_input(torch.cat([x, x]), t)
        u, c = prior(inp, torch.full((inp.shape[0],), float(t)), rows).chunk(2)
        x, _ = sch.step(u + guidance * (c - u), t if scheduler == "euler" else int(t), x)
    mean, std = torch.tensor(pri["normalizer"]["mean"]), torch.tensor(pri["normalizer"]["std"])
    return F.normalize(x * std + mean, dim=-1) * pri["outputNorm"]


@torch.no_grad()
def sample_decoder(unet, vae, dec: dict, embeddings: torch.Tensor, prompt_hidden: torch.Tensor, uncond_hidden: torch.Tensor,
                   noise: torch.Tensor, aug_noise: torch.Tensor, steps: int, guidance: float, noise_level: int = 0,
                   scheduler: str = "ddim") -> tuple[torch.Tensor, torch.Tensor]:
    """embeddings [B, D] -> (latents [B, 4, 16, 16], images [B, 64, 64, 3] in [0, 1])."""
    na = dec["noiseAugmentation"]
    ac_aug = alphas_cumprod({"numTrainTimesteps": na["numTrainTimesteps"], "betaSchedule": na["betaSchedule"]})
    b = embeddings.shape[0]
    emb = F.normalize(embeddings, dim=-1) * dec["embeddingNorm"]
    labels = noise_augment(emb, torch.full((b,), noise_level, dtype=torch.long), torch.tensor(na["mean"]), torch.tensor(na["std"]), ac_aug, aug_noise)
    label_rows = torch.cat([torch.zeros_like(labels), labels])
    hidden_rows = torch.cat([uncond_hidden.expand(b, -1, -1), prompt_hidden.expand(b, -1, -1)])
    sch = make_scheduler(scheduler, dec["scheduler"], steps)
    lat = noise * sch.init_noise_sigma
    for t in sch.timesteps:
        inp = sch.scale_model_input(torch.cat([lat, lat]), t)
        u, c = unet(inp, torch.full((inp.shape[0],), float(t)), hidden_rows, label_rows).chunk(2)
        lat, _ = sch.step(u + guidance * (c - u), t if scheduler == "euler" else int(t), lat)
    images = ((vae(lat / dec["vae"]["scalingFactor"]) + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
    return lat, images
