"""The Peek web sites: site assembly, health, login sessions, CSRF and the app shell."""
