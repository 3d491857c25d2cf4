//! One block of memory for a built-in model's weights, in 2 MB pages where the system has them.
//!
//! The weights are a few hundred runs of 20 KB to 100 MB, read once at load and then streamed
//! through on every token. Allocated one by one, each run sat in the allocator's arenas, which
//! ask the kernel for transparent huge pages: fast to stream (few TLB misses), but the runs only
//! partly filled the 2 MB pages they held (Tiny: 112 MB resident for 96.5 MB of blocks). Here the
//! runs are carved one after the other from a single anonymous mapping advised `MADV_HUGEPAGE`,
//! so every 2 MB page but the last is full of weights.
//!
//! A run is carved at a fixed capacity and filled in order; a run that outgrows it (only when
//! stacking matrices read apart) or that the mapping has no room for lives on the heap instead.
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use memmap2::MmapMut;

/// Where runs start: a cache line (the kernels' loads never straddle one more than they must).
pub const ALIGN: usize = 64;

/// Carves runs from one anonymous mapping, in order; no mapping: every run on the heap.
pub struct Arena {
    /// The mapping and where it starts.
    map: Option<(Arc<MmapMut>, NonNull<u8>)>,
    /// The first byte not carved yet.
    next: usize,
}

impl Arena {
    /// Room for `bytes` of runs (each run rounded up to 64 bytes), in huge pages where the
    /// kernel has them. A mapping the system refuses leaves every run on the heap.
    pub fn new(bytes: usize) -> Arena {
        let mut map = match bytes {
            0 => None,
            _ => MmapMut::map_anon(bytes).ok(),
        };
        #[cfg(target_os = "linux")]
        if let Some(map) = &map {
            // Best effort: without it the weights take 4 KB pages, slower to stream, same bytes.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        let base = map.as_mut().and_then(|m| NonNull::new(m.as_mut_ptr()));
        Arena {
            map: map.zip(base).map(|(m, base)| (Arc::new(m), base)),
            next: 0,
        }
    }

    /// Every run on the heap (a tensor read for a moment, tests).
    pub fn heap() -> Arena {
        Arena { map: None, next: 0 }
    }

    /// An empty run with room for `n` values of `T`: carved from the mapping if it fits,
    /// otherwise on the heap.
    pub fn run<T: Copy>(&mut self, n: usize) -> Run<T> {
        let heap = || Run {
            store: Store::Heap(Vec::with_capacity(n)),
        };
        let Some((map, base)) = &self.map else {
            return heap();
        };
        let start = self
            .next
            .next_multiple_of(ALIGN.max(std::mem::align_of::<T>()));
        let end = n
            .checked_mul(std::mem::size_of::<T>())
            .and_then(|bytes| bytes.checked_add(start));
        let Some(end) = end.filter(|&end| end <= map.len()) else {
            return heap();
        };
        self.next = end;
        // In bounds (end ≤ len), aligned for T (the mapping starts on a page), and never handed
        // out again: this run owns bytes start..end of the mapping while it holds the Arc.
        let ptr = NonNull::new(base.as_ptr().wrapping_add(start).cast::<T>());
        match ptr {
            Some(ptr) => Run {
                store: Store::Mapped {
                    _map: Arc::clone(map),
                    ptr,
                    len: 0,
                    cap: n,
                },
            },
            None => heap(),
        }
    }
}

/// Values of one kind, in order: a slice once filled.
pub struct Run<T: Copy> {
    store: Store<T>,
}

enum Store<T> {
    Heap(Vec<T>),
    Mapped {
        /// Keeps the mapping alive while the run points into it.
        _map: Arc<MmapMut>,
        ptr: NonNull<T>,
        /// Values written, and room for.
        len: usize,
        cap: usize,
    },
}

// SAFETY: a mapped run owns its bytes of the mapping alone (`Arena::run` never hands them out
// twice) and the mapping outlives it (the Arc): sending it is sending a `Vec<T>`.
unsafe impl<T: Copy + Send> Send for Run<T> {}
// SAFETY: as for Send; `&Run` only reads (`Deref`), as `&Vec<T>` does.
unsafe impl<T: Copy + Sync> Sync for Run<T> {}

impl<T: Copy> Run<T> {
    /// Appends `v`; a full mapped run moves to the heap first.
    pub fn push(&mut self, v: T) {
        match &mut self.store {
            Store::Heap(vec) => vec.push(v),
            Store::Mapped { ptr, len, cap, .. } if *len < *cap => {
                // SAFETY: within this run's own bytes (len < cap, carved for `cap` values of T,
                // aligned for T), which nothing else reads or writes.
                unsafe { ptr.as_ptr().add(*len).write(v) };
                *len += 1;
            }
            Store::Mapped { .. } => {
                let mut vec = Vec::with_capacity(self.len() * 2);
                vec.extend_from_slice(self);
                vec.push(v);
                self.store = Store::Heap(vec);
            }
        }
    }

    /// Whether the values live in an arena's mapping.
    #[cfg(test)]
    pub fn is_mapped(&self) -> bool {
        matches!(self.store, Store::Mapped { .. })
    }
}

impl<T: Copy> Extend<T> for Run<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

impl<T: Copy> Deref for Run<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.store {
            Store::Heap(vec) => vec,
            // SAFETY: the first `len` values of this run's bytes, all written by `push`; the Arc
            // keeps the mapping alive as long as `self`.
            Store::Mapped { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), *len)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_carved_in_order_aligned_and_apart() {
        let mut arena = Arena::new(4096);
        let mut a: Run<u32> = arena.run(10);
        let mut b: Run<[u8; 20]> = arena.run(100);
        a.extend(0..10);
        b.extend((0..100u8).map(|i| [i; 20]));
        assert!(a.is_mapped() && b.is_mapped());
        assert_eq!(&a[..], (0..10).collect::<Vec<u32>>());
        assert!(b.iter().enumerate().all(|(i, v)| *v == [i as u8; 20]));
        let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
        assert_eq!(pa % ALIGN, 0);
        assert_eq!(pb % ALIGN, 0);
        assert!(pb >= pa + 40, "b starts after a's 40 bytes");
        // 64 + 2000 bytes used: 2000 more do not fit, so that run goes to the heap.
        let c: Run<[u8; 20]> = arena.run(100);
        assert!(!c.is_mapped());
        let d: Run<u8> = arena.run(1000);
        assert!(
            d.is_mapped(),
            "a run that fits after one that did not is still carved"
        );
    }

    #[test]
    fn a_run_past_its_room_moves_to_the_heap_whole() {
        let mut arena = Arena::new(1 << 20);
        let mut a: Run<u16> = arena.run(3);
        a.extend([1, 2, 3, 4, 5]);
        assert!(!a.is_mapped());
        assert_eq!(&a[..], [1, 2, 3, 4, 5]);
        // The mapping outlives the arena while a run points into it.
        let mut b: Run<u64> = arena.run(2);
        drop(arena);
        b.extend([7, 8]);
        assert!(b.is_mapped());
        assert_eq!(&b[..], [7, 8]);
    }

    #[test]
    fn without_a_mapping_every_run_is_on_the_heap() {
        for mut arena in [Arena::heap(), Arena::new(0)] {
            let mut a: Run<f32> = arena.run(4);
            a.extend([1.0, 2.0]);
            assert!(!a.is_mapped());
            assert_eq!(&a[..], [1.0, 2.0]);
        }
    }

    #[test]
    fn runs_are_shared_between_threads() {
        let mut arena = Arena::new(1 << 16);
        let mut a: Run<u32> = arena.run(1000);
        a.extend(0..1000);
        let a = Arc::new(a);
        let sums: Vec<u64> = (0..2)
            .map(|_| {
                let a = Arc::clone(&a);
                std::thread::spawn(move || a.iter().map(|&v| u64::from(v)).sum())
            })
            .map(|t| t.join().unwrap_or(0))
            .collect();
        assert_eq!(sums, [499_500, 499_500]);
    }
}
