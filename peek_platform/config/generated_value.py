"""Write a value the platform generated (a secret, a password) into a service's config.json."""

from __future__ import annotations

from peek_platform.config.config_file import hasComments, parseConfigText, readConfigText
from peek_platform.config.dotted import setDotted
from peek_platform.config.errors import ConfigError
from peek_platform.config.service_config import ServiceConfig, loadServiceConfig, writeConfigFile


def writeGeneratedValue(config: ServiceConfig, dottedKey: str, value: str) -> ServiceConfig:
    """Write ``value`` at ``dottedKey`` into the service's ``config.json``; return it reloaded.

    The file is read again (not rebuilt from ``config``) so values another extension wrote
    meanwhile are kept. Raises ``ConfigError`` (file unchanged) when the file has comments,
    which a rewrite would drop, or cannot be read, parsed or written.
    """
    path = config.path
    document: dict = {}
    if path.exists():
        text = readConfigText(path)
        if hasComments(text):
            raise ConfigError(
                path,
                f"{dottedKey} is empty, and Peek cannot write a generated value into this file "
                f"because it has comments that a rewrite would remove. Set {dottedKey} in the "
                "file yourself (a long random string) and start the service again.",
            )
        document = parseConfigText(path, text)()
    setDotted(document, dottedKey, value)
    try:
        writeConfigFile(path, document)
    except OSError as e:
        raise ConfigError(path, f"cannot write the generated {dottedKey}: {e.strerror or e}") from e
    return loadServiceConfig(config.spec, config.home)
