"""Allow ``python -m peek_field_service``."""

from peek_field_service.main import main

if __name__ == "__main__":
    main()
