"""moto_server, with DynamoDB requests on the same table handled one at a time.

moto serves requests on threads, and its TransactWriteItems is not isolated: it deep-copies each
table it touches, applies the items one by one and, when a condition fails, restores the copies,
erasing whatever a parallel request wrote in between. Under parallel signups that lost a committed
account and let a second SMS out (tests/e2e/signup.rs, twenty parallel signups; tests/e2e/emulator.rs
shows it directly). DynamoDB serialises transactions on the items they touch; a lock per table
around every DynamoDB request gives moto the same guarantee, so the concurrency tests check our
conditions and not moto's threading. Requests on different tables (each test has its own) still run
in parallel; other services are left as they are.

The same whole-table copy makes every transaction cost as much as the table is large (one copy per
item of the transaction), so `make bench`, whose table grows to thousands of items, measured moto
more than the functions, with pauses of seconds. Under the lock a transaction only needs to undo its
own items: those are copied before it runs and put back if it is cancelled.

moto's `/moto-api/data.json` (where the tests read the SMS and emails sent) serialises every model
instance moto ever made, each DynamoDB item of every test's table among them, deleted ones too: each
read cost as much as the whole suite had written so far, so the suite slowed quadratically (its e2e
run went from 15 to 31 minutes as tests were added). `?service=sns,ses` keeps the answer to those
services; without it the answer is moto's own.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT (moto_server's options).
"""

import copy
import faulthandler
import functools
import json
import signal
import threading
from contextlib import ExitStack

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_api._internal.responses import MotoAPIResponse
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


class _CopyExceptTables:
    """The `copy` module as moto's DynamoDB backend sees it, except that a table "copy" is the table
    itself: the rollback by whole-table copies becomes a no-op, and _undo_own_items does the undoing."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = _CopyExceptTables
_transact_write_items = DynamoDBBackend.transact_write_items


def _key_values(table: Table, op: dict):
    attrs = op.get("Key") or op.get("Item") or {}
    if table.hash_key_attr not in attrs:
        return None
    hash_value = DynamoType(attrs[table.hash_key_attr])
    if table.range_key_attr is None:
        return hash_value, None
    if table.range_key_attr not in attrs:
        return None
    return hash_value, DynamoType(attrs[table.range_key_attr])


def _put_back(table: Table, hash_value, range_value, item) -> None:
    if item is None:
        table.delete_item(hash_value, range_value)
    elif range_value is not None:
        table.items[hash_value][range_value] = item
    else:
        table.items[hash_value] = item


@functools.wraps(_transact_write_items)
def _undo_own_items(self, transact_items):
    before = []
    for entry in transact_items:
        for op in entry.values():
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            try:
                key = _key_values(table, op) if table is not None else None
            except Exception:  # a malformed key: moto's own validation answers it below
                key = None
            if key is not None:
                before.append((table, *key, copy.deepcopy(table.get_item(*key))))
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(before):
            _put_back(table, hash_value, range_value, item)
        raise


DynamoDBBackend.transact_write_items = _undo_own_items

_model_data = MotoAPIResponse.model_data


def _public_attributes(instance) -> dict:
    """What moto's own data.json gives of an instance: its public attributes that serialise."""
    kept = {}
    for attr in dir(instance):
        if not attr.startswith("_"):
            try:
                value = getattr(instance, attr)
                json.dumps(value)
            except (TypeError, AttributeError, ValueError):
                continue
            kept[attr] = value
    return kept


@functools.wraps(_model_data)
def _model_data_of_services(self, request, full_url, headers):
    from urllib.parse import parse_qs, urlsplit

    from moto.core.model_instances import model_data

    asked = parse_qs(urlsplit(full_url).query).get("service")
    if not asked:
        return _model_data(self, request, full_url, headers)
    wanted = {name for value in asked for name in value.split(",")}
    results = {
        service: {
            name: [_public_attributes(instance) for instance in list(model.instances_tracked)]
            for name, model in sorted(dict(model_data[service]).items())
        }
        for service in sorted(wanted)
        if service in model_data
    }
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = _model_data_of_services

if __name__ == "__main__":
    # `kill -USR1` prints every thread's stack to stderr: what a stuck request is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    main()
