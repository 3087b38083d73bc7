"""Allow ``python -m peek_worker_service``."""

from peek_worker_service.main import main

if __name__ == "__main__":
    main()
