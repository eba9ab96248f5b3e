//! Editor support (issue 5): `runner schema` prints the JSON Schema of the
//! pipeline file, the committed copy is not stale, and every example
//! pipeline declares it and passes `runner check`.

use std::path::Path;

use crate::support::*;

const SCHEMA_FILE: &str = "schema/pipeline.schema.json";

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn printed_schema() -> String {
    let run = Test::new().run(["schema"]);
    run.expect_code(0);
    run.stdout
}

#[test]
fn schema_is_json_for_the_whole_format() {
    let schema: serde_json::Value = serde_json::from_str(&printed_schema()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let properties = schema["properties"].as_object().unwrap();
    for section in ["pipeline", "vars", "inputs", "steps", "plots"] {
        assert!(properties.contains_key(section), "{section} missing");
    }
    let step = &schema["definitions"]["RawStep"];
    assert_eq!(step["additionalProperties"], false);
    assert!(step["properties"]["use"].is_object(), "{step}");
    assert!(step["properties"]["run"]["type"] == "array", "{step}");
}

#[test]
fn committed_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(repo(SCHEMA_FILE)).unwrap_or_default();
    assert!(
        committed == printed_schema(),
        "{SCHEMA_FILE} is stale: the pipeline file types changed. Regenerate it with\n\n    \
         cargo run -- schema > {SCHEMA_FILE}\n\nand commit it."
    );
}

#[test]
fn examples_declare_the_schema_and_pass_check() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo("pipelines")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ../schema/pipeline.schema.json"),
            "{} must start with the `#:schema` directive, for editors",
            path.display()
        );
        let run = Test::new().run([std::ffi::OsStr::new("check"), path.as_os_str()]);
        run.expect_code(0);
        checked += 1;
    }
    assert!(checked > 0, "no example pipelines found");
}
