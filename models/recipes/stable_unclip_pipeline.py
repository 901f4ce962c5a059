"""The diffusers side of export_stable_unclip.py: loading the pipeline with the attention
written out, the manifest sections read from its configs (scheduler, noise augmentation,
tokenizer) and the latent-to-RGB preview projection fitted on its VAE."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- pipeline


def load_pipeline(model_dir: str, device: str):
    from diffusers import StableUnCLIPImg2ImgPipeline
    from diffusers.models.attention_processor import AttnProcessor

    pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(model_dir, torch_dtype=torch.float32)
    # The attention written out (no fused scaled_dot_product_attention): exports the same on
    # every PyTorch version.
    pipe.unet.set_attn_processor(AttnProcessor())
    pipe.vae.set_attn_processor(AttnProcessor())
    if getattr(pipe.text_encoder.config, "_attn_implementation", "eager") != "eager":
        from transformers import CLIPTextModel
        pipe.text_encoder = CLIPTextModel.from_pretrained(model_dir, subfolder="text_encoder",
                                                          attn_implementation="eager", torch_dtype=torch.float32)
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        part.to(device).eval()
    return pipe


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def vae_scale_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def scheduler_section(config) -> dict:
    """diffusers scheduler_config.json (resolved by from_pretrained) -> the manifest's camelCase."""
    c = dict(config)
    if c.get("trained_betas") is not None:
        raise SystemExit("the scheduler has trained_betas; the pack format takes a beta_schedule")
    section = {
        "numTrainTimesteps": int(c["num_train_timesteps"]),
        "betaSchedule": c["beta_schedule"],
        "betaStart": float(c["beta_start"]),
        "betaEnd": float(c["beta_end"]),
        "predictionType": c.get("prediction_type", "epsilon"),
        "timestepSpacing": c.get("timestep_spacing", "leading"),
        "stepsOffset": int(c.get("steps_offset", 0)),
        "clipSample": bool(c.get("clip_sample", False)),
        "setAlphaToOne": bool(c.get("set_alpha_to_one", False)),
    }
    if "clip_sample_range" in c:
        section["clipSampleRange"] = float(c["clip_sample_range"])
    for key, name in (("thresholding", "thresholding"), ("rescale_betas_zero_snr", "rescaleBetasZeroSnr")):
        if c.get(key):
            section[name] = True  # refused by the TypeScript side by name rather than ignored
    return section


def noise_augmentation_section(pipe) -> dict:
    """StableUnCLIPImg2ImgPipeline.noise_image_embeddings: normaliser scale -> DDPM add_noise at
    the noise level -> unscale -> concatenate get_timestep_embedding(level, D, flip_sin_to_cos=True,
    downscale_freq_shift=0)."""
    c = dict(pipe.image_noising_scheduler.config)
    dim = int(pipe.image_normalizer.mean.shape[-1])
    return {
        "mean": pipe.image_normalizer.mean.detach().float().reshape(-1).tolist(),
        "std": pipe.image_normalizer.std.detach().float().reshape(-1).tolist(),
        "numTrainTimesteps": int(c["num_train_timesteps"]),
        "betaSchedule": c["beta_schedule"],
        "betaStart": float(c["beta_start"]),
        "betaEnd": float(c["beta_end"]),
        "timestepEmbedding": {"dim": dim, "flipSinToCos": True, "downscaleFreqShift": 0},
    }


def tokenizer_section(tokenizer, folder: str) -> dict:
    """The pack's clip-bpe tokenizer (packages/imagebind/src/text/clip-tokenizer.ts) from the
    pipeline's CLIPTokenizer; SD 2's pads with "!" (id 0), SD 1's with the end token."""
    if tokenizer.pad_token_id is None:
        raise SystemExit("the tokenizer has no pad token")
    return {
        "type": "clip-bpe", "vocab": f"{folder}/vocab.json", "merges": f"{folder}/merges.txt",
        "contextLength": int(tokenizer.model_max_length), "startToken": str(tokenizer.bos_token),
        "endToken": str(tokenizer.eos_token), "padId": int(tokenizer.pad_token_id), "lowercase": True,
    }


def save_bpe_files(tokenizer, folder: Path) -> None:
    """vocab.json and merges.txt, the two files tokenizer_section names: transformers 4's
    CLIPTokenizer copies its own (save_vocabulary); transformers 5's (backed by `tokenizers`,
    with no vocab file to copy) has its BPE model write the same two files."""
    folder.mkdir(parents=True, exist_ok=True)
    if getattr(tokenizer, "vocab_file", None):
        written = tokenizer.save_vocabulary(str(folder))
    else:
        written = tokenizer.backend_tokenizer.model.save(str(folder))
    if sorted(Path(p).name for p in written) != ["merges.txt", "vocab.json"]:
        raise SystemExit(f"unexpected tokenizer files {written}")


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return ids.to(torch.int64)


# ---------------------------------------------------------------- preview projection


def synthetic_images(count: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Deterministic colour fields: gradients between random colours plus random flat boxes,
    [count, 3, H, W] in [-1, 1]. Used when no --preview-images are given."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    images = []
    for _ in range(count):
        a, b = rng.uniform(-1, 1, (2, 3, 1, 1))
        angle = rng.uniform(0, 2 * math.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)[None]
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        img = a * (1 - t) + b * t
        for _ in range(rng.integers(2, 6)):
            y0, x0 = rng.integers(0, h - h // 4), rng.integers(0, w - w // 4)
            bh, bw = rng.integers(h // 8, h // 3), rng.integers(w // 8, w // 3)
            img[:, y0:y0 + bh, x0:x0 + bw] = rng.uniform(-1, 1, (3, 1, 1))
        images.append(img)
    return torch.from_numpy(np.stack(images)).float()


def image_files(folder: Path, size: tuple[int, int]) -> torch.Tensor:
    from PIL import Image
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not paths:
        raise SystemExit(f"no .png/.jpg/.webp images in {folder}")
    h, w = size
    out = []
    for p in paths:
        img = Image.open(p).convert("RGB")
        scale = max(w / img.width, h / img.height)  # cover, then centre-crop
        img = img.resize((max(w, round(img.width * scale)), max(h, round(img.height * scale))), Image.BICUBIC)
        left, top = (img.width - w) // 2, (img.height - h) // 2
        arr = np.asarray(img.crop((left, top, left + w, top + h)), dtype=np.float32) / 127.5 - 1
        out.append(torch.from_numpy(arr).permute(2, 0, 1))
    return torch.stack(out)


@torch.no_grad()
def fit_preview(vae, images: torch.Tensor, device: str) -> dict:
    """Least squares rgb ~ latent^T W + b (models/recipes/train_decoder.py stage_preview): latents
    z = scaling_factor * mean of the VAE posterior (the UNet's latent space, where the sampler's
    predicted x0 lives), rgb = the VAE's decoding of z average-pooled to the latent grid."""
    scaling = float(vae.config.scaling_factor)
    factor = vae_scale_factor(vae)
    zs, rgbs = [], []
    for image in images:
        x = image[None].to(device)
        z = vae.encode(x).latent_dist.mean * scaling
        decoded = vae.decode(z / scaling, return_dict=False)[0].clamp(-1, 1)
        zs.append(z.cpu())
        rgbs.append(F.avg_pool2d(decoded, factor).cpu())
    z, rgb = torch.cat(zs), torch.cat(rgbs)
    channels = z.shape[1]
    a = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, channels), torch.ones(z.numel() // channels, 1)], 1).double()
    b = rgb.permute(0, 2, 3, 1).reshape(-1, 3).double()
    solution = torch.linalg.lstsq(a, b).solution
    mae = float((a @ solution - b).abs().mean())
    return {"latentToRgb": solution[:channels].float().tolist(), "bias": solution[channels].float().tolist(),
            "meanAbsError": mae, "images": int(images.shape[0])}
