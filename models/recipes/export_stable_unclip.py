"""Exports a Stable unCLIP pipeline (diffusers StableUnCLIPImg2ImgPipeline, e.g.
stabilityai/stable-diffusion-2-1-unclip) to the decoder half of a model pack
(models/README.md): the UNet, the VAE decoder and the prompt text encoder as ONNX, the prompt
tokenizer files, and `manifest.fragment.json` with the decoder, promptEncoder, defaults and
limits sections. assemble_pack.py merges it with an ImageBind encoders pack into one pack.

Graphs (batch dimension dynamic, opset 17 by default, 14 at least):
- decoder/unet.onnx: sample f32 [B,4,h,w], timestep f32 [B] (float, so that schedulers with
  fractional timesteps work; the TypeScript sampler reads the type from the graph),
  encoder_hidden_states f32 [B,77,W], class_labels f32 [B,2D] -> out_sample f32 [B,4,h,w].
- decoder/vae_decoder.onnx: latent f32 [B,4,h,w] (already divided by the scaling factor)
  -> image f32 [B,3,H,W] in [-1, 1].
- prompt_encoder/text_encoder.onnx: input_ids int64 [B,77] -> last_hidden_state f32 [B,77,W]
  (what the pipeline's encode_prompt feeds the UNet: CLIPTextModel(...)[0]).
Files over 2 GB keep their weights in `<file>.data` beside them (ONNX external data).
`--precision` (inputs and outputs stay float32 in every case):
- fp32 (default): float32 weights and arithmetic.
- fp16-weights (the old `--fp16`, still accepted): every weight rounded to a float16 value and
  the large ones stored as float16 with a Cast to float32 in front of their users; the
  arithmetic stays float32, the files are half the size.
- fp16: float16 weights and activations (fp16_graphs.py: onnxruntime's float16 converter, so
  this needs `pip install onnxruntime`), the attention scores and softmax and the UNet's
  timestep embedding kept float32 as SD 2.x does. For a GPU; onnxruntime's CPU provider runs
  most float16 ops through Casts to float32 (slower than fp32 there). `--fp32-graphs vae`
  leaves graphs float32 (e.g. the VAE decoder, should a checkpoint overflow in float16).
Under both fp16 precisions PyTorch runs the rounded weights too, so that the check compares
like with like; under fp16 each graph's check has its own, wider bound (FP16_COMPUTE_TOLERANCE).
For fused attention on a GPU, export fp32 and run optimize_unclip_graphs.py on the result.

Each graph is traced with the attention written out (diffusers' AttnProcessor, transformers'
eager attention), so the export does not depend on the PyTorch version's fused kernels. The
script saves sample inputs and PyTorch's outputs in OUT/reference/onnx/ (raw little-endian
tensors + index.json, not part of the pack's files); ONNX Runtime runs them in Node:
    npx tsx packages/model-pack/src/verify-outputs-cli.ts OUT

Usage (needs diffusers and transformers: pip install diffusers transformers):
    python3 models/recipes/export_stable_unclip.py --model DIR --out OUT
        [--precision fp32|fp16-weights|fp16] [--fp32-graphs unet,vae,text_encoder]
        [--preview-images DIR] [--device cuda]
DIR is a local copy of the pipeline (from_pretrained(DIR), e.g. a clone of
stabilityai/stable-diffusion-2-1-unclip).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from pack_files import sha256
from fp16_graphs import FP16_COMPUTE_TOLERANCE, UNCLIP_GRAPHS, graph_precisions
from stable_unclip_onnx import (PRECISIONS, TextEncoderExport, UnetExport, VaeDecoderExport, export_graph,
                                round_weights_to_fp16, save_check)
from stable_unclip_pipeline import (fit_preview, image_files, load_pipeline, noise_augmentation_section, pair,
                                    save_bpe_files, scheduler_section, synthetic_images, tokenize,
                                    tokenizer_section, vae_scale_factor)

# This script runs the export; the graphs and their ONNX files are stable_unclip_onnx.py's, the
# pipeline, the manifest sections read from it and the preview projection stable_unclip_pipeline.py's.

# diffusers StableUnCLIPImg2ImgPipeline.__call__ defaults (num_inference_steps=20,
# guidance_scale=10, noise_level=0); public ImageBind -> Stable unCLIP generators
# (Anything2Image, BindDiffusion) keep them (shared/imagebind-reference.md).
DECODER_DEFAULTS = {"steps": 20, "guidanceScale": 10.0, "noiseLevel": 0}
LIMITS = {"maxSteps": 150, "maxImages": 4}
# diffusers scheduler class -> the TypeScript sampler's scheduler name
SCHEDULER_NAMES = {
    "DDIMScheduler": "ddim", "DDPMScheduler": "ddpm", "PNDMScheduler": "pndm",
    "EulerDiscreteScheduler": "euler", "DPMSolverMultistepScheduler": "dpmsolver++",
}
PROMPT = "a photograph of a dog barking in the rain"
# |onnx - torch| <= absolute * max(1, max |torch|) for float32 arithmetic (fp32, fp16-weights:
# PyTorch runs the same rounded weights): measured ~1e-6 on a tiny pipeline. fp16 graphs' cases
# carry fp16_graphs.FP16_COMPUTE_TOLERANCE.
FLOAT32_TOLERANCE = {"absolute": 1e-3, "relativeToMaxAbs": True}


def scheduler_name_of(scheduler) -> str:
    """The TypeScript sampler's name for the pipeline's own scheduler, written as the pack's
    default (stabilityai/stable-diffusion-2-1-unclip: PNDMScheduler, v_prediction, scaled_linear,
    steps_offset 1, skip_prk_steps). A class without a sampler is refused, not mapped to another
    one; so is PNDM with its Runge-Kutta warm-up: the manifest has no key for it and the
    TypeScript pndm runs as diffusers' skip_prk_steps=True does (PLMS from the first step)."""
    kind = type(scheduler).__name__
    if kind not in SCHEDULER_NAMES:
        raise SystemExit(f"the pipeline's scheduler is {kind}: the pack's samplers are {', '.join(SCHEDULER_NAMES)}")
    if kind == "PNDMScheduler" and not scheduler.config.get("skip_prk_steps", False):
        raise SystemExit("the pipeline's PNDMScheduler has skip_prk_steps false: the pack's pndm skips the PRK steps")
    return SCHEDULER_NAMES[kind]


def precision_note(precision: dict[str, str]) -> str:
    """' (unet fp16, vae fp32, ...)' for the description, '' when every graph is fp32."""
    if all(p == "fp32" for p in precision.values()):
        return ""
    if len(set(precision.values())) == 1:
        return f" ({next(iter(precision.values()))})"
    return " (" + ", ".join(f"{g} {p}" for g, p in precision.items()) + ")"


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="local folder of the diffusers pipeline")
    ap.add_argument("--out", required=True, help="output folder (the decoder half of a pack)")
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32",
                    help="fp32; fp16-weights: float16 storage, float32 arithmetic; fp16: float16 compute "
                         "(needs onnxruntime's Python package)")
    ap.add_argument("--fp16", action="store_true", help="the same as --precision fp16-weights (kept for old scripts)")
    ap.add_argument("--fp32-graphs", default="",
                    help=f"comma list of graphs kept fp32 whatever --precision says ({', '.join(UNCLIP_GRAPHS)})")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--device", default="cpu", help="device PyTorch traces on (cpu or cuda)")
    ap.add_argument("--preview-images", help="folder of images to fit the latent-to-RGB preview on "
                                             "(default: 8 synthetic colour fields)")
    ap.add_argument("--preview-size", type=int, default=256,
                    help="side in pixels the preview images are fitted at (capped at the image size; the "
                         "projection is per latent pixel, so a smaller side only means fewer samples)")
    ap.add_argument("--name", default="stable-unclip")
    args = ap.parse_args()
    if args.opset < 14:
        raise SystemExit("opset 14 or later")
    if args.fp16 and args.precision not in ("fp32", "fp16-weights"):
        raise SystemExit("--fp16 is --precision fp16-weights: give one of them")
    precision = graph_precisions("fp16-weights" if args.fp16 else args.precision, args.fp32_graphs)
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check_dir = out / "reference" / "onnx"
    device = args.device

    pipe = load_pipeline(args.model, device)
    for graph, part in (("unet", pipe.unet), ("vae", pipe.vae), ("text_encoder", pipe.text_encoder)):
        if precision[graph] != "fp32":
            round_weights_to_fp16(part)
    unet, vae, text_encoder, tokenizer = pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer
    embed_dim = int(pipe.image_normalizer.mean.shape[-1])
    class_dim = unet.config.projection_class_embeddings_input_dim
    if unet.config.class_embed_type != "projection" or class_dim != 2 * embed_dim:
        raise SystemExit(f"not a Stable unCLIP UNet: class_embed_type {unet.config.class_embed_type}, "
                         f"class input {class_dim}, image embedding {embed_dim}")
    channels = int(unet.config.in_channels)
    h, w = pair(unet.config.sample_size)
    factor = vae_scale_factor(vae)
    tokens = int(tokenizer.model_max_length)
    width = int(text_encoder.config.hidden_size)
    if unet.config.cross_attention_dim != width:
        raise SystemExit(f"text width {width} != UNet cross_attention_dim {unet.config.cross_attention_dim}")
    scaling = float(vae.config.scaling_factor)
    tolerance = {g: FP16_COMPUTE_TOLERANCE if p == "fp16" else None for g, p in precision.items()}
    cases: list = []

    # 1. text encoder: the prompt and the unconditional prompt "" (batch 2)
    ids = tokenize(tokenizer, [PROMPT, ""]).to(device)
    with torch.no_grad():
        hidden = TextEncoderExport(text_encoder)(ids)
    started = time.time()
    export_graph(TextEncoderExport(text_encoder), (ids,), out / "prompt_encoder/text_encoder.onnx",
                 ["input_ids"], ["last_hidden_state"], args.opset, precision["text_encoder"])
    save_check(check_dir, out, "text_encoder", "prompt_encoder/text_encoder.onnx", {"input_ids": ids},
               {"last_hidden_state": hidden}, time.time() - started, cases, tolerance["text_encoder"])
    save_bpe_files(tokenizer, out / "prompt_encoder/tokenizer")

    # 2. UNet: batch 2 = [unconditional; conditional] rows as the sampler feeds them
    # a standard normal sample (norm about sqrt(D)): the check compares ONNX with PyTorch on it;
    # the scale real inputs come at is the pack's conditioning section (export_imagebind.py)
    image_embeds = torch.randn(1, embed_dim)
    with torch.no_grad():
        cond = pipe.noise_image_embeddings(image_embeds.to(device), noise_level=100,
                                           noise=torch.randn(1, embed_dim).to(device))
    class_labels = torch.cat([torch.zeros_like(cond), cond])
    sample = torch.randn(2, channels, h, w, device=device)
    timestep = torch.tensor([981.0, 981.0], device=device)
    unet_args = (sample, timestep, hidden, class_labels)
    with torch.no_grad():
        out_sample = UnetExport(unet)(*unet_args)
    started = time.time()
    export_graph(UnetExport(unet), unet_args, out / "decoder/unet.onnx",
                 ["sample", "timestep", "encoder_hidden_states", "class_labels"], ["out_sample"], args.opset,
                 precision["unet"], timestep_input="timestep")
    save_check(check_dir, out, "unet", "decoder/unet.onnx",
               dict(zip(["sample", "timestep", "encoder_hidden_states", "class_labels"], unet_args)),
               {"out_sample": out_sample}, time.time() - started, cases, tolerance["unet"])

    # 3. VAE decoder on latents / scaling_factor
    latent = torch.randn(1, channels, h, w, device=device) / scaling
    with torch.no_grad():
        image = VaeDecoderExport(vae)(latent)
    started = time.time()
    export_graph(VaeDecoderExport(vae), (latent,), out / "decoder/vae_decoder.onnx", ["latent"], ["image"],
                 args.opset, precision["vae"])
    save_check(check_dir, out, "vae", "decoder/vae_decoder.onnx", {"latent": latent}, {"image": image},
               time.time() - started, cases, tolerance["vae"])
    (check_dir / "index.json").write_text(json.dumps({"tolerance": FLOAT32_TOLERANCE, "cases": cases}, indent=1))

    # 4. the latent-to-RGB preview
    size = (h * factor, w * factor)
    fit_size = tuple(max(factor, min(side, args.preview_size) // factor * factor) for side in size)
    images = image_files(Path(args.preview_images), fit_size) if args.preview_images else synthetic_images(8, fit_size)
    preview = fit_preview(vae, images, device)
    print(f"preview projection: mean abs error {preview['meanAbsError']:.4f} (of [-1, 1]) on {preview['images']} images "
          f"of {fit_size[0]}x{fit_size[1]}")

    # 5. the manifest fragment
    scheduler_name = scheduler_name_of(pipe.scheduler)
    decoder = {
        "space": "imagebind",
        "unet": {"file": "decoder/unet.onnx",
                 "inputs": {"sample": "sample", "timestep": "timestep", "encoderHiddenStates": "encoder_hidden_states",
                            "classLabels": "class_labels"},
                 "output": "out_sample", "timestepDtype": "float32"},
        "vae": {"file": "decoder/vae_decoder.onnx", "input": "latent", "output": "image", "scalingFactor": scaling,
                "outputRange": [-1, 1]},
        "latentShape": [channels, h, w],
        "imageSize": list(size),
        "scheduler": scheduler_section(pipe.scheduler.config),
        "noiseAugmentation": noise_augmentation_section(pipe),
        "promptConditioning": {"encoder": "promptEncoder", "output": "last_hidden_state", "shape": [tokens, width],
                               "unconditionalPrompt": ""},
        "guidance": {"unconditionalClassLabels": "zeros"},
        "preview": {"latentToRgb": preview["latentToRgb"], "bias": preview["bias"]},
        "defaults": {"scheduler": scheduler_name, **DECODER_DEFAULTS},
        "limits": dict(LIMITS),
    }
    prompt_encoder = {
        "file": "prompt_encoder/text_encoder.onnx",
        "input": {"name": "input_ids", "shape": [-1, tokens], "dtype": "int64"},
        "preprocess": {"type": "text", "tokenizer": tokenizer_section(tokenizer, "prompt_encoder/tokenizer")},
        "hiddenStates": {"name": "last_hidden_state", "shape": [-1, tokens, width]},
    }
    files = sorted(p for p in out.rglob("*")
                   if p.is_file() and p.name != "manifest.fragment.json" and p.relative_to(out).parts[0] != "reference")
    fragment = {
        "format": "imagebind-unclip-pack/1",
        "name": args.name,
        "description": f"Stable unCLIP decoder exported from {Path(args.model).name}"
                       f"{precision_note(precision)}; merge with an ImageBind pack (assemble_pack.py).",
        "files": {p.relative_to(out).as_posix(): sha256(p) for p in files},
        "promptEncoder": prompt_encoder,
        "decoder": decoder,
        "defaults": {"prior": "auto", "scheduler": scheduler_name, **DECODER_DEFAULTS},
        "limits": dict(LIMITS),
        "export": {"precision": precision, "opset": args.opset, "previewMeanAbsError": round(preview["meanAbsError"], 6),
                   "previewImages": preview["images"]},
    }
    (out / "manifest.fragment.json").write_text(json.dumps(fragment, indent=1))
    for rel in fragment["files"]:
        print(f"{rel}: {(out / rel).stat().st_size / 1e6:.2f} MB")
    print(f"wrote {out / 'manifest.fragment.json'}; check with: npx tsx packages/model-pack/src/verify-outputs-cli.ts {out}")


if __name__ == "__main__":
    main()
