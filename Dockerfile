# syntax=docker/dockerfile:1
# The image of one Parley service, from the repository root (it holds the lock file and the libs):
#   docker build --build-arg SERVICE=gateway -t parley-gateway:0.1.0 .      (persister, delivery)
# SERVICE picks the service; NODE_IMAGE the base, the official Node image by default. `npm run
# images`, on machines that reach no registry, passes a local Debian + Node image that copies this
# default's suite and Node release (scripts/images/base-image.mjs reads them from the line below).
ARG NODE_IMAGE=node:24.9.0-bookworm-slim
ARG SERVICE

# Only the package manifests and the lock: the install layers below are reused until one
# of them changes, whatever happens to the sources. npm ci checks every workspace of the root
# package.json against the lock, so every workspace's package.json is copied.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out && cp package.json package-lock.json .npmrc /out/ \
 && find libs services tools tests infra examples -name package.json -not -path "*/node_modules/*" -exec cp --parents {} /out/ \;

# Compile the three services and the libs they import (dev dependencies are needed here
# only). The stage does not depend on SERVICE, so a builder with a layer cache (BuildKit,
# buildah --layers, kaniko --cache) builds it once for the three images.
FROM ${NODE_IMAGE} AS build
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /app
COPY --from=manifests /out/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
# /deploy holds what the runtime needs of each: package.json and dist, and the migrations. The
# libs are the @parley dependencies of the services, which all three share (tests/k8s checks
# this list against each service's package.json).
RUN node_modules/.bin/turbo run build --filter=@parley/gateway... --filter=@parley/persister... --filter=@parley/delivery... \
 && for dir in libs/protocol libs/db libs/runtime libs/bus services/gateway services/persister services/delivery; do \
      mkdir -p /deploy/$dir && cp -r $dir/package.json $dir/dist /deploy/$dir/; \
    done \
 && cp -r libs/db/migrations /deploy/libs/db/

# Production dependencies of this service and its libs only: no dev tools, no other service's.
# npm also installs what other workspaces reached through a devDependency need (the test kit's
# testcontainers); prune-production.mjs removes what `npm ls --omit=dev` leaves out of the tree.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=manifests /out/ ./
COPY scripts/images/prune-production.mjs /tmp/
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace services/${SERVICE} --no-audit --no-fund \
 && npm ls --all --omit=dev --long --json --workspace services/${SERVICE} > /tmp/tree.json \
 && node /tmp/prune-production.mjs /tmp/tree.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
ARG SERVICE
# Code stays owned by root and read-only to the process; the pod also mounts it read-only.
# Few instructions: each is a layer, and a builder's store copies every one.
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /deploy/libs libs
COPY --from=build /deploy/services/${SERVICE} services/${SERVICE}
# The official image's `node` user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
WORKDIR /app/services/${SERVICE}
# The package's `start` script (`exec node dist/server.js`) without npm, in exec form, so node
# itself receives SIGTERM (the official image's entrypoint execs it). It starts no child
# processes, so there is nothing to reap and no need for an init such as tini.
CMD ["node", "dist/server.js"]

# The port each service listens on by default (its env.ts), which the probes use.
FROM runtime AS gateway
EXPOSE 3000
FROM runtime AS persister
EXPOSE 9101
FROM runtime AS delivery
EXPOSE 9102

# The image is the stage named SERVICE: a build without --build-arg SERVICE stops here.
FROM ${SERVICE}
