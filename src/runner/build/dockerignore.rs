//! `.dockerignore`, read as the Docker CLI reads it: one pattern per line
//! (`#` starts a comment), paths relative to the context with `*`, `?`,
//! `[…]` and `**`, `!` making an exception, the last matching pattern
//! deciding, and a pattern that matches a directory matching everything in it.

/// The patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The pattern's path components.
    parts: Vec<String>,
    exception: bool,
}

impl DockerIgnore {
    /// The patterns of a `.dockerignore`'s text.
    #[must_use]
    pub fn parse(text: &str) -> DockerIgnore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let parts = clean(pattern);
                (!parts.is_empty()).then_some(Pattern { parts, exception })
            })
            .collect();
        DockerIgnore { patterns }
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    #[must_use]
    pub fn ignores(&self, path: &str) -> bool {
        let parts = clean(path);
        let mut ignored = false;
        for pattern in &self.patterns {
            // The path itself, or one of the directories it is in.
            let hit = (1..=parts.len()).any(|n| matches(&pattern.parts, &parts[..n]));
            if hit {
                ignored = !pattern.exception;
            }
        }
        ignored
    }

    /// Whether a directory the patterns ignore may still hold something an
    /// exception brings back, so that it must be walked.
    #[must_use]
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }
}

/// A path's components as Go's `filepath.Clean` leaves them, without a
/// leading `/`, `.` parts, or what `..` cancels.
fn clean(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_owned()),
        }
    }
    parts
}

/// Whether pattern components match path components; `**` matches any
/// number of components, zero included.
fn matches(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, tail)) => glob(first.as_bytes(), name.as_bytes()) && matches(rest, tail),
            None => false,
        },
    }
}

/// Go's `filepath.Match` within one path component: `*`, `?`, `[…]` (with
/// `^` or `!` negating and ranges), `\` escaping.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && glob(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            match class(rest, c) {
                Some((true, after)) => glob(after, tail),
                _ => false,
            }
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && glob(&rest[1..], &name[1..])
        }
        Some((&p, rest)) => name.first() == Some(&p) && glob(rest, &name[1..]),
    }
}

/// Whether `c` is in the class that starts `pattern` (just after `[`), and
/// the pattern after the class; `None` for a class that never closes.
fn class(pattern: &[u8], c: u8) -> Option<(bool, &[u8])> {
    let (negated, mut rest) = match pattern.first() {
        Some(b'^' | b'!') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    let mut found = false;
    let mut first = true;
    loop {
        let (&lo, after) = rest.split_first()?;
        if lo == b']' && !first {
            return Some((found != negated, after));
        }
        first = false;
        let (lo, after) = if lo == b'\\' {
            let (&escaped, after) = after.split_first()?;
            (escaped, after)
        } else {
            (lo, after)
        };
        if after.first() == Some(&b'-') && after.get(1).is_some_and(|&b| b != b']') {
            let hi = after[1];
            found |= (lo..=hi).contains(&c);
            rest = &after[2..];
        } else {
            found |= lo == c;
            rest = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text)
    }

    #[test]
    fn patterns_match_paths_and_what_is_under_them() {
        let i = ignore("# comment\n\nnode_modules\n*.log\n/build/\ntmp?/x\n");
        assert!(i.ignores("node_modules"));
        assert!(i.ignores("node_modules/left-pad/index.js"));
        assert!(i.ignores("debug.log"));
        assert!(!i.ignores("logs/debug.log"), "`*` stays in one directory");
        assert!(i.ignores("build/out.o"));
        assert!(i.ignores("tmp1/x"));
        assert!(!i.ignores("tmp12/x"));
        assert!(!i.ignores("src/main.rs"));
        assert!(!i.ignores("src/node_modules"), "patterns start at the root");
    }

    #[test]
    fn double_star_spans_directories() {
        let i = ignore("**/*.pyc\ndocs/**/draft.md\n");
        assert!(i.ignores("a.pyc"));
        assert!(i.ignores("pkg/sub/a.pyc"));
        assert!(i.ignores("docs/draft.md"));
        assert!(i.ignores("docs/a/b/draft.md"));
        assert!(!i.ignores("docs/a/final.md"));
    }

    #[test]
    fn the_last_matching_pattern_decides() {
        let i = ignore("*.md\n!README.md\nREADME*.md\n!README-keep.md\n");
        assert!(i.ignores("CHANGES.md"));
        assert!(i.ignores("README.md"), "ignored again by `README*.md`");
        assert!(!i.ignores("README-keep.md"));
        assert!(i.has_exceptions());
        let all_but_src = ignore("*\n!src\n");
        assert!(all_but_src.ignores("Makefile"));
        assert!(!all_but_src.ignores("src/lib.rs"));
    }

    #[test]
    fn classes_escapes_and_cleaning() {
        let i = ignore("[a-c]?.txt\n[!x]z\nweird\\*name\n./dir/../other\n");
        assert!(i.ignores("b1.txt"));
        assert!(!i.ignores("d1.txt"));
        assert!(i.ignores("yz"));
        assert!(!i.ignores("xz"));
        assert!(i.ignores("weird*name"));
        assert!(!i.ignores("weirdXname"));
        assert!(i.ignores("other/file"));
    }
}
