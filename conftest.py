"""Repository-level pytest configuration: loads the conformance plugin for suites/ (and tests/)."""

pytest_plugins = [
    "kratos_conformance.pytest_plugin",
    "kratos_conformance.report_plugin",
    "kratos_conformance.fuzz_plugin",
]
