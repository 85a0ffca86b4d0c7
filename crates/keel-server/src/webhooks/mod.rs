//! The server's side of webhooks: the HTTP transport deliveries go through ([`transport`]) and
//! the background worker that drains the delivery queue ([`worker`]).

pub mod transport;
pub mod worker;

pub use transport::HttpTransport;
pub use worker::DeliveryWorker;
