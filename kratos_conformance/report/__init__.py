"""Reports of a conformance run and the CI gate built on them.

- :mod:`.results`: test records -> requirement results -> the verdict,
- :mod:`.ledger`: the expected-failures ledger,
- :mod:`.coverage`: operation x status x client kind, and the state transitions exercised,
- :mod:`.conformance_json`: ``conformance-report.json`` (schema ``conformance-report.schema.json``) and merging,
- :mod:`.html`: the one-page ``summary.html``,
- :mod:`.diff`: comparing two reports,
- :mod:`.allure_steps`: steps, labels and links in the Allure results,
- :mod:`.debug_secrets`: the debug dump the leak test greps the reports with.

The pytest hooks that feed them live in :mod:`kratos_conformance.report_plugin`; the command line in
:mod:`kratos_conformance.cli`. The formats are documented in ``docs/reports.md``.
"""
