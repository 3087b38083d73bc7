"""Celery on the logic service: submit tasks to the worker service and get Deferreds back."""
