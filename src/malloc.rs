//! The allocator's one setting, made before anything else runs. It sits
//! outside the library (which forbids `unsafe`): a module of the `stratus`
//! binary, which `benches/throughput.rs` includes by path, so the benchmark
//! times the same allocator the command line runs.
//!
//! glibc starts by giving blocks of 128 KiB and more their own mapping, but
//! raises that threshold to the size of each such block freed (up to 32
//! MiB). From then on a growing session map's buffers come from the heap:
//! each doubling copies, and the half it leaves stays resident. The crowd
//! run's `store` held 22 MB (about 27 bytes a shopper) that way. A fixed
//! threshold keeps large buffers in mappings that `mremap` grows in place
//! and `free` returns.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_large_blocks_mapped() {
    // SAFETY: mallopt only changes the allocator's parameters; it is called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_large_blocks_mapped() {}
