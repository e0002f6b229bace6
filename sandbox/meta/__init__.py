"""Meta (Graph API / Marketing API) sandbox: a strict, stateful stand-in for graph.facebook.com.

Run: `python -m sandbox.meta --port 18081`. Modules: `app` (routes, dispatch, handlers),
`validation` + `spec` (codegen-spec param checks and Meta's rules), `errors` (Meta's error envelope),
`objects` (ids, times, effective status, read shapes), `listing` (filtering, paging), `media`
(images, videos), `insights`, `auth` (tokens), `usage` (rate limits, usage headers), `webhooks`,
`seeding`, `fixtures` (`demo_seed()`), `settings` (switches).

Seed format (`POST /_sandbox/seed`, additive)::

    {"apps": [{"app_id", "app_secret", "name"}],
     "accounts": [{"id": "act_123" | "123", "name", "currency", "timezone_name", "account_status",
                   "disable_reason", "min_daily_budget": int | {"min_daily_budget_imp",
                   "min_daily_budget_high_freq", "min_daily_budget_low_freq",
                   "min_daily_budget_video_views"}, "spend_cap", "has_payment_method",
                   "business_name", "default_dsa_beneficiary", "default_dsa_payor"}],
     "tokens": [{"access_token", "type": "USER" | "SYSTEM_USER", "app_id", "user_id", "scopes": [...],
                 "accounts": ["act_123", ...] | ["*"], "expires_in" | "expires_at" (0 = never),
                 "short_lived": bool, "valid": bool}],
     "pages": [{"id", "name"}], "instagram_accounts": [{"id", "username"}],
     "pixels": [{"id", "name", "account_id" | "accounts": [...]}],
     "objects": [{"kind": "campaign" | "adset" | "ad" | "adcreative" | "adimage" | "advideo" |
                  "adlabel", "id", "name", "parent_id", "account_id", "status", "created_at",
                  "fields": {stored fields, e.g. objective, daily_budget (int), targeting,
                             creative_id, hash, title}}]}

Switches (`POST /_sandbox/config {"switches": {...}}`) for rules the reference marks UNCONFIRMED are
listed with their defaults in `sandbox.meta.settings.DEFAULTS`; rate limits in `config.rate_limits`
(`calls_per_window`, `window_s`, `app_calls_per_window`, `error`: "80004" | "17" | "613").

Fault effects (`POST /_sandbox/faults`): expired_token (190/463), invalid_token (190/467), permission
(200), rate_limit (80004/2446079 with usage headers; `params.code` "17" or "613"; `params.regain_minutes`),
transient (2, HTTP 500; `params.code` 1 → 1/99), meta_1487390 (100/1487390 "Adcreative Create Failed",
is_transient false), budget_too_low (100/1885272), deprecated_version (2635), not_found (100/33),
validation (100), disapprove (the matched ad create/update is DISAPPROVED at review, `params.feedback`),
unfund (account_status 3, or `params.mode` "no_payment_method"), plus latency and drop_after_apply.
"""

from sandbox.meta.app import MetaSandbox

__all__ = ["MetaSandbox"]
