"""Exports the trained demo models to ONNX (one file per model), writes manifest.json following
the model-pack contract (models/README.md), the tokenizer files and sample inputs of every
modality. onnx.checker validates each graph; ONNX Runtime's outputs are compared with
PyTorch's by the TypeScript tests, on the reference outputs make_reference.py writes.

Usage: python3 export_demo.py [--out ../demo]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import onnx
import torch
from PIL import Image

import world
from dataset import WORK
from models_demo import EMBED_DIM, VaeDecoder
from onnx_export import export_torchscript
from preprocess import (AUDIO_PREPROCESS, CLIP_MEAN, CLIP_STD, DEPTH_PREPROCESS, IMU_PREPROCESS, THERMAL_PREPROCESS,
                        VISION_PREPROCESS)
from train_decoder import DECODER_SCHEDULER, NOISE_AUG_SCHEDULER, load_ae, load_unet
from train_encoders import load_clip, load_encoder
from train_prior import PRIOR_SCHEDULER, load_prior

OPSET = 17
# Sampling defaults and limits (chosen from eval_demo.py's measurements; see report.json).
DECODER_DEFAULTS = {"scheduler": "ddim", "steps": 25, "guidanceScale": 3.0, "noiseLevel": 0}
PRIOR_DEFAULTS = {"scheduler": "ddim", "steps": 25, "guidanceScale": 2.0}
LIMITS = {"maxSteps": 200, "maxImages": 8}
# Query modalities for which prior "auto" runs the prior (eval_demo.py compares both routes).
PRIOR_DEFAULT_FOR = ["text", "audio", "depth", "thermal", "imu"]
# The samples shipped with the pack: (name, place, object, colour, size).
SAMPLES = [("sea-bell", "sea", "ring", "cyan", "large"), ("meadow-boop", "meadow", "circle", "red", "large"),
           ("desert-buzz", "desert", "square", "magenta", "small"), ("night-chirp", "night", "triangle", "white", "large"),
           ("meadow-sparkle", "meadow", "star", "orange", "small")]


class TextExport(torch.nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, input_ids):
        return self.tower(input_ids)


def export(model: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {n: {0: "batch"} for n in inputs + outputs}
    # Traced with autograd on: nn.MultiheadAttention's fused fast path (no ONNX symbolic in
    # torch 1.13) is only taken when grad is disabled.
    with torch.enable_grad():
        export_torchscript(model.eval(), args, path, input_names=inputs, output_names=outputs,
                           dynamic_axes=axes, opset_version=OPSET)
    onnx.checker.check_model(str(path))


def store_fp16_losslessly(path: Path, min_elements: int = 1024) -> None:
    """Stores every float32 initializer whose values are all exact float16 values as float16,
    followed by a Cast back to float32: the graph computes exactly as before at half the size.
    (load_unet / load_prior round the weights to float16 values before export.)"""
    from onnx import TensorProto, helper, numpy_helper
    model = onnx.load(str(path))
    graph = model.graph
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_elements or not np.array_equal(arr.astype(np.float16).astype(np.float32), arr):
            continue
        half = numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        graph.node.insert(0, helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_wav(path: Path, x: np.ndarray, rate: int, channels: int = 1) -> None:
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def ffmpeg_binary() -> str | None:
    for cand in (shutil.which("ffmpeg"), str(Path(__file__).resolve().parents[2] / "node_modules/@ffmpeg-installer/linux-x64/ffmpeg")):
        if cand and Path(cand).exists():
            return cand
    return None


def write_samples(out: Path) -> list[dict]:
    """A few inputs of every modality for the README, the tests and the web page."""
    samples_dir = out / "samples"
    samples_dir.mkdir(parents=True, exist_ok=True)
    listing = []
    ffmpeg = ffmpeg_binary()
    for k, (name, place, obj, colour, size) in enumerate(SAMPLES):
        scene = world.make_scene(np.random.default_rng([777, k]), place=place, obj=obj, colour=colour, size=size)
        files = {}
        write_wav(samples_dir / f"{name}.wav", world.render_sound(scene), world.SAMPLE_RATE)
        files["audio"] = f"samples/{name}.wav"
        Image.fromarray(world.render_image(scene)).save(samples_dir / f"{name}.png")
        files["image"] = f"samples/{name}.png"
        Image.fromarray(world.render_depth(scene)).save(samples_dir / f"{name}.depth.png")
        files["depth"] = f"samples/{name}.depth.png"
        Image.fromarray(world.render_thermal(scene)).save(samples_dir / f"{name}.thermal.png")
        files["thermal"] = f"samples/{name}.thermal.png"
        imu = world.render_imu(scene)
        with open(samples_dir / f"{name}.imu.csv", "w") as f:
            f.write("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n")
            for row in imu.T:
                f.write(",".join(f"{v:.6f}" for v in row) + "\n")
        files["imu"] = f"samples/{name}.imu.csv"
        (samples_dir / f"{name}.txt").write_text(scene.caption() + "\n")
        files["text"] = f"samples/{name}.txt"
        if ffmpeg and k < 2:
            frames, sound = world.render_video(scene)
            tmp = WORK / f"{name}.video"
            tmp.mkdir(exist_ok=True)
            for i, fr in enumerate(frames):
                Image.fromarray(fr).save(tmp / f"{i:03d}.png")
            write_wav(tmp / "sound.wav", sound, world.SAMPLE_RATE)
            subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-framerate", str(world.VIDEO_FPS), "-i", str(tmp / "%03d.png"),
                            "-i", str(tmp / "sound.wav"), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12",
                            "-c:a", "aac", "-b:a", "96k", "-shortest", str(samples_dir / f"{name}.mp4")], check=True)
            files["video"] = f"samples/{name}.mp4"
        listing.append({"name": name, "scene": scene.to_json(), "caption": scene.caption(), "files": files})
    # One recording as a user might upload it: 44.1 kHz stereo, to exercise resampling.
    scene = world.make_scene(np.random.default_rng([777, 99]), place="sea", obj="star", colour="white", size="large")
    mono = torch.from_numpy(world.render_sound(scene)).unsqueeze(0)
    import torchaudio
    up = torchaudio.functional.resample(mono, 16000, 44100)[0].numpy()
    stereo = np.stack([up, 0.8 * up], axis=1).reshape(-1)
    write_wav(samples_dir / "sea-sparkle-44k-stereo.wav", stereo, 44100, channels=2)
    listing.append({"name": "sea-sparkle-44k-stereo", "scene": scene.to_json(), "caption": scene.caption(),
                    "files": {"audio": "samples/sea-sparkle-44k-stereo.wav"}})
    (samples_dir / "index.json").write_text(json.dumps(listing, indent=1))
    return listing


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "demo"))
    args = ap.parse_args()
    out = Path(args.out)
    for sub in ("encoders", "decoder", "prior", "tokenizer", "samples"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    img, txt, text_scale = load_clip()
    export(img, (torch.randn(2, 3, 64, 64),), out / "encoders/vision.onnx", ["pixel_values"], ["embedding"])
    export(TextExport(txt), (torch.randint(0, 300, (2, 77)),), out / "encoders/text.onnx", ["input_ids"], ["embedding", "last_hidden_state"])
    scales = {"vision": 1.0, "text": text_scale}
    shapes = {"audio": [1, 128, 204], "depth": [1, 64, 64], "thermal": [1, 64, 64], "imu": [6, 2000]}
    names = {"audio": "fbank", "depth": "depth", "thermal": "thermal", "imu": "imu"}
    for m in ("audio", "depth", "thermal", "imu"):
        enc, scale = load_encoder(m)
        scales[m] = scale
        export(enc, (torch.randn(2, *shapes[m]),), out / f"encoders/{m}.onnx", [names[m]], ["embedding"])
    unet, uck = load_unet()
    export(unet, (torch.randn(2, 4, 16, 16), torch.tensor([10.0, 500.0]), torch.randn(2, 77, 128), torch.randn(2, 2 * EMBED_DIM)),
           out / "decoder/unet.onnx", ["sample", "timestep", "encoder_hidden_states", "class_labels"], ["out_sample"])
    store_fp16_losslessly(out / "decoder/unet.onnx")
    ae, scaling = load_ae()
    export(VaeDecoder(ae), (torch.randn(2, 4, 16, 16),), out / "decoder/vae_decoder.onnx", ["latent"], ["image"])
    prior, pck = load_prior()
    export(prior, (torch.randn(2, EMBED_DIM), torch.tensor([10.0, 500.0]), torch.randn(2, EMBED_DIM)),
           out / "prior/prior.onnx", ["sample", "timestep", "condition"], ["predicted"])
    store_fp16_losslessly(out / "prior/prior.onnx")
    preview = torch.load(WORK / "preview.pt")
    (out / "tokenizer").mkdir(exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(WORK / "tokenizer" / f, out / "tokenizer" / f)
    samples = write_samples(out)

    def encoder(m: str, input_name: str, shape: list[int], dtype: str, pre: dict) -> dict:
        return {"file": f"encoders/{m}.onnx", "input": {"name": input_name, "shape": [-1, *shape], "dtype": dtype},
                "output": {"name": "embedding", "shape": [-1, EMBED_DIM]}, "space": "imagebind",
                "preprocess": pre, "postprocess": {"normalize": True, "scale": round(float(scales[m]), 6)}}

    text_pre = {"type": "text", "tokenizer": {"type": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                                              "contextLength": 77, "startToken": "<|startoftext|>", "endToken": "<|endoftext|>",
                                              "padId": 0, "lowercase": True}}
    encoders = {
        "vision": encoder("vision", "pixel_values", [3, 64, 64], "float32", VISION_PREPROCESS),
        "text": {**encoder("text", "input_ids", [77], "int64", text_pre),
                 "hiddenStates": {"name": "last_hidden_state", "shape": [-1, 77, 128]}},
        "audio": encoder("audio", "fbank", [1, 128, 204], "float32", AUDIO_PREPROCESS),
        "depth": encoder("depth", "depth", [1, 64, 64], "float32", DEPTH_PREPROCESS),
        "thermal": encoder("thermal", "thermal", [1, 64, 64], "float32", THERMAL_PREPROCESS),
        "imu": encoder("imu", "imu", [6, 2000], "float32", IMU_PREPROCESS),
        # ImageBind's video transform (data.py load_and_transform_video_data), frames through
        # the vision encoder; demo videos are 2-4 s, so the 5 clips of 2 s overlap.
        "video": {"encoder": "vision", "space": "imagebind",
                  "preprocess": {"type": "video", "encoder": "vision", "clipDuration": 2.0, "clipsPerVideo": 5,
                                 "framesPerClip": 2, "spatialCrops": 3, "size": 64, "resize": "bilinear",
                                 "mean": CLIP_MEAN, "std": CLIP_STD},
                  "postprocess": {"normalize": True, "scale": 1.0}},
    }
    emb_mean = uck["mean"].tolist()
    emb_std = uck["std"].tolist()
    decoder = {
        "space": "imagebind", "embeddingNorm": 1.0,
        "unet": {"file": "decoder/unet.onnx",
                 "inputs": {"sample": "sample", "timestep": "timestep", "encoderHiddenStates": "encoder_hidden_states", "classLabels": "class_labels"},
                 "output": "out_sample", "timestepDtype": "float32"},
        "vae": {"file": "decoder/vae_decoder.onnx", "input": "latent", "output": "image", "scalingFactor": round(float(scaling), 6), "outputRange": [-1, 1]},
        "latentShape": [4, 16, 16], "imageSize": [64, 64],
        "scheduler": DECODER_SCHEDULER,
        "noiseAugmentation": {"mean": emb_mean, "std": emb_std, **NOISE_AUG_SCHEDULER,
                              "timestepEmbedding": {"dim": EMBED_DIM, "flipSinToCos": True, "downscaleFreqShift": 0}},
        "promptConditioning": {"encoder": "text", "output": "last_hidden_state", "shape": [77, 128], "unconditionalPrompt": ""},
        "guidance": {"unconditionalClassLabels": "zeros"},
        "preview": {"latentToRgb": preview["weight"].tolist(), "bias": preview["bias"].tolist()},
        "defaults": DECODER_DEFAULTS, "limits": LIMITS,
    }
    prior_m = {
        "space": "imagebind", "file": "prior/prior.onnx",
        "inputs": {"sample": "sample", "timestep": "timestep", "condition": "condition"}, "output": "predicted",
        "conditionNorm": 1.0, "normalizer": {"mean": pck["mean"].tolist(), "std": pck["std"].tolist()}, "outputNorm": 1.0,
        "scheduler": PRIOR_SCHEDULER, "guidance": {"unconditionalCondition": "zeros"},
        "defaults": PRIOR_DEFAULTS, "limits": LIMITS, "defaultFor": PRIOR_DEFAULT_FOR,
    }
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix in (".onnx", ".json", ".txt") and p.parent.name in ("encoders", "decoder", "prior", "tokenizer"))
    manifest = {
        "format": "imagebind-unclip-pack/1",
        "name": "demo",
        "description": "Tiny ImageBind + unCLIP models trained on the demo world (shared/demo-world.md): 64x64 images, a 128-d joint space. Rebuilt by models/recipes/build_demo_pack.sh.",
        "license": "Apache-2.0 (trained here from generated data)",
        "files": {str(p.relative_to(out)): sha256(p) for p in files},
        "spaces": {"imagebind": {"dim": EMBED_DIM}},
        "encoders": encoders,
        "prior": prior_m,
        "decoder": decoder,
        "defaults": {"prior": "auto", **DECODER_DEFAULTS},
        "limits": LIMITS,
        "samples": "samples/index.json",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"exported the demo pack to {out}: {len(files)} files in the manifest, {size / 1e6:.1f} MB in the folder, {len(samples)} samples")


if __name__ == "__main__":
    main()
