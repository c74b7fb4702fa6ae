"""Reports of a conformance run and the CI gate built on them.

- :mod:`.results`: test records -> requirement results -> the verdict,
- :mod:`.expected_failures`: the expected-failures file,
- :mod:`.coverage`: operation x status x client kind, and the state transitions exercised,
- :mod:`.conformance_json`: ``conformance-report.json`` (schema ``conformance-report.schema.json``) and merging,
- :mod:`.html`: the one-page ``summary.html``,
- :mod:`.diff`: comparing two reports,
- :mod:`.state_machine`: the state machine drawn from the run's transition counts (SVG),
- :mod:`.allure_steps`: steps, labels and links in the Allure results; :mod:`.allure_writer` writes them,
- :mod:`.debug_secrets`: the debug dump the leak test greps the reports with,
- :mod:`.plugin`: the pytest hooks that feed them.

The command line is :mod:`kratos_conformance.cli`. The formats are documented in ``docs/reports.md``.
"""
