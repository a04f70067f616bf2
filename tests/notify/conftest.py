"""The notification tests book through the API like the handler tests: same fixtures."""

from tests.handlers.conftest import make_world, world  # noqa: F401  (fixtures)
