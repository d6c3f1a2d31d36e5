"""The service's settings: read once from the environment (``VERIFIER_`` prefix) or given."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "cardlib-verifier"


class Settings(BaseSettings):
    """Every setting, with its default (the README lists them).

    Without ``root`` the service runs on the embedded defaults: a demo root, centre, trust
    list, revocation list, bundle and card are created in ``data_dir`` on first start.
    """

    model_config = SettingsConfigDict(env_prefix="VERIFIER_", frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir,
                           description="where the embedded defaults and the verifier's state "
                           "live")
    database_url: str | None = Field(None, description="a postgresql:// URL: API keys, access "
                                     "events and lists shared by every replica; unset: SQLite "
                                     "files in data_dir")
    root: Path | None = Field(None, description="the pinned national root certificate "
                              "(PEM or DER); unset: the embedded demo root")
    trust_list: Path | None = Field(None, description="the root-signed trust list")
    revocation_list: Path | None = Field(None, description="the root-signed revocation list")
    bundle: Path | None = Field(None, description="an offline bundle (trust list and "
                                "revocation list together)")
    decryption_keys: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="files of the AES-GCM keys (hex or raw 16/24/32 "
        "bytes) that open encrypted cards (COSE_Encrypt0): one path, several separated by "
        "os.pathsep (':'), or a JSON list; unset: encrypted cards are decryption_key_missing")
    root_key: Path | None = Field(None, description="the root's private key (PEM), where this "
                                  "service may sign revocation lists itself (admin revoke); "
                                  "unset: lists are signed elsewhere and uploaded")
    refresh_seconds: float = Field(2.0, gt=0, le=3600, description="how often a process "
                                   "loads lists stored by another (replicas, admin commands)")
    upstream: str | None = Field(None, description="edge mode: the central service's URL; "
                                 "lists are refreshed from it and access events shipped to it "
                                 "whenever the line is up")
    upstream_key: str | None = Field(None, description="edge mode: this node's API key at the "
                                     "upstream (role edge)")
    upstream_seconds: float = Field(30.0, gt=0, le=86_400, description="edge mode: how often "
                                    "to try the upstream")
    registry: str | None = Field(None, description="the issuance registry (a sqlite:// or "
                                 "postgresql:// URL, or an SQLite file) where holders' access "
                                 "codes and card histories are read for the holder's own view "
                                 "(/me); unset: the embedded demo's, else /me shows only what "
                                 "a card says")
    holder_attempts_per_hour: int = Field(5, ge=1, le=1000, description="access-code attempts "
                                          "on /me per card per hour (a burst of as many)")
    holder_address_attempts_per_hour: int = Field(20, ge=1, le=10_000, description="access-code "
                                                  "attempts on /me per client address per hour")
    hmac_key: str | None = Field(None, description="the secret (hex) for the keyed hashes of "
                                 "document numbers in access events; an edge node is given its "
                                 "central service's; unset: created in the data directory")
    anonymous: bool | None = Field(None, description="verify without an API key; unset: on "
                                   "for the embedded demo, off otherwise")
    anonymous_role: str = Field("verifier", description="the role of a caller without a key, "
                                "where anonymous verification is on")
    roles: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="roles added to or replacing the defaults (admin, "
        "verifier, checkpoint), as JSON: {name: {admin, record_fields, claims_fields}}")
    key_cache_seconds: float = Field(2.0, ge=0, le=300, description="how long a process "
                                     "trusts a key it checked (a key revoked elsewhere stops "
                                     "working within this; 0: check the store every time)")
    require_purpose: bool = Field(False, description="every keyed verification states its "
                                  "purpose (X-Purpose header)")
    rate_per_key: float = Field(100.0, ge=0, description="requests per second per API key "
                                "(0: no limit)")
    rate_per_address: float = Field(50.0, ge=0, description="requests per second per client "
                                    "address (0: no limit)")
    rate_burst: int = Field(200, ge=1, description="requests a client may make at once")
    max_batch: int = Field(1000, ge=1, le=100_000, description="payloads per batch request")
    max_verify_bytes: int = Field(16_384, ge=1024, le=1 << 20,
                                  description="largest /v1/verify request body")
    max_batch_bytes: int = Field(8 << 20, ge=1024, le=1 << 30,
                                 description="largest /v1/verify/batch request body")
    max_image_bytes: int = Field(16 << 20, ge=1024, le=1 << 30,
                                 description="largest /v1/verify/image request body")
    max_image_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000,
                                  description="largest image (or rendered PDF page) in pixels")
    max_pdf_pages: int = Field(10, ge=1, le=1000, description="pages read from one PDF")
    body_timeout_seconds: float = Field(30.0, gt=0, le=600, description="how long a request "
                                        "body may take to arrive (a slow sender gets 408)")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed to call "
                                    "the API from a browser (JSON list); empty: no CORS headers")
    cache_seconds: int = Field(300, ge=0, le=86_400,
                               description="Cache-Control max-age of the signed documents")

    @field_validator("decryption_keys", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        """The environment's text: a JSON list, or paths separated by os.pathsep."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [part for part in value.split(os.pathsep) if part.strip()]

    @property
    def demo(self) -> bool:
        return self.root is None

    @property
    def anonymous_allowed(self) -> bool:
        return self.demo if self.anonymous is None else self.anonymous
