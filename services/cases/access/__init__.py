"""The internal case-access question (may this caller see the case of these reports?)."""
