# A GPU worker (apps/worker): loads a model pack once and runs generations on CUDA through
# onnxruntime-node's CUDA execution provider (onnxruntime 1.30 is built for CUDA 12.x + cuDNN 9.x).
# Build from the repository root (BuildKit reads worker.Dockerfile.dockerignore beside this file):
#   docker build -f infra/worker.Dockerfile -t a2i-worker .
FROM node:20-bookworm-slim AS node

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
# Node 20 from the official image (Ubuntu's own nodejs is older); ffmpeg for video inputs.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production
COPY . .
# onnxruntime-node's CUDA 12 libraries come from its install script, which the root
# package.json's allowScripts does not allow (CPU machines need none) and --ignore-scripts
# skips on any npm. So: install without scripts, then run that installer with
# ONNXRUNTIME_NODE_INSTALL=cuda12. It downloads the CUDA execution provider: the build needs
# the network.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && mkdir -p /data/uploads /data/results && chown -R ubuntu:ubuntu /data

# The model pack is mounted read-only at /models/pack (docker-compose.yml); uploads and
# results live on the volume shared with the api. Same uid (1000) as the api's `node` user.
ENV A2I_PIPELINE=onnx \
    A2I_PACK_DIR=/models/pack \
    A2I_ORT_PROVIDER=cuda \
    A2I_UPLOADS_DIR=/data/uploads \
    A2I_RESULTS_DIR=/data/results \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe
USER ubuntu
CMD ["node", "--import", "tsx", "apps/worker/src/main.ts"]
