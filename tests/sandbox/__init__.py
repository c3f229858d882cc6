"""Tests of the Merge sandbox, run against a real sandbox process."""
