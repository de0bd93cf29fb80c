from __future__ import annotations

import json
import logging
import logging.config

from django.conf import settings


def test_json_log_lines_are_valid_json_whatever_the_message(capsys):
    config = {
        **settings.LOGGING,
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
    }
    logging.config.dictConfig(config)
    try:
        logging.getLogger("financedash.test").warning('a "quoted"\nmulti-line message')
        line = capsys.readouterr().err.strip()
        record = json.loads(line)
        assert record["message"] == 'a "quoted"\nmulti-line message'
        assert record["level"] == "WARNING"
        assert record["logger"] == "financedash.test"
        assert "time" in record
    finally:
        logging.config.dictConfig(settings.LOGGING)
