//! The parser never panics: thousands of mutated versions of the seed pipelines each come back
//! as a pipeline or as diagnostics that point inside the file.

use std::path::Path;

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;

use pipeline_test_support::Rng;

const SPICE: &[&str] = &[
    ":",
    "-",
    " ",
    "  ",
    "\t",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    "|",
    ">",
    "#",
    "\n",
    "x",
    "0",
    "- ",
    ": ",
    "~",
    "<<: *a",
    "é",
    "\u{feff}",
    "\r\n",
    "%YAML 1.2",
    "---",
    "...",
    "type: run",
    "type: group\n  spec:\n    steps: []",
    "envs: {A: [1]}",
    "container: {}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..=rng.below(4) {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = rng.below(lines.len());
        match rng.below(7) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(rng.below(lines.len()), l);
            }
            2 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            3 => {
                let n = rng.below(4);
                if rng.below(2) == 0 {
                    lines[i] = format!("{}{}", " ".repeat(n), lines[i]);
                } else {
                    lines[i] = lines[i].trim_start_matches(' ').to_string();
                }
            }
            4 => lines.truncate(i),
            _ => {
                let chars: Vec<char> = lines[i].chars().collect();
                let at = rng.below(chars.len() + 1);
                let spice = SPICE[rng.below(SPICE.len())];
                let mut s: String = chars[..at].iter().collect();
                if rng.below(3) == 0 && at < chars.len() {
                    s.extend(&chars[at + 1..]);
                } else {
                    s.push_str(spice);
                    s.extend(&chars[at..]);
                }
                lines[i] = s;
            }
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_seed_pipelines_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed");
    let seeds: Vec<String> = ["communication.yaml", "health-check.yaml", "sleep.yaml"]
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap())
        .collect();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut ok, mut bad) = (0, 0);
    for round in 0..4000 {
        let text = mutate(&mut rng, &seeds[round % seeds.len()]);
        let file = SourceFile::new("mutant.yaml", text.clone());
        let result = std::panic::catch_unwind(|| Pipeline::parse(&file).map(|_| ()));
        let Ok(result) = result else {
            panic!("the parser panicked on round {round}:\n{text}");
        };
        match result {
            Ok(()) => ok += 1,
            Err(diags) => {
                bad += 1;
                assert!(!diags.is_empty());
                let lines = u32::try_from(text.split('\n').count()).unwrap();
                for d in &diags {
                    assert!(
                        d.span.start.line >= 1 && d.span.start.line <= lines + 1,
                        "diagnostic outside the file on round {round}: {d:?}\n{text}"
                    );
                    assert!(d.span.start.col >= 1);
                }
                assert!(diags.has_errors() && diags.to_string().contains("error: "));
            }
        }
    }
    assert!(
        ok > 100 && bad > 1000,
        "mutations should give both: {ok} ok, {bad} bad"
    );
}
