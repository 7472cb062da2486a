# syntax=docker/dockerfile:1
#
# Nordlys ID container image.
#   docker build -t nordlys-id:latest .
#   docker run --init -p 3000:3000 --env-file .env -v "$PWD/clients.json:/app/config/clients.json:ro" nordlys-id:latest
# Configuration is by environment variables (see .env.example) and a clients file you mount: the
# image ships no clients (the repository's example clients are left out by .dockerignore, and
# production refuses them). With NODE_ENV=production the service refuses to start without
# COOKIE_KEYS, DPOP_NONCE_SECRET, PAIRWISE_SALT, CODE_HMAC_SECRET, KEY_ENCRYPTION_KEY, SMTP_URL, DATABASE_URL, an https
# ISSUER and TRUSTED_PROXIES (the TLS-terminating proxy in front of it). The operator CLI is on the PATH:
#   docker run --rm --env-file .env nordlys-id:latest nordlys migrate
#   docker compose exec nordlys nordlys audit export --since 2026-12-01T00:00:00Z > audit.ndjson
# Nothing is built when the container starts: the image holds the compiled code and production
# dependencies only, and CMD runs node on it directly (no npm in the process tree).
#
# Debian bookworm (glibc): argon2 and better-sqlite3 load the linux-x64 / linux-arm64 glibc
# binaries they ship, so neither stage needs a compiler.

# ---- build: all dependencies (TypeScript, type packages), compile to dist/ ----------------------
# Pinned: the same Node release in both stages and in every build (renovate/dependabot move it).
FROM node:22.23.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install --no-save` installs exactly the locked versions; `npm ci` is not used because the lock
# lacks other platforms' optional binaries (unrs-resolver, under jest) that the registry mirror this
# project is built against does not carry, and `npm ci` treats that as out of sync.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The mock upstreams (mocks/): served only when MOCKS_ENABLED, which production refuses; the service imports them.
COPY mocks ./mocks
COPY migrations ./migrations
# tsconfig.build.json also includes bench/; it is left out of the context copy on purpose, so only
# dist/src, dist/mocks and dist/migrations are produced for the runtime image.
RUN npm run build

# ---- runtime: production dependencies, compiled code, templates, static files, password list ----
FROM node:22.23.5-bookworm-slim AS runtime
# MALLOC_MMAP_THRESHOLD_: a fixed 128 KiB threshold (it turns glibc's dynamic one off), so each argon2id
# verify's 19 MiB buffer is mmapped and given back when freed instead of staying in a malloc arena of
# the threadpool (README "Memory"). glibc reads it when node starts, hence here and not in the code.
# GLIBC_TUNABLES: glibc.malloc.hugetlb=1 has malloc ask for transparent huge pages on those mmapped
# buffers, so the next verify faults its 19 MiB in with about ten 2 MiB faults instead of about 4,900
# 4 KiB ones (9-12 ms of kernel time per verify down to 2-3 ms). It needs the host's transparent huge
# pages at `madvise` or `always`; at `never` it changes nothing. Read by glibc at start, like the threshold.
# NODE_OPTIONS: the node flags of src/config/operations.ts (RECOMMENDED_NODE_FLAGS), read when node
# starts; the heap flags keep the heap from growing to four times its live size between collections, and
# --experimental-async-context-frame carries AsyncLocalStorage without a hook on every promise (Node 24's
# default). An operator's own NODE_OPTIONS replaces them here; the cluster's workers get them back ahead
# of it, where the operator's settings still win.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    MALLOC_MMAP_THRESHOLD_=131072 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=1024 --experimental-async-context-frame"
WORKDIR /app
COPY package.json package-lock.json ./
# Installed as root: the application files stay read-only for the user the service runs as.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-save --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
# config/ without clients.json (.dockerignore): the common-password list.
COPY config ./config
# `nordlys` on the PATH: a two-line wrapper around dist/src/cli/index.js (package.json "bin" names the same file).
COPY --chmod=755 deploy/nordlys /usr/local/bin/nordlys
# The only writable place: SQLite database and development data when DATABASE_URL is not set.
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 3000
# Liveness only (process answers HTTP); database readiness is GET /readyz, used by orchestrators.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
