//! sightline-rules
