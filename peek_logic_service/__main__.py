"""Allow ``python -m peek_logic_service``."""

from peek_logic_service.main import main

if __name__ == "__main__":
    main()
