//! Headless Chromium for the report tests: loads a page from `file://` with
//! networking off (a proxy that refuses everything), and returns its DOM,
//! the console messages, every request the page made (from Chromium's own
//! network log) and the page's load time; or takes a screenshot; or drives
//! the page with real input events over the DevTools protocol (`Driven`).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

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

/// A page open in headless Chromium, driven over the DevTools protocol on a
/// pipe (`--remote-debugging-pipe`: no port): clicks, typing and keys go
/// through the browser's own input handling, and the test reads the page's
/// state back with JavaScript. Console messages, uncaught exceptions and
/// requests other than `file:` and `data:` are collected as they come.
pub struct Driven {
    child: Child,
    to_browser: File,
    from_browser: BufReader<File>,
    /// The page's session (its target, attached flat).
    session: Option<String>,
    next_id: u64,
    /// Events read while waiting for something else.
    events: Vec<Value>,
    /// Console messages and uncaught exceptions of the page.
    pub console: Vec<String>,
    /// URLs the page asked for that are not `file:` or `data:`.
    pub requests: Vec<String>,
    _scratch: tempfile::TempDir,
}

/// A pipe, both ends closed on exec.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are new and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Driven {
    /// Opens `page` from `file://` in a `width` by `height` viewport and
    /// waits for its load event and the end of its script.
    pub fn open(page: &Path, width: u32, height: u32) -> Driven {
        use std::os::fd::AsRawFd;
        let scratch = tempfile::tempdir().unwrap();
        let (commands_read, commands_write) = pipe();
        let (replies_read, replies_write) = pipe();
        let mut cmd = command(&scratch.path().join("profile"));
        cmd.arg("--remote-debugging-pipe")
            .arg(format!("--window-size={width},{height}"))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let (commands, replies) = (commands_read.as_raw_fd(), replies_write.as_raw_fd());
        // SAFETY: only async-signal-safe calls between fork and exec. The
        // ends are first moved above 10 so that placing one on 3 or 4
        // cannot close the other.
        unsafe {
            cmd.pre_exec(move || {
                let high_commands = libc::fcntl(commands, libc::F_DUPFD, 10);
                let high_replies = libc::fcntl(replies, libc::F_DUPFD, 10);
                if high_commands < 0
                    || high_replies < 0
                    || libc::dup2(high_commands, 3) < 0
                    || libc::dup2(high_replies, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(high_commands);
                libc::close(high_replies);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("run chromium");
        drop((commands_read, replies_write));
        let mut driven = Driven {
            child,
            to_browser: File::from(commands_write),
            from_browser: BufReader::new(File::from(replies_read)),
            session: None,
            next_id: 0,
            events: Vec::new(),
            console: Vec::new(),
            requests: Vec::new(),
            _scratch: scratch,
        };
        let target =
            driven.call("Target.createTarget", json!({ "url": "about:blank" }))["targetId"].clone();
        let session = driven.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        driven.session = Some(session);
        driven.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        for domain in ["Page.enable", "Runtime.enable", "Network.enable"] {
            driven.call(domain, json!({}));
        }
        let address = url(page);
        driven.events.clear();
        driven.call("Page.navigate", json!({ "url": address }));
        // The load event of the page itself, not of the blank one before it.
        loop {
            driven.wait_event("Page.loadEventFired");
            if driven.eval("location.href") == json!(address) {
                break;
            }
        }
        driven.until("document.documentElement.hasAttribute('data-ready')");
        driven
    }

    /// Sends one command and returns its result; panics on a protocol error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .expect("chromium reads commands");
        loop {
            let reply = self.read();
            if reply["id"] == json!(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: {error}");
                }
                return reply["result"].clone();
            }
            self.note(reply);
        }
    }

    /// The next message from the browser.
    fn read(&mut self) -> Value {
        let mut bytes = Vec::new();
        let n = self
            .from_browser
            .read_until(0, &mut bytes)
            .expect("chromium's replies");
        assert!(
            n > 0,
            "chromium closed its pipe: {:?}",
            self.child.try_wait()
        );
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        serde_json::from_slice(&bytes).expect("a JSON message")
    }

    /// Keeps an event: console output and requests are collected.
    fn note(&mut self, event: Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled") => self.console.push(format!(
                "{}: {}",
                params["type"].as_str().unwrap_or("?"),
                params["args"]
            )),
            Some("Runtime.exceptionThrown") => self
                .console
                .push(format!("exception: {}", params["exceptionDetails"])),
            Some("Network.requestWillBeSent") => {
                let url = params["request"]["url"].as_str().unwrap_or("").to_owned();
                if !url.starts_with("file:") && !url.starts_with("data:") {
                    self.requests.push(url);
                }
            }
            _ => {}
        }
        self.events.push(event);
    }

    /// Waits for an event (one already read counts).
    fn wait_event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(at);
        }
        loop {
            let event = self.read();
            if event["method"] == method {
                self.note(event.clone());
                return event;
            }
            self.note(event);
        }
    }

    /// The value of a JavaScript expression in the page (a promise is
    /// awaited); panics on an exception.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits, frame by frame, until the expression is true in the page.
    pub fn until(&mut self, condition: &str) {
        self.eval(&format!(
            "new Promise(done => {{ const check = () => ({condition}) ? done(true) : requestAnimationFrame(check); check(); }})"
        ));
    }

    /// Clicks the middle of the first element `selector` matches, scrolled
    /// into view first, with real mouse events.
    pub fn click(&mut self, selector: &str) {
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        self.click_at(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    }

    /// A left click at a point of the viewport.
    pub fn click_at(&mut self, x: f64, y: f64) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseMoved", "x": x, "y": y }),
        );
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// Types text into the focused element.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let c = c.to_string();
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": "keyDown", "text": c, "unmodifiedText": c, "key": c }),
            );
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": "keyUp", "key": c }),
            );
        }
    }

    /// Presses a key without text: "Escape", "ArrowRight", "Backspace"...
    pub fn press(&mut self, key: &str) {
        let code = match key {
            "Backspace" => 8,
            "Escape" => 27,
            "ArrowLeft" => 37,
            "ArrowRight" => 39,
            other => panic!("no key code for {other}"),
        };
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code }),
            );
        }
    }

    /// A screenshot of the viewport as PNG bytes, also written to `png`.
    pub fn screenshot(&mut self, png: &Path) -> Vec<u8> {
        let data = self.call("Page.captureScreenshot", json!({ "format": "png" }))["data"]
            .as_str()
            .expect("screenshot data")
            .to_owned();
        let bytes = base64_decode(&data);
        std::fs::write(png, &bytes).unwrap();
        bytes
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes standard base64 (what the protocol sends binary data as).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for &c in text.as_bytes().iter().filter(|&&c| c != b'=') {
        bits = (bits << 6) | u32::from(value(c));
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}
