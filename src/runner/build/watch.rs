//! `--watch`: rebuilds a container's image when its directory changes.
