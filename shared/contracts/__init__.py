"""Wire contracts between services: event type names and payload models."""
