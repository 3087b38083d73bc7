"""The logic service's admin web site: login, sessions, page shell, plugin admin pages."""
