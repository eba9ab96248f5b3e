//! The index of a text column's dictionary while the column is built:
//! strings found by their hash in an open-addressing table, each slot
//! holding all a lookup needs.

/// Finds a string's code by its hash while a column is built: an
/// open-addressing table (a power of two of slots, at most half full, a
/// quarter while small; linear probing) whose slot holds all a lookup needs, so that a string
/// found costs its slot and its bytes only. (hashbrown's table cost a call
/// through `dyn FnMut` per candidate, and two more loads per hit: its
/// control bytes and the dictionary's ends.)
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

/// A string of the dictionary in the index.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    /// 32 bits of the string's hash.
    pub(super) hash: u32,
    /// The string's code (its dictionary index + 1); 0 = an empty slot.
    pub(super) code: u32,
    /// Where the string starts in the dictionary's bytes.
    pub(super) start: u32,
    /// Its length in bytes.
    pub(super) len: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        hash: 0,
        code: 0,
        start: 0,
        len: 0,
    };

    /// The string's bytes in `text`, the dictionary's bytes.
    #[inline(always)]
    fn bytes<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start as usize..][..self.len as usize]
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

    /// Looks `cell` (of hash `hash`) up among the strings of `text`, the
    /// dictionary's bytes. Inlined into the loop over a column's cells.
    #[inline(always)]
    pub(super) fn probe(&self, text: &[u8], hash: u32, cell: &[u8]) -> Probe {
        let mask = self.slots.len() - 1;
        let mut at = self.home(hash);
        loop {
            let slot = self.slots[at];
            if slot.code == 0 {
                return Probe::Vacant(at);
            }
            if slot.hash == hash
                && slot.len as usize == cell.len()
                && same_bytes(slot.bytes(text), cell)
            {
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
        let mut at = self.home(slot.hash);
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

/// 32 bits of the hash of a cell's bytes: what the index keeps.
#[inline(always)]
pub(super) fn hash_of(bytes: &[u8]) -> u32 {
    hash_and_high_bits(bytes).0
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
pub(super) fn hash_and_high_bits(bytes: &[u8]) -> (u32, u64) {
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
            assert_eq!(hash_and_high_bits(&a).1 & HIGH_BITS, 0, "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] |= 0x80;
                assert_ne!(hash_and_high_bits(&b).1 & HIGH_BITS, 0, "{len} {at}");
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
            [152_347_039, 976_559_636, 3_128_027_164]
        );
    }
}
