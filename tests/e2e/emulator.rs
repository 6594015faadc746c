//! The emulator keeps the guarantee the concurrency tests rely on: DynamoDB transactions do not see
//! or undo each other. Plain moto does not (it restores a whole-table copy when a transaction is
//! cancelled, erasing what committed meanwhile); the harness runs it through scripts/moto_server.py,
//! which undoes only the cancelled transaction's own items, so those must come back as they were.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use e2e::{Item, TestEnv};
use futures::future::join_all;

fn key(pk: &str) -> Item {
    Item::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S("race".to_owned())),
    ])
}

/// A check that cancels its transaction whenever the "blocker" item exists.
fn blocked(env: &TestEnv) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(&env.table)
        .set_key(Some(key("blocker")))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    TransactWriteItem::builder().condition_check(check).build()
}

fn put(env: &TestEnv, pk: &str) -> TransactWriteItem {
    let put = Put::builder().table_name(&env.table).set_item(Some(key(pk))).build().unwrap();
    TransactWriteItem::builder().put(put).build()
}

#[tokio::test]
async fn a_cancelled_transaction_never_erases_one_that_committed_beside_it() {
    // GIVEN an item whose presence cancels every transaction that checks for its absence
    let env = TestEnv::new().await;
    env.dynamodb.put_item().table_name(&env.table).set_item(Some(key("blocker"))).send().await.unwrap();
    // WHEN 150 transactions that commit and 150 that are cancelled run in parallel
    let outcomes = join_all((0..300).map(|i| {
        let items = if i % 2 == 0 {
            vec![put(&env, &format!("committed-{i}"))]
        } else {
            vec![put(&env, &format!("cancelled-{i}")), blocked(&env)]
        };
        env.dynamodb.transact_write_items().set_transact_items(Some(items)).send()
    }))
    .await;
    // THEN each committed exactly as its answer said, and nothing of the cancelled ones is left
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.is_ok(), i % 2 == 0, "transaction {i}: {outcome:?}");
        let pk = if i % 2 == 0 { format!("committed-{i}") } else { format!("cancelled-{i}") };
        let found = env.dynamodb.get_item().table_name(&env.table).set_key(Some(key(&pk))).send().await.unwrap();
        assert_eq!(found.item.is_some(), i % 2 == 0, "{pk}");
    }
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_the_items_it_updated_and_deleted_as_they_were() {
    // GIVEN two items, and a blocker that cancels a transaction checking for its absence
    let env = TestEnv::new().await;
    let with_count = |pk: &str, n: &str| {
        let mut item = key(pk);
        item.insert("n".to_owned(), AttributeValue::N(n.to_owned()));
        item
    };
    for item in [with_count("updated", "1"), with_count("deleted", "7"), key("blocker")] {
        env.dynamodb.put_item().table_name(&env.table).set_item(Some(item)).send().await.unwrap();
    }
    // WHEN one transaction updates the first, deletes the second, adds a third and is cancelled
    let update = Update::builder()
        .table_name(&env.table)
        .set_key(Some(key("updated")))
        .update_expression("SET n = :two")
        .expression_attribute_values(":two", AttributeValue::N("2".to_owned()))
        .build()
        .unwrap();
    let delete = Delete::builder().table_name(&env.table).set_key(Some(key("deleted"))).build().unwrap();
    let outcome = env
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .transact_items(put(&env, "added"))
        .transact_items(blocked(&env))
        .send()
        .await;
    // THEN it reports the cancellation and the table holds exactly what it held before
    assert!(outcome.is_err(), "{outcome:?}");
    let get = |pk: &'static str| {
        let request = env.dynamodb.get_item().table_name(&env.table).set_key(Some(key(pk)));
        async move { request.send().await.unwrap().item }
    };
    assert_eq!(get("updated").await, Some(with_count("updated", "1")));
    assert_eq!(get("deleted").await, Some(with_count("deleted", "7")));
    assert_eq!(get("added").await, None);
}
