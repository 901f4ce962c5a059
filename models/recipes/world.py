"""The demo world of shared/demo-world.md: scenes and all seven modalities, seeded.

Every draw comes from a numpy Generator passed in, so a (seed, index) pair always gives the
same scene. `make_scene(rng)` draws a scene; the render_* functions turn a scene into each
modality. Constants below are the world's contract (demo-world.md); tests/test_world.py checks
the rendered data against them.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np
from scipy import signal as sps

IMAGE_SIZE = 64
FRAME = 6  # the outer frame is background only
PLACES = ["sea", "meadow", "desert", "night"]
OBJECTS = ["circle", "square", "triangle", "star", "ring"]
COLOURS = ["red", "white", "magenta", "cyan", "orange"]
SIZES = ["small", "large"]

PLACE_RGB = {"sea": (28, 84, 168), "meadow": (64, 150, 56), "desert": (222, 188, 120), "night": (16, 18, 44)}
COLOUR_RGB = {"red": (220, 40, 40), "white": (240, 240, 240), "magenta": (210, 60, 200), "cyan": (60, 220, 220), "orange": (250, 140, 20)}
RADIUS = {"small": (8, 11), "large": (14, 18)}
CALL = {"circle": "boop", "square": "buzz", "triangle": "chirp", "star": "sparkle", "ring": "bell"}
PLACE_PHRASE = {"sea": "in the sea", "meadow": "on the meadow", "desert": "in the desert", "night": "under the night sky"}

SAMPLE_RATE = 16000
SOUND_SECONDS = 6.0
PEAK = 0.9
F0 = {"large": (200.0, 350.0), "small": (500.0, 900.0)}

DEPTH_OBJECT = {"small": 200, "large": 230}
THERMAL_PLACE = {"desert": 170, "meadow": 110, "sea": 70, "night": 30}
THERMAL_COLOUR = {"red": 230, "orange": 210, "magenta": 150, "white": 90, "cyan": 50}

IMU_RATE = 200
IMU_LENGTH = 2000
VIDEO_FPS = 8


@dataclass
class Scene:
    place: str
    object: str
    colour: str
    size: str
    radius: float
    cx: float
    cy: float
    # per-scene draws used by the textures and the other modalities
    seed: int

    def caption(self, variant: int = 0) -> str:
        """variant 0: the full caption; 1..4: the free variants of demo-world.md."""
        place = PLACE_PHRASE[self.place]
        if variant == 1:
            return f"a picture of a {self.size} {self.colour} {self.object} {place}"
        if variant == 2:
            return f"a {self.colour} {self.object} {place}"
        if variant == 3:
            return f"a {self.size} {self.object} {place}"
        if variant == 4:
            return f"a {self.object} {place}"
        return f"a {self.size} {self.colour} {self.object} {place}"

    def labels(self) -> dict:
        return {"place": PLACES.index(self.place), "object": OBJECTS.index(self.object),
                "colour": COLOURS.index(self.colour), "size": SIZES.index(self.size)}

    def to_json(self) -> dict:
        return asdict(self)


def make_scene(rng: np.random.Generator, place: str | None = None, obj: str | None = None,
               colour: str | None = None, size: str | None = None) -> Scene:
    place = place or PLACES[rng.integers(len(PLACES))]
    obj = obj or OBJECTS[rng.integers(len(OBJECTS))]
    colour = colour or COLOURS[rng.integers(len(COLOURS))]
    size = size or SIZES[rng.integers(len(SIZES))]
    lo, hi = RADIUS[size]
    r = float(rng.uniform(lo, hi))
    # Centre such that the disc of radius r (which bounds every shape) stays in [6, 58).
    cx = float(rng.uniform(FRAME + r, IMAGE_SIZE - FRAME - r))
    cy = float(rng.uniform(FRAME + r, IMAGE_SIZE - FRAME - r))
    return Scene(place, obj, colour, size, r, cx, cy, int(rng.integers(2**31 - 1)))


# ---------------------------------------------------------------- images

def object_mask(obj: str, r: float, cx: float, cy: float, n: int = IMAGE_SIZE) -> np.ndarray:
    """Boolean [n, n] mask of the object, sampled at pixel centres."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    dx, dy = x - cx, y - cy
    if obj == "circle":
        return dx * dx + dy * dy <= r * r
    if obj == "ring":
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 >= (r / 2) ** 2)
    if obj == "square":
        h = 0.8 * r  # side = 1.6 r
        return (np.abs(dx) <= h) & (np.abs(dy) <= h)
    if obj == "triangle":
        # Upward equilateral triangle inscribed in the circle of radius r.
        verts = [(0.0, -r), (-r * np.sqrt(3) / 2, r / 2), (r * np.sqrt(3) / 2, r / 2)]
        return _inside_polygon(dx, dy, verts)
    if obj == "star":
        inner = r / 2.5
        verts = []
        for k in range(10):
            ang = -np.pi / 2 + k * np.pi / 5
            rad = r if k % 2 == 0 else inner
            verts.append((rad * np.cos(ang), rad * np.sin(ang)))
        return _inside_polygon(dx, dy, verts)
    raise ValueError(f"unknown object {obj}")


def _inside_polygon(x: np.ndarray, y: np.ndarray, verts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule point-in-polygon, vectorised."""
    inside = np.zeros(x.shape, dtype=bool)
    n = len(verts)
    for i in range(n):
        x1, y1 = verts[i]
        x2, y2 = verts[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (x2 - x1) * (y - y1) / (y2 - y1 + 1e-12) + x1
        inside ^= crosses & (x < xint)
    return inside


def background_rgb(place: str, rng: np.random.Generator, n: int = IMAGE_SIZE) -> np.ndarray:
    """float [n, n, 3]: the place's mean colour plus its texture (at most 24 per channel)."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    mean = np.array(PLACE_RGB[place], dtype=np.float64)
    tex = np.zeros((n, n), dtype=np.float64)
    if place == "sea":  # lighter horizontal wavy stripes
        period = rng.uniform(7, 11)
        phase = rng.uniform(0, 2 * np.pi)
        wav = y + 2.0 * np.sin(2 * np.pi * x / rng.uniform(18, 30) + phase)
        stripes = np.clip(np.sin(2 * np.pi * wav / period), 0, None) ** 2
        tex = 22.0 * stripes
    elif place == "meadow":  # darker grass-blade speckles: short vertical blades
        count = int(rng.integers(90, 140))
        for _ in range(count):
            bx, by, ln = int(rng.integers(0, n)), int(rng.integers(0, n)), int(rng.integers(2, 5))
            tex[by:by + ln, bx] -= rng.uniform(12, 22)
    elif place == "desert":  # faint diagonal dune curves
        period = rng.uniform(12, 18)
        phase = rng.uniform(0, 2 * np.pi)
        tex = 9.0 * np.sin(2 * np.pi * (x + y + 3 * np.sin(y / 7.0 + phase)) / period)
    tex = np.clip(tex - tex.mean(), -24, 24)
    img = mean[None, None, :] + tex[:, :, None]
    if place == "night":  # a few single-pixel white stars (at most 12)
        for _ in range(int(rng.integers(3, 13))):
            img[int(rng.integers(0, n)), int(rng.integers(0, n))] = 255.0
    return img


def render_image(scene: Scene, cx: float | None = None, cy: float | None = None) -> np.ndarray:
    """uint8 [64, 64, 3]."""
    rng = np.random.default_rng([scene.seed, 1])
    img = background_rgb(scene.place, rng)
    mask = object_mask(scene.object, scene.radius, scene.cx if cx is None else cx, scene.cy if cy is None else cy)
    img[mask] = np.array(COLOUR_RGB[scene.colour], dtype=np.float64)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_depth(scene: Scene) -> np.ndarray:
    """uint8 [64, 64] disparity: brighter is nearer."""
    rng = np.random.default_rng([scene.seed, 2])
    n = IMAGE_SIZE
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    depth = 40.0 + 80.0 * y / (n - 1)
    if scene.place == "sea":
        depth += 6.0 * np.sin(2 * np.pi * (x / rng.uniform(10, 16) + y / rng.uniform(6, 9)))
    elif scene.place == "meadow":
        depth += rng.uniform(-6, 6, size=(n, n))
    elif scene.place == "desert":
        depth += 12.0 * np.sin(2 * np.pi * (x + 0.5 * y) / rng.uniform(20, 30) + rng.uniform(0, 2 * np.pi))
    else:
        depth[:] = 10.0
    depth[object_mask(scene.object, scene.radius, scene.cx, scene.cy)] = DEPTH_OBJECT[scene.size]
    return np.clip(np.rint(depth), 0, 255).astype(np.uint8)


def render_thermal(scene: Scene) -> np.ndarray:
    """uint8 [64, 64]: brighter is warmer."""
    rng = np.random.default_rng([scene.seed, 3])
    n = IMAGE_SIZE
    t = THERMAL_PLACE[scene.place] + rng.uniform(-8, 8, size=(n, n))
    mask = object_mask(scene.object, scene.radius, scene.cx, scene.cy)
    t[mask] = THERMAL_COLOUR[scene.colour] + rng.uniform(-8, 8, size=int(mask.sum()))
    return np.clip(np.rint(t), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- IMU

def render_imu(scene: Scene) -> np.ndarray:
    """float32 [6, 2000]: accel x, y, z (g), gyro x, y, z (deg/s), 10 s at 200 Hz."""
    rng = np.random.default_rng([scene.seed, 4])
    t = np.arange(IMU_LENGTH) / IMU_RATE
    acc = np.zeros((3, IMU_LENGTH))
    gyr = np.zeros((3, IMU_LENGTH))
    acc[2] = 1.0
    ph = rng.uniform(0, 2 * np.pi)
    if scene.place == "sea":  # slow rocking about x, accel tilt matching the gyro
        f, a = rng.uniform(0.1, 0.2), rng.uniform(8, 12)
        gyr[0] = a * np.sin(2 * np.pi * f * t + ph)
        roll = np.deg2rad(-a / (2 * np.pi * f) * np.cos(2 * np.pi * f * t + ph))
        acc[1] = np.sin(roll)
        acc[2] = np.cos(roll)
    elif scene.place == "meadow":  # walking: vertical pulses
        f, a = rng.uniform(1.8, 2.2), rng.uniform(0.2, 0.3)
        acc[2] += a * np.clip(np.sin(2 * np.pi * f * t + ph), 0, None) ** 4
    elif scene.place == "desert":  # swaying: lateral sine and a yaw sway
        f = rng.uniform(0.8, 1.1)
        acc[1] = 0.15 * np.sin(2 * np.pi * f * t + ph)
        gyr[2] = rng.uniform(6, 10) * np.cos(2 * np.pi * f * t + ph)
    acc += rng.normal(0, 0.01, size=acc.shape)
    gyr += rng.normal(0, 0.5, size=gyr.shape)
    return np.concatenate([acc, gyr]).astype(np.float32)


# ---------------------------------------------------------------- sound

def _lowpass(x: np.ndarray, cutoff: float, order: int = 4) -> np.ndarray:
    sos = sps.butter(order, cutoff, btype="low", fs=SAMPLE_RATE, output="sos")
    return sps.sosfilt(sos, x)


def ambience(place: str, rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    if place == "sea":  # waves: brown noise below 500 Hz, swelling
        brown = np.cumsum(rng.normal(size=n))
        brown = sps.sosfilt(sps.butter(2, 20, btype="high", fs=SAMPLE_RATE, output="sos"), brown)
        x = _lowpass(brown, 500.0)
        period = rng.uniform(2.5, 4.0)
        x *= 0.3 + 0.7 * np.sin(np.pi * t / period + rng.uniform(0, np.pi)) ** 2
    elif place == "meadow":  # crickets: gated 4-5 kHz bursts, faint pink noise
        x = np.zeros(n)
        start = rng.uniform(0, 0.3)
        while start < t[-1]:
            dur = rng.uniform(0.2, 0.4)
            i0, i1 = int(start * SAMPLE_RATE), min(n, int((start + dur) * SAMPLE_RATE))
            tt = t[i0:i1]
            tone = np.sin(2 * np.pi * rng.uniform(4000, 5000) * tt)
            gate = (np.sin(2 * np.pi * rng.uniform(25, 35) * tt) > 0).astype(np.float64)
            x[i0:i1] += tone * gate
            start += rng.uniform(0.5, 0.8)
        white = np.fft.rfft(rng.normal(size=n))
        f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        pink = np.fft.irfft(white / np.sqrt(np.maximum(f, 20.0)), n)
        x += 0.05 * pink / (np.std(pink) + 1e-12)
    elif place == "desert":  # wind: white noise band-passed around a wandering centre
        f, tt, spec = sps.stft(rng.normal(size=n), fs=SAMPLE_RATE, nperseg=512)
        knots = rng.uniform(300, 1200, size=6)
        centre = np.interp(tt, np.linspace(0, t[-1], 6), knots)
        width = 0.35 * centre
        spec *= np.exp(-0.5 * ((f[:, None] - centre[None, :]) / width[None, :]) ** 2)
        _, x = sps.istft(spec, fs=SAMPLE_RATE, nperseg=512)
        x = np.resize(x, n)
        gust = np.interp(t, np.linspace(0, t[-1], 9), rng.uniform(0.3, 1.0, size=9))
        x *= gust
    elif place == "night":  # hum and its 2nd, 3rd harmonics; white noise at -40 dB
        f0 = rng.uniform(100, 120)
        x = sum(a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) for k, a in ((1, 1.0), (2, 0.5), (3, 0.3)))
        x = 0.2 * x
        x += 0.01 * np.sqrt(np.mean(x * x)) * rng.normal(size=n)
    else:
        raise ValueError(place)
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def call_waveform(obj: str, f0: float, dur: float, rng: np.random.Generator) -> np.ndarray:
    n = int(dur * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if obj == "circle":  # boop: sine, Hann envelope
        return np.sin(2 * np.pi * f0 * t) * np.hanning(n)
    if obj == "square":  # buzz: band-limited square wave, 10 ms attack and release
        x = np.zeros(n)
        k = 1
        while k * f0 < SAMPLE_RATE / 2:
            x += np.sin(2 * np.pi * k * f0 * t) / k
            k += 2
        env = np.minimum(1.0, np.minimum(t, dur - t) / 0.010)
        return x * env
    if obj == "triangle":  # chirp: sine sweeping f0 -> 3 f0
        phase = 2 * np.pi * (f0 * t + (2 * f0) * t * t / (2 * dur))
        return np.sin(phase) * np.hanning(n) ** 0.25
    if obj == "star":  # sparkle: 5-8 blips of 20 ms at 2-4 x f0
        x = np.zeros(n)
        m = int(0.02 * SAMPLE_RATE)
        for _ in range(int(rng.integers(5, 9))):
            i0 = int(rng.integers(0, max(1, n - m)))
            tb = np.arange(m) / SAMPLE_RATE
            x[i0:i0 + m] += np.sin(2 * np.pi * rng.uniform(2, 4) * f0 * tb) * np.hanning(m)
        return x
    if obj == "ring":  # bell: partials 1, 2.76, 5.40 decaying exp(-t / 0.3 s)
        x = sum(np.sin(2 * np.pi * p * f0 * t) / (i + 1) for i, p in enumerate((1.0, 2.76, 5.40)))
        return x * np.exp(-t / 0.3)
    raise ValueError(obj)


def render_sound(scene: Scene, seconds: float = SOUND_SECONDS, with_calls: bool = True) -> np.ndarray:
    """float32 mono at 16 kHz, peak-normalised to 0.9."""
    rng = np.random.default_rng([scene.seed, 5])
    n = int(seconds * SAMPLE_RATE)
    amb = ambience(scene.place, rng, n)
    calls = np.zeros(n)
    f0 = rng.uniform(*F0[scene.size])
    pos = rng.uniform(0.0, 0.6)
    mask = np.zeros(n, dtype=bool)
    while with_calls and pos < seconds - 0.15:
        dur = min(rng.uniform(0.15, 0.4), seconds - pos)
        c = call_waveform(scene.object, f0, dur, rng)
        i0 = int(pos * SAMPLE_RATE)
        calls[i0:i0 + len(c)] += c
        mask[i0:i0 + len(c)] = True
        pos += dur + rng.uniform(0.6, 1.4)
    if with_calls and mask.any():
        ratio_db = rng.uniform(-3, 9)  # call-to-ambience level (RMS over the calls)
        call_rms = np.sqrt(np.mean(calls[mask] ** 2)) + 1e-12
        calls *= 10 ** (ratio_db / 20) / call_rms
    x = amb + calls
    return (PEAK * x / (np.max(np.abs(x)) + 1e-12)).astype(np.float32)


# ---------------------------------------------------------------- video

def render_video(scene: Scene, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frames uint8 [T, 64, 64, 3] at 8 fps, 2..4 s; soundtrack float32 at 16 kHz)."""
    rng = rng or np.random.default_rng([scene.seed, 6])
    seconds = float(rng.uniform(2, 4))
    count = int(round(seconds * VIDEO_FPS))
    lo, hi = FRAME + scene.radius, IMAGE_SIZE - FRAME - scene.radius
    x1, y1 = rng.uniform(lo, hi), rng.uniform(lo, hi)
    frames = []
    for i in range(count):
        a = i / max(1, count - 1)
        frames.append(render_image(scene, scene.cx + a * (x1 - scene.cx), scene.cy + a * (y1 - scene.cy)))
    sound = render_sound(scene, seconds=count / VIDEO_FPS)
    return np.stack(frames), sound
