"""The messaging test plugin on the device services (field and office)."""
