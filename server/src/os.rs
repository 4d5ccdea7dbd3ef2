//! What the server asks of the operating system: more open files, and an
//! allocator that gives memory back once a crowd has left.

/// Raises this process's soft limit on open files to its hard limit when it
/// is lower: each connection is a file descriptor, and the common default of
/// 1024 would cap the room far below `--max-clients`. Logs what it did.
pub fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rlimit::Resource;
        let before = match Resource::NOFILE.get() {
            Ok((soft, _hard)) => soft,
            Err(err) => {
                log::warn!("cannot read the open-files limit: {err}");
                return;
            }
        };
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(after) if after > before => {
                log::info!("raised the open-files limit from {before} to {after}");
            }
            Ok(_) => {}
            Err(err) => log::warn!(
                "the open-files limit is {before} and could not be raised ({err}); \
                 at most about {before} people can connect"
            ),
        }
    }
}

/// Makes glibc return freed blocks of 64 KiB and more to the OS at once.
/// Each connection owns a 128 KiB read buffer; by default glibc raises its
/// mmap threshold after the first such block is freed and from then on keeps
/// departed connections' buffers in its heap, so the server's memory would
/// stay at its peak long after a crowd has left.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_memory_eagerly() {
    const THRESHOLD: libc::c_int = 64 * 1024;
    // SAFETY: mallopt only changes an allocator parameter; it is called once
    // at start-up and takes no pointers.
    let changed = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
    if changed != 1 {
        log::debug!("could not set glibc's mmap threshold");
    }
}

/// Other allocators need no tuning here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_memory_eagerly() {}

/// Gives the heap's free memory back to the OS. After a crowd arrives, the
/// frames that announced it are freed but glibc keeps their pages; called
/// once things are quiet again, so the room's memory reflects who is here.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim_heap() {
    // SAFETY: malloc_trim only returns free pages to the OS; it takes no
    // pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_heap() {}
