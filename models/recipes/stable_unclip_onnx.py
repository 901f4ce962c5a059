"""The ONNX side of export_stable_unclip.py: the modules traced for each graph (the pipeline's
calls), the export itself (one file, or a file + `.data` past protocol buffers' 2 GiB), the
float16 weight storage of --fp16 and the rounding of the PyTorch weights that matches it, and
the sample inputs + PyTorch outputs saved for packages/model-pack/src/verify-outputs.ts."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from onnx_export import export_torchscript

# Protocol buffers cannot serialise a message over 2 GiB; stay well below it.
EXTERNAL_DATA_THRESHOLD = 1_800_000_000
FP16_MAX = 65504.0
# Float initializers smaller than this stay float32 under --fp16 (constants, masks, scales).
FP16_MIN_ELEMENTS = 1024


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
                 fp16: bool) -> None:
    """torch.onnx.export into a scratch folder, then saved as one file, or a file + `.data`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {n: {0: "batch"} for n in inputs + outputs}
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "model.onnx"
        with torch.no_grad():
            # the TorchScript exporter on every torch (2.9+ defaults to dynamo, which reads no dynamic_axes)
            export_torchscript(model.eval(), args, raw, input_names=inputs, output_names=outputs,
                               dynamic_axes=axes, opset_version=opset)
        graph = onnx.load(str(raw))  # loads any external data torch wrote for a large model
    if fp16:
        weights_to_fp16(graph)
    for stale in (path, path.with_name(path.name + ".data")):
        stale.unlink(missing_ok=True)
    if initializer_bytes(graph) > EXTERNAL_DATA_THRESHOLD:
        onnx.save_model(graph, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=1024)
    else:
        onnx.save_model(graph, str(path))
    onnx.checker.check_model(str(path))


def initializer_bytes(graph: onnx.ModelProto) -> int:
    total = 0
    for t in graph.graph.initializer:
        count = int(np.prod(t.dims)) if len(t.dims) else 1
        total += count * np.dtype(np_dtype(t.data_type)).itemsize
    return total


def np_dtype(tensor_type: int):
    if hasattr(onnx.helper, "tensor_dtype_to_np_dtype"):  # onnx >= 1.13
        return onnx.helper.tensor_dtype_to_np_dtype(tensor_type)
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tensor_type]


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
               cases: list) -> None:
    """Sample inputs and PyTorch's outputs as raw little-endian tensors, one case of the index
    packages/model-pack/src/verify-outputs.ts reads."""
    check_dir.mkdir(parents=True, exist_ok=True)
    case = {"modality": name, "file": file, "inputs": {}, "outputs": {}, "exportSeconds": round(seconds, 1),
            "bytes": sum(p.stat().st_size for p in (out / file).parent.glob(Path(file).name + "*"))}
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for key, value in tensors.items():
            array = value.detach().cpu().numpy()
            dtype = "int64" if array.dtype == np.int64 else "float32"
            np.ascontiguousarray(array, dtype=dtype).tofile(check_dir / f"{name}.{key}.bin")
            case[kind][key] = {"path": f"{name}.{key}.bin", "shape": list(array.shape), "dtype": dtype}
    cases.append(case)
