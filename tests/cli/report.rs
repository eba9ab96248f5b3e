//! The HTML report (issue 14), checked in a real browser: headless Chromium
//! loads it from `file://` with networking off; the DOM shows the counts,
//! the failure groups and one gallery item per plot; the page makes no
//! request and logs nothing to the console.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::browser::{self, Driven, Loaded};
use crate::support::*;

/// Six files: two good, three with a bad row (one failure group, at
/// different lines), one without rows (another group). Good files are
/// plotted as SVG and PNG.
const CHECKED: &str = r#"
[pipeline]
out = "build"
jobs = 2
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "check"
each = "data"
run = ["sh", "scripts/check.sh", "{{ input }}", "{{ out }}"]
out = "checked/{{ key }}.csv"
[[plots]]
name = "plot"
each = "check"
x = "t"
y = ["v"]
out = "plots/{{ key }}.svg"
[[plots]]
name = "raster"
each = "check"
x = "t"
y = ["v"]
width = 320
height = 180
out = "png/{{ key }}.png"
[report]
out = "report.html"
"#;

const CHECK_SH: &str = r#"n=$(grep -n bad "$1" | head -1 | cut -d: -f1)
if [ -n "$n" ]; then
  echo "checking $1" >&2
  echo "$1:$n: bad value in column v" >&2
  exit 3
fi
if [ "$(wc -l < "$1")" -le 1 ]; then echo "$1: no rows" >&2; exit 4; fi
cp "$1" "$2"
"#;

fn checked() -> Test {
    let t = Test::new();
    t.write("scripts/check.sh", CHECK_SH)
        .write("data/a.csv", "t,v\n0,1\n1,3\n2,2\n")
        .write("data/b.csv", "t,v\n0,5\n1,4\n2,6\n")
        .write("data/c.csv", "t,v\n0,1\nbad,2\n")
        .write("data/d.csv", "t,v\n0,1\n1,2\n2,3\n3,bad\n")
        .write("data/e.csv", "t,v\nbad,1\n")
        .write("data/f.csv", "t,v\n")
        .pipeline(CHECKED);
    t
}

/// Fails unless the page asked for nothing but local files and logged
/// nothing.
#[track_caller]
fn assert_offline_and_quiet(page: &Loaded) {
    assert!(
        page.requests.is_empty(),
        "network requests: {:?}",
        page.requests
    );
    assert!(page.console.is_empty(), "console: {:?}", page.console);
    for scheme in ["http://", "https://"] {
        assert!(
            !page.dom.contains(scheme),
            "an absolute URL in the page: {}",
            &page.dom[page.dom.find(scheme).unwrap().saturating_sub(80)..][..160]
        );
    }
}

/// The text of the element with this id (its first text up to a tag).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id}"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find('<').unwrap();
    &dom[start..end]
}

#[test]
fn a_run_with_failures_in_two_groups() {
    let t = checked();
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    // `[report]` writes the page at the end of the run, failures or not.
    let html = t.path("build/report.html");
    assert!(
        run.stderr
            .contains(&format!("report: {}\n", html.display())),
        "{}",
        run.stderr
    );
    let at_the_end = std::fs::read_to_string(&html).unwrap();
    // `runner report` rebuilds the same page from the state.
    let report = t.run(["report", "pipeline.toml"]);
    report.expect_code(0);
    assert!(
        report
            .stdout
            .contains("wrote the report of run 1 (4 plots) to "),
        "{}",
        report.stdout
    );
    assert_eq!(std::fs::read_to_string(&html).unwrap(), at_the_end);
    let page = browser::load(&html);
    assert_offline_and_quiet(&page);
    let dom = &page.dom;

    assert_eq!(text_of(dom, "status"), "failed");
    assert_eq!(text_of(dom, "count-ok"), "6", "2 checks and 4 plots");
    assert_eq!(text_of(dom, "count-failed"), "4");
    assert_eq!(
        text_of(dom, "count-skipped"),
        "8",
        "the plots of failed files"
    );

    // Two groups of the step `check`, the bigger first, with what they say
    // (numbers and paths masked), an example and the command to rerun.
    assert_eq!(dom.matches("<article class=\"group").count(), 2, "{dom}");
    let first = &dom[dom.find("<article").unwrap()..];
    assert!(first.contains("data-count=\"3\""), "{first}");
    assert!(
        first.contains("&lt;path&gt;:N: bad value in column v"),
        "{first}"
    );
    assert!(first.contains("<code>c</code> <code>d</code> <code>e</code>"));
    assert!(
        first.contains("data/c.csv:3: bad value in column v"),
        "the example's lines"
    );
    assert!(first.contains("logs/1/check/c.err"), "its log");
    // Its command runs this group's tasks only.
    assert!(first.contains("Run these 3 tasks again"), "{first}");
    let second = &first[first[1..].find("<article").unwrap() + 1..];
    assert!(second.contains("data-count=\"1\""), "{second}");
    assert!(second.contains("&lt;path&gt;: no rows"), "{second}");

    // One gallery item per picture of the good files; paths relative to the
    // report.
    assert_eq!(dom.matches("<figure ").count(), 4, "{dom}");
    assert_eq!(dom.matches("<img loading=\"lazy\"").count(), 4);
    for src in ["plots/a.svg", "plots/b.svg", "png/a.png", "png/b.png"] {
        assert!(
            dom.contains(&format!("data-src=\"{src}\"")),
            "{src} in {dom}"
        );
    }
    // The timeline: a bar per task that ran (thin ones that touch may be
    // drawn as one), every failure on its own and marked.
    let bars = dom.matches("<rect x=").count();
    assert!(
        (5..=10).contains(&bars),
        "{bars} bars for 6 checks and 4 plots"
    );
    assert_eq!(dom.matches("class=\"fail\"><title>").count(), 4);
    // Hover text: the task, its time, how it ended.
    let c_bar = &dom[dom.find("<title>check c\n").expect("the bar of c")..];
    let c_bar = &c_bar[..c_bar.find("</title>").unwrap()];
    assert!(c_bar.contains("s · failed: exit code 3"), "{c_bar}");

    let png = browser::screenshot(&html, &t.path("shot.png"), 1280, 2000);
    assert_eq!(browser::png_size(&png), (1280, 2000));
    assert!(
        png.len() > 40_000,
        "a page, not a blank: {} bytes",
        png.len()
    );

    // The command of each group runs exactly its failed tasks again.
    let commands = [text_of(dom, "rerun-0"), text_of(dom, "rerun-1")].map(|cmd| {
        let words = shlex::split(cmd).expect("a shell command");
        assert_eq!(words[0], "runner");
        words[1..].to_vec()
    });
    assert_eq!(
        &commands[0][1..],
        [
            "--only", "check:c", "--only", "check:d", "--only", "check:e"
        ]
    );
    assert_eq!(&commands[1][1..], ["--only", "check:f"]);
    for k in ["c", "d", "e", "f"] {
        t.write(format!("data/{k}.csv"), "t,v\n0,1\n");
    }
    for (command, ran) in commands.iter().zip([3, 1]) {
        t.run(command).expect_code(0);
        let json = t.run(["history", "pipeline.toml", "--json"]);
        let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(runs[0]["ok"], ran, "{}", json.stdout);
        assert_eq!(runs[0]["failed"], 0, "{}", json.stdout);
    }
}

/// The alt texts of the gallery's figures that the filter shows.
fn shown_plots(page: &mut Driven) -> serde_json::Value {
    page.eval(
        "Array.from(document.querySelectorAll('#plots figure:not([hidden]) img')).map(i => i.alt)",
    )
}

#[test]
fn the_gallery_filters_as_you_type_and_a_click_shows_a_plot_large() {
    let t = checked();
    t.run(["pipeline.toml", "-q"]).expect_code(1);
    let mut page = Driven::open(&t.path("build/report.html"), 1280, 900);
    assert_eq!(
        shown_plots(&mut page),
        serde_json::json!(["plot a", "plot b", "raster a", "raster b"])
    );

    // Typing in the filter box: every word must match the step or the key.
    page.click("#filter");
    page.type_text("raster");
    page.until("document.getElementById('shown').textContent === '2 of 4'");
    assert_eq!(
        shown_plots(&mut page),
        serde_json::json!(["raster a", "raster b"])
    );
    assert_eq!(
        page.eval("document.querySelector('h3[data-section=plot]').hidden"),
        true,
        "a step with nothing shown hides its heading"
    );
    page.type_text(" b");
    page.until("document.getElementById('shown').textContent === '1 of 4'");
    assert_eq!(shown_plots(&mut page), serde_json::json!(["raster b"]));
    for _ in 0.."raster b".len() {
        page.press("Backspace");
    }
    page.until("document.getElementById('shown').textContent === '4 of 4'");

    // A click on a picture shows it large; the arrows go through the
    // gallery; Escape closes; so does a click beside the picture.
    page.until("document.querySelector('img[alt=\"plot b\"]').naturalWidth > 0");
    page.click("img[alt=\"plot b\"]");
    page.until("document.getElementById('viewer').open");
    assert_eq!(
        page.eval("document.getElementById('viewer-caption').textContent"),
        "plot b"
    );
    page.until("document.getElementById('viewer-img').naturalWidth > 0");
    assert_eq!(
        page.eval("document.getElementById('viewer-img').getAttribute('src')"),
        "plots/b.svg"
    );
    let large = page.eval("document.getElementById('viewer-img').getBoundingClientRect().width");
    assert!(large.as_f64().unwrap() > 600.0, "shown large: {large}");
    page.press("ArrowRight");
    page.until("document.getElementById('viewer-caption').textContent === 'raster a'");
    page.until("document.getElementById('viewer-img').naturalWidth > 0");
    let png = page.screenshot(&t.path("viewer.png"));
    assert_eq!(browser::png_size(&png), (1280, 900));
    page.press("ArrowLeft");
    page.until("document.getElementById('viewer-caption').textContent === 'plot b'");
    page.press("Escape");
    page.until("!document.getElementById('viewer').open");
    page.click("img[alt=\"raster b\"]");
    page.until("document.getElementById('viewer').open");
    page.click_at(4.0, 450.0);
    page.until("!document.getElementById('viewer').open");

    assert!(page.console.is_empty(), "console: {:?}", page.console);
    assert!(page.requests.is_empty(), "requests: {:?}", page.requests);
    drop(page);

    // Copied elsewhere together with the output folder (and the original
    // gone), the page still shows every picture.
    let elsewhere = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(t.path("build"))
        .arg(elsewhere.path())
        .status()
        .unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(t.path("build")).unwrap();
    let mut moved = Driven::open(&elsewhere.path().join("build/report.html"), 1280, 900);
    let images = "Array.from(document.querySelectorAll('#plots img'))";
    moved.until(&format!(
        "{images}.every(i => i.hasAttribute('src') && i.complete)"
    ));
    assert_eq!(
        moved.eval(&format!("{images}.filter(i => i.naturalWidth > 0).length")),
        4
    );
}

#[test]
fn the_report_of_an_earlier_run_and_errors() {
    let t = checked();
    t.run(["pipeline.toml"]).expect_code(1);
    for k in ["c", "d", "e", "f"] {
        t.write(format!("data/{k}.csv"), "t,v\n0,1\n");
    }
    t.run(["pipeline.toml"]).expect_code(0);
    let out = t.path("elsewhere/run1.html");
    t.command(["report", "pipeline.toml", "--run", "1", "-o"])
        .arg(&out)
        .output_run()
        .expect_code(0);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("id=\"run-id\">1<"), "run 1");
    assert!(html.contains("data-status=\"failed\""));
    // The peak memory of each command: per step (its largest), per task on
    // the timeline.
    assert!(html.contains("<th class=\"r\">peak memory</th>"), "{html}");
    let check_row = &html[html.find("<tr data-step=\"check\">").unwrap()..];
    let check_row = &check_row[..check_row.find("</tr>").unwrap()];
    assert!(
        check_row.contains(" KB</td>") || check_row.contains(" MB</td>"),
        "{check_row}"
    );
    assert!(html.contains(" peak memory</title>"), "{html}");
    // Run 1 drew the good files only; the pictures are referenced relative
    // to the page's own folder, and each resolves.
    let srcs: Vec<String> = html
        .split(" data-src=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&#x2f;", "/"))
        .collect();
    assert_eq!(srcs.len(), 4, "{srcs:?}");
    for src in &srcs {
        assert!(src.starts_with("../build/"), "{src}");
        assert!(out.parent().unwrap().join(src).is_file(), "{src}");
    }
    // Run 2 drew the other four files; the pictures of the first two are
    // up to date, from run 1, and say so.
    t.run(["report", "pipeline.toml"]).expect_code(0);
    let html = t.read("build/report.html");
    assert_eq!(html.matches("<figure ").count(), 12);
    assert_eq!(html.matches("· run 1</span>").count(), 4, "{html}");

    let unknown = t.run(["report", "pipeline.toml", "--run", "7"]);
    unknown.expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("no run 7 is recorded for `pipeline`"),
        "{}",
        unknown.stderr
    );
    let fresh = Test::new();
    fresh.write("data/a.csv", "t,v\n").pipeline(CHECKED);
    let none = fresh.run(["report", "pipeline.toml"]);
    none.expect_code(2);
    assert!(
        none.stderr.contains("no run of `pipeline` is recorded yet"),
        "{}",
        none.stderr
    );
}

#[test]
fn open_uses_the_desktop_opener() {
    let t = checked();
    t.run(["pipeline.toml"]).expect_code(1);
    t.write(
        "bin/xdg-open",
        "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/../opened\"\n",
    );
    std::fs::set_permissions(
        t.path("bin/xdg-open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", t.path("bin").display());
    t.command(["report", "pipeline.toml", "--open"])
        .env("PATH", &path)
        .output_run()
        .expect_code(0);
    // The opener is started detached: wait for what it writes (the limit
    // only ends a hang; 10 s was too short for a machine under load).
    // The shell creates the file before `echo` writes: wait for the line.
    let written = || std::fs::read_to_string(t.path("opened")).is_ok_and(|s| s.ends_with('\n'));
    let start = Instant::now();
    while !written() && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        t.read("opened").trim(),
        t.path("build/report.html").to_str().unwrap()
    );
    // No opener at all (a PATH with only `sh`, which the pipeline runs): a
    // note, and the report is still written.
    std::fs::create_dir_all(t.path("only-sh")).unwrap();
    std::os::unix::fs::symlink("/bin/sh", t.path("only-sh/sh")).unwrap();
    let none = t
        .command(["report", "pipeline.toml", "--open"])
        .env("PATH", t.path("only-sh"))
        .output_run();
    none.expect_code(0);
    assert!(none.stderr.contains("no opener found"), "{}", none.stderr);
}

#[test]
fn an_interrupted_run_is_reported_as_interrupted() {
    let t = Test::new();
    for k in ["a", "b", "c", "d", "e"] {
        t.write(format!("data/{k}.csv"), "t,v\n0,1\n");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "work"
each = "data"
shell = "if [ {{ key }} = a ]; then cp {{ input }} {{ out }}; else touch started-{{ key }}; sleep 300; fi"
out = "work/{{ key }}.csv"
[report]
"#,
    );
    let child = t
        .command(["pipeline.toml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !(t.exists("build/work/a.csv") && t.exists("started-b") && t.exists("started-c")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the tasks did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain signal to the child, which is not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report: "), "written at the end: {stderr}");

    let page = browser::load(&t.path("build/report.html"));
    assert_offline_and_quiet(&page);
    let dom = &page.dom;
    assert!(dom.contains("data-status=\"interrupted\""), "{dom}");
    assert_eq!(text_of(dom, "status"), "interrupted (SIGINT)");
    assert!(dom.contains("id=\"interrupted\""), "the banner");
    assert_eq!(text_of(dom, "count-ok"), "1");
    assert_eq!(text_of(dom, "count-failed"), "2", "b and c were running");
    assert_eq!(text_of(dom, "count-skipped"), "2", "d and e never started");
    assert!(dom.contains("<article class=\"group stopped\""), "{dom}");
    assert!(
        dom.contains("<title>work a\n"),
        "the task that finished is on the timeline"
    );
}

#[test]
fn two_thousand_plots_make_a_light_page() {
    const PLOTS: usize = 2000;
    let t = Test::new();
    for i in 0..PLOTS {
        t.write(format!("data/f{i:04}.csv"), "t,v\n0,1\n1,2\n");
    }
    // A plot template that draws a tiny picture, so that the test measures
    // the report, not the plots.
    t.write(
        "tiny.svg.j2",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"160\" height=\"90\"><rect width=\"160\" height=\"90\" fill=\"#dde\"/><text x=\"8\" y=\"50\">{{ title.text }}</text></svg>\n",
    )
    .pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "tiny"
each = "data"
template = "tiny.svg.j2"
title = "{{ key }}"
width = 160
height = 90
out = "plots/{{ key }}.svg"
"#,
    );
    t.run(["pipeline.toml", "-q"]).expect_code(0);
    let started = Instant::now();
    t.run(["report", "pipeline.toml"]).expect_code(0);
    let written_in = started.elapsed();
    let html = t.path("build/report.html");
    let bytes = std::fs::metadata(&html).unwrap().len();
    let started = Instant::now();
    let page = browser::load(&html);
    let browser_time = started.elapsed();
    eprintln!(
        "report of {PLOTS} plots: {} KB of HTML, written in {:.0} ms; Chromium: page script done at {:?} ms, whole browser run {:.0} ms",
        bytes / 1024,
        written_in.as_secs_f64() * 1000.0,
        page.ready_ms,
        browser_time.as_secs_f64() * 1000.0
    );
    assert!(bytes < 3_000_000, "{bytes} bytes of HTML");
    assert_offline_and_quiet(&page);
    assert_eq!(page.dom.matches("<figure ").count(), PLOTS);
    assert_eq!(page.dom.matches("<img loading=\"lazy\"").count(), PLOTS);
    assert_eq!(text_of(&page.dom, "shown"), "2,000 of 2,000");
    assert!(page.ready_ms.is_some(), "the page's script ran to its end");
    let png = browser::screenshot(&html, &t.path("shot.png"), 1280, 1400);
    assert_eq!(browser::png_size(&png), (1280, 1400));

    // Pictures have a `src` only near the screen, so that 2,000 stay light:
    // the top's at first, the bottom's after scrolling there; the filter
    // finds one among them all.
    let mut driven = Driven::open(&html, 1280, 900);
    let loaded = "document.querySelectorAll('#plots img[src]').length";
    let first = "document.querySelector('#plots img')";
    let last = "Array.from(document.querySelectorAll('#plots img')).pop()";
    let at_top = driven.eval(loaded).as_u64().unwrap();
    assert!(
        (24..500).contains(&at_top),
        "{at_top} pictures with a src at the top"
    );
    driven.eval("window.scrollTo(0, document.body.scrollHeight)");
    driven.until(&format!(
        "{last}.hasAttribute('src') && !{first}.hasAttribute('src')"
    ));
    let at_bottom = driven.eval(loaded).as_u64().unwrap();
    assert!(
        at_bottom < 500,
        "{at_bottom} pictures with a src at the bottom"
    );
    driven.click("#filter");
    driven.type_text("f1234");
    driven.until("document.getElementById('shown').textContent === '1 of 2,000'");
    driven.until("document.querySelector('img[alt=\"tiny f1234\"]').naturalWidth > 0");
    assert!(driven.console.is_empty(), "console: {:?}", driven.console);
    assert!(
        driven.requests.is_empty(),
        "requests: {:?}",
        driven.requests
    );
    // Nothing of the run's own: the no-op run after it keeps the page.
    assert!(Path::new(&html).exists());
}

#[test]
fn the_header_has_the_git_commit_and_whether_the_tree_was_dirty() {
    let t = checked();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(t.root())
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // Not in a repository: said so.
    t.run(["pipeline.toml", "-q"]).expect_code(1);
    assert!(
        t.read("build/report.html")
            .contains("not in a git repository")
    );

    git(&["init", "-q"]);
    git(&["add", "pipeline.toml", "scripts", "data"]);
    git(&["commit", "-q", "-m", "first"]);
    let commit = git(&["rev-parse", "HEAD"]);
    t.run(["pipeline.toml", "-q"]).expect_code(1);
    let html = t.read("build/report.html");
    assert!(
        html.contains(&format!(
            "<code title=\"{commit}\">{}</code>",
            &commit[..10]
        )),
        "{html}"
    );
    assert!(html.contains("<span class=\"muted\">clean</span>"));

    t.write("scripts/check.sh", format!("{CHECK_SH}\n# edited\n"));
    t.run(["pipeline.toml", "-q"]).expect_code(1);
    let html = t.read("build/report.html");
    assert!(html.contains("with uncommitted changes"), "{html}");
    let json = t.run(["history", "pipeline.toml", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(runs[0]["git_commit"], commit.as_str());
    assert_eq!(runs[0]["git_dirty"], true);
    assert_eq!(runs[1]["git_dirty"], false);
    assert_eq!(runs[2]["git_commit"], serde_json::Value::Null);
}

#[test]
fn the_header_shows_the_runs_flags_and_the_history_its_last_20_runs() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n0,1\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"
[report]
"#,
    );
    for _ in 0..20 {
        t.run(["pipeline.toml", "-q"]).expect_code(0);
    }
    t.run(["pipeline.toml", "--force", "--only", "copy", "-j", "1"])
        .expect_code(0);
    let html = t.read("build/report.html");
    assert!(
        html.contains(
            "id=\"flags\"><code>--jobs=1</code> <code>--force</code> <code>--only=copy</code> </dd>"
        ),
        "{html}"
    );
    assert!(html.contains("<dt>jobs</dt><dd>1</dd>"), "{html}");
    // One bar per run, the oldest first, run 1 no longer among them.
    let labels: Vec<&str> = html
        .split("class=\"runid\"")
        .skip(1)
        .map(|s| &s[s.find('>').unwrap() + 1..s.find('<').unwrap()])
        .collect();
    let expected: Vec<String> = (2..=21).map(|i| i.to_string()).collect();
    assert_eq!(labels, expected);
    assert_eq!(html.matches("<rect class=\"ok current\"").count(), 1);
    assert!(html.contains("<title>run 21: "), "{html}");
    assert!(html.contains(", 1 ok, 0 failed, 0 up to date, exit 0</title>"));
    assert!(html.contains(", 0 ok, 0 failed, 1 up to date, exit 0</title>"));
    // The report of an earlier run shows the runs up to it, and its flags.
    t.run(["report", "pipeline.toml", "--run", "3"])
        .expect_code(0);
    let html = t.read("build/report.html");
    assert_eq!(html.matches("class=\"runid\"").count(), 3);
    assert!(
        html.contains("id=\"flags\"><code>--quiet</code> </dd>"),
        "{html}"
    );
}

#[test]
fn quiet_runs_and_runs_without_state() {
    let t = checked();
    let quiet = t.run(["pipeline.toml", "-q"]);
    quiet.expect_code(1);
    assert!(!quiet.stderr.contains("report:"), "{}", quiet.stderr);
    assert!(t.exists("build/report.html"), "written all the same");
    std::fs::remove_file(t.path("build/report.html")).unwrap();
    t.run(["pipeline.toml", "--no-state"]).expect_code(1);
    assert!(!t.exists("build/report.html"), "nothing recorded, no page");
}

#[test]
fn a_killed_run_is_reported_as_not_ended() {
    let t = Test::new();
    for k in ["a", "b", "c"] {
        t.write(format!("data/{k}.csv"), "t,v\n0,1\n");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "work"
each = "data"
shell = "if [ {{ key }} = a ]; then cp {{ input }} {{ out }}; else echo $$ > started-{{ key }}; exec sleep 300; fi"
out = "work/{{ key }}.csv"
"#,
    );
    let mut child = t
        .command(["pipeline.toml"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !t.exists("started-b") || t.read("started-b").trim().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "task b did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give the state writer its 5 ms to commit task a, then kill -9.
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    // The task's own process group (its shell's pid) outlives runner; end it.
    let group: i32 = t.read("started-b").trim().parse().unwrap();
    // SAFETY: a plain signal to the task's process group.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    t.run(["report", "pipeline.toml"]).expect_code(0);
    let html = t.read("build/report.html");
    assert!(html.contains("data-status=\"unfinished\""), "{html}");
    assert!(html.contains("id=\"unfinished\""), "the banner");
    assert!(
        html.contains("<title>work a\n"),
        "task a is on the timeline"
    );
    assert!(
        html.contains("id=\"count-ok\">1<"),
        "counted from its tasks"
    );
}
