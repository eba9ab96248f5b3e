//! The C allocator's settings for this process: glibc's malloc keeps the
//! memory a finished table freed for the next one instead of handing it
//! back to the kernel and faulting it in again.
//!
//! glibc adapts two thresholds as a program frees memory: blocks above the
//! mmap threshold get pages of their own (unmapped when freed), and free
//! memory above the trim threshold at the top of a heap is given back.
//! With a table built and dropped per file, that adapting went wrong in
//! some pipelines: a `csv.stats`-only run over 40 files of 50,000 rows
//! took 56,000 page faults, and a fifth of its CPU went to the kernel
//! zeroing and mapping pages (bench/tables/README.md). Fixed thresholds
//! keep the freed memory in the process for the next table: about as much
//! as one table per worker (blocks of 4 MiB and more, a big file's
//! columns, still get pages of their own and go back to the kernel when
//! freed, so peak memory is as before), given back when more than 64 MiB
//! of it is free at once.

/// Blocks at least this large get pages of their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

/// Free memory at the top of a heap beyond this goes back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 64 << 20;

/// Sets the thresholds; called first thing, before any thread starts. A
/// no-op on other C libraries (musl's allocator does not adapt so).
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes the allocator's parameters; it is
    // called before this process starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
