#!/usr/bin/env bash
# Rebuilds the demo pack from nothing, seeded: generate the world, train, export, evaluate,
# write the reference outputs. Under an hour on 2 CPU cores; fine to run in the background:
#   nohup bash models/recipes/build_demo_pack.sh > build.log 2>&1 &
# Needs Debian's python3-torch, python3-torchaudio, python3-torchvision, python3-onnx,
# python3-scipy, python3-regex (apt-get install ...).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
OUT=${1:-../demo}
rm -rf .work && mkdir -p .work
# Debian's torch does its matrix products in OpenBLAS, whose pthread build starts a thread per
# core in every process unless told otherwise: with the two processes below that is four busy
# threads on two cores (a UNet step beside the prior: 678 ms, 500 ms with one thread each).
export OPENBLAS_NUM_THREADS=1
# Two single-threaded processes side by side use the two cores better than one with two
# threads for these small models: (1) world data, tokenizer, CLIP, binding, prior;
# (2) autoencoder, preview projection, then the UNet once CLIP is trained.
$PY train_demo.py --threads 1 --stages data,tokenizer,clip,bind,prior > .work/train-1.log 2>&1 &
P1=$!
# (2) waits for files of (1): with --sibling-pid it stops, with (1)'s error, as soon as (1) fails
# (a failing train_demo.py leaves .work/train-<pid>.failed) or is gone, instead of waiting forever.
$PY train_demo.py --threads 1 --stages ae,preview,unet --sibling-pid $P1 > .work/train-2.log 2>&1 &
P2=$!
# (1) needs nothing of (2): if (2) fails, (1) is stopped rather than left training for nothing.
S1=0 S2=0
wait $P2 || S2=$?
if [ $S2 -ne 0 ]; then kill $P1 2>/dev/null || true; fi
wait $P1 || S1=$?
cat .work/train-1.log .work/train-2.log
if [ $S1 -ne 0 ] || [ $S2 -ne 0 ]; then
  echo "build_demo_pack.sh: training failed (process 1: exit $S1, process 2: exit $S2)" >&2
  # the oldest failure marker is the cause: a process stopped by the other's failure writes its own after it
  FIRST=$(ls -tr .work/train-*.failed 2>/dev/null | head -n 1 || true)
  if [ -n "$FIRST" ]; then cat "$FIRST" >&2; fi
  exit 1
fi
$PY export_demo.py --out "$OUT"
# the evaluation (the long part) and the reference outputs side by side
$PY eval_demo.py --pack "$OUT" > .work/eval.log 2>&1 &
EVAL=$!
$PY make_reference.py --pack "$OUT"
# preprocessing references that read the pack's constants and tokenizer
$PY reference_vision.py demo --manifest "$OUT/manifest.json"
$PY reference_text.py demo --tokenizer "$OUT/tokenizer"
$PY reference_audio.py
$PY reference_video.py --pack "$OUT"
wait $EVAL
cat .work/eval.log
echo "build_demo_pack.sh: done in $((SECONDS / 60)) min $((SECONDS % 60)) s"
