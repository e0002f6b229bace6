"""The tracker: performance syncs, ad review outcomes, platform webhooks.

`status` starts tracking on `published` (and stops it on rollback), writing only PostgreSQL;
`schedule` holds the durable, leased jobs that `jobs` runs: `sync` (performance, through `reads` and
`metrics`) and `review_poll`. Review outcomes from `webhooks` (received) and polls land in `reviews`;
`applier` emits each change once. `registration` keeps the platforms' webhook subscriptions pointed at
this service; `attribution` records each ad's tracked landing URL; `wiring` puts it together.
"""
