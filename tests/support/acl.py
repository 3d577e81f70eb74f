"""The read-only Redis users the gateway runs under (the ACL lines docs/security.md documents),
and the commands it may send them."""

from __future__ import annotations

__all__ = ["ALLOWED", "PUBSUB", "PUBSUB_ACL", "READER_ACL", "TRACKING_READER_ACL"]

# The ACL lines docs/security.md documents for operators (Redis >= 6.2): the minimal reader (the
# near cache turns itself off), and the reader that may also enable CLIENT TRACKING (near cache on).
# Both may (un)subscribe on every channel (`&*`): the live streams' one pub/sub connection
# needs SUBSCRIBE/PSUBSCRIBE, and UNSUBSCRIBE/PUNSUBSCRIBE when the last client of a topic goes.
PUBSUB_ACL = "+subscribe +psubscribe +unsubscribe +punsubscribe"
READER_ACL = (
    "user reader on >reader-pw ~* &* -@all +@read -@write -@dangerous +hello +auth +select "
    f"+ping +info +client|setname {PUBSUB_ACL}"
)
TRACKING_READER_ACL = (
    "user tracker on >tracker-pw ~* &* -@all +@read -@write -@dangerous +hello +auth +select "
    f"+ping +info +client|setname +client|tracking {PUBSUB_ACL}"
)

# Commands the gateway may send: reads, connection set-up, and the streams' (un)subscriptions.
PUBSUB = {"SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"}
ALLOWED = {
    "GET", "MGET", "HGET", "HMGET", "HGETALL", "HLEN", "HEXISTS", "HSCAN", "LRANGE", "LLEN",
    "SCAN", "EXISTS", "TYPE", "TTL", "PING", "INFO", "CLIENT", "HELLO", "AUTH", "SELECT",
    *PUBSUB,
}  # fmt: skip
