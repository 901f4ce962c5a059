"""world_scenes.py writes the world's scenes as files, deterministically. Run from models/recipes:
python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import json
import sys
import tempfile
import unittest
import wave
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import world  # noqa: E402
import world_scenes  # noqa: E402


def read_png(path: Path) -> np.ndarray:
    """The PNGs world_scenes writes: 8-bit grey or RGB, one IDAT, filter 0 on every row."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        chunks[data[pos + 4:pos + 8]] = data[pos + 8:pos + 8 + n]
        pos += 12 + n
    w, h = int.from_bytes(chunks[b"IHDR"][:4], "big"), int.from_bytes(chunks[b"IHDR"][4:8], "big")
    channels = 3 if chunks[b"IHDR"][9] == 2 else 1
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, channels).squeeze()


class WorldScenes(unittest.TestCase):
    def test_files_are_the_world_renders_and_repeat_for_a_seed(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            world_scenes.write_scenes(Path(a), 6, 4)
            world_scenes.write_scenes(Path(b), 6, 4)
            index = json.loads((Path(a) / "index.json").read_text())
            self.assertEqual(index["count"], 6)
            for i, row in enumerate(index["scenes"]):
                scene = world.make_scene(np.random.default_rng([4, i]))
                self.assertEqual((row["place"], row["object"], row["colour"], row["size"]), (scene.place, scene.object, scene.colour, scene.size))
                self.assertNotEqual(row["ambiencePlace"], row["place"])
                self.assertTrue(np.array_equal(read_png(Path(a) / row["files"]["image"]), world.render_image(scene)))
                self.assertTrue(np.array_equal(read_png(Path(a) / row["files"]["depth"]), world.render_depth(scene)))
                self.assertTrue(np.array_equal(read_png(Path(a) / row["files"]["thermal"]), world.render_thermal(scene)))
                self.assertEqual((Path(a) / row["files"]["caption"]).read_text().strip(), scene.caption())
                with wave.open(str(Path(a) / row["files"]["sound"])) as w:
                    self.assertEqual((w.getnchannels(), w.getsampwidth(), w.getframerate()), (1, 2, 16000))
                    self.assertEqual(w.getnframes(), int(world.SOUND_SECONDS * world.SAMPLE_RATE))
                for f in row["files"].values():
                    self.assertEqual((Path(a) / f).read_bytes(), (Path(b) / f).read_bytes(), f)

    def test_prompts_are_every_caption_naming_the_class(self):
        prompts = world_scenes.class_prompts()
        self.assertEqual(len(prompts["place"]["sea"]), 5 * 5 * 2 * 5)
        self.assertTrue(all("in the sea" in t for t in prompts["place"]["sea"]))
        self.assertEqual(len(prompts["object"]["ring"]), 4 * 5 * 2 * 5)
        self.assertTrue(all(" ring " in t for t in prompts["object"]["ring"]))


if __name__ == "__main__":
    unittest.main()
