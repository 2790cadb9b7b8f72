"""`dreambot` with fal_client aimed at a loopback fake (TEST_FAL_URL), for tests that run
the bot as its own process: fal_client's queue address is a module constant, not a setting
(the same redirect tests.fakes.fal_queue.point_fal_client_at makes inside one process)."""

from __future__ import annotations

import os
import sys

import fal_client

from bot.cli import main

if __name__ == "__main__":
    base = os.environ["TEST_FAL_URL"]
    fal_client.client.QUEUE_URL_FORMAT = base + "/"
    fal_client.client.RUN_URL_FORMAT = base + "/__run__/"
    fal_client.client.REST_URL = base + "/__rest__"
    fal_client.client.CDN_URL = base + "/__cdn__"
    sys.exit(main())
