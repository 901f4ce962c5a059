"""The demo world's "paper table" (shared/demo-world.md, "What the pack must show"), measured on
fresh scenes the training never saw (split seed 2; training used seed 1). Writes
models/demo/report.json and prints the table.

- emergent zero-shot: each modality's embedding classified against text prompts of the places
  and objects (prompt ensembling as CLIP does: the mean of the world's captions naming it);
  only the text encoder ever saw text.
- retrieval audio -> image: top-1 image among all fresh scenes has the same place and object.
- arithmetic: image(O on A) + audio(ambience of B): retrieved top-1 has O on B; generated
  image shows place B (from its 6-pixel frame).
- generation from audio alone (direct and through the prior) and from text through the prior:
  place from the frame, object by zero-shot classification with the image tower.

Usage: python3 eval_demo.py [--pack ../demo] [--count 600]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time
import zlib
from pathlib import Path

# This process runs on both cores (torch.set_num_threads in main), the matrix products too:
# Debian's numpy and torch do them in OpenBLAS, which reads its thread count once, when it is
# loaded, so it is set here, before they are imported (build_demo_pack.sh holds its training
# processes to one thread each).
EVAL_THREADS = 2
os.environ["OPENBLAS_NUM_THREADS"] = str(EVAL_THREADS)

import numpy as np
import torch
import torch.nn.functional as F

import clip_bpe
import world
from dataset import build_split
from models_demo import EMBED_DIM, VaeDecoder
from preprocess import AUDIO_PREPROCESS, VISION_PREPROCESS, audio_to_clips, images_to_tensor_fast
from sampling import sample_decoder, sample_prior
from train_decoder import load_ae, load_unet
from train_encoders import embed_images, embed_modality, load_clip, load_encoder
from train_prior import load_prior

EVAL_SEED = 2
VALIDATION_SEED = 3  # the split the arithmetic weights are chosen on
ARITHMETIC_AUDIO_WEIGHTS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)  # the image gets 1 - w


def frame_place(images: np.ndarray) -> np.ndarray:
    """Place index from the 6-pixel frame: the median frame colour's nearest place colour."""
    n = world.IMAGE_SIZE
    mask = np.ones((n, n), dtype=bool)
    mask[world.FRAME:n - world.FRAME, world.FRAME:n - world.FRAME] = False
    med = np.median(images[:, mask, :], axis=1)  # [N, 3]
    ref = np.array([world.PLACE_RGB[p] for p in world.PLACES], dtype=np.float64)
    return np.argmin(((med[:, None, :] - ref[None]) ** 2).sum(-1), axis=1)


@torch.no_grad()
def class_prompts(txt_model, tok: clip_bpe.ClipBpeTokenizer) -> dict[str, torch.Tensor]:
    """Unit class embeddings [classes, D] for places and objects: the mean of the embeddings of
    every caption of the world that names the class (CLIP's prompt ensembling)."""
    out = {}
    for key, classes in (("place", world.PLACES), ("object", world.OBJECTS)):
        rows = []
        for c in classes:
            texts = []
            for p, o, col, s in itertools.product(world.PLACES, world.OBJECTS, world.COLOURS, world.SIZES):
                if (key == "place" and p == c) or (key == "object" and o == c):
                    scene = world.Scene(p, o, col, s, 10, 32, 32, 0)
                    texts += [scene.caption(v) for v in range(5)]
            e = F.normalize(txt_model(torch.from_numpy(tok.tokenize(texts, 77)))[0], dim=-1).mean(0)
            rows.append(F.normalize(e, dim=0))
        out[key] = torch.stack(rows)
    return out


def accuracy(pred: torch.Tensor | np.ndarray, truth: np.ndarray) -> float:
    return float((np.asarray(pred) == truth).mean())


def arithmetic_case(data: dict, vision: torch.Tensor, audio_enc: torch.nn.Module, seed: int) -> tuple:
    """For scene i (object O on place A): the ambience alone of a fresh scene of another place B."""
    rng = np.random.default_rng([seed, 5])
    other = np.array([(p + rng.integers(1, 4)) % 4 for p in data["place"]])
    amb = []
    for i, b in enumerate(other):
        scene = world.make_scene(np.random.default_rng([seed, 10_000 + i]), place=world.PLACES[b])
        wav = torch.from_numpy(world.render_sound(scene, with_calls=False)).unsqueeze(0)
        clips = audio_to_clips(wav, world.SAMPLE_RATE, AUDIO_PREPROCESS)
        with torch.no_grad():
            amb.append(F.normalize(audio_enc(clips), dim=-1).mean(0))
    return vision, F.normalize(torch.stack(amb), dim=-1), other, data["place"], data["object"]


def arithmetic_retrieval(vision: torch.Tensor, amb: torch.Tensor, other: np.ndarray, place: np.ndarray, obj: np.ndarray,
                         wi: float, wa: float) -> tuple[torch.Tensor, dict]:
    """Each input unit-normalised, weighted, summed, normalised; top-1 among the split's other images."""
    combined = F.normalize(wi * vision + wa * amb, dim=-1)
    sims = combined @ vision.t()
    sims[torch.arange(len(sims)), torch.arange(len(sims))] = -2  # not the query image itself
    top = sims.argmax(1).numpy()
    return combined, {"weights": {"image": round(wi, 2), "audio": round(wa, 2)},
                      "retrievedObjectOnNewPlace": float(((obj[top] == obj) & (place[top] == other)).mean()),
                      "retrievedNewPlace": accuracy(place[top], other), "retrievedObject": accuracy(obj[top], obj)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=str(Path(__file__).resolve().parents[1] / "demo"))
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--generate", type=int, default=500, help="scenes to generate images for")
    ap.add_argument("--all-cases", action="store_true",
                    help="also the decoder-only cases and vision reconstruction (4 more generation runs, "
                         "about 5 minutes); by default only the cases the paper table needs")
    args = ap.parse_args()
    torch.set_num_threads(EVAL_THREADS)
    t0 = time.time()
    pack = Path(args.pack)
    manifest = json.loads((pack / "manifest.json").read_text())
    dec, pri = manifest["decoder"], manifest["prior"]
    data = build_split("eval", EVAL_SEED, args.count)
    place, obj = data["place"], data["object"]
    img_model, txt_model, _ = load_clip()
    tok = clip_bpe.ClipBpeTokenizer.from_files(pack / "tokenizer/vocab.json", pack / "tokenizer/merges.txt")
    prompts = class_prompts(txt_model, tok)
    emb = {"vision": F.normalize(embed_images(img_model, data["images"]), dim=-1)}
    for m in ("audio", "depth", "thermal", "imu"):
        emb[m] = embed_modality(data, m, load_encoder(m)[0])
    report: dict = {"scenes": args.count, "evalSeed": EVAL_SEED, "zeroShot": {}, "retrieval": {}, "arithmetic": {}, "generation": {}}

    # 1. emergent zero-shot classification against text prompts
    for m, e in emb.items():
        report["zeroShot"][m] = {"place": accuracy((e @ prompts["place"].t()).argmax(1), place)}
        if m != "imu":  # IMU records the wearer's motion: it carries the place only
            report["zeroShot"][m]["object"] = accuracy((e @ prompts["object"].t()).argmax(1), obj)

    # 2. retrieval audio -> image
    top = (emb["audio"] @ emb["vision"].t()).argmax(1).numpy()
    report["retrieval"]["audioToImage"] = {"placeAndObject": float(((place[top] == place) & (obj[top] == obj)).mean()),
                                           "place": accuracy(place[top], place), "object": accuracy(obj[top], obj)}

    # 3. arithmetic: image(O on A) + audio(ambience of B). The weights are the user's to choose
    # (a request gives them): they are chosen on a validation split of their own (seed
    # VALIDATION_SEED), then measured on the eval scenes; the eval sweep is reported beside them.
    audio_enc = load_encoder("audio")[0]
    val = build_split("validation", VALIDATION_SEED, 300)
    val_vision = F.normalize(embed_images(img_model, val["images"]), dim=-1)
    val_case = arithmetic_case(val, val_vision, audio_enc, VALIDATION_SEED)
    val_sweep = [arithmetic_retrieval(*val_case, 1 - wa, wa)[1] for wa in ARITHMETIC_AUDIO_WEIGHTS]
    best = max(val_sweep, key=lambda r: r["retrievedObjectOnNewPlace"])["weights"]
    case = arithmetic_case(data, emb["vision"], audio_enc, EVAL_SEED)
    other = case[2]
    report["arithmetic"]["weightSweep"] = [arithmetic_retrieval(*case, 1 - wa, wa)[1] for wa in ARITHMETIC_AUDIO_WEIGHTS]
    report["arithmetic"]["validationSweep"] = val_sweep
    combined, chosen = arithmetic_retrieval(*case, best["image"], best["audio"])
    report["arithmetic"].update(chosen)

    # 4. generation
    unet, _ = load_unet()
    ae, _ = load_ae()
    vae = VaeDecoder(ae).eval()
    prior, _ = load_prior()
    d = dec["defaults"]
    p = pri["defaults"]
    with torch.no_grad():
        empty = txt_model(torch.from_numpy(tok.tokenize([""], 77)))[1]
    n = min(args.generate, args.count)

    def case_generator(name: str) -> torch.Generator:
        """Each case draws its noise from a generator of its own, so a case gives the same
        images whichever other cases run (--all-cases or not)."""
        return torch.Generator().manual_seed(99 + zlib.crc32(name.encode()))

    def generate(e: torch.Tensor, g: torch.Generator) -> np.ndarray:
        out = []
        for i in range(0, len(e), 100):
            chunk = e[i:i + 100]
            noise = torch.randn(len(chunk), 4, 16, 16, generator=g)
            aug = torch.randn(len(chunk), EMBED_DIM, generator=g)
            _, images = sample_decoder(unet, vae, dec, chunk, empty, empty, noise, aug, d["steps"], d["guidanceScale"], d["noiseLevel"], d["scheduler"])
            out.append((images.numpy() * 255).round().astype(np.uint8))
        return np.concatenate(out)

    def through_prior(e: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        noise = torch.randn(len(e), EMBED_DIM, generator=g)
        return sample_prior(prior, pri, e, noise, p["steps"], p["guidanceScale"], p["scheduler"])

    def judge(images: np.ndarray, want_place: np.ndarray, want_obj: np.ndarray | None) -> dict:
        res = {"place": accuracy(frame_place(images), want_place)}
        if want_obj is not None:
            with torch.no_grad():
                ge = F.normalize(img_model(images_to_tensor_fast(images, VISION_PREPROCESS)), dim=-1)
            res["object"] = accuracy((ge @ prompts["object"].t()).argmax(1), want_obj)
        return res

    with torch.no_grad():
        text = F.normalize(txt_model(torch.from_numpy(tok.tokenize([world.Scene(**s).caption() for s in data["scenes"][:n]], 77)))[0], dim=-1)
    # (name, query embeddings, through the prior?, the place to draw, where the result goes)
    generation, arithmetic = report["generation"], report["arithmetic"]
    cases = [
        ("vision (reconstruction)", emb["vision"][:n], False, place[:n], generation, "vision (reconstruction)"),
        ("audio direct", emb["audio"][:n], False, place[:n], generation, "audio direct"),
        ("audio via prior", emb["audio"][:n], True, place[:n], generation, "audio via prior"),
        ("text via prior", text, True, place[:n], generation, "text via prior"),
        ("text direct", text, False, place[:n], generation, "text direct"),
        ("arithmetic direct", combined[:n], False, other[:n], arithmetic, "generated (arithmetic direct)"),
        ("arithmetic via prior", combined[:n], True, other[:n], arithmetic, "generated (arithmetic via prior)"),
    ]
    samples = {}
    for name, e, use_prior, want_place, slot, key in cases:
        if not (use_prior or args.all_cases):
            continue
        g = case_generator(name)
        images = generate(through_prior(e, g) if use_prior else e, g)
        slot[key] = judge(images, want_place, obj[:n])
        samples[name] = images[:16]
        print(f"  generation {name}: {slot[key]} ({time.time() - t0:.0f} s)", flush=True)
    report["generationSettings"] = {"decoder": d, "prior": p, "images": n}
    report["seconds"] = round(time.time() - t0)
    (pack / "report.json").write_text(json.dumps(report, indent=1))
    # a contact sheet of the first generated images of each case, for people
    from PIL import Image
    sheet = np.concatenate([np.concatenate(list(v), axis=1) for v in samples.values()], axis=0)
    Image.fromarray(sheet).save(pack / "report-samples.png")
    print_table(report)


def print_table(r: dict) -> None:
    print(f"\nDemo pack report ({r['scenes']} fresh scenes, seed {r['evalSeed']})")
    print("zero-shot vs text prompts      place    object")
    for m, v in r["zeroShot"].items():
        print(f"  {m:28s} {v['place']:6.1%}   {v.get('object', float('nan')):6.1%}")
    a = r["retrieval"]["audioToImage"]
    print(f"retrieval audio -> image top-1: place+object {a['placeAndObject']:.1%} (place {a['place']:.1%}, object {a['object']:.1%})")
    ar = r["arithmetic"]
    for row in ar["weightSweep"]:
        w = row["weights"]
        print(f"arithmetic {w['image']:.2f} image(O on A) + {w['audio']:.2f} audio(ambience of B): retrieved O on B {row['retrievedObjectOnNewPlace']:.1%}")
    w = ar["weights"]
    print(f"  weights chosen on the validation split: {w['image']:.2f} / {w['audio']:.2f}: retrieved O on B {ar['retrievedObjectOnNewPlace']:.1%}")
    for k, v in ar.items():
        if k.startswith("generated"):
            print(f"  {k}: place B {v['place']:.1%}, object O {v['object']:.1%}")
    print("generation                      place    object")
    for k, v in r["generation"].items():
        print(f"  {k:28s} {v['place']:6.1%}   {v['object']:6.1%}")


if __name__ == "__main__":
    main()
