//! Asking the CPU to fetch memory before it is read.
//!
//! With hundreds of thousands of shoppers, a shopper's record and its session
//! are rarely in cache when its request comes back from thinking: each first
//! touch waits on main memory. The engine knows which event comes next, so
//! the model can start that wait one event early and overlap it with the
//! current event's work. A prefetch is a hint: it changes no value, so it
//! cannot change a run.

/// Bytes of a cache line on the machines Stratus runs on.
const LINE: usize = 64;

/// Starts loading every cache line of `*r` (a no-op off x86-64).
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    let start = (r as *const T).cast::<u8>();
    let lines = std::mem::size_of::<T>().div_ceil(LINE).max(1);
    for i in 0..lines {
        line(start.wrapping_add(i * LINE));
    }
}

/// Starts loading every cache line of `items`.
#[inline]
pub fn prefetch_slice<T>(items: &[T]) {
    let start = items.as_ptr().cast::<u8>();
    for i in (0..std::mem::size_of_val(items)).step_by(LINE) {
        line(start.wrapping_add(i));
    }
}

#[inline(always)]
fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint: it cannot fault, reads nothing into the
    // program and writes nothing, whatever the address.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
