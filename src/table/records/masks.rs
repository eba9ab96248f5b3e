//! The bytes that matter to the record splitter's fast path (the
//! delimiter, `\n`, `"`), found 64 bytes at a time as a mask each (SSE2
//! where the build has it, byte by byte elsewhere).

/// Width of the blocks the fast path looks at.
pub(super) const BLOCK: usize = 64;

/// Where the bytes that matter to the fast path are in a block of
/// `BLOCK` bytes: bit `i` of a mask is set when byte `i` is that byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Masks {
    pub(super) delimiters: u64,
    pub(super) newlines: u64,
    pub(super) quotes: u64,
}

impl Masks {
    /// Only the bits from `from` on (`from < 64`).
    pub(super) fn from(self, from: usize) -> Masks {
        let keep = u64::MAX << from;
        Masks {
            delimiters: self.delimiters & keep,
            newlines: self.newlines & keep,
            quotes: self.quotes & keep,
        }
    }

    /// Only the bits before `to` (`to <= 64`).
    pub(super) fn before(self, to: usize) -> Masks {
        let keep = if to >= BLOCK { u64::MAX } else { (1 << to) - 1 };
        Masks {
            delimiters: self.delimiters & keep,
            newlines: self.newlines & keep,
            quotes: self.quotes & keep,
        }
    }
}

/// Finds the bytes that matter to the fast path (the delimiter, `\n`,
/// `"`), a block at a time.
#[derive(Clone, Copy)]
pub(super) struct Finder {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    splats: [std::arch::x86_64::__m128i; 3],
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    bytes: [u8; 3],
}

impl Finder {
    pub(super) fn new(delimiter: u8) -> Finder {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            use std::arch::x86_64::_mm_set1_epi8;
            // SAFETY: SSE2 is enabled in this build (the `cfg` above).
            let splat = |b: u8| unsafe { _mm_set1_epi8(b as i8) };
            Finder {
                splats: [splat(delimiter), splat(b'\n'), splat(b'"')],
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        Finder {
            bytes: [delimiter, b'\n', b'"'],
        }
    }

    /// The masks of `block` (SSE2, in every x86-64 processor: 16 bytes at
    /// a time, three comparisons and three masks each).
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    fn find(&self, block: &[u8; BLOCK]) -> Masks {
        use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_movemask_epi8};
        let [d, n, q] = self.splats;
        let mut masks = Masks::default();
        let (chunks, _) = block.as_chunks::<16>();
        for (k, chunk) in chunks.iter().enumerate() {
            let v: __m128i = bytemuck::cast(*chunk);
            // SAFETY: SSE2 is enabled in this build (the `cfg` above).
            let mask = |splat| unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(v, splat)) };
            let mask = |splat| u64::from(mask(splat) as u16) << (16 * k);
            masks.delimiters |= mask(d);
            masks.newlines |= mask(n);
            masks.quotes |= mask(q);
        }
        masks
    }

    /// The same, byte by byte (the compiler vectorizes it).
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    #[inline(always)]
    fn find(&self, block: &[u8; BLOCK]) -> Masks {
        find_bytes(self.bytes, block)
    }

    /// The masks of the block of `text` at `at` (`at < text.len()`), its
    /// bits past the end of `text` clear.
    #[inline(always)]
    pub(super) fn find_at(&self, text: &[u8], at: usize) -> Masks {
        match text.get(at..at + BLOCK) {
            Some(block) => self.find(block.try_into().unwrap_or(&[0; BLOCK])),
            None => {
                let width = text.len() - at;
                let mut block = [0u8; BLOCK];
                block[..width].copy_from_slice(&text[at..]);
                self.find(&block).before(width)
            }
        }
    }
}

/// `Finder::find`, byte by byte.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn find_bytes([a, b, c]: [u8; 3], block: &[u8; BLOCK]) -> Masks {
    let mut masks = Masks::default();
    for (i, &x) in block.iter().enumerate() {
        masks.delimiters |= u64::from(x == a) << i;
        masks.newlines |= u64::from(x == b) << i;
        masks.quotes |= u64::from(x == c) << i;
    }
    masks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the fast path looks for, a block at a time: SSE2's masks
    /// are the byte-by-byte ones.
    #[test]
    fn blocks_find_what_bytes_find() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for delimiter in [b',', b';', b'\t', 0, 0xFF] {
            let finder = Finder::new(delimiter);
            for _ in 0..2000 {
                let mut block = [0u8; BLOCK];
                for b in &mut block {
                    seed = crate::test_rng::xorshift(seed);
                    *b = [delimiter, b'\n', b'"', b'a', 0, 0xFF, b','][(seed % 7) as usize];
                }
                let expected = find_bytes([delimiter, b'\n', b'"'], &block);
                assert_eq!(finder.find(&block), expected, "{block:?}");
            }
        }
    }
}
