"""Tests of the Config page's data: every key of the service, secrets never sent."""

import json

from peek_logic_service.admin.config_view import configTuple
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC


def _config(tmp_path, document):
    (tmp_path / "config.json").write_text(json.dumps(document), encoding="utf-8")
    return loadServiceConfig(LOGIC, tmp_path)


def test_secret_values_are_masked_and_say_whether_set(tmp_path):
    """A secret key carries no value, only whether one is set; plain keys carry theirs."""
    config = _config(tmp_path, {"dataExchange": {"secret": "s3cret"}, "logging": {"level": "INFO"}})
    entries = {e.key: e for e in configTuple(config).entries}
    assert (entries["dataExchange.secret"].value, entries["dataExchange.secret"].isSet) == (
        None,
        True,
    )
    assert (entries["celery.brokerUrl"].value, entries["celery.brokerUrl"].isSet) == (None, False)
    assert entries["logging.level"].value == "INFO"
    assert "s3cret" not in repr([vars(e) for e in entries.values()])
