"""Exports ImageBind-huge (facebookresearch/ImageBind, Girdhar et al. 2023) to the encoders of a
model pack (models/README.md): one ONNX file per modality, the manifest fragment for them, the
CLIP BPE vocabulary the package ships as tokenizer/vocab.json + merges.txt, and the checksums.

The official `imagebind` package is imported as an installed dependency (`pip install` of
facebookresearch/ImageBind with its requirements); nothing of it is vendored here.

    /usr/bin/python3 models/recipes/export_imagebind.py --checkpoint imagebind_huge.pth --out PACK
    /usr/bin/python3 models/recipes/export_imagebind.py --random-weights --seed 0 --out PACK \
        --reference-inputs models/demo/samples ../shared/real-samples

Each ONNX file is the modality's preprocessor + trunk + head (ImageBindModel.forward up to, not
including, its postprocessor): one row per image, clip or view, batch dimension dynamic:
vision clips [-1, 3, 2, 224, 224] (a still image is 2 equal frames), text int64 [-1, 77], audio [-1, 1, 128, 204], depth and thermal
[-1, 1, 224, 224], imu [-1, 6, 2000] -> embedding [-1, 1024]. The postprocessor (L2
normalisation, then the modality's logit scale) and the averaging over clips / views are done
by the TypeScript side from the manifest's `postprocess`.

Export details: opset 14; traced with autograd on (torch 1.13's nn.MultiheadAttention fast
path has no ONNX symbolic and is taken only with grad off); a file whose weights pass 2 GB is
saved with its weights in one external file `<modality>.onnx.data` beside it. `--fp16` rounds
every weight to a float16 value and stores the large ones as float16 with a Cast back to
float32 (half the disk; inputs, outputs and arithmetic stay float32, so ONNX Runtime computes
what the rounded PyTorch model computes).

Checks: every export is run in onnxruntime-node against PyTorch on seeded sample tensors
(reference/onnx/, compared by packages/model-pack/src/verify-outputs-cli.ts, which also
times batch 1); `--reference-inputs DIR...` also writes PyTorch-pipeline embeddings of the
files in those folders (reference_imagebind.py) for packages/imagebind/test/imagebind-huge-pack.test.ts.
"""
from __future__ import annotations

import argparse
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_audio import IMAGEBIND_AUDIO  # noqa: E402  ImageBind's audio constants
from reference_text import convert_real_vocab  # noqa: E402  SimpleTokenizer's vocabulary order
from reference_vision import CLIP_MEAN, CLIP_STD, REAL_GRAY  # noqa: E402
from pack_files import sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OPSET = 14
MODALITIES = ("vision", "text", "audio", "depth", "thermal", "imu")
# ONNX's protobuf limit: a model whose weights pass it keeps them in an external file.
EXTERNAL_DATA_BYTES = 2 * 1024**3
# modality -> (ONNX input name, one row's shape, dtype); the model's own input sizes
# (imagebind_model.py: img_size of each preprocessor, text context 77).
INPUTS = {
    # vision takes clips [3, T=2, 224, 224] (the preprocessor's Conv3d kernel is 2 frames): video
    # keeps its two distinct frames per clip, a still image is repeated (PadIm2Video, done in
    # TypeScript: imageAsClip)
    "vision": ("pixel_values", [3, 2, 224, 224], "float32"),
    "text": ("input_ids", [77], "int64"),
    "audio": ("fbank", [1, 128, 204], "float32"),
    "depth": ("depth", [1, 224, 224], "float32"),
    "thermal": ("thermal", [1, 224, 224], "float32"),
    "imu": ("imu", [6, 2000], "float32"),
}
TEXT_VOCAB = 49408  # CLIP BPE: 49406 = <|startoftext|>, 49407 = <|endoftext|>

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


# ---------------------------------------------------------------- the model
def imagebind_modules():
    """The installed package's model module and data module (imported here, not at the top, so
    `--help` works without it)."""
    from imagebind import data
    from imagebind.models import imagebind_model
    return imagebind_model, data


def build_model(checkpoint: Path | None, seed: int, architecture: str = "huge") -> torch.nn.Module:
    """imagebind_huge with the public checkpoint, or seeded random weights (tests). `tiny` is the
    same architecture with 32-wide, 2-block towers: a quick check of the export path only."""
    imagebind_model, _ = imagebind_modules()
    torch.manual_seed(seed)
    if architecture == "huge":
        model = imagebind_model.imagebind_huge(pretrained=False)
    else:
        width = dict(embed_dim=32, num_blocks=2, num_heads=4)
        model = imagebind_model.ImageBindModel(
            out_embed_dim=32, **{f"{m}_{k}": v for m in ("vision", "text", "audio", "depth", "thermal", "imu") for k, v in width.items()})
    if checkpoint is not None:
        state = torch.load(str(checkpoint), map_location="cpu")
        model.load_state_dict(state, strict=True)
    return model.eval()


def round_weights_to_fp16(model: torch.nn.Module) -> None:
    """Every floating weight and buffer to its nearest float16 value (kept as float32)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())


class ModalityEncoder(torch.nn.Module):
    """One modality of ImageBindModel.forward without the postprocessor and the clip averaging:
    preprocessor (patch / token embedding, positions) -> trunk (transformer) -> head."""

    def __init__(self, model: torch.nn.Module, modality: str):
        super().__init__()
        self.modality = modality
        self.preprocessor = model.modality_preprocessors[modality]
        self.trunk = model.modality_trunks[modality]
        self.head = model.modality_heads[modality]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.modality == "imu":
            out = self.imu_tokens(x)
        else:
            out = self.preprocessor(**{self.modality: x})
        tokens = self.trunk(**out["trunk"])
        return self.head(tokens, **out["head"])

    def imu_tokens(self, x: torch.Tensor) -> dict:
        """IMUPreprocessor.forward with its patchify `unfold(-1, k, k)` written as the reshape it
        equals when step == size (same values, same order). torch 1.13 exports that unfold as
        one Slice per patch, and the graph it gave ran at the traced batch size only (ONNX
        Runtime refused batch 1: "Incompatible dimensions for matrix multiplication")."""
        p = self.preprocessor
        channels, length = INPUTS["imu"][1]
        k = p.kernel_size
        patches = x.reshape(-1, channels, length // k, k).permute(0, 2, 1, 3).reshape(-1, length // k, channels * k)
        return {"trunk": {"tokens": p.tokenize_input_and_cls_pos(patches, p.imu_stem)}, "head": {}}


def official_raw_output(model: torch.nn.Module, modality: str, x: torch.Tensor) -> torch.Tensor:
    """ImageBindModel.forward's own steps for one modality, before its postprocessor: the
    reference the exported graph (with ModalityEncoder's IMU rewrite) is checked against."""
    out = model.modality_preprocessors[modality](**{modality: x})
    tokens = model.modality_trunks[modality](**out["trunk"])
    return model.modality_heads[modality](tokens, **out["head"])


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


# ---------------------------------------------------------------- ONNX
def sample_input(modality: str, rows: int, generator: torch.Generator) -> torch.Tensor:
    """Seeded tensors of an encoder's input layout; text: start token, random ids, end token at
    different positions, zero padding."""
    _, shape, _ = INPUTS[modality]
    if modality != "text":
        return torch.randn(rows, *shape, generator=generator)
    ids = torch.zeros(rows, shape[0], dtype=torch.int64)
    for r in range(rows):
        length = int(torch.randint(3, shape[0] + 1, (1,), generator=generator))
        ids[r, 0] = TEXT_VOCAB - 2
        ids[r, 1:length - 1] = torch.randint(1, TEXT_VOCAB - 2, (length - 2,), generator=generator)
        ids[r, length - 1] = TEXT_VOCAB - 1
    return ids


def store_weights_fp16(model: onnx.ModelProto, min_elements: int = 1024) -> None:
    """Large float32 initializers -> float16 + Cast to float32 (lossless after round_weights_to_fp16)."""
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) < min_elements:
            continue
        array = numpy_helper.to_array(init)
        half = numpy_helper.from_array(array.astype(np.float16), init.name + "__fp16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"))
    for node in reversed(casts):
        graph.node.insert(0, node)


def weight_bytes(model: onnx.ModelProto) -> int:
    total = 0
    for init in model.graph.initializer:
        if init.HasField("raw_data"):
            total += len(init.raw_data)
        else:
            total += np.prod(init.dims, dtype=np.int64) * {TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2, TensorProto.INT64: 8}.get(init.data_type, 4)
    return int(total)


def export_encoder(encoder: ModalityEncoder, path: Path, fp16: bool) -> list[Path]:
    """torch.onnx.export into a scratch folder (torch writes one file per weight past 2 GB),
    then one .onnx, with one external .data file when the weights pass 2 GB. Returns the files."""
    input_name, _, _ = INPUTS[encoder.modality]
    example = sample_input(encoder.modality, 2, torch.Generator().manual_seed(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    data_name = path.name + ".data"
    for old in (path, path.parent / data_name):
        old.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{encoder.modality}-") as scratch:
        raw = Path(scratch) / "model.onnx"
        with torch.enable_grad():
            torch.onnx.export(encoder, (example,), str(raw), input_names=[input_name], output_names=["embedding"],
                              dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}},
                              opset_version=OPSET, do_constant_folding=True)
        model = onnx.load(str(raw))  # reads torch's external weight files, if any
    if fp16:
        store_weights_fp16(model)
    if weight_bytes(model) > EXTERNAL_DATA_BYTES:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
        files = [path, path.parent / data_name]
    else:
        onnx.save_model(model, str(path))
        files = [path]
    del model
    onnx.checker.check_model(str(path))  # by path: works past 2 GB
    return files


def save_tensor(folder: Path, name: str, tensor: torch.Tensor) -> dict:
    """Raw little-endian values + shape and dtype (read by verify-outputs.ts without an npy parser)."""
    array = tensor.detach().numpy()
    dtype = {np.dtype(np.float32): ("float32", "<f4"), np.dtype(np.int64): ("int64", "<i8")}[array.dtype]
    np.ascontiguousarray(array, dtype=dtype[1]).tofile(folder / f"{name}.bin")
    return {"path": f"{name}.bin", "shape": list(array.shape), "dtype": dtype[0]}




def export_encoders(model: torch.nn.Module, out: Path, modalities: list[str], fp16: bool, seed: int) -> None:
    """Every modality to encoders/<modality>.onnx, and the check tensors beside the pack:
    reference/onnx/<modality>.*.bin (seeded inputs; PyTorch's raw outputs through the model's
    own forward) + index.json, which verify-outputs-cli.ts reads."""
    check_dir = out / "reference" / "onnx"
    shutil.rmtree(check_dir, ignore_errors=True)
    check_dir.mkdir(parents=True)
    cases = []
    for modality in modalities:
        encoder = ModalityEncoder(model, modality).eval()
        path = out / "encoders" / f"{modality}.onnx"
        t0 = time.time()
        files = export_encoder(encoder, path, fp16)
        seconds = time.time() - t0
        size = sum(f.stat().st_size for f in files)
        rows_per_input = IMAGEBIND_AUDIO["clipsPerInput"] if modality == "audio" else 1
        x = sample_input(modality, max(2, rows_per_input), torch.Generator().manual_seed(1000 + seed))
        with torch.no_grad():
            y = official_raw_output(model, modality, x)
        input_name = INPUTS[modality][0]
        cases.append({"modality": modality, "file": f"encoders/{modality}.onnx", "rowsPerInput": rows_per_input,
                      "bytes": size, "exportSeconds": round(seconds, 1),
                      "inputs": {input_name: save_tensor(check_dir, f"{modality}.{input_name}", x)},
                      "outputs": {"embedding": save_tensor(check_dir, f"{modality}.embedding", y)}})
        print(f"{modality}: {', '.join(f.name for f in files)} ({size / 1e6:.1f} MB) exported in {seconds:.0f} s")
    # float32 kernels of PyTorch and ONNX Runtime differ in summation order only: 1e-4 of the
    # output's scale (the demo pack's bar, models/demo parity tests).
    (check_dir / "index.json").write_text(json.dumps({
        "note": "raw encoder outputs (before postprocess) of PyTorch on seeded tensors; verify-outputs-cli.ts runs the ONNX files on them",
        "tolerance": {"absolute": 1e-4, "relativeToMaxAbs": True}, "cases": cases}, indent=1) + "\n")


# ---------------------------------------------------------------- manifest
def encoder_entry(modality: str, preprocess: dict, postprocess: dict, dim: int) -> dict:
    name, shape, dtype = INPUTS[modality]
    return {"file": f"encoders/{modality}.onnx", "input": {"name": name, "shape": [-1, *shape], "dtype": dtype},
            "output": {"name": "embedding", "shape": [-1, dim]}, "space": "imagebind",
            "preprocess": preprocess, "postprocess": postprocess}


def write_manifest(out: Path, model: torch.nn.Module, modalities: list[str], dim: int, name: str, description: str,
                   license_text: str) -> dict:
    """manifest.json of an encoders-only pack: no decoder, no prior (the assembly step merges
    a decoder in); `files` lists every file of encoders/ (external .data included) and tokenizer/."""
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
        "prior": None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


# ---------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    weights = ap.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint", type=Path, help="imagebind_huge.pth (the public checkpoint)")
    weights.add_argument("--random-weights", action="store_true", help="seeded random weights (tests)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights and sample tensors")
    ap.add_argument("--out", type=Path, required=True, help="pack folder to write (encoders/, tokenizer/, manifest.json)")
    ap.add_argument("--fp16", action="store_true", help="store weights as float16 (float32 inputs, outputs and arithmetic)")
    ap.add_argument("--modalities", default=",".join(MODALITIES), help="comma-separated subset to export (default: all six)")
    ap.add_argument("--architecture", choices=["huge", "tiny"], default="huge", help="tiny: 32-wide towers, to try the export path quickly")
    ap.add_argument("--reference-inputs", type=Path, nargs="*", default=[],
                    help="folders of input files: write PyTorch-pipeline embeddings of them (reference_imagebind.py)")
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-node check (verify-outputs-cli.ts)")
    args = ap.parse_args()
    modalities = [m.strip() for m in args.modalities.split(",") if m.strip()]
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        ap.error(f"unknown modalities {unknown}; choose from {MODALITIES}")

    _, data = imagebind_modules()
    check_audio_constants(data)
    out = args.out.resolve()
    if ROOT in out.parents or out == ROOT:
        print(f"note: writing inside the repository ({out}); exported files must not be committed")
    out.mkdir(parents=True, exist_ok=True)

    started = time.time()
    model = build_model(args.checkpoint, args.seed, args.architecture)
    if args.fp16:
        round_weights_to_fp16(model)
    params = sum(p.numel() for p in model.parameters())
    print(f"built imagebind_{args.architecture} ({params / 1e6:.0f} M parameters, "
          f"{'checkpoint ' + str(args.checkpoint) if args.checkpoint else f'random weights, seed {args.seed}'}) in {time.time() - started:.0f} s")
    dim = model.modality_heads["vision"][-1].out_features

    shutil.rmtree(out / "tokenizer", ignore_errors=True)
    convert_real_vocab(Path(data.return_bpe_path()), out / "tokenizer")

    export_encoders(model, out, modalities, args.fp16, args.seed)

    source = "the public checkpoint" if args.checkpoint else f"RANDOM weights (seed {args.seed}): for tests only, embeddings mean nothing"
    manifest = write_manifest(
        out, model, modalities, dim,
        name=f"imagebind-{args.architecture}" + ("" if args.checkpoint else f"-random-seed{args.seed}"),
        description=f"ImageBind-{args.architecture} encoders (facebookresearch/ImageBind) exported by models/recipes/export_imagebind.py "
                    f"from {source}; {'float16 weights, ' if args.fp16 else ''}opset {OPSET}. Encoders only: an unCLIP decoder pack is merged in by the pack assembly step.",
        license_text="CC BY-NC-SA 4.0 (ImageBind model and weights)" if args.checkpoint else "CC BY-NC-SA 4.0 (ImageBind model code); random weights")
    print(f"wrote {out / 'manifest.json'} ({len(manifest['files'])} files)")

    if args.reference_inputs:
        from reference_imagebind import write_references
        write_references(model, out, args.reference_inputs)

    if not args.no_verify:
        command = ["npx", "tsx", "packages/model-pack/src/verify-outputs-cli.ts", str(out)]
        print("$ " + " ".join(command), flush=True)
        result = subprocess.run(command, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(f"onnxruntime-node check failed (exit {result.returncode})")


if __name__ == "__main__":
    main()
