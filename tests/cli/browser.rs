//! Headless Chromium for the report tests: loads a page from `file://` with
//! networking off (a proxy that refuses everything), and returns its DOM,
//! the console messages, every request the page made (from Chromium's own
//! network log) and the page's load time; or takes a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What loading a page showed.
#[derive(Debug)]
pub struct Loaded {
    /// The DOM after the load event, serialized.
    pub dom: String,
    /// Console messages (the page writes none).
    pub console: Vec<String>,
    /// URLs the page asked for that are not `file:` or `data:`.
    pub requests: Vec<String>,
    /// Milliseconds from navigation to the end of the page's script.
    pub ready_ms: Option<u64>,
}

/// The Chromium binary; a test without it fails and says how to install it.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the report tests need Chromium: `apt-get install chromium` (Debian; .ci/run installs it)"
    );
}

/// The flags of every run: headless, as root, no sandbox, nothing of its own
/// on the network, and a proxy that refuses every request the page makes.
fn command(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn url(page: &Path) -> String {
    format!("file://{}", page.display())
}

/// Loads `page` and collects what it did.
pub fn load(page: &Path) -> Loaded {
    let scratch = tempfile::tempdir().unwrap();
    let netlog = scratch.path().join("netlog.json");
    let out = command(&scratch.path().join("profile"))
        .arg("--enable-logging=stderr")
        .arg("--v=0")
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(url(page))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let ready_ms = dom
        .split_once("data-ready=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|n| n.parse().ok());
    Loaded {
        dom,
        console,
        requests: page_requests(&netlog),
        ready_ms,
    }
}

/// The URLs requested on behalf of a `file://` page (Chromium's own
/// background requests have another network isolation key), other than
/// `file:` and `data:` ones.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium writes its network log");
    // The log is closed by `]}` only when Chromium ends cleanly.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("a JSON network log");
    let mut urls = Vec::new();
    for event in log["events"].as_array().into_iter().flatten() {
        let params = &event["params"];
        let (Some(url), Some(key)) = (
            params["url"].as_str(),
            params["network_isolation_key"].as_str(),
        ) else {
            continue;
        };
        if key.contains("file://") && !url.starts_with("file:") && !url.starts_with("data:") {
            urls.push(url.to_owned());
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

/// A screenshot of `page`, `width` by `height` CSS pixels, as PNG bytes.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) -> Vec<u8> {
    let scratch = tempfile::tempdir().unwrap();
    let out = command(&scratch.path().join("profile"))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url(page))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    std::fs::read(png).expect("chromium writes the screenshot")
}

/// Width and height from a PNG's header.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}
