# `dreambot run` (both bots, one engine, one database), installed as the README installs it:
# the project's dependencies pinned by constraints.txt. tests/test_project.py keeps them in step.
# Noto (core and CJK) draws captions in every script; DejaVu stays behind it.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng fonts-dejavu-core \
      fonts-noto-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 dreambot \
 && mkdir /data && chown dreambot:dreambot /data

WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY pyproject.toml constraints.txt ./
# With the postgres extra's client library, so the same image can keep its books on a
# PostgreSQL server (DREAMBOT_DATABASE_URL); unused, and never imported, without one.
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt
COPY README.md ./
COPY engine ./engine
COPY bot ./bot
RUN pip install --no-cache-dir --no-deps -c constraints.txt .

USER dreambot
WORKDIR /data
# The database and every job's media: keep this volume across upgrades. Made and owned by
# the user above, so a new named volume starts writable by it.
VOLUME ["/data"]
ENV DREAMBOT_DB=/data/dreambot.sqlite3 \
    DREAMBOT_WORK_DIR=/data/work \
    PYTHONUNBUFFERED=1
# SIGTERM (docker stop) drains: no new work, running jobs get DREAMBOT_SHUTDOWN_GRACE_S.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dreambot"]
CMD ["run"]
