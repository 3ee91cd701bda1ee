//! sightline-synth
