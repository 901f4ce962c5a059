"""Writes held-out scenes of the demo world (shared/demo-world.md) as files, for measuring the
server's search through its HTTP API (test/quality/demo-world-search.ts). A build tool: numpy +
scipy only (Debian python3-numpy python3-scipy), no torch, no PIL.

Seeds: scene i draws from default_rng([seed, i]) as dataset.build_split does. The pack's
training used seed 1 (train_demo.py TRAIN_SEED), its evaluation seed 2 and the split the
arithmetic weights were chosen on seed 3 (eval_demo.py EVAL_SEED, VALIDATION_SEED); the
samples seed 777 (export_demo.py). The default, 4, is none of them.

Arithmetic (eval_demo.arithmetic_case, mirrored): for scene i (object O on place A), place
B = (A + rng.integers(1, 4)) % 4 with one rng default_rng([seed, 5]) drawn in scene order, and
the ambience alone (render_sound with_calls=False) of a fresh scene of place B drawn from
default_rng([seed, 10_000 + i]).

Per scene, in the output folder:
  scene-NNNN.png           the 64x64 RGB image
  scene-NNNN.wav           its sound (16 kHz mono 16-bit)
  scene-NNNN.depth.png     depth (8-bit grey)
  scene-NNNN.thermal.png   thermal (8-bit grey)
  scene-NNNN.txt           its caption (variant 0: "a large red star in the sea")
  scene-NNNN.ambience.wav  the ambience alone of place B (the arithmetic query's audio)
and index.json: the scenes (place, object, colour, size, caption, ambiencePlace, files), the
zero-shot labels (one caption per place and per object) and the prompt ensembles eval_demo.py
classifies with (every caption of the world naming the class, all five variants).

--world variant renders the scenes with world_variant.py (an independent reading of the same
page, never trained on) instead of world.py; index.json records which ("generator").

Usage: python3 world_scenes.py --out DIR [--count 600] [--seed 4] [--world recipe|variant]
"""
from __future__ import annotations

import argparse
import itertools
import json
import struct
import wave
import zlib
from pathlib import Path

import importlib

import numpy as np

import world

# --world: the generator module that renders the scenes (same API)
GENERATORS = {"recipe": "world", "variant": "world_variant"}

DEFAULT_SEED = 4
# seeds the pack was trained, evaluated, tuned or sampled on: refused, they are not held out
USED_SEEDS = {1: "training (train_demo.py)", 2: "evaluation (eval_demo.py)", 3: "arithmetic weight choice (eval_demo.py)", 777: "samples (export_demo.py)"}
CAPTION_VARIANTS = 5  # world.Scene.caption variants 0..4
# zero-shot labels, one caption per class: the place phrases of the world's captions, and the
# object as a caption names it without size or colour
PLACE_LABELS = {p: world.PLACE_PHRASE[p] for p in world.PLACES}
OBJECT_LABELS = {o: f"a {o}" for o in world.OBJECTS}


def write_png(path: Path, pixels: np.ndarray) -> None:
    """uint8 [H, W] (grey) or [H, W, 3] (RGB) as a PNG, filter 0 on every row."""
    if pixels.dtype != np.uint8:
        raise TypeError(f"Expected uint8 pixels for {path} but received {pixels.dtype}")
    h, w = pixels.shape[:2]
    colour_type = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_wav(path: Path, x: np.ndarray, rate: int = world.SAMPLE_RATE) -> None:
    """Mono 16-bit PCM, as export_demo.write_wav writes the samples."""
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def class_prompts() -> dict:
    """eval_demo.class_prompts' texts: for each place and object, every caption naming it."""
    out: dict = {"place": {}, "object": {}}
    for key, classes in (("place", world.PLACES), ("object", world.OBJECTS)):
        for c in classes:
            texts = []
            for p, o, col, s in itertools.product(world.PLACES, world.OBJECTS, world.COLOURS, world.SIZES):
                if (key == "place" and p == c) or (key == "object" and o == c):
                    scene = world.Scene(p, o, col, s, 10, 32, 32, 0)
                    texts += [scene.caption(v) for v in range(CAPTION_VARIANTS)]
            out[key][c] = texts
    return out


def write_scenes(out: Path, count: int, seed: int, generator: str = "recipe") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    gen = importlib.import_module(GENERATORS[generator])
    scenes = [gen.make_scene(np.random.default_rng([seed, i])) for i in range(count)]
    # eval_demo.arithmetic_case: one rng for every scene's other place, in scene order
    other_rng = np.random.default_rng([seed, 5])
    rows = []
    for i, scene in enumerate(scenes):
        a = world.PLACES.index(scene.place)
        b = world.PLACES[(a + int(other_rng.integers(1, 4))) % 4]
        ambience_scene = gen.make_scene(np.random.default_rng([seed, 10_000 + i]), place=b)
        name = f"scene-{i:04d}"
        files = {
            "image": f"{name}.png",
            "sound": f"{name}.wav",
            "depth": f"{name}.depth.png",
            "thermal": f"{name}.thermal.png",
            "caption": f"{name}.txt",
            "ambience": f"{name}.ambience.wav",
        }
        write_png(out / files["image"], gen.render_image(scene))
        write_wav(out / files["sound"], gen.render_sound(scene))
        write_png(out / files["depth"], gen.render_depth(scene))
        write_png(out / files["thermal"], gen.render_thermal(scene))
        caption = scene.caption()
        (out / files["caption"]).write_text(caption + "\n")
        write_wav(out / files["ambience"], gen.render_sound(ambience_scene, with_calls=False))
        rows.append({"index": i, "name": name, "place": scene.place, "object": scene.object, "colour": scene.colour,
                     "size": scene.size, "caption": caption, "ambiencePlace": b, "files": files})
    index = {
        "world": "shared/demo-world.md",
        "generator": generator,
        "seed": seed,
        "count": count,
        "places": world.PLACES,
        "objects": world.OBJECTS,
        "labels": {"place": PLACE_LABELS, "object": OBJECT_LABELS},
        "prompts": class_prompts(),
        "scenes": rows,
    }
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder to write (created if missing)")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--world", choices=sorted(GENERATORS), default="recipe",
                    help="recipe: world.py (the pack's training world); variant: world_variant.py")
    args = ap.parse_args()
    if args.count < 1:
        ap.error(f"Expected a positive integer for --count but received {args.count}")
    if args.seed in USED_SEEDS:
        ap.error(f"Expected a seed the pack never saw for --seed but received {args.seed}: the {USED_SEEDS[args.seed]} seed")
    write_scenes(Path(args.out), args.count, args.seed, args.world)
    print(f"wrote {args.count} scenes (seed {args.seed}, {args.world} world) to {args.out}")


if __name__ == "__main__":
    main()
