//! Six tests on the shared stage of `pipelines/shared-run.yaml` (see `common/mod.rs`).

mod common;

six!(b_1, b_2, b_3, b_4, b_5, b_6);
