# Trove as a container: `docker build -t trove .` then
#   docker run -p 5000:5000 -v trove-data:/data trove
# The data (SQLite database, artifacts, webhook key) lives in the /data volume; the server runs as
# the unprivileged user `trove`. See README.md ("Docker") for PostgreSQL and S3 settings.

# Build stage: the full dependency set builds the server bundle and the web UI, then packs the
# same tarball `npm pack` gives (package.json "files": bin/, dist/, web/dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN node scripts/build.mjs && npm pack --ignore-scripts --pack-destination /tmp

# Runtime stage: the packed tarball installed without development dependencies, exactly as
# test/integration/package-install.test.ts installs it. Build tools are there only for
# better-sqlite3, should no prebuilt binary match, and are removed in the same layer. The server
# is then started once with TROVE_CODE_CACHE_WARMUP=1: it writes its V8 code cache next to the
# bundle (dist/ stays root-owned and read-only for `trove`) and stops, so every container start
# deserializes the compiled code instead of compiling it (docs/memory.md).
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /tmp/trove-*.tgz /tmp/
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && echo '{"private":true,"allowScripts":{"better-sqlite3":true}}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/trove-*.tgz \
 && npm cache clean --force && rm /tmp/trove-*.tgz \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && groupadd --system trove && useradd --system --gid trove --home-dir /data trove \
 && mkdir -p /data && chown trove:trove /data \
 && TROVE_CODE_CACHE_WARMUP=1 /app/node_modules/.bin/trove server --port 0 --backend-store-uri sqlite:////tmp/warmup/trove.db --artifacts-destination /tmp/warmup/artifacts --log-level warn \
 && rm -rf /tmp/warmup
USER trove
VOLUME /data
EXPOSE 5000
ENV NODE_ENV=production TROVE_LOG_FORMAT=json
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:5000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/node_modules/.bin/trove"]
CMD ["server", "--host", "0.0.0.0", "--port", "5000", "--backend-store-uri", "sqlite:////data/trove.db", "--artifacts-destination", "/data/artifacts"]
