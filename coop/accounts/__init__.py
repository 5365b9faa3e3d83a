"""Users, roles, login and member shops."""
