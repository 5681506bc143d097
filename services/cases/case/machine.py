"""The case life (DOMAIN.md) as an explicit table: for each action, the states it is allowed from and
the state it leads to (None: the state does not change). The words people read for states and
actions are in services/cases/vocabulary.py."""

from __future__ import annotations

OPEN = ("received", "graded", "assigned", "in_progress", "suspended", "returned")
ACTIVE = ("assigned", "in_progress")

TRANSITIONS: dict[str, dict[str, str | None]] = {
    "grade": {
        s: ("graded" if s == "received" else None)
        for s in ("received", "graded", "assigned", "in_progress", "suspended", "returned")
    },
    "assign": {"graded": "assigned", "assigned": None, "in_progress": None, "returned": "assigned"},
    "contact": dict.fromkeys(OPEN),
    "whistle": {"graded": "assigned", "assigned": None, "in_progress": None, "returned": "assigned"},
    "suspend": {"assigned": "suspended", "in_progress": "suspended"},
    "resume": {"suspended": "in_progress"},
    "extend": dict.fromkeys((*OPEN, "resolved", "replied")),
    "escalate": dict.fromkeys(OPEN),
    "update": {
        "received": None,
        "graded": None,
        "assigned": "in_progress",
        "in_progress": None,
        "returned": None,
        "suspended": None,
    },
    "resolve": {"assigned": "resolved", "in_progress": "resolved"},
    # from assigned/in_progress: an interim reply (阶段性答复), e.g. after a deferral; the state stays
    "reply": {"resolved": "replied", "assigned": None, "in_progress": None},
    "defer": {"assigned": None, "in_progress": None},  # 短期内难以解决: the reply clock starts
    "revisit": {"replied": "revisited"},  # dissatisfied: back to in_progress (see actions)
    "close": {"revisited": "closed"},
    "merge": {"received": "merged", "graded": "merged", "assigned": "merged", "returned": "merged"},
    "reject": {"received": "rejected", "graded": "rejected", "returned": "rejected"},
    "reopen": {"closed": "in_progress", "rejected": "received", "resolved": "in_progress", "replied": "in_progress"},
}

ACTIONS = tuple(TRANSITIONS)
STATES = (
    "received",
    "graded",
    "assigned",
    "in_progress",
    "suspended",
    "returned",
    "resolved",
    "replied",
    "revisited",
    "closed",
    "merged",
    "rejected",
)


def allowed_actions(state: str) -> list[str]:
    return [a for a, table in TRANSITIONS.items() if state in table]


def next_state(action: str, state: str) -> str:
    target = TRANSITIONS[action][state]
    return state if target is None else target
