"""The platform's Celery setup: settings from config, app configuration, worker DB access."""
