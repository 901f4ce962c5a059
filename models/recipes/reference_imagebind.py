"""PyTorch-pipeline embeddings of input FILES for an exported ImageBind pack (export_imagebind.py):
the reference packages/imagebind/test/imagebind-huge-pack.test.ts holds the TypeScript
pipeline (decoders, preprocessing, ONNX encoders, postprocess, clip averaging) to.

Per file, ImageBind's own steps: the installed package's data.py loaders where it has them
(load_and_transform_vision_data, _audio_data, _text), the recipe's torchvision transform with
the pack's constants for depth and thermal (ImageBind ships no loader for them; see
reference_vision.py), the IMU recording as it is; then ImageBindModel.forward itself
(preprocessor, trunk, head, postprocessor; audio clips averaged by the model). Imports only
torch and the installed `imagebind` package (plus this folder's helpers).

Which modality a file is, by name: *.wav / *.flac audio, *.depth.png depth, *.thermal.png
thermal, other *.png / *.jpg / *.jpeg vision, *.imu.csv / *.imu.npy IMU ([6, 2000]; CSV with
one header line, one row per sample), *.txt text (the whole file, stripped). Other files are
skipped.

Writes PACK/reference/embeddings/: inputs/ (copies of the files), <case>.embedding.bin
(float32 [D]), <case>.input.bin (the model's input tensor) and index.json.

    /usr/bin/python3 models/recipes/reference_imagebind.py --pack PACK \
        (--checkpoint imagebind_huge.pth | --random-weights --seed 0) DIR [DIR ...]
(export_imagebind.py --reference-inputs DIR... calls write_references with its model.)
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_vision import image_transform  # noqa: E402

AUDIO_SUFFIXES = (".wav", ".flac")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def modality_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(AUDIO_SUFFIXES):
        return "audio"
    if name.endswith(".depth.png"):
        return "depth"
    if name.endswith(".thermal.png"):
        return "thermal"
    if name.endswith(IMAGE_SUFFIXES):
        return "vision"
    if name.endswith((".imu.csv", ".imu.npy")):
        return "imu"
    if name.endswith(".txt"):
        return "text"
    return None


def read_imu(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        signal = np.load(path).astype(np.float32)
    else:
        signal = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32).T
    if signal.shape != (6, 2000):
        raise ValueError(f"{path}: expected an IMU recording of shape (6, 2000), found {signal.shape}")
    return np.ascontiguousarray(signal)


def model_input(modality: str, path: Path, manifest: dict) -> torch.Tensor:
    """The batch ImageBindModel.forward takes for this one file."""
    from imagebind import data
    if modality == "vision":
        return data.load_and_transform_vision_data([str(path)], "cpu")  # [1, 3, 224, 224]
    if modality == "audio":
        return data.load_and_transform_audio_data([str(path)], "cpu")  # [1, clips, 1, 128, 204]
    if modality == "text":
        return data.load_and_transform_text([path.read_text(encoding="utf-8").strip()], "cpu")  # [1, 77]
    if modality in ("depth", "thermal"):
        pre = manifest["encoders"][modality]["preprocess"]
        with open(path, "rb") as f:
            image = Image.open(f).convert("L")
        return image_transform(pre["size"], pre["mean"], pre["std"])(image).unsqueeze(0)  # [1, 1, 224, 224]
    if modality == "imu":
        return torch.from_numpy(read_imu(path)).unsqueeze(0)  # [1, 6, 2000]
    raise ValueError(modality)


def save_bin(path: Path, tensor: torch.Tensor) -> dict:
    array = tensor.detach().numpy()
    dtype = "int64" if array.dtype == np.int64 else "float32"
    np.ascontiguousarray(array, dtype="<i8" if dtype == "int64" else "<f4").tofile(path)
    return {"path": path.name, "shape": list(array.shape), "dtype": dtype}


def write_references(model: torch.nn.Module, pack: Path, input_dirs: list[Path]) -> Path:
    """Embeds every recognised file of `input_dirs` with `model` (eval) and writes the
    reference folder. Returns its index.json."""
    manifest = json.loads((pack / "manifest.json").read_text())
    out = pack / "reference" / "embeddings"
    shutil.rmtree(out, ignore_errors=True)
    (out / "inputs").mkdir(parents=True)
    cases = []
    model.eval()
    for folder in input_dirs:
        for path in sorted(Path(folder).iterdir()):
            modality = modality_of(path)
            if modality is None or modality not in manifest["encoders"]:
                continue
            copy = out / "inputs" / path.name
            if copy.exists():
                raise SystemExit(f"two inputs named {path.name}: rename one")
            shutil.copyfile(path, copy)
            x = model_input(modality, path, manifest)
            with torch.no_grad():
                embedding = model({modality: x})[modality][0]
            case = path.name
            entry = {"modality": modality, "input": f"inputs/{path.name}",
                     "embedding": save_bin(out / f"{case}.embedding.bin", embedding),
                     "modelInput": save_bin(out / f"{case}.input.bin", x)}
            if modality == "text":
                entry["text"] = path.read_text(encoding="utf-8").strip()
            cases.append(entry)
            print(f"reference {modality:8s} {path.name}: |e| = {float(embedding.norm()):.4f}")
    index = {"note": "ImageBind's own pipeline in PyTorch on these files (models/recipes/reference_imagebind.py)",
             "torch": torch.__version__, "pack": manifest["name"], "cases": cases}
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(cases)} reference embeddings to {out}")
    return out / "index.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, required=True, help="a pack written by export_imagebind.py (its manifest.json is read)")
    weights = ap.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint", type=Path)
    weights.add_argument("--random-weights", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="the seed the pack was exported with")
    ap.add_argument("--architecture", choices=["huge", "tiny"], default="huge")
    ap.add_argument("--fp16", action="store_true", help="the pack was exported with --fp16 (weights rounded to float16)")
    ap.add_argument("inputs", type=Path, nargs="+", help="folders of input files")
    args = ap.parse_args()
    from imagebind_encoders import build_model, round_weights_to_fp16
    model = build_model(args.checkpoint, args.seed, args.architecture)
    if args.fp16:
        round_weights_to_fp16(model)
    write_references(model, args.pack, args.inputs)


if __name__ == "__main__":
    main()
