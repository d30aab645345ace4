//! selectors.yml: named selectors (`--selector NAME`, and the one marked `default: true`) with
//! dbt's definitions — strings, method mappings with graph operators, unions and
//! intersections with exclusions, selectors that include others — and their errors.

mod common;

use common::{TestProject, assert_exit, assert_ok, names};

/// a → b (with a test) and c → d; a and c are tagged nightly.
const PROJECT: &[(&str, &str)] = &[
    (
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: b\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
    ),
    ("models/a.sql", "{{ config(tags=['nightly']) }}\nselect 1 as id\n"),
    ("models/b.sql", "select id from {{ ref('a') }}\n"),
    ("models/c.sql", "{{ config(tags=['nightly']) }}\nselect 2 as id\n"),
    ("models/d.sql", "select id from {{ ref('c') }}\n"),
    (
        "selectors.yml",
        "selectors:
  - name: nightly
    description: the nightly models and what reads them, but d
    definition:
      union:
        - method: tag
          value: nightly
          children: true
        - exclude:
            - d
  - name: b_and_parents
    default: true
    definition: '+b'
  - name: just_c
    definition:
      intersection:
        - tag: nightly
        - method: selector
          value: nightly
        - c
  - name: b_without_tests
    definition: {method: fqn, value: b, indirect_selection: empty}
  - name: d_and_parents_but_c
    definition: {method: fqn, value: d, parents: true, exclude: [c]}
  - name: depth_without_children
    definition: {method: fqn, value: a, children_depth: 1}
  - name: slim_ci
    definition: 'state:modified+'
",
    ),
];

#[test]
fn named_selectors_select_as_dbt_defines_them() {
    let project = TestProject::new("selectors", PROJECT);
    // (A selector that needs --state, slim_ci, is checked but needs it only when used.)
    assert_eq!(
        names(&project, &["--selector", "nightly"]),
        "a\nb\nc\nnot_null_b_id\n"
    );
    assert_eq!(names(&project, &["--selector", "just_c"]), "c\n");
    assert_eq!(names(&project, &["--selector", "b_without_tests"]), "b\n");
    assert_eq!(names(&project, &["--selector", "d_and_parents_but_c"]), "d\n");
    // A depth counts only with its `children: true`, as in dbt.
    assert_eq!(names(&project, &["--selector", "depth_without_children"]), "a\n");
    // The default selector stands for a missing --select and --exclude.
    assert_eq!(names(&project, &[]), "a\nb\nnot_null_b_id\n");
    assert_eq!(names(&project, &["-s", "d"]), "d\n");
    assert_eq!(names(&project, &["--exclude", "b"]), "a\nc\nd\n");
    // It drives a run like --select does.
    let run = project.tmk(&["run", "--selector", "just_c"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1"),
        "{}",
        run.stdout
    );
}

#[test]
fn selector_errors_name_the_selector_or_the_place_in_selectors_yml() {
    let project = TestProject::new("selectors_errors", PROJECT);
    let fails = |args: &[&str], expected: &[&str]| {
        let mut full = vec!["ls"];
        full.extend_from_slice(args);
        let run = project.tmk(&full);
        assert_exit(&run, 2);
        for text in expected {
            assert!(run.stderr.contains(text), "no `{text}` in:\n{}", run.stderr);
        }
    };
    fails(
        &["--selector", "nighty"],
        &[
            "selectors.yml has no selector of that name",
            "did you mean `nightly`?",
        ],
    );
    fails(&["--selector", "nightly", "-s", "a"], &["cannot be used with"]);

    project.write(
        "selectors.yml",
        "selectors:\n  - name: deep\n    definition:\n      method: tag\n      value: nightly\n      children: true\n      children_depth: -1\n",
    );
    fails(
        &[],
        &["`children_depth` must be a whole number", "selectors.yml:7:23"],
    );
    project.write(
        "selectors.yml",
        "selectors:\n  - name: loop\n    definition:\n      union:\n        - a\n        - method: selector\n          value: loop\n",
    );
    fails(
        &["-s", "a"],
        &[
            "selector `loop` includes itself: loop → loop",
            "selectors.yml:7:18",
        ],
    );
    project.write("selectors.yml", "selectors:\n  - name: typo\n    definiton: a\n");
    fails(&[], &["unknown key `definiton`", "did you mean `definition`?"]);
    project.write(
        "selectors.yml",
        "selectors:\n  - name: typo\n    definition:\n      mthod: tag\n      value: nightly\n",
    );
    fails(
        &[],
        &[
            "unknown key `mthod`",
            "did you mean `method`?",
            "selectors.yml:4:7",
        ],
    );
    project.write(
        "selectors.yml",
        "selectors:\n  - name: bad\n    definition: 'tag:nightly,,c'\n",
    );
    fails(&[], &["bad selector `tag:nightly,,c`", "selectors.yml:3:30"]);
    project.write(
        "selectors.yml",
        "selectors:\n  - name: bad\n    definition:\n      method: tgs\n      value: nightly\n",
    );
    fails(&[], &["unknown selector method `tgs`", "selectors.yml:4:15"]);
    project.write(
        "selectors.yml",
        "selectors:\n  - name: prod\n    default: \"{{ target.name == 'prod' }}\"\n    definition: a\n",
    );
    assert_eq!(names(&project, &["-s", "b"]), "b\nnot_null_b_id\n");
    fails(&[], &["decides `default` with Jinja", "selectors.yml:3:14"]);
    project.write("selectors.yml", "# no selectors yet\n");
    assert_eq!(names(&project, &["-s", "a"]), "a\n");
    fails(
        &["--selector", "slim_ci"],
        &["selectors.yml has no selector of that name"],
    );
    project.write(
        "selectors.yml",
        "selectors:\n  - name: ci\n    definition: 'state:modified+'\n",
    );
    fails(&["--selector", "ci"], &["requires --state"]);
}
