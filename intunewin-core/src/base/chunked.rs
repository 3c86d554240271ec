//! A growable array kept in fixed-size chunks, for the per-entry state that a read of a
//! package with a million entries holds until its end (issue 14).
//!
//! A `Vec` doubles by moving everything it holds into a new block, so while it grows to N
//! bytes, N/2 old and N new bytes are live at once, and an allocator that keeps freed blocks
//! for reuse keeps the old ones resident for a while. A [`ChunkedVec`] only ever adds a chunk:
//! its memory is what it holds plus at most one chunk.

/// Bytes per chunk.
const CHUNK_BYTES: usize = 1 << 20;

/// A growable array of `Copy` values in chunks of [`CHUNK_BYTES`] that are never moved.
#[derive(Debug)]
pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Copy + Default> ChunkedVec<T> {
    /// Elements per chunk.
    const PER_CHUNK: usize = {
        let size = std::mem::size_of::<T>();
        if size == 0 || size >= CHUNK_BYTES {
            1
        } else {
            CHUNK_BYTES / size
        }
    };

    /// An empty array.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends `value`.
    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::PER_CHUNK => chunk.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(Self::PER_CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Appends every value of `values`.
    pub(crate) fn extend_from_slice(&mut self, values: &[T]) {
        for &v in values {
            self.push(v);
        }
    }

    /// Grows to `len` elements with default values (never shrinks).
    pub(crate) fn grow_to(&mut self, len: usize) {
        while self.len < len {
            self.push(T::default());
        }
    }

    /// The element at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<T> {
        let chunk = self.chunks.get(index / Self::PER_CHUNK)?;
        chunk.get(index % Self::PER_CHUNK).copied()
    }

    /// Replaces the element at `index`; nothing happens past the end.
    pub(crate) fn set(&mut self, index: usize, value: T) {
        let slot = self
            .chunks
            .get_mut(index / Self::PER_CHUNK)
            .and_then(|c| c.get_mut(index % Self::PER_CHUNK));
        if let Some(slot) = slot {
            *slot = value;
        }
    }

    /// `len` elements from `start` (fewer past the end).
    pub(crate) fn copy_range(&self, start: usize, len: usize) -> Vec<T> {
        (start..start.saturating_add(len))
            .map_while(|i| self.get(i))
            .collect()
    }

    /// The chunks in order, each a run of consecutive elements (all full but the last).
    pub(crate) fn chunks(&self) -> &[Vec<T>] {
        &self.chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_keep_their_places_across_chunks() {
        let mut v: ChunkedVec<u64> = ChunkedVec::new();
        let n = 3 * ChunkedVec::<u64>::PER_CHUNK + 5;
        for i in 0..n as u64 {
            v.push(i * 3);
        }
        assert_eq!(v.len(), n);
        assert_eq!(v.chunks().len(), 4);
        assert_eq!(v.get(0), Some(0));
        assert_eq!(v.get(n - 1), Some((n as u64 - 1) * 3));
        assert_eq!(v.get(n), None);
        v.set(ChunkedVec::<u64>::PER_CHUNK, 7);
        assert_eq!(v.get(ChunkedVec::<u64>::PER_CHUNK), Some(7));
        v.grow_to(n + 2);
        assert_eq!((v.len(), v.get(n + 1)), (n + 2, Some(0)));
        let per = ChunkedVec::<u64>::PER_CHUNK;
        assert_eq!(
            v.copy_range(per - 1, 3),
            [(per as u64 - 1) * 3, 7, (per as u64 + 1) * 3]
        );
        assert_eq!(v.copy_range(n + 1, 5), [0]);
    }
}
