"""Contract-conformance suite for the Ory Kratos self-service verification flow API."""

__version__ = "0.1.0"
