# syntax=docker/dockerfile:1
#
# One image for the three Dagster processes of the migration; the command picks the role. The
# CMD below runs the code location (a gRPC code server on port 4000); the other two, pointed at
# it (`code`: the code server's host name, e.g. its compose service):
#
#   webserver:  dagster-webserver -h 0.0.0.0 -p 3000 --grpc-host code --grpc-port 4000
#   daemon:     dagster-daemon run --grpc-host code --grpc-port 4000
#
# The instance (run/event storage, run launcher) is $DAGSTER_HOME/dagster.yaml: the image carries
# the production one (deploy/dagster.yaml: PostgreSQL from DAGSTER_PG_*, each run its own ECS
# task), the same file in every environment since every value comes from the environment;
# docker-compose.yml mounts deploy/dagster.compose.yaml over it (runs as processes, no ECS).
# deploy/workspace.yaml points a webserver or daemon at the code server by
# DAGSTER_CODE_SERVER_HOST/_PORT (`-w /opt/dagster/app/deploy/workspace.yaml`).
#
# No MySQL/MariaDB client tools are installed: the package talks to both servers through
# PyMySQL, and its only child processes (`dbmigrate dev up/down`) start local MariaDB servers
# for development, which have no place in this image.
#
# Layers: dependencies come from requirements.lock alone and are installed before any code, so a
# code change rebuilds only the last layers. The package is installed editable in its project
# directory, as Dagster's own deploy template does: load_from_defs_folder finds the project by
# its pyproject.toml ([tool.dg]), which a wheel in site-packages leaves behind.

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --user-group --create-home --shell /usr/sbin/nologin dagster \
    && python -m venv /opt/venv \
    && mkdir -p /opt/dagster/dagster_home \
    && chown dagster:dagster /opt/dagster/dagster_home
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home

# Exactly the lock, nothing resolved at build time: --no-deps installs only the pinned lines,
# and `pip check` fails the build if the lock misses a dependency.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --no-deps -r /tmp/requirements.lock \
    && pip check \
    && rm /tmp/requirements.lock

# The default catalog and migrations (db/catalog.json, db/migrations) resolve from here; a
# deployment may mount its own or point DBMIGRATE_CATALOG / DBMIGRATE_MIGRATIONS_DIR elsewhere.
WORKDIR /opt/dagster/app
COPY pyproject.toml README.md ./
COPY migration_assets ./migration_assets
RUN pip install --no-cache-dir --no-deps --editable .
COPY db ./db
COPY deploy ./deploy
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml

# Numeric, so a runtime that forbids root (runAsNonRoot) can verify it without /etc/passwd.
USER 10001:10001

# A code location that cannot load fails the build, not the first deployment (the code server
# itself stays up and healthy to report a load error). Its instance is a throwaway.
RUN home="$(mktemp -d)" \
    && DAGSTER_HOME="$home" dagster definitions validate -m migration_assets \
    && rm -r "$home"

EXPOSE 4000

# For the code server. A daemon container overrides it with `dagster-daemon liveness-check`, a
# webserver with a GET of http://localhost:3000/server_info (python -c, there is no curl).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "migration_assets", "--location-name", "migration_assets"]
