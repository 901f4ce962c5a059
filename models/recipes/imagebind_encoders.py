"""The model and ONNX side of export_imagebind.py: ImageBind built from the installed package
(the public checkpoint or seeded random weights), one modality of it as the module each ONNX
file is traced from, the seeded sample inputs, the export (one file, or a file + `.data` past
2 GB; float16 weight storage under --precision fp16-weights, float16 compute under fp16) and the
check tensors verify-outputs-cli.ts reads."""
from __future__ import annotations

import json
import shutil
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
from onnx_export import export_torchscript  # noqa: E402  the TorchScript exporter on torch 1.13 and 2.x
from fp16_graphs import FP16_COMPUTE_TOLERANCE, fp16_compute_graph  # noqa: E402  --precision fp16

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


def export_encoder(encoder: ModalityEncoder, path: Path, precision: str) -> list[Path]:
    """torch.onnx.export into a scratch folder (torch writes one file per weight past 2 GB),
    then one .onnx, with one external .data file when the weights pass 2 GB, in `precision`
    (fp32; fp16-weights: float16 storage, float32 arithmetic; fp16: float16 compute with the
    attention scores and softmax float32, fp16_graphs.py). Returns the files."""
    input_name, _, _ = INPUTS[encoder.modality]
    example = sample_input(encoder.modality, 2, torch.Generator().manual_seed(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    data_name = path.name + ".data"
    for old in (path, path.parent / data_name):
        old.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{encoder.modality}-") as scratch:
        raw = Path(scratch) / "model.onnx"
        with torch.enable_grad():
            export_torchscript(encoder, (example,), raw, input_names=[input_name], output_names=["embedding"],
                               dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}}, opset_version=OPSET)
        model = onnx.load(str(raw))  # reads torch's external weight files, if any
        if precision == "fp16":
            model = fp16_compute_graph(model, Path(scratch))
    if precision == "fp16-weights":
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


def export_encoders(model: torch.nn.Module, out: Path, modalities: list[str], precision: str, seed: int) -> None:
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
        files = export_encoder(encoder, path, precision)
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
                      "outputs": {"embedding": save_tensor(check_dir, f"{modality}.embedding", y)},
                      **({"tolerance": FP16_COMPUTE_TOLERANCE} if precision == "fp16" else {})})
        print(f"{modality}: {', '.join(f.name for f in files)} ({size / 1e6:.1f} MB) exported in {seconds:.0f} s")
    # float32 kernels of PyTorch and ONNX Runtime differ in summation order only: 1e-4 of the
    # output's scale (the demo pack's bar, models/demo parity tests).
    (check_dir / "index.json").write_text(json.dumps({
        "note": "raw encoder outputs (before postprocess) of PyTorch on seeded tensors; verify-outputs-cli.ts runs the ONNX files on them",
        "tolerance": {"absolute": 1e-4, "relativeToMaxAbs": True}, "cases": cases}, indent=1) + "\n")
