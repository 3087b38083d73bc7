"""Bulk data sync: publish a large data set as chunks that devices keep and refresh by hash
(``ChunkedIndex``; see ``docs/plugins/offline-data.rst``, "Bulk data")."""
