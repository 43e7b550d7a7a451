//! Six tests on the shared stage of `pipelines/shared-run.yaml` (see `common/mod.rs`).

mod common;

six!(a_1, a_2, a_3, a_4, a_5, a_6);
