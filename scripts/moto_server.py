"""moto_server, with DynamoDB requests on the same table handled one at a time.

moto serves requests on threads, and its TransactWriteItems is not isolated: it deep-copies each
table it touches, applies the items one by one and, when a condition fails, restores the copies,
erasing whatever a parallel request wrote in between. Under parallel signups that lost a committed
account and let a second SMS out (tests/e2e/signup.rs, twenty parallel signups; tests/e2e/emulator.rs
shows it directly). DynamoDB serialises transactions on the items they touch; a lock per table
around every DynamoDB request gives moto the same guarantee, so the concurrency tests check our
conditions and not moto's threading. Requests on different tables (each test has its own) still run
in parallel; other services are left as they are.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT (moto_server's options).
"""

import functools
import json
import threading
from contextlib import ExitStack

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()
_call_action = DynamoHandler.call_action


def _lock(table: str) -> threading.RLock:
    with _locks_guard:
        return _locks.setdefault(table, threading.RLock())


def _tables(body) -> list[str]:
    """The tables a request names: TableName, a transaction's items (Put, Update, Delete, ConditionCheck,
    Get), or a batch's tables."""
    try:
        request = json.loads(body or "{}")
    except (TypeError, ValueError):
        return []
    names = set()
    if isinstance(request.get("TableName"), str):
        names.add(request["TableName"])
    for item in request.get("TransactItems") or []:
        for op in item.values():
            if isinstance(op, dict) and isinstance(op.get("TableName"), str):
                names.add(op["TableName"])
    names.update((request.get("RequestItems") or {}).keys())
    # Sorted, so two requests on the same tables always take their locks in the same order.
    return sorted(name for name in names if name)


@functools.wraps(_call_action)
def _isolated(self):
    with ExitStack() as held:
        for table in _tables(self.body):
            held.enter_context(_lock(table))
        return _call_action(self)


DynamoHandler.call_action = _isolated

if __name__ == "__main__":
    main()
