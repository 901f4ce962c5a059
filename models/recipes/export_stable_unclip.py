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
`--fp16` rounds every weight to a float16 value (in PyTorch too, so the check compares like
with like) and stores the large ones as float16 with a Cast to float32 in front of their
users: inputs, outputs and arithmetic stay float32, the files are half the size.

Each graph is traced with the attention written out (diffusers' AttnProcessor, transformers'
eager attention), so the export does not depend on the PyTorch version's fused kernels. The
script saves sample inputs and PyTorch's outputs in OUT/reference/onnx/ (raw little-endian
tensors + index.json, not part of the pack's files); ONNX Runtime runs in Node (there is no
onnxruntime for Python here):
    npx tsx packages/model-pack/src/verify-outputs-cli.ts OUT

Usage (needs diffusers and transformers: pip install diffusers transformers):
    python3 models/recipes/export_stable_unclip.py --model DIR --out OUT [--fp16]
        [--preview-images DIR] [--device cuda]
DIR is a local copy of the pipeline (from_pretrained(DIR), e.g. a clone of
stabilityai/stable-diffusion-2-1-unclip).
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from pack_files import sha256

# Protocol buffers cannot serialise a message over 2 GiB; stay well below it.
EXTERNAL_DATA_THRESHOLD = 1_800_000_000
FP16_MAX = 65504.0
# Float initializers smaller than this stay float32 under --fp16 (constants, masks, scales).
FP16_MIN_ELEMENTS = 1024
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
    # the TorchScript exporter (newer PyTorch defaults to the dynamo one, which reads no dynamic_axes)
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(model.eval(), args, str(raw), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=opset, do_constant_folding=True, **legacy)
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


# ---------------------------------------------------------------- pipeline


def round_weights_to_fp16(module: torch.nn.Module) -> None:
    """Every float parameter and buffer rounded to the nearest float16 value (kept as float32;
    values beyond float16's range are left as they are, as weights_to_fp16 leaves them)."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.dtype == torch.float32:
                tensor.copy_(torch.where(tensor.abs() <= FP16_MAX, tensor.half().float(), tensor))


def load_pipeline(model_dir: str, device: str):
    from diffusers import StableUnCLIPImg2ImgPipeline
    from diffusers.models.attention_processor import AttnProcessor

    pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(model_dir, torch_dtype=torch.float32)
    # The attention written out (no fused scaled_dot_product_attention): exports the same on
    # every PyTorch version.
    pipe.unet.set_attn_processor(AttnProcessor())
    pipe.vae.set_attn_processor(AttnProcessor())
    if getattr(pipe.text_encoder.config, "_attn_implementation", "eager") != "eager":
        from transformers import CLIPTextModel
        pipe.text_encoder = CLIPTextModel.from_pretrained(model_dir, subfolder="text_encoder",
                                                          attn_implementation="eager", torch_dtype=torch.float32)
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        part.to(device).eval()
    return pipe


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def vae_scale_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def scheduler_section(config) -> dict:
    """diffusers scheduler_config.json (resolved by from_pretrained) -> the manifest's camelCase."""
    c = dict(config)
    if c.get("trained_betas") is not None:
        raise SystemExit("the scheduler has trained_betas; the pack format takes a beta_schedule")
    section = {
        "numTrainTimesteps": int(c["num_train_timesteps"]),
        "betaSchedule": c["beta_schedule"],
        "betaStart": float(c["beta_start"]),
        "betaEnd": float(c["beta_end"]),
        "predictionType": c.get("prediction_type", "epsilon"),
        "timestepSpacing": c.get("timestep_spacing", "leading"),
        "stepsOffset": int(c.get("steps_offset", 0)),
        "clipSample": bool(c.get("clip_sample", False)),
        "setAlphaToOne": bool(c.get("set_alpha_to_one", False)),
    }
    if "clip_sample_range" in c:
        section["clipSampleRange"] = float(c["clip_sample_range"])
    for key, name in (("thresholding", "thresholding"), ("rescale_betas_zero_snr", "rescaleBetasZeroSnr")):
        if c.get(key):
            section[name] = True  # refused by the TypeScript side by name rather than ignored
    return section


def noise_augmentation_section(pipe) -> dict:
    """StableUnCLIPImg2ImgPipeline.noise_image_embeddings: normaliser scale -> DDPM add_noise at
    the noise level -> unscale -> concatenate get_timestep_embedding(level, D, flip_sin_to_cos=True,
    downscale_freq_shift=0)."""
    c = dict(pipe.image_noising_scheduler.config)
    dim = int(pipe.image_normalizer.mean.shape[-1])
    return {
        "mean": pipe.image_normalizer.mean.detach().float().reshape(-1).tolist(),
        "std": pipe.image_normalizer.std.detach().float().reshape(-1).tolist(),
        "numTrainTimesteps": int(c["num_train_timesteps"]),
        "betaSchedule": c["beta_schedule"],
        "betaStart": float(c["beta_start"]),
        "betaEnd": float(c["beta_end"]),
        "timestepEmbedding": {"dim": dim, "flipSinToCos": True, "downscaleFreqShift": 0},
    }


def typical_embedding_norm(pipe) -> float:
    """sqrt(sum(mean^2 + std^2)) of the image normaliser: the RMS L2 norm of the CLIP image
    embeddings (CLIPVisionModelWithProjection.image_embeds, not normalised) whose per-dimension
    statistics the normaliser holds, i.e. the norm the decoder was trained on."""
    mean = pipe.image_normalizer.mean.detach().double()
    std = pipe.image_normalizer.std.detach().double()
    return float(torch.sqrt((mean ** 2 + std ** 2).sum()))


def tokenizer_section(tokenizer, folder: str) -> dict:
    """The pack's clip-bpe tokenizer (packages/imagebind/src/text/clip-tokenizer.ts) from the
    pipeline's CLIPTokenizer; SD 2's pads with "!" (id 0), SD 1's with the end token."""
    if tokenizer.pad_token_id is None:
        raise SystemExit("the tokenizer has no pad token")
    return {
        "type": "clip-bpe", "vocab": f"{folder}/vocab.json", "merges": f"{folder}/merges.txt",
        "contextLength": int(tokenizer.model_max_length), "startToken": str(tokenizer.bos_token),
        "endToken": str(tokenizer.eos_token), "padId": int(tokenizer.pad_token_id), "lowercase": True,
    }


def tokenize(tokenizer, prompts: list[str]) -> torch.Tensor:
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return ids.to(torch.int64)


# ---------------------------------------------------------------- preview projection


def synthetic_images(count: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Deterministic colour fields: gradients between random colours plus random flat boxes,
    [count, 3, H, W] in [-1, 1]. Used when no --preview-images are given."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    images = []
    for _ in range(count):
        a, b = rng.uniform(-1, 1, (2, 3, 1, 1))
        angle = rng.uniform(0, 2 * math.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)[None]
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        img = a * (1 - t) + b * t
        for _ in range(rng.integers(2, 6)):
            y0, x0 = rng.integers(0, h - h // 4), rng.integers(0, w - w // 4)
            bh, bw = rng.integers(h // 8, h // 3), rng.integers(w // 8, w // 3)
            img[:, y0:y0 + bh, x0:x0 + bw] = rng.uniform(-1, 1, (3, 1, 1))
        images.append(img)
    return torch.from_numpy(np.stack(images)).float()


def image_files(folder: Path, size: tuple[int, int]) -> torch.Tensor:
    from PIL import Image
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not paths:
        raise SystemExit(f"no .png/.jpg/.webp images in {folder}")
    h, w = size
    out = []
    for p in paths:
        img = Image.open(p).convert("RGB")
        scale = max(w / img.width, h / img.height)  # cover, then centre-crop
        img = img.resize((max(w, round(img.width * scale)), max(h, round(img.height * scale))), Image.BICUBIC)
        left, top = (img.width - w) // 2, (img.height - h) // 2
        arr = np.asarray(img.crop((left, top, left + w, top + h)), dtype=np.float32) / 127.5 - 1
        out.append(torch.from_numpy(arr).permute(2, 0, 1))
    return torch.stack(out)


@torch.no_grad()
def fit_preview(vae, images: torch.Tensor, device: str) -> dict:
    """Least squares rgb ~ latent^T W + b (models/recipes/train_demo.py stage_preview): latents
    z = scaling_factor * mean of the VAE posterior (the UNet's latent space, where the sampler's
    predicted x0 lives), rgb = the VAE's decoding of z average-pooled to the latent grid."""
    scaling = float(vae.config.scaling_factor)
    factor = vae_scale_factor(vae)
    zs, rgbs = [], []
    for image in images:
        x = image[None].to(device)
        z = vae.encode(x).latent_dist.mean * scaling
        decoded = vae.decode(z / scaling, return_dict=False)[0].clamp(-1, 1)
        zs.append(z.cpu())
        rgbs.append(F.avg_pool2d(decoded, factor).cpu())
    z, rgb = torch.cat(zs), torch.cat(rgbs)
    channels = z.shape[1]
    a = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, channels), torch.ones(z.numel() // channels, 1)], 1).double()
    b = rgb.permute(0, 2, 3, 1).reshape(-1, 3).double()
    solution = torch.linalg.lstsq(a, b).solution
    mae = float((a @ solution - b).abs().mean())
    return {"latentToRgb": solution[:channels].float().tolist(), "bias": solution[channels].float().tolist(),
            "meanAbsError": mae, "images": int(images.shape[0])}


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




# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="local folder of the diffusers pipeline")
    ap.add_argument("--out", required=True, help="output folder (the decoder half of a pack)")
    ap.add_argument("--fp16", action="store_true", help="store weights as float16 (float32 inputs and outputs)")
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
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check_dir = out / "reference" / "onnx"
    device = args.device

    pipe = load_pipeline(args.model, device)
    if args.fp16:
        for part in (pipe.unet, pipe.vae, pipe.text_encoder):
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
    # |onnx - torch| <= absolute * max(1, max |torch|); with --fp16 PyTorch runs the rounded
    # weights too (measured on a tiny pipeline: ~1e-6 either way)
    tolerance = {"absolute": 1e-3, "relativeToMaxAbs": True}
    cases: list = []

    # 1. text encoder: the prompt and the unconditional prompt "" (batch 2)
    ids = tokenize(tokenizer, [PROMPT, ""]).to(device)
    with torch.no_grad():
        hidden = TextEncoderExport(text_encoder)(ids)
    started = time.time()
    export_graph(TextEncoderExport(text_encoder), (ids,), out / "prompt_encoder/text_encoder.onnx",
                 ["input_ids"], ["last_hidden_state"], args.opset, args.fp16)
    save_check(check_dir, out, "text_encoder", "prompt_encoder/text_encoder.onnx", {"input_ids": ids},
               {"last_hidden_state": hidden}, time.time() - started, cases)
    (out / "prompt_encoder/tokenizer").mkdir(parents=True, exist_ok=True)
    written = tokenizer.save_vocabulary(str(out / "prompt_encoder/tokenizer"))
    for path in written:  # vocab.json, merges.txt under those names
        if Path(path).name not in ("vocab.json", "merges.txt"):
            raise SystemExit(f"unexpected tokenizer file {path}")

    # 2. UNet: batch 2 = [unconditional; conditional] rows as the sampler feeds them
    image_embeds = torch.randn(1, embed_dim)
    image_embeds = image_embeds / image_embeds.norm() * typical_embedding_norm(pipe)
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
                 ["sample", "timestep", "encoder_hidden_states", "class_labels"], ["out_sample"], args.opset, args.fp16)
    save_check(check_dir, out, "unet", "decoder/unet.onnx",
               dict(zip(["sample", "timestep", "encoder_hidden_states", "class_labels"], unet_args)),
               {"out_sample": out_sample}, time.time() - started, cases)

    # 3. VAE decoder on latents / scaling_factor
    latent = torch.randn(1, channels, h, w, device=device) / scaling
    with torch.no_grad():
        image = VaeDecoderExport(vae)(latent)
    started = time.time()
    export_graph(VaeDecoderExport(vae), (latent,), out / "decoder/vae_decoder.onnx", ["latent"], ["image"],
                 args.opset, args.fp16)
    save_check(check_dir, out, "vae", "decoder/vae_decoder.onnx", {"latent": latent}, {"image": image},
               time.time() - started, cases)
    (check_dir / "index.json").write_text(json.dumps({"tolerance": tolerance, "cases": cases}, indent=1))

    # 4. the latent-to-RGB preview
    size = (h * factor, w * factor)
    fit_size = tuple(max(factor, min(side, args.preview_size) // factor * factor) for side in size)
    images = image_files(Path(args.preview_images), fit_size) if args.preview_images else synthetic_images(8, fit_size)
    preview = fit_preview(vae, images, device)
    print(f"preview projection: mean abs error {preview['meanAbsError']:.4f} (of [-1, 1]) on {preview['images']} images "
          f"of {fit_size[0]}x{fit_size[1]}")

    # 5. the manifest fragment
    scheduler_name = SCHEDULER_NAMES.get(type(pipe.scheduler).__name__, "ddim")
    decoder = {
        "space": "imagebind",
        "embeddingNorm": round(typical_embedding_norm(pipe), 6),
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
                       f"{' (float16 weights)' if args.fp16 else ''}; merge with an ImageBind pack (assemble_pack.py).",
        "files": {p.relative_to(out).as_posix(): sha256(p) for p in files},
        "promptEncoder": prompt_encoder,
        "decoder": decoder,
        "defaults": {"prior": "auto", "scheduler": scheduler_name, **DECODER_DEFAULTS},
        "limits": dict(LIMITS),
        "export": {"fp16": args.fp16, "opset": args.opset, "previewMeanAbsError": round(preview["meanAbsError"], 6),
                   "previewImages": preview["images"]},
    }
    (out / "manifest.fragment.json").write_text(json.dumps(fragment, indent=1))
    for rel in fragment["files"]:
        print(f"{rel}: {(out / rel).stat().st_size / 1e6:.2f} MB")
    print(f"wrote {out / 'manifest.fragment.json'}; check with: npx tsx packages/model-pack/src/verify-outputs-cli.ts {out}")


if __name__ == "__main__":
    main()
