//! sightline-store
