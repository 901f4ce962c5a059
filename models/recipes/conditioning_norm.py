"""The pack's `conditioning` section (models/README.md): the mean L2 norm of ImageBind's raw
vision embedding over a set of photos, measured with PyTorch at export.

Why: Stable unCLIP-H was trained on OpenCLIP ViT-H `image_embeds`, which are not normalised
(Stability-AI/stablediffusion ldm/modules/encoders/modules.py FrozenOpenCLIPImageEmbedder:
`self.model.visual(img)`), and its image normaliser is the identity (no clip_stats_path in
configs/stable-diffusion/v2-1-stable-unclip-h-inference.yaml; CLIPEmbeddingNoiseAugmentation
then takes zeros / ones). ImageBind-huge's vision tower is that ViT-H, so its output before the
Normalize postprocessor is on the scale the decoder saw. Anything2Image (anything2image/api.py)
and BindDiffusion (main_bind.py) feed the image embedding that way (`normalize=False`). The
TypeScript pipeline uses an image input at that raw norm and scales every other input to the
mean measured here.

A photo goes through ImageBind's own loader (data.load_and_transform_vision_data: bicubic short
side 224, centre crop, CLIP stats) and ImageBindModel.forward's steps before the postprocessor
(imagebind_encoders.official_raw_output); the norms are of those [D] rows.

Which photos: `--conditioning-photos DIR_OR_FILES` of export_imagebind.py; by default the
.assets/*.jpg of the ImageBind checkout the `imagebind` package is imported from (three photos:
bird, car, dog; `git clone https://github.com/facebookresearch/ImageBind`, then install it with
`pip install -e` or put it on PYTHONPATH). The photos are copied to
OUT/reference/conditioning/ (not pack files) with index.json: each photo's norm, which
imagebind-huge-pack.test.ts recomputes in onnxruntime-node.
"""
from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import torch

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def default_photo_folder() -> Path | None:
    """ImageBind's .assets beside the imported package (a source checkout), if it has photos."""
    import imagebind
    folder = Path(imagebind.__file__).resolve().parents[1] / ".assets"
    return folder if folder.is_dir() and photo_files([folder], strict=False) else None


def photo_files(paths: list[Path], strict: bool = True) -> list[Path]:
    """Folders -> their *.jpg / *.jpeg / *.png (sorted by name); files as given. Depth and
    thermal maps (*.depth.png, *.thermal.png, as in --reference-inputs folders) are not photos."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
                            and not p.name.lower().endswith((".depth.png", ".thermal.png")))
        elif path.is_file():
            files.append(path)
        elif strict:
            raise SystemExit(f"--conditioning-photos: {path} is neither a file nor a folder")
    if strict and not files:
        raise SystemExit(f"--conditioning-photos: no photos (*.jpg, *.jpeg, *.png) in {', '.join(map(str, paths))}")
    names = [f.name for f in files]
    if strict and len(set(names)) != len(names):
        raise SystemExit("--conditioning-photos: two photos share a file name; give files with distinct names")
    return files


def resolve_photos(given: list[Path] | None) -> list[Path]:
    """The photos of --conditioning-photos, or the default set (ImageBind's .assets)."""
    if given:
        return photo_files(given)
    folder = default_photo_folder()
    if folder is None:
        raise SystemExit("no --conditioning-photos given and the imported `imagebind` package has no .assets folder "
                         "beside it (it is not a source checkout): clone https://github.com/facebookresearch/ImageBind "
                         "and pass --conditioning-photos ImageBind/.assets, or any folder of photos")
    return photo_files([folder])


def raw_vision_norms(model: torch.nn.Module, photos: list[Path]) -> list[float]:
    """||raw vision embedding||_2 of each photo (one at a time: ViT-H's activations stay small)."""
    from imagebind import data
    from imagebind_encoders import official_raw_output
    norms = []
    with torch.no_grad():
        for photo in photos:
            pixels = data.load_and_transform_vision_data([str(photo)], "cpu")  # [1, 3, 224, 224]
            raw = official_raw_output(model, "vision", pixels)  # [1, D], before Normalize
            norms.append(float(raw.double().norm(dim=-1)[0]))
    return norms


def conditioning_section(photos: list[Path], norms: list[float]) -> dict:
    """manifest `conditioning`: norm = the mean of the photos' raw norms; measurement says how."""
    return {
        "norm": statistics.fmean(norms),
        "measurement": {
            "what": "mean L2 norm of encoders.vision's output (before postprocess) over these photos, "
                    "through ImageBind's load_and_transform_vision_data (export_imagebind.py)",
            "photos": [p.name for p in photos],
            "min": min(norms), "max": max(norms),
            "std": statistics.pstdev(norms),
        },
    }


def write_photo_references(out: Path, photos: list[Path], norms: list[float]) -> None:
    """OUT/reference/conditioning/: the photos and index.json (name -> PyTorch's raw norm)."""
    folder = out / "reference" / "conditioning"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for photo in photos:
        shutil.copyfile(photo, folder / photo.name)
    (folder / "index.json").write_text(json.dumps({
        "note": "raw vision norms (PyTorch, before Normalize) of the photos conditioning.norm is the mean of",
        "photos": [{"file": p.name, "norm": n} for p, n in zip(photos, norms)]}, indent=1) + "\n")


def measure_conditioning(model: torch.nn.Module, out: Path, photos: list[Path]) -> dict:
    """Measures over the photos (resolve_photos), writes the references, returns the manifest section."""
    norms = raw_vision_norms(model, photos)
    write_photo_references(out, photos, norms)
    section = conditioning_section(photos, norms)
    print(f"conditioning.norm {section['norm']:.6g}: mean raw vision norm over {len(photos)} photos "
          f"({', '.join(p.name for p in photos)}; min {min(norms):.6g}, max {max(norms):.6g})")
    return section
