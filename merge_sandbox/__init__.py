"""A local emulator of Merge.dev's unified HRIS and CRM API, with simulated providers behind it."""

__version__ = "0.1.0"
