//! What people see: findings on stderr, plans and tables on stdout, container
//! logs with their prefixes on stdout, progress and status on stderr.

pub mod compose_file;
pub mod diagnostics;
pub mod logs;
pub mod plan_view;
pub mod progress;

/// A status line on stderr, in the house format.
pub fn status(message: &str) {
    eprintln!("ecs-run-local: {message}");
}

/// Rows as left-aligned columns two spaces apart (the first row is the
/// heading), without trailing blanks: `ps` and the smoke summary.
#[must_use]
pub fn columns(rows: &[Vec<String>]) -> String {
    let count = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..count)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
