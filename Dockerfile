# syntax=docker/dockerfile:1
# The images of the three Parley services and of the web client, one build target
# each. Build context: the repository root (each needs the workspace packages it
# depends on), e.g.
#   docker build --target auth -t parley-auth .
# docker-compose.yml builds them this way. Stages: `build` compiles the three services
# and their workspace packages and bundles the web app, once, and `pnpm deploy`s each
# into /out/<name> with production dependencies only; `base` is a fresh slim Node image
# with what every image shares (the health check script); `runtime` adds what the
# service images share (the key script, the non-root `node` user, the /readyz health
# check), and `auth`, `chat` and `websocket` their deployed folder and port; `web` is
# the bundle and serve.mjs beside their dependencies, with its own port and health check.
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
# --filter-prod selects the images' projects by production dependencies only, so the
# services' devDependency on the test toolkit (@parley/testing) selects nothing. The
# workspace root, which pnpm always installs for its build tools, still brings the
# toolkit into this stage; it is not built here, and `deploy --prod` below leaves it out
# of every image (tools/ci/validate-docker.sh checks the deployed folders).
RUN pnpm install --frozen-lockfile --offline \
      --filter-prod "@parley/auth..." --filter-prod "@parley/chat..." \
      --filter-prod "@parley/websocket..." --filter-prod "@parley/web..." \
 && pnpm exec tsc -b services/auth services/chat services/websocket \
 && pnpm --filter @parley/web build
# pnpm 10 deploys only injected workspace packages; enabling that for the deploy alone
# keeps the workspace lockfile as it is and derives the deployed lockfile from it, so
# the image gets exactly the locked versions (--legacy would resolve them afresh).
# Of each deployed folder only package.json, dist/ and node_modules/ go into an image,
# and for the web app its server (serve.mjs, serve-env.cjs); its dist/ is the bundle.
RUN for app in auth chat websocket web; do \
      pnpm --filter "@parley/${app}" deploy --prod --offline \
        --config.inject-workspace-packages=true "/out/${app}" \
      && find "/out/${app}" -mindepth 1 -maxdepth 1 \
        ! -name package.json ! -name dist ! -name node_modules \
        ! -name serve.mjs ! -name serve-env.cjs -exec rm -rf {} + \
      || exit 1; \
    done

FROM node:22-bookworm-slim AS base
ENV NODE_ENV=production
WORKDIR /app
# script-env.mjs takes zod from the image's node_modules (the services and the web app
# all depend on it).
COPY tools/docker/healthcheck.mjs tools/docker/script-env.mjs ./docker/

FROM base AS runtime
COPY tools/docker/generate-jwt-key.mjs ./docker/
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

# The web client: the Vite bundle (dist/) served by serve.mjs on sirv; no service code,
# no key. HOST lets it listen beyond loopback; PORT is also what the health check calls.
FROM base AS web
ENV HOST=0.0.0.0 \
    PORT=8080
COPY --from=build /out/web ./
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
  CMD ["node", "docker/healthcheck.mjs", "/healthz"]
CMD ["node", "serve.mjs"]
