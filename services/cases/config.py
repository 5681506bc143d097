"""Cases settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import ServiceSettings, comma_list, var_dir


class CasesSettings(ServiceSettings):
    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "jwt_private_key_file",
    )

    service_name: ClassVar[str] = "cases"
    port: int = 8002
    jwt_private_key_file: str = ""  # signs; unset in development: generated under ./var/
    jwt_algorithm: Literal["ES256", "EdDSA"] = "ES256"  # of a generated key (a given key file says its own)
    # keys of a rotation still listed in the JWKS (PEM, private or public; comma-separated) until tokens
    # signed with them have expired everywhere
    jwt_previous_key_files: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    login_free_failures: int = 5  # per account and client address, before each attempt waits
    login_address_free_failures: int = 30  # failed sign-ins from one address across all accounts (spraying)
    login_failure_retention_hours: int = 48  # sign-in throttle rows idle this long are deleted
    # a rotated refresh token presented again this soon by the same device is a lost response, not theft
    refresh_reuse_grace_seconds: int = 60
    refresh_token_retention_days: float = 7  # expired refresh tokens are deleted this long after expiry
    idempotency_retention_days: float = 7  # Idempotency-Key answers kept this long
    grading_rules_file: str = ""
    deadline_policy_file: str = ""
    risk_policy_file: str = ""  # persons' and households' risk rule; empty: services/cases/subject/risk_policy.yaml
    subsidy_policy_file: str = ""  # mediator subsidies per grade; empty: services/cases/stats/subsidy_policy.yaml
    sweep_interval_seconds: float = 0.2  # lateness includes up to one tick; an idle claim costs ~1 ms
    sweep_batch: int = 500
    attachment_grant_timeout_seconds: float = 3.0  # asking intake to confirm a case document's upload
    startup_retry_seconds: float = 2.0  # database away at start: how often to try loading the calendar again

    def missing_in_production(self) -> list[str]:
        missing = super().missing_in_production()
        if self.jwt_private_key_file and not Path(self.jwt_private_key_file).is_file():
            # production never generates the signing key: the file must be there
            missing.append(f"JWT_PRIVATE_KEY_FILE（文件不存在：{self.jwt_private_key_file}）")
        return missing

    def model_post_init(self, __context: object) -> None:
        super().model_post_init(__context)
        if not self.jwt_private_key_file and not self.production:
            suffix = "es256" if self.jwt_algorithm == "ES256" else "ed25519"
            self.jwt_private_key_file = str(var_dir() / f"jwt-{suffix}.pem")

    @field_validator("jwt_previous_key_files", mode="before")
    @classmethod
    def _parse_previous_keys(cls, value: Any) -> Any:
        return comma_list(value)


@lru_cache
def get_settings() -> CasesSettings:
    return CasesSettings()
