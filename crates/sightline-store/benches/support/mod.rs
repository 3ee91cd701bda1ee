//! Helpers shared by the store's benchmarks.

/// CPU time this thread has used, in seconds (Linux only; `None` elsewhere). The
/// machine may be busy with other work, so CPU time is reported beside wall time.
pub fn thread_cpu_seconds() -> Option<f64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}
