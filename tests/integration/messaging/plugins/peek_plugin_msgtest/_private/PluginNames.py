"""Names shared by every service of the messaging test plugin and by the test driver."""

msgtestPluginName = "peek_plugin_msgtest"
#: The additionalFilt of every handler, proxy and RPC of this plugin.
msgtestFilt = {"plugin": msgtestPluginName}
#: The observable on logic, proxied under the same name by field and office.
msgtestObservableName = msgtestPluginName
#: The action processor on logic, proxied under the same name by field and office.
msgtestActionProcessorName = msgtestPluginName
#: A processor that runs in the device service itself (field or office), not proxied.
msgtestLocalActionProcessorName = msgtestPluginName + ".local"
#: The vortex name the test driver links to logic with; only it may call the driver RPCs.
msgtestDriverName = "msgtest-driver"
#: Prefix of the log line each service writes once the plugin has started.
STARTED_LOG = "MSGTEST started on"
#: How long ``start()`` takes on logic, field and office before the handlers exist, like a
#: plugin that loads its state first. Services accept vortex links before plugins start, so
#: this keeps open the window in which a peer is linked but the endpoints are missing.
START_DELAY_SECONDS = 1.0
