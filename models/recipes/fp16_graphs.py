"""float16 compute graphs (`--precision fp16` of export_stable_unclip.py and export_imagebind.py,
and optimize_unclip_graphs.py after the onnxruntime transformers optimizer): every float32
weight and activation of an exported float32 graph in float16, except the nodes that Stable
Diffusion 2.x keeps in float32, with the graph's inputs and outputs left float32 so that the
pack contract (models/README.md: float32 tensors) and the TypeScript side stay as they are.

The conversion itself is onnxruntime's (`onnxruntime.transformers.float16.convert_float_to_float16`,
the converter its Stable Diffusion optimize_pipeline uses; `pip install onnxruntime`); this
module chooses what stays float32:

- the attention scores: q.k^T, its scale and mask, and the softmax. The SD 2.x reference code
  computes them in float32 whatever the model's dtype (Stability-AI/stablediffusion,
  ldm/modules/attention.py, CrossAttention.forward: `_ATTN_PRECISION` defaults to "fp32",
  "force cast to fp32 to avoid overflowing"), and diffusers does the same for SD 2.1 under
  `upcast_attention` (Attention.get_attention_scores: query and key .float(), then softmax; the
  probabilities go back to the value's dtype before the product with v, which stays float16
  here too). Found from each Softmax backwards through element-wise ops to the MatMul.
- the sinusoidal timestep embedding, from the timestep input to the first MatMul / Gemm: diffusers
  computes it in float32 and casts after (get_timestep_embedding's `timesteps[:, None].float()`;
  UNet2DConditionModel.forward: "timesteps does not contain any weights and will always return
  f32 tensors"), since float16 cannot hold t * frequency (t up to 999) to the precision sin and
  cos need (a spacing of 0.5 near 1000).
- a LayerNorm's statistics where the export wrote them out in primitive ops (opset < 17, which
  has no LayerNormalization: ImageBind's encoders): the square of x - mean overflows float16
  past 256 and the epsilon is a float16 subnormal. A LayerNormalization op (opset 17: the
  Stable unCLIP graphs) stays one float16 op: onnxruntime's kernels keep its statistics in
  float32 inside.
Everything else is float16, GroupNorm (InstanceNormalization in these exports) and
LayerNormalization included, as onnxruntime's optimize_pipeline converts SD 1.x / 2.x (its
`force_fp32_operators` lists are empty for the UNet, the VAE and the text encoder; only SD-XL's
VAE decoder is left float32 there)."""
from __future__ import annotations

from collections import deque
from pathlib import Path

import onnx

# The graphs export_stable_unclip.py writes, by the names --fp32-graphs takes.
UNCLIP_GRAPHS = ("text_encoder", "unet", "vae")
# |onnx - reference| <= absolute * max(1, max |reference|) for a float16 compute graph against
# PyTorch's float32 arithmetic (verify-outputs.ts, per case): ten times the largest difference
# measured on random-weight exports (models/README.md, "float16 compute").
FP16_COMPUTE_TOLERANCE = {"absolute": 2e-2, "relativeToMaxAbs": True}

# Ops between q.k^T and the softmax in the exported attention (scale, baddbmm's beta term, mask).
SCORE_PATH_OPS = frozenset({"Mul", "Div", "Add", "Sub", "Where", "Cast"})
# Where a float32 region stops: the products with weights (kept float16).
PRODUCT_OPS = frozenset({"MatMul", "Gemm", "Einsum"})


def graph_precisions(precision: str, fp32_graphs: str, graphs: tuple[str, ...] = UNCLIP_GRAPHS) -> dict[str, str]:
    """Each graph's precision: `precision`, but fp32 for those named in the comma list `fp32_graphs`."""
    kept = [g for g in fp32_graphs.split(",") if g]
    unknown = [g for g in kept if g not in graphs]
    if unknown:
        raise SystemExit(f"--fp32-graphs: {', '.join(unknown)}? (graphs: {', '.join(graphs)})")
    return {g: "fp32" if g in kept else precision for g in graphs}


def producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output if out}


def consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    found: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            if name:
                found.setdefault(name, []).append(node)
    return found


def attention_score_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of every Softmax and of the nodes its scores come through: element-wise ops
    (SCORE_PATH_OPS) back to, and including, the product (MatMul / Gemm / Einsum) that made them."""
    made_by = producers(graph)
    found: list[str] = []
    seen: set[str] = set()
    for softmax in (n for n in graph.node if n.op_type == "Softmax"):
        queue = deque([softmax])
        while queue:
            node = queue.popleft()
            if node.name in seen:
                continue
            seen.add(node.name)
            found.append(node.name)
            if node.op_type in PRODUCT_OPS:
                continue
            for name in node.input:
                source = made_by.get(name)
                if source is not None and (source.op_type in SCORE_PATH_OPS or source.op_type in PRODUCT_OPS):
                    queue.append(source)
    return found


def timestep_embedding_nodes(graph: onnx.GraphProto, input_name: str) -> list[str]:
    """Names of the nodes downstream of `input_name` up to, not including, the first product
    with a weight (MatMul / Gemm / Einsum): the sinusoidal embedding of the timestep."""
    used_by = consumers(graph)
    found: list[str] = []
    seen: set[str] = set()
    queue = deque(used_by.get(input_name, []))
    while queue:
        node = queue.popleft()
        if node.name in seen or node.op_type in PRODUCT_OPS:
            continue
        seen.add(node.name)
        found.append(node.name)
        for out in node.output:
            queue.extend(used_by.get(out, []))
    return found


def layer_norm_statistics_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the statistics of every LayerNorm written out in primitive ops (opset < 17 has no
    LayerNormalization: ImageBind's export, opset 14): mean = ReduceMean(x), d = Sub(x, mean),
    Pow(d, 2), ReduceMean, Add(eps), Sqrt, and the Div(d, .) that normalises. In float16 the
    square overflows past |d| = 256 and eps (1e-6) is a subnormal; the fused op, which the GPU
    kernels compute in float32 inside, does not have those problems."""
    made_by = producers(graph)
    used_by = consumers(graph)
    found: list[str] = []
    for power in (n for n in graph.node if n.op_type == "Pow"):
        diff = made_by.get(power.input[0])
        if diff is None or diff.op_type != "Sub":
            continue
        mean = made_by.get(diff.input[1])
        chain = [power]
        node = power
        while True:  # Pow -> ReduceMean -> Add -> Sqrt -> Div
            users = used_by.get(node.output[0], [])
            if len(users) != 1 or users[0].op_type not in ("ReduceMean", "Add", "Sqrt", "Div"):
                break
            node = users[0]
            chain.append(node)
            if node.op_type == "Div":
                break
        if node.op_type != "Div" or node.input[0] != diff.output[0]:
            continue
        region = ([mean] if mean is not None and mean.op_type == "ReduceMean" else []) + [diff] + chain
        found += [n.name for n in region if n.name not in found]
    return found


def name_unnamed_nodes(graph: onnx.GraphProto) -> None:
    """Block lists go by node name: every node gets one (unique) if the exporter left it empty."""
    taken = {n.name for n in graph.node if n.name}
    for i, node in enumerate(graph.node):
        if not node.name:
            name = f"{node.op_type}_fp16graphs_{i}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def float32_nodes(graph: onnx.GraphProto, timestep_input: str | None = None) -> list[str]:
    """The nodes an fp16 compute graph keeps in float32 (the module docstring says why), with
    the Constant nodes that feed only them (the converter would round a Constant's value, e.g.
    the embedding's frequencies, to float16 and cast it back)."""
    keep = attention_score_nodes(graph)
    keep += [n for n in layer_norm_statistics_nodes(graph) if n not in keep]
    if timestep_input is not None:
        keep += [n for n in timestep_embedding_nodes(graph, timestep_input) if n not in keep]
    kept = set(keep)
    used_by = consumers(graph)
    for node in graph.node:
        users = [u for out in node.output for u in used_by.get(out, [])]
        if node.op_type == "Constant" and users and all(u.name in kept for u in users) and node.name not in kept:
            keep.append(node.name)
    return keep


def declare_float_types(graph: onnx.GraphProto, node_names: list[str], float_tensors: set[str]) -> None:
    """value_info (element type float32) for the inputs and outputs of the named nodes that
    `float_tensors` lists and the graph does not type yet. The converter inserts the Casts around
    a float32 node only for tensors it knows to be float; after the GPU fusions onnxruntime's
    symbolic shape inference gives up (NhwcConv), so the types come from the unfused export."""
    typed = {v.name for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    typed |= {t.name for t in graph.initializer}
    wanted = set(node_names)
    for node in graph.node:
        if node.name not in wanted:
            continue
        for name in list(node.input) + list(node.output):
            if name and name in float_tensors and name not in typed:
                graph.value_info.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
                typed.add(name)


def float_tensor_names(path: str) -> set[str]:
    """Names of the float32 tensors of an ONNX file (standard ops only), by ONNX shape inference
    from file to file (works past 2 GB)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as scratch:
        inferred = os.path.join(scratch, "inferred.onnx")
        onnx.shape_inference.infer_shapes_path(path, inferred)
        model = onnx.load(inferred, load_external_data=False)
    g = model.graph
    names = {v.name for v in list(g.input) + list(g.output) + list(g.value_info)
             if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    return names | {t.name for t in g.initializer if t.data_type == onnx.TensorProto.FLOAT}


def to_fp16_compute(model: onnx.ModelProto | str, keep_float32: list[str]) -> onnx.ModelProto:
    """onnxruntime's float16 converter with float32 inputs and outputs (keep_io_types) and the
    named nodes left float32 (Casts at their borders), nodes re-sorted (the Casts it inserts
    for blocked nodes can come after their users). Give a path for a graph over 2 GB: the
    converter then infers shapes file to file (onnx.shape_inference.infer_shapes_path), which
    protocol buffers' limit does not stop; a ModelProto must hold its weights."""
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    converted = convert_float_to_float16(model, keep_io_types=True, node_block_list=keep_float32)
    join_float32_regions(converted.graph)
    sorted_model = OnnxModel(converted)
    sorted_model.topological_sort()
    return sorted_model.model


def fp16_compute_graph(graph: onnx.ModelProto, scratch: Path, timestep_input: str | None = None) -> onnx.ModelProto:
    """An exported float32 graph (weights loaded) as a float16 compute graph, its float32 regions
    found here (float32_nodes), converted from a file written in `scratch` so that a graph over
    2 GB converts too."""
    name_unnamed_nodes(graph.graph)
    keep = float32_nodes(graph.graph, timestep_input)
    named = scratch / "named.onnx"
    onnx.save_model(graph, str(named), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="named.onnx.data", size_threshold=1024)
    del graph
    return to_fp16_compute(str(named), keep)


def to_fp16_compute_fused(optimized, keep_float32: list[str]) -> None:
    """The same for a graph the onnxruntime transformers optimizer has fused (an OnnxModel, changed
    in place): its com.microsoft ops are typed by onnxruntime's symbolic shape inference
    (OnnxModel.convert_float_to_float16), which ONNX's own shape inference cannot do."""
    optimized.convert_float_to_float16(keep_io_types=True, node_block_list=keep_float32)
    join_float32_regions(optimized.model.graph)
    optimized.topological_sort()


def join_float32_regions(graph: onnx.GraphProto) -> None:
    """Repairs the converter's output so that adjacent float32 nodes stay float32 between them.

    The converter treats each blocked node alone: a Cast to float16 after each of its outputs and
    a Cast back to float32 in front of each blocked user, so q.k^T would round (and overflow,
    past 65504) to float16 on its way to the scale and the softmax; with two blocked users of one
    tensor it also writes the same Cast twice (one name, one output: invalid ONNX). Here the
    duplicates go, every float32 -> float16 -> float32 round trip is read from its float32
    source instead, and the Casts left unused are removed."""
    unique: list[onnx.NodeProto] = []
    seen: set[tuple] = set()
    for node in graph.node:
        key = (node.name, node.op_type, tuple(node.input), tuple(node.output))
        if key not in seen:
            seen.add(key)
            unique.append(node)
    float32 = {v.name for v in list(graph.input) + list(graph.value_info) + list(graph.output)
               if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    float32 |= {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    made_by = {out: node for node in unique for out in node.output}
    outputs = {v.name for v in graph.output}
    source_of: dict[str, str] = {}
    for node in unique:
        if cast_target(node) != onnx.TensorProto.FLOAT or node.output[0] in outputs:
            continue
        half = made_by.get(node.input[0])
        if half is not None and cast_target(half) == onnx.TensorProto.FLOAT16 and half.input[0] in float32:
            source_of[node.output[0]] = half.input[0]
    for node in unique:
        for i, name in enumerate(node.input):
            if name in source_of:
                node.input[i] = source_of[name]
    kept = drop_unused_casts(unique, outputs)
    del graph.node[:]
    graph.node.extend(kept)


def cast_target(node: onnx.NodeProto) -> int | None:
    """The `to` type of a Cast node, None for any other node."""
    if node.op_type != "Cast":
        return None
    return next((a.i for a in node.attribute if a.name == "to"), None)


def drop_unused_casts(nodes: list[onnx.NodeProto], graph_outputs: set[str]) -> list[onnx.NodeProto]:
    """`nodes` less the Casts whose output nothing reads (repeated: a Cast may feed only such Casts)."""
    while True:
        read = {name for node in nodes for name in node.input} | graph_outputs
        kept = [n for n in nodes if n.op_type != "Cast" or n.output[0] in read]
        if len(kept) == len(nodes):
            return kept
        nodes = kept
