//! CPU time used so far, from the kernel's `getrusage(2)`: for the
//! benchmarks that report a cost in CPU rather than in wall time, which on
//! a shared machine also counts the time other processes held the cores.

use std::time::Duration;

/// User plus system time of the whole process (every thread, including
/// any server threads a benchmark runs in it).
pub fn process() -> Duration {
    usage(libc::RUSAGE_SELF)
}

/// User plus system time of the calling thread only.
pub fn thread() -> Duration {
    usage(libc::RUSAGE_THREAD)
}

// getrusage(2) has no safe wrapper in the crates this tree builds.
#[allow(unsafe_code)]
fn usage(who: libc::c_int) -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of a plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage`; `who` is a RUSAGE_* constant.
    let rc = unsafe { libc::getrusage(who, &mut ru) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
