"""Common infrastructure of the three services: settings, database, errors, auth, clock,
logging, metrics, health, the outbox → relay → inbox path and scheduling. No domain rules here."""
