# syntax=docker/dockerfile:1
# proxyhub image: one image for every role; the role is chosen by the command
# (`start --role ingress|control|worker:<feature>|all`).

# --- deps: production dependencies only
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- build: compile the runtime to dist/ (plain JavaScript: no loader thread at run time)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --include=dev --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY cli ./cli
COPY contracts ./contracts
COPY hub ./hub
COPY workers ./workers
RUN node scripts/build.mjs

# --- runtime
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PROXYHUB_DATA_DIR=/var/lib/proxyhub
WORKDIR /app

# Code and dependencies stay root-owned, so the `node` user cannot modify them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# One COPY per folder: COPY of several directories would flatten their contents into one.
COPY bin ./bin
COPY scripts ./scripts
COPY cli ./cli
COPY contracts ./contracts
COPY hub ./hub
COPY workers ./workers
# After the sources, so the build stamp is newer than every source file (see scripts/build-state.mjs).
COPY --from=build /app/dist ./dist

# oscap renders stored ARF reports as HTML for Foreman (the control role); without it that one
# route answers 501.
RUN apt-get update && apt-get install -y --no-install-recommends openscap-scanner && rm -rf /var/lib/apt/lists/*

# Local state (SSH key pair, ARF store, caches): the only place the process writes.
RUN mkdir -p "$PROXYHUB_DATA_DIR" && chown node:node "$PROXYHUB_DATA_DIR"
VOLUME ["/var/lib/proxyhub"]

USER node
# ingress, control (the listeners bind 127.0.0.1 unless PROXYHUB_*_HOST says otherwise)
EXPOSE 8443 9090

# Launch flags as in package.json "proxyhub.nodeFlags" (what `npm start` uses).
ENTRYPOINT ["node", "--max-semi-space-size=4", "bin/proxyhub.mjs"]
CMD ["start", "--role", "all"]
