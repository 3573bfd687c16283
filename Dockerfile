# syntax=docker/dockerfile:1
# lvskeeper in a container. It manages the HOST's addresses and IPVS tables, so run it in the host's
# network namespace with the two capabilities VRRP/IPVS/GARP need, and the configuration mounted:
#
#   docker build -t lvskeeper .
#   docker run -d --name lvskeeper --network host --cap-add NET_ADMIN --cap-add NET_RAW \
#     -v /etc/keepalived:/etc/keepalived:ro lvskeeper
#
# The host must have the ip_vs module loaded (`modprobe ip_vs`) when virtual servers are configured.
# Reload: `docker kill -s HUP lvskeeper`. Stop: `docker stop -t 20 lvskeeper` (SIGTERM: priority-0
# adverts, VIPs and IPVS entries removed). Extra options (keepalived's) go after the image name,
# e.g. `... lvskeeper -D`.

# ---- build: TypeScript + native addon (node-gyp needs g++, make, python3) ----
FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
# The image ships the Node headers: node-gyp then needs no download.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
# npm ci builds the root binding.gyp (native/lvskeeper_net.c), so both must be there first.
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
RUN npm ci --no-audit --no-fund
# the rest of the context (.dockerignore allows only tsconfig*, src, config, systemd)
COPY . .
RUN mkdir -p config \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && test -f dist/cli/lvskeeper.js && test -f build/Release/lvskeeper_net.node

# ---- runtime: Node, iproute2 for operators' notify scripts, tini to reap scripts' orphans ----
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/lvskeeper
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/lvskeeper_net.node ./build/Release/lvskeeper_net.node
COPY --from=build /src/config ./config
COPY --from=build /src/systemd ./systemd
RUN chmod 0755 dist/cli/lvskeeper.js dist/lvsadm.cjs \
 && ln -s /opt/lvskeeper/dist/cli/lvskeeper.js /usr/local/bin/lvskeeper \
 && ln -s /opt/lvskeeper/dist/lvsadm.cjs /usr/local/bin/lvsadm
ENV NODE_ENV=production
STOPSIGNAL SIGTERM
# Foreground, log lines on the console (docker logs), the mounted keepalived.conf.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/lvskeeper/dist/cli/lvskeeper.js", "--dont-fork", "--log-console", "--use-file", "/etc/keepalived/keepalived.conf"]
CMD []
