"""Which expiry scenarios a run can afford: the rules that skip them, written once for the suites and the preflight.

An expired flow needs the flow's lifespan to fit in the wait budget; an expired code or link token needs its
lifespan known (``--challenge-lifespan``), within the budget, and shorter than the flow's by a margin, or the flow
would expire first and the scenario would test flow expiry instead.
"""

from __future__ import annotations

#: seconds past a lifespan before a scenario counts on the expiry (clocks and rounding on the server's side)
EXPIRY_MARGIN = 0.3
#: seconds a flow must still have to live when its code or token has expired (for the scenario's own requests)
FLOW_RESERVE = 0.7


def flow_expiry_skip(flow_lifespan: float | None, wait_budget: float) -> str | None:
    """Why the expired-flow scenarios cannot run (None: they can)."""
    if flow_lifespan is None or flow_lifespan <= 0:
        return "the flow carries no usable expires_at - issued_at"
    if flow_lifespan > wait_budget:
        return f"flow lifespan {flow_lifespan:g}s exceeds the wait budget {wait_budget:g}s (--wait-budget)"
    return None


def challenge_expiry_skip(challenge_lifespan: float | None, flow_lifespan: float | None, wait_budget: float,
                          *, has_admin: bool = True) -> str | None:
    """Why the expired-code and expired-link scenarios cannot run (None: they can)."""
    if not has_admin:
        return "the expiring challenges need the admin API to seed an address (--admin-url)"
    if challenge_lifespan is None:
        return "the target's code/token lifespan is unknown: pass --challenge-lifespan to run this scenario"
    if challenge_lifespan > wait_budget:
        return f"code/token lifespan {challenge_lifespan:g}s exceeds the wait budget {wait_budget:g}s"
    if flow_lifespan is not None and challenge_lifespan + EXPIRY_MARGIN + FLOW_RESERVE >= flow_lifespan:
        return (f"the code/token lifespan {challenge_lifespan:g}s is not shorter than the flow lifespan "
                f"{flow_lifespan:g}s by {EXPIRY_MARGIN + FLOW_RESERVE:g}s: a code cannot expire while its flow still "
                "lives (an expired flow is a different scenario)")
    return None


def expiry_plan(challenge_lifespan: float | None, flow_lifespan: float | None, wait_budget: float, *,
                has_admin: bool) -> str:
    """One line saying which expiry scenarios the run will wait for and which it skips, and why."""
    flow = flow_expiry_skip(flow_lifespan, wait_budget)
    challenge = challenge_expiry_skip(challenge_lifespan, flow_lifespan, wait_budget, has_admin=has_admin)
    return (f"expired flows {'skipped: ' + flow if flow else 'run'}; "
            f"expired codes/links {'skipped: ' + challenge if challenge else 'run'}")
