"""The onnxruntime transformers optimizer on a float32 Stable unCLIP export (export_stable_unclip.py
--precision fp32): fused attention (MultiHeadAttention), fused LayerNorm and GELU, on a GPU also
fused GroupNorm, NHWC convolutions and bias ops, then (by default) float16 compute as
fp16_graphs.py converts it. Writes a copy of the export (same file names, same input and output
names, float32 inputs and outputs, manifest.fragment.json with the new checksums) that
assemble_pack.py takes like the export itself.

    pip install onnxruntime          # the Python package: a build step, never needed at run time
    python3 models/recipes/optimize_unclip_graphs.py --export /data/unclip-export \\
        --out /data/unclip-gpu --target gpu [--precision fp16|fp32] [--fp32-graphs vae]

--target gpu: onnxruntime's Stable Diffusion settings (optimize_pipeline.py's optimize_model call:
  opt_level 0, every unet / vae / clip fusion; packed QKV and KV only with float16). Its fused
  ops NhwcConv, GroupNorm, SkipGroupNorm, BiasSplitGelu and BiasAdd have CUDA kernels only:
  these graphs open with the CUDA provider (A2I_ORT_PROVIDER=cuda; `npm run pack:check --
  --provider cuda DIR`), not on a CPU.
--target cpu: the same less those five fusions, so that onnxruntime's CPU provider opens the
  graphs (MultiHeadAttention and SkipLayerNormalization have CPU kernels; CPU MultiHeadAttention
  is float32-only, so a float16 graph runs it through Casts).
The fusion comes first and the float16 conversion second (a converted graph no longer matches
the optimizer's patterns, which is why the export must be float32). Attention that the
optimizer did not fuse keeps its scores and softmax float32, as does the UNet's timestep
embedding (fp16_graphs.py). The reference/ tensors are copied, the float16 graphs' cases with
the exporter's float16 bound; check with:
    npx tsx packages/model-pack/src/verify-outputs-cli.ts [--provider cuda] OUT
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import onnx
from onnx.external_data_helper import load_external_data_for_model

from fp16_graphs import (FP16_COMPUTE_TOLERANCE, declare_float_types, float32_nodes, float_tensor_names,
                         graph_precisions, name_unnamed_nodes, to_fp16_compute_fused)
from onnx_files import save_graph
from pack_files import sha256

# Fusions whose ops onnxruntime 1.30 registers for CUDA only (its kernel registry: no CPU kernel
# for NhwcConv, GroupNorm, SkipGroupNorm, BiasSplitGelu, BiasAdd).
CUDA_ONLY_FUSIONS = ("enable_nhwc_conv", "enable_group_norm", "enable_skip_group_norm", "enable_bias_splitgelu",
                     "enable_bias_add",
                     # MultiHeadAttention with packed QKV / KV opens on the CPU but fails at run time there
                     # ("Packed QKV of shape (B, L, N, 3, H) not implemented for CPU")
                     "enable_packed_qkv", "enable_packed_kv")
# the optimizer's model type per graph (optimize_pipeline.py's model_type_mapping)
MODEL_TYPES = {"unet": "unet", "vae": "vae", "text_encoder": "clip"}


def graph_files(fragment: dict) -> dict[str, dict]:
    """Per graph: its file, the input and output names the manifest gives it, and the timestep
    input whose embedding stays float32."""
    d = fragment["decoder"]
    graphs = {
        "unet": {"file": d["unet"]["file"], "names": list(d["unet"]["inputs"].values()) + [d["unet"]["output"]],
                 "timestep": d["unet"]["inputs"]["timestep"]},
        "vae": {"file": d["vae"]["file"], "names": [d["vae"]["input"], d["vae"]["output"]], "timestep": None},
    }
    prompt = fragment.get("promptEncoder")
    if prompt:
        graphs["text_encoder"] = {"file": prompt["file"], "names": [prompt["input"]["name"], prompt["hiddenStates"]["name"]],
                                  "timestep": None}
    return graphs


def fusion_options(model_type: str, target: str, fp16: bool):
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions(model_type)
    if model_type == "unet":  # optimize_pipeline.py: packed QKV / KV only for float16
        options.enable_packed_kv = fp16 and options.enable_packed_kv
        options.enable_packed_qkv = fp16 and options.enable_packed_qkv
    if model_type == "vae":
        # onnxruntime 1.30's VAE attention fusion packs q, k and v into one Attention node with a
        # zero bias where the SD VAE's to_q / to_k / to_v have biases (this exporter's graph: Add(bias,
        # MatMul)): its output was off by 0.14 of 0.44 on a random-weight VAE. Left unfused: one
        # attention block, at the smallest resolution.
        options.enable_attention = False
    if target == "cpu":
        for switch in CUDA_ONLY_FUSIONS:
            setattr(options, switch, False)
    return options


def check_io(model: onnx.ModelProto, names: list[str], file: str) -> None:
    """Every tensor the manifest names is still a float32 (or int64) input or output of the graph."""
    io = {v.name: v.type.tensor_type.elem_type for v in list(model.graph.input) + list(model.graph.output)}
    for name in names:
        if name not in io:
            raise SystemExit(f"{file}: the optimizer left no input or output named {name!r} (it has {', '.join(io)})")
        if io[name] not in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64):
            raise SystemExit(f"{file}: {name!r} became {onnx.TensorProto.DataType.Name(io[name])}; the pack takes float32")


@contextlib.contextmanager
def working_directory(folder: Path):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def optimize_graph(source: Path, target_path: Path, model_type: str, target: str, precision: str, spec: dict) -> dict:
    from onnxruntime.transformers.optimizer import optimize_model

    fp16 = precision == "fp16"
    float_tensors = float_tensor_names(str(source)) if fp16 else set()
    # The weights stay on disk while the optimizer works: it copies the whole model for its
    # symbolic shape inference, which with the weights loaded ran out of 23 GB of RAM on the
    # 3.5 GB UNet. A fusion that reads a weight loads that one (numpy_helper.to_array reads
    # external data relative to the working directory); the rest load once it is done.
    model = onnx.load(str(source), load_external_data=False)
    with working_directory(source.parent):
        optimized = optimize_model(model, model_type=model_type, num_heads=0, hidden_size=0, opt_level=0,
                                   optimization_options=fusion_options(model_type, target, fp16),
                                   use_gpu=target == "gpu")
        load_external_data_for_model(optimized.model, str(source.parent))
    fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    if fp16:
        graph = optimized.model.graph
        name_unnamed_nodes(graph)
        keep = float32_nodes(graph, spec["timestep"])
        declare_float_types(graph, keep, float_tensors)
        to_fp16_compute_fused(optimized, keep)
    check_io(optimized.model, spec["names"], spec["file"])
    save_graph(optimized.model, target_path)
    return {"modelType": model_type, "precision": precision, "fused": fused}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, help="export_stable_unclip.py --precision fp32 output folder")
    ap.add_argument("--out", required=True, help="output folder (a copy of the export with the optimized graphs)")
    ap.add_argument("--target", choices=("gpu", "cpu"), required=True,
                    help="gpu: every fusion (CUDA-only ops); cpu: the fusions onnxruntime's CPU provider runs")
    ap.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    ap.add_argument("--fp32-graphs", default="", help="comma list of graphs kept fp32 (unet, vae, text_encoder)")
    args = ap.parse_args()
    src, out = Path(args.export).resolve(), Path(args.out).resolve()
    if src.resolve() == out.resolve():
        raise SystemExit("--out must be another folder")
    fragment = json.loads((src / "manifest.fragment.json").read_text())
    exported = fragment.get("export", {})
    if exported.get("fp16") or any(p != "fp32" for p in exported.get("precision", {}).values()):
        raise SystemExit(f"{src} was exported with {exported.get('precision') or 'fp16 weights'}: the optimizer fuses "
                         "float32 graphs (export_stable_unclip.py --precision fp32)")
    precision = graph_precisions(args.precision, args.fp32_graphs)

    shutil.rmtree(out, ignore_errors=True)
    graphs = graph_files(fragment)
    graph_paths = {spec["file"] for spec in graphs.values()}
    for path in src.rglob("*"):  # everything but the graphs and their external data
        rel = path.relative_to(src).as_posix()
        if path.is_file() and not any(rel in (g, g + ".data") for g in graph_paths):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out / rel)

    report = {}
    for name, spec in graphs.items():
        started = time.time()
        report[name] = optimize_graph(src / spec["file"], out / spec["file"], MODEL_TYPES[name], args.target,
                                      precision[name], spec)
        report[name]["seconds"] = round(time.time() - started, 1)
        print(f"{spec['file']}: {report[name]}")

    index_path = out / "reference" / "onnx" / "index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text())
        by_file = {spec["file"]: name for name, spec in graphs.items()}
        for case in index["cases"]:
            if case["file"] in by_file:
                case["bytes"] = sum(p.stat().st_size for p in (out / case["file"]).parent.glob(Path(case["file"]).name + "*"))
            if precision.get(by_file.get(case["file"], ""), "fp32") == "fp16":
                case["tolerance"] = FP16_COMPUTE_TOLERANCE
        index_path.write_text(json.dumps(index, indent=1))

    files = sorted(p for p in out.rglob("*")
                   if p.is_file() and p.name != "manifest.fragment.json" and p.relative_to(out).parts[0] != "reference")
    fragment["files"] = {p.relative_to(out).as_posix(): sha256(p) for p in files}
    fragment["export"] = {**exported, "precision": precision,
                          "optimized": {"target": args.target, "onnxruntime": onnxruntime_version(), "graphs": report}}
    fragment["description"] = fragment.get("description", "").replace(
        "; merge with", f" (onnxruntime-optimized for {args.target}, {args.precision}); merge with", 1)
    (out / "manifest.fragment.json").write_text(json.dumps(fragment, indent=1))
    print(f"wrote {out}; check with: npx tsx packages/model-pack/src/verify-outputs-cli.ts "
          f"{'--provider cuda ' if args.target == 'gpu' else ''}{out}")


def onnxruntime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


if __name__ == "__main__":
    main()
