# syntax=docker/dockerfile:1
# The one inferwatch image: every service of the Helm chart runs it with a different command
# (`inferwatch collector serve`, `inferwatch drift serve`, ...), so it installs the `server`
# extra; model pods install the lean client instead. Build from the repository root:
#   docker build -t ghcr.io/inferwatch/inferwatch:0.1.0 .
# docs/helm.md lists the steps; tests/helm checks this file against pyproject.toml and the chart.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel, then a virtual environment with it and its dependencies -------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY contracts ./contracts
COPY collector ./collector
COPY exporters ./exporters
COPY drift ./drift
COPY dashboards ./dashboards
COPY alerts ./alerts
COPY demo ./demo
COPY testing ./testing
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv /opt/inferwatch \
 && /opt/inferwatch/bin/pip install "$(ls /dist/inferwatch-*.whl)[server,kubelet]" \
 && /opt/inferwatch/bin/inferwatch version

# --- runtime: the virtual environment only, as a non-root user -----------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="inferwatch" \
      org.opencontainers.image.description="Observability and drift monitoring for AI inference" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/inferwatch/inferwatch"
RUN groupadd --system --gid 10001 inferwatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/inferwatch \
      --no-create-home --shell /usr/sbin/nologin inferwatch \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/inferwatch
COPY --from=build /opt/inferwatch /opt/inferwatch
ENV PATH=/opt/inferwatch/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/inferwatch \
    MPLCONFIGDIR=/tmp/matplotlib \
    INFERWATCH_DATA_DIR=/var/lib/inferwatch
WORKDIR /var/lib/inferwatch
USER 10001:10001
EXPOSE 8686
ENTRYPOINT ["inferwatch"]
CMD ["--help"]
