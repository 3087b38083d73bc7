"""Plugin settings: persistent, typed values a plugin declares and an admin can edit."""
