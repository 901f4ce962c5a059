"""Builds a split of the demo world as arrays (cached under models/recipes/.work/)."""
from __future__ import annotations

import json
import multiprocessing
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


# Augmented recordings (augment.py) of the training split, in <name>.aug.npz, written after
# <name>.npz (the other training process of build_demo_pack.sh needs only that one and starts as
# soon as it is there): one degraded re-mix of every scene (fbank_aug, one 2 s clip of its
# three), a degraded ambience-only recording of every AMBIENCE_AUG_EVERY-th scene
# (fbank_ambience_aug, one clip), and every scene's depth with its background re-drawn (depth_aug).
AMBIENCE_AUG_EVERY = 2
# The data stage renders on both cores: the other training process waits for the split
# (build_demo_pack.sh; its autoencoder trains beside the augmented recordings). Any count of
# workers gives the same arrays.
DATA_WORKERS = 2


def _clips(x: np.ndarray) -> np.ndarray:
    return audio_to_clips(torch.from_numpy(x).unsqueeze(0), world.SAMPLE_RATE).numpy().astype(np.float16)


def _scene_audio(task: tuple) -> tuple:
    """The recipe's recordings of one scene: its sound, and its ambience alone (AMBIENCE_EVERY)."""
    i, scene = task
    return _clips(world.render_sound(scene)), _clips(world.render_sound(scene, with_calls=False)) if i % AMBIENCE_EVERY == 0 else None


def _scene_augmented(task: tuple) -> tuple:
    """The augmented recordings of one scene, from its own seeded generator (any worker, same result)."""
    import augment  # torchaudio resampling; only the training split needs it
    seed, i, scene = task
    rng = np.random.default_rng([seed, i, 7])
    sound = _clips(augment.augmented_sound(scene, rng))[int(rng.integers(3))]
    ambience = _clips(augment.augmented_ambience(scene, rng))[int(rng.integers(3))] if i % AMBIENCE_AUG_EVERY == 0 else None
    return sound, ambience, augment.randomised_depth(scene, np.random.default_rng([seed, i, 8]))


def _init_worker() -> None:
    torch.set_num_threads(1)


def _pool_map(fn, tasks: list, workers: int = DATA_WORKERS) -> list:
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        return pool.map(fn, tasks, chunksize=25)


def build_split(name: str, seed: int, count: int, force: bool = False, augmented: bool = False) -> dict:
    """Scenes of one split: images, depth, thermal, IMU, audio fbank clips, labels, captions,
    and fbank_ambience: the ambience-only recording of scenes 0, AMBIENCE_EVERY, 2*AMBIENCE_EVERY...
    With `augmented` (training): also fbank_aug, fbank_ambience_aug and depth_aug (see above).
    Seeds: scene i of a split draws from default_rng([seed, i]); its augmentation from
    default_rng([seed, i, 7]) and ([seed, i, 8])."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"{name}.npz"
    if path.exists() and not force:
        data = dict(np.load(path, allow_pickle=False))
        data["scenes"] = json.loads((WORK / f"{name}.scenes.json").read_text())
    else:
        t0 = time.time()
        scenes = [world.make_scene(np.random.default_rng([seed, i])) for i in range(count)]
        images = np.stack([world.render_image(s) for s in scenes])
        depth = np.stack([world.render_depth(s) for s in scenes])
        thermal = np.stack([world.render_thermal(s) for s in scenes])
        imu = np.stack([world.render_imu(s) for s in scenes])
        audio = _pool_map(_scene_audio, list(enumerate(scenes)))
        fbank = np.stack([a[0] for a in audio])
        fbank_ambience = np.stack([a[1] for a in audio if a[1] is not None])
        labels = {k: np.array([s.labels()[k] for s in scenes], dtype=np.int64) for k in ("place", "object", "colour", "size")}
        data = {"images": images, "depth": depth, "thermal": thermal, "imu": imu, "fbank": fbank, "fbank_ambience": fbank_ambience, **labels}
        np.savez(path, **data)
        (WORK / f"{name}.scenes.json").write_text(json.dumps([s.to_json() for s in scenes]))
        data["scenes"] = [s.to_json() for s in scenes]
        print(f"built split {name}: {count} scenes in {time.time() - t0:.0f} s", flush=True)
    if augmented:
        data.update(build_augmented(name, seed, data["scenes"], force))
    return data


def build_augmented(name: str, seed: int, scenes: list[dict], force: bool = False) -> dict:
    path = WORK / f"{name}.aug.npz"
    if path.exists() and not force:
        return dict(np.load(path, allow_pickle=False))
    t0 = time.time()
    rows = _pool_map(_scene_augmented, [(seed, i, scene_from_json(s)) for i, s in enumerate(scenes)])
    aug = {"fbank_aug": np.stack([r[0] for r in rows]), "fbank_ambience_aug": np.stack([r[1] for r in rows if r[1] is not None]),
           "depth_aug": np.stack([r[2] for r in rows])}
    np.savez(path, **aug)
    print(f"built augmented recordings of {name}: {len(scenes)} scenes in {time.time() - t0:.0f} s", flush=True)
    return aug


def scene_from_json(d: dict) -> world.Scene:
    return world.Scene(**d)
