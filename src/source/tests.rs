#![allow(clippy::too_many_lines)]
