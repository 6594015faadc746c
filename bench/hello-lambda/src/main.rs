//! The smallest `lambda_runtime` function: `make bench` compares each endpoint's init time with this.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_event: LambdaEvent<Value>| async { Ok::<_, Error>(json!({ "hello": "world" })) })).await
}
