//! What a table was read from: the file's metadata when it was opened and
//! the BLAKE3 hash of every byte read from it, taken as the reader reads, so
//! that a run reads each file once (not once to hash it and once to parse
//! it) and records the hash of exactly the bytes its result came from.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::time::SystemTime;

/// A file read to its end: its content hash, and its metadata from before
/// the first byte was read (a write during the read changes the metadata
/// the next run sees, so the hash is never trusted for what came after).
#[derive(Debug, Clone)]
pub(crate) struct ReadFrom {
    /// BLAKE3 of every byte of the file, as read.
    pub(crate) hash: [u8; 32],
    /// The file's metadata when it was opened.
    pub(crate) meta: Metadata,
    /// When it was opened (right after `meta` was taken): a write after
    /// this, within the timestamps' granularity, leaves `meta` as it is.
    pub(crate) opened_at: SystemTime,
    /// Its metadata after a second pass read its first rows again (a
    /// column that turned text late), which the hash does not cover: the
    /// table is of the hashed bytes only if the file was not written since
    /// it was opened.
    pub(crate) after_second_pass: Option<Metadata>,
}

/// The hash of a file being read, while it is read.
#[derive(Default)]
pub(crate) struct ContentHasher {
    hasher: blake3::Hasher,
    /// The file's metadata when it was opened (`None`: not opened, or not a
    /// regular file), and when.
    meta: Option<(Metadata, SystemTime)>,
    /// Whether a read found the end of the file.
    ended: bool,
}

impl ContentHasher {
    /// What the file was, when it was read to its end; `None` when it was
    /// not (the reader stopped early, or failed).
    pub(crate) fn finish(self) -> Option<ReadFrom> {
        let (meta, opened_at) = self.meta.filter(|_| self.ended)?;
        Some(ReadFrom {
            hash: *self.hasher.finalize().as_bytes(),
            meta,
            opened_at,
            after_second_pass: None,
        })
    }
}

/// A file whose bytes go through a `ContentHasher` as they are read (when
/// one is given).
pub(super) struct Hashed<'a> {
    file: File,
    hasher: Option<&'a mut ContentHasher>,
}

impl<'a> Hashed<'a> {
    /// `file`, just opened (nothing read yet), hashed into `hasher`.
    pub(super) fn new(file: File, mut hasher: Option<&'a mut ContentHasher>) -> Hashed<'a> {
        if let Some(hasher) = hasher.as_deref_mut() {
            *hasher = ContentHasher {
                meta: file
                    .metadata()
                    .ok()
                    .filter(Metadata::is_file)
                    .map(|meta| (meta, SystemTime::now())),
                ..ContentHasher::default()
            };
        }
        Hashed { file, hasher }
    }
}

impl Read for Hashed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Some(hasher) = self.hasher.as_deref_mut() {
            if n > 0 {
                hasher.hasher.update(&buf[..n]);
            } else if !buf.is_empty() {
                hasher.ended = true;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_through(path: &std::path::Path, chunk: usize, to_end: bool) -> Option<ReadFrom> {
        let mut hasher = ContentHasher::default();
        let mut source = Hashed::new(File::open(path).unwrap(), Some(&mut hasher));
        let mut buf = vec![0; chunk];
        loop {
            let n = source.read(&mut buf).unwrap();
            if n == 0 || !to_end {
                break;
            }
        }
        drop(source);
        hasher.finish()
    }

    /// Read in any chunks, the hash is the file's (as the state hashes it);
    /// a file not read to its end has none.
    #[test]
    fn the_hash_of_a_file_read_to_its_end_is_its_content_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let text: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &text).unwrap();
        let whole = *blake3::hash(&text).as_bytes();
        for chunk in [3, 4096, 1 << 18, 1 << 20] {
            let read = read_through(&path, chunk, true).unwrap();
            assert_eq!(read.hash, whole, "chunks of {chunk}");
            assert_eq!(read.meta.len(), text.len() as u64);
        }
        assert!(read_through(&path, 4096, false).is_none());
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(
            read_through(&empty, 4096, true).unwrap().hash,
            *blake3::hash(b"").as_bytes()
        );
    }
}
