"""Contract for plugins on the worker service (Celery tasks)."""
