"""Allow ``python -m peek_agent_service``."""

from peek_agent_service.main import main

if __name__ == "__main__":
    main()
