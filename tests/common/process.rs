//! Process checks by pid, read from `/proc`: the tests' view of what a stop left behind.

/// Alive means present and not a zombie (a zombie has exited; only its status is left).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Present at all, zombies included: false only once the process has been reaped.
pub fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
