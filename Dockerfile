# Container image of alipay-gateway.
#
# Default: build from source in the Rust builder image, run on distroless (same Debian 12, so the glibc the binary
# was linked against is the one it runs on):
#   docker build -t alipay-gateway .
# From a binary built elsewhere (e.g. CI's own release build), without the builder image:
#   docker build --build-arg BINARY_FROM=prebuilt --build-arg BINARY=alipay-gateway DIR_HOLDING_THE_BINARY
# The runtime has no shell: `alipay-gateway healthcheck` is the probe for plain Docker; Kubernetes uses its own
# gRPC probes (see helm/alipay-gateway).

ARG BUILDER_IMAGE=rust:1.94-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# `build` compiles in the builder stage; `prebuilt` copies ${BINARY} from the build context.
ARG BINARY_FROM=build

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin alipay-gateway \
    && install -D -m 0755 target/release/alipay-gateway /out/alipay-gateway

FROM scratch AS prebuilt
ARG BINARY=alipay-gateway
COPY ${BINARY} /out/alipay-gateway

# BuildKit builds only the stage named here (and what it needs), so `prebuilt` never pulls the builder image.
FROM ${BINARY_FROM} AS binary

FROM ${RUNTIME_IMAGE}
COPY --from=binary /out/alipay-gateway /usr/local/bin/alipay-gateway
# distroless's `nonroot` user; the Helm chart runs as the same uid/gid with a read-only root filesystem.
USER 65532:65532
# gRPC (health, reflection, the API); HTTP for Alipay notifications when enabled.
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
    CMD ["/usr/local/bin/alipay-gateway", "healthcheck", "--service", "liveness"]
ENTRYPOINT ["/usr/local/bin/alipay-gateway"]
CMD ["serve"]
