"""The noop plugin's Celery tasks (listed in ``WorkerEntryHook.celeryAppIncludes``)."""
