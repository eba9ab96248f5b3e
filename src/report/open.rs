//! `runner report --open`: hands the written page to the desktop's opener.

use std::path::Path;

/// Opens a file with the desktop's opener, when there is one; says so when
/// there is none (a server has no browser).
pub(crate) fn open_in_browser(path: &Path) {
    let openers: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open", "gio", "open"]
    };
    for opener in openers {
        let mut command = std::process::Command::new(opener);
        if *opener == "gio" {
            command.arg("open");
        }
        let spawned = command
            .arg(path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            // Not waited for: a terminal browser it may start would hold
            // the command until it quits.
            Ok(_) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!("warning: cannot run `{opener}`: {e}");
                return;
            }
        }
    }
    eprintln!(
        "note: no opener found (xdg-open, gio, open); open {} in a browser",
        path.display()
    );
}
