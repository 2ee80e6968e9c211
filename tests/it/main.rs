//! The integration tests, gathered into one binary (every extra binary would link Burn and ONNX
//! Runtime again).

mod adopt;
mod bad_data;
mod bad_input;
mod boundaries;
mod datasets;
mod e2e;
mod evaluator;
mod parity;
mod phantom;
mod preprocessing;
mod real_csv;
mod resume;
mod support;
