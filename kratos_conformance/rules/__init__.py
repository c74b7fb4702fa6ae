"""What a server is held to, each rule written once.

``catalog`` (the requirements, ``requirements.yaml``), ``checks`` (named conditions, one requirement each) on
``check_results`` (how a result is made and who hears it), ``response_rules`` (the rules every answer is held to),
``contract`` and ``contract_judge`` (the OpenAPI contract, and every exchange judged against it), ``drift`` (the
contract against the published Kratos API document), ``profiles`` (what differs between Kratos releases),
``message_ids`` (Kratos's message ids by name) and ``ui_expectations`` (a release's node layouts and messages,
learned from its recordings).
"""
