//! The failures of a run, grouped by step and by signature: the last line
//! of a task's stderr (or its reason when it printed nothing) with numbers,
//! paths and its own key masked, so that 300 files failing the same way make
//! one group and one file failing differently stands out.

use serde::Serialize;

use crate::state::db::TaskStatus;
use crate::state::recorded::TaskRecord;

/// Keys listed per group; the others are counted.
const KEYS_SHOWN: usize = 30;
/// Lines of the example's stderr shown.
const EXAMPLE_LINES: usize = 12;

/// Tasks of one step that failed the same way.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailureGroup {
    /// The step.
    pub(crate) step: String,
    /// What the failures have in common.
    pub(crate) signature: String,
    /// How many tasks.
    pub(crate) count: usize,
    /// The first keys (sorted).
    pub(crate) keys: Vec<String>,
    /// Keys not listed.
    pub(crate) more: usize,
    /// Every key of the group (sorted), for the command that re-runs it.
    #[serde(skip)]
    pub(crate) every_key: Vec<String>,
    /// The task shown as an example.
    pub(crate) example_key: String,
    /// How the example ended ("exit code 3").
    pub(crate) example_reason: String,
    /// The first lines of the example's stderr tail.
    pub(crate) example_lines: Vec<String>,
    /// The example's full log.
    pub(crate) log_path: Option<String>,
    /// Stopped by an interrupt, not failed on their own.
    pub(crate) interrupted: bool,
}

/// Groups the failed and interrupted tasks; `step_order` gives the order of
/// the steps (the pipeline's). Within a step the biggest group comes first.
pub(crate) fn group(tasks: &[TaskRecord], step_order: &[&str]) -> Vec<FailureGroup> {
    let mut failed: Vec<&TaskRecord> = tasks
        .iter()
        .filter(|t| matches!(t.status, TaskStatus::Failed | TaskStatus::Interrupted))
        .collect();
    failed.sort_by(|a, b| (&a.step, &a.key).cmp(&(&b.step, &b.key)));
    let mut groups: Vec<(FailureGroup, Vec<&str>)> = Vec::new();
    for task in failed {
        let interrupted = task.status == TaskStatus::Interrupted;
        let signature = if interrupted {
            "interrupted".to_owned()
        } else {
            signature(task)
        };
        match groups
            .iter_mut()
            .find(|(g, _)| g.step == task.step && g.signature == signature)
        {
            Some((g, keys)) => {
                g.count += 1;
                keys.push(&task.key);
            }
            None => {
                let tail = task.stderr_tail.as_deref().unwrap_or("");
                groups.push((
                    FailureGroup {
                        step: task.step.clone(),
                        signature,
                        count: 1,
                        keys: Vec::new(),
                        more: 0,
                        every_key: Vec::new(),
                        example_key: task.key.clone(),
                        example_reason: task
                            .reason
                            .clone()
                            .unwrap_or_else(|| task.status.as_str().to_owned()),
                        example_lines: tail
                            .lines()
                            .take(EXAMPLE_LINES)
                            .map(str::to_owned)
                            .collect(),
                        log_path: task.log_path.clone(),
                        interrupted,
                    },
                    vec![&task.key],
                ));
            }
        }
    }
    let position = |step: &str| step_order.iter().position(|s| *s == step);
    groups.sort_by(|(a, _), (b, _)| {
        (position(&a.step), a.interrupted, std::cmp::Reverse(a.count)).cmp(&(
            position(&b.step),
            b.interrupted,
            std::cmp::Reverse(b.count),
        ))
    });
    groups
        .into_iter()
        .map(|(mut g, keys)| {
            g.more = keys.len().saturating_sub(KEYS_SHOWN);
            g.every_key = keys.into_iter().map(str::to_owned).collect();
            g.keys = g.every_key.iter().take(KEYS_SHOWN).cloned().collect();
            g
        })
        .collect()
}

/// What a failure says, without what differs from file to file: the last
/// non-empty line of its stderr, else its reason, masked.
fn signature(task: &TaskRecord) -> String {
    let line = task
        .stderr_tail
        .as_deref()
        .and_then(|tail| tail.lines().rev().find(|l| !l.trim().is_empty()))
        .or(task.reason.as_deref())
        .unwrap_or("failed");
    mask(line.trim(), &task.key)
}

/// Characters that surround a word without being part of it.
fn is_wrapper(c: char) -> bool {
    matches!(
        c,
        '\'' | '"' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ';' | ':' | '.'
    )
}

/// Masks paths and file names as `<path>`, numbers as `N`, and the task's
/// own key as `<key>`, word by word (whitespace kept).
pub(crate) fn mask(line: &str, key: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        let space = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..space]);
        rest = &rest[space..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push_str(&mask_word(&rest[..end], key));
        rest = &rest[end..];
    }
    out
}

fn mask_word(word: &str, key: &str) -> String {
    let core = word.trim_matches(is_wrapper);
    if core.is_empty() {
        return word.to_owned();
    }
    let start = word.find(core).unwrap_or(0);
    let (before, after) = (&word[..start], &word[start + core.len()..]);
    // `data/x.csv:3` is a path and a line number.
    let parts: Vec<String> = core.split(':').map(|part| mask_part(part, key)).collect();
    let masked = parts.join(":");
    format!("{before}{masked}{after}")
}

fn mask_part(part: &str, key: &str) -> String {
    if part.contains('/') || is_file_name(part) {
        "<path>".to_owned()
    } else if !key.is_empty() && part == key {
        "<key>".to_owned()
    } else if is_hex_id(part) {
        "N".to_owned()
    } else {
        mask_numbers(part)
    }
}

/// `name.ext`: letters, digits, `_-.` and an extension of 1 to 5 letters
/// (`x.csv`, `run_3.log`), not a number (`3.14`).
fn is_file_name(word: &str) -> bool {
    let Some((name, ext)) = word.rsplit_once('.') else {
        return false;
    };
    !name.is_empty()
        && (1..=5).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A long hexadecimal word with a digit in it (a hash, an address).
fn is_hex_id(word: &str) -> bool {
    let hex = word.strip_prefix("0x").unwrap_or(word);
    hex.len() >= 8
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && hex.chars().any(|c| c.is_ascii_digit())
}

/// Every run of digits (with the `.` or `,` inside a number) becomes `N`.
fn mask_numbers(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '.' | ',')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            out.push('N');
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! masks {
        ($($name:ident: $line:expr, $key:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(mask($line, $key), $want);
            }
        )*};
    }

    masks! {
        numbers: "row 12: value 3.14 out of range", "" => "row N: value N out of range";
        paths: "cannot open data/2024/x.csv: No such file", "" => "cannot open <path>: No such file";
        path_and_line: "data/2024/x.csv:12: bad", "" => "<path>:N: bad";
        file_names: "x.csv:3: bad header", "" => "<path>:N: bad header";
        quoted_path: "FileNotFoundError: '/tmp/a b'", "" => "FileNotFoundError: '<path> b'";
        own_key: "sample s17 is empty", "s17" => "sample <key> is empty";
        hashes: "object 9f86d081884c7d65 missing", "" => "object N missing";
        words_stay: "ValueError: could not convert string to float: 'abc'", "" =>
            "ValueError: could not convert string to float: 'abc'";
        spaces_kept: "a  1\tb", "" => "a  N\tb";
        version_is_a_number: "needs python 3.11", "" => "needs python N";
    }

    fn task(step: &str, key: &str, status: &str, tail: &str) -> TaskRecord {
        let status = TaskStatus::parse(status).unwrap();
        TaskRecord {
            step: step.into(),
            key: key.into(),
            status,
            reason: Some("exit code 1".into()),
            started_at: None,
            duration_ms: Some(5),
            stderr_tail: (!tail.is_empty()).then(|| tail.into()),
            log_path: Some(format!("logs/1/{step}/{key}.err")),
            slot: Some(0),
            peak_memory: None,
        }
    }

    #[test]
    fn groups_by_step_then_signature_biggest_first() {
        let tasks = vec![
            task("plot", "a", "failed", "Traceback\nKeyError: 'temp'"),
            task("clean", "b", "failed", "x.csv:3: bad value 7"),
            task("clean", "c", "failed", "y.csv:9: bad value 12\n"),
            task("clean", "d", "failed", ""),
            task("clean", "e", "ok", ""),
            task("clean", "f", "interrupted", "partial"),
        ];
        let groups = group(&tasks, &["clean", "plot"]);
        let summary: Vec<(&str, &str, usize)> = groups
            .iter()
            .map(|g| (g.step.as_str(), g.signature.as_str(), g.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("clean", "<path>:N: bad value N", 2),
                ("clean", "exit code N", 1),
                ("clean", "interrupted", 1),
                ("plot", "KeyError: 'temp'", 1),
            ]
        );
        assert_eq!(groups[0].keys, ["b", "c"]);
        assert_eq!(groups[0].example_key, "b");
        assert_eq!(groups[0].example_lines, ["x.csv:3: bad value 7"]);
        assert_eq!(groups[0].log_path.as_deref(), Some("logs/1/clean/b.err"));
        assert!(groups[2].interrupted);
    }

    #[test]
    fn long_key_lists_are_cut() {
        let tasks: Vec<TaskRecord> = (0..40)
            .map(|i| task("s", &format!("k{i:02}"), "failed", "boom"))
            .collect();
        let groups = group(&tasks, &["s"]);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].count, 40);
        assert_eq!(groups[0].keys.len(), KEYS_SHOWN);
        assert_eq!(groups[0].more, 10);
    }
}
