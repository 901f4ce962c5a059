"""PyTorch side of the sampler benchmark (packages/unclip/bench/sampler.bench.ts runs it):
the recipe's reference decoder and prior samplers with the demo pack's trained PyTorch
weights, timed per step. Needs the recipe's checkpoints (models/recipes/.work, made by
build_demo_pack.sh); prints {"skipped": reason} when they are absent.

Usage: python3 bench_sampler.py --pack ../demo --steps 25 --images 1 --runs 5 --threads 2
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from dataset import WORK


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=str(Path(__file__).resolve().parents[1] / "demo"))
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not all((WORK / f).exists() for f in ("unet.pt", "ae.pt", "prior.pt")):
        print(json.dumps({"skipped": f"no trained PyTorch checkpoints in {WORK} (run models/recipes/build_demo_pack.sh)"}))
        return
    torch.set_num_threads(args.threads)
    from models_demo import EMBED_DIM, VaeDecoder
    from sampling import sample_decoder, sample_prior
    from train_decoder import load_ae, load_unet
    from train_prior import load_prior

    manifest = json.loads((Path(args.pack) / "manifest.json").read_text())
    unet, _ = load_unet()
    ae, _ = load_ae()
    vae = VaeDecoder(ae).eval()
    prior, _ = load_prior()
    b = args.images
    g = torch.Generator().manual_seed(0)
    hidden = torch.zeros(1, 77, 128)

    def time_decoder() -> float:
        emb = torch.nn.functional.normalize(torch.randn(b, EMBED_DIM, generator=g), dim=-1)
        t0 = time.perf_counter()
        sample_decoder(unet, vae, manifest["decoder"], emb, hidden, hidden, torch.randn(b, 4, 16, 16, generator=g),
                       torch.randn(b, EMBED_DIM, generator=g), args.steps, args.guidance, 0, "ddim")
        return (time.perf_counter() - t0) * 1000

    def time_prior() -> float:
        cond = torch.randn(b, EMBED_DIM, generator=g)
        t0 = time.perf_counter()
        sample_prior(prior, manifest["prior"], cond, torch.randn(b, EMBED_DIM, generator=g), args.steps, 2.0, "ddim")
        return (time.perf_counter() - t0) * 1000

    time_decoder(); time_prior()  # warm-up
    dec = [time_decoder() for _ in range(args.runs)]
    pri = [time_prior() for _ in range(args.runs)]
    print(json.dumps({"images": b, "steps": args.steps, "threads": args.threads,
                      "decoderMsMedian": statistics.median(dec), "decoderStepMsMedian": statistics.median(dec) / args.steps,
                      "priorMsMedian": statistics.median(pri), "priorStepMsMedian": statistics.median(pri) / args.steps,
                      "note": "decoder time includes the VAE decode of the final latents"}))


if __name__ == "__main__":
    main()
