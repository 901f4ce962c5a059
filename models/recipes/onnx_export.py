"""One torch.onnx.export for every recipe (imagebind_encoders.py, stable_unclip_onnx.py,
export_demo.py): the TorchScript exporter, on PyTorch 1.13 (Debian's) and on 2.x alike.

PyTorch 2.5 added `dynamo=` to torch.onnx.export and 2.9 made dynamo the default; the dynamo
exporter ignores `dynamic_axes` and the opset asked for, so a pack's batch dimension would
be fixed. Where the keyword exists it is passed as False; 1.13 has no such keyword (and only
the TorchScript exporter)."""
from __future__ import annotations

import inspect
from pathlib import Path

import torch


def accepts_dynamo_keyword(export=None) -> bool:
    """Whether this torch.onnx.export takes `dynamo=` (torch >= 2.5)."""
    return "dynamo" in inspect.signature(export or torch.onnx.export).parameters


def export_torchscript(model: torch.nn.Module, args: tuple, path: Path | str, *, input_names: list[str],
                       output_names: list[str], dynamic_axes: dict, opset_version: int,
                       do_constant_folding: bool = True) -> None:
    """torch.onnx.export with the TorchScript exporter, so `dynamic_axes` and `opset_version` hold."""
    legacy = {"dynamo": False} if accepts_dynamo_keyword() else {}
    torch.onnx.export(model, args, str(path), input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset_version,
                      do_constant_folding=do_constant_folding, **legacy)
