"""The pack's "paper table" (eval_demo.py's definitions) on held-out scenes of BOTH readings of
shared/demo-world.md: world.py (the recipe's, which the pack trained on) and world_variant.py
(an independent reading, never trained on). Issue #13: a pack that learned the world, not
its recipe's rendering, scores alike on both.

Every model is read from the exported pack (pack_torch.py: the ONNX weights in PyTorch,
checked against the pack's reference outputs), so any pack can be measured, the committed one
too; --work reads the training checkpoints in .work/ instead (a pack not yet exported).

Figures per world: zero-shot place / object per modality against the prompt ensembles;
audio -> image top-1; arithmetic image(O on A) + ambience alone of B -> O on B among the
split's images, at the pack's chosen weights (report.json) with the sweep and per place B;
with --generate: audio via the prior (place from the frame, object) and arithmetic via the
prior (place B).

Usage: python3 eval_variant.py [--pack ../demo] [--worlds recipe,variant] [--count 600]
       [--seed 2] [--generate 0] [--work] [--workers 2] [--threads 1] [--json OUT]
"""
from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import clip_bpe  # noqa: E402
import pack_torch  # noqa: E402
from eval_demo import ARITHMETIC_AUDIO_WEIGHTS, class_prompts, frame_place  # noqa: E402
from preprocess import (DEPTH_PREPROCESS, THERMAL_PREPROCESS, VISION_PREPROCESS, audio_to_clips,  # noqa: E402
                        images_to_tensor_fast)

WORLDS = {"recipe": "world", "variant": "world_variant"}


def _render(task: tuple) -> tuple:
    """Scene i of a split of world module `wname`, and the ambience alone of place b
    (eval_demo.arithmetic_case's definition)."""
    wname, seed, i, b = task
    torch.set_num_threads(1)
    W = importlib.import_module(wname)
    s = W.make_scene(np.random.default_rng([seed, i]))
    amb_scene = W.make_scene(np.random.default_rng([seed, 10_000 + i]), place=W.PLACES[b]) if b >= 0 else None
    clips = lambda x: audio_to_clips(torch.from_numpy(x).unsqueeze(0), W.SAMPLE_RATE).numpy()  # noqa: E731
    return (s, W.render_image(s), W.render_depth(s), W.render_thermal(s), W.render_imu(s), clips(W.render_sound(s)),
            clips(W.render_sound(amb_scene, with_calls=False)))


def render_split(world_key: str, seed: int, count: int, workers: int) -> dict:
    W = importlib.import_module(WORLDS[world_key])
    places = np.array([W.PLACES.index(W.make_scene(np.random.default_rng([seed, i])).place) for i in range(count)])
    rng = np.random.default_rng([seed, 5])
    other = np.array([(p + rng.integers(1, 4)) % 4 for p in places])
    tasks = [(WORLDS[world_key], seed, i, int(other[i])) for i in range(count)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        rows = pool.map(_render, tasks, chunksize=20)
    scenes = [r[0] for r in rows]
    return {"scenes": scenes, "place": places, "other": other,
            "object": np.array([W.OBJECTS.index(s.object) for s in scenes]),
            "images": np.stack([r[1] for r in rows]), "depth": np.stack([r[2] for r in rows]),
            "thermal": np.stack([r[3] for r in rows]), "imu": np.stack([r[4] for r in rows]),
            "fbank": np.stack([r[5] for r in rows]), "fbank_ambience": np.stack([r[6] for r in rows])}


@torch.no_grad()
def embed(enc: torch.nn.Module, x: torch.Tensor, clips: int = 1) -> torch.Tensor:
    out = torch.cat([F.normalize(enc(x[i:i + 300]), dim=-1) for i in range(0, len(x), 300)])
    if clips > 1:  # ImageBind's order: each clip normalised, averaged, normalised
        out = out.view(-1, clips, out.shape[-1]).mean(1)
    return F.normalize(out, dim=-1)


def embeddings(d: dict, enc: dict) -> dict:
    audio = lambda fb: embed(enc["audio"], torch.from_numpy(fb).float().flatten(0, 1), fb.shape[1])  # noqa: E731
    return {"vision": embed(enc["vision"], images_to_tensor_fast(d["images"], VISION_PREPROCESS)),
            "audio": audio(d["fbank"]),
            "depth": embed(enc["depth"], images_to_tensor_fast(d["depth"], DEPTH_PREPROCESS)),
            "thermal": embed(enc["thermal"], images_to_tensor_fast(d["thermal"], THERMAL_PREPROCESS)),
            "imu": embed(enc["imu"], torch.from_numpy(d["imu"]).float()),
            "ambience": audio(d["fbank_ambience"])}


def arithmetic(e: dict, d: dict, wi: float, wa: float) -> tuple[torch.Tensor, dict]:
    combined = F.normalize(wi * e["vision"] + wa * e["ambience"], dim=-1)
    sims = combined @ e["vision"].t()
    sims[torch.arange(len(sims)), torch.arange(len(sims))] = -2  # not the query image itself
    top = sims.argmax(1).numpy()
    hit = (d["object"][top] == d["object"]) & (d["place"][top] == d["other"])
    by_place = {p: float(hit[d["other"] == k].mean()) for k, p in enumerate(("sea", "meadow", "desert", "night"))}
    return combined, {"weights": {"image": wi, "audio": wa}, "retrievedObjectOnNewPlace": float(hit.mean()),
                      "retrievedNewPlace": float((d["place"][top] == d["other"]).mean()), "byAmbiencePlace": by_place}


def measure(d: dict, e: dict, prompts: dict, weights: dict) -> dict:
    acc = lambda pred, truth: float((np.asarray(pred) == truth).mean())  # noqa: E731
    r: dict = {"zeroShot": {}}
    for m in ("vision", "audio", "depth", "thermal", "imu", "ambience"):
        truth = d["other"] if m == "ambience" else d["place"]
        r["zeroShot"][m] = {"place": acc((e[m] @ prompts["place"].t()).argmax(1), truth)}
        if m not in ("imu", "ambience"):
            r["zeroShot"][m]["object"] = acc((e[m] @ prompts["object"].t()).argmax(1), d["object"])
    top = (e["audio"] @ e["vision"].t()).argmax(1).numpy()
    r["audioToImage"] = {"placeAndObject": float(((d["place"][top] == d["place"]) & (d["object"][top] == d["object"])).mean()),
                         "place": acc(d["place"][top], d["place"]), "object": acc(d["object"][top], d["object"])}
    r["arithmeticSweep"] = [arithmetic(e, d, round(1 - wa, 2), wa)[1] for wa in ARITHMETIC_AUDIO_WEIGHTS]
    r["arithmetic"] = arithmetic(e, d, weights["image"], weights["audio"])[1]
    return r


def generation(d: dict, e: dict, prompts: dict, img_model, count: int) -> dict:
    """eval_demo.py's generation through the prior: the pack's UNet, VAE decoder and prior
    (pack_torch.load_generation), or with --work the training checkpoints in .work/."""
    from eval_demo import EMBED_DIM, VaeDecoder, load_ae, load_prior, load_unet, sample_decoder, sample_prior
    manifest = json.loads((PACK / "manifest.json").read_text())
    dec, pri = manifest["decoder"], manifest["prior"]
    if FROM_WORK:
        unet, _ = load_unet(); ae, _ = load_ae(); prior, _ = load_prior()
        vae = VaeDecoder(ae).eval()
    else:
        models = pack_torch.load_generation(PACK)
        unet, vae, prior = models["unet"], models["vae"], models["prior"]
    tok = clip_bpe.ClipBpeTokenizer.from_files(PACK / "tokenizer/vocab.json", PACK / "tokenizer/merges.txt")
    with torch.no_grad():
        empty = TEXT(torch.from_numpy(tok.tokenize([""], 77)))[1]
    dd, pp = dec["defaults"], pri["defaults"]
    out = {}
    combined = F.normalize(WEIGHTS["image"] * e["vision"] + WEIGHTS["audio"] * e["ambience"], dim=-1)
    for name, q, want in (("audio via prior", e["audio"], d["place"]), ("arithmetic via prior", combined, d["other"])):
        g = torch.Generator().manual_seed(99)
        q = q[:count]
        imgs = []
        with torch.no_grad():
            for i in range(0, len(q), 100):
                c = q[i:i + 100]
                c = sample_prior(prior, pri, c, torch.randn(len(c), EMBED_DIM, generator=g), pp["steps"], pp["guidanceScale"], pp["scheduler"])
                noise = torch.randn(len(c), 4, 16, 16, generator=g)
                aug = torch.randn(len(c), EMBED_DIM, generator=g)
                _, im = sample_decoder(unet, vae, dec, c, empty, empty, noise, aug, dd["steps"], dd["guidanceScale"], dd["noiseLevel"], dd["scheduler"])
                imgs.append((im.numpy() * 255).round().astype(np.uint8))
            imgs = np.concatenate(imgs)
            ge = F.normalize(img_model(images_to_tensor_fast(imgs, VISION_PREPROCESS)), dim=-1)
        out[name] = {"place": float((frame_place(imgs) == want[:count]).mean()),
                     "object": float(((ge @ prompts["object"].t()).argmax(1).numpy() == d["object"][:count]).mean())}
    return out


PACK = Path(__file__).resolve().parents[1] / "demo"
TEXT = None
WEIGHTS: dict = {}
FROM_WORK = False


def main() -> None:
    global PACK, TEXT, WEIGHTS, FROM_WORK
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pack", default=str(PACK))
    ap.add_argument("--worlds", default="recipe,variant")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=2, help="eval_demo.py's (the recipe world's eval split)")
    ap.add_argument("--generate", type=int, default=0, help="images per generation case (0: none)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--work", action="store_true", help="encoders from the checkpoints in .work/ instead of the pack "
                                                      "(the arithmetic weights still from the pack's report.json)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    PACK = Path(args.pack)
    FROM_WORK = args.work
    if args.work:  # the training checkpoints in .work/ (DEMO_WORK), before any export
        from dataset import WORK
        from train_encoders import load_clip, load_encoder
        img, TEXT, _ = load_clip()
        # a modality not (yet) trained in .work/ is read from the pack
        enc = {"vision": img, **{m: load_encoder(m)[0] if (WORK / f"{m}.pt").exists() else pack_torch.load_encoder(PACK, m)
                                 for m in ("audio", "depth", "thermal", "imu")}}
        worst = None
        tok = clip_bpe.ClipBpeTokenizer.from_files(WORK / "tokenizer/vocab.json", WORK / "tokenizer/merges.txt")
    else:
        enc = {m: pack_torch.load_encoder(PACK, m) for m in pack_torch.ENCODERS}
        TEXT = pack_torch.load_text(PACK)
        worst = pack_torch.check_against_reference(PACK, enc, TEXT)
        tok = clip_bpe.ClipBpeTokenizer.from_files(PACK / "tokenizer/vocab.json", PACK / "tokenizer/merges.txt")
    prompts = class_prompts(TEXT, tok)
    WEIGHTS = json.loads((PACK / "report.json").read_text())["arithmetic"]["weights"]
    report = {"pack": str(PACK), "seed": args.seed, "scenes": args.count, "referenceMaxDiff": worst, "worlds": {}}
    for w in args.worlds.split(","):
        d = render_split(w, args.seed, args.count, args.workers)
        e = embeddings(d, enc)
        r = measure(d, e, prompts, WEIGHTS)
        if args.generate:
            r["generation"] = generation(d, e, prompts, enc["vision"], args.generate)
        report["worlds"][w] = r
        print(f"[{time.time() - t0:.0f} s] {w} done", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    print_table(report)


def print_table(r: dict) -> None:
    worlds = list(r["worlds"])
    print(f"\n{r['pack']}: {r['scenes']} scenes of seed {r['seed']} per world  (" + " | ".join(worlds) + ")")
    first = r["worlds"][worlds[0]]
    for m in first["zeroShot"]:
        for k in first["zeroShot"][m]:
            print(f"  zero-shot {m:9s} {k:7s} " + " | ".join(f"{r['worlds'][w]['zeroShot'][m][k]:6.1%}" for w in worlds))
    print("  audio->image place+object  " + " | ".join(f"{r['worlds'][w]['audioToImage']['placeAndObject']:6.1%}" for w in worlds))
    for i, row in enumerate(first["arithmeticSweep"]):
        wt = row["weights"]
        print(f"  arithmetic {wt['image']:.2f}/{wt['audio']:.2f}      " + " | ".join(f"{r['worlds'][w]['arithmeticSweep'][i]['retrievedObjectOnNewPlace']:6.1%}" for w in worlds))
    wt = first["arithmetic"]["weights"]
    print(f"  arithmetic at the pack's weights {wt['image']:.2f}/{wt['audio']:.2f}: " + " | ".join(f"{r['worlds'][w]['arithmetic']['retrievedObjectOnNewPlace']:6.1%}" for w in worlds))
    for p in first["arithmetic"]["byAmbiencePlace"]:
        print(f"    ambience of {p:7s}        " + " | ".join(f"{r['worlds'][w]['arithmetic']['byAmbiencePlace'][p]:6.1%}" for w in worlds))
    if "generation" in first:
        for case in first["generation"]:
            for k in ("place", "object"):
                print(f"  generation {case:21s} {k:7s} " + " | ".join(f"{r['worlds'][w]['generation'][case][k]:6.1%}" for w in worlds))


if __name__ == "__main__":
    main()
