"""The embedded reference target: a Kratos-compatible self-service verification server.

It shares no code with the suite (the suite only talks to it over HTTP and SMTP), except the UI pages' markup
(verification_page.py), which no check judges.
"""

from .config import ConfigError, ReferenceConfig, parse_duration
from .faults import FAULT_METHODS, KNOWN_FAULTS
from .server import RunningTarget, create_admin_app, create_public_app, serve

__all__ = [
    "FAULT_METHODS",
    "KNOWN_FAULTS",
    "ConfigError",
    "ReferenceConfig",
    "RunningTarget",
    "create_admin_app",
    "create_public_app",
    "parse_duration",
    "serve",
]
