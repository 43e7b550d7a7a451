//! (b) `#[pipeline_test(..., shared)]`: one stage for the 20 tests.

mod common;

use pipeline_test::{Stage, pipeline_test};

macro_rules! make {
    ($($name:ident),*) => {$(
        #[pipeline_test("redis.yaml", shared)]
        fn $name(stage: &Stage) {
            common::exercise(stage.service("redis").addr(6379), stringify!($name));
        }
    )*};
}
twenty!(make);
