#![deny(clippy::all)]
//! napi binding for lxts: conversions and error mapping over `lxts-core`.
