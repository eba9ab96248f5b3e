//! A worker's stdout or stderr cut where each call ends: a worker that
//! announced a boundary in its hello writes it on both streams after each
//! call and before its reply, so that what follows (the next call's
//! output, when its request was queued behind this one) never lands in
//! this call's log.

use std::io;

use crate::exec::process::Log;

/// One output stream of a worker, as far as the current call goes.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// Bytes read that may be the beginning of the boundary.
    held: Vec<u8>,
    /// Bytes read after this call's boundary: the next call's (or output
    /// between calls).
    next: Vec<u8>,
    /// This call's boundary came.
    ended: bool,
}

impl Split {
    /// Takes bytes read from the stream: this call's go to `log`; after the
    /// `boundary` (none: the worker writes none), they are kept for the
    /// next call.
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        boundary: Option<&[u8]>,
        log: &mut Log,
    ) -> io::Result<()> {
        let Some(mark) = boundary else {
            return log.write(bytes);
        };
        if self.ended {
            self.next.extend_from_slice(bytes);
            return Ok(());
        }
        self.held.extend_from_slice(bytes);
        if let Some(at) = find(&self.held, mark) {
            log.write(&self.held[..at])?;
            self.next.extend_from_slice(&self.held[at + mark.len()..]);
            self.held.clear();
            self.ended = true;
            return Ok(());
        }
        // All but a tail that may be the boundary's first bytes.
        let cut = self.held.len() - prefix_at_end(&self.held, mark);
        log.write(&self.held[..cut])?;
        self.held.drain(..cut);
        Ok(())
    }

    /// Whether this call's boundary came.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// A call begins on this stream: what came after the last boundary is
    /// its output (its request was queued: the worker started it at once),
    /// read for its own boundary.
    pub(crate) fn begin(&mut self, boundary: Option<&[u8]>, log: &mut Log) -> io::Result<()> {
        self.ended = false;
        let next = std::mem::take(&mut self.next);
        self.feed(&next, boundary, log)
    }

    /// What was held or kept for the next call goes to `log`: output
    /// between calls (no request was queued), or the end of a call whose
    /// boundary never came (its worker died).
    pub(crate) fn flush(&mut self, log: &mut Log) -> io::Result<()> {
        log.write(&self.held)?;
        self.held.clear();
        log.write(&self.next)?;
        self.next.clear();
        Ok(())
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    (0..=hay.len() - needle.len()).find(|&i| hay[i] == first && hay[i..i + needle.len()] == *needle)
}

/// The length of the longest end of `hay` that begins `mark` (shorter
/// than `mark`).
fn prefix_at_end(hay: &[u8], mark: &[u8]) -> usize {
    let longest = hay.len().min(mark.len().saturating_sub(1));
    (1..=longest)
        .rev()
        .find(|&n| hay[hay.len() - n..] == mark[..n])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(log: Log) -> String {
        match log.finish().unwrap() {
            Some(path) => std::fs::read_to_string(path).unwrap(),
            None => String::new(),
        }
    }

    /// A call's output cut at every possible place, the boundary split
    /// across reads too: each call's log holds exactly its own bytes.
    #[test]
    fn each_call_keeps_exactly_its_own_bytes_however_they_are_read() {
        let mark: &[u8] = b"\0runner-boundary-0123456789abcdef\0";
        let mut stream = Vec::new();
        stream.extend_from_slice(b"first \0runner call\n");
        stream.extend_from_slice(mark);
        stream.extend_from_slice(b"second, with \0runner-boundary- in it");
        stream.extend_from_slice(mark);
        stream.extend_from_slice(b"third");
        let dir = tempfile::tempdir().unwrap();
        for chunk in 1..stream.len() {
            let mut split = Split::default();
            let mut logs: Vec<Log> = (0..3)
                .map(|i| Log::new(dir.path().join(format!("{chunk}-{i}"))))
                .collect();
            let mut call = 0;
            for piece in stream.chunks(chunk) {
                split.feed(piece, Some(mark), &mut logs[call]).unwrap();
                while split.ended() && call < 2 {
                    call += 1;
                    split.begin(Some(mark), &mut logs[call]).unwrap();
                }
            }
            split.flush(&mut logs[2]).unwrap();
            let got: Vec<String> = logs.into_iter().map(text).collect();
            assert_eq!(
                got,
                [
                    "first \0runner call\n",
                    "second, with \0runner-boundary- in it",
                    "third"
                ],
                "read {chunk} bytes at a time"
            );
        }
    }

    #[test]
    fn without_a_boundary_everything_goes_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new(dir.path().join("log"));
        let mut split = Split::default();
        split.feed(b"all of it", None, &mut log).unwrap();
        assert!(!split.ended());
        assert_eq!(text(log), "all of it");
    }
}
