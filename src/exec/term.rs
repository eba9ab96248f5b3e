//! The terminal the progress bars draw on: its width, read again as the run
//! goes (a resized window), and a bar layout that fits it on one row.

/// The width of the terminal on stderr, in columns, if it is one.
pub(crate) fn stderr_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ only fills the struct it is given.
    let size = unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) == 0).then_some(size)
    };
    size.map(|s| usize::from(s.ws_col)).filter(|&w| w > 0)
}

/// The widest step name shown in full.
pub(crate) const NAME_WIDTH: usize = 14;

/// The widest bar drawn.
const BAR_WIDTH: usize = 40;

/// An indicatif template whose fixed parts fit in `width - 1` columns (the
/// last column is left free: writing into it makes some terminals wrap):
/// the step name (right-aligned in `name_width`, cut if need be), done/total
/// (`digits` wide each), elapsed time and ETA, a bar as wide as what is left
/// allows (none on a narrow terminal), and the message (failed / skipped
/// counts) in whatever remains, cut to fit. Returns the template and the
/// width of its fixed parts.
pub(crate) fn bar_template(width: usize, name_width: usize, digits: usize) -> (String, usize) {
    let room = width.saturating_sub(1);
    let counts = 2 * digits + 1;
    let times = " {elapsed:>4} eta {eta:<4}";
    const TIMES: usize = 13;
    // Keep about 12 columns for "2 failed, 1 skipped" before drawing a bar.
    const MESSAGE: usize = 12;
    let name = name_width.clamp(1, NAME_WIDTH);
    let fixed = name + 1 + counts + TIMES;
    if fixed < room {
        let spare = room - fixed - 1;
        let bar = spare.saturating_sub(MESSAGE + 4).min(BAR_WIDTH);
        if bar >= 5 {
            let template = format!(
                "{{prefix:>{name}!.bold}} {{pos:>{digits}}}/{{len:<{digits}}}{times} [{{bar:{bar}.cyan/blue}}] {{wide_msg}}"
            );
            return (template, fixed + bar + 4);
        }
        let template = format!(
            "{{prefix:>{name}!.bold}} {{pos:>{digits}}}/{{len:<{digits}}}{times} {{wide_msg}}"
        );
        return (template, fixed + 1);
    }
    // Narrow: the name (as much as fits) and the counts.
    let name = room.saturating_sub(counts + 2).clamp(1, name);
    let template =
        format!("{{prefix:>{name}!.bold}} {{pos:>{digits}}}/{{len:<{digits}}} {{wide_msg}}");
    (template, name + 1 + counts + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_fits_its_width_and_parses() {
        for width in 16..=240 {
            for (name, digits) in [(5, 1), (14, 4), (14, 6)] {
                // Narrower than a name's first letter and the counts: no
                // layout can fit.
                if width < 2 * digits + 5 {
                    continue;
                }
                let (template, fixed) = bar_template(width, name, digits);
                assert!(fixed < width, "{width}: {fixed} {template}");
                indicatif::ProgressStyle::with_template(&template).unwrap();
            }
        }
        // A wide terminal gets the widest bar, a narrow one none.
        assert!(bar_template(200, 14, 4).0.contains("{bar:40"));
        assert!(!bar_template(40, 14, 4).0.contains("{bar"));
    }
}
