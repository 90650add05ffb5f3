# Image for every LoanSyncro process; the Kubernetes manifests pick the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY loansyncro ./loansyncro
COPY services ./services
COPY migrations ./migrations
COPY deploy/nameko.yaml ./deploy/nameko.yaml
COPY alembic.ini ./
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 loansyncro
USER loansyncro
CMD ["loansyncro", "--help"]
