"""Trains the demo pack the ImageBind way, stage by stage (each cached in .work/):

  tokenizer  CLIP BPE merges learned from the world's captions
  clip       a small CLIP (image + text towers), contrastive; then frozen
  bind       audio, depth, thermal and IMU encoders, InfoNCE against the frozen image
             embeddings only (no encoder but text's ever sees text)
  ae         the autoencoder (64x64 RGB <-> [4, 16, 16] latents) and its scaling factor
  unet       the unCLIP decoder: latent diffusion conditioned on noise-augmented image
             embeddings (Stable unCLIP), with classifier-free-guidance dropout
  prior      the DALLE-2 style prior: query embedding of any modality -> image embedding
  preview    the linear latent-to-RGB projection for live previews

The stages live in train_common.py (tokenizer, shared helpers), train_encoders.py (clip, bind),
train_decoder.py (ae, unet, preview) and train_prior.py (prior); this script runs them.

Usage: python3 train_demo.py [--stages clip,bind,...] [--quick] [--sibling-pid PID]
build_demo_pack.sh runs two of these side by side; the one without the data or clip stage
waits for the other's files, and with --sibling-pid PID it stops with the other's error as
soon as that one fails (sibling_wait.py) instead of waiting forever.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from dataset import WORK, build_split
from sibling_wait import failure_marker, record_failure, wait_for_sibling_file
from train_common import log, stage_tokenizer
from train_decoder import UNET_STEPS, stage_ae, stage_preview, stage_unet
from train_encoders import stage_bind, stage_clip
from train_prior import stage_prior

TRAIN_SEED, TRAIN_COUNT = 1, 5000


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", default="data,tokenizer,clip,bind,ae,unet,prior,preview")
    ap.add_argument("--quick", action="store_true", help="tiny run to check the plumbing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sibling-pid", type=int, help="the training process whose files this one waits for "
                                                   "(build_demo_pack.sh): stop with its error if it fails")
    ap.add_argument("--wait-minutes", type=float, default=120.0,
                    help="longest wait for one of the other process's files (default 120; the build takes 55)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    stages = args.stages.split(",")
    q = args.quick
    count = 600 if q else TRAIN_COUNT
    t0 = time.time()

    def wait_for(name: str, poll: float) -> None:
        """A file the other process (build_demo_pack.sh) writes."""
        pid = args.sibling_pid
        wait_for_sibling_file(WORK / name, sibling_pid=pid, marker=failure_marker(WORK, pid) if pid is not None else None,
                              timeout=args.wait_minutes * 60, poll=poll)

    if "data" not in stages:  # built by the other process (build_demo_pack.sh)
        wait_for(("train_quick" if q else "train") + ".scenes.json", 5)
    # the augmented recordings (augment.py) only for the stages that train on them
    data = build_split("train_quick" if q else "train", TRAIN_SEED, count, augmented="bind" in stages)
    if "tokenizer" in stages:
        stage_tokenizer()
    if "clip" in stages:
        stage_clip(data, 2 if q else 25)
    if "bind" in stages:
        for m, e in (("audio", 20), ("depth", 12), ("thermal", 12), ("imu", 10)):
            stage_bind(data, m, 1 if q else e)
    if "ae" in stages:
        stage_ae(data, 100 if q else 1200)
    if "unet" in stages:
        wait_for("clip.pt", 10)  # trained by the other process (build_demo_pack.sh)
        stage_unet(data, 50 if q else UNET_STEPS)
    if "prior" in stages:
        stage_prior(data, 200 if q else 8000)
    if "preview" in stages:
        stage_preview(data)
    log(f"training done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    # a failure leaves WORK/train-<pid>.failed for the other process (and build_demo_pack.sh)
    with record_failure(failure_marker(WORK, os.getpid()), f"train_demo.py {' '.join(sys.argv[1:])} (pid {os.getpid()})"):
        main()
