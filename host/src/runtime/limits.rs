//! Per-check resource limits, applied through wasmtime's `ResourceLimiter`.
//!
//! The cap is on the check, not on each memory: a component may hold
//! several core instances, each with its own linear memory and tables, and
//! all of them together stay within `memory_bytes` and `table_elements`
//! (DESIGN §2 "memory"). wasmtime asks before creating a memory or table
//! (with `current` 0) and before every growth, one store at a time, so a
//! running sum of what was granted is exact. A refused memory growth is a
//! typed trap, so the outcome can say "memory limit exceeded" instead of a
//! generic crash. The pooling allocator also caps each memory at the
//! engine's maximum.

use wasmtime::ResourceLimiter;

/// Raised from `memory.grow` when a check asks for more than its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: asked for {desired} bytes in all, cap is {cap} bytes")]
pub struct MemoryLimitExceeded {
    pub desired: usize,
    pub cap: usize,
}

#[derive(Debug)]
pub struct Limits {
    /// Bytes of linear memory, all memories together.
    pub memory_bytes: usize,
    /// Elements, all tables together.
    pub table_elements: usize,
    /// Bytes granted so far, across memories.
    memory_used: usize,
    /// Elements granted so far, across tables.
    table_used: usize,
    /// The last growth granted, taken back if wasmtime then fails it.
    memory_pending: usize,
    table_pending: usize,
}

impl Limits {
    pub fn new(memory_bytes: usize, table_elements: usize) -> Self {
        Self {
            memory_bytes,
            table_elements,
            memory_used: 0,
            table_used: 0,
            memory_pending: 0,
            table_pending: 0,
        }
    }

    /// Bytes of linear memory the check holds, across its memories.
    pub fn memory_used(&self) -> usize {
        self.memory_used
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.memory_used.saturating_add(growth);
        if total > self.memory_bytes {
            return Err(MemoryLimitExceeded { desired: total, cap: self.memory_bytes }.into());
        }
        self.memory_used = total;
        self.memory_pending = growth;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_used -= std::mem::take(&mut self.memory_pending);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.table_used.saturating_add(growth);
        if total > self.table_elements {
            return Ok(false);
        }
        self.table_used = total;
        self.table_pending = growth;
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.table_used -= std::mem::take(&mut self.table_pending);
        Ok(())
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_cap_covers_all_memories_together() {
        let mut l = Limits::new(64 * MIB, 1000);
        // Four memories created, then each grown towards the cap.
        for _ in 0..4 {
            assert!(l.memory_growing(0, 64 << 10, None).expect("create"));
        }
        assert!(l.memory_growing(64 << 10, 40 * MIB, None).expect("first grows"));
        let e = l.memory_growing(64 << 10, 40 * MIB, None).expect_err("second passes the cap");
        assert!(e.downcast_ref::<MemoryLimitExceeded>().is_some(), "{e:?}");
        assert_eq!(l.memory_used(), 40 * MIB + 3 * (64 << 10));
    }

    #[test]
    fn a_failed_growth_is_given_back() {
        let mut l = Limits::new(64 * MIB, 1000);
        assert!(l.memory_growing(0, 60 * MIB, None).expect("grant"));
        l.memory_grow_failed(wasmtime::Error::msg("os refused")).expect("noted");
        assert_eq!(l.memory_used(), 0);
        assert!(l.memory_growing(0, 60 * MIB, None).expect("again"));
    }

    #[test]
    fn tables_share_one_element_budget() {
        let mut l = Limits::new(MIB, 1000);
        assert!(l.table_growing(0, 600, None).expect("first"));
        assert!(!l.table_growing(0, 600, None).expect("second refused"));
        assert!(l.table_growing(0, 400, None).expect("what is left"));
    }
}
