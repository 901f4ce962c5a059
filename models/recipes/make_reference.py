"""Reference outputs of the demo pack for the TypeScript parity tests, from PyTorch:

- every encoder on the shipped samples: the preprocessed input (this recipe's ImageBind
  transforms on the sample FILES), the raw encoder output and the postprocessed embedding
  (normalise, scale, average over clips);
- the prior, UNet and VAE decoder on fixed inputs (ONNX Runtime must give the same to 1e-4);
- reference sampling runs: the prior (DDIM) and the decoder (DDIM and Euler) with their
  initial noise and noise-augmentation noise recorded, so TypeScript can reproduce them.

Writes models/demo/reference/models/ (npy files + index.json).
Usage: python3 make_reference.py [--pack ../demo]
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from PIL import Image

import clip_bpe
from models_demo import EMBED_DIM, VaeDecoder
from preprocess import audio_to_clips, image_to_tensor
from sampling import sample_decoder, sample_prior
from train_decoder import load_ae, load_unet
from train_encoders import load_clip, load_encoder
from train_prior import load_prior


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=str(Path(__file__).resolve().parents[1] / "demo"))
    args = ap.parse_args()
    pack = Path(args.pack)
    manifest = json.loads((pack / "manifest.json").read_text())
    out = pack / "reference" / "models"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    index: dict = {"encoders": [], "models": [], "sampling": []}
    torch.manual_seed(1234)

    def save(name: str, x) -> str:
        arr = x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        np.save(out / f"{name}.npy", arr)
        return f"{name}.npy"

    img_model, txt_model, _ = load_clip()
    enc = {m: load_encoder(m)[0] for m in ("audio", "depth", "thermal", "imu")}
    enc["vision"] = img_model
    encs = manifest["encoders"]
    tok = clip_bpe.ClipBpeTokenizer.from_files(pack / encs["text"]["preprocess"]["tokenizer"]["vocab"], pack / encs["text"]["preprocess"]["tokenizer"]["merges"])
    samples = json.loads((pack / "samples/index.json").read_text())

    def postprocess(raw: torch.Tensor, modality: str) -> torch.Tensor:
        pp = encs[modality]["postprocess"]
        e = F.normalize(raw, dim=-1) * pp["scale"] if pp["normalize"] else raw * pp["scale"]
        return e.mean(0)

    @torch.no_grad()
    def encoder_case(sample: str, modality: str, file: str, x: torch.Tensor, model) -> None:
        raw = model(x)
        if isinstance(raw, tuple):
            raw, hidden = raw
            extra = {"hiddenStates": save(f"{sample}.{modality}.hidden", hidden)}
        else:
            extra = {}
        index["encoders"].append({"sample": sample, "modality": modality, "file": file,
                                  "input": save(f"{sample}.{modality}.input", x), "raw": save(f"{sample}.{modality}.raw", raw),
                                  "embedding": save(f"{sample}.{modality}.embedding", postprocess(raw, modality)), **extra})

    for s in samples[:3] + samples[-1:]:
        files = s["files"]
        name = s["name"]
        wav, sr = torchaudio.load(str(pack / files["audio"]))
        encoder_case(name, "audio", files["audio"], audio_to_clips(wav, sr, encs["audio"]["preprocess"]), enc["audio"])
        if "image" not in files:
            continue
        for m in ("vision", "depth", "thermal"):
            key = "image" if m == "vision" else m
            x = image_to_tensor(Image.open(pack / files[key]), encs[m]["preprocess"]).unsqueeze(0)
            encoder_case(name, m, files[key], x, enc[m])
        imu = np.loadtxt(pack / files["imu"], delimiter=",", skiprows=1, dtype=np.float32).T.copy()
        encoder_case(name, "imu", files["imu"], torch.from_numpy(imu).unsqueeze(0), enc["imu"])
        text = (pack / files["text"]).read_text().strip()
        ids = torch.from_numpy(tok.tokenize([text], 77))
        encoder_case(name, "text", files["text"], ids, txt_model)

    # ---- every other ONNX model on fixed inputs
    unet, uck = load_unet()
    ae, scaling = load_ae()
    vae = VaeDecoder(ae).eval()
    prior, pck = load_prior()
    with torch.no_grad():
        g = torch.Generator().manual_seed(7)
        x = torch.randn(2, 4, 16, 16, generator=g)
        t = torch.tensor([999.0, 301.0])
        h = torch.randn(2, 77, 128, generator=g)
        c = torch.randn(2, 2 * EMBED_DIM, generator=g)
        index["models"].append({"model": "decoder/unet.onnx", "inputs": {"sample": save("unet.sample", x), "timestep": save("unet.timestep", t),
                                "encoder_hidden_states": save("unet.hidden", h), "class_labels": save("unet.class_labels", c)},
                                "outputs": {"out_sample": save("unet.out", unet(x, t, h, c))}})
        z = torch.randn(2, 4, 16, 16, generator=g)
        index["models"].append({"model": "decoder/vae_decoder.onnx", "inputs": {"latent": save("vae.latent", z)},
                                "outputs": {"image": save("vae.image", vae(z))}})
        ps, pc = torch.randn(2, EMBED_DIM, generator=g), F.normalize(torch.randn(2, EMBED_DIM, generator=g), dim=-1)
        pt = torch.tensor([999.0, 42.0])
        index["models"].append({"model": "prior/prior.onnx", "inputs": {"sample": save("prior.sample", ps), "timestep": save("prior.timestep", pt),
                                "condition": save("prior.condition", pc)}, "outputs": {"predicted": save("prior.out", prior(ps, pt, pc))}})

    # ---- reference sampling runs
    dec = manifest["decoder"]
    pri = manifest["prior"]
    with torch.no_grad():
        caption = samples[0]["caption"]
        query = F.normalize(txt_model(torch.from_numpy(tok.tokenize([caption], 77)))[0], dim=-1)
        empty_hidden = txt_model(torch.from_numpy(tok.tokenize([dec["promptConditioning"]["unconditionalPrompt"]], 77)))[1]
        g = torch.Generator().manual_seed(11)
        # prior: DDIM, guidance 2
        steps, gs = 10, 2.0
        noise = torch.randn(1, EMBED_DIM, generator=g)
        image_emb = sample_prior(prior, pri, query, noise, steps, gs, "ddim")
        index["sampling"].append({"stage": "prior", "scheduler": "ddim", "steps": steps, "guidanceScale": gs, "caption": caption,
                                  "condition": save("run.prior.condition", query), "initialNoise": save("run.prior.noise", noise),
                                  "imageEmbedding": save("run.prior.image_embedding", image_emb)})
        # decoder: DDIM and Euler, guidance 3, noise levels 0 and 100, without and with a prompt
        audio_emb = torch.from_numpy(np.load(out / index["encoders"][0]["embedding"])).unsqueeze(0)
        for scheduler_name, level, use_prompt in (("ddim", 0, False), ("euler", 100, True)):
            steps, gs = 12, 3.0
            aug_noise = torch.randn(1, EMBED_DIM, generator=g)
            prompt = caption if use_prompt else dec["promptConditioning"]["unconditionalPrompt"]
            cond_hidden = txt_model(torch.from_numpy(tok.tokenize([prompt], 77)))[1]
            noise = torch.randn(1, 4, 16, 16, generator=g)
            lat, images = sample_decoder(unet, vae, dec, audio_emb, cond_hidden, empty_hidden, noise, aug_noise, steps, gs, level, scheduler_name)
            image = images[0]
            Image.fromarray((image.numpy() * 255).round().astype(np.uint8)).save(out / f"run.decoder.{scheduler_name}.png")
            index["sampling"].append({"stage": "decoder", "scheduler": scheduler_name, "steps": steps, "guidanceScale": gs,
                                      "noiseLevel": level, "prompt": prompt,
                                      "imageEmbedding": save(f"run.decoder.{scheduler_name}.embedding", F.normalize(audio_emb, dim=-1) * dec["embeddingNorm"]),
                                      "augmentationNoise": save(f"run.decoder.{scheduler_name}.aug_noise", aug_noise),
                                      "initialNoise": save(f"run.decoder.{scheduler_name}.noise", noise),
                                      "promptHidden": save(f"run.decoder.{scheduler_name}.prompt_hidden", cond_hidden),
                                      "unconditionalHidden": save(f"run.decoder.{scheduler_name}.uncond_hidden", empty_hidden),
                                      "latents": save(f"run.decoder.{scheduler_name}.latents", lat),
                                      "image": save(f"run.decoder.{scheduler_name}.image", image)})
    (out / "index.json").write_text(json.dumps(index, indent=1))
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(index['encoders'])} encoder cases, {len(index['models'])} model cases, {len(index['sampling'])} sampling runs to {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
