"""Distribution of the Noop Peek plugin.

The name, version and title come from ``plugin_package.json``, so that file is the one
place to change them.
"""

import json
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE_NAME = "peek_plugin_noop"

HERE = Path(__file__).resolve().parent
PLUGIN_INFO = json.loads((HERE / PACKAGE_NAME / "plugin_package.json").read_text("utf-8"))["plugin"]

setup(
    name=PACKAGE_NAME.replace("_", "-"),
    version=PLUGIN_INFO["version"],
    description=f"Peek plugin: {PLUGIN_INFO['title']}.",
    long_description=(HERE / "README.rst").read_text("utf-8"),
    long_description_content_type="text/x-rst",
    python_requires=">=3.11",
    packages=find_packages(include=[PACKAGE_NAME, f"{PACKAGE_NAME}.*"]),
    # Files the platform reads at run time, besides the Python modules: the plugin
    # description, the Alembic revision template and the web pages.
    package_data={
        PACKAGE_NAME: [
            "plugin_package.json",
            "_private/alembic/script.py.mako",
            "_private/admin-app/*",
            "_private/device-app/*",
        ]
    },
    # The platform provides peek_plugin_base; the plugin adds only its own dependencies.
    install_requires=["peek-platform"],
    zip_safe=False,
)
