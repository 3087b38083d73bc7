"""Distribution of the Peek platform: the vortex, the plugin contract and the five services."""

from setuptools import find_packages, setup

SERVICES = ("logic", "field", "office", "agent", "worker")

setup(
    name="peek-platform",
    version="0.1.0",
    description="Peek: a platform hosting many small plugins across cooperating services.",
    long_description=open("README.rst", encoding="utf-8").read(),
    long_description_content_type="text/x-rst",
    python_requires=">=3.11",
    packages=find_packages(
        include=[
            "vortex",
            "vortex.*",
            "peek_plugin_base",
            "peek_plugin_base.*",
            "peek_platform",
            "peek_platform.*",
            *(f"peek_{name}_service" for name in SERVICES),
            *(f"peek_{name}_service.*" for name in SERVICES),
        ]
    ),
    include_package_data=True,
    package_data={
        "peek_plugin_base": ["py.typed"],
        "peek_platform": [
            "py.typed",
            "scaffold/template/**/*",
            "scaffold/template/*",
            "web/assets/**/*",
            "web/assets/*",
            "storage/alembic/script.py.mako",
        ],
        "vortex": ["js/*.js", "js/**/*.js", "py.typed"],
        "peek_logic_service": [
            "admin/assets/**/*",
            "admin/assets/*",
        ],
    },
    install_requires=[
        "twisted[tls]>=24.11",
        "autobahn>=26.10.2,<27",
        "sqlalchemy>=2.0",
        "alembic>=1.13",
        "celery>=5.3",
        "redis>=5.0",
        "psycopg2-binary>=2.9",
        "json-cfg>=0.4.2",
        "txhttputil>=1.4",
        "orjson>=3.9",
        "cryptography>=42",
        "packaging>=23",
        # TypeVar(default=...) for the entry-hook ABCs' platform type (PEP 696 backport).
        "typing-extensions>=4.4",
        # Identity: Argon2id password hashes (argon2-cffi) and LDAP directories (ldap3).
        "argon2-cffi>=23.1",
        "ldap3>=2.9,<3",
        # Metrics: the Prometheus text format and process collector, rather than our own.
        "prometheus-client>=0.20",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.2",
            # Runs the suite on two workers: most of its time is service processes starting,
            # which overlaps well (12 min -> 7 min on the 2-core CI machine).
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "ruff>=0.5",
            # Static checks run by the suite (tests/test_static_checks.py); mypy is pinned so
            # a new release cannot fail CI with checks this tree never saw.
            "mypy==2.4.1",
            "mypy-zope==1.0.17",
            "import-linter>=2.16,<3",
            "types-psycopg2",
            "sphinx>=7",
            "playwright>=1.40",
            "wheel",
        ],
        # Mutation testing (python -m tests.mutation, docs/dev/mutation-testing.rst): apart
        # from "test" because the test command never runs it and mutmut brings its own UI
        # stack (textual, libcst); pinned so its mutant names and verdicts stay comparable.
        "mutation": ["mutmut==3.8.1"],
    },
    entry_points={
        "console_scripts": [
            *(f"run_peek_{name}_service=peek_{name}_service.main:main" for name in SERVICES),
            "run_peek_platform=peek_platform.launcher:main",
            "peek=peek_platform.cli.main:main",
        ],
        # Each service's composition, found by the platform without importing the service.
        "peek.services": [f"{name}=peek_{name}_service.service:compose" for name in SERVICES],
    },
)
