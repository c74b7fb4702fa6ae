"""Getting a verification flow into the state a scenario needs.

``verifier`` (one call gives a flow of a client's kind in a given state), ``flow_document`` (a flow's JSON read:
state, nodes, messages, CSRF token, continue link), ``admin_api`` (identities seeded and read back), ``ahead``
(work made ahead of the scenario that needs it), ``expiring`` (flows and challenges left to expire) and
``expiry_budget`` (which expiry scenarios a run's wait budget affords).
"""
