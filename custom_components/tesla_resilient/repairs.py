"""Repair issues: what the owner must do for the cloud to take the car's commands or data."""

from __future__ import annotations

from typing import Any, Final

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .cloud_errors import VEHICLE_SUBSCRIPTION
from .const import DOMAIN
from .providers import Provider

SIGNING_ISSUE: Final = "signing_key_missing_{vin}"
"""The issue of a car that takes only signed commands and knows none of our keys."""
SCOPES_ISSUE: Final = "missing_scopes_{entry_id}"
"""The issue of an account whose sign-in lacks a scope a call needed."""
PAYMENT_ISSUE: Final = "payment_required_{entry_id}"
"""The issue of an account whose provider answers 402 until it is paid for; a car's adds
`_<vin>`."""
APPLICATION_KEY_LINK: Final = "https://tesla.com/_ak/{domain}"
"""Tesla's virtual-key link: the owner opens it on a phone to add an application's key."""
BILLING_PAGES: Final = {
    Provider.TESLA: "https://developer.tesla.com/dashboard",
    Provider.PROXY: "https://developer.tesla.com/dashboard",
    Provider.TESLEMETRY: "https://teslemetry.com/console",
    Provider.TESSIE: "https://dash.tessie.com/settings/api",
}
"""Where each provider's account is paid for: Tesla's developer dashboard for the application
the proxy or the sign-in uses, the services' own consoles."""


def _raise(
    hass: HomeAssistant,
    issue_id: str,
    key: str,
    placeholders: dict[str, str],
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    fix_data: dict[str, str | int | float | None] | None = None,
) -> None:
    """Raise the issue `issue_id` with the text `key`; fixable when `fix_data` is given."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=fix_data is not None,
        is_persistent=False,
        severity=severity,
        translation_key=key,
        translation_placeholders=placeholders,
        data=fix_data,
    )


@callback
def async_signing_issue(
    hass: HomeAssistant, vin: str, name: str, application_domain: str | None, *, missing: bool
) -> None:
    """Raise or clear the issue of a car that needs signed commands and knows no key of ours.

    It says what to do: pair a Bluetooth key with a key card from Home Assistant, or add the
    application's key with Tesla's link. It is never a reason to sign in again.
    """
    issue_id = SIGNING_ISSUE.format(vin=vin)
    if not missing:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    link = APPLICATION_KEY_LINK.format(domain=application_domain or "<your-application-domain>")
    _raise(hass, issue_id, "signing_key_missing", {"name": name, "vin": vin, "link": link})


@callback
def async_scopes_issue(
    hass: HomeAssistant, entry_id: str, title: str, scope: str, *, missing: bool
) -> None:
    """Raise or clear the issue of a sign-in that lacks `scope`; fixing it signs in again.

    Tesla answers 403 "Unauthorized missing scopes" when the token works but was granted without
    a scope the call needs: the token is not at fault, so no reauthentication starts by itself.
    """
    issue_id = SCOPES_ISSUE.format(entry_id=entry_id)
    if not missing:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    fix_data: dict[str, str | int | float | None] = {"entry_id": entry_id, "scope": scope}
    placeholders = {"title": title, "scope": scope}
    _raise(hass, issue_id, "missing_scopes", placeholders, fix_data=fix_data)


@callback
def async_payment_issue(
    hass: HomeAssistant,
    entry_id: str,
    provider: Provider,
    reason: str | None,
    *,
    title: str,
    vin: str | None = None,
) -> None:
    """Raise the issue of an account, or of one car, its provider no longer serves unpaid.

    A 402 is the bill, neither the sign-in nor an outage: the issue names the provider, what
    it said (`reason`) and where to pay; Bluetooth keeps working meanwhile. Teslemetry's
    `vehicle_subscription_required` is one car's (`title` names it), any other the account's.
    `reason` None, after an answer (for car `vin`), clears the account's issue (and that car's).
    """
    account_issue = PAYMENT_ISSUE.format(entry_id=entry_id)
    car_issue = f"{account_issue}_{vin}"
    if reason is None:
        for issue_id in (account_issue, car_issue) if vin else (account_issue,):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    placeholders = {
        "title": title,
        "provider": provider.label,
        "reason": reason or "payment_required",
        "link": BILLING_PAGES[provider],
    }
    issue_id = car_issue if reason == VEHICLE_SUBSCRIPTION else account_issue
    _raise(hass, issue_id, "payment_required", placeholders, severity=ir.IssueSeverity.ERROR)


class SignInAgainFlow(RepairsFlow):
    """Fix a missing scope: the owner confirms, and the account's sign-in starts again."""

    def __init__(self, entry_id: str, scope: str) -> None:
        """Fix the sign-in of the entry `entry_id`, which lacks `scope`."""
        self._entry_id = entry_id
        self._scope = scope

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Explain, then start signing in again."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start the sign-in once the owner confirms."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm", description_placeholders={"scope": self._scope}
            )
        if (entry := self.hass.config_entries.async_get_entry(self._entry_id)) is not None:
            entry.async_start_reauth(self.hass)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Return the flow that fixes a fixable issue: only a missing scope is one."""
    data = data or {}
    return SignInAgainFlow(str(data.get("entry_id", "")), str(data.get("scope", "")))
