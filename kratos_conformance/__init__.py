"""Contract-conformance suite for the Ory Kratos self-service verification flow API.

The package's public face: what a team needs to write a scenario of its own against any target, the way the suites
do. Everything else is reachable under the subpackages, which say what they hold:

- :mod:`kratos_conformance.run`: a run's options, the server it judges, the preflight, the pytest plugin;
- :mod:`kratos_conformance.wire`: the clients, the exchanges they record, redaction;
- :mod:`kratos_conformance.flows`: a flow in a given state in one call, identities through the admin API;
- :mod:`kratos_conformance.rules`: the requirement catalog, the checks, the contract and the release profiles;
- :mod:`kratos_conformance.mail`: mail sources (the built-in SMTP sink and HTTP readers of mail catchers);
- :mod:`kratos_conformance.fuzzing`, :mod:`~kratos_conformance.report`, :mod:`~kratos_conformance.differential`,
  :mod:`~kratos_conformance.mutation`: the fuzzer, the reports, the comparison of two servers, the kill matrix.

A run against the embedded reference target, one flow walked to its end::

    from kratos_conformance import AdminApi, ClientKind, ConformanceRun, Verifier, checks, parse_options

    run = ConformanceRun(parse_options({"report_dir": "reports"}))
    run.start()
    admin = AdminApi(run.target, run.recorder, run.clients.transport)
    verifier = Verifier(run.clients(ClientKind.NATIVE), run.target, run.mail, "code")
    flow, step = verifier.passed(admin.create_identity().email)
    checks.flow_state(step.flow, "passed_challenge", "VER-CODE-SUCCESS", step.exchange)
    run.close()
"""

__version__ = "0.1.0"

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.admin_api import AdminApi, Identity
from kratos_conformance.flows.flow_document import Flow, Node
from kratos_conformance.flows.verifier import Step, Verifier
from kratos_conformance.mail import Mail, MailSource, open_mail_source, parse_mail_source
from kratos_conformance.rules import checks
from kratos_conformance.rules.catalog import Requirement, load_catalog
from kratos_conformance.rules.check_results import CheckResult, RequirementFailure
from kratos_conformance.rules.profiles import Profile, get_profile
from kratos_conformance.run.conformance_run import ConformanceRun
from kratos_conformance.run.options import RunOptions, parse_options
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client, ClientFactory, ClientKind
from kratos_conformance.wire.exchanges import Exchange, Recorder

__all__ = [
    "AdminApi", "CannotJudge", "CheckResult", "Client", "ClientFactory", "ClientKind", "ConformanceRun", "Exchange",
    "Flow", "Identity", "Mail", "MailSource", "Node", "Profile", "Recorder", "Requirement", "RequirementFailure",
    "RunOptions", "Step", "Target", "Verifier", "__version__", "checks", "get_profile", "load_catalog",
    "open_mail_source", "parse_mail_source", "parse_options",
]
