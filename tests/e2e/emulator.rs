//! The emulator keeps the guarantee the concurrency tests rely on: DynamoDB transactions do not see
//! or undo each other. Plain moto does not (it restores a whole-table copy when a transaction is
//! cancelled, erasing what committed meanwhile); the harness runs it through scripts/moto_server.py.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use e2e::{Item, TestEnv};
use futures::future::join_all;

fn key(pk: &str) -> Item {
    Item::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S("race".to_owned())),
    ])
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
    let blocked = ConditionCheck::builder()
        .table_name(&env.table)
        .set_key(Some(key("blocker")))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    // WHEN 150 transactions that commit and 150 that are cancelled run in parallel
    let outcomes = join_all((0..300).map(|i| {
        let items = if i % 2 == 0 {
            vec![put(&env, &format!("committed-{i}"))]
        } else {
            vec![
                put(&env, &format!("cancelled-{i}")),
                TransactWriteItem::builder().condition_check(blocked.clone()).build(),
            ]
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
