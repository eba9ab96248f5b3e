//! The corpus of broken pipeline files in `tests/errors/` (issue 5). Each
//! file's first line says where its errors must point (`# expect: 7:8`, or
//! several locations when the file has several problems, all reported in one
//! go). The test runs `runner check` on each file, asserts exit 2 and exactly
//! those locations, and snapshots the whole message (insta; temp paths
//! filtered). Review changed snapshots with `cargo insta review`.

use crate::support::*;

/// The data files some cases read.
fn fixture(t: &Test) {
    t.write("data/a.csv", "t,v\n1,2\n")
        .write("data/b.csv", "t,v\n3,4\n")
        .write("data/2024/c.csv", "t,v\n5,6\n")
        .write("dup/x.csv", "t,v\n")
        .write("dup/x.tsv", "t\tv\n")
        .write("scripts/not-executable.sh", "#!/bin/sh\n");
}

/// The `# expect:` locations of a case.
fn expected(text: &str, file: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or("");
    let Some(list) = first.strip_prefix("# expect:") else {
        panic!("{file}: the first line must be `# expect: LINE:COL ...`");
    };
    list.split_whitespace().map(str::to_owned).collect()
}

/// Every `--> FILE:LINE:COL` the message shows, in order.
fn locations(stderr: &str, file: &str) -> Vec<String> {
    let marker = format!("--> {file}:");
    stderr
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(&marker))
        .map(str::to_owned)
        .collect()
}

#[test]
fn corpus() {
    let mut wrong: Vec<String> = Vec::new();
    let mut count = 0;
    insta::glob!("../errors", "*.toml", |path| {
        count += 1;
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let want = expected(&text, &file);
        let t = Test::new();
        fixture(&t);
        t.write(&file, &text);
        // A fixed PATH, so "program not found" hints read the same anywhere.
        let run = t
            .command(["check", file.as_str()])
            .env("PATH", "/usr/bin:/bin")
            .output_run();
        if run.stderr.contains('\x1b') {
            wrong.push(format!("{file}: colour codes without a terminal"));
        }
        if run.code != 2 || !run.stdout.is_empty() {
            wrong.push(format!(
                "{file}: expected exit 2 and no stdout, got {}\n{}{}",
                run.code, run.stdout, run.stderr
            ));
        }
        let got = locations(&run.stderr, &file);
        if got != want {
            wrong.push(format!(
                "{file}: expected errors at {want:?}, got {got:?}\n{}",
                run.stderr
            ));
        }
        let root = regex_escape(t.root().to_str().unwrap());
        let canonical = std::fs::canonicalize(t.root()).unwrap();
        let canonical = regex_escape(canonical.to_str().unwrap());
        insta::with_settings!({
            filters => vec![(canonical.as_str(), "[ROOT]"), (root.as_str(), "[ROOT]")],
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(run.stderr);
        });
    });
    assert!(
        count >= 30,
        "the corpus has {count} files; issue 5 asks for 30 or more"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// `text` as a regex matching itself.
fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Colour on a terminal only, and never with NO_COLOR (`script` gives the
/// binary a pseudo-terminal).
#[test]
fn colour_only_on_a_terminal() {
    // `script` gives the binary a pseudo-terminal.
    require_tool("script", "apt-get install bsdutils");
    let t = Test::new();
    t.pipeline("[pipeline]\njbos = 4\n");
    let bin = env!("CARGO_BIN_EXE_runner");
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{bin} check pipeline.toml"), "/dev/null"])
            .current_dir(t.root())
            .env("TERM", "xterm");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        cmd.output_run()
    };
    let coloured = on_tty(false);
    assert!(coloured.stdout.contains("\x1b["), "{coloured:?}");
    assert!(
        coloured.stdout.contains("did you mean `jobs`?"),
        "{coloured:?}"
    );
    let plain = on_tty(true);
    assert!(!plain.stdout.contains("\x1b["), "{plain:?}");
    assert!(plain.stdout.contains("pipeline.toml:2:1"), "{plain:?}");
    let piped = t.run(["check", "pipeline.toml"]);
    assert!(!piped.stderr.contains('\x1b'), "{piped:?}");
}
