"""Robustness augmentation for the audio training data (issue #13): the pack must learn the
world of shared/demo-world.md, not world.py's rendering of it. As ImageBind's audio training
(and AST/SpecAugment before it) does, each training sound is also seen degraded:

- waveform level, rendered in the data stage (dataset.build_split): the scene re-mixed with a
  call-to-ambience ratio beyond the page's -3..+9 dB (-9..+15 dB; night up to +25 dB, its
  ambience being "quiet"), measured over the calls or over the whole clip (two readings of the
  page); slow random amplitude wander of the ambience; random equalisation (RBJ "Audio EQ
  Cookbook" peaking and shelving biquads); added white, pink or brown noise at a random SNR;
  resampling round trips 16 k -> 8 k / 11.025 k / 22.05 k / 44.1 k -> 16 k; a codec-like
  round trip (8-bit mu-law, G.711, after a 6-7.5 kHz low-pass); peak normalisation then a random
  gain of -24..+4 dB with hard clipping;
- fbank level, online in train_encoders.stage_bind: a gain (a constant added to the log-mel),
  a smooth random EQ curve over the mel bins, SpecAugment time and frequency masks
  (Park et al. 2019).

Every draw comes from the numpy Generator passed in: the data stage stays seeded.
"""
from __future__ import annotations

import numpy as np
import torch
import torchaudio.functional as AF
from scipy import signal as sps

import world

RATE = world.SAMPLE_RATE
RATIO_DB = (-9.0, 15.0)  # the page: -3..+9
NIGHT_RATIO_DB = (-9.0, 25.0)  # night's ambience is "quiet": calls may stand far above it
RESAMPLE_RATES = (8000, 11025, 22050, 44100)


def sound_parts(scene: world.Scene, seconds: float = world.SOUND_SECONDS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """world.render_sound's ambience (RMS 1) and calls (unscaled) and the calls' mask, drawn
    from the same generator in the same order, so that ratio -> the recipe's own recording."""
    rng = np.random.default_rng([scene.seed, 5])
    n = int(seconds * RATE)
    amb = world.ambience(scene.place, rng, n)
    calls = np.zeros(n)
    mask = np.zeros(n, dtype=bool)
    f0 = rng.uniform(*world.F0[scene.size])
    pos = rng.uniform(0.0, 0.6)
    while pos < seconds - 0.15:
        dur = min(rng.uniform(0.15, 0.4), seconds - pos)
        c = world.call_waveform(scene.object, f0, dur, rng)
        i0 = int(pos * RATE)
        calls[i0:i0 + len(c)] += c
        mask[i0:i0 + len(c)] = True
        pos += dur + rng.uniform(0.6, 1.4)
    return amb, calls, mask


def mix(amb: np.ndarray, calls: np.ndarray, mask: np.ndarray, ratio_db: float, over_calls: bool) -> np.ndarray:
    """Calls scaled to ratio_db against the ambience, RMS measured over the calls or the clip."""
    ref = calls[mask] if over_calls and mask.any() else calls
    c_rms = np.sqrt(np.mean(ref ** 2)) + 1e-12
    return amb / (np.sqrt(np.mean(amb ** 2)) + 1e-12) + calls * 10 ** (ratio_db / 20) / c_rms


def biquad(kind: str, f0: float, gain_db: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """RBJ Audio EQ Cookbook coefficients (b, a): peaking, lowshelf, highshelf."""
    a_ = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / RATE
    alpha = np.sin(w) / (2 * q)
    cw = np.cos(w)
    if kind == "peaking":
        b = [1 + alpha * a_, -2 * cw, 1 - alpha * a_]
        a = [1 + alpha / a_, -2 * cw, 1 - alpha / a_]
    else:
        s = 2 * np.sqrt(a_) * alpha
        if kind == "lowshelf":
            b = [a_ * ((a_ + 1) - (a_ - 1) * cw + s), 2 * a_ * ((a_ - 1) - (a_ + 1) * cw), a_ * ((a_ + 1) - (a_ - 1) * cw - s)]
            a = [(a_ + 1) + (a_ - 1) * cw + s, -2 * ((a_ - 1) + (a_ + 1) * cw), (a_ + 1) + (a_ - 1) * cw - s]
        else:
            b = [a_ * ((a_ + 1) + (a_ - 1) * cw + s), -2 * a_ * ((a_ - 1) + (a_ + 1) * cw), a_ * ((a_ + 1) + (a_ - 1) * cw - s)]
            a = [(a_ + 1) - (a_ - 1) * cw + s, 2 * ((a_ - 1) - (a_ + 1) * cw), (a_ + 1) - (a_ - 1) * cw - s]
    return np.array(b) / a[0], np.array(a) / a[0]


def random_eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for _ in range(int(rng.integers(1, 4))):
        kind = ("peaking", "lowshelf", "highshelf")[int(rng.integers(3))]
        f0 = float(np.exp(rng.uniform(np.log(80), np.log(6000))))
        b, a = biquad(kind, f0, rng.uniform(-10, 10), rng.uniform(0.5, 2.0))
        x = sps.lfilter(b, a, x)
    return x


def coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White, pink or brown (power ~ 1/f^0, 1/f, 1/f^2), unit RMS."""
    exponent = float(rng.choice([0.0, 1.0, 2.0]))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec = np.fft.rfft(rng.normal(size=n)) / np.maximum(f, 20.0) ** (exponent / 2)
    x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-12)


def resample_round_trip(x: np.ndarray, rate: int) -> np.ndarray:
    t = torch.from_numpy(x.astype(np.float32))
    return AF.resample(AF.resample(t, RATE, rate), rate, RATE)[:len(x)].numpy().astype(np.float64)


def codec_round_trip(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """G.711-like: low-pass, then 8-bit mu-law quantisation."""
    x = sps.sosfilt(sps.butter(6, rng.uniform(6000, 7500), fs=RATE, output="sos"), x)
    peak = np.max(np.abs(x)) + 1e-12
    t = torch.from_numpy((x / peak).astype(np.float32)).clamp(-1, 1)
    return AF.mu_law_decoding(AF.mu_law_encoding(t, 256), 256).numpy().astype(np.float64) * peak


def degrade(x: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float]) -> np.ndarray:
    """The waveform chain of the module docstring; returns float32 in [-1, 1]."""
    n = len(x)
    if rng.random() < 0.5:  # slow amplitude wander (other envelopes of the same ambience)
        knots = rng.uniform(0.5, 1.0, size=int(rng.integers(3, 9)))
        x = x * np.interp(np.arange(n), np.linspace(0, n - 1, len(knots)), knots)
    if rng.random() < 0.7:
        x = random_eq(x, rng)
    if rng.random() < 0.7:  # a noise floor: broadband energy is not the crickets' band
        rms = np.sqrt(np.mean(x ** 2)) + 1e-12
        x = x + rms * 10 ** (-rng.uniform(*snr_db) / 20) * coloured_noise(rng, n)
    if rng.random() < 0.35:
        x = resample_round_trip(x, int(rng.choice(RESAMPLE_RATES)))
    if rng.random() < 0.2:
        x = codec_round_trip(x, rng)
    x = world.PEAK * x / (np.max(np.abs(x)) + 1e-12)
    x = x * 10 ** (rng.uniform(-24, 4) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def augmented_sound(scene: world.Scene, rng: np.random.Generator) -> np.ndarray:
    """The scene's sound re-mixed at a wider ratio, then degraded."""
    amb, calls, mask = sound_parts(scene)
    lo_hi = NIGHT_RATIO_DB if scene.place == "night" else RATIO_DB
    x = mix(amb, calls, mask, rng.uniform(*lo_hi), over_calls=bool(rng.random() < 0.5))
    return degrade(x, rng, (5.0, 50.0))


def augmented_ambience(scene: world.Scene, rng: np.random.Generator) -> np.ndarray:
    """The scene's ambience alone, degraded; a noisier floor allowed (night: hum against noise)."""
    amb, _, _ = sound_parts(scene)
    return degrade(amb, rng, (0.0, 50.0) if scene.place == "night" else (3.0, 50.0))


# ---------------------------------------------------------------- fbank domain (online)

# a gain of g dB moves the log-mel (natural log of power) by g * ln(10) / 10, here in the
# normalised units of preprocess.AUDIO_PREPROCESS (std 9.138)
DB_TO_NORMALISED = np.log(10) / 10 / 9.138


def fbank_augment(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """x [B, 1, mel, T] normalised log-mel: gain, smooth EQ curve, SpecAugment masks."""
    b, _, mel, frames = x.shape
    r = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    gain = (r(b, 1, 1, 1) * 24 - 16) * DB_TO_NORMALISED
    # smooth EQ: 3 cosines over the mel axis, +-6 dB in all
    m = torch.linspace(0, np.pi, mel).view(1, 1, mel, 1)
    curve = sum((r(b, 1, 1, 1) * 2 - 1) * 2.0 * torch.cos(k * m + r(b, 1, 1, 1) * 6.28) for k in (1, 2, 3))
    x = x + gain + curve * DB_TO_NORMALISED
    floor = x.amin(dim=(2, 3), keepdim=True)
    for _ in range(2):  # time masks up to 20 frames, frequency masks up to 10 bins
        t0, tw = (r(b) * frames).long(), (r(b) * 20).long()
        f0, fw = (r(b) * mel).long(), (r(b) * 10).long()
        t_idx, f_idx = torch.arange(frames).view(1, -1), torch.arange(mel).view(1, -1)
        tm = ((t_idx >= t0[:, None]) & (t_idx < (t0 + tw)[:, None])).view(b, 1, 1, frames)
        fm = ((f_idx >= f0[:, None]) & (f_idx < (f0 + fw)[:, None])).view(b, 1, mel, 1)
        x = torch.where(tm | fm, floor, x)
    return x


# ---------------------------------------------------------------- depth (data stage)

def randomised_depth(scene: world.Scene, rng: np.random.Generator) -> np.ndarray:
    """The scene's depth with the background texture re-drawn over the freedom the page leaves
    (its words: sea "a gentle ripple (+-6)", meadow "noise (+-6)", desert "a dune sinusoid
    (+-12)"): any direction and period, smoothed or sharp noise, lower amplitudes; the ramp,
    night's flat 10 and the object exactly as the page says."""
    n = world.IMAGE_SIZE
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    d = 40.0 + 80.0 * y / (n - 1)
    angle = lambda: rng.uniform(0, np.pi)  # noqa: E731
    wave = lambda period: np.sin(2 * np.pi * (x * np.cos(a) + y * np.sin(a)) / period + rng.uniform(0, 2 * np.pi))  # noqa: E731
    if scene.place == "sea":  # a ripple: one to three waves in any direction, as strong as each other or not
        a = angle()
        waves = [wave(rng.uniform(6, 30))]
        for _ in range(int(rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2]))):
            a = angle()
            waves.append(rng.uniform(0.3, 1.0) * wave(rng.uniform(6, 30)))
        ripple = np.sum(waves, axis=0)
        d += rng.uniform(3, 6) * ripple / (np.abs(ripple).max() + 1e-9)
    elif scene.place == "meadow":
        z = rng.normal(size=(n, n)) if rng.random() < 0.5 else rng.uniform(-1, 1, size=(n, n))
        if rng.random() < 0.6:  # smoothed noise: a k x k box blur (2..4) keeps it noise, not a ripple
            k = int(rng.integers(2, 5))
            z = sps.convolve2d(z, np.ones((k, k)) / k ** 2, mode="same", boundary="symm")
        d += rng.uniform(3, 6) * z / (np.abs(z).max() + 1e-9)
    elif scene.place == "desert":
        a = angle()
        d += rng.uniform(8, 12) * wave(rng.uniform(12, 40))
    else:
        d[:] = 10.0
    d[world.object_mask(scene.object, scene.radius, scene.cx, scene.cy)] = world.DEPTH_OBJECT[scene.size]
    return np.clip(np.rint(d), 0, 255).astype(np.uint8)
