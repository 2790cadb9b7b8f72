# The image runs what the README's first line runs, installed the same way (constraints.txt).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 dreambot

WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt
COPY README.md ./
COPY engine ./engine
COPY bot ./bot
RUN pip install --no-cache-dir --no-deps -c constraints.txt .

USER dreambot
WORKDIR /data
VOLUME ["/data"]
ENV DREAMBOT_WORK_DIR=/data/work
ENTRYPOINT ["dreambot"]
CMD ["dream", "A lighthouse keeper lived alone on a rocky island. One night a great storm rolled in from the sea. The keeper climbed the tower and lit the lamp. By morning the storm had become his friend.", "--out", "out"]
