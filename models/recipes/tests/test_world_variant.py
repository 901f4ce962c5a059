"""world_variant.py obeys shared/demo-world.md as world.py does (every rule of test_world.py, run
on the variant), renders differently from world.py, and world_scenes.py --world variant uses it;
augment.py's data-stage augmentation is seeded and stays a recording. Run from models/recipes:
python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import types
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import world  # noqa: E402
import world_scenes  # noqa: E402
import world_variant  # noqa: E402

# test_world.py's rules with `world` meaning the variant: its constants are the page's (shared),
# every rendering function the variant's
_spec = importlib.util.spec_from_file_location("test_world_rules_on_variant", HERE / "test_world.py")
_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rules)
_rules.world = types.SimpleNamespace(**{**vars(world), **{k: v for k, v in vars(world_variant).items() if not k.startswith("_")}})
for _name, _case in vars(_rules).items():
    if isinstance(_case, type) and issubclass(_case, unittest.TestCase) and _name != "Tokenizer":
        globals()[f"Variant{_name}"] = type(f"Variant{_name}", (_case,), {})


def scenes(count: int = 40, seed: int = 321) -> list[world.Scene]:
    return [world.make_scene(np.random.default_rng([seed, i])) for i in range(count)]


class VariantIsAnotherReading(unittest.TestCase):
    def test_renders_differ_from_world_py_for_the_same_scene(self):
        for s in scenes(12):
            self.assertFalse(np.array_equal(world.render_image(s), world_variant.render_image(s)))
            self.assertFalse(np.allclose(world.render_sound(s), world_variant.render_sound(s)))
            self.assertFalse(np.allclose(world.render_imu(s), world_variant.render_imu(s)))

    def test_world_scenes_writes_the_variant_and_records_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            index = world_scenes.write_scenes(Path(tmp), 3, 4, "variant")
            self.assertEqual(index["generator"], "variant")
            self.assertEqual(json.loads((Path(tmp) / "index.json").read_text())["generator"], "variant")
            scene = world_variant.make_scene(np.random.default_rng([4, 0]))
            self.assertEqual(index["scenes"][0]["object"], scene.object)
            self.assertEqual(index["scenes"][0]["place"], scene.place)


class Augmentation(unittest.TestCase):
    def test_sound_parts_are_world_py_s_recording(self):
        import augment
        for s in scenes(8):
            amb, calls, mask = augment.sound_parts(s)
            want = world.render_sound(s, with_calls=False)
            np.testing.assert_allclose(world.PEAK * amb / np.abs(amb).max(), want, atol=1e-6)
            self.assertTrue(mask.any() and calls[mask].std() > 0 and not calls[~mask].any())

    def test_augmented_sounds_are_seeded_bounded_recordings(self):
        import augment
        for i, s in enumerate(scenes(6)):
            a = augment.augmented_sound(s, np.random.default_rng([1, i, 7]))
            b = augment.augmented_sound(s, np.random.default_rng([1, i, 7]))
            np.testing.assert_array_equal(a, b)
            self.assertEqual(a.shape, (int(world.SOUND_SECONDS * world.SAMPLE_RATE),))
            self.assertLessEqual(float(np.abs(a).max()), 1.0)
            self.assertGreater(float(np.abs(a).max()), 0.0)

    def test_randomised_depth_keeps_the_page_s_ranges(self):
        import augment
        for i, s in enumerate(scenes(30)):
            d = augment.randomised_depth(s, np.random.default_rng([1, i, 8])).astype(np.float64)
            mask = world.object_mask(s.object, s.radius, s.cx, s.cy)
            self.assertTrue(np.all(d[mask] == world.DEPTH_OBJECT[s.size]))
            ramp = 40.0 + 80.0 * np.arange(64)[:, None] / 63 * np.ones((1, 64))
            amplitude = {"sea": 6, "meadow": 6, "desert": 12}.get(s.place)
            if amplitude is None:
                self.assertTrue(np.all(d[~mask] == 10))
            else:
                self.assertLessEqual(np.abs(d - ramp)[~mask].max(), amplitude + 0.5)


if __name__ == "__main__":
    unittest.main()
