"""A run: its options, the server it judges, the checks before it starts, and its pytest plugin.

``options`` (every option, defined once), ``urls`` (a URL a user gives, checked once), ``target`` (what the suite
knows of the server), ``preflight`` (can the suite judge this server at all?), ``pytest_plugin`` (fixtures,
requirement markers, readable failures), ``session_services`` (what a session runs beside its tests),
``conformance_run`` (the session's connection to the target), ``embedded_target`` (the reference target as a
process), ``ui_server`` (the verification UI of ``--serve-ui``) and ``bundle`` (where the contract and the suites
are, in a checkout or a wheel).
"""
