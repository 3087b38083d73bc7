"""Names shared by every part of the noop plugin, so its services always agree on them."""

#: The plugin's package name, as listed in ``plugin.enabled``.
noopPluginName = "peek_plugin_noop"

#: The payload filter every vortex message of this plugin carries.
noopFilt = {"plugin": "peek_plugin_noop"}

#: Prefix of this plugin's tuple type names, e.g. ``peek_plugin_noop.NoopItemTuple``.
noopTuplePrefix = "peek_plugin_noop."

#: Name of this plugin's observable (tuple data published to subscribers).
noopObservableName = "peek_plugin_noop"

#: Name of this plugin's tuple action processor (commands sent to the logic service).
noopActionProcessorName = "peek_plugin_noop"

#: The permission a user needs to change an item's value (declared in plugin_package.json).
noopEditPermission = "peek_plugin_noop.edit"
