"""The pack's conditioning section: conditioning_norm.py measures the mean raw vision norm and
assemble_pack.py carries it (or the --embedding-norm override) into the pack, dropping the
decoder's old embeddingNorm. Needs torch only (no `imagebind`: a stand-in model).
Run from models/recipes: nice -n 19 python3 -m unittest discover -s tests -p 'test_conditioning.py' -v"""
from __future__ import annotations

import io
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

from assemble_pack import pack_conditioning  # noqa: E402
from conditioning_norm import conditioning_section, photo_files  # noqa: E402


class ConditioningSection(unittest.TestCase):
    def test_norm_is_the_mean_of_the_photos_norms_and_the_measurement_names_them(self):
        photos = [Path("a/bird.jpg"), Path("a/car.jpg"), Path("b/dog.png")]
        section = conditioning_section(photos, [10.0, 12.0, 17.0])
        self.assertEqual(section["norm"], 13.0)
        self.assertEqual(section["measurement"]["photos"], ["bird.jpg", "car.jpg", "dog.png"])
        self.assertEqual((section["measurement"]["min"], section["measurement"]["max"]), (10.0, 17.0))
        self.assertAlmostEqual(section["measurement"]["std"], (26 / 3) ** 0.5)  # population std

    def test_photo_files_takes_a_folders_photos_but_not_depth_or_thermal_maps(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for name in ("b.jpg", "a.JPEG", "c.png", "scene.depth.png", "scene.thermal.png", "sound.wav"):
                (folder / name).write_bytes(b"x")
            self.assertEqual([p.name for p in photo_files([folder])], ["a.JPEG", "b.jpg", "c.png"])
            with self.assertRaises(SystemExit):
                photo_files([folder / "missing.jpg"])
            empty = folder / "empty"
            empty.mkdir()
            with self.assertRaises(SystemExit):
                photo_files([empty])


class AssembleCarriesTheConditioning(unittest.TestCase):
    IMAGEBIND = {"conditioning": {"norm": 18.5, "measurement": {"photos": ["bird_image.jpg"]}}}

    def quiet(self, *args):
        with redirect_stdout(io.StringIO()) as out:
            result = pack_conditioning(*args)
        return result, out.getvalue()

    def test_keeps_the_measured_norm_and_drops_the_decoders_embedding_norm(self):
        decoder = {"space": "imagebind", "embeddingNorm": 32.0}
        conditioning, printed = self.quiet(self.IMAGEBIND, decoder, "keep")
        self.assertEqual(conditioning, self.IMAGEBIND["conditioning"])
        self.assertNotIn("embeddingNorm", decoder)
        self.assertIn("dropped", printed)

    def test_an_override_replaces_the_norm_and_keeps_the_measurement(self):
        conditioning, _ = self.quiet(self.IMAGEBIND, {}, "21.25")
        self.assertEqual(conditioning, {"norm": 21.25, "measurement": {"photos": ["bird_image.jpg"]}})
        self.assertEqual(self.IMAGEBIND["conditioning"]["norm"], 18.5)  # the part's manifest is not changed

    def test_refuses_an_export_without_the_section_unless_a_norm_is_given_and_a_bad_norm(self):
        with self.assertRaises(SystemExit):
            self.quiet({}, {}, "keep")
        self.assertEqual(self.quiet({}, {}, "20")[0], {"norm": 20.0})
        for bad in ("0", "-3", "nan", "inf", "big"):
            with self.assertRaises(SystemExit):
                self.quiet(self.IMAGEBIND, {}, bad)


if __name__ == "__main__":
    unittest.main()
