//! Integration tests: loading JSON and YAML templates into spanned nodes.

use infra_core::diag::Diagnostic;
use infra_core::source::SourceMap;
use infra_core::template::load::{load_file, parse_str, syntax_for, Limits, Syntax};
use infra_core::template::node::Node;
use std::path::{Path, PathBuf};
use Syntax::{Json, Yaml};

fn parse_with(source: &str, syntax: Syntax, limits: &Limits) -> (SourceMap, Result<Node, Diagnostic>) {
    let mut sources = SourceMap::new();
    let file = sources.add(Path::new("template"), "template", source);
    let result = parse_str(source, file, syntax, limits);
    (sources, result)
}

/// Loading `source` fails with `expected_code`, pointing at `expected_line`.
fn check(source: &str, syntax: Syntax, expected_code: &str, expected_line: usize) {
    check_limited(source, syntax, &Limits::default(), expected_code, expected_line);
}

fn check_limited(source: &str, syntax: Syntax, limits: &Limits, expected_code: &str, expected_line: usize) {
    let (sources, result) = parse_with(source, syntax, limits);
    let d = match result {
        Ok(node) => panic!("{:?} loaded as {} but should fail with {expected_code}", short(source), node.to_json()),
        Err(d) => d,
    };
    let line = d.span.and_then(|s| sources.location(s)).map_or(0, |(_, line, _)| line);
    assert_eq!((d.code, line), (expected_code, expected_line), "{:?}: {d:#?}", short(source));
}

/// The start of a long source, for failure messages.
fn short(source: &str) -> String {
    source.chars().take(120).collect()
}

/// Loading `source` succeeds, with the tree `expected` (JSON, intrinsics in long form).
fn check_ok(source: &str, syntax: Syntax, expected: &str) {
    check_ok_limited(source, syntax, &Limits::default(), expected);
}

fn check_ok_limited(source: &str, syntax: Syntax, limits: &Limits, expected: &str) {
    let (_, result) = parse_with(source, syntax, limits);
    let node = result.unwrap_or_else(|d| panic!("{source:?} failed to load: {d:#?}"));
    let expected: serde_json::Value = serde_json::from_str(expected).expect("expected value is JSON");
    assert_eq!(node.to_json(), expected, "{source:?}");
}

#[test]
fn errors() {
    // Empty files.
    check("", Json, "E0001", 1);
    check("  \n\t\n", Json, "E0001", 1);
    check("", Yaml, "E0001", 1);
    check("# only a comment\n\n", Yaml, "E0001", 1);
    check("---\n", Yaml, "E0001", 1);
    // Syntax.
    check("{\n  \"A\": 1,\n}", Json, "E0002", 2);
    check("{\n  // comment\n  \"A\": 1\n}", Json, "E0002", 2);
    check("{\n  A: 1\n}", Json, "E0002", 2);
    check("{\"A\": [1, 2}", Json, "E0002", 1);
    check("{\"A\": 1}\n{\"B\": 2}", Json, "E0002", 2);
    check("{\"A\":\n  'x'}", Json, "E0002", 2);
    check("{\"A\": 007}", Json, "E0002", 1);
    check("{\"A\": \"tab\there\"}", Json, "E0002", 1);
    check("{\"A\": \"unterminated", Json, "E0002", 1);
    check("{\"A\":\n\u{a0}1}", Json, "E0002", 2);
    check("{\"A\": 1,\u{b}\"B\": 2}", Json, "E0002", 1);
    check("A: 1\n B: 2\n", Yaml, "E0003", 2);
    check("A:\n  - 1\n  B: 2\n", Yaml, "E0003", 3);
    check("A: [1, 2\n", Yaml, "E0003", 2);
    check("A: \"unterminated\n", Yaml, "E0003", 1);
    check("A:\n  B: !Base64 !Sub x\n", Yaml, "E0003", 2);
    check("A: *nowhere\n", Yaml, "E0003", 1);
    check("A:\n\t- 1\n", Yaml, "E0003", 2);
    // Duplicate keys, reported at the second one.
    check("{\n  \"A\": 1,\n  \"A\": 2\n}", Json, "E0004", 3);
    check("{\"R\": {\"T\": 1,\n \"T\": 2}}", Json, "E0004", 2);
    check("A: 1\nB: 2\nA: 3\n", Yaml, "E0004", 3);
    check("R:\n  T: 1\n  'T': 2\n", Yaml, "E0004", 3);
    check("R: {T: 1, T: 2}\n", Yaml, "E0004", 1);
    check("1: a\n'1': b\n", Yaml, "E0004", 2);
    // Top level not a mapping.
    check("[1, 2]", Json, "E0005", 1);
    check("\n\"text\"", Json, "E0005", 2);
    check("- 1\n- 2\n", Yaml, "E0005", 1);
    check("just text\n", Yaml, "E0005", 1);
    check("~\n", Yaml, "E0005", 1);
    // Unknown tags.
    check("A: !Reff X\n", Yaml, "E0010", 1);
    check("A:\n  B: !GetAttr X.Y\n", Yaml, "E0010", 2);
    check("A: !!binary aGk=\n", Yaml, "E0010", 1);
    check("A: !<tag:example.com,2000:x> y\n", Yaml, "E0010", 1);
    // Multiple documents.
    check("A: 1\n---\nB: 2\n", Yaml, "E0011", 2);
    check("--- \nA: 1\n...\n---\nB: 2\n", Yaml, "E0011", 4);
    // Keys that are not scalars.
    check("? [a, b]\n: 1\n", Yaml, "E0012", 1);
    check("A:\n  ? {x: 1}\n  : 2\n", Yaml, "E0012", 2);
    check("A:\n  !Ref X: 1\n", Yaml, "E0012", 2);
    check("L: &l [1]\nA:\n  *l : 2\n", Yaml, "E0012", 3);
    // Merge keys take mappings only.
    check("X:\n  <<: 1\n", Yaml, "E0016", 2);
    check("X:\n  <<: [{A: 1}, b]\n", Yaml, "E0016", 2);
    check("X:\n  A: 1\n  <<: {B: 1}\n  A: 2\n", Yaml, "E0004", 4);
    // An alias inside its own anchor.
    check("A: &a\n  - *a\n", Yaml, "E0014", 2);
    // Core tags that do not fit.
    check("A: !!int twelve\n", Yaml, "E0015", 1);
    check("A: !!map [1]\n", Yaml, "E0015", 1);
}

#[test]
fn limits() {
    let small = Limits { max_bytes: 100, max_depth: 4, max_nodes: 20 };
    check_limited(&format!("{{\"A\": \"{}\"}}", "x".repeat(100)), Json, &small, "E0008", 0);
    check_limited(&format!("A: {}\n", "x".repeat(100)), Yaml, &small, "E0008", 0);
    check_limited("{\"A\":\n [[[[1]]]]}", Json, &small, "E0006", 2);
    check_limited("A:\n  B:\n    C:\n      - [1]\n", Yaml, &small, "E0006", 4);
    check_limited("A:\n  B:\n    C: !Ref X\n    D:\n      E: !Sub x\n", Yaml, &small, "E0006", 5);
    check_limited(
        "A: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]",
        Yaml,
        &small,
        "E0007",
        1,
    );
    check_limited(
        "{\"A\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}",
        Json,
        &small,
        "E0007",
        1,
    );
    check_limited("a: &a [1, 2, 3, 4, 5]\nb: &b [*a, *a]\nc: [*b, *b]\n", Yaml, &small, "E0007", 3);
    // Brackets in strings do not count, and the limits themselves are allowed.
    check_ok_limited("{\"A\": \"[[[[[[\", \"B\": [[1]]}", Json, &small, r#"{"A": "[[[[[[", "B": [[1]]}"#);
    check_ok_limited("A:\n  B: [!Ref X]\n", Yaml, &small, r#"{"A": {"B": [{"Ref": "X"}]}}"#);
    // Values count, keys do not, whether written out or copied by an alias.
    let five = Limits { max_nodes: 5, ..Limits::default() };
    check_ok_limited("a: &a {k: 1}\nb: *a\n", Yaml, &five, r#"{"a": {"k": 1}, "b": {"k": 1}}"#);
    check_limited("a: &a {k: 1}\nb: *a\nc:\n", Yaml, &five, "E0007", 3);
    // Aliases can nest deeper than any single anchor was written.
    check_limited("a: &a [[1]]\nb: [[*a]]\n", Yaml, &small, "E0006", 2);
}

#[test]
fn short_forms() {
    let cases = [
        ("A: !Ref Bucket", r#"{"A": {"Ref": "Bucket"}}"#),
        ("A: !Condition IsProd", r#"{"A": {"Condition": "IsProd"}}"#),
        ("A: !GetAtt Bucket.Arn", r#"{"A": {"Fn::GetAtt": ["Bucket", "Arn"]}}"#),
        ("A: !GetAtt Db.Endpoint.Address", r#"{"A": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}"#),
        ("A: !GetAtt [Bucket, Arn]", r#"{"A": {"Fn::GetAtt": ["Bucket", "Arn"]}}"#),
        ("A: !Sub 'arn:${AWS::Partition}:s3:::${B}'", r#"{"A": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${B}"}}"#),
        ("A: !Sub\n  - '${X}-x'\n  - X: !Ref Y", r#"{"A": {"Fn::Sub": ["${X}-x", {"X": {"Ref": "Y"}}]}}"#),
        ("A: !Join ['', [a, !Ref B]]", r#"{"A": {"Fn::Join": ["", ["a", {"Ref": "B"}]]}}"#),
        ("A: !Select [0, !GetAZs '']", r#"{"A": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}}"#),
        ("A: !Split [',', 'a,b']", r#"{"A": {"Fn::Split": [",", "a,b"]}}"#),
        ("A: !FindInMap [M, !Ref R, K]", r#"{"A": {"Fn::FindInMap": ["M", {"Ref": "R"}, "K"]}}"#),
        ("A: !If [C, 1, !Ref AWS::NoValue]", r#"{"A": {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]}}"#),
        ("A: !Equals [!Ref E, prod]", r#"{"A": {"Fn::Equals": [{"Ref": "E"}, "prod"]}}"#),
        (
            "A: !And [!Condition X, !Not [!Condition Y]]",
            r#"{"A": {"Fn::And": [{"Condition": "X"}, {"Fn::Not": [{"Condition": "Y"}]}]}}"#,
        ),
        ("A: !Or [!Condition X, !Condition Y]", r#"{"A": {"Fn::Or": [{"Condition": "X"}, {"Condition": "Y"}]}}"#),
        ("A: !ImportValue network-VpcId", r#"{"A": {"Fn::ImportValue": "network-VpcId"}}"#),
        ("A: !ImportValue\n  Fn::Sub: '${Env}-VpcId'", r#"{"A": {"Fn::ImportValue": {"Fn::Sub": "${Env}-VpcId"}}}"#),
        ("A: !Base64 hello", r#"{"A": {"Fn::Base64": "hello"}}"#),
        (
            "A: !Cidr [!GetAtt Vpc.CidrBlock, 6, 8]",
            r#"{"A": {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 6, 8]}}"#,
        ),
        ("A: !GetAZs", r#"{"A": {"Fn::GetAZs": ""}}"#),
        ("A: !GetAZs us-east-1", r#"{"A": {"Fn::GetAZs": "us-east-1"}}"#),
        (
            "A: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}",
            r#"{"A": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}}}"#,
        ),
        ("A: !Contains [[a], !Ref P]", r#"{"A": {"Fn::Contains": [["a"], {"Ref": "P"}]}}"#),
        (
            "A: !EachMemberEquals [!RefAll AWS::EC2::VPC::Id, x]",
            r#"{"A": {"Fn::EachMemberEquals": [{"Fn::RefAll": "AWS::EC2::VPC::Id"}, "x"]}}"#,
        ),
        (
            "A: !EachMemberIn [!ValueOfAll [T, Tag], [a]]",
            r#"{"A": {"Fn::EachMemberIn": [{"Fn::ValueOfAll": ["T", "Tag"]}, ["a"]]}}"#,
        ),
        ("A: !ValueOf [P, Tag]", r#"{"A": {"Fn::ValueOf": ["P", "Tag"]}}"#),
        // Scalars under a short form are strings, as CloudFormation reads them.
        ("A: !Ref 123", r#"{"A": {"Ref": "123"}}"#),
        ("A: !Base64 |\n  #!/bin/bash\n  echo hi\n", r##"{"A": {"Fn::Base64": "#!/bin/bash\necho hi\n"}}"##),
    ];
    for (source, expected) in cases {
        check_ok(source, Yaml, expected);
    }
}

#[test]
fn scalars() {
    let cases = [
        // YAML 1.2 core schema for plain scalars; numbers keep their source text.
        ("A: [true, False, TRUE, false]", r#"{"A": [true, false, true, false]}"#),
        ("A: [null, ~, Null, NULL]", r#"{"A": [null, null, null, null]}"#),
        ("A:\nB: x", r#"{"A": null, "B": "x"}"#),
        ("A: [1, -2, +3, 1.5, 2e3, -1.5E-3, .5]", r#"{"A": [1, -2, "+3", 1.5, 2e3, -1.5E-3, ".5"]}"#),
        ("A: [0x1F, 0o17, .inf, -.Inf, .nan]", r#"{"A": ["0x1F", "0o17", ".inf", "-.Inf", ".nan"]}"#),
        (
            "A: [yes, no, on, off, 2010-09-09, 1.2.3, 0x, 12ab]",
            r#"{"A": ["yes", "no", "on", "off", "2010-09-09", "1.2.3", "0x", "12ab"]}"#,
        ),
        // Quoted scalars are always strings.
        ("A: ['true', \"1\", 'null', '']", r#"{"A": ["true", "1", "null", ""]}"#),
        (
            "A: !!str 1\nB: ! 2\nC: !!int 3\nD: !!bool true\nE: !!null ~",
            r#"{"A": "1", "B": "2", "C": 3, "D": true, "E": null}"#,
        ),
        // Keys are strings, whatever they look like.
        ("1: a\ntrue: b\n~: c\n", r#"{"1": "a", "true": "b", "~": "c"}"#),
        ("A: |\n  line 1\n  line 2\nB: >-\n  folded\n  text\n", r#"{"A": "line 1\nline 2\n", "B": "folded text"}"#),
        ("A: plain\n  continued\n", r#"{"A": "plain continued"}"#),
        // Anchors and aliases.
        (
            "T: &t {Key: a, Value: b}\nU: [*t, *t]\n",
            r#"{"T": {"Key": "a", "Value": "b"}, "U": [{"Key": "a", "Value": "b"}, {"Key": "a", "Value": "b"}]}"#,
        ),
        ("K: &k Name\nM: {*k : 1}\n", r#"{"K": "Name", "M": {"Name": 1}}"#),
        ("\u{feff}A: 1\r\nB: 2\r\n", r#"{"A": 1, "B": 2}"#),
        ("%YAML 1.2\n---\nA: 1\n...\n", r#"{"A": 1}"#),
        // Merge keys, as `aws cloudformation package` resolves them: written keys win, then
        // earlier mappings; merged entries come first.
        ("D: &d {A: 1, B: 2}\nX:\n  <<: *d\n  B: 3\n", r#"{"D": {"A": 1, "B": 2}, "X": {"A": 1, "B": 3}}"#),
        ("X:\n  C: 0\n  <<: [{A: 1}, {A: 2, B: 2}]\n", r#"{"X": {"A": 1, "B": 2, "C": 0}}"#),
        ("X: {'<<': {A: 1}}\n", r#"{"X": {"<<": {"A": 1}}}"#),
    ];
    for (source, expected) in cases {
        check_ok(source, Yaml, expected);
    }
    let json = [
        (
            r#"{"A": [1, -0.5, 1e10, true, false, null, "s\u00e9\n"]}"#,
            r#"{"A": [1, -0.5, 1e10, true, false, null, "sé\n"]}"#,
        ),
        ("\u{feff}{\"A\": {}}", r#"{"A": {}}"#),
        (r#"{"A\u00a0": "x"}"#, "{\"A\u{a0}\": \"x\"}"),
        ("{\"A\": \"\u{a0}\u{2028}\"}", "{\"A\": \"\u{a0}\u{2028}\"}"),
        (r#"{"Fn::Not": 0}"#, r#"{"Fn::Not": 0}"#),
    ];
    for (source, expected) in json {
        check_ok(source, Json, expected);
    }
}

/// The `(line, column)` where the node at `path` (keys and list indices) and its key start.
fn position(source: &str, syntax: Syntax, path: &[&str]) -> ((usize, usize), (usize, usize)) {
    let (sources, result) = parse_with(source, syntax, &Limits::default());
    let mut node = result.unwrap_or_else(|d| panic!("{source:?} failed to load: {d:#?}"));
    let mut key_span = node.span;
    for step in path {
        let next = match step.parse::<usize>() {
            Ok(i) => node.as_seq().and_then(|s| s.get(i)).cloned(),
            Err(_) => node.get_entry(step).map(|(k, v)| {
                key_span = k.span;
                v.clone()
            }),
        };
        node = next.unwrap_or_else(|| panic!("{source:?} has no {step}"));
    }
    let at = |s| sources.location(s).map(|(_, l, c)| (l, c)).expect("span is in the file");
    (at(node.span), at(key_span))
}

#[test]
fn spans() {
    type LineCol = (usize, usize);
    // (source, syntax, path, value (line, col), key (line, col))
    let cases: &[(&str, Syntax, &[&str], LineCol, LineCol)] = &[
        (
            "{\n  \"Resources\": {\n    \"B\": {\"Type\": \"x\"}\n  }\n}",
            Json,
            &["Resources", "B", "Type"],
            (3, 19),
            (3, 11),
        ),
        ("{\"A\": [1, \"é\", 3]}", Json, &["A", "2"], (1, 16), (1, 2)),
        ("Resources:\n  B:\n    Type: x\n", Yaml, &["Resources", "B", "Type"], (3, 11), (3, 5)),
        ("Resources:\n  B:\n    Type: x\n", Yaml, &["Resources", "B"], (3, 5), (2, 3)),
        ("A: [1, 'é', 3]\n", Yaml, &["A", "2"], (1, 13), (1, 1)),
        ("A: é\nB: \"x\"\n", Yaml, &["B"], (2, 4), (2, 1)),
        ("A:\n  - a\n  - b\n", Yaml, &["A"], (2, 3), (1, 1)),
        ("A: !Ref X\n", Yaml, &["A"], (1, 4), (1, 1)),
        ("A: !Ref X\n", Yaml, &["A", "Ref"], (1, 9), (1, 4)),
        ("A: !GetAtt B.C\n", Yaml, &["A", "Fn::GetAtt", "1"], (1, 14), (1, 4)),
        ("A: !Sub\n  - x\n  - {}\n", Yaml, &["A", "Fn::Sub"], (2, 3), (1, 4)),
        ("A: |\n  text\nB: 1\n", Yaml, &["A"], (1, 4), (1, 1)),
        ("A: |\n  text\nB: 1\n", Yaml, &["B"], (3, 4), (3, 1)),
        ("A:\r\n  B: 1\r\n", Yaml, &["A", "B"], (2, 6), (2, 3)),
        ("\u{feff}A: 1\n", Yaml, &["A"], (1, 5), (1, 2)),
        ("A: \"x\r\n  y\"\r\nB: |\r\n  t\r\n\r\nC: 'é\r\n  é'\r\nD: 1\r\n", Yaml, &["D"], (8, 4), (8, 1)),
        ("A: 1\rB: [2]\r", Yaml, &["B", "0"], (1, 10), (1, 6)),
        ("A: |\n  é\n  éé\nB: é\n", Yaml, &["B"], (4, 4), (4, 1)),
    ];
    for (source, syntax, path, value, key) in cases {
        assert_eq!(position(source, *syntax, path), (*value, *key), "{source:?} at {path:?}");
    }
}

/// Where a span ends, as `(line, column)`.
fn span_end(source: &str, path: &[&str]) -> (usize, usize) {
    let (sources, result) = parse_with(source, Yaml, &Limits::default());
    let mut node = result.unwrap_or_else(|d| panic!("{source:?} failed to load: {d:#?}"));
    for step in path {
        node = node.get(step).cloned().unwrap_or_else(|| panic!("{source:?} has no {step}"));
    }
    let file = sources.files().next().map(|(_, f)| f).expect("one file");
    file.line_col(node.span.end as usize)
}

#[test]
fn span_ends() {
    let cases: &[(&str, &[&str], (usize, usize))] = &[
        ("A: plain text # comment\n", &["A"], (1, 14)),
        ("A: 'it''s' # c\n", &["A"], (1, 11)),
        ("A: \"a\\\"b\"\n", &["A"], (1, 10)),
        ("A: two\n  lines\nB: 1\n", &["A"], (2, 8)),
        ("A: |\n  one\n   two\n\n# comment\nB: 1\n", &["A"], (3, 7)),
        ("A:\n  B: 1\n  C: [1, 2]\n# end\n", &["A"], (3, 12)),
        ("A: {B: 1}\n", &["A"], (1, 10)),
        ("A: !Ref X\n", &["A"], (1, 10)),
        ("A:\nB: 1\n", &["A"], (1, 3)),
    ];
    for (source, path, end) in cases {
        assert_eq!(span_end(source, path), *end, "{source:?} at {path:?}");
    }
}

#[test]
fn syntax_detection() {
    let cases = [
        ("a.json", "A: 1", Json),
        ("a.yaml", "{\"A\": 1}", Yaml),
        ("a.YML", "", Yaml),
        ("a.template", "  \n{\"A\": 1}", Json),
        ("a.template", "\u{feff}{}", Json),
        ("a.template", "A: 1", Yaml),
        ("noext", "# c\n{}", Yaml),
    ];
    for (path, text, expected) in cases {
        assert_eq!(syntax_for(Path::new(path), text), expected, "{path} {text:?}");
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/load").join(name)
}

#[test]
fn load_files() {
    let limits = Limits::default();
    let mut sources = SourceMap::new();
    let (yaml_id, yaml) = load_file(&mut sources, &fixture("sagemaker.yaml"), "sagemaker.yaml", &limits)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    let (json_id, json) = load_file(&mut sources, &fixture("sagemaker.json"), "sagemaker.json", &limits)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    assert_ne!(yaml_id, json_id);
    assert_eq!(yaml.to_json(), json.to_json(), "the YAML and JSON fixtures describe the same template");
}

#[test]
fn load_file_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    };
    let limits = Limits::default();

    let mut sources = SourceMap::new();
    let path = write("latin1.yaml", b"A: 1\nB: caf\xe9\n");
    let d = load_file(&mut sources, &path, "latin1.yaml", &limits).expect_err("not UTF-8");
    assert_eq!(d.code, "E0009");
    let span = d.span.expect("points at the byte");
    assert_eq!(sources.location(span), Some(("latin1.yaml", 2, 7)));

    let path = write("big.yaml", format!("A: {}\n", "x".repeat(100)).as_bytes());
    let small = Limits { max_bytes: 50, ..Limits::default() };
    let d = load_file(&mut sources, &path, "big.yaml", &small).expect_err("too large");
    assert_eq!(d.code, "E0008");

    let d = load_file(&mut sources, &dir.path().join("missing.yaml"), "missing.yaml", &limits).expect_err("missing");
    assert_eq!(d.code, "E0013");

    let path = write("dup.json", b"{\"A\": 1,\n \"A\": 2}");
    let d = load_file(&mut sources, &path, "dup.json", &limits).expect_err("duplicate");
    assert_eq!(d.code, "E0004");
    assert_eq!(d.secondary.len(), 1);
    let first = d.secondary.first().map(|l| l.span).and_then(|s| sources.location(s));
    assert_eq!(first, Some(("dup.json", 1, 2)));
}

#[test]
fn hostile_inputs() {
    // The billion laughs: nine levels of ten aliases each. Expansion stops at the limit, on
    // the line where it is crossed, without building the rest.
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in ('a'..='h').zip('b'..='i') {
        let aliases = vec![format!("*{previous}"); 10].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    let started = std::time::Instant::now();
    check(&laughs, Yaml, "E0007", 6);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());

    // Nesting far beyond the limit fails at the first bracket past it, without recursing.
    check(&"[".repeat(1_000_000), Json, "E0006", 1);
    check(&format!("{{\"A\":\n{}", "[".repeat(1_000_000)), Json, "E0006", 2);
    check(&format!("A: {}", "[".repeat(1_000_000)), Yaml, "E0006", 1);
    check(&format!("A: {}", "{a: ".repeat(100_000)), Yaml, "E0006", 1);
    let block: String = (0..200).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    check(&block, Yaml, "E0006", 129);
    check(&format!("A: \"{}", "\\".repeat(10_000)), Yaml, "E0003", 1);
}

/// How loading errors read, rendered as the command line shows them.
#[test]
fn rendered() {
    let cases = [
        ("A: 1\nB:\n  C: !GetAtts X.Y\n", Yaml),
        ("{\n  \"A\": 1,\n  \"A\": 2\n}", Json),
        ("A:\n  B: !Base64 !Sub x\n", Yaml),
        ("A: 1\n---\nB: 2\n", Yaml),
        ("A: x: y\n", Yaml),
        ("{\"A\": [1,]}", Json),
        ("A: !!int x\n", Yaml),
        ("- a\n", Yaml),
        ("a: &a [1, 2]\nb: [*a, *a, *a]\n", Yaml),
    ];
    let limits = Limits { max_nodes: 8, ..Limits::default() };
    let mut out = String::new();
    for (source, syntax) in cases {
        let (sources, result) = parse_with(source, syntax, &limits);
        let d = result.expect_err("every case is an error");
        out.push_str(&infra_core::render::diag::human(&[d], &sources, false));
    }
    insta::assert_snapshot!(out);
}

/// Inputs the fuzzer once crashed on: each must load or fail cleanly, with every span inside
/// the text and on character boundaries, under default and tight limits.
#[test]
fn fuzz_regressions() {
    let dir = fixture("fuzz");
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("fuzz fixtures").map(|entry| entry.expect("fixture entry").path()).collect();
    paths.sort();
    assert!(!paths.is_empty());
    let tight = Limits { max_bytes: 1 << 16, max_depth: 8, max_nodes: 200 };
    for path in paths {
        let bytes = std::fs::read(&path).expect("read fixture");
        let text = String::from_utf8_lossy(&bytes);
        for limits in [Limits::default(), tight] {
            for syntax in [Json, Yaml] {
                let (sources, result) = parse_with(&text, syntax, &limits);
                let name = format!("{} as {syntax:?}", path.display());
                match result {
                    Ok(node) => check_spans(&node, &text, &name),
                    Err(d) => {
                        for span in d.span.iter().chain(d.secondary.iter().map(|l| &l.span)) {
                            check_span(span.range(), &text, &name);
                        }
                        infra_core::render::diag::human(&[d], &sources, false);
                    }
                }
            }
        }
    }
}

fn check_span(range: std::ops::Range<usize>, text: &str, name: &str) {
    assert!(
        range.start <= range.end && text.is_char_boundary(range.start) && text.is_char_boundary(range.end),
        "{name}: bad span {range:?}"
    );
}

fn check_spans(node: &Node, text: &str, name: &str) {
    check_span(node.span.range(), text, name);
    for child in node.as_seq().unwrap_or_default() {
        check_spans(child, text, name);
    }
    for (key, value) in node.as_map().unwrap_or_default() {
        check_span(key.span.range(), text, name);
        check_spans(value, text, name);
    }
}

#[test]
fn long_lines_stay_linear() {
    // One line of empty values, and one of multi-byte keys: both load in linear time.
    let empties = format!("{{{}}}", (0..100_000).map(|i| format!("k{i}: ")).collect::<Vec<_>>().join(", "));
    let wide = format!("{{{}}}", (0..100_000).map(|i| format!("é{i}: [é]")).collect::<Vec<_>>().join(", "));
    for source in [empties, wide] {
        let started = std::time::Instant::now();
        let (_, result) = parse_with(&source, Yaml, &Limits::default());
        assert!(result.is_ok(), "{:?}", result.err());
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    }
}
