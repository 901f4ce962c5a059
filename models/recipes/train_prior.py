"""The prior stage of train_demo.py: the DALLE-2 style prior, query embedding of any modality ->
image embedding, trained on the frozen encoders' embeddings of the training split."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models_demo import EMBED_DIM, Prior
from schedulers import add_noise, alphas_cumprod
from train_common import CAPTION_VARIANTS, caption_tokens, load, log, save, to_fp16_values, to_used_width, tokenizer
from train_encoders import embed_images, embed_modality, load_clip, load_encoder

PRIOR_SCHEDULER = {"numTrainTimesteps": 1000, "betaSchedule": "squaredcos_cap_v2", "predictionType": "sample",
                   "timestepSpacing": "leading", "stepsOffset": 0, "clipSample": False, "setAlphaToOne": True}


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
