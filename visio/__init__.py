"""visio: videoconference appointments for France Services houses."""

__version__ = "0.1.0"
