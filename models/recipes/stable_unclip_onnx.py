"""The ONNX side of export_stable_unclip.py: the modules traced for each graph (the pipeline's
calls), the export itself (one file, or a file + `.data` past protocol buffers' 2 GiB), the
precisions (float32; float16 weight storage; float16 compute through fp16_graphs.py), the
rounding of the PyTorch weights that matches float16 weights, and the sample inputs + PyTorch
outputs saved for packages/model-pack/src/verify-outputs.ts."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from fp16_graphs import fp16_compute_graph
from onnx_export import export_torchscript
from onnx_files import save_graph

FP16_MAX = 65504.0
# Float initializers smaller than this stay float32 under fp16-weights (constants, masks, scales).
FP16_MIN_ELEMENTS = 1024
# What a graph computes in (export_stable_unclip.py --precision):
# fp32; fp16-weights: float16 storage, a Cast to float32 in front of each weight's users, float32
# arithmetic (the old --fp16); fp16: float16 weights and activations (fp16_graphs.py).
PRECISIONS = ("fp32", "fp16-weights", "fp16")


# ---------------------------------------------------------------- graphs


class UnetExport(torch.nn.Module):
    """Stable unCLIP's UNet call: unet(sample, t, encoder_hidden_states, class_labels)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, class_labels):
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, class_labels=class_labels,
                         return_dict=False)[0]


class VaeDecoderExport(torch.nn.Module):
    """vae.decode(latents / scaling_factor): the division is the caller's (TypeScript's)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):
        return self.vae.decode(latent, return_dict=False)[0]


class TextEncoderExport(torch.nn.Module):
    """CLIPTextModel(input_ids)[0]: the final-layer-normed token states encode_prompt uses."""

    def __init__(self, text_encoder):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):
        return self.text_encoder(input_ids, return_dict=False)[0]


def export_graph(model: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], opset: int,
                 precision: str, timestep_input: str | None = None) -> None:
    """torch.onnx.export into a scratch folder, then saved as one file, or a file + `.data`, in
    `precision` (PRECISIONS). Under fp16 the timestep embedding that starts at `timestep_input`
    stays float32 with the attention scores (fp16_graphs.py)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISIONS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {n: {0: "batch"} for n in inputs + outputs}
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "model.onnx"
        with torch.no_grad():
            # the TorchScript exporter on every torch (2.9+ defaults to dynamo, which reads no dynamic_axes)
            export_torchscript(model.eval(), args, raw, input_names=inputs, output_names=outputs,
                               dynamic_axes=axes, opset_version=opset)
        graph = onnx.load(str(raw))  # loads any external data torch wrote for a large model
        if precision == "fp16":
            graph = fp16_compute_graph(graph, Path(scratch), timestep_input)
    if precision == "fp16-weights":
        weights_to_fp16(graph)
    save_graph(graph, path)


def weights_to_fp16(graph: onnx.ModelProto) -> None:
    """float32 initializers (>= FP16_MIN_ELEMENTS values, all within float16's range) stored as
    float16, each behind a Cast back to float32 under its old name: the graph's arithmetic,
    inputs and outputs are unchanged, the weights lose precision to float16's."""
    casts = []
    for init in graph.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < FP16_MIN_ELEMENTS:
            continue
        values = numpy_helper.to_array(init)
        if not np.all(np.isfinite(values)) or np.abs(values).max() > FP16_MAX:
            continue
        name = init.name
        half = numpy_helper.from_array(values.astype(np.float16), name + "__fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=onnx.TensorProto.FLOAT,
                                      name=name + "__to_fp32"))
    nodes = list(graph.graph.node)
    del graph.graph.node[:]
    graph.graph.node.extend(casts + nodes)


def round_weights_to_fp16(module: torch.nn.Module) -> None:
    """Every float parameter and buffer rounded to the nearest float16 value (kept as float32;
    values beyond float16's range are left as they are, as weights_to_fp16 leaves them)."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.dtype == torch.float32:
                tensor.copy_(torch.where(tensor.abs() <= FP16_MAX, tensor.half().float(), tensor))


# ---------------------------------------------------------------- checks


def save_check(check_dir: Path, out: Path, name: str, file: str, inputs: dict, outputs: dict, seconds: float,
               cases: list, tolerance: dict | None = None) -> None:
    """Sample inputs and PyTorch's outputs as raw little-endian tensors, one case of the index
    packages/model-pack/src/verify-outputs.ts reads (with its own `tolerance` when given, else
    the index's)."""
    check_dir.mkdir(parents=True, exist_ok=True)
    case = {"modality": name, "file": file, "inputs": {}, "outputs": {}, "exportSeconds": round(seconds, 1),
            "bytes": sum(p.stat().st_size for p in (out / file).parent.glob(Path(file).name + "*"))}
    if tolerance is not None:
        case["tolerance"] = tolerance
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for key, value in tensors.items():
            array = value.detach().cpu().numpy()
            dtype = "int64" if array.dtype == np.int64 else "float32"
            np.ascontiguousarray(array, dtype=dtype).tofile(check_dir / f"{name}.{key}.bin")
            case[kind][key] = {"path": f"{name}.{key}.bin", "shape": list(array.shape), "dtype": dtype}
    cases.append(case)
