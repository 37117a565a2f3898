# syntax=docker/dockerfile:1
# The images of the three Parley services, one build target each. Build context: the
# repository root (a service needs the workspace packages it depends on), e.g.
#   docker build --target auth -t parley-auth .
# docker-compose.yml builds them this way. Stages: `build` compiles the three services
# and their workspace packages once and `pnpm deploy`s each into /out/<service> with
# production dependencies only; `runtime` is a fresh slim Node image with what every
# service image shares (the scripts of tools/docker, the non-root `node` user, the
# health check); `auth`, `chat` and `websocket` add their deployed folder and port.
# The compose `keygen` one-shot (tools/docker/generate-jwt-key.mjs) runs from auth's.

FROM node:22-bookworm-slim AS build
ARG PNPM_VERSION=10.34.8
ENV CI=true
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}"
WORKDIR /repo
# Only the lockfile decides what is fetched, so this layer survives source edits.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline \
      --filter "@parley/auth..." --filter "@parley/chat..." --filter "@parley/websocket..." \
 && pnpm exec tsc -b services/auth services/chat services/websocket
# pnpm 10 deploys only injected workspace packages; enabling that for the deploy alone
# keeps the workspace lockfile as it is and derives the deployed lockfile from it, so
# the image gets exactly the locked versions (--legacy would resolve them afresh).
# Of each deployed folder only package.json, dist/ and node_modules/ go into an image.
RUN for service in auth chat websocket; do \
      pnpm --filter "@parley/${service}" deploy --prod --offline \
        --config.inject-workspace-packages=true "/out/${service}" \
      && find "/out/${service}" -mindepth 1 -maxdepth 1 \
        ! -name package.json ! -name dist ! -name node_modules -exec rm -rf {} + \
      || exit 1; \
    done

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY tools/docker/healthcheck.mjs tools/docker/generate-jwt-key.mjs tools/docker/script-env.mjs ./docker/
# The mount point of the compose `jwt-keys` volume: a new named volume takes this
# directory's owner, so keygen (running as `node`) can write the key there.
RUN mkdir -p /var/lib/parley/keys \
 && chown node:node /var/lib/parley/keys \
 && chmod 0700 /var/lib/parley/keys
USER node
# No --start-period here: compose sets one; alone, 6 tries 10 s apart cover a slow start.
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
  CMD ["node", "docker/healthcheck.mjs", "/readyz"]
CMD ["node", "dist/main.js"]

# The service images: their code is owned by root and only readable by `node`, so the
# process cannot rewrite it. PORT is also what the health check calls.
FROM runtime AS auth
ENV PORT=5001
COPY --from=build /out/auth ./
EXPOSE 5001

FROM runtime AS chat
ENV PORT=5002
COPY --from=build /out/chat ./
EXPOSE 5002

FROM runtime AS websocket
ENV PORT=5003
COPY --from=build /out/websocket ./
EXPOSE 5003
