"""POST /v1/cases/{id}/{action}: the actions of a case's life (service.py dispatches, grading.py, handling.py
and closing.py hold them by stage)."""
