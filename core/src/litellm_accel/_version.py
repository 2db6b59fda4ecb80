"""Version of the host package and of the plugin API it offers."""

__version__ = "0.1.0"

#: Version of the plugin API (hookspecs and contracts). A plugin declares the version it was written
#: against as ``LITELLM_ACCEL_API_VERSION`` in its hooks module. It is compatible when the major numbers
#: are equal and the plugin's minor number is not greater than the host's: minors only ever add hooks
#: or hook arguments, never remove them.
PLUGIN_API_VERSION = "1.0"
