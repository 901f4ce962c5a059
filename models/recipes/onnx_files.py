"""Saving an ONNX graph as a pack file (one file, or a file + `<name>.data` past protocol buffers'
2 GiB): shared by stable_unclip_onnx.py and optimize_unclip_graphs.py, without torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

# Protocol buffers cannot serialise a message over 2 GiB; stay well below it.
EXTERNAL_DATA_THRESHOLD = 1_800_000_000


def save_graph(graph: onnx.ModelProto, path: Path) -> None:
    """One file, or a file + `<name>.data` past EXTERNAL_DATA_THRESHOLD; checked by onnx unless it
    has onnxruntime's own ops (com.microsoft: the optimizer's fusions), which onnx has no schema for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".data")):
        stale.unlink(missing_ok=True)
    if initializer_bytes(graph) > EXTERNAL_DATA_THRESHOLD:
        onnx.save_model(graph, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=1024)
    else:
        onnx.save_model(graph, str(path))
    if all(node.domain in ("", "ai.onnx") for node in graph.graph.node):
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
