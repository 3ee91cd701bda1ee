//! The integration tests of sightline-rules: the default pack rule by rule, and
//! properties of evaluation.

mod default_pack;
mod properties;
mod support;
