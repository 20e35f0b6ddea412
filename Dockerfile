# Gatehouse's image (issue 15): built with the dev dependencies (TypeScript), run with the
# production ones only, as the unprivileged `node` user. The settings file is mounted read-only at
# $GATEHOUSE_CONFIG; give every replica the same GATEHOUSE_SECRET_KEY and GATEHOUSE_ADMIN_TOKEN
# (deploy/docker-compose.yml, README "Running N replicas").

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Only tsc runs here: no package's install script is needed.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY server ./server
RUN npm run build --silent

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    GATEHOUSE_CONFIG=/etc/gatehouse/mcp_settings.json \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY dashboard ./dashboard
COPY mcp_settings.json ./
# Nothing in /app is the gateway's to write: with the secrets in the environment and the state on
# Redis it writes nothing beside the settings file either.
USER node
EXPOSE 3000
# Liveness only (/healthz); a load balancer should ask /readyz (settings loaded, Redis reachable).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --host 0.0.0.0 needs inbound auth in the settings (Gatehouse refuses an open /mcp on a
# non-loopback address). SIGTERM drains (up to 10 s for calls in flight), so a stop grace period of
# 30 s lets it finish.
CMD ["node", "--max-semi-space-size=4", "dist/server/main.js", "--host", "0.0.0.0"]
