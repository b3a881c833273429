# The app image: the editor bundle built with Node, the app installed from its
# wheel (bundle, templates and migrations inside), served by Daphne.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# Writes /src/documents/static/editor/ (vite.config.js: outDir).
RUN npm run build

FROM python:3.11-slim-bookworm AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY editor_project/ editor_project/
COPY documents/ documents/
COPY --from=frontend /src/documents/static/editor/ documents/static/editor/
RUN pip wheel --no-deps -w /wheels .

FROM python:3.11-slim-bookworm
# The settings' defaults are relative to the installed package; keep the
# embedded default's SQLite file and the collected static files under /app.
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////app/db.sqlite3 STATIC_ROOT=/app/staticfiles
COPY --from=wheel /wheels/ /wheels/
RUN pip install /wheels/*.whl && rm -rf /wheels
# Only what runs beside the installed package: manage.py (the same as the
# `collab-editor` command) and the health check. No source tree, so the app
# always runs from site-packages.
WORKDIR /app
COPY manage.py ./
COPY scripts/healthcheck.py scripts/
RUN DEBUG=false SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput
# The app runs as a user of its own, never root: a hole in it cannot rewrite
# the installed code. It may write /app only (the embedded default's SQLite file).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && chown app:app /app
USER app
EXPOSE 8000
# Healthy when the app answers with its database and Redis both reachable.
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]
# Migrations are not run here: with several app containers, every one would
# race to run them. docker-compose.yml runs them once, in a one-shot `migrate`
# service, before any app container starts; elsewhere run
# `python manage.py migrate --noinput` as a release step.
CMD ["python", "-m", "editor_project.server.serve", "--host", "0.0.0.0", "--port", "8000"]
