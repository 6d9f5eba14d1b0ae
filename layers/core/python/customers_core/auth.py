"""Who is calling: the principal the authorizer resolved, and scope checks (api.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customers_core import keys
from customers_core.errors import AuthenticationFailed, PermissionDenied

SCOPES = ("customers:read", "customers:write", "customers:delete",
          "webhooks:read", "webhooks:write", "events:read")


@dataclass(frozen=True)
class Principal:
    account_id: str
    livemode: bool
    scopes: frozenset[str]
    key_id: str

    @property
    def tenant(self) -> str:
        return keys.tenant(self.account_id, self.livemode)

    def require(self, scope: str) -> None:
        """403 naming the scope unless the key has it (`x:write` implies `x:read`)."""
        resource, _, action = scope.partition(":")
        if scope in self.scopes or (action == "read" and f"{resource}:write" in self.scopes):
            return
        raise PermissionDenied(f"This API key lacks the required scope '{scope}'.")


def principal_from_context(context: dict[str, Any] | None) -> Principal:
    """The authorizer always allows and says what it found, so a bad key gets the contract's 401
    from here rather than API Gateway's bare 403 (docs/decisions.md)."""
    context = context or {}
    error = context.get("error")
    if error or not context.get("account_id"):
        if error == "api_key_missing":
            raise AuthenticationFailed(
                "You did not provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key'.",
                code="api_key_missing",
            )
        raise AuthenticationFailed("Invalid API key provided.")
    livemode = context.get("livemode")
    return Principal(
        account_id=str(context["account_id"]),
        livemode=livemode is True or livemode == "true",
        scopes=frozenset(str(context.get("scopes", "")).split()),
        key_id=str(context.get("key_id", "")),
    )
