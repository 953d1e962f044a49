# billing-triage: multi-stage build, distroless runtime (no shell), non-root.
#
#   docker build -t billing-triage .
#   docker run -p 3000:3000 --env-file .env billing-triage
#
# Build stage: dependencies are compiled in their own layer (a stub main)
# so that a source change rebuilds only the crate itself.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && echo '' > src/lib.rs \
 && echo 'fn main() {}' > benches/audit.rs \
 && mkdir -p tests/it && echo '' > tests/it/main.rs \
 && cargo build --release --locked --bin billing-triage \
 && rm -rf src benches tests
COPY src ./src
COPY benches ./benches
# Touch so cargo sees the real sources as newer than the stub build.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin billing-triage \
 && cp target/release/billing-triage /billing-triage

# Runtime: glibc + libgcc + CA certificates, nothing else (about 25 MB).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /billing-triage /usr/local/bin/billing-triage
ENV BIND_ADDR=0.0.0.0:3000 \
    RUST_LOG=info
EXPOSE 3000
USER nonroot:nonroot
# Exec form: there is no shell; the binary probes its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/billing-triage", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/billing-triage"]
CMD ["serve"]
