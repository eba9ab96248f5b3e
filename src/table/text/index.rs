//! The index of a text column's dictionary while the column is built:
//! strings found by their hash in an open-addressing table, each slot
//! holding all a lookup needs.

use std::hash::BuildHasher;

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
    pub(super) fn insert(&mut self, at: usize, slot: Slot) {
        if self.used + 1 > self.most() {
            self.grow_to(self.slots.len() * 2);
            self.place(slot);
        } else {
            self.slots[at] = slot;
        }
        self.used += 1;
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
    let hash = rustc_hash::FxBuildHasher.hash_one(bytes);
    (hash ^ (hash >> 32)) as u32
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
}
