//! The integration tests of sightline-rules: the default pack rule by rule, and
//! properties of evaluation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cg89;
mod clocks;
mod default_pack;
mod properties;
mod support;
