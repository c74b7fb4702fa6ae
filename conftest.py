"""Repository-level pytest configuration: loads the conformance plugin for suites/ (and tests/)."""

pytest_plugins = [
    "kratos_conformance.run.pytest_plugin",
    "kratos_conformance.report.plugin",
    "kratos_conformance.fuzzing.plugin",
]
