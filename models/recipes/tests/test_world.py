"""The demo world generator obeys shared/demo-world.md. Run from models/recipes:
python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import world  # noqa: E402


def scenes(count: int = 60, seed: int = 123) -> list[world.Scene]:
    return [world.make_scene(np.random.default_rng([seed, i])) for i in range(count)]


def frame_mask() -> np.ndarray:
    n, f = world.IMAGE_SIZE, world.FRAME
    m = np.ones((n, n), dtype=bool)
    m[f:n - f, f:n - f] = False
    return m


class ImageRules(unittest.TestCase):
    def test_frame_is_background_with_the_place_colour(self):
        for s in scenes():
            img = world.render_image(s).astype(np.float64)
            frame = img[frame_mask()]
            colour = np.array(world.COLOUR_RGB[s.colour], dtype=np.float64)
            # no object pixel in the frame
            self.assertFalse(np.any(np.all(np.abs(frame - colour) < 0.5, axis=1) & (s.place != "night")), s)
            med = np.median(frame, axis=0)
            want = np.array(world.PLACE_RGB[s.place], dtype=np.float64)
            self.assertLess(np.abs(med - want).max(), 24.0, f"{s.place}: frame median {med} vs {want}")

    def test_texture_amplitude_at_most_24_except_night_stars(self):
        for s in scenes():
            rng = np.random.default_rng([s.seed, 1])
            bg = world.background_rgb(s.place, rng)
            dev = np.abs(bg - np.array(world.PLACE_RGB[s.place]))
            if s.place == "night":
                stars = np.all(bg == 255.0, axis=2)
                self.assertLessEqual(int(stars.sum()), 12)
                dev = dev[~stars]
            self.assertLessEqual(dev.max(), 24.0 + 1e-9, s.place)

    def test_object_is_drawn_in_its_colour_inside_the_frame(self):
        for s in scenes():
            mask = world.object_mask(s.object, s.radius, s.cx, s.cy)
            self.assertGreater(mask.sum(), 20)
            self.assertFalse(mask[frame_mask()].any())
            img = world.render_image(s)
            self.assertTrue(np.all(img[mask] == np.array(world.COLOUR_RGB[s.colour])))

    def test_sizes_and_shapes(self):
        for s in scenes(200):
            lo, hi = world.RADIUS[s.size]
            self.assertTrue(lo <= s.radius <= hi)
        disc = world.object_mask("circle", 10, 32, 32).sum()
        self.assertAlmostEqual(disc / (np.pi * 100), 1.0, delta=0.05)
        ring = world.object_mask("ring", 16, 32, 32).sum()
        self.assertAlmostEqual(ring / (np.pi * (256 - 64)), 1.0, delta=0.05)
        square = world.object_mask("square", 10, 32, 32).sum()
        self.assertAlmostEqual(square / (16 * 16), 1.0, delta=0.1)  # side 1.6 r
        star = world.object_mask("star", 16, 32, 32)
        self.assertLess(star.sum(), disc * 2.56 * 0.6)  # a star covers well under its disc

    def test_seeded_and_reproducible(self):
        a, b = scenes(5, seed=9), scenes(5, seed=9)
        for x, y in zip(a, b):
            self.assertEqual(x, y)
            self.assertTrue(np.array_equal(world.render_image(x), world.render_image(y)))
            self.assertTrue(np.array_equal(world.render_sound(x), world.render_sound(y)))
        self.assertNotEqual(scenes(1, seed=9)[0], scenes(1, seed=10)[0])

    def test_captions(self):
        s = world.Scene("sea", "star", "red", "large", 15, 32, 32, 0)
        self.assertEqual(s.caption(), "a large red star in the sea")
        self.assertEqual(world.Scene("night", "ring", "cyan", "small", 9, 32, 32, 0).caption(), "a small cyan ring under the night sky")


class OtherModalities(unittest.TestCase):
    def test_depth(self):
        for s in scenes():
            d = world.render_depth(s)
            mask = world.object_mask(s.object, s.radius, s.cx, s.cy)
            self.assertTrue(np.all(d[mask] == world.DEPTH_OBJECT[s.size]))
            if s.place == "night":
                self.assertTrue(np.all(d[~mask] == 10))
            else:
                top, bottom = d[0][~mask[0]].mean(), d[-1][~mask[-1]].mean()
                self.assertAlmostEqual(top, 40, delta=12.5)
                self.assertAlmostEqual(bottom, 120, delta=12.5)

    def test_thermal(self):
        for s in scenes():
            t = world.render_thermal(s).astype(np.float64)
            mask = world.object_mask(s.object, s.radius, s.cx, s.cy)
            self.assertLessEqual(np.abs(t[~mask] - world.THERMAL_PLACE[s.place]).max(), 8.5)
            self.assertLessEqual(np.abs(t[mask] - world.THERMAL_COLOUR[s.colour]).max(), 8.5)

    def test_imu(self):
        for s in scenes(40):
            imu = world.render_imu(s)
            self.assertEqual(imu.shape, (6, world.IMU_LENGTH))
            self.assertAlmostEqual(float(imu[2].mean()), 1.0, delta=0.1)  # gravity on z
            gyro_x = float(np.abs(imu[3]).max())
            if s.place == "night":
                self.assertLess(np.abs(imu[0:2]).max(), 0.06)
                self.assertLess(gyro_x, 3.0)
            if s.place == "sea":
                self.assertGreater(gyro_x, 7.0)
            if s.place == "desert":
                self.assertGreater(float(np.abs(imu[1]).max()), 0.12)

    def test_sound(self):
        for s in scenes(20):
            x = world.render_sound(s)
            self.assertEqual(len(x), int(world.SOUND_SECONDS * world.SAMPLE_RATE))
            self.assertAlmostEqual(float(np.abs(x).max()), world.PEAK, places=4)

    def test_call_pitch_follows_size(self):
        # the call's fundamental: large 200..350 Hz, small 500..900 Hz (boop is a pure sine)
        for size, (lo, hi) in world.F0.items():
            s = world.Scene("meadow", "circle", "red", size, 10, 32, 32, 42)  # crickets sit at 4-5 kHz
            x = world.render_sound(s).astype(np.float64)
            spec = np.abs(np.fft.rfft(x))
            freqs = np.fft.rfftfreq(len(x), 1 / world.SAMPLE_RATE)
            band = (freqs > 150) & (freqs < 2000)
            peak = freqs[band][np.argmax(spec[band])]
            self.assertTrue(lo - 5 <= peak <= hi + 5, f"{size}: peak {peak} Hz")

    def test_video(self):
        s = scenes(1)[0]
        frames, sound = world.render_video(s)
        self.assertTrue(16 <= len(frames) <= 32)  # 2..4 s at 8 fps
        self.assertEqual(frames.shape[1:], (64, 64, 3))
        self.assertEqual(len(sound), round(len(frames) / world.VIDEO_FPS * world.SAMPLE_RATE))
        self.assertFalse(np.array_equal(frames[0], frames[-1]))  # the object moves


class Tokenizer(unittest.TestCase):
    def test_bpe_round_trip_and_truncation(self):
        import clip_bpe
        captions = [world.Scene(p, o, c, s, 10, 32, 32, 0).caption() for p in world.PLACES for o in world.OBJECTS for c in world.COLOURS for s in world.SIZES]
        merges = clip_bpe.train_merges(captions, max_merges=200)
        tok = clip_bpe.ClipBpeTokenizer(clip_bpe.vocab_from_merges(merges), merges)
        ids = tok.tokenize(["a large red star in the sea", "word " * 100], 77)
        self.assertEqual(ids[0, 0], tok.start_id)
        self.assertIn(tok.end_id, ids[0].tolist())
        self.assertEqual(ids[1, -1], tok.end_id)  # truncated, end token kept
        # a word never seen still encodes through the byte-level fallback
        self.assertTrue(len(tok.encode("zebra!")) >= 2)


if __name__ == "__main__":
    unittest.main()
