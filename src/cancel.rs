//! The run's request to stop (SIGINT / SIGTERM), as seen by work that runs
//! inside runner's own process: built-in steps and plots check it between
//! rows, chunks or series, and stop with `Interrupted` (issue 10, item 9).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag the executor raises once when the run must stop; cheap to clone
/// and to check (one relaxed atomic load).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

/// The work stopped because the run was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

impl Cancel {
    /// A flag that is never raised (tests, one-off reads).
    #[cfg(test)]
    pub(crate) fn never() -> Cancel {
        Cancel::default()
    }

    /// Raises the flag: every check from now on fails.
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is raised.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Interrupted)` once the flag is raised.
    pub(crate) fn check(&self) -> Result<(), Interrupted> {
        if self.is_cancelled() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::never();
        let b = a.clone();
        assert_eq!(b.check(), Ok(()));
        a.cancel();
        assert!(b.is_cancelled());
        assert_eq!(b.check(), Err(Interrupted));
    }
}
