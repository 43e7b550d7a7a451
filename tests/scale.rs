//! Forty pipeline tests in one test binary. `scripts/test.sh` runs this binary on its own with
//! `--test-threads=40`, so that all forty stages run at once: more than Docker's default
//! address pools have networks for, so some runs wait for a free pool and go on.

use pipeline_test::{Stage, pipeline_test};

macro_rules! forty {
    ($($name:ident)*) => {
        $(
            #[pipeline_test("examples/seed/communication.yaml", timeout = "10m")]
            fn $name(stage: &Stage) {
                let cache = stage.service("cache");
                let out = cache.exec_blocking(&["redis-cli", "ping"]).unwrap();
                assert_eq!(out.stdout.trim(), "PONG");
            }
        )*
    };
}

forty!(
    scale_01 scale_02 scale_03 scale_04 scale_05 scale_06 scale_07 scale_08 scale_09 scale_10
    scale_11 scale_12 scale_13 scale_14 scale_15 scale_16 scale_17 scale_18 scale_19 scale_20
    scale_21 scale_22 scale_23 scale_24 scale_25 scale_26 scale_27 scale_28 scale_29 scale_30
    scale_31 scale_32 scale_33 scale_34 scale_35 scale_36 scale_37 scale_38 scale_39 scale_40
);
