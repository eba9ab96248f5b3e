//! What a run leaves for people to read: the terminal summary printed at the
//! end of a run (`summary`), and the HTML page of a recorded run.

mod summary;

pub(crate) use summary::{RunReport, command_line, seconds};
