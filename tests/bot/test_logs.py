"""Log lines as operators read them."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter


def test_json_lines_carry_the_stage_fields_and_errors() -> None:
    record = logging.LogRecord(
        "engine.job", logging.INFO, __file__, 1, "stage %s", ("clips",), None
    )
    record.job_id, record.stage, record.duration_s = "abc123def456", "clips", 2.5
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "stage clips"
    assert (line["job_id"], line["stage"], line["duration_s"]) == ("abc123def456", "clips", 2.5)
    assert line["level"] == "INFO" and "status" not in line

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["error"]
