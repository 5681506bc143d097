"""Where the database's schema stands against this code's migration tree, for /readyz.

A rolling deploy migrates first, then replaces replicas one by one: while it runs, the old replicas see
a database one or more revisions *ahead* of their code. Migrations are written to be compatible with the
release before (expand, then contract a release later), so an old replica stays ready then; only a
database *behind* the code (a known, older revision, or none) is not ready. "Ahead" is recognised by the
database's revision being unknown to this code's tree: a newer release wrote it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("shared.schema_version")


class SchemaState(enum.Enum):
    AT_HEAD = "at_head"
    AHEAD = "ahead"  # migrated by a newer release: compatible by the expand/contract rule
    BEHIND = "behind"  # not migrated yet (or not at all)


@dataclass
class MigrationTree:
    head: str | None
    revisions: frozenset[str]
    _told_ahead: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, script_location: Path) -> MigrationTree:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(script_location))
        script = ScriptDirectory.from_config(cfg)
        return cls(script.get_current_head(), frozenset(rev.revision for rev in script.walk_revisions()))

    def state_of(self, version: str | None) -> SchemaState:
        if version is not None and version == self.head:
            return SchemaState.AT_HEAD
        if version is None or version in self.revisions:
            return SchemaState.BEHIND
        if version not in self._told_ahead:
            self._told_ahead.add(version)
            log.warning(
                "database schema %s is ahead of this code's head %s (a newer release migrated it); staying ready",
                version,
                self.head,
            )
        return SchemaState.AHEAD
