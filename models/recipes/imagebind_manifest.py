"""The manifest side of export_imagebind.py: each modality's preprocess constants (ImageBind's
data.py, checked against the installed package), its postprocess read from the model, and the
manifest.json of an encoders-only pack."""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_audio import IMAGEBIND_AUDIO  # noqa: E402  ImageBind's audio constants
from reference_vision import CLIP_MEAN, CLIP_STD, REAL_GRAY  # noqa: E402
from pack_files import sha256  # noqa: E402
from imagebind_encoders import INPUTS  # noqa: E402

# ImageBind data.py load_and_transform_vision_data: bicubic short side 224, centre crop, CLIP stats.
VISION_PREPROCESS = {"type": "image", "size": 224, "resize": "bicubic", "crop": "center", "rescale": 1 / 255,
                     "mean": CLIP_MEAN, "std": CLIP_STD, "channels": 3}


def gray_preprocess(kind: str) -> dict:
    """Depth / thermal: no official loader; the community one (reference_vision.REAL_GRAY):
    grayscale, the vision geometry, depth un-normalised, thermal mean 0.5 std 0.5."""
    mean, std = REAL_GRAY[kind]
    return {"type": kind, "size": 224, "resize": "bicubic", "crop": "center", "rescale": 1 / 255,
            "mean": mean, "std": std, "channels": 1}


TEXT_PREPROCESS = {"type": "text", "tokenizer": {
    "type": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt", "contextLength": 77,
    "startToken": "<|startoftext|>", "endToken": "<|endoftext|>", "padId": 0, "lowercase": True}}
# IMU: 10 s at 200 Hz, 6 channels (ImageBind paper, Ego4D IMU; imu_kernel_size 8 -> 250 patches).
IMU_PREPROCESS = {"type": "imu", "channels": 6, "length": 2000, "sampleRate": 200}
# data.py load_and_transform_video_data: 5 clips of 2 s, 2 frames each, short side 224
# (pytorchvideo ShortSideScale: bilinear), CLIP stats, 3 spatial crops; frames go through vision.
VIDEO_PREPROCESS = {"type": "video", "encoder": "vision", "clipDuration": 2.0, "clipsPerVideo": 5, "framesPerClip": 2,
                    "spatialCrops": 3, "size": 224, "resize": "bilinear", "mean": CLIP_MEAN, "std": CLIP_STD}


def postprocess_of(model: torch.nn.Module, modality: str) -> dict:
    """The modality's postprocessor as manifest `postprocess`: Normalize(dim=-1), then
    LearnableLogitScaling's clip(exp(log_logit_scale), max) (text: the learned value)."""
    from imagebind.models.helpers import LearnableLogitScaling, Normalize
    post = model.modality_postprocessors[modality]
    steps = list(post) if isinstance(post, torch.nn.Sequential) else [post]
    if not steps or not isinstance(steps[0], Normalize) or steps[0].dim != -1:
        raise ValueError(f"{modality}: expected the postprocessor to start with Normalize(dim=-1), found {post}")
    scale = 1.0
    for step in steps[1:]:
        if not isinstance(step, LearnableLogitScaling):
            raise ValueError(f"{modality}: unexpected postprocessing step {step}")
        scale = float(torch.clip(step.log_logit_scale.exp(), max=step.max_logit_scale))
    return {"normalize": True, "scale": round(scale, 6)}


def check_audio_constants(data) -> None:
    """The manifest's audio constants must be the installed package's defaults."""
    defaults = {k: v.default for k, v in inspect.signature(data.load_and_transform_audio_data).parameters.items()
                if v.default is not inspect.Parameter.empty}
    p = IMAGEBIND_AUDIO
    ours = {"num_mel_bins": p["fbank"]["numMelBins"], "target_length": p["targetLength"], "sample_rate": p["sampleRate"],
            "clip_duration": p["clipDuration"], "clips_per_video": p["clipsPerInput"],
            "mean": p["normalize"]["mean"], "std": p["normalize"]["std"]}
    differ = {k: (v, defaults.get(k)) for k, v in ours.items() if defaults.get(k) != v}
    if differ:
        raise SystemExit(f"audio constants differ from imagebind.data.load_and_transform_audio_data: {differ}")


# ---------------------------------------------------------------- manifest
def encoder_entry(modality: str, preprocess: dict, postprocess: dict, dim: int) -> dict:
    name, shape, dtype = INPUTS[modality]
    return {"file": f"encoders/{modality}.onnx", "input": {"name": name, "shape": [-1, *shape], "dtype": dtype},
            "output": {"name": "embedding", "shape": [-1, dim]}, "space": "imagebind",
            "preprocess": preprocess, "postprocess": postprocess}


def write_manifest(out: Path, model: torch.nn.Module, modalities: list[str], dim: int, conditioning: dict, name: str,
                   description: str, license_text: str) -> dict:
    """manifest.json of an encoders-only pack: no decoder, no prior (the assembly step merges
    a decoder in); `files` lists every file of encoders/ (external .data included) and tokenizer/;
    `conditioning` is conditioning_norm.py's section (the mean raw vision norm), which
    assemble_pack.py carries into the pack."""
    preprocess = {"vision": VISION_PREPROCESS, "text": TEXT_PREPROCESS, "audio": IMAGEBIND_AUDIO,
                  "depth": gray_preprocess("depth"), "thermal": gray_preprocess("thermal"), "imu": IMU_PREPROCESS}
    encoders = {m: encoder_entry(m, preprocess[m], postprocess_of(model, m), dim) for m in modalities}
    if "vision" in modalities:
        encoders["video"] = {"encoder": "vision", "space": "imagebind", "preprocess": VIDEO_PREPROCESS,
                             "postprocess": postprocess_of(model, "vision")}
    files = sorted(p for sub in ("encoders", "tokenizer") for p in (out / sub).iterdir() if p.is_file())
    manifest = {
        "format": "imagebind-unclip-pack/1",
        "name": name,
        "description": description,
        "license": license_text,
        "files": {str(p.relative_to(out)): sha256(p) for p in files},
        "spaces": {"imagebind": {"dim": dim}},
        "encoders": encoders,
        "conditioning": conditioning,
        "prior": None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest

