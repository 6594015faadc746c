//! The HTTP edge: what every endpoint reads from a request and how it answers.

pub mod request;
pub mod response;
