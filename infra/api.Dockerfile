# The api: HTTP + socket.io front door (apps/api). It never runs a model, so no GPU.
# Build from the repository root (BuildKit reads api.Dockerfile.dockerignore beside this file):
#   docker build -f infra/api.Dockerfile -t a2i-api .
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
COPY . .
# --ignore-scripts: nothing the api runs needs an install script (onnxruntime-node ships its
# CPU binaries in the package, and the api never loads it). tsx runs the TypeScript directly.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /data/uploads /data/results && chown -R node:node /data

ENV A2I_HOST=0.0.0.0 \
    A2I_PORT=8080 \
    A2I_UPLOADS_DIR=/data/uploads \
    A2I_RESULTS_DIR=/data/results
EXPOSE 8080
USER node
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
