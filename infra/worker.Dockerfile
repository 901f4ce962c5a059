# A GPU worker (apps/worker): loads a model pack once and runs generations on CUDA through
# onnxruntime-node's CUDA execution provider (onnxruntime 1.30 is built for CUDA 12.x + cuDNN 9.x).
# Build from the repository root (BuildKit reads worker.Dockerfile.dockerignore beside this file):
#   docker build -f infra/worker.Dockerfile -t a2i-worker .
FROM node:20-bookworm-slim AS node

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
# Node 20 from the official image (Ubuntu's own nodejs is older); ffmpeg for video inputs and outputs.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production
# 1. The worker's dependencies only (npm's --workspace); npm ci checks the lockfile against every
#    workspace, so every package.json comes in.
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/cli/package.json apps/cli/
COPY apps/web/package.json apps/web/
COPY apps/worker/package.json apps/worker/
COPY packages/client/package.json packages/client/
COPY packages/collections/package.json packages/collections/
COPY packages/imagebind/package.json packages/imagebind/
COPY packages/media/package.json packages/media/
COPY packages/model-pack/package.json packages/model-pack/
COPY packages/pipeline/package.json packages/pipeline/
COPY packages/protocol/package.json packages/protocol/
COPY packages/storage/package.json packages/storage/
COPY packages/unclip/package.json packages/unclip/
# onnxruntime-node's CUDA 12 libraries come from its install script, which the root
# package.json's allowScripts does not allow (CPU machines need none) and --ignore-scripts
# skips on any npm. So: install without scripts, then run that installer with
# ONNXRUNTIME_NODE_INSTALL=cuda12. It downloads the CUDA execution provider: the build needs
# the network.
RUN npm ci --omit=dev --workspace apps/worker --ignore-scripts --no-audit --no-fund \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && npm cache clean --force
# 2. The code (tsx runs the TypeScript as it is): the worker and every package it loads.
COPY tsconfig.json ./
COPY packages packages
COPY apps/worker apps/worker

# The model pack is mounted read-only at /models/pack (docker-compose.yml, infra/k8s/worker.yaml).
# Uploads and results live in object storage (A2I_STORAGE=s3://...); /data holds only the inputs
# a run fetched (the spool) and the heartbeat file.
RUN mkdir -p /data/uploads && chown -R ubuntu:ubuntu /data
ENV A2I_PIPELINE=onnx \
    A2I_PACK_DIR=/models/pack \
    A2I_ORT_PROVIDER=cuda \
    A2I_UPLOADS_DIR=/data/uploads \
    A2I_RESULTS_DIR=/data/results \
    A2I_HEARTBEAT_FILE=/data/heartbeat \
    A2I_HEARTBEAT_INTERVAL_MS=5000 \
    A2I_LOG_FORMAT=json \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe
USER ubuntu
# Healthy: a heartbeat reached Redis within the last 3 intervals (A2I_HEARTBEAT_FILE is touched
# after each). Loading and warming a real pack takes minutes: the start period covers it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=600s CMD ["node", "-e", "const f=require('fs'); try { const age=Date.now()-f.statSync(process.env.A2I_HEARTBEAT_FILE).mtimeMs; process.exit(age < 3*Number(process.env.A2I_HEARTBEAT_INTERVAL_MS) ? 0 : 1) } catch { process.exit(1) }"]
# SIGTERM: no new job; running ones get A2I_SHUTDOWN_GRACE_MS (10 s) to finish, then go back to
# the queue; the process exits within 5 s after that: give it at least grace + 10 s.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "apps/worker/src/main.ts"]
