"""The Peek plugin contract: the ABCs plugins implement and the hooks the platform offers.

Module paths follow the Peek manual's API reference (one CamelCase module per class), so
plugin code written from the manual imports unchanged. Modern service names are
``logic``/``field``/``office``/``agent``/``worker``; ``server`` and ``client`` are the legacy
aliases used by the manual's tutorial.
"""

#: Version of the plugin contract. A plugin's ``peekPlatformVersion`` range is checked
#: against it when the plugin loads.
PLUGIN_CONTRACT_VERSION = "3.0.0"
