//! The index of a text column's dictionary while the column is built:
//! strings found by their hash in an open-addressing table, each slot
//! holding all a lookup needs.

/// Finds a string's code by its hash while a column is built: an
/// open-addressing table (a power of two of slots, at most half full, a
/// quarter while small; linear probing) whose slot holds all a lookup
/// needs, so that a string found costs its slot and its bytes only, and a
/// string of up to 8 bytes (a label) its slot alone: its bytes are in it.
/// (hashbrown's table cost a call through `dyn FnMut` per candidate, and
/// two more loads per hit: its control bytes and the dictionary's ends.
/// Short strings found by their hash and bytes, as long ones are, took
/// a tenth more time here: 13.1% of the realworld bench job's CPU without
/// its comment column, against 11.7%.)
pub(super) struct Index {
    /// A power of two of slots, at least `MIN_SLOTS`.
    slots: Vec<Slot>,
    /// Slots in use.
    used: usize,
}

/// The slots of an empty index.
const MIN_SLOTS: usize = 16;

/// Below this many slots (64 KiB), the index is at most a quarter full.
const SMALL_SLOTS: usize = 4096;

/// Strings of at most this many bytes (most labels: `ok`, `ST-048`,
/// `temp-b`) are kept in their slot as a word, and compared as one.
pub(super) const SHORT: usize = 8;

/// What the index finds a cell by: 32 bits of its hash and, for a string of
/// at most `SHORT` bytes, those bytes as a word (zeros above them), which
/// tell it apart from every other string of its length.
#[derive(Clone, Copy, Default)]
pub(super) struct Key {
    pub(super) hash: u32,
    word: u64,
}

/// A string of the dictionary in the index.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    /// A string of at most `SHORT` bytes: its key's word; a longer one: its
    /// hash (the high half) and where it starts in the dictionary's bytes
    /// (the low half).
    tag: u64,
    /// The string's code (its dictionary index + 1); 0 = an empty slot.
    code: u32,
    /// Its length in bytes.
    len: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        tag: 0,
        code: 0,
        len: 0,
    };

    /// The slot of a string of key `key`, code `code`, starting at `start`
    /// in the dictionary's bytes, `len` bytes long.
    #[inline(always)]
    pub(super) fn new(key: Key, code: u32, start: u32, len: usize) -> Slot {
        let tag = if len <= SHORT {
            key.word
        } else {
            u64::from(key.hash) << 32 | u64::from(start)
        };
        Slot {
            tag,
            code,
            len: len as u32,
        }
    }

    /// The hash of the slot's string (its key's).
    fn hash(&self) -> u32 {
        if self.len as usize <= SHORT {
            short_hash(self.tag, self.len as usize)
        } else {
            (self.tag >> 32) as u32
        }
    }

    /// Whether the slot holds `cell`, of key `key`; `text` is the
    /// dictionary's bytes. A short string by its word alone.
    #[inline(always)]
    fn holds(&self, text: &[u8], key: Key, cell: &[u8]) -> bool {
        let len = cell.len();
        if self.len as usize != len {
            return false;
        }
        if len <= SHORT {
            return self.tag == key.word;
        }
        (self.tag >> 32) as u32 == key.hash
            && same_bytes(&text[self.tag as u32 as usize..][..len], cell)
    }
}

/// Where a lookup stopped.
pub(super) enum Probe {
    /// At the string: its code.
    Found(u32),
    /// At an empty slot, where the string goes if added.
    Vacant(usize),
}

impl Default for Index {
    fn default() -> Index {
        Index {
            slots: vec![Slot::EMPTY; MIN_SLOTS],
            used: 0,
        }
    }
}

impl Index {
    /// How many strings the index holds before it grows: a quarter of
    /// its slots while small (`SMALL_SLOTS`: a label is then more often at
    /// its first slot, a branch the processor guesses right), half beyond.
    #[inline(always)]
    fn most(&self) -> usize {
        if self.slots.len() < SMALL_SLOTS {
            self.slots.len() / 4
        } else {
            self.slots.len() / 2
        }
    }

    /// The slot where the probe of `hash` starts.
    #[inline(always)]
    fn home(&self, hash: u32) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    /// Looks `cell` (of key `key`) up among the strings of `text`, the
    /// dictionary's bytes. Inlined into the loop over a column's cells.
    #[inline(always)]
    pub(super) fn probe(&self, text: &[u8], key: Key, cell: &[u8]) -> Probe {
        let mask = self.slots.len() - 1;
        let mut at = self.home(key.hash);
        loop {
            let slot = self.slots[at];
            if slot.code == 0 {
                return Probe::Vacant(at);
            }
            if slot.holds(text, key, cell) {
                return Probe::Found(slot.code);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `slot`, a string not in the index, at `at`: the empty slot its
    /// probe stopped at (or elsewhere, when the index grows first).
    /// Inlined into the adding of a new string; growing is not.
    #[inline(always)]
    pub(super) fn insert(&mut self, at: usize, slot: Slot) {
        if self.used + 1 > self.most() {
            self.grow_and_place(slot);
        } else {
            self.slots[at] = slot;
        }
        self.used += 1;
    }

    /// Doubles the slots, then places `slot`.
    #[cold]
    #[inline(never)]
    fn grow_and_place(&mut self, slot: Slot) {
        self.grow_to(self.slots.len() * 2);
        self.place(slot);
    }

    /// Puts `slot` at the first empty slot from where its hash points.
    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(slot.hash());
        while self.slots[at].code != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    /// Makes room for `more` strings (the index then does not grow).
    pub(super) fn reserve(&mut self, more: usize) {
        let slots = (self.used + more).saturating_mul(2).next_power_of_two();
        if slots > self.slots.len() {
            self.grow_to(slots);
        }
    }

    /// Moves every string to a table of `slots` slots (their hashes are
    /// kept: nothing is hashed again).
    fn grow_to(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; slots]);
        for slot in old.into_iter().filter(|slot| slot.code != 0) {
            self.place(slot);
        }
    }

    /// Starts loading the slot where the probe of `hash` starts.
    #[inline(always)]
    pub(super) fn prefetch(&self, hash: u32) {
        prefetch(&self.slots[self.home(hash)]);
    }
}

/// Asks the processor to start loading `slot`'s cache line, so that a
/// lookup a few cells later finds it there: a hint, with no effect on what
/// is computed (`push_many`'s test compares it with `push_bytes`, which
/// does not prefetch).
#[inline(always)]
fn prefetch(slot: &Slot) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is enabled in this build (the `cfg` above), and a
        // prefetch neither reads nor writes anything the program sees nor
        // faults, whatever the address (here a live reference's).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(slot).cast()) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = slot;
}

/// A cell's key, and the OR of the words it read (every byte at least
/// once), whose `HIGH_BITS` are clear when the bytes are ASCII: the check
/// of a new string as UTF-8 comes with its key.
#[inline(always)]
pub(super) fn key_and_high_bits(bytes: &[u8]) -> (Key, u64) {
    if bytes.len() <= SHORT {
        let word = short_word(bytes);
        let hash = short_hash(word, bytes.len());
        (Key { hash, word }, word)
    } else {
        let (hash, bits) = hash_and_high_bits(bytes);
        (Key { hash, word: 0 }, bits)
    }
}

/// A cell's key.
#[inline(always)]
pub(super) fn key_of(bytes: &[u8]) -> Key {
    key_and_high_bits(bytes).0
}

/// The 0 to 8 bytes of a short string as a little-endian word, zeros
/// above them: two loads that may overlap (the same bytes in both), or
/// one per byte below 4.
#[inline(always)]
fn short_word(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    debug_assert!(len <= SHORT);
    if len >= 4 {
        u64::from(word4(bytes, 0)) | u64::from(word4(bytes, len - 4)) << (8 * (len - 4))
    } else if len > 0 {
        let byte = |i: usize| u64::from(bytes[i]) << (8 * i);
        byte(0) | byte(len / 2) | byte(len - 1)
    } else {
        0
    }
}

/// 32 bits of the hash of a short string's word and length: one
/// multiplication.
#[inline(always)]
fn short_hash(word: u64, len: usize) -> u32 {
    (fold(word ^ SEED, K2 ^ len as u64) >> 32) as u32
}

/// Multipliers of the hash: digits of pi (as rustc-hash's), odd and with
/// bits all over.
const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;
const K2: u64 = 0xa409_3822_299f_31d1;

/// The high bit of every byte of a word: a word of ASCII has none.
pub(super) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The product of `a` and `b`, its two halves folded together.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// 32 bits of the hash of a cell's bytes, and the OR of the words it read
/// (every byte at least once), whose `HIGH_BITS` are clear when the bytes
/// are ASCII: the check of a new string as UTF-8 comes with its hash.
///
/// A cell of up to 16 bytes is read as two words that may overlap (the
/// first and last 8, or 4, bytes; a byte at a time below 4) and hashed by
/// one multiplication (as rustc-hash's `hash_bytes`, without its length
/// prefix: the length is added at the end); a longer one 16 bytes at a
/// time. rustc-hash's `FxHasher` cost a write of the length and a rotation
/// more, and the UTF-8 check a second pass over each new string.
#[inline(always)]
fn hash_and_high_bits(bytes: &[u8]) -> (u32, u64) {
    let len = bytes.len();
    let (mut a, mut b) = (0, 0);
    let mut acc = SEED;
    let mut bits = 0;
    if len >= 8 {
        let mut at = 0;
        while at + 16 < len {
            let (x, y) = (word8(bytes, at), word8(bytes, at + 8));
            acc = fold(x ^ K1, y ^ acc);
            bits |= x | y;
            at += 16;
        }
        if len > 16 {
            a = word8(bytes, len - 16);
        } else {
            a = word8(bytes, 0);
        }
        b = word8(bytes, len - 8);
    } else if len >= 4 {
        a = u64::from(word4(bytes, 0));
        b = u64::from(word4(bytes, len - 4));
    } else if len > 0 {
        a = u64::from(bytes[0]) << 16 | u64::from(bytes[len / 2]) << 8 | u64::from(bytes[len - 1]);
    }
    bits |= a | b;
    let hash = fold(a ^ acc, b ^ K2).wrapping_add(len as u64);
    ((hash.wrapping_mul(K1 | 1) >> 32) as u32, bits)
}

/// Whether two strings have the same bytes, compared in place a word at a
/// time, the last word overlapping the one before: most cells are short
/// (`ok`, `ST-048`), and a call to `memcmp` per cell cost more than the
/// comparison.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if len >= 8 {
        let mut at = 0;
        while at + 8 < len {
            if word8(a, at) != word8(b, at) {
                return false;
            }
            at += 8;
        }
        word8(a, len - 8) == word8(b, len - 8)
    } else if len >= 4 {
        word4(a, 0) == word4(b, 0) && word4(a, len - 4) == word4(b, len - 4)
    } else {
        (0..len).all(|i| a[i] == b[i])
    }
}

/// The 8 bytes of `s` from `at` (`at + 8 <= s.len()`) as a number (0
/// past the end: never, for `same_bytes`).
#[inline(always)]
fn word8(s: &[u8], at: usize) -> u64 {
    s.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |w| u64::from_ne_bytes(*w))
}

/// The 4 bytes of `s` from `at`, as `word8` does.
#[inline(always)]
fn word4(s: &[u8], at: usize) -> u32 {
    s.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |w| u32::from_ne_bytes(*w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(bytes: &[u8]) -> u32 {
        key_of(bytes).hash
    }

    /// Short strings that differ only in trailing NUL bytes (the zeros of
    /// their word) are told apart by their length; short and long strings
    /// that begin alike by their lengths too.
    #[test]
    fn short_strings_are_their_bytes_and_length() {
        let cells: [&[u8]; 8] = [
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"a\0\0",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefghi",
        ];
        let mut index = Index::default();
        let mut text = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let key = key_of(cell);
            let Probe::Vacant(at) = index.probe(&text, key, cell) else {
                panic!("{cell:?} found before it was added");
            };
            index.insert(
                at,
                Slot::new(key, i as u32 + 1, text.len() as u32, cell.len()),
            );
            text.extend_from_slice(cell);
        }
        let mut start = 0;
        for (i, cell) in cells.iter().enumerate() {
            let found = index.probe(&text, key_of(cell), cell);
            assert!(
                matches!(found, Probe::Found(c) if c == i as u32 + 1),
                "{cell:?}"
            );
            // Whatever their hashes, each slot holds its own string only.
            let slot = Slot::new(key_of(cell), 1, start as u32, cell.len());
            for other in &cells {
                let holds = slot.holds(&text, key_of(other), other);
                assert_eq!(holds, other == cell, "{cell:?} {other:?}");
            }
            start += cell.len();
        }
        assert_eq!(start, text.len());
    }

    /// The in-place comparison is `==`: every length up to a few words,
    /// a difference at every position, and lengths that differ.
    #[test]
    fn same_bytes_is_slice_equality() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same_bytes(&a, &b), "{len} {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_bytes(&a, &longer) && !same_bytes(&longer, &a));
        }
    }

    /// The high bits the hash reads are those of the bytes: clear for ASCII
    /// only, whatever the length and wherever a byte past ASCII is.
    #[test]
    fn high_bits_are_clear_for_ascii_only() {
        for len in 0..80usize {
            let a: Vec<u8> = (0..len).map(|i| b' ' + (i % 90) as u8).collect();
            assert_eq!(key_and_high_bits(&a).1 & HIGH_BITS, 0, "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] |= 0x80;
                assert_ne!(key_and_high_bits(&b).1 & HIGH_BITS, 0, "{len} {at}");
            }
        }
    }

    /// The hash is of the bytes only (not of where they are), the same
    /// from run to run, and tells apart strings whose words overlap alike
    /// (`aaaaaaaa`, `aaaaaaaaa`) and one-byte changes at every length.
    #[test]
    fn hash_is_of_the_bytes() {
        let text = b"a longer comment, past sixteen bytes and a few words".repeat(2);
        for len in 0..48 {
            let moved = text[..len].to_vec();
            let mut padded = vec![b'#'; 3];
            padded.extend_from_slice(&moved);
            assert_eq!(hash_of(&text[..len]), hash_of(&moved), "{len}");
            assert_eq!(hash_of(&text[..len]), hash_of(&padded[3..]), "{len}");
            let a = vec![b'a'; len];
            assert_ne!(hash_of(&a), hash_of(&vec![b'a'; len + 1]), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] = b'b';
                assert_ne!(hash_of(&a), hash_of(&b), "{len} {at}");
            }
        }
        assert_eq!(
            [hash_of(b""), hash_of(b"ok"), hash_of(b"ST-048")],
            [3_211_093_463, 1_841_468_650, 3_133_713_237]
        );
    }
}
