//! Integration tests: a real server on 127.0.0.1:0, real WebSocket clients.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod adversarial;
mod big_room;
mod chat;
mod conversation;
mod files;
mod flow;
mod hardening;
mod host_routes;
mod lifecycle;
mod limits;
mod rooms;
mod sharing;
mod static_files;
mod storage;
mod support;
