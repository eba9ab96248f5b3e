//! The random numbers of the tests: xorshift64, the same sequence on every
//! run and machine, so that a failing case comes back.

/// The number after `seed` in the xorshift64 sequence (13, 7, 17).
pub(crate) fn xorshift(mut seed: u64) -> u64 {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    seed
}
