"""Writes recordings of the demo world (shared/demo-world.md) whose scene changes part-way, for
measuring a video that follows a sound (issue #19: test/quality/sound-to-video.ts): for every
ordered pair of places (A, B), A != B, one recording that sounds like a scene of A (its ambience
and its object's calls) until --change seconds, then like a scene of B; plus, with --steady, one
recording per place that never changes (the flicker of a steady sound). A build tool: numpy +
scipy only (Debian python3-numpy python3-scipy), no torch.

Scenes are held out as in world_scenes.py: recording i draws its two scenes from
default_rng([seed, 20_000 + i]) (seed 4 by default; the pack saw seeds 1, 2, 3 and 777). The two
halves are rendered separately (world.render_sound, each peak-normalised) and joined at the
change; each scene keeps a random object, so the object's call changes too in 4 of 5 recordings.

In the output folder: change-NN.wav (16 kHz mono 16-bit), steady-NN.wav, and index.json:
{ seconds, changeSec, recordings: [{ name, file, changeSec | null, before: {place, object,
colour, size}, after: {...} }] }.

Usage: python3 world_changes.py --out DIR [--seconds 12] [--change 6] [--seed 4] [--steady]
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

import world
from world_scenes import USED_SEEDS, write_wav

DEFAULT_SEED = 4


def scene_json(scene: world.Scene) -> dict:
    return {"place": scene.place, "object": scene.object, "colour": scene.colour, "size": scene.size}


def write_recordings(out: Path, seconds: float, change: float, seed: int, steady: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    pairs = [(a, b) for a, b in itertools.product(world.PLACES, world.PLACES) if a != b]
    for i, (a, b) in enumerate(pairs):
        rng = np.random.default_rng([seed, 20_000 + i])
        before, after = world.make_scene(rng, place=a), world.make_scene(rng, place=b)
        x = np.concatenate([world.render_sound(before, change), world.render_sound(after, seconds - change)])
        name = f"change-{i:02d}"
        write_wav(out / f"{name}.wav", x)
        rows.append({"name": name, "file": f"{name}.wav", "changeSec": change, "before": scene_json(before), "after": scene_json(after)})
    if steady:
        for i, place in enumerate(world.PLACES):
            scene = world.make_scene(np.random.default_rng([seed, 30_000 + i]), place=place)
            name = f"steady-{i:02d}"
            write_wav(out / f"{name}.wav", world.render_sound(scene, seconds))
            rows.append({"name": name, "file": f"{name}.wav", "changeSec": None, "before": scene_json(scene), "after": scene_json(scene)})
    index = {"world": "shared/demo-world.md", "seed": seed, "seconds": seconds, "changeSec": change,
             "placeRgb": world.PLACE_RGB, "frame": world.FRAME, "recordings": rows}
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder to write (created if missing)")
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--change", type=float, default=6.0, help="when the scene changes (s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--steady", action="store_true", help="also one recording per place that never changes")
    args = ap.parse_args()
    if not 0 < args.change < args.seconds:
        ap.error(f"Expected --change inside (0, --seconds) but received {args.change} of {args.seconds}")
    if args.seed in USED_SEEDS:
        ap.error(f"Expected a seed the pack never saw for --seed but received {args.seed}: the {USED_SEEDS[args.seed]} seed")
    index = write_recordings(Path(args.out), args.seconds, args.change, args.seed, args.steady)
    print(f"wrote {len(index['recordings'])} recordings of {args.seconds} s (seed {args.seed}) to {args.out}")


if __name__ == "__main__":
    main()
