# One image for the three programs: workflow-router (default), workflow-operator, vllm-sim.
#   docker run IMAGE --static-backends ...            # the router
#   docker run IMAGE workflow-operator --leader-elect  # the operator
#   docker run IMAGE vllm-sim --pods 3 --port 9001     # the simulator
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; install scripts are not needed by any runtime dependency.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY core ./core
COPY router ./router
COPY operator ./operator
COPY sim ./sim
COPY crds ./crds
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# The node image's unprivileged user; the root filesystem can be mounted read-only.
USER node
EXPOSE 8001
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["workflow-router"]
