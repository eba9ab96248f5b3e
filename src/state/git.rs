//! What git says about the pipeline file when a run starts: the commit
//! checked out and whether tracked files have changes not committed. Read
//! with the `git` command; never required (no git, no repository: nothing).

use std::path::Path;
use std::process::{Command, Stdio};

use super::db::GitState;

/// The git state of the working tree holding `pipeline_file`, or `None`
/// when git is not installed, the file is not in a repository, or the
/// repository has no commit yet.
pub(crate) fn state_of(pipeline_file: &Path) -> Option<GitState> {
    let dir = match pipeline_file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // One process: `--porcelain=v2 --branch` prints the commit as a
    // `# branch.oid` header, then one line per changed tracked file.
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "status",
            "--porcelain=v2",
            "--branch",
            "--untracked-files=no",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    parse_status(&String::from_utf8_lossy(&output.stdout))
}

/// Reads `git status --porcelain=v2 --branch` output.
fn parse_status(text: &str) -> Option<GitState> {
    let mut commit = None;
    let mut dirty = false;
    for line in text.lines() {
        if let Some(oid) = line.strip_prefix("# branch.oid ") {
            commit = Some(oid.trim().to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            dirty = true;
        }
    }
    let commit = commit.filter(|c| c.chars().all(|ch| ch.is_ascii_hexdigit()) && !c.is_empty())?;
    Some(GitState { commit, dirty })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_dirty_and_no_commit() {
        let clean = "# branch.oid 0123abcd\n# branch.head main\n";
        assert_eq!(
            parse_status(clean),
            Some(GitState {
                commit: "0123abcd".into(),
                dirty: false
            })
        );
        let dirty = "# branch.oid 0123abcd\n# branch.head main\n1 .M N... 100644 100644 100644 a b pipeline.toml\n";
        assert_eq!(parse_status(dirty).map(|g| g.dirty), Some(true));
        assert_eq!(
            parse_status("# branch.oid (initial)\n# branch.head main\n"),
            None
        );
    }
}
