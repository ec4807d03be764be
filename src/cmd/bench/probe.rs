//! What the harness reads from the operating system about its own process: CPU time
//! (all threads, living and exited) and resident memory, including a resettable peak.
//!
//! Both parties, the network runtime, TLS and the link emulator run in this one
//! process, so every figure here covers all of them together.

use std::time::Duration;

/// CPU time used by the whole process so far (user + system, every thread including
/// those that have exited), from `CLOCK_PROCESS_CPUTIME_ID`. `None` where the clock is
/// unavailable.
#[cfg(unix)]
pub(crate) fn process_cpu_time() -> Option<Duration> {
    use rustix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::ProcessCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// CPU time used by the whole process so far; not measured off Unix.
#[cfg(not(unix))]
pub(crate) fn process_cpu_time() -> Option<Duration> {
    None
}

/// Resident memory of the process, in bytes (Linux `/proc/self/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Current resident set size (`VmRSS`).
    pub(crate) rss: u64,
    /// Peak resident set size since start or since the last [`reset_peak`] (`VmHWM`).
    pub(crate) peak: u64,
}

/// The process's current and peak resident memory; `None` off Linux.
pub(crate) fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status(&status)
}

/// Resets the peak resident set size (`VmHWM`) to the current one, so that the next
/// [`memory`] reports the peak of what happened in between. Returns false where that
/// is not possible (not Linux ≥ 4.0, or `/proc` not writable): the peak then covers
/// the whole process lifetime.
pub(crate) fn reset_peak() -> bool {
    // "5" resets the high-water mark (proc(5), /proc/pid/clear_refs).
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let rest = line.get(name.len()..)?.trim_start_matches(':').trim();
        let kib: u64 = rest.strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    };
    Some(Memory {
        rss: field("VmRSS")?,
        peak: field("VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_proc_status() {
        let status =
            "Name:\tblindmatch\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Memory {
                rss: 1024 * 1024,
                peak: 2048 * 1024
            })
        );
        assert_eq!(parse_status("VmRSS:\t12 kB\n"), None);
        assert_eq!(parse_status("VmRSS:\tmany kB\nVmHWM:\t1 kB\n"), None);
    }

    #[test]
    fn cpu_clock_moves_forward_with_work() {
        let Some(before) = process_cpu_time() else {
            return;
        };
        // Spin until the clock shows progress; the process clock has ns resolution.
        let mut x = 0u64;
        let mut after = before;
        while after <= before {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            after = process_cpu_time().unwrap();
        }
        assert!(after > before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_covers_current_and_can_be_reset() {
        let m = memory().unwrap();
        assert!(m.peak >= m.rss && m.rss > 0);
        // Other tests share this process and allocate while this one runs, so the
        // peak may move either way between two readings; only a margin far larger
        // than anything they hold shows that a reset forgets an earlier peak.
        const BIG: usize = 512 << 20;
        let mut big = vec![0u8; BIG];
        for page in big.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&big);
        let with_big = memory().unwrap();
        assert!(with_big.peak >= BIG as u64);
        drop(big);
        if reset_peak() {
            let after = memory().unwrap();
            assert!(after.peak >= after.rss);
            assert!(after.peak < with_big.peak);
        }
    }
}
