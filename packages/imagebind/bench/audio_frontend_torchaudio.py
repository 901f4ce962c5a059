"""torchaudio side of bench/audio-frontend.bench.ts: the same work on the same WAV file.

    /usr/bin/python3 packages/imagebind/bench/audio_frontend_torchaudio.py --wav FILE [--runs 15] [--threads 1]

Times torchaudio.load, torchaudio.functional.resample (every channel, as ImageBind does) and
ImageBind's clip + fbank transform (models/recipes/reference_audio.py, written after
ImageBind's data.py), and prints one JSON line: median milliseconds of each stage and of the
whole over --runs runs after two warm-up runs, and every run's times.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torchaudio

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "models" / "recipes"))
import reference_audio as reference  # noqa: E402  (the reference transform, one copy of it)


def once(path: str, p: dict) -> dict:
    t0 = time.perf_counter()
    waveform, sr = torchaudio.load(path)
    t1 = time.perf_counter()
    waveform = reference.resample(waveform, sr, p["sampleRate"], p["resample"])
    t2 = time.perf_counter()
    rate = p["sampleRate"]
    spans = reference.clip_timepoints(waveform.size(1) / rate, p["clipDuration"], p["clipsPerInput"])
    clips = [reference.waveform_to_melspec(waveform[:, int(s * rate): int(e * rate)], rate, p) for s, e in spans]
    mean, std = p["normalize"]["mean"], p["normalize"]["std"]
    out = torch.stack([(c - mean) / std for c in clips], dim=0)
    t3 = time.perf_counter()
    assert out.shape == (p["clipsPerInput"], 1, p["fbank"]["numMelBins"], p["targetLength"])
    return {"decode": (t1 - t0) * 1e3, "resample": (t2 - t1) * 1e3, "fbank": (t3 - t2) * 1e3, "total": (t3 - t0) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wav", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (Node runs on one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    p = reference.IMAGEBIND_AUDIO
    with torch.no_grad():
        for _ in range(2):
            once(args.wav, p)
        runs = [once(args.wav, p) for _ in range(args.runs)]
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(json.dumps({"torch": torch.__version__, "torchaudio": torchaudio.__version__,
                      "threads": args.threads, "runs": args.runs, "medianMs": medians,
                      "runsMs": runs}))


if __name__ == "__main__":
    main()
