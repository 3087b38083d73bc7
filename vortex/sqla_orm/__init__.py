"""Create, retrieve, update and delete SQLAlchemy declarative tuples over the vortex."""
