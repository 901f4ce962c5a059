"""Reference tensors for the TypeScript audio front end (@a2i/imagebind, src/audio).

The transform is ImageBind's `load_and_transform_audio_data` (facebookresearch/ImageBind,
imagebind/data.py), rewritten here with its constants passed in and with the two pieces it
takes from elsewhere written after their sources:

  * clip sampling: pytorchvideo's ConstantClipsPerVideoSampler
    (pytorchvideo/data/clip_sampling.py): max_start = Fraction(max(duration - clip, 0)),
    step = max_start / max(clips_per_video - 1, 1) (pytorchvideo 28fe037, which ImageBind
    pins), start_k = k * step,
    end_k = start_k + clip, all in exact Fractions; data.py slices
    waveform[:, int(start * sr) : int(end * sr)] (a view, clamped at the end of the array);
  * per clip, `waveform2melspec`: `waveform -= waveform.mean()` IN PLACE on that view (the
    mean over every channel of the clip; overlapping later clips see the subtraction),
    torchaudio.compliance.kaldi.fbank (channel 0, htk_compat, hanning, dither 0, ...),
    transpose to [mel, frames], zero-pad at the end or crop to target_length, then
    transforms.Normalize(mean, std).

Resampling is torchaudio.functional.resample (torchaudio 0.13: "sinc_interpolation" is the
Hann window, later renamed "sinc_interp_hann"; "kaiser_window" is "sinc_interp_kaiser").

Two runs (Debian's torch 1.13 / torchaudio 0.13.1: use /usr/bin/python3):

    /usr/bin/python3 models/recipes/reference_audio.py
        Makes its own seeded inputs (quantised to 16 bits, so the float32 .npy and the 16-bit
        WAV hold the same samples), saves them under models/demo/reference/audio/inputs/,
        and writes the resampled waveforms, kaldi fbanks (several option sets) and the whole
        ImageBind audio transform (ImageBind-huge's constants) next to index.json.
    /usr/bin/python3 models/recipes/reference_audio.py \
            --real-samples ../shared/real-samples --out .cache/reference/real-samples/audio
        The same transform on the real recordings (*.wav, loaded with torchaudio.load),
        written OUTSIDE the repository (CC BY-NC: never committed). Each recording gives
        <name>.input.npy (float32 [C, N] as torchaudio.load returns it), <name>.resampled.npy
        and <name>.imagebind.npy, plus index.json.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torchaudio
from scipy.io import wavfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preprocess import kaldi_fbank_kwargs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO_OUT = ROOT / "models" / "demo" / "reference" / "audio"
SEED = 20240607

# ImageBind-huge's audio constants: data.py load_and_transform_audio_data defaults and
# waveform2melspec's fbank call. Written in the manifest's `encoders.audio.preprocess` form.
IMAGEBIND_AUDIO = {
    "type": "audio",
    "sampleRate": 16000,
    "channel": 0,
    "resample": {"method": "sinc_interp_hann", "lowpassFilterWidth": 6, "rolloff": 0.99},
    "clipDuration": 2.0,
    "clipsPerInput": 3,
    "subtractMean": True,
    "fbank": {
        "numMelBins": 128, "frameLengthMs": 25, "frameShiftMs": 10, "windowType": "hanning",
        "dither": 0, "preemphasisCoefficient": 0.97, "removeDcOffset": True,
        "roundToPowerOfTwo": True, "lowFreq": 20, "highFreq": 0, "usePower": True,
        "useLogFbank": True, "useEnergy": False, "htkCompat": True, "snipEdges": True,
        "melScale": "htk",
    },
    "targetLength": 204,
    "normalize": {"mean": -4.268, "std": 9.138},
}

# manifest method name -> torchaudio 0.13 name
TORCHAUDIO_METHOD = {"sinc_interp_hann": "sinc_interpolation", "sinc_interp_kaiser": "kaiser_window"}


# ---------------------------------------------------------------- the reference transform
def resample(waveform: torch.Tensor, orig: int, new: int, opts: dict) -> torch.Tensor:
    if orig == new:
        return waveform
    return torchaudio.functional.resample(
        waveform, orig_freq=orig, new_freq=new,
        lowpass_filter_width=opts["lowpassFilterWidth"], rolloff=opts["rolloff"],
        resampling_method=TORCHAUDIO_METHOD[opts["method"]], beta=opts.get("beta"),
    )


def clip_timepoints(duration: float, clip_duration: float, clips: int) -> list[tuple[Fraction, Fraction]]:
    """pytorchvideo ConstantClipsPerVideoSampler, driven like data.py get_clip_timepoints."""
    clip = Fraction(clip_duration)
    # `float - Fraction` is a float in Python, so the difference is rounded like a double.
    max_start = Fraction(max(duration - clip, 0))
    step = Fraction(max_start, max(clips - 1, 1))
    spans = []
    index = 0
    while True:
        start = step * index
        index += 1
        spans.append((start, start + clip))
        # the sampler's is_last_clip test
        if index >= clips or step * index > max_start:
            return spans


def waveform_to_melspec(clip: torch.Tensor, sample_rate: int, p: dict) -> torch.Tensor:
    """data.py waveform2melspec: [C, n] view -> [1, mel, target_length]."""
    if p["subtractMean"]:
        clip -= clip.mean()  # in place on the caller's waveform, as data.py does
    fbank = torchaudio.compliance.kaldi.fbank(
        clip, channel=p["channel"], **kaldi_fbank_kwargs(p["fbank"], sample_rate))
    fbank = fbank.transpose(0, 1)  # [mel, frames]
    pad = p["targetLength"] - fbank.size(1)
    if pad > 0:
        fbank = torch.nn.functional.pad(fbank, (0, pad), mode="constant", value=0)
    elif pad < 0:
        fbank = fbank[:, 0:p["targetLength"]]
    return fbank.unsqueeze(0)


def imagebind_audio(waveform: torch.Tensor, sr: int, p: dict) -> tuple[torch.Tensor, torch.Tensor, list]:
    """load_and_transform_audio_data for one waveform [C, N] -> ([clips, 1, mel, T], resampled, spans)."""
    waveform = resample(waveform, sr, p["sampleRate"], p["resample"])
    resampled = waveform.clone()
    rate = p["sampleRate"]
    spans = clip_timepoints(waveform.size(1) / rate, p["clipDuration"], p["clipsPerInput"])
    clips = []
    for start, end in spans:
        view = waveform[:, int(start * rate): int(end * rate)]
        clips.append(waveform_to_melspec(view, rate, p))
    mean, std = p["normalize"]["mean"], p["normalize"]["std"]
    clips = [(c - mean) / std for c in clips]  # transforms.Normalize with one mean/std
    return torch.stack(clips, dim=0), resampled, spans


def spans_json(spans: list, rate: int) -> list:
    return [
        {"start": float(s), "end": float(e), "startFraction": str(s), "endFraction": str(e),
         "startIndex": int(s * rate), "endIndex": int(e * rate)}
        for s, e in spans
    ]


# ---------------------------------------------------------------- inputs of our own
def quantise16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> the float32 a 16-bit WAV decodes to (torchaudio.load: q / 32768)."""
    q = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    return q


def chirp(t: np.ndarray, f0: float, f1: float, duration: float, log: bool = False) -> np.ndarray:
    if log:
        k = (f1 / f0) ** (1.0 / duration)
        return np.sin(2 * np.pi * f0 * (k ** t - 1.0) / math.log(k))
    return np.sin(2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / duration * t * t))


def make_inputs(rng: np.random.Generator) -> list[dict]:
    cases = []

    # 44.1 kHz stereo: chirps, noise bursts, a DC offset, a stretch of digital silence.
    sr, dur = 44100, 2.2
    t = np.arange(int(sr * dur)) / sr
    left = 0.4 * chirp(t, 100, 12000, dur) + 0.05 * rng.standard_normal(t.size) + 0.02
    right = 0.3 * chirp(t, 200, 15000, dur, log=True) + 0.1 * rng.standard_normal(t.size)
    silence = (t > 1.0) & (t < 1.3)
    left[silence] = 0.0
    right[silence] = 0.0
    cases.append({"name": "mix44k_stereo_2p2s", "sampleRate": sr, "pcm": np.stack([left, right]), "wav": True})

    # 16 kHz mono, 3.1 s: three overlapping clips, no resampling.
    sr, dur = 16000, 3.1
    t = np.arange(int(sr * dur)) / sr
    x = 0.5 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    x += 0.2 * chirp(t, 50, 7900, dur) + 0.02 * rng.standard_normal(t.size) - 0.01
    cases.append({"name": "tone16k_3p1s", "sampleRate": sr, "pcm": x[None], "wav": False})

    # 16 kHz mono, 1.2 s: shorter than one clip (three identical clips, padded to 204 frames).
    sr, dur = 16000, 1.2
    t = np.arange(int(sr * dur)) / sr
    x = 0.3 * chirp(t, 300, 6000, dur) + 0.05 * rng.standard_normal(t.size)
    cases.append({"name": "short16k_1p2s", "sampleRate": sr, "pcm": x[None], "wav": False})

    # 48 kHz mono, 2.1 s: downsampling by 3, a full-band chirp over a square wave.
    sr, dur = 48000, 2.1
    t = np.arange(int(sr * dur)) / sr
    x = 0.25 * chirp(t, 20, 20000, dur) + 0.1 * rng.standard_normal(t.size)
    x += 0.15 * np.sign(np.sin(2 * np.pi * 220 * t))
    cases.append({"name": "mix48k_mono_2p1s", "sampleRate": sr, "pcm": x[None], "wav": True})

    # 8 kHz mono, 8.5 s: upsampling, clips far enough apart not to overlap.
    sr, dur = 8000, 8.5
    t = np.arange(int(sr * dur)) / sr
    x = 0.3 * chirp(t, 60, 3900, dur, log=True) + 0.03 * rng.standard_normal(t.size)
    x[(t > 3.0) & (t < 4.0)] *= 0.001
    cases.append({"name": "sweep8k_8p5s", "sampleRate": sr, "pcm": x[None], "wav": False})

    for case in cases:
        case["int16"] = quantise16(case.pop("pcm"))
        case["pcm"] = torch.from_numpy(case["int16"].astype(np.float32) / 32768.0)
    return cases


# kaldi fbank option sets checked one by one (besides ImageBind's own inside the transform).
FBANK_VARIANTS = {
    "imagebind": IMAGEBIND_AUDIO["fbank"],
    "povey_nosnip_magnitude": {
        **IMAGEBIND_AUDIO["fbank"], "windowType": "povey", "snipEdges": False, "usePower": False,
        "numMelBins": 64,
    },
    "hamming_linear_band": {
        **IMAGEBIND_AUDIO["fbank"], "windowType": "hamming", "preemphasisCoefficient": 0.0,
        "removeDcOffset": False, "useLogFbank": False, "numMelBins": 40, "lowFreq": 100,
        "highFreq": -400, "frameLengthMs": 20, "frameShiftMs": 12.5,
    },
    "blackman": {**IMAGEBIND_AUDIO["fbank"], "windowType": "blackman", "numMelBins": 23},
    "rectangular": {**IMAGEBIND_AUDIO["fbank"], "windowType": "rectangular", "numMelBins": 23},
}


def save(path: Path, array) -> None:
    a = array.numpy() if isinstance(array, torch.Tensor) else array
    np.save(path, np.ascontiguousarray(a.astype(np.float32)))


def run_demo() -> None:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out = DEMO_OUT
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    p = IMAGEBIND_AUDIO
    index = {"generator": "models/recipes/reference_audio.py", "torch": torch.__version__,
             "torchaudio": torchaudio.__version__, "preprocess": p, "cases": [],
             "fbank": [], "resample": []}

    cases = make_inputs(rng)
    for case in cases:
        name, sr, pcm = case["name"], case["sampleRate"], case["pcm"]
        save(out / "inputs" / f"{name}.npy", pcm)
        entry = {"name": name, "input": f"inputs/{name}.npy", "sampleRate": sr,
                 "shape": list(pcm.shape)}
        if case["wav"]:
            wavfile.write(out / "inputs" / f"{name}.wav", sr, np.ascontiguousarray(case["int16"].T))
            entry["wav"] = f"inputs/{name}.wav"
            loaded, lsr = torchaudio.load(str(out / "inputs" / f"{name}.wav"))
            assert lsr == sr and torch.equal(loaded, pcm), "WAV does not decode to the .npy samples"
        result, resampled, spans = imagebind_audio(pcm.clone(), sr, p)
        if sr != p["sampleRate"] and case["wav"]:
            resampled = resampled[0:1]  # channel 0 is enough for the resampler's own test
            save(out / f"{name}.resampled.npy", resampled)
            entry["resampled"] = f"{name}.resampled.npy"
            entry["resampledShape"] = list(resampled.shape)
        save(out / f"{name}.imagebind.npy", result)
        entry["output"] = f"{name}.imagebind.npy"
        entry["outputShape"] = list(result.shape)
        entry["resampledLength"] = resampled.size(1)
        entry["spans"] = spans_json(spans, p["sampleRate"])
        index["cases"].append(entry)

    # fbank alone, on the first 1.3 s of the 16 kHz tone (no mean subtraction).
    tone = next(c for c in cases if c["name"] == "tone16k_3p1s")["pcm"][:, : int(1.3 * 16000)]
    for variant, fb in FBANK_VARIANTS.items():
        f = torchaudio.compliance.kaldi.fbank(tone, channel=0, **kaldi_fbank_kwargs(fb, 16000))
        save(out / f"fbank_{variant}.npy", f)
        index["fbank"].append({"name": variant, "input": "inputs/tone16k_3p1s.npy",
                               "inputSamples": tone.size(1), "sampleRate": 16000, "options": fb,
                               "output": f"fbank_{variant}.npy", "shape": list(f.shape)})

    # resampling alone: kaiser window and odd ratios on short slices.
    mix48 = next(c for c in cases if c["name"] == "mix48k_mono_2p1s")["pcm"][0:1, :24000]
    mix44 = next(c for c in cases if c["name"] == "mix44k_stereo_2p2s")["pcm"][1:2, :22050]
    jobs = [
        ("kaiser_48k_to_16k", "inputs/mix48k_mono_2p1s.npy", 0, mix48, 48000, 16000,
         {"method": "sinc_interp_kaiser", "lowpassFilterWidth": 6, "rolloff": 0.99}),
        ("kaiser_beta8_48k_to_22050", "inputs/mix48k_mono_2p1s.npy", 0, mix48, 48000, 22050,
         {"method": "sinc_interp_kaiser", "lowpassFilterWidth": 16, "rolloff": 0.85, "beta": 8.0}),
        ("hann_44k_to_32k_width4", "inputs/mix44k_stereo_2p2s.npy", 1, mix44, 44100, 32000,
         {"method": "sinc_interp_hann", "lowpassFilterWidth": 4, "rolloff": 0.9}),
    ]
    for name, src, channel, x, orig, new, opts in jobs:
        y = resample(x, orig, new, opts)
        save(out / f"resample_{name}.npy", y[0])
        index["resample"].append({"name": name, "input": src, "channel": channel,
                                  "inputSamples": x.size(1), "origFreq": orig, "newFreq": new,
                                  "options": opts, "output": f"resample_{name}.npy",
                                  "length": y.size(1)})

    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out.relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out} ({total / 1e6:.2f} MB)")


def run_real(src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    p = IMAGEBIND_AUDIO
    index = {"generator": "models/recipes/reference_audio.py --real-samples",
             "torch": torch.__version__, "torchaudio": torchaudio.__version__,
             "preprocess": p, "cases": []}
    wavs = sorted(src.glob("*.wav"))
    if not wavs:
        sys.exit(f"no .wav files in {src}")
    for wav in wavs:
        name = wav.stem
        pcm, sr = torchaudio.load(str(wav))  # float32 [C, N], int16 / 32768
        save(out / f"{name}.input.npy", pcm)
        result, resampled, spans = imagebind_audio(pcm.clone(), sr, p)
        save(out / f"{name}.resampled.npy", resampled)
        save(out / f"{name}.imagebind.npy", result)
        index["cases"].append({"name": name, "input": f"{name}.input.npy", "sampleRate": sr,
                               "shape": list(pcm.shape), "resampled": f"{name}.resampled.npy",
                               "resampledShape": list(resampled.shape),
                               "resampledLength": resampled.size(1),
                               "output": f"{name}.imagebind.npy",
                               "outputShape": list(result.shape),
                               "spans": spans_json(spans, p["sampleRate"])})
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(wavs)} real-sample references to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-samples", type=Path, help="folder of *.wav recordings")
    parser.add_argument("--out", type=Path, help="output folder for --real-samples (outside the repo)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.real_samples is not None:
        if args.out is None:
            parser.error("--real-samples needs --out")
        run_real(args.real_samples, args.out)
    else:
        run_demo()


if __name__ == "__main__":
    main()
