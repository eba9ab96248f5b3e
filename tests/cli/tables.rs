//! Real-world tables through the binary (issue 11): whole-column types,
//! table options in `with` and in plots, time columns, checked at load time.

use crate::support::Test;

fn stats_pipeline(with: &str) -> String {
    format!(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*"]

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
with = {{ {with} }}
out = "stats/{{{{ key }}}}.json"
"#
    )
}

fn stats(t: &Test, key: &str) -> serde_json::Value {
    serde_json::from_str(&t.read(format!("build/stats/{key}.json"))).unwrap()
}

fn column<'a>(stats: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    stats["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {stats}"))
}

#[test]
fn mixed_columns_are_text_and_no_file_fails_for_one() {
    let t = Test::new();
    let odd = [
        "5+",
        "<5",
        ">3",
        "2-10",
        "1-19",
        "7p",
        "41B",
        "136A",
        "2014Q1",
        "C",
        "J",
        "rotary",
        "some",
        "T",
        ".",
        "?",
        "*",
        "\"5' 4\"\"\"",
        "\"1, 5, 8\"",
        "6.2\u{1}",
    ];
    for (i, cell) in odd.iter().enumerate() {
        t.write(
            format!("data/f{i:02}.csv"),
            format!("year,v\n2001,1.5\n2002,{cell}\n2003,\n2004,7\n"),
        );
    }
    t.pipeline(&stats_pipeline(""));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    for (i, cell) in odd.iter().enumerate() {
        let s = stats(&t, &format!("f{i:02}"));
        let v = column(&s, "v");
        assert_eq!(v["type"], "text", "{cell}: {v}");
        assert_eq!(
            (v["count"].as_u64(), v["missing"].as_u64()),
            (Some(3), Some(1)),
            "{v}"
        );
        assert_eq!(v["numeric"], 2, "{v}");
        assert_eq!(column(&s, "year")["type"], "number");
    }
}

#[test]
fn spreadsheet_exports_read_with_options() {
    let t = Test::new();
    // Latin-1 (`\xf6` is ö), `;` and decimal commas, CRLF, as a
    // spreadsheet saves them.
    t.write("data/eu.csv", b"Ort;Wert;Datum\r\nK\xf6ln;1,5;01.03.2024\r\nBonn;-;02.03.2024\r\nBonn;2,25;x\r\n")
        .pipeline(&stats_pipeline(
            r#"delimiter = ";", decimal = ",", encoding = "latin1", na = ["", "-"], types = { Datum = "time" }, time_format = "%d.%m.%Y""#,
        ));
    t.run(["pipeline.toml"]).expect_code(0);
    let s = stats(&t, "eu");
    let ort = column(&s, "Ort");
    assert_eq!(
        (ort["type"].as_str(), ort["distinct"].as_u64()),
        (Some("text"), Some(2))
    );
    let wert = column(&s, "Wert");
    assert_eq!(
        (wert["count"].as_u64(), wert["missing"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(wert["max"], 2.25);
    let datum = column(&s, "Datum");
    assert_eq!(datum["type"], "time");
    assert_eq!(
        (datum["min"].as_str(), datum["max"].as_str()),
        (Some("2024-03-01"), Some("2024-03-02"))
    );
    assert_eq!(
        (datum["invalid"].as_u64(), datum["span"].as_str()),
        (Some(1), Some("1d"))
    );
}

#[test]
fn forced_numbers_count_invalid_cells_like_pandas_coerce() {
    let t = Test::new();
    t.write("data/rain.csv", "day,rain\n1,0.5\n2,T\n3,1.25\n4,\n")
        .pipeline(&stats_pipeline(r#"types = { rain = "number" }"#));
    t.run(["pipeline.toml"]).expect_code(0);
    let rain = column(&stats(&t, "rain"), "rain").clone();
    assert_eq!(rain["type"], "number");
    assert_eq!(
        (
            rain["count"].as_u64(),
            rain["missing"].as_u64(),
            rain["invalid"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(rain["mean"], 0.875);
}

#[test]
fn time_columns_give_first_last_and_span() {
    let t = Test::new();
    t.write(
        "data/iso.csv",
        "date,stamp,z,epoch\n\
         2024-03-01,2024-03-01 00:00,2024-03-01T00:00:00Z,1709251200\n\
         2024-12-31,2024-03-01T06:30:15.5,2024-03-01T02:00:00+01:00,1709254800\n\
         ,2024-03-01T01:00,2024-03-01T01:00:00Z,\n",
    )
    .pipeline(&stats_pipeline(
        r#"types = { epoch = "time" }, time_format = { epoch = "unix_s" }"#,
    ));
    t.run(["pipeline.toml"]).expect_code(0);
    let s = stats(&t, "iso");
    let date = column(&s, "date");
    assert_eq!(
        (
            date["type"].as_str(),
            date["min"].as_str(),
            date["max"].as_str(),
            date["span"].as_str(),
            date["missing"].as_u64()
        ),
        (
            Some("time"),
            Some("2024-03-01"),
            Some("2024-12-31"),
            Some("305d"),
            Some(1)
        )
    );
    let stamp = column(&s, "stamp");
    assert_eq!(
        (stamp["max"].as_str(), stamp["span"].as_str()),
        (Some("2024-03-01T06:30:15.5"), Some("6h 30m 15.5s"))
    );
    let z = column(&s, "z");
    assert_eq!(
        (z["min"].as_str(), z["max"].as_str()),
        (Some("2024-03-01T00:00:00Z"), Some("2024-03-01T01:00:00Z"))
    );
    let epoch = column(&s, "epoch");
    assert_eq!(
        (epoch["min"].as_str(), epoch["span"].as_str()),
        (Some("2024-03-01T00:00:00Z"), Some("1h"))
    );
}

#[test]
fn one_row_all_missing_and_quoted_newlines() {
    let t = Test::new();
    t.write("data/one.csv", "a,b,nothing\r\n1,\"two\r\nlines\",NA\r\n")
        .pipeline(&stats_pipeline(""));
    t.run(["pipeline.toml"]).expect_code(0);
    let s = stats(&t, "one");
    assert_eq!(s["rows"], 1);
    assert_eq!(column(&s, "b")["distinct"], 1);
    let nothing = column(&s, "nothing");
    assert_eq!(
        (nothing["type"].as_str(), nothing["missing"].as_u64()),
        (Some("number"), Some(1))
    );
}

#[test]
fn plots_read_tables_with_the_same_options() {
    let t = Test::new();
    t.write(
        "data/eu.csv",
        "t;druck;notiz\n0;1010,5;a\n1;-;b\n2;1011,25;c\n",
    )
    .pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["druck"]
delimiter = ";"
decimal = ","
na = ["-"]
out = "plots/{{ key }}.svg"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    let svg = t.read("build/plots/eu.svg");
    assert!(
        svg.contains("1010.5") || svg.contains("1,010.5") || svg.contains("1011"),
        "{svg}"
    );
}

#[test]
fn wrong_table_options_are_load_errors_at_their_key() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n0,1\n").pipeline(
        r#"[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
with = { layout = "wide", decimal = ";" }
out = "stats/{{ key }}.json"
[[plots]]
name = "plot"
each = "data"
delimiter = ";;"
types = { v = "integer" }
encoding = "ebcdic"
out = "plots/{{ key }}.svg"
"#,
    );
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    for expected in [
        "`decimal` must be \".\" or \",\", found `;`",
        "pipeline.toml:9:27",
        "`delimiter` must be one ASCII character",
        "pipeline.toml:14:13",
        "`types.v` must be \"number\", \"text\" or \"time\"",
        "unknown encoding `ebcdic`",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing `{expected}` in\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_utf8_bom_is_not_part_of_the_first_name() {
    let t = Test::new();
    t.write("data/bom.csv", "\u{feff}Zeit,Wert\n2024-03-01,1\n")
        .pipeline(&stats_pipeline(""));
    t.run(["pipeline.toml"]).expect_code(0);
    let s = stats(&t, "bom");
    assert_eq!(column(&s, "Zeit")["type"], "time");
}

/// Writes `t` (timestamps, ms, UTC), `temp` (doubles, one missing) and
/// `site` (strings) in one row group of a Parquet file.
fn write_parquet(path: &std::path::Path) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message m {
                REQUIRED INT64 t (TIMESTAMP(MILLIS,true));
                OPTIONAL DOUBLE temp;
                REQUIRED BYTE_ARRAY site (UTF8);
            }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    let mut index = 0;
    while let Some(mut column) = rg.next_column().unwrap() {
        match index {
            0 => {
                let t: Vec<i64> = (0..4).map(|h| 1_709_251_200_000 + h * 3_600_000).collect();
                column
                    .typed::<Int64Type>()
                    .write_batch(&t, None, None)
                    .unwrap();
            }
            1 => {
                column
                    .typed::<DoubleType>()
                    .write_batch(&[10.5, 11.0, 12.5], Some(&[1, 1, 0, 1]), None)
                    .unwrap();
            }
            _ => {
                let sites: Vec<ByteArray> =
                    ["a", "b", "a", "a"].iter().map(|s| (*s).into()).collect();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&sites, None, None)
                    .unwrap();
            }
        }
        column.close().unwrap();
        index += 1;
    }
    rg.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_files_feed_stats_plots_and_concat() {
    let t = Test::new();
    write_parquet(&t.path("data/hourly.parquet"));
    t.write("data/more.csv", "t,temp,site\n2024-03-02T00:00:00Z,9.5,c\n")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
[[steps]]
name = "all"
all = "data"
use = "table.concat"
out = "all.csv"
[[plots]]
name = "plot"
each = "data"
y = ["temp"]
out = "plots/{{ key }}.svg"
"#,
        );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    let s = stats(&t, "hourly");
    assert_eq!(s["rows"], 4);
    let temp = column(&s, "temp");
    assert_eq!(
        (
            temp["count"].as_u64(),
            temp["missing"].as_u64(),
            temp["max"].as_f64()
        ),
        (Some(3), Some(1), Some(12.5))
    );
    let time = column(&s, "t");
    assert_eq!(
        (
            time["type"].as_str(),
            time["min"].as_str(),
            time["span"].as_str()
        ),
        (Some("time"), Some("2024-03-01T00:00:00Z"), Some("3h"))
    );
    assert_eq!(column(&s, "site")["distinct"], 2);
    assert_eq!(
        t.read("build/all.csv"),
        "source,t,temp,site\n\
         hourly,2024-03-01T00:00:00Z,10.5,a\n\
         hourly,2024-03-01T01:00:00Z,11,b\n\
         hourly,2024-03-01T02:00:00Z,,a\n\
         hourly,2024-03-01T03:00:00Z,12.5,a\n\
         more,2024-03-02T00:00:00Z,9.5,c\n"
    );
    assert!(t.read("build/plots/hourly.svg").contains("<svg"));
    // Read in parts, a Parquet file is hashed before its tasks run (not as
    // it is read): up to date next time all the same.
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(again.stderr.contains("0 ok"), "{}", again.stderr);
}

#[test]
fn a_file_that_is_not_parquet_fails_its_own_task() {
    let t = Test::new();
    t.write("data/fake.parquet", "t,v\n1,2\n")
        .write("data/good.csv", "t,v\n1,2\n")
        .pipeline(&stats_pipeline(""));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("data/fake.parquet: cannot read as Parquet"),
        "{}",
        run.stderr
    );
    assert!(t.exists("build/stats/good.json"));
}
