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
    // The widest row sets the columns; a shorter row just ends early.
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
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

#[cfg(test)]
mod tests {
    use super::columns;

    #[test]
    fn columns_take_rows_of_any_length() {
        let rows = vec![
            vec!["TASK".to_owned(), "PORTS".to_owned()],
            vec!["a".to_owned()],
            vec!["bbb".to_owned(), "80".to_owned(), "extra".to_owned()],
        ];
        assert_eq!(columns(&rows), "TASK  PORTS\na\nbbb   80     extra\n");
        assert_eq!(columns(&[]), "");
    }
}
