# media-monitor: one image for every role (worker, beat, init-db, all-in-one run).
#
#   docker build -t media-monitor .
#   docker build --build-arg EXTRAS=ner -t media-monitor .   # with the spaCy entity check
#   docker run --rm media-monitor monitor --help
#
# Configuration comes from the environment (MONITOR_*) and from files mounted
# under /app (rules/, feeds.yaml, monitor.yaml); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed, unprivileged user; the uid matters for files on bind mounts.
RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /home/monitor --create-home \
       --shell /usr/sbin/nologin monitor

# Build from a throw-away directory so the installed package is the only copy.
# EXTRAS=ner adds spaCy and its French model (monitor/adapters/ner.py); empty by default.
ARG EXTRAS=""
WORKDIR /build
COPY . .
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
    && cd / && rm -rf /build

WORKDIR /app
# Example rules as a default; docker-compose.yml mounts ./rules over them.
COPY rules/ ./rules/
# celery beat keeps its schedule file in the working directory.
RUN chown monitor:monitor /app

ENV MONITOR_RULES_PATH=/app/rules \
    MONITOR_FEEDS_PATH=/app/feeds.yaml \
    MONITOR_CONFIG=/app/monitor.yaml

USER monitor

# Other roles: `monitor beat`, `monitor init-db`, `monitor run` (all-in-one).
CMD ["monitor", "worker"]
