"""The exit statuses of every Peek command: services, ``run_peek_platform`` and ``peek``."""

#: Clean stop, or the command did what was asked.
EXIT_OK = 0
#: Something failed that is not the caller's input: an extension that could not start, a
#: stop step that failed or overran, I/O, a broken install.
EXIT_FAILURE = 1
#: The arguments or a config file are wrong; the message says what to change.
EXIT_CONFIG_ERROR = 2
