//! Endpoints for the browser benchmark (`benches/browser`, `scripts/bench.sh`).
//!
//! * `POST /api/bench/result`: one JSON value per request; stored as a line in memory
//!   (`GET /api/bench/results` returns them as an array) and appended to the file given
//!   by `--bench-out`. The measured page reports through this, so no DevTools client has
//!   to be attached to it.
//! * `GET /api/bench/cpu`: this server's own CPU time, so a benchmark can show that the
//!   echo server was not its bottleneck.
//! * `GET /api/bench/renderer-cpu[?session=SID][&reset_peak=1]`: the Chromium renderer
//!   processes (command line holds `--type=renderer`), each with its main thread's CPU
//!   time, the whole process's CPU time and its resident memory (current and peak); with
//!   `session`, only that session's, plus its other processes (browser, network service,
//!   GPU) with their CPU time. `reset_peak=1` first resets each renderer's peak
//!   (`/proc/PID/clear_refs` ← `5`).
//!
//! CPU times come from Linux `/proc` (`schedstat`: nanoseconds on CPU, per thread);
//! elsewhere the fields are `null` or the list is empty.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

/// Most result lines kept in memory; the file, if any, keeps them all.
const MAX_RESULTS_IN_MEMORY: usize = 10_000;

/// Largest accepted result body.
pub(crate) const MAX_RESULT_BODY: usize = 1024 * 1024;

/// Where benchmark results go.
#[derive(Default)]
pub(crate) struct BenchResults {
    lines: Mutex<Vec<String>>,
    out: Option<PathBuf>,
}

impl BenchResults {
    pub(crate) fn new(out: Option<PathBuf>) -> Self {
        BenchResults {
            lines: Mutex::default(),
            out,
        }
    }

    /// Validates `body` as JSON and stores it as one compact line.
    pub(crate) fn add(&self, body: &[u8]) -> Result<(), String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let line = value.to_string();
        if let Some(path) = &self.out {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{line}"));
            appended.map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= MAX_RESULTS_IN_MEMORY {
            lines.remove(0);
        }
        lines.push(line);
        Ok(())
    }

    /// Every stored result, oldest first.
    pub(crate) fn all(&self) -> Value {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        Value::Array(
            lines
                .iter()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
        )
    }
}

/// Nanoseconds on CPU of one thread: the first field of `/proc/.../schedstat`.
fn schedstat_ns(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Nanoseconds on CPU of a process's live threads (`task_dir` is `/proc/PID/task`).
/// Threads that already exited are not counted; a benchmark's threads live across its
/// runs, so differences between two readings are right.
fn process_ns(task_dir: &Path) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(task_dir).ok()?.flatten() {
        total += schedstat_ns(&entry.path().join("schedstat")).unwrap_or(0);
    }
    Some(total)
}

/// `utime + stime` of this process in milliseconds, from `/proc/self/stat`.
fn self_stat_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, which is 100 on every Linux ABI Rust targets.
    Some(ticks * 10)
}

/// What `GET /api/bench/cpu` answers.
pub(crate) fn server_cpu() -> Value {
    json!({
        "cpu_ms": self_stat_ms(),
        "cpu_ns": process_ns(Path::new("/proc/self/task")),
    })
}

/// A `status` field in kB (`VmRSS`, `VmHWM`).
fn status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The session id of a process (the 6th field of `/proc/PID/stat`).
fn session_of(stat: &str) -> Option<u32> {
    // Fields after the command name, which is in parentheses and may contain spaces:
    // state, ppid, pgrp, session.
    stat.get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// What a Chromium command line says the process is: `renderer`, `gpu-process`,
/// `utility:network.mojom.NetworkService`, …; `None` without a `--type` (the browser
/// process itself, or not Chromium at all).
fn process_type(cmdline: &[u8]) -> Option<String> {
    // Zygote-forked processes rewrite their command line into one space-separated
    // string, so split on spaces as well as NULs.
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0 || *b == b' ').collect();
    let value = |prefix: &[u8]| {
        args.iter()
            .find_map(|a| a.strip_prefix(prefix))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let kind = value(b"--type=")?;
    Some(match value(b"--utility-sub-type=") {
        Some(sub) if kind == "utility" => format!("utility:{sub}"),
        _ => kind,
    })
}

/// What `GET /api/bench/renderer-cpu` answers.
///
/// Every Chromium renderer (`--type=renderer`), or with `session` only those in that
/// session (`scripts/bench.sh` starts Chromium with `setsid`, so its session id is its
/// pid): each with its main thread's CPU time, its whole CPU time and its resident size
/// (current and peak). With `session`, also `others`: the session's other processes (the
/// browser process, the network service, the GPU process, …) with their CPU time.
/// `reset_peak` resets each renderer's peak resident size first.
pub(crate) fn renderer_cpu(session: Option<u32>, reset_peak: bool) -> Value {
    let mut renderers = Vec::new();
    let mut others = Vec::new();
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return json!({ "renderers": renderers, "others": others });
    };
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        if session.is_some() {
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            if session_of(&stat) != session {
                continue;
            }
        }
        let Ok(cmdline) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let kind = process_type(&cmdline);
        if kind.as_deref() != Some("renderer") {
            if session.is_some() {
                others.push(json!({
                    "pid": pid,
                    "type": kind.unwrap_or_else(|| "browser".into()),
                    "process_ns": process_ns(&dir.join("task")),
                }));
            }
            continue;
        }
        if reset_peak {
            // "5" resets the peak resident set size (VmHWM) to the current one.
            let _ = std::fs::write(dir.join("clear_refs"), "5");
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        // A renderer's main thread (Blink, V8, every event handler) is the process's
        // first thread: its thread id is the process id.
        renderers.push(json!({
            "pid": pid,
            "main_ns": schedstat_ns(&dir.join(format!("task/{pid}/schedstat"))),
            "process_ns": process_ns(&dir.join("task")),
            "rss_kb": status_kb(&status, "VmRSS"),
            "peak_rss_kb": status_kb(&status, "VmHWM"),
        }));
    }
    json!({ "renderers": renderers, "others": others })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_process_type_and_session() {
        assert_eq!(
            process_type(b"/usr/lib/chromium/chromium --type=renderer --lang=en"),
            Some("renderer".into())
        );
        assert_eq!(
            process_type(
                b"chromium\0--type=utility\0--utility-sub-type=network.mojom.NetworkService\0"
            ),
            Some("utility:network.mojom.NetworkService".into())
        );
        assert_eq!(process_type(b"chromium\0--headless=new\0"), None);
        let stat = "4242 (Chrome_ (Main)) S 1 4242 4240 0 -1";
        assert_eq!(session_of(stat), Some(4240));
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tchromium\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n";
        assert_eq!(status_kb(status, "VmRSS"), Some(65432));
        assert_eq!(status_kb(status, "VmHWM"), Some(123456));
        assert_eq!(status_kb(status, "VmSwap"), None);
    }

    #[test]
    fn results_keep_compact_lines() {
        let results = BenchResults::new(None);
        assert!(results.add(b"not json").is_err());
        results.add(b"{ \"a\" : 1 }").expect("valid JSON");
        assert_eq!(results.all(), json!([{ "a": 1 }]));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn own_cpu_is_readable() {
        let cpu = server_cpu();
        assert!(cpu["cpu_ms"].is_u64());
        assert!(cpu["cpu_ns"].as_u64().is_some_and(|ns| ns > 0));
    }
}
