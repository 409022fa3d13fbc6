//! `dhtsim` binary: parse arguments, run the command, choose the exit status (SPEC §3).

use clap::Parser;
use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;

/// The system allocator, with large blocks backed by transparent huge pages where the kernel
/// offers them on request (`madvise` mode, as on the benchmark VM). The engine's slab, the peer
/// states and the recorder's operations are read at random: with 4 KiB pages nearly every event
/// missed the TLB as well as the cache (docs/performance.md, "Huge pages, and two searches
/// skipped": SimGrid's benchmark at 10^6 peers, 299–306 s before, 200–252 s with this and two
/// searches skipped). Only where memory lies changes, never what is computed.
#[global_allocator]
static ALLOC: HugePages = HugePages;

struct HugePages;

/// Blocks this large or larger are advised (a huge page is 2 MiB on x86_64).
const HUGE_BLOCK: usize = 4 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// Asks for huge pages over the whole huge pages inside the block `[ptr, ptr + size)`, if it is
/// large, and has the kernel move its first `filled` bytes (data a `realloc` carried over in
/// small pages) into huge pages now. Hints: an error (no THP support) leaves the block as it was.
fn advise(ptr: *mut u8, size: usize, filled: usize) {
    #[cfg(target_os = "linux")]
    if size >= HUGE_BLOCK && !ptr.is_null() {
        let huge = |len: usize| {
            let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
            let end = (ptr as usize + len) / HUGE_PAGE * HUGE_PAGE;
            (start as *mut libc::c_void, end.saturating_sub(start))
        };
        // SAFETY: the ranges lie inside a block the allocator just handed out; MADV_HUGEPAGE and
        // MADV_COLLAPSE change how its pages are backed, never their contents.
        unsafe {
            let (start, len) = huge(size);
            if len > 0 {
                libc::madvise(start, len, libc::MADV_HUGEPAGE);
            }
            // Only the filled part: collapsing the rest would make all of it resident.
            let (start, len) = huge(filled);
            if len > 0 {
                libc::madvise(start, len, libc::MADV_COLLAPSE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, size, filled);
}

// SAFETY: every call is the system allocator's, with the same arguments and results.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size(), 0);
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise(ptr, layout.size(), 0);
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        advise(ptr, new_size, layout.size().min(new_size));
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn main() -> ExitCode {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Every argument is text (a path, a number, KEY=VALUE): name one that is not.
    if let Some(i) = raw.iter().position(|a| a.to_str().is_none()) {
        let option = raw[..i].last().and_then(|p| p.to_str()).filter(|p| p.starts_with('-'));
        let shown = raw[i].to_string_lossy();
        let what = option.map_or(format!("argument {i}"), |o| format!("{o} {shown}"));
        eprintln!("error: {what}: not UTF-8 text");
        return ExitCode::from(2);
    }
    let argv: Vec<String> = raw.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let cli = dhtsim::cli::Cli::parse_from(&argv);
    match dhtsim::app::execute(cli.command, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}
