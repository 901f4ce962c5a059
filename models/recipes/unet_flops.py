"""Arithmetic of one demo UNet row, for the batching bench's compute rate (issue #15).

Counts the floating-point operations (2 per multiply-add) of one model row of the demo pack's
UNet: its convolutions, linear layers and attention (projections, QK^T, AV), with forward hooks
on models_demo.UNet whose weights are read from the pack's ONNX file (pack_torch.py; every weight
must be found there and fit its shape, so the count is of the graph the server runs). Elementwise
work (norms, activations, adds) is left out: it is a few per cent and not multiply-adds.

With --matmul-out it also writes a one-MatMul ONNX graph x [m, k] @ W [k, k] (a large matrix
product, the fastest thing a CPU core does), for the bench to time as the core's attainable rate.

Usage: python3 unet_flops.py [--pack ../demo] [--matmul-out PATH --k 1024]
Prints JSON: {"flopsPerRow", "convFlopsPerRow", "linearFlopsPerRow", "attentionFlopsPerRow", "matmul"?}
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from models_demo import UNet
from pack_torch import load_generation_model


def count_flops(model: nn.Module, *inputs: torch.Tensor) -> dict[str, int]:
    """FLOPs of `model` on `inputs`, by kind: 2 per multiply-add of its convolutions, linear
    layers and attention."""
    flops = {"conv": 0, "linear": 0, "attention": 0}

    def on_conv(m: nn.Conv2d, _inputs, out: torch.Tensor) -> None:
        flops["conv"] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def on_linear(m: nn.Linear, _inputs, out: torch.Tensor) -> None:
        flops["linear"] += 2 * out.numel() * m.in_features

    def on_attention(m: nn.MultiheadAttention, inputs, _out) -> None:
        # nn.MultiheadAttention runs its projections functionally (no Linear hook fires):
        # q, k, v in, QK^T, AV, out
        q, k, v = inputs[0], inputs[1], inputs[2]
        b, length, embed = q.shape
        source = k.shape[1]
        flops["attention"] += 2 * b * (length * embed * embed + source * k.shape[2] * embed + source * v.shape[2] * embed
                                       + 2 * length * source * embed + length * embed * embed)

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(on_conv)
        elif isinstance(module, nn.MultiheadAttention):
            module.register_forward_hook(on_attention)
        elif isinstance(module, nn.Linear) and not isinstance(module, nn.modules.linear.NonDynamicallyQuantizableLinear):
            module.register_forward_hook(on_linear)
    with torch.no_grad():
        model(*inputs)
    return flops


def write_matmul(path: Path, k: int) -> None:
    """y = x @ W with x [m, k] (m dynamic) and a fixed random W [k, k]."""
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, k)).astype(np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", k])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=Path(__file__).resolve().parents[1] / "demo")
    parser.add_argument("--matmul-out", type=Path)
    parser.add_argument("--k", type=int, default=1024)
    args = parser.parse_args()
    unet = load_generation_model(args.pack / "decoder/unet.onnx", UNet())
    # one row: sample [1, 4, 16, 16], timestep [1], encoder_hidden_states [1, 77, W], class_labels [1, 2D]
    flops = count_flops(unet, torch.zeros(1, 4, 16, 16), torch.tensor([500.0]), torch.zeros(1, 77, unet.ma.cross_attn.kdim),
                        torch.zeros(1, unet.class_mlp[0].in_features))
    result: dict[str, object] = {
        "flopsPerRow": sum(flops.values()),
        "convFlopsPerRow": flops["conv"],
        "linearFlopsPerRow": flops["linear"],
        "attentionFlopsPerRow": flops["attention"],
    }
    if args.matmul_out:
        write_matmul(args.matmul_out, args.k)
        result["matmul"] = {"file": str(args.matmul_out), "k": args.k}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
