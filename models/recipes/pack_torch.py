"""The encoders of an exported demo pack (ONNX, export_demo.py) back as PyTorch modules, for
measuring a pack whose training checkpoints (.work/) are gone, such as the committed
models/demo (eval_variant.py --pack). Python's ONNX Runtime is not among Debian's packages,
so the weights are read with the onnx package and put into models_demo's modules:

- the export folds every BatchNorm into the convolution before it (Conv weight and bias,
  unnamed): each conv_bn block becomes that Conv with a bias and no BatchNorm, its weights taken
  from the graph's Conv nodes in order;
- the Linear layers the text tower applies to [B, T, W] are exported as MatMul by the weight's
  transpose (unnamed), in graph order: per layer in_proj, linear1, linear2, then proj.

check_against_reference() compares the result with the pack's reference outputs
(make_reference.py: PyTorch on the training checkpoints), so a wrong mapping cannot pass silently.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from models_demo import AudioEncoder, ImageTower, ImuEncoder, MapEncoder, TextTower

ENCODERS = {"vision": ImageTower, "audio": AudioEncoder, "depth": MapEncoder, "thermal": MapEncoder, "imu": ImuEncoder}


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Name -> array, float16 stores (export_demo.store_fp16_losslessly) under their float32 name."""
    out = {}
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        name = init.name[:-len("__fp16")] if init.name.endswith("__fp16") else init.name
        out[name] = arr.astype(np.float32)
    return out


def _fold_conv_bn(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Replaces each Conv(bias=False)+BatchNorm pair by a Conv with bias; returns the convs in order."""
    convs = []
    for mod in model.modules():
        if isinstance(mod, torch.nn.Sequential) and len(mod) == 3 and isinstance(mod[0], (torch.nn.Conv1d, torch.nn.Conv2d)) \
                and isinstance(mod[1], (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            c = mod[0]
            mod[0] = type(c)(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, bias=True)
            mod[1] = torch.nn.Identity()
            convs.append(mod[0])
    return convs


def load_encoder(pack: Path, modality: str) -> torch.nn.Module:
    model_onnx = onnx.load(str(pack / "encoders" / f"{modality}.onnx"))
    inits = _initializers(model_onnx)
    enc = ENCODERS[modality]()
    convs = _fold_conv_bn(enc)
    conv_nodes = [n for n in model_onnx.graph.node if n.op_type == "Conv"]
    if len(conv_nodes) != len(convs):
        raise ValueError(f"Expected {len(convs)} Conv nodes in {modality}.onnx but found {len(conv_nodes)}")
    with torch.no_grad():
        for conv, node in zip(convs, conv_nodes):
            conv.weight.copy_(torch.from_numpy(inits[node.input[1]]))
            conv.bias.copy_(torch.from_numpy(inits[node.input[2]]))
        state = enc.state_dict()
        for name in state:
            if name in inits:
                state[name].copy_(torch.from_numpy(inits[name]).reshape(state[name].shape))
    return enc.eval()


def load_text(pack: Path) -> TextTower:
    model_onnx = onnx.load(str(pack / "encoders" / "text.onnx"))
    inits = _initializers(model_onnx)
    vocab = inits["tower.token.weight"].shape[0]
    txt = TextTower(vocab)
    state = txt.state_dict()
    matmuls = [n.input[1] for n in model_onnx.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    layers = len(txt.transformer.layers)
    targets = [f"transformer.layers.{i}.{w}" for i in range(layers) for w in ("self_attn.in_proj_weight", "linear1.weight", "linear2.weight")] + ["proj.weight"]
    if len(matmuls) != len(targets):
        raise ValueError(f"Expected {len(targets)} weight MatMuls in text.onnx but found {len(matmuls)}")
    with torch.no_grad():
        for name in state:
            if "tower." + name in inits:
                state[name].copy_(torch.from_numpy(inits["tower." + name]).reshape(state[name].shape))
        for src, dst in zip(matmuls, targets):
            w = torch.from_numpy(inits[src]).t()
            if w.shape != state[dst].shape:
                raise ValueError(f"Expected {tuple(state[dst].shape)} for {dst} but {src} is {tuple(w.shape)}")
            state[dst].copy_(w)
    return txt.eval()


@torch.no_grad()
def check_against_reference(pack: Path, encoders: dict[str, torch.nn.Module], text: TextTower, tol: float = 2e-3) -> float:
    """Largest absolute difference from the pack's reference raw outputs; raises above tol."""
    ref = pack / "reference" / "models"
    worst = 0.0
    for row in json.loads((ref / "index.json").read_text())["encoders"]:
        x = torch.from_numpy(np.load(ref / row["input"]))
        model = text if row["modality"] == "text" else encoders[row["modality"]]
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        worst = max(worst, float((out - torch.from_numpy(np.load(ref / row["raw"]))).abs().max()))
    if worst > tol:
        raise ValueError(f"Expected the ONNX weights in PyTorch to reproduce the pack's reference outputs but the largest difference is {worst}")
    return worst


# ---------------------------------------------------------------- generation models

def _scoped(model_onnx: onnx.ModelProto, inits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Unnamed initializers as state-dict entries, from the scope of the node that uses them
    (torch.onnx names nodes /module/path/Op): GroupNorm's affine (Mul -> weight, Add -> bias)
    and Linear on [B, T, C] (MatMul by the transposed weight)."""
    out: dict = {}
    attn_bias: dict[str, dict[str, np.ndarray]] = {}
    for node in model_onnx.graph.node:
        parts = node.name.strip("/").split("/")
        if len(parts) < 2:
            continue
        path: list[str] = []
        for c in parts[:-1]:  # a Sequential's children are scoped by their full name: /out/out.0/
            path = c.split(".") if path and c.startswith(".".join(path) + ".") else path + [c]
        module, op = ".".join(path), parts[-1]
        for name in node.input:
            if not name.startswith("onnx::") or name not in inits:
                continue
            if module.endswith("attn") and node.op_type in ("MatMul", "Add"):
                # nn.MultiheadAttention: MatMul by in_proj_weight^T (one MatMul when q, k, v share
                # a width, else MatMul / _1 / _2 by q, k, v's), Add / _1 / _2 their biases
                if node.op_type == "MatMul":
                    w = inits[name].T
                    key = {"MatMul": "q_proj_weight", "MatMul_1": "k_proj_weight", "MatMul_2": "v_proj_weight"}[op]
                    out[f"{module}.{'in_proj_weight' if w.shape[0] == 3 * w.shape[1] else key}"] = w
                else:
                    attn_bias.setdefault(module, {})[op] = inits[name]
            elif node.op_type == "MatMul":
                out[f"{module}.weight"] = inits[name].T
            elif node.op_type == "Mul":
                out[f"{module}.weight"] = inits[name]
            elif node.op_type == "Add":
                out[f"{module}.bias"] = inits[name]
    for module, parts in attn_bias.items():
        out[f"{module}.in_proj_bias"] = np.concatenate([parts[k] for k in ("Add", "Add_1", "Add_2")])
    return out


def load_generation_model(path: Path, model: torch.nn.Module) -> torch.nn.Module:
    """UNet, VaeDecoder or Prior weights from their ONNX file into `model` (every entry must be found)."""
    model_onnx = onnx.load(str(path))
    inits = _initializers(model_onnx)
    found = {**_scoped(model_onnx, inits), **inits}
    state = model.state_dict()
    missing = [k for k in state if k not in found and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"Expected every weight of {type(model).__name__} in {path.name} but {len(missing)} are missing: {missing[:5]}")
    with torch.no_grad():
        for k in state:
            if k in found:
                state[k].copy_(torch.from_numpy(np.ascontiguousarray(found[k])).reshape(state[k].shape))
    return model.eval()


@torch.no_grad()
def load_generation(pack: Path, tol: float = 2e-3) -> dict:
    """{"unet", "vae", "prior"} from the pack, checked against its reference outputs."""
    from models_demo import AutoEncoder, Prior, UNet, VaeDecoder
    models = {"unet": load_generation_model(pack / "decoder/unet.onnx", UNet()),
              "vae": load_generation_model(pack / "decoder/vae_decoder.onnx", VaeDecoder(AutoEncoder())),
              "prior": load_generation_model(pack / "prior/prior.onnx", Prior())}
    ref = pack / "reference" / "models"
    by_file = {"decoder/unet.onnx": "unet", "decoder/vae_decoder.onnx": "vae", "prior/prior.onnx": "prior"}
    for row in json.loads((ref / "index.json").read_text())["models"]:
        model = models[by_file[row["model"]]]
        args = [torch.from_numpy(np.load(ref / f)) for f in row["inputs"].values()]
        want = np.load(ref / next(iter(row["outputs"].values())))
        diff = float(np.abs(model(*args).numpy() - want).max())
        if diff > tol:
            raise ValueError(f"Expected {row['model']} in PyTorch to reproduce the pack's reference output but the largest difference is {diff}")
    return models
