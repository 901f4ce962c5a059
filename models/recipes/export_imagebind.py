"""Exports ImageBind-huge (facebookresearch/ImageBind, Girdhar et al. 2023) to the encoders of a
model pack (models/README.md): one ONNX file per modality, the manifest fragment for them, the
CLIP BPE vocabulary the package ships as tokenizer/vocab.json + merges.txt, and the checksums.

The official `imagebind` package is imported as an installed dependency (`pip install` of
facebookresearch/ImageBind with its requirements); nothing of it is vendored here.

    /usr/bin/python3 models/recipes/export_imagebind.py --checkpoint imagebind_huge.pth --out PACK
    /usr/bin/python3 models/recipes/export_imagebind.py --random-weights --seed 0 --out PACK \
        --reference-inputs models/demo/samples ../shared/real-samples [--conditioning-photos DIR_OR_FILES]

Each ONNX file is the modality's preprocessor + trunk + head (ImageBindModel.forward up to, not
including, its postprocessor): one row per image, clip or view, batch dimension dynamic:
vision clips [-1, 3, 2, 224, 224] (a still image is 2 equal frames), text int64 [-1, 77], audio [-1, 1, 128, 204], depth and thermal
[-1, 1, 224, 224], imu [-1, 6, 2000] -> embedding [-1, 1024]. The postprocessor (L2
normalisation, then the modality's logit scale) and the averaging over clips / views are done
by the TypeScript side from the manifest's `postprocess`.

Export details: opset 14, the TorchScript exporter on torch 1.13 and 2.x alike (onnx_export.py
passes dynamo=False where torch takes it: 2.9's default dynamo exporter would ignore the batch
axis and the opset); traced with autograd on (torch 1.13's nn.MultiheadAttention fast
path has no ONNX symbolic and is taken only with grad off); a file whose weights pass 2 GB is
saved with its weights in one external file `<modality>.onnx.data` beside it. `--precision
fp16-weights` (the old `--fp16`, still accepted) rounds every weight to a float16 value and
stores the large ones as float16 with a Cast back to float32 (half the disk; inputs, outputs and
arithmetic stay float32, so ONNX Runtime computes what the rounded PyTorch model computes).
`--precision fp16` computes in float16 (fp16_graphs.py, onnxruntime's float16 converter: `pip
install onnxruntime`), the attention scores and softmax float32, inputs and outputs float32;
PyTorch runs the rounded weights in float32 and each check case carries the wider float16 bound.

The manifest's `conditioning` section (conditioning_norm.py): the mean L2 norm of the vision
encoder's raw output (before Normalize) over `--conditioning-photos` (default: the .assets/*.jpg
of the ImageBind checkout the package is imported from), measured on the model the files are
exported from; the TypeScript pipeline conditions Stable unCLIP with an image input at its raw
norm and scales every other input to that mean. The photos and each one's norm are kept in
OUT/reference/conditioning/ (not pack files).

Checks: every export is run in onnxruntime-node against PyTorch on seeded sample tensors
(reference/onnx/, compared by packages/model-pack/src/verify-outputs-cli.ts, which also
times batch 1); `--reference-inputs DIR...` also writes PyTorch-pipeline embeddings of the
files in those folders (reference_imagebind.py) for packages/imagebind/test/imagebind-huge-pack.test.ts.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_text import convert_real_vocab  # noqa: E402  SimpleTokenizer's vocabulary order
# the model and its ONNX files: imagebind_encoders.py; the manifest: imagebind_manifest.py
from imagebind_encoders import (MODALITIES, OPSET, build_model, export_encoders, imagebind_modules,  # noqa: E402
                                round_weights_to_fp16)
from imagebind_manifest import check_audio_constants, write_manifest  # noqa: E402
from conditioning_norm import measure_conditioning, resolve_photos  # noqa: E402  the manifest's conditioning section

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    weights = ap.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint", type=Path, help="imagebind_huge.pth (the public checkpoint)")
    weights.add_argument("--random-weights", action="store_true", help="seeded random weights (tests)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights and sample tensors")
    ap.add_argument("--out", type=Path, required=True, help="pack folder to write (encoders/, tokenizer/, manifest.json)")
    ap.add_argument("--precision", choices=("fp32", "fp16-weights", "fp16"), default="fp32",
                    help="fp32; fp16-weights: float16 storage, float32 arithmetic; fp16: float16 compute "
                         "(needs onnxruntime's Python package)")
    ap.add_argument("--fp16", action="store_true", help="the same as --precision fp16-weights (kept for old scripts)")
    ap.add_argument("--modalities", default=",".join(MODALITIES), help="comma-separated subset to export (default: all six)")
    ap.add_argument("--architecture", choices=["huge", "tiny"], default="huge", help="tiny: 32-wide towers, to try the export path quickly")
    ap.add_argument("--reference-inputs", type=Path, nargs="*", default=[],
                    help="folders of input files: write PyTorch-pipeline embeddings of them (reference_imagebind.py)")
    ap.add_argument("--conditioning-photos", type=Path, nargs="+", metavar="DIR_OR_FILE",
                    help="photos to measure the mean raw vision norm on (manifest conditioning.norm); default: "
                         "the .assets/*.jpg of the ImageBind checkout the imagebind package is imported from")
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-node check (verify-outputs-cli.ts)")
    args = ap.parse_args()
    if args.fp16 and args.precision not in ("fp32", "fp16-weights"):
        ap.error("--fp16 is --precision fp16-weights: give one of them")
    precision = "fp16-weights" if args.fp16 else args.precision
    modalities = [m.strip() for m in args.modalities.split(",") if m.strip()]
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        ap.error(f"unknown modalities {unknown}; choose from {MODALITIES}")

    _, data = imagebind_modules()
    check_audio_constants(data)
    photos = resolve_photos(args.conditioning_photos)  # before the export: a missing photo stops it at once
    out = args.out.resolve()
    if ROOT in out.parents or out == ROOT:
        print(f"note: writing inside the repository ({out}); exported files must not be committed")
    out.mkdir(parents=True, exist_ok=True)

    started = time.time()
    model = build_model(args.checkpoint, args.seed, args.architecture)
    if precision != "fp32":
        round_weights_to_fp16(model)
    params = sum(p.numel() for p in model.parameters())
    print(f"built imagebind_{args.architecture} ({params / 1e6:.0f} M parameters, "
          f"{'checkpoint ' + str(args.checkpoint) if args.checkpoint else f'random weights, seed {args.seed}'}) in {time.time() - started:.0f} s")
    dim = model.modality_heads["vision"][-1].out_features

    shutil.rmtree(out / "tokenizer", ignore_errors=True)
    convert_real_vocab(Path(data.return_bpe_path()), out / "tokenizer")

    export_encoders(model, out, modalities, precision, args.seed)
    conditioning = measure_conditioning(model, out, photos)

    source = "the public checkpoint" if args.checkpoint else f"RANDOM weights (seed {args.seed}): for tests only, embeddings mean nothing"
    manifest = write_manifest(
        out, model, modalities, dim, conditioning,
        name=f"imagebind-{args.architecture}" + ("" if args.checkpoint else f"-random-seed{args.seed}"),
        description=f"ImageBind-{args.architecture} encoders (facebookresearch/ImageBind) exported by models/recipes/export_imagebind.py "
                    f"from {source}; {'' if precision == 'fp32' else precision + ', '}opset {OPSET}. Encoders only: an unCLIP decoder pack is merged in by the pack assembly step.",
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
