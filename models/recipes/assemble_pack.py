"""Assembles one model pack (models/README.md) from an ImageBind encoders pack
(export_imagebind.py: manifest.json with spaces.imagebind and encoders, no decoder) and a
Stable unCLIP export (export_stable_unclip.py: manifest.fragment.json with promptEncoder,
decoder, defaults, limits), optionally with a prior (a folder whose manifest.json or
manifest.fragment.json has a `prior` section).

Files are hard-linked into OUT when OUT is on the same file system (copied otherwise, or with
--copy); the `files` checksum list is recomputed from what lands in OUT. Refuses, naming the
problem: a missing file, a checksum that differs from the part's own list, the same path
with different contents in two parts, a decoder whose image embedding is not the joint
space's dimension (e.g. a 768-d Karlo decoder behind 1024-d ImageBind-huge).

decoder.embeddingNorm (the L2 norm the query is rescaled to before the noise augmentation):
ImageBind's vision embedding is L2-normalised (scale 1), and ImageBind-huge's vision tower is
OpenCLIP ViT-H's, whose image_embeds (CLIPVisionModelWithProjection, NOT normalised) Stable
unCLIP-H was trained on. By default the fragment's value is kept: export_stable_unclip.py
writes sqrt(sum(mean^2 + std^2)) of the pipeline's image normaliser, the RMS norm of the
embeddings those statistics were measured on, so a unit ImageBind direction is put back on
the shell of norms the decoder saw in training. `--embedding-norm N` sets another norm (the
worker always rescales the weighted sum of the inputs' embeddings to it; Anything2Image feeds
ImageBind's outputs as they are: vision at norm 1, audio at 20).

Usage:
    python3 models/recipes/assemble_pack.py --imagebind IB_DIR --unclip UNCLIP_DIR --out OUT
        [--prior PRIOR_DIR] [--name NAME] [--embedding-norm keep|<number>] [--copy]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from pack_files import sha256

FORMAT = "imagebind-unclip-pack/1"




def read_manifest(folder: Path, names: tuple[str, ...]) -> dict:
    for name in names:
        path = folder / name
        if path.is_file():
            manifest = json.loads(path.read_text())
            if manifest.get("format") != FORMAT:
                raise SystemExit(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
            return manifest
    raise SystemExit(f"{folder}: no {' or '.join(names)}")


def place(source: Path, target: Path, copy: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    if not copy:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system: copy
    shutil.copy2(source, target)


def gather_files(parts: list[tuple[str, Path, dict]]) -> dict[str, Path]:
    """pack-relative path -> source file, checked against each part's own checksum list."""
    sources: dict[str, tuple[Path, str, str]] = {}
    for label, folder, manifest in parts:
        for rel, digest in manifest.get("files", {}).items():
            path = folder / rel
            if not path.is_file():
                raise SystemExit(f"{label}: {rel} is listed but missing from {folder}")
            actual = sha256(path)
            if actual != digest:
                raise SystemExit(f"{label}: {rel} has sha256 {actual}, its manifest says {digest}")
            if rel in sources and sources[rel][1] != actual:
                raise SystemExit(f"{rel} differs between {sources[rel][2]} and {label}")
            sources[rel] = (path, actual, label)
    return {rel: path for rel, (path, _, _) in sources.items()}


def referenced_files(manifest: dict) -> set[str]:
    """Every pack-relative path the sections name (ONNX files, tokenizer files)."""
    found: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("file", "vocab", "merges"):
            found.add(node)
    for section in ("encoders", "promptEncoder", "prior", "decoder"):
        walk(manifest.get(section))
    return found


def check_dims(joint_dim: int, decoder: dict, prior: dict | None) -> None:
    aug = decoder["noiseAugmentation"]
    decoder_dim = len(aug["mean"])
    if decoder_dim != joint_dim:
        raise SystemExit(f"the decoder takes {decoder_dim}-d image embeddings but the joint space "
                         f"'imagebind' is {joint_dim}-d: this decoder cannot sit behind these encoders")
    if aug["timestepEmbedding"]["dim"] != decoder_dim:
        raise SystemExit(f"decoder noise-level embedding dim {aug['timestepEmbedding']['dim']} != {decoder_dim} "
                         "(Stable unCLIP embeds the noise level with the image embedding's width)")
    if prior is not None and prior.get("normalizer") and len(prior["normalizer"]["mean"]) != joint_dim:
        raise SystemExit(f"the prior works in {len(prior['normalizer']['mean'])}-d, the joint space is {joint_dim}-d")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--imagebind", required=True, help="ImageBind encoders pack folder (manifest.json)")
    ap.add_argument("--unclip", required=True, help="export_stable_unclip.py output folder (manifest.fragment.json)")
    ap.add_argument("--prior", help="folder with a prior section (manifest.json or manifest.fragment.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="imagebind-huge-stable-unclip-h")
    ap.add_argument("--embedding-norm", default="keep", help="keep (the fragment's) or a positive number")
    ap.add_argument("--copy", action="store_true", help="copy files instead of hard-linking them")
    args = ap.parse_args()

    ib_dir, un_dir, out = Path(args.imagebind), Path(args.unclip), Path(args.out)
    imagebind = read_manifest(ib_dir, ("manifest.json",))
    unclip = read_manifest(un_dir, ("manifest.fragment.json", "manifest.json"))
    parts = [("imagebind", ib_dir, imagebind), ("unclip", un_dir, unclip)]
    prior = None
    if args.prior:
        prior_manifest = read_manifest(Path(args.prior), ("manifest.fragment.json", "manifest.json"))
        prior = prior_manifest.get("prior")
        if not prior:
            raise SystemExit(f"{args.prior}: no prior section")
        parts.append(("prior", Path(args.prior), prior_manifest))
    if imagebind.get("decoder"):
        raise SystemExit(f"{ib_dir}/manifest.json already has a decoder; give an encoders-only pack")
    if "imagebind" not in imagebind.get("spaces", {}):
        raise SystemExit(f"{ib_dir}/manifest.json has no spaces.imagebind")
    joint_dim = int(imagebind["spaces"]["imagebind"]["dim"])

    decoder = json.loads(json.dumps(unclip["decoder"]))
    decoder["space"] = "imagebind"
    if args.embedding_norm != "keep":
        decoder["embeddingNorm"] = float(args.embedding_norm)
        if not decoder["embeddingNorm"] > 0:
            raise SystemExit("--embedding-norm must be positive")
    check_dims(joint_dim, decoder, prior)
    if prior is not None:
        prior["space"] = "imagebind"

    manifest = {
        "format": FORMAT,
        "name": args.name,
        "description": " + ".join(p.get("description", label) for label, _, p in parts),
        "license": " + ".join(p["license"] for _, _, p in parts if p.get("license")) or None,
        "files": {},
        "spaces": imagebind["spaces"],
        "encoders": imagebind["encoders"],
        "promptEncoder": unclip.get("promptEncoder"),
        "prior": prior,
        "decoder": decoder,
        "defaults": unclip.get("defaults", decoder.get("defaults")),
        "limits": unclip.get("limits", decoder.get("limits")),
    }
    manifest = {k: v for k, v in manifest.items() if v is not None or k == "prior"}
    if manifest.get("promptEncoder") is None and decoder.get("promptConditioning", {}).get("encoder") == "promptEncoder":
        raise SystemExit("the decoder's promptConditioning names promptEncoder but the fragment has none")

    sources = gather_files(parts)
    missing = sorted(referenced_files(manifest) - set(sources))
    if missing:
        raise SystemExit(f"the manifest names files no part lists: {', '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    for rel, source in sorted(sources.items()):
        place(source, out / rel, args.copy)
    manifest["files"] = {rel: sha256(out / rel) for rel in sorted(sources)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    total = sum((out / rel).stat().st_size for rel in sources)
    print(f"wrote {out / 'manifest.json'}: {len(sources)} files, {total / 1e9:.2f} GB, joint space {joint_dim}-d, "
          f"prior {'yes' if prior else 'none'}, decoder.embeddingNorm {decoder.get('embeddingNorm')}")


if __name__ == "__main__":
    main()
