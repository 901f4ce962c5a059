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

The pack's `conditioning` section (models/README.md) is the ImageBind export's: `norm`, the
mean L2 norm of ImageBind's raw vision embedding over photos, measured by export_imagebind.py
(conditioning_norm.py). The TypeScript pipeline conditions Stable unCLIP-H with an image input
at its raw norm (the scale of the OpenCLIP ViT-H image_embeds the decoder was trained on, as
Anything2Image and BindDiffusion feed it) and scales every other input to `norm`. The decoder
then rescales nothing: a `decoder.embeddingNorm` in the fragment (older exports wrote one,
sqrt(sum(mean^2 + std^2)) of an identity normaliser, i.e. sqrt(1024) = 32, not a norm of
image_embeds) is dropped. `--embedding-norm N` replaces the measured norm (the measurement is
kept beside it); an ImageBind export without the section needs it.

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


def pack_conditioning(imagebind: dict, decoder: dict, embedding_norm: str) -> dict:
    """The pack's conditioning section from the ImageBind export's (`embedding_norm`: "keep" or
    a positive number that replaces the measured norm); drops decoder.embeddingNorm in place."""
    dropped = decoder.pop("embeddingNorm", None)
    if dropped is not None:
        print(f"note: dropped the fragment's decoder.embeddingNorm {dropped} (the pack's conditioning section replaces it)")
    conditioning = json.loads(json.dumps(imagebind.get("conditioning"))) if imagebind.get("conditioning") else None
    if embedding_norm == "keep":
        if conditioning is None:
            raise SystemExit("the ImageBind manifest has no conditioning section (an export older than "
                             "export_imagebind.py's measurement): export it again, or give --embedding-norm N")
        return conditioning
    try:
        norm = float(embedding_norm)
    except ValueError:
        raise SystemExit(f"--embedding-norm must be keep or a positive number, not {embedding_norm!r}")
    if not norm > 0 or norm == float("inf"):
        raise SystemExit("--embedding-norm must be a positive number")
    return {**(conditioning or {}), "norm": norm}


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
    ap.add_argument("--embedding-norm", default="keep",
                    help="keep (conditioning.norm as export_imagebind.py measured it) or a positive number to use instead")
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
    conditioning = pack_conditioning(imagebind, decoder, args.embedding_norm)
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
        "conditioning": conditioning,
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
          f"prior {'yes' if prior else 'none'}, conditioning.norm {conditioning['norm']:.6g}")


if __name__ == "__main__":
    main()
