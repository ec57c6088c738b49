"""Helpers shared by the tests: servers on loopback, fakes of the adapters, sample data,
and running the ``monitor`` command. Test modules import from here, never from each other
or from conftest (which only builds fixtures from these)."""
