# The api (apps/api): HTTP + socket.io front door. It never runs a model: no onnxruntime, no GPU,
# no ffmpeg by default. Build from the repository root (BuildKit reads api.Dockerfile.dockerignore):
#   docker build -f infra/api.Dockerfile -t a2i-api .
#   docker build -f infra/api.Dockerfile --build-arg WITH_FFPROBE=true -t a2i-api .   # see below
FROM node:20-bookworm-slim

# The api checks each upload's headers before queueing it (@a2i/media inspectUpload). Video inputs
# and container soundtracks (MP4/M4A, WebM, AIFF, AAC) are read by ffprobe: without it the api
# refuses them with 415 MEDIA_NEEDS_FFMPEG (WAV, FLAC, MP3, Ogg Vorbis/Opus and images need none).
# WITH_FFPROBE=true installs Debian's ffmpeg package (~300 MB) so the api takes them too.
ARG WITH_FFPROBE=false
RUN if [ "$WITH_FFPROBE" = "true" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
ENV NODE_ENV=production
# 1. The api's dependencies only (npm's --workspace): a layer that changes with the lockfile. npm ci
#    checks the lockfile against every workspace, so every package.json comes in (nothing else of them).
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
# --ignore-scripts: nothing the api runs needs an install script (sharp and LanceDB ship prebuilt
# binaries as packages). npm still adds the root's onnxruntime-node and LanceDB's optional
# embedding functions (@huggingface/transformers, with an onnxruntime of its own): the api loads
# neither, so they go, and the build fails should anything still resolve onnxruntime.
RUN npm ci --omit=dev --workspace apps/api --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node node_modules/onnxruntime-common node_modules/onnxruntime-web node_modules/@huggingface \
 && node -e "try { require.resolve('onnxruntime-node'); process.exit(1) } catch { process.exit(0) }" \
 && npm cache clean --force
# 2. The code the api runs (tsx runs the TypeScript as it is): itself, the packages it imports, the page.
COPY tsconfig.json ./
COPY packages/protocol packages/protocol
COPY packages/client packages/client
COPY packages/collections packages/collections
COPY packages/media packages/media
COPY packages/storage packages/storage
COPY apps/api apps/api
COPY apps/web/public apps/web/public

# Uploads are received into A2I_UPLOADS_DIR (the spool) and go to object storage (A2I_STORAGE=s3://...);
# with the default A2I_STORAGE=file:var the folders are local to the container.
RUN mkdir -p /data/uploads && chown -R node:node /data
ENV A2I_HOST=0.0.0.0 \
    A2I_PORT=8080 \
    A2I_UPLOADS_DIR=/data/uploads \
    A2I_RESULTS_DIR=/data/results \
    A2I_LOG_FORMAT=json
EXPOSE 8080
USER node
# /healthz: the process answers. Readiness (Redis reachable, a worker alive) is /readyz: a load
# balancer's or Kubernetes' readiness probe, not this (a restart would not bring a worker back).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: followers are told server:shutdown, requests in flight get A2I_SHUTDOWN_GRACE_MS (10 s),
# the process exits within 3 s after that: give it at least grace + 5 s (stop_grace_period,
# terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
