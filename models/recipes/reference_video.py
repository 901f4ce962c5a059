"""PyTorch reference for the demo pack's VIDEO embeddings (@a2i/imagebind src/video, @a2i/media
decodeVideoFrames), read by packages/imagebind/test/video-parity.test.ts.

The transform is ImageBind's `load_and_transform_video_data` (facebookresearch/ImageBind,
imagebind/data.py) with the pack's constants (manifest.json encoders.video.preprocess) passed
in instead of its 224 / CLIP mean-std, and its pytorchvideo pieces (the commit ImageBind pins,
6cdc929) as reference_vision.py's PytorchvideoSteps runs them:

  * the video as decord sees it (pytorchvideo EncodedVideoDecord, data.py decoder="decord"):
    every frame decoded, fps = the stream's average frame rate, duration = frames / fps;
  * clips: ConstantClipsPerVideoSampler(clipDuration, clipsPerVideo) driven by data.py
    get_clip_timepoints (start_k = k * max(duration - clip, 0) / max(clips - 1, 1), Fractions);
  * a clip's frames: EncodedVideoDecord.get_clip, indices ceil(fps * start) ..
    min(ceil(fps * end), frames) - 1; then UniformTemporalSubsample(framesPerClip)
    (torch.linspace(0, t - 1, n).long());
  * per clip: / 255 (data.py; the manifest's `rescale` when it gives one), ShortSideScale(size)
    (torch bilinear interpolate, align_corners=False, no antialias), NormalizeVideo(mean, std),
    then SpatialCrop(size, spatialCrops) (data.py uniform_crop: left/centre/right of a wide
    frame, top/centre/bottom of a tall one, centre offset ceil((dim - size) / 2)).

The demo vision encoder takes single images [-1, 3, S, S] (export_demo.py), so every frame of
every view is one row (the TypeScript "frames" layout): the image tower of the trained
checkpoint (train_encoders.load_clip(), DEMO_WORK / clip.pt) on the rows, then the manifest's
postprocess per row (L2-normalise, scale) and the mean over all rows (ImageBind averages
views after postprocessing).

Decoding: the ffmpeg binary the TypeScript side runs (the system's, or FFMPEG_PATH), all
frames of the first video stream to rgb24 with the same conversion arguments as
decodeVideoFrames, so decoder / colour-conversion differences are out of the comparison (PyAV
or decord link other libswscale builds and flags: a different RGB by a few levels). The frames
are then picked BY INDEX as decord does, not by timestamp as the TypeScript side does; the
frame timestamps come from ffprobe (pts * time_base).

Inputs: the pack's sample videos (samples/index.json `files.video`) and three variants made
from them here with the same ffmpeg binary (written to <out>/inputs/), so the resize, the three
distinct crops, a non-integer frame rate and a video shorter than one clip are exercised:
wide 96x72 at 30000/1001 fps, tall 60x90 at 12 fps, and the first 1.5 s.

Writes <out>/index.json (constants, and per video: frame count, fps, clip spans, frame indices
and times, crop offsets, a per-view summary, the embedding) and per video
<name>.frames.npy (`decodedFrames`: uint8 [clips * T, H, W, 3], the decoded frames used),
<name>.clips.npy (`clipTensors`: float32 [clips, 3, T, H', W'], the clips after ShortSideScale +
NormalizeVideo, before SpatialCrop: each view is a crop of one of them at the offsets listed),
<name>.rows.npy (`rawRows`: float32 [views * T, D], the tower's raw outputs, row r = view
r // T, frame r % T).

Usage (Debian's torch 1.13: /usr/bin/python3):
    /usr/bin/python3 reference_video.py [--pack ../demo] [--out PACK/reference/video]
                                        [--pytorchvideo DIR]
DIR holds pytorchvideo's clip_sampling.py and functional.py (a local copy, never committed);
without it the same steps are computed from their definitions (reference_vision.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dataset import WORK
from reference_vision import PytorchvideoSteps, decord_frame_indices, uniform_crop
from train_encoders import load_clip

ROOT = Path(__file__).resolve().parents[2]
# data.py: `video_clip / 255.0` (8-bit frames); used when the manifest gives no `rescale`.
DATA_PY_RESCALE = 1 / 255
# The conversion decodeVideoFrames asks ffmpeg for (packages/media/src/video/decode-video-frames.ts),
# minus its showinfo filter (which logs and leaves pixels alone).
DECODE_ARGS = ["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", "null", "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
# Variants made from the samples: (suffix, ffmpeg -vf filters, extra output args).
VARIANTS = [
    ("wide-ntsc", "scale=96:72:flags=bicubic,fps=30000/1001", []),  # downscale 72 -> 64 (width 85), crops 0 / 11 / 21
    ("tall-12fps", "scale=60:90:flags=bicubic,fps=12", []),         # upscale 60 -> 64 (height 96), crops 0 / 16 / 32
    ("short-1p5s", "null", ["-t", "1.5"]),                           # shorter than one clip: 5 identical clips
]


def binaries() -> tuple[str, str]:
    """ffmpeg / ffprobe as @a2i/media resolves them: FFMPEG_PATH / FFPROBE_PATH, else the system's on PATH."""
    ffmpeg = os.environ.get("FFMPEG_PATH") or shutil.which("ffmpeg")
    ffprobe = os.environ.get("FFPROBE_PATH") or shutil.which("ffprobe")
    for name, path in (("ffmpeg", ffmpeg), ("ffprobe", ffprobe)):
        if not path or not Path(path).is_file():
            raise SystemExit(f"no {name}: install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH / FFPROBE_PATH")
    return ffmpeg, ffprobe


def display_path(path: Path) -> str:
    """Relative to the repository when inside it (reproducible JSON), else as given."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run(args: list[str]) -> bytes:
    return subprocess.run(args, check=True, capture_output=True).stdout


def make_variant(ffmpeg: str, source: Path, target: Path, filters: str, extra: list[str]) -> None:
    """Re-encodes `source` (picture only) single-threaded and bit-exact, so reruns give the same file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    run([ffmpeg, "-y", "-hide_banner", "-loglevel", "error", "-i", str(source), *extra, "-map", "0:v:0", "-an",
         "-vf", filters, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", "-threads", "1",
         "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", str(target)])


class DecodedVideo:
    """A video as pytorchvideo's EncodedVideoDecord sees it: all frames, average fps, duration = frames / fps."""

    def __init__(self, ffmpeg: str, ffprobe: str, path: Path):
        info = json.loads(run([ffprobe, "-v", "error", "-select_streams", "v:0", "-of", "json", "-show_entries",
                               "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,time_base:frame=pts,best_effort_timestamp",
                               str(path)]))
        stream = info["streams"][0]
        self.width, self.height = int(stream["width"]), int(stream["height"])
        # decord get_avg_fps: av_q2d(avg_frame_rate), the base rate r_frame_rate when that is 0/0.
        rate = stream["avg_frame_rate"] if stream["avg_frame_rate"] not in ("0/0", "0/1") else stream["r_frame_rate"]
        self.fps_rational = Fraction(rate)
        self.fps = float(self.fps_rational)
        raw = run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), *DECODE_ARGS])
        frame_bytes = self.width * self.height * 3
        if len(raw) % frame_bytes:
            raise SystemExit(f"{path}: {len(raw)} bytes of rgb24 is not a whole number of {self.width}x{self.height} frames")
        self.frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, self.height, self.width, 3)
        self.nb_frames = int(stream["nb_frames"]) if "nb_frames" in stream else None
        if self.nb_frames is not None and self.nb_frames != len(self.frames):
            raise SystemExit(f"{path}: the container lists {self.nb_frames} frames but {len(self.frames)} decode")
        # Presentation times from ffprobe, relative to the first frame (exact rationals).
        time_base = Fraction(stream["time_base"])
        pts = [int(f.get("best_effort_timestamp", f.get("pts"))) for f in info["frames"]]
        if len(pts) != len(self.frames):
            raise SystemExit(f"{path}: ffprobe lists {len(pts)} frames, ffmpeg decodes {len(self.frames)}")
        self.times = [(p - pts[0]) * time_base for p in pts]
        self.duration = float(len(self.frames)) / self.fps  # EncodedVideoDecord.duration

    def clip_indices(self, start: Fraction, end: Fraction) -> list[int]:
        """EncodedVideoDecord.get_clip's frame numbers (get_clip refuses start > duration)."""
        if start > end or start > self.duration:
            raise SystemExit(f"get_clip({start}, {end}) is outside a {self.duration} s video")
        return decord_frame_indices(self.fps, len(self.frames), start, end)


def crop_offset(height: int, width: int, size: int, spatial_index: int) -> tuple[int, int]:
    """data.py uniform_crop's (y_offset, x_offset): centre ceil((dim - size) / 2); index 0 / 2 take
    the start / end of the long side (height when height > width, else width)."""
    top, left = int(np.ceil((height - size) / 2)), int(np.ceil((width - size) / 2))
    if height > width:
        top = {0: 0, 1: top, 2: height - size}[spatial_index]
    else:
        left = {0: 0, 1: left, 2: width - size}[spatial_index]
    return top, left


def video_reference(video: DecodedVideo, pre: dict, post: dict, tower: torch.nn.Module, steps: PytorchvideoSteps) -> dict:
    rescale = pre.get("rescale", DATA_PY_RESCALE)
    size, per_clip = int(pre["size"]), int(pre["framesPerClip"])
    mean = torch.tensor(pre["mean"], dtype=torch.float32)[:, None, None, None]
    std = torch.tensor(pre["std"], dtype=torch.float32)[:, None, None, None]
    crops = [0, 1, 2] if pre["spatialCrops"] == 3 else [1]  # data.py SpatialCrop
    clips, clip_tensors, used_frames, views, crop_list = [], [], [], [], []
    for k, (start, end) in enumerate(steps.clip_times(video.duration, pre["clipDuration"], pre["clipsPerVideo"])):
        span = video.clip_indices(start, end)
        # UniformTemporalSubsample on the clip [C, T, H, W]; the frame numbers go through the same op.
        picked = steps.subsample(torch.tensor(span, dtype=torch.float32).reshape(1, -1, 1, 1), per_clip).reshape(-1)
        indices = [int(v) for v in picked]
        frames = torch.from_numpy(video.frames[span].astype(np.float32)).permute(3, 0, 1, 2)  # C, T, H, W in [0, 255]
        clip = steps.subsample(frames, per_clip)
        assert torch.equal(clip, torch.from_numpy(video.frames[indices].astype(np.float32)).permute(3, 0, 1, 2))
        clip = clip * rescale
        clip = steps.short_side_scale(clip, size)
        clip = (clip - mean) / std  # NormalizeVideo
        clip_tensors.append(clip)
        used_frames.append(video.frames[indices])
        clips.append({"clip": k, "startSec": float(start), "endSec": float(end), "start": str(start), "end": str(end),
                      "frameRange": [span[0], span[-1] + 1], "frameIndices": indices,
                      "times": [float(video.times[i]) for i in indices]})
        h, w = clip.shape[-2:]
        for spatial_index in crops:
            view = uniform_crop(clip, size, spatial_index)
            top, left = crop_offset(h, w, size, spatial_index)
            assert torch.equal(view, clip[..., top:top + size, left:left + size])
            views.append(view)
            crop_list.append({"clip": k, "spatialIndex": spatial_index, "top": top, "left": left})
    stacked = torch.stack(views)  # [views, 3, T, S, S]: data.py's video input for one file
    rows = stacked.permute(0, 2, 1, 3, 4).reshape(-1, 3, size, size)  # [views * T, 3, S, S]: one frame per row
    with torch.no_grad():
        raw = tower(rows)
    embedded = F.normalize(raw, dim=-1) * post["scale"] if post["normalize"] else raw * post["scale"]
    embedding = embedded.mean(0)
    flat = stacked.reshape(stacked.shape[0], -1)
    return {
        "fps": video.fps, "fpsRational": str(video.fps_rational), "frameCount": len(video.frames),
        "durationSec": video.duration, "width": video.width, "height": video.height,
        "clips": clips,
        "frameIndices": [i for c in clips for i in c["frameIndices"]],
        "times": [t for c in clips for t in c["times"]],
        "scaledSize": [int(clip_tensors[0].shape[-2]), int(clip_tensors[0].shape[-1])],
        "views": {"shape": list(stacked.shape), "crops": crop_list,
                  "summary": {"mean": flat.mean(1).tolist(), "std": flat.std(1).tolist(),
                              "min": flat.min(1).values.tolist(), "max": flat.max(1).values.tolist()}},
        "embedding": embedding.tolist(),
        # index.json key -> (file suffix, array)
        "_arrays": {"decodedFrames": ("frames", np.stack(used_frames).reshape(-1, video.height, video.width, 3)),
                    "clipTensors": ("clips", torch.stack(clip_tensors).numpy().astype(np.float32)),
                    "rawRows": ("rows", raw.numpy().astype(np.float32))},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, default=ROOT / "models" / "demo")
    ap.add_argument("--out", type=Path, help="default: PACK/reference/video")
    ap.add_argument("--pytorchvideo", type=Path, help="folder with pytorchvideo's clip_sampling.py and functional.py")
    args = ap.parse_args()
    torch.set_num_threads(1)
    pack = args.pack.resolve()
    out = (args.out or pack / "reference" / "video").resolve()
    manifest = json.loads((pack / "manifest.json").read_text())
    video_manifest = manifest["encoders"]["video"]
    pre, post = video_manifest["preprocess"], video_manifest["postprocess"]
    if video_manifest["encoder"] != "vision" or pre["encoder"] != "vision":
        raise SystemExit("the demo pack's video goes through the vision encoder; this script runs its image tower")
    ffmpeg, ffprobe = binaries()
    steps = PytorchvideoSteps(args.pytorchvideo)
    tower, _, _ = load_clip()

    shutil.rmtree(out, ignore_errors=True)
    (out / "inputs").mkdir(parents=True)
    samples = json.loads((pack / "samples" / "index.json").read_text())
    videos = [(s["name"], s["files"]["video"]) for s in samples if "video" in s["files"]]
    if not videos:  # export_demo.py found no ffmpeg: nothing to compare
        print(f"no sample video listed in {pack / 'samples/index.json'}: no video reference written")
        return
    sources = list(videos)
    for k, (suffix, filters, extra) in enumerate(VARIANTS):
        name, file = sources[k % len(sources)]
        target = out / "inputs" / f"{name}.{suffix}.mp4"
        make_variant(ffmpeg, pack / file, target, filters, extra)
        videos.append((f"{name}.{suffix}", str(target.relative_to(pack)) if target.is_relative_to(pack) else str(target)))

    cases = []
    for name, file in videos:
        ref = video_reference(DecodedVideo(ffmpeg, ffprobe, pack / file), pre, post, tower, steps)
        arrays = ref.pop("_arrays")
        for key, (suffix, array) in arrays.items():
            np.save(out / f"{name}.{suffix}.npy", array)
            ref[key] = f"{name}.{suffix}.npy"
        cases.append({"name": name, "file": file, **ref})
        print(f"{name}: {ref['frameCount']} frames at {ref['fpsRational']} fps, frames {ref['frameIndices']}, "
              f"views {ref['views']['shape']}, |embedding| {np.linalg.norm(ref['embedding']):.4f}")
    version = run([ffmpeg, "-version"]).decode().splitlines()[0]
    index = {
        "source": "ImageBind data.py load_and_transform_video_data with the pack's constants; pytorchvideo "
                  + ("clip_sampling.py + functional.py (local copy)" if args.pytorchvideo else "steps written out in reference_vision.py"),
        "preprocess": pre, "postprocess": post, "rescale": pre.get("rescale", DATA_PY_RESCALE),
        "decoder": {"ffmpeg": version, "args": DECODE_ARGS, "frames": "every frame decoded, picked by index (decord)"},
        "checkpoint": display_path(WORK / "clip.pt"),
        "layout": "rows = views x framesPerClip frames, [views * T, 3, S, S]; embedding = mean of postprocessed rows",
        "torch": torch.__version__,
        "videos": cases,
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(cases)} videos to {out} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
