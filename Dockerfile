# The app image: the editor bundle built with Node, served by Daphne.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY editor_project/ editor_project/
COPY documents/ documents/
RUN pip install .
COPY . .
COPY --from=frontend /src/frontend/dist frontend/dist
RUN DEBUG=false SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput
EXPOSE 8000
# Healthy when the app answers with its database and Redis both reachable.
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]
# Migrations run before the server starts; with several app containers, one
# running them at a time is enough (they are idempotent).
CMD ["sh", "-c", "python manage.py migrate --noinput && python -m editor_project.server.serve --host 0.0.0.0 --port 8000"]
