//! (a) `#[pipeline_test]`: a stage per test.

mod common;

use pipeline_test::{Stage, pipeline_test};

macro_rules! make {
    ($($name:ident),*) => {$(
        #[pipeline_test("redis.yaml")]
        fn $name(stage: &Stage) {
            common::exercise(stage.service("redis").addr(6379), stringify!($name));
        }
    )*};
}
twenty!(make);
