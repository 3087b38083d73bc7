"""Allow ``python -m peek_office_service``."""

from peek_office_service.main import main

if __name__ == "__main__":
    main()
