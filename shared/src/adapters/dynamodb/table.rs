//! The table primitives every capability builds on: the store itself, conditional writes as
//! transaction items, one conditional `UpdateItem`, a consistent `GetItem`, `TransactWriteItems`,
//! and the expression values. A leaf: it knows the SDK and the error mapping, nothing of accounts.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, TransactWriteItem, Update, WriteRequest,
};

use super::errors::{classify, classify_transaction};
use crate::ports::StoreError;

/// One item, or one item's key.
pub type Item = HashMap<String, AttributeValue>;

/// Expression attribute values.
pub type Values = HashMap<String, AttributeValue>;

pub fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Values {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Expression placeholders for attribute names that are DynamoDB reserved words.
fn names() -> HashMap<String, String> {
    HashMap::from([("#status".to_owned(), "status".to_owned()), ("#ttl".to_owned(), "ttl".to_owned())])
}

/// Only the placeholders an expression uses may be sent, or DynamoDB refuses the request.
fn used_names(expression: &str) -> Option<HashMap<String, String>> {
    let used: HashMap<String, String> = names().into_iter().filter(|(k, _)| expression.contains(k.as_str())).collect();
    (!used.is_empty()).then_some(used)
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Backend(format!("building a request failed: {e}")))
}

/// The service's one table: accounts, codes, sessions, send logs, partners and counters.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// A put, if `condition` (when given) holds.
    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(condition) = condition {
            put = put.condition_expression(condition).set_expression_attribute_names(used_names(condition));
            if !vals.is_empty() {
                put = put.set_expression_attribute_values((!vals.is_empty()).then_some(vals));
            }
        }
        Ok(TransactWriteItem::builder().put(built(put.build())?).build())
    }

    pub(super) fn update(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        vals: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(used_names(&format!("{update} {condition}")))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals));
        Ok(TransactWriteItem::builder().update(built(update.build())?).build())
    }

    pub(super) fn check(&self, key: Item, condition: &str, vals: Values) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(used_names(condition))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals));
        Ok(TransactWriteItem::builder().condition_check(built(check.build())?).build())
    }

    /// A delete, if `condition` (when given) holds.
    pub(super) fn delete(
        &self,
        key: Item,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some(condition) = condition {
            delete = delete
                .condition_expression(condition)
                .set_expression_attribute_names(used_names(condition))
                .set_expression_attribute_values((!vals.is_empty()).then_some(vals));
        }
        Ok(TransactWriteItem::builder().delete(built(delete.build())?).build())
    }

    /// All of `items` or none; `Conflict` when a condition did not hold.
    pub(super) async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_transaction(operation, e))
    }

    /// One conditional `UpdateItem`; `Conflict` when the condition does not hold.
    pub(super) async fn update_one(
        &self,
        operation: &'static str,
        key: Item,
        update: &str,
        condition: &str,
        vals: Values,
    ) -> Result<(), StoreError> {
        self.update_returning(operation, key, update, condition, vals, false).await.map(|_| ())
    }

    /// One conditional `UpdateItem`, and the attributes it wrote when `returning` is set.
    pub(super) async fn update_returning(
        &self,
        operation: &'static str,
        key: Item,
        update: &str,
        condition: &str,
        vals: Values,
        returning: bool,
    ) -> Result<Item, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(used_names(&format!("{update} {condition}")))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals));
        if returning {
            request = request.return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        }
        request.send().await.map(|out| out.attributes.unwrap_or_default()).map_err(|e| classify(operation, e))
    }

    /// One `PutItem`, if `condition` holds; `Conflict` when it does not.
    pub(super) async fn put_one(
        &self,
        operation: &'static str,
        item: Item,
        condition: &str,
        vals: Values,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(used_names(condition))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(operation, e))
    }

    /// One `DeleteItem`, if `condition` (when given) holds; `Conflict` when it does not. Deleting a
    /// missing item without a condition is no error.
    pub(super) async fn delete_one(
        &self,
        operation: &'static str,
        key: Item,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<(), StoreError> {
        let mut request = self.client.delete_item().table_name(&self.table).set_key(Some(key));
        if let Some(condition) = condition {
            request = request
                .condition_expression(condition)
                .set_expression_attribute_names(used_names(condition))
                .set_expression_attribute_values((!vals.is_empty()).then_some(vals));
        }
        request.send().await.map(|_| ()).map_err(|e| classify(operation, e))
    }

    /// A strongly consistent read of one item.
    pub(super) async fn get(&self, operation: &'static str, key: Item) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| classify(operation, e))
    }

    /// Deletes every key, 25 to a `BatchWriteItem`, resending what DynamoDB leaves unprocessed
    /// (throttling) a few times before giving up as unavailable. Deleting a missing item is no error,
    /// so it can be repeated.
    pub(super) async fn delete_keys(&self, operation: &'static str, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build();
                    built(delete).map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()?;
            for round in 0..5u64 {
                if requests.is_empty() {
                    break;
                }
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| classify(operation, e))?;
                requests = out.unprocessed_items.and_then(|mut left| left.remove(&self.table)).unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Unavailable(format!("{operation}: {} left unprocessed", requests.len())));
            }
        }
        Ok(())
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, strongly consistent.
    pub(super) async fn query_prefix(
        &self,
        operation: &'static str,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let bounds = values([(":prefix", AttributeValue::S(prefix.to_owned()))]);
        self.query_sorted(operation, pk, "begins_with(sk, :prefix)", bounds, Order::Oldest, None).await
    }

    /// The items of `pk` whose sort keys meet `sort` (`sk BETWEEN :from AND :to`, with its values in
    /// `bounds`), in `order`, at most `limit` of them (all when `None`), read strongly.
    pub(super) async fn query_sorted(
        &self,
        operation: &'static str,
        pk: String,
        sort: &str,
        bounds: Values,
        order: Order,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        let mut condition = bounds;
        condition.insert(":pk".to_owned(), AttributeValue::S(pk));
        loop {
            let left = limit.map(|limit| i32::try_from(limit - items.len()).unwrap_or(i32::MAX));
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("pk = :pk AND {sort}"))
                .set_expression_attribute_values(Some(condition.clone()))
                .scan_index_forward(order == Order::Oldest)
                .set_limit(left)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(operation, e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|limit| items.len() >= limit) {
                return Ok(items);
            }
        }
    }
}

/// Which end of a partition a query starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Oldest,
    Newest,
}
