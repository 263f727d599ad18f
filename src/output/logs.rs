//! Container output with a coloured, aligned `name |` prefix, as compose does.
//! Colour only on a terminal and only without `NO_COLOR`.

use std::io::IsTerminal as _;

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"];

/// Turns container output into prefixed lines on stdout.
#[derive(Debug, Clone)]
pub struct LogPrefixes {
    width: usize,
    colour: bool,
}

impl LogPrefixes {
    /// Prefixes wide enough for every name in `names`.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Self::with_colour(names, colour)
    }

    pub fn with_colour<'a>(names: impl IntoIterator<Item = &'a str>, colour: bool) -> Self {
        let width = names.into_iter().map(str::len).max().unwrap_or(0);
        LogPrefixes { width, colour }
    }

    /// The prefix of the `index`th container.
    #[must_use]
    pub fn prefix(&self, name: &str, index: usize) -> String {
        let padded = format!("{name:<width$} | ", width = self.width);
        if self.colour {
            format!("\x1b[{}m{padded}\x1b[0m", COLOURS[index % COLOURS.len()])
        } else {
            padded
        }
    }
}

/// Splits a container's output stream into lines, keeping a partial last
/// line until its end arrives.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Complete lines in `chunk`, without their line ends.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            lines.push(text.trim_end_matches('\r').to_owned());
        }
        lines
    }

    /// What remains once the stream has ended.
    pub fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty())
            .then(|| String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned())
    }
}

/// Where container output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogSink {
    /// The foreground run's own output.
    #[default]
    Stdout,
    /// Beside a report that owns stdout (`smoke`).
    Stderr,
    /// Nowhere: a detached task's output stays in Docker (`logs`).
    Discard,
}

/// Writes one prefixed line where `sink` says; a closed stream is not an error.
/// The prefixes' colour is chosen for stdout; stderr that is not a terminal
/// gets them plain.
pub fn print_line_to(sink: LogSink, prefix: &str, line: &str) {
    let write = |out: &mut dyn std::io::Write, prefix: &str| {
        let _ = writeln!(out, "{prefix}{line}");
        let _ = out.flush();
    };
    match sink {
        LogSink::Stdout => write(&mut std::io::stdout().lock(), prefix),
        LogSink::Stderr => {
            let stderr = std::io::stderr();
            if stderr.is_terminal() {
                write(&mut stderr.lock(), prefix);
            } else {
                write(&mut stderr.lock(), &plain(prefix));
            }
        }
        LogSink::Discard => {}
    }
}

/// A prefix without its colour codes.
fn plain(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    let mut rest = prefix;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        rest = rest[at..].find('m').map_or("", |end| &rest[at + end + 1..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_align_and_colour_cycles() {
        let plain = LogPrefixes::with_colour(["web", "sidecar"], false);
        assert_eq!(plain.prefix("web", 0), "web     | ");
        assert_eq!(plain.prefix("sidecar", 1), "sidecar | ");
        let coloured = LogPrefixes::with_colour(["web"], true);
        assert_eq!(coloured.prefix("web", 0), "\x1b[36mweb | \x1b[0m");
        assert_eq!(super::plain(&coloured.prefix("web", 0)), "web | ");
        assert_eq!(super::plain("web | "), "web | ");
        assert_eq!(
            coloured.prefix("web", COLOURS.len()),
            coloured.prefix("web", 0)
        );
    }

    #[test]
    fn lines_are_split_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"hel"), Vec::<String>::new());
        assert_eq!(s.push(b"lo\r\nwor"), ["hello"]);
        assert_eq!(s.push(b"ld\n\n"), ["world", ""]);
        assert_eq!(s.finish(), None);
        s.push(b"tail");
        assert_eq!(s.finish().as_deref(), Some("tail"));
    }
}
