# syntax=docker/dockerfile:1
# Build stage: native modules (better-sqlite3) compile here, with the toolchain the runtime does not need.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY profiles ./profiles
COPY valuesets ./valuesets
COPY examples ./examples
COPY config ./config

# Runtime stage: no compilers, a non-root user, data on a volume.
FROM node:20-bookworm-slim
# Listening on 0.0.0.0 needs authentication: run with AUTH_ISSUER and AUTH_JWKS (see README,
# Security and audit), or the server refuses to start.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=sqlite:/data/forlop.db
WORKDIR /app
COPY --from=build /app /app
RUN groupadd --system forlop && useradd --system --gid forlop --home /app forlop \
    && mkdir -p /data && chown forlop:forlop /data
USER forlop
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form), so in-flight requests finish before exit.
CMD ["node", "bin/forlop.js", "serve"]
