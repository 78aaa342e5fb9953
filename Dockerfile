# The pitwatch application image: the platform, its simulators, the traffic simulator, the
# state exporter and the reconciliation scheduler are all `pitwatch <command>` in this one
# image (docker-compose.yml gives each service its command).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Installed from a copy that is removed after: the running code is the installed package,
# never a source tree that could shadow it.
COPY . /tmp/pitwatch-src
RUN pip install /tmp/pitwatch-src && rm -rf /tmp/pitwatch-src

# Settings default to paths under var/ of the working directory (PSP settlement reports,
# reconciliation reports, the simulator's ground truth); they exist, owned by the user, so
# that named volumes mounted on them start writable.
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home pitwatch \
    && mkdir -p /app/var/psp-settlement /app/var/reconciliation /app/var/sim \
                /app/var/affiliate-exports /app/var/operator \
    && chown -R pitwatch:pitwatch /app
WORKDIR /app
USER pitwatch

ENTRYPOINT ["pitwatch"]
CMD ["--help"]
