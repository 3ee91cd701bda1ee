//! sightline-linkage
