"""A second, independent reading of shared/demo-world.md: the same contract, other choices
wherever the page leaves freedom. It checks that the pack learned the world, not world.py's
rendering of it (issue #13): eval_variant.py measures the pack on both.

Same public API as world.py (make_scene, render_image / depth / thermal / imu / sound / video).
Only the page's constants and the Scene record are shared with world.py; every rendering choice
here is made differently: draw order, texture shapes, filter designs and orders (FFT masks and
Chebyshev/elliptic filters instead of Butterworth), envelopes, the noise colours' generation,
the crickets' gate shape, the wind's wander (a random walk) and gusts (low-passed noise), the
hum's level and harmonic amplitudes, the night noise at -40 dB full scale (so far louder
against a quiet hum than world.py's), the call-to-ambience ratio measured over the whole clip,
IMU waveforms and noise.
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps

from world import (COLOUR_RGB, DEPTH_OBJECT, F0, FRAME, IMAGE_SIZE, IMU_LENGTH, IMU_RATE, OBJECTS, PEAK, PLACE_RGB,
                   PLACES, RADIUS, SAMPLE_RATE, SIZES, SOUND_SECONDS, THERMAL_COLOUR, THERMAL_PLACE, VIDEO_FPS,
                   COLOURS, Scene)

__all__ = ["Scene", "PLACES", "OBJECTS", "COLOURS", "SIZES", "SAMPLE_RATE", "IMAGE_SIZE", "FRAME", "PLACE_RGB",
           "make_scene", "render_image", "render_depth", "render_thermal", "render_imu", "render_sound", "render_video"]


def make_scene(rng: np.random.Generator, place: str | None = None, obj: str | None = None,
               colour: str | None = None, size: str | None = None) -> Scene:
    """Draw order: seed first, then size, object, colour, place, then geometry (world.py differs)."""
    seed = int(rng.integers(1, 2**31 - 1))
    size = size or SIZES[int(rng.integers(2))]
    obj = obj or OBJECTS[int(rng.integers(5))]
    colour = colour or COLOURS[int(rng.integers(5))]
    place = place or PLACES[int(rng.integers(4))]
    r = float(rng.uniform(*RADIUS[size]))
    lo, hi = FRAME + r, IMAGE_SIZE - FRAME - r
    cy, cx = float(rng.uniform(lo, hi)), float(rng.uniform(lo, hi))
    return Scene(place, obj, colour, size, r, cx, cy, seed)


# ---------------------------------------------------------------- images

def object_mask(obj: str, r: float, cx: float, cy: float, n: int = IMAGE_SIZE) -> np.ndarray:
    """Coverage of at least half of each pixel (4x4 supersampling) rather than its centre."""
    s = 4
    y, x = (np.mgrid[0:n * s, 0:n * s].astype(np.float64) + 0.5) / s
    dx, dy = x - cx, y - cy
    rad, ang = np.hypot(dx, dy), np.arctan2(dy, dx)
    if obj == "circle":
        m = rad <= r
    elif obj == "ring":
        m = (rad <= r) & (rad >= r / 2)
    elif obj == "square":
        m = np.maximum(np.abs(dx), np.abs(dy)) <= 0.8 * r
    elif obj == "triangle":  # apex up: three half-planes of the inscribed equilateral triangle
        m = dy <= r / 2
        for a in (np.pi / 6, 5 * np.pi / 6):  # the two slanted sides' outward normals (y down)
            m &= dx * np.cos(a + np.pi) + dy * np.sin(a + np.pi) <= r / 2
    elif obj == "star":  # polar form: radius bound between r and r/2.5, linear in the edge
        inner = r / 2.5
        k = np.pi / 5
        local = np.mod(ang + np.pi / 2 + k, 2 * k) - k  # angle from the nearest point, in [-k, k)
        # the edge point-to-notch segment in polar coordinates
        px, py = r, 0.0
        qx, qy = inner * np.cos(k), inner * np.sin(k)
        lx, ly = rad * np.cos(np.abs(local)), rad * np.sin(np.abs(local))
        m = (qx - px) * (ly - py) - (qy - py) * (lx - px) >= 0
    else:
        raise ValueError(obj)
    return m.reshape(n, s, n, s).mean(axis=(1, 3)) >= 0.5


def background_rgb(place: str, rng: np.random.Generator, n: int = IMAGE_SIZE) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    tex = np.zeros((n, n))
    if place == "sea":  # lighter wavy stripes: triangle-wave profile, two superposed wiggles
        period = rng.uniform(5, 9)
        wav = y + 1.5 * np.sin(x / rng.uniform(3, 6)) + np.sin(x / rng.uniform(1.5, 3) + rng.uniform(0, 6.3))
        tri = 1 - 2 * np.abs(np.mod(wav / period, 1.0) - 0.5)
        tex = rng.uniform(12, 20) * np.clip(2 * tri - 1, 0, None)
    elif place == "meadow":  # darker speckles: single pixels and slanted 2-3 px blades
        for _ in range(int(rng.integers(150, 260))):
            bx, by = int(rng.integers(0, n)), int(rng.integers(0, n))
            d = rng.uniform(8, 20)
            lean = int(rng.integers(-1, 2))
            for k in range(int(rng.integers(1, 4))):
                yy, xx = by - k, (bx + k * lean) % n
                if 0 <= yy < n:
                    tex[yy, xx] -= d
    elif place == "desert":  # faint dune curves, the other diagonal, parabolic crests
        period = rng.uniform(9, 15)
        u = (x - y) / np.sqrt(2) + 0.02 * (x + y - n) ** 2 / 4
        tex = rng.uniform(4, 7) * np.cos(2 * np.pi * u / period + rng.uniform(0, 6.3))
    tex = np.clip(tex - np.median(tex), -24, 24)
    img = np.array(PLACE_RGB[place], np.float64)[None, None, :] + tex[:, :, None]
    if place == "night":
        idx = rng.choice(n * n, size=int(rng.integers(1, 13)), replace=False)
        img.reshape(-1, 3)[idx] = 255.0
    return img


def render_image(scene: Scene, cx: float | None = None, cy: float | None = None) -> np.ndarray:
    rng = np.random.default_rng([scene.seed, 71])
    img = background_rgb(scene.place, rng)
    mask = object_mask(scene.object, scene.radius, scene.cx if cx is None else cx, scene.cy if cy is None else cy)
    img[mask] = COLOUR_RGB[scene.colour]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_depth(scene: Scene) -> np.ndarray:
    rng = np.random.default_rng([scene.seed, 72])
    n = IMAGE_SIZE
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    d = 40.0 + 80.0 * y / (n - 1)
    if scene.place == "sea":  # ripple: two crossing cosines, +-6 in all
        d += 3.0 * np.cos(x / rng.uniform(1.5, 3) + rng.uniform(0, 6.3)) + 3.0 * np.cos(y / rng.uniform(1, 2))
    elif scene.place == "meadow":  # blurred noise rescaled to +-6
        z = sps.convolve2d(rng.normal(size=(n, n)), np.ones((3, 3)) / 9, mode="same", boundary="wrap")
        d += 6.0 * z / (np.abs(z).max() + 1e-9)
    elif scene.place == "desert":  # dune sinusoid along the other diagonal
        d += 12.0 * np.sin(2 * np.pi * (x - 0.7 * y) / rng.uniform(14, 24) + rng.uniform(0, 6.3))
    else:
        d[:] = 10.0
    d[object_mask(scene.object, scene.radius, scene.cx, scene.cy)] = DEPTH_OBJECT[scene.size]
    return np.clip(np.rint(d), 0, 255).astype(np.uint8)


def render_thermal(scene: Scene) -> np.ndarray:
    """Noise: a clipped normal (sigma 4) instead of uniform, +-8 at most."""
    rng = np.random.default_rng([scene.seed, 73])
    n = IMAGE_SIZE
    mask = object_mask(scene.object, scene.radius, scene.cx, scene.cy)
    t = np.where(mask, THERMAL_COLOUR[scene.colour], THERMAL_PLACE[scene.place]).astype(np.float64)
    t += np.clip(rng.normal(0, 4, size=(n, n)), -8, 8)
    return np.clip(np.rint(t), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- IMU

def render_imu(scene: Scene) -> np.ndarray:
    rng = np.random.default_rng([scene.seed, 74])
    t = np.arange(IMU_LENGTH) / IMU_RATE
    acc, gyr = np.zeros((3, IMU_LENGTH)), np.zeros((3, IMU_LENGTH))
    acc[2] = 1.0
    if scene.place == "sea":  # rocking: tilt angle a sine, its derivative on gyro-x
        f, a = rng.uniform(0.1, 0.2), rng.uniform(8, 12)
        ph = rng.uniform(0, 6.3)
        tilt = np.deg2rad(a / (2 * np.pi * f)) * np.sin(2 * np.pi * f * t + ph)
        gyr[0] = a * np.cos(2 * np.pi * f * t + ph)
        acc[1], acc[2] = -np.sin(tilt), np.cos(tilt)
    elif scene.place == "meadow":  # steps: a Gaussian pulse per step, slight jitter of step times
        f, a = rng.uniform(1.8, 2.2), rng.uniform(0.2, 0.3)
        steps = np.arange(rng.uniform(0, 1 / f), t[-1] + 1, 1 / f)
        steps = steps + rng.normal(0, 0.01, size=len(steps))
        for s in steps:
            acc[2] += a * np.exp(-0.5 * ((t - s) / 0.04) ** 2)
        acc[0] += 0.03 * np.sin(np.pi * f * t)  # the half-rate side-to-side of gait
    elif scene.place == "desert":  # swaying: lateral sine, yaw sway a quarter period behind
        f = rng.uniform(0.8, 1.1)
        ph = rng.uniform(0, 6.3)
        acc[1] = 0.15 * np.sin(2 * np.pi * f * t + ph)
        gyr[2] = rng.uniform(4, 12) * np.sin(2 * np.pi * f * t + ph - np.pi / 2)
    acc += 0.01 * rng.standard_normal(acc.shape)
    gyr += 0.5 * rng.standard_normal(gyr.shape)
    return np.concatenate([acc, gyr]).astype(np.float32)


# ---------------------------------------------------------------- sound

def _fft_noise(rng: np.random.Generator, n: int, exponent: float, lo: float = 10.0, hi: float | None = None) -> np.ndarray:
    """Noise with power ~ 1/f^exponent, band-limited by FFT masking: pink 1, brown 2."""
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spec = rng.normal(size=len(f)) + 1j * rng.normal(size=len(f))
    spec *= np.where(f >= lo, 1.0, 0.0) / np.maximum(f, lo) ** (exponent / 2)
    if hi is not None:
        spec *= 1.0 / (1.0 + (f / hi) ** 12)  # a steep smooth roll-off
    x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-12)


def ambience(place: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Not normalised: levels as the variant renders them (night is quiet)."""
    t = np.arange(n) / SAMPLE_RATE
    if place == "sea":
        x = _fft_noise(rng, n, 2.0, lo=15.0, hi=450.0)
        period = rng.uniform(2.5, 4.0)
        return 0.3 * x * (0.3 + 0.7 * np.sin(np.pi * (t + rng.uniform(0, period)) / period) ** 2)
    if place == "meadow":
        x = np.zeros(n)
        pos = rng.uniform(0, 0.5)
        sos = sps.cheby1(4, 1, [3600, 5400], btype="band", fs=SAMPLE_RATE, output="sos")
        while pos < t[-1]:
            length = rng.uniform(0.2, 0.4)
            i0, i1 = int(pos * SAMPLE_RATE), min(n, int((pos + length) * SAMPLE_RATE))
            tt = t[i0:i1] - t[i0]
            rate, pitch = rng.uniform(25, 35), rng.uniform(4000, 5000)
            gate = np.clip(1.5 * np.sin(2 * np.pi * rate * tt), 0, 1) ** 2  # soft-edged pulses
            fade = np.minimum(1, np.minimum(tt, tt[-1] - tt) / 0.02) if len(tt) else tt
            x[i0:i1] += rng.uniform(0.15, 0.3) * np.sin(2 * np.pi * pitch * tt) * gate * fade
            pos += rng.uniform(0.5, 0.8)
        x = sps.sosfilt(sos, x)
        return x + 0.02 * _fft_noise(rng, n, 1.0, lo=30.0)
    if place == "desert":  # block-wise band-pass (2nd-order elliptic) with a random-walk centre
        white = rng.uniform(-1, 1, size=n)
        block = 800
        walk = np.cumsum(rng.normal(0, 0.08, size=n // block + 2))
        walk = (walk - walk.min()) / (walk.max() - walk.min() + 1e-9)
        centre = 300 + 900 * walk
        out = np.zeros(n)
        for b in range(0, n, block):
            c = centre[b // block]
            sos = sps.ellip(2, 1, 30, [0.7 * c, 1.3 * c], btype="band", fs=SAMPLE_RATE, output="sos")
            seg = white[max(0, b - 400):b + block]
            out[b:b + block] = sps.sosfilt(sos, seg)[-min(block, n - b):]
        gust_noise = sps.sosfiltfilt(sps.butter(1, 0.7, fs=SAMPLE_RATE / 100, output="sos"), rng.normal(size=n // 100 + 1))
        gust = np.interp(t, np.arange(len(gust_noise)) / (SAMPLE_RATE / 100), gust_noise)
        gust = 0.2 + 0.8 * (gust - gust.min()) / (gust.max() - gust.min() + 1e-9)
        return 0.5 * out * gust
    if place == "night":  # a quiet hum, harmonics of its own amplitudes, white noise at -40 dBFS
        f0 = rng.uniform(100, 120)
        amps = (1.0, rng.uniform(0.3, 0.9), rng.uniform(0.15, 0.6))
        hum = sum(a * np.sin(2 * np.pi * (k + 1) * f0 * t + rng.uniform(0, 6.3)) for k, a in enumerate(amps))
        return rng.uniform(0.01, 0.04) * hum + 0.01 * rng.normal(size=n)
    raise ValueError(place)


def call_waveform(obj: str, f0: float, dur: float, rng: np.random.Generator) -> np.ndarray:
    n = int(dur * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if obj == "circle":
        return np.sin(2 * np.pi * f0 * t + rng.uniform(0, 6.3)) * sps.windows.hann(n, sym=False)
    if obj == "square":  # band-limited square from the Fourier series with Lanczos sigma
        x = np.zeros(n)
        kmax = int((SAMPLE_RATE / 2 - 1) // f0)
        for k in range(1, kmax + 1, 2):
            x += np.sinc(k / (kmax + 1)) * np.sin(2 * np.pi * k * f0 * t) / k
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip(np.minimum(t, dur - t) / 0.010, 0, 1))
        return x * ramp
    if obj == "triangle":  # exponential sweep f0 -> 3 f0, short fades
        k = np.log(3.0) / dur
        x = np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
        return x * np.clip(np.minimum(t, dur - t) / 0.015, 0, 1)
    if obj == "star":
        x = np.zeros(n)
        m = int(0.02 * SAMPLE_RATE)
        tb = np.arange(m) / SAMPLE_RATE
        env = np.exp(-0.5 * ((tb - 0.01) / 0.004) ** 2)
        starts = np.sort(rng.uniform(0, max(1, n - m), size=int(rng.integers(5, 9)))).astype(int)
        for i0 in starts:
            x[i0:i0 + m] += np.sin(2 * np.pi * rng.uniform(2, 4) * f0 * tb) * env
        return x
    if obj == "ring":
        amps = (1.0, 0.8, 0.6)
        x = sum(a * np.sin(2 * np.pi * p * f0 * t) for a, p in zip(amps, (1.0, 2.76, 5.40)))
        return x * np.exp(-t / 0.3) * np.minimum(1, t / 0.002)
    raise ValueError(obj)


def render_sound(scene: Scene, seconds: float = SOUND_SECONDS, with_calls: bool = True) -> np.ndarray:
    rng = np.random.default_rng([scene.seed, 75])
    n = int(seconds * SAMPLE_RATE)
    f0 = rng.uniform(*F0[scene.size])
    ratio_db = rng.uniform(-3, 9)
    calls = np.zeros(n)
    pos = rng.uniform(0.0, 1.0)
    while with_calls and pos < seconds - 0.15:
        dur = min(rng.uniform(0.15, 0.4), seconds - pos)
        c = call_waveform(scene.object, f0, dur, rng)
        i0 = int(pos * SAMPLE_RATE)
        calls[i0:i0 + len(c)] += c[:n - i0]
        pos += dur + rng.uniform(0.6, 1.4)
    amb = ambience(scene.place, np.random.default_rng([scene.seed, 76]), n)
    if with_calls and np.any(calls):
        # the ratio over the whole clip (world.py: over the calls only)
        calls *= 10 ** (ratio_db / 20) * np.sqrt(np.mean(amb ** 2)) / (np.sqrt(np.mean(calls ** 2)) + 1e-12)
    x = amb + calls
    return (PEAK * x / (np.max(np.abs(x)) + 1e-12)).astype(np.float32)


def render_video(scene: Scene, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = rng or np.random.default_rng([scene.seed, 77])
    count = int(round(rng.uniform(2, 4) * VIDEO_FPS))
    lo, hi = FRAME + scene.radius, IMAGE_SIZE - FRAME - scene.radius
    x1, y1 = rng.uniform(lo, hi), rng.uniform(lo, hi)
    a = np.linspace(0, 1, count)
    frames = [render_image(scene, scene.cx + s * (x1 - scene.cx), scene.cy + s * (y1 - scene.cy)) for s in a]
    return np.stack(frames), render_sound(scene, seconds=count / VIDEO_FPS)
