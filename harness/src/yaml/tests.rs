//! The YAML reader's tests: places, anchors, aliases, merge keys, the alias budget.

use super::*;

fn p(text: &str) -> Result<Node<'static>, Diagnostic> {
    let file: &'static SourceFile = Box::leak(Box::new(SourceFile::new("t.yaml", text)));
    parse_documents(file).map(|mut d| d.swap_remove(0).1)
}

#[test]
fn spans_are_one_based() {
    let node = p("a: 1\nb:\n  - x\n").unwrap();
    let Value::Map(entries) = node.value else {
        panic!()
    };
    assert_eq!(entries[1].0.span.start, Pos::new(2, 1));
    let Value::Seq(items) = &entries[1].1.value else {
        panic!()
    };
    assert_eq!(items[0].span.start, Pos::new(3, 5));
}

#[test]
fn merge_keys_and_aliases() {
    let node = p("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n").unwrap();
    let Value::Map(entries) = node.value else {
        panic!()
    };
    let Value::Map(c) = &entries[1].1.value else {
        panic!()
    };
    let keys: Vec<_> = c.iter().map(|(k, _)| k.as_scalar().unwrap()).collect();
    assert_eq!(keys, ["y", "x"]);
}

#[test]
fn billion_laughs_is_refused() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..8 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("a{}", i - 1)
        };
        text.push_str(&format!(
            "a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let err = p(&text).unwrap_err();
    assert!(err.message.contains("more than"), "{err:?}");
}

#[test]
fn empty_file() {
    assert_eq!(p("").unwrap_err().message, "the file holds no pipeline");
    assert_eq!(
        p("# only a comment\n").unwrap_err().message,
        "the file holds no pipeline"
    );
}

#[test]
fn where_merge_keys_are_written_is_kept() {
    let file = SourceFile::new("t.yaml", "a: &a {x: 1}\nb:\n  <<: *a\n  c:\n    <<: [*a]\n");
    let (_, merges) = parse_with_merge_keys(&file).unwrap();
    let places: Vec<String> = merges.iter().map(|s| s.start.to_string()).collect();
    assert_eq!(places, ["3:3", "5:5"]);
}
