"""Tuple providers: each loads the tuples of one type that the observable publishes."""
