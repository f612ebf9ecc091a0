# syntax=docker/dockerfile:1
# Gatehouse container image. Build: docker build -t gatehouse .   Run: see docs/operations.md (Container image).
# Three stages: the compiled dist/ (needs the dev dependencies), the production dependencies alone, and a
# slim runtime that gets only those two plus package.json.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one, and none then runs at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# main.js reads its version from ../package.json.
COPY package.json ./
# A starting config; mount your own over it (Kubernetes: a ConfigMap, see deploy/kubernetes).
COPY examples/gatehouse.yaml /etc/gatehouse/gatehouse.yaml
# The node image's unprivileged "node" user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE 8080 9901
# What `docker stop` and Kubernetes send: the gateway drains (server.drainTimeout) and exits 0.
STOPSIGNAL SIGTERM
# Asks the admin listener's /ready (503 while starting or draining); the admin listener must stay on
# 127.0.0.1:9901 inside the container, or pass --admin HOST:PORT here.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "--disable-sigusr1", "dist/main.js", "health", "--admin", "127.0.0.1:9901"]
# node itself is PID 1 (no npm or shell in between), so it receives the stop signal. --disable-sigusr1: a
# process that can signal the gateway must not be able to open Node's inspector.
ENTRYPOINT ["node", "--disable-sigusr1", "dist/main.js"]
CMD ["start", "-c", "/etc/gatehouse/gatehouse.yaml"]
