"""Who is using the platform: users, roles, permissions, password checks and directories,
and the enrolled devices and live sessions of the sites.

Logic owns identity (the users and roles live in the platform schema); the sites ask it to
authenticate a login and get back an :class:`~peek_platform.identity.principal.Principal`.
See ``docs/dev/identity.rst``.
"""
