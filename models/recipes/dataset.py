"""Builds a split of the demo world as arrays (cached under models/recipes/.work/)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

import world
from preprocess import AUDIO_PREPROCESS, audio_to_clips

WORK = Path(os.environ.get("DEMO_WORK", Path(__file__).resolve().parent / ".work"))


# Every AMBIENCE_EVERY-th scene also gets a recording in which its object stayed silent: the
# place's ambience alone. Natural pairs like these (a scene whose object made no sound during
# the clip) teach the audio encoder that ambience says where, not what; without them an
# ambience-only sound lands on whichever object the encoder guesses, and embedding arithmetic
# (image of O on A + ambience of B) drifts towards that object.
AMBIENCE_EVERY = 4


def build_split(name: str, seed: int, count: int, force: bool = False) -> dict:
    """Scenes of one split: images, depth, thermal, IMU, audio fbank clips, labels, captions,
    and fbank_ambience: the ambience-only recording of scenes 0, AMBIENCE_EVERY, 2*AMBIENCE_EVERY...
    Seeds: scene i of a split draws from default_rng([seed, i])."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"{name}.npz"
    if path.exists() and not force:
        data = dict(np.load(path, allow_pickle=False))
        data["scenes"] = json.loads((WORK / f"{name}.scenes.json").read_text())
        return data
    t0 = time.time()
    scenes = [world.make_scene(np.random.default_rng([seed, i])) for i in range(count)]
    images = np.stack([world.render_image(s) for s in scenes])
    depth = np.stack([world.render_depth(s) for s in scenes])
    thermal = np.stack([world.render_thermal(s) for s in scenes])
    imu = np.stack([world.render_imu(s) for s in scenes])
    fbank = np.zeros((count, AUDIO_PREPROCESS["clipsPerInput"], 1, AUDIO_PREPROCESS["fbank"]["numMelBins"], AUDIO_PREPROCESS["targetLength"]), dtype=np.float16)
    for i, s in enumerate(scenes):
        wav = torch.from_numpy(world.render_sound(s)).unsqueeze(0)
        fbank[i] = audio_to_clips(wav, world.SAMPLE_RATE).numpy().astype(np.float16)
    ambience = scenes[::AMBIENCE_EVERY]
    fbank_ambience = np.zeros((len(ambience), *fbank.shape[1:]), dtype=np.float16)
    for i, s in enumerate(ambience):
        wav = torch.from_numpy(world.render_sound(s, with_calls=False)).unsqueeze(0)
        fbank_ambience[i] = audio_to_clips(wav, world.SAMPLE_RATE).numpy().astype(np.float16)
    labels = {k: np.array([s.labels()[k] for s in scenes], dtype=np.int64) for k in ("place", "object", "colour", "size")}
    data = {"images": images, "depth": depth, "thermal": thermal, "imu": imu, "fbank": fbank, "fbank_ambience": fbank_ambience, **labels}
    np.savez(path, **data)
    (WORK / f"{name}.scenes.json").write_text(json.dumps([s.to_json() for s in scenes]))
    data["scenes"] = [s.to_json() for s in scenes]
    print(f"built split {name}: {count} scenes in {time.time() - t0:.0f} s", flush=True)
    return data


def scene_from_json(d: dict) -> world.Scene:
    return world.Scene(**d)
