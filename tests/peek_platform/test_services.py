"""The service table: homes, names and lookups."""

from pathlib import Path

import pytest

from peek_platform.services import ALL_SERVICES, HOME_ROOT_ENV, LOGIC, serviceByKey


def test_default_home_uses_user_home():
    """Without PEEK_HOME_ROOT a service's home is ~/peek-<service>-service.home."""
    assert LOGIC.defaultHome({}) == Path.home() / "peek-logic-service.home"


def test_home_root_env_moves_every_home(tmp_path):
    """PEEK_HOME_ROOT moves every service's home under one directory."""
    env = {HOME_ROOT_ENV: str(tmp_path)}
    assert {spec.defaultHome(env).parent for spec in ALL_SERVICES} == {tmp_path}


def test_unknown_service_key_names_the_valid_ones():
    """An unknown service key is refused with the list of valid keys."""
    with pytest.raises(KeyError, match="logic, field, office, agent, worker"):
        serviceByKey("server")
