# The Hydroplane server. Build it with scripts/build-server-image.sh, not `docker build .`: the
# context is a folder that the script prepares (app/: dist/ as `npm run build` left it, with
# dist/dashboard when built, package.json, basic-config.yml, and node_modules.tar, the production
# dependencies from `npm ci --omit=dev --ignore-scripts`). So there is no RUN here: the base needs
# neither npm nor a shell, and the build needs no network. See docs/container-image.md.
ARG BASE=node:24-bookworm-slim
FROM ${BASE}

WORKDIR /app
# The dependencies change less often than dist/, so they get the earlier layer. One tarball, which
# ADD unpacks, because sending and copying 8,000 files one by one takes the legacy builder long.
ADD app/node_modules.tar /app/
COPY app/package.json app/basic-config.yml /app/
COPY app/basic-config.yml /etc/hydroplane/config.yml
COPY app/dist/ /app/dist/

ENV NODE_ENV=production
# The official image's `node` user. Numeric, so that Kubernetes' runAsNonRoot can check it. The
# files stay root's: the server cannot change its own code.
USER 1000:1000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# DEP0169: docker-modem's url.parse() of a TCP Engine address that the server already checked (bin/hydroplane says more).
ENTRYPOINT ["node", "--disable-warning=DEP0169", "dist/cli/hydroplane.js"]
# Beyond loopback the server needs HYDROPLANE_API_TOKEN (or api_token in the config); it refuses
# to start otherwise.
CMD ["-c", "/etc/hydroplane/config.yml", "-H", "0.0.0.0"]
