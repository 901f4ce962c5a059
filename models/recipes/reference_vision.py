"""Reference tensors for the TypeScript image / depth / thermal transforms (@a2i/imagebind).

The transform is ImageBind's `load_and_transform_vision_data` (facebookresearch/ImageBind,
imagebind/data.py) with its constants passed in instead of written in:

    torchvision.transforms.Compose([
        Resize(size, interpolation=BICUBIC),   # short side -> size, long side int(size*long/short)
        CenterCrop(size),                      # offsets int(round((H - size) / 2)) (round half even)
        ToTensor(),                            # uint8 HWC -> float CHW in [0, 1]
        Normalize(mean, std),
    ])

run on PIL images exactly as data.py opens them (`Image.open(f).convert("RGB")`; depth and
thermal: `.convert("L")`, one mean/std each). 16-bit depth PNGs have no upstream loader: they
are brought to the 8-bit scale as x / 257 (65535 -> 255), resized as a float ('F') image with
the same bicubic filter, then divided by 255 and normalised: the convention the TypeScript
side documents.

Two runs (torch 1.13 / torchvision 0.14 / Pillow 9 as packaged by Debian):

    /usr/bin/python3 models/recipes/reference_vision.py real
        ImageBind-huge's constants (224, CLIP mean/std) on ../shared/real-samples/*_image.jpg,
        into .cache/reference/real-samples/vision/ (never committed: CC BY-NC photos).
        Each photo gives <name>.input.npy (uint8 [H, W, 3] as PIL decodes it, so the
        TypeScript side starts from the same pixels) and <name>.npy (float32 [3, 224, 224]).
    /usr/bin/python3 models/recipes/reference_vision.py demo
        The demo pack's constants (size and mean/std from models/demo/manifest.json when it
        exists, else models/recipes/preprocess.py's, else 64 and CLIP's) on small images this script draws (seeded), saved as PNG
        under models/demo/reference/vision/inputs/, outputs in models/demo/reference/vision/.

    /usr/bin/python3 models/recipes/reference_vision.py video --pytorchvideo DIR
        ImageBind's video sampling and views (data.py load_and_transform_video_data) with small
        constants passed in, into models/demo/reference/vision/video/: frame indices for a set
        of (frame count, fps, clips, frames per clip) cases, and the views of two tiny
        synthetic videos (one tall, one wide). DIR holds pytorchvideo's
        data/clip_sampling.py and transforms/functional.py (a local copy of
        facebookresearch/pytorchvideo, never committed): its ConstantClipsPerVideoSampler,
        uniform_temporal_subsample and short_side_scale are run as they are. Without
        --pytorchvideo the same steps are computed here from their definitions.

Every run writes index.json: the constants used and, per case, the input, output and shape.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
from fractions import Fraction
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

ROOT = Path(__file__).resolve().parents[2]
# CLIP's image statistics (openai/CLIP clip.py _transform; ImageBind data.py): the fallback
# when the demo manifest does not exist yet, and ImageBind-huge's real constants.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# Community depth / thermal loaders (no official one): depth un-normalised, thermal 0.5 / 0.5.
REAL_GRAY = {"depth": ([0.0], [1.0]), "thermal": ([0.5], [0.5])}


def image_transform(size: int, mean: list[float], std: list[float]) -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean=mean, std=std),
        ]
    )


def depth16_transform(image: Image.Image, size: int, mean: list[float], std: list[float]) -> torch.Tensor:
    """16-bit grayscale: x / 257 to the 8-bit scale, float bicubic resize + centre crop, / 255, normalise."""
    scaled = Image.fromarray(np.asarray(image, dtype=np.float32) / 257.0, mode="F")
    geometry = transforms.Compose(
        [transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(size)]
    )
    x = torch.from_numpy(np.asarray(geometry(scaled), dtype=np.float32).copy())[None] / 255.0
    return transforms.Normalize(mean=mean, std=std)(x)


def save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)


def run_real(out_dir: Path, samples: Path) -> None:
    photos = sorted(samples.glob("*_image.jpg"))
    if not photos:
        sys.exit(f"no *_image.jpg under {samples}")
    cases = []
    rgb = image_transform(224, CLIP_MEAN, CLIP_STD)
    for photo in photos:
        name = photo.stem
        with open(photo, "rb") as f:
            image = Image.open(f).convert("RGB")
        save_npy(out_dir / f"{name}.input.npy", np.asarray(image, dtype=np.uint8))
        out = rgb(image).numpy().astype(np.float32)
        save_npy(out_dir / f"{name}.npy", out)
        cases.append({"name": name, "kind": "image", "input": f"{name}.input.npy", "output": f"{name}.npy",
                      "inputSize": list(image.size), "shape": list(out.shape)})
        # The same photo as a stand-in depth / thermal map (grayscale), with the community constants.
        gray = image.convert("L")
        save_npy(out_dir / f"{name}.gray.input.npy", np.asarray(gray, dtype=np.uint8))
        for kind, (mean, std) in REAL_GRAY.items():
            out = image_transform(224, mean, std)(gray).numpy().astype(np.float32)
            save_npy(out_dir / f"{name}.{kind}.npy", out)
            cases.append({"name": f"{name}.{kind}", "kind": kind, "input": f"{name}.gray.input.npy",
                          "output": f"{name}.{kind}.npy", "inputSize": list(gray.size), "shape": list(out.shape)})
    index = {"size": 224, "mean": CLIP_MEAN, "std": CLIP_STD, "gray": {k: {"mean": m, "std": s} for k, (m, s) in REAL_GRAY.items()},
             "torchvision": __import__("torchvision").__version__, "pillow": Image.__version__, "cases": cases}
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out_dir}")


def demo_constants(manifest: Path) -> tuple[int, list[float], list[float], dict[str, tuple[list[float], list[float]]], str]:
    """The demo pack's constants: manifest.json when it exists, else preprocess.py's (which
    export writes into the manifest), else 64 and CLIP's."""
    if manifest.exists():
        encoders = json.loads(manifest.read_text())["encoders"]
        vision = encoders["vision"]["preprocess"]
        gray = {kind: (encoders[kind]["preprocess"]["mean"], encoders[kind]["preprocess"]["std"]) for kind in ("depth", "thermal")}
        where = manifest.resolve()
        # a pack built outside the repository (build_demo_pack.sh OUT) is named by its full path
        return int(vision["size"]), vision["mean"], vision["std"], gray, str(where.relative_to(ROOT) if where.is_relative_to(ROOT) else where)
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import preprocess  # the recipes' own constants

        v, d, t = preprocess.VISION_PREPROCESS, preprocess.DEPTH_PREPROCESS, preprocess.THERMAL_PREPROCESS
        return int(v["size"]), v["mean"], v["std"], {"depth": (d["mean"], d["std"]), "thermal": (t["mean"], t["std"])}, "models/recipes/preprocess.py"
    except (ImportError, AttributeError):
        return 64, CLIP_MEAN, CLIP_STD, {"depth": ([0.0], [1.0]), "thermal": ([0.5], [0.5])}, "CLIP defaults"


def draw_demo_images(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Small images that exercise the geometry: downscale, upscale, exact size, odd crop offsets."""
    def scene(h: int, w: int, channels: int) -> np.ndarray:
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([127 + 120 * np.sin(x / (3 + c) + y / (5 + 2 * c)) for c in range(channels)], -1)
        base[h // 4 : h // 2, w // 3 : (2 * w) // 3] = rng.integers(0, 256, size=channels)  # hard edges
        base += rng.normal(0, 6, size=base.shape)  # texture
        return np.clip(np.round(base), 0, 255).astype(np.uint8)

    return {
        "landscape_157x97": scene(97, 157, 3),   # downscale 1.5x; long side 103 -> crop offset 19.5 -> 20
        "portrait_40x71": scene(71, 40, 3),      # upscale 1.6x; long side 113 -> offset 24.5 -> 24 (half even)
        "square_64x64": scene(64, 64, 3),        # exact size: no resize, no crop
        "wide_230x90": scene(90, 230, 3),        # strong downscale, wide crop
        "gray_90x70": scene(70, 90, 1)[..., 0],  # depth / thermal, 8-bit
    }


def run_demo(out_dir: Path, manifest: Path) -> None:
    size, mean, std, gray, constants_from = demo_constants(manifest)
    rng = np.random.default_rng(20240601)
    inputs = out_dir / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, pixels in draw_demo_images(rng).items():
        Image.fromarray(pixels).save(inputs / f"{name}.png")
        image = Image.open(inputs / f"{name}.png")
        kinds = ["image"] if pixels.ndim == 3 else ["depth", "thermal"]
        for kind in kinds:
            if kind == "image":
                out = image_transform(size, mean, std)(image.convert("RGB")).numpy()
            else:
                out = image_transform(size, *gray[kind])(image.convert("L")).numpy()
            out_name = f"{name}.{kind}.npy"
            save_npy(out_dir / out_name, out.astype(np.float32))
            cases.append({"name": f"{name}.{kind}", "kind": kind, "input": f"inputs/{name}.png", "bitDepth": 8,
                          "output": out_name, "inputSize": list(image.size), "shape": list(out.shape)})
    # A 16-bit depth map (disparity-like smooth field plus an edge).
    y, x = np.mgrid[0:83, 0:120].astype(np.float64)
    depth16 = 30000 + 25000 * np.sin(x / 17) * np.cos(y / 11)
    depth16[20:50, 40:70] = 60000
    depth16 = np.clip(np.round(depth16 + rng.normal(0, 300, depth16.shape)), 0, 65535).astype(np.uint16)
    Image.fromarray(depth16).save(inputs / "depth16_120x83.png")
    image = Image.open(inputs / "depth16_120x83.png")
    assert np.asarray(image).dtype == np.uint16 or image.mode.startswith("I"), image.mode
    out = depth16_transform(image, size, *gray["depth"]).numpy().astype(np.float32)
    save_npy(out_dir / "depth16_120x83.depth.npy", out)
    cases.append({"name": "depth16_120x83.depth", "kind": "depth", "input": "inputs/depth16_120x83.png", "bitDepth": 16,
                  "output": "depth16_120x83.depth.npy", "inputSize": [120, 83], "shape": list(out.shape)})
    index = {"size": size, "mean": mean, "std": std, "gray": {k: {"mean": m, "std": s} for k, (m, s) in gray.items()},
             "constantsFrom": constants_from,
             "torchvision": __import__("torchvision").__version__, "pillow": Image.__version__, "cases": cases}
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out_dir}")


# ---- video -------------------------------------------------------------------------------

def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PytorchvideoSteps:
    """pytorchvideo's clip sampler, temporal subsample and short-side scale: the real ones when
    a local copy is given, else the same definitions written out."""

    def __init__(self, source: Path | None):
        self.source = source
        if source is not None:
            self.clip_sampling = load_module(source / "clip_sampling.py", "pv_clip_sampling")
            self.functional = load_module(source / "functional.py", "pv_functional")

    def clip_times(self, duration: float, clip_duration: float, clips: int) -> list[tuple[float, float]]:
        if self.source is not None:
            sampler = self.clip_sampling.ConstantClipsPerVideoSampler(clip_duration=clip_duration, clips_per_video=clips)
            out, end, last = [], 0.0, False
            while not last:  # data.py get_clip_timepoints
                start, end, _, _, last = sampler(end, duration, annotation=None)
                out.append((start, end))
            return out
        max_start = Fraction(max(duration - Fraction(clip_duration), 0))
        uniform = Fraction(max_start, max(clips - 1, 1))
        return [(uniform * k, uniform * k + Fraction(clip_duration)) for k in range(clips)]

    def subsample(self, frames: torch.Tensor, n: int) -> torch.Tensor:
        """frames [C, T, H, W] -> [C, n, H, W]."""
        if self.source is not None:
            return self.functional.uniform_temporal_subsample(frames, n, temporal_dim=-3)
        t = frames.shape[-3]
        return torch.index_select(frames, -3, torch.clamp(torch.linspace(0, t - 1, n), 0, t - 1).long())

    def short_side_scale(self, x: torch.Tensor, size: int) -> torch.Tensor:
        if self.source is not None:
            return self.functional.short_side_scale(x, size)
        c, t, h, w = x.shape
        new_h, new_w = (int(math.floor((float(h) / w) * size)), size) if w < h else (size, int(math.floor((float(w) / h) * size)))
        return torch.nn.functional.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)


def decord_frame_indices(fps: float, frame_count: int, start, end) -> list[int]:
    """EncodedVideoDecord.get_clip: frames ceil(fps * start) .. min(ceil(fps * end), n) - 1."""
    first = math.ceil(fps * start)
    last = min(math.ceil(fps * end), frame_count)
    return list(range(first, last))


def uniform_crop(video: torch.Tensor, size: int, spatial_idx: int) -> torch.Tensor:
    """ImageBind data.py uniform_crop on [C, T, H, W]: centre offset ceil((dim - size) / 2);
    index 0 / 2 take the start / end of the long side."""
    h, w = video.shape[-2:]
    y, x = int(math.ceil((h - size) / 2)), int(math.ceil((w - size) / 2))
    if h > w:
        y = {0: 0, 1: y, 2: h - size}[spatial_idx]
    else:
        x = {0: 0, 1: x, 2: w - size}[spatial_idx]
    return video[..., y : y + size, x : x + size]


def run_video(out_dir: Path, source: Path | None) -> None:
    steps = PytorchvideoSteps(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Frame sampling cases: (frames, fps, clipDuration, clipsPerVideo, framesPerClip).
    time_cases = [
        (300, 30.0, 2.0, 5, 2), (900, 29.97002997002997, 2.0, 5, 2), (45, 30.0, 2.0, 5, 2), (61, 30.0, 2.0, 5, 2),
        (250, 25.0, 2.0, 5, 2), (10, 24.0, 2.0, 5, 2), (1234, 23.976023976023978, 2.0, 5, 2), (7, 15.0, 2.0, 5, 2),
        (333, 30.0, 2.0, 3, 4), (333, 30.0, 1.5, 1, 3), (500, 50.0, 2.0, 4, 3), (601, 60.0, 0.5, 7, 5),
    ]
    frame_times = []
    for frames, fps, clip_duration, clips, per_clip in time_cases:
        duration = float(frames) / float(fps)  # EncodedVideoDecord.duration
        indices = []
        for start, end in steps.clip_times(duration, clip_duration, clips):
            clip = torch.tensor(decord_frame_indices(fps, frames, start, end), dtype=torch.float32)
            picked = steps.subsample(clip.reshape(1, -1, 1, 1), per_clip).reshape(-1)
            indices.append([int(v) for v in picked])
        frame_times.append({"frameCount": frames, "fps": fps, "durationSec": duration, "clipDuration": clip_duration,
                            "clipsPerVideo": clips, "framesPerClip": per_clip, "frameIndices": indices})
    # Views: two tiny videos, constants passed in (not the demo pack's: kept small).
    size, clips, per_clip = 16, 2, 2
    mean, std = CLIP_MEAN, CLIP_STD
    rng = np.random.default_rng(7)
    view_cases = []
    for name, (h, w) in {"tall_20x36": (36, 20), "wide_41x22": (22, 41)}.items():
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        frames = np.stack([np.clip(127 + 100 * np.sin(x / (2 + f) + y / (3 + c)) + rng.normal(0, 10, (h, w)), 0, 255)
                           for f in range(clips * per_clip) for c in range(3)]).reshape(clips * per_clip, 3, h, w)
        frames = np.round(frames).astype(np.uint8).transpose(0, 2, 3, 1)  # [N, H, W, 3] as decoded
        views = []
        for k in range(clips):
            clip = torch.from_numpy(frames[k * per_clip : (k + 1) * per_clip].astype(np.float32)).permute(3, 0, 1, 2)  # C,T,H,W
            clip = clip / 255.0
            clip = steps.short_side_scale(clip, size)
            clip = (clip - torch.tensor(mean)[:, None, None, None]) / torch.tensor(std)[:, None, None, None]
            views += [uniform_crop(clip, size, i) for i in (0, 1, 2)]
        stacked = torch.stack(views).numpy().astype(np.float32)  # [clips*3, 3, T, S, S]
        save_npy(out_dir / f"{name}.frames.npy", frames)
        save_npy(out_dir / f"{name}.views.npy", stacked)
        view_cases.append({"name": name, "frames": f"{name}.frames.npy", "views": f"{name}.views.npy", "shape": list(stacked.shape)})
    index = {"source": "facebookresearch/pytorchvideo clip_sampling.py + transforms/functional.py (local copy)" if source
             else "definitions written out in reference_vision.py",
             "frameTimes": frame_times,
             "views": {"size": size, "clipsPerVideo": clips, "framesPerClip": per_clip, "spatialCrops": 3, "mean": mean, "std": std,
                       "cases": view_cases}}
    (out_dir / "index.json").write_text(json.dumps(index) + "\n")
    print(f"wrote {len(frame_times)} frame-time cases and {len(view_cases)} view cases to {out_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["real", "demo", "video"])
    parser.add_argument("--pytorchvideo", type=Path, help="folder with pytorchvideo's clip_sampling.py and functional.py")
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "real-samples")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--manifest", type=Path, default=ROOT / "models" / "demo" / "manifest.json")
    args = parser.parse_args()
    if args.which == "real":
        run_real(args.out or ROOT / ".cache" / "reference" / "real-samples" / "vision", args.samples)
    elif args.which == "demo":
        run_demo(args.out or ROOT / "models" / "demo" / "reference" / "vision", args.manifest)
    else:
        run_video(args.out or ROOT / "models" / "demo" / "reference" / "vision" / "video", args.pytorchvideo)


if __name__ == "__main__":
    main()
