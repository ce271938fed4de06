//! Per-check resource limits, applied through wasmtime's `ResourceLimiter`.
//!
//! The pooling allocator already caps every memory at the engine's maximum;
//! this limiter enforces the (possibly smaller) per-check cap and turns a
//! refused growth into a typed trap, so the outcome can say "memory limit
//! exceeded" instead of a generic crash.

use wasmtime::ResourceLimiter;

/// Raised from `memory.grow` when a check asks for more than its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: asked for {desired} bytes, cap is {cap} bytes")]
pub struct MemoryLimitExceeded {
    pub desired: usize,
    pub cap: usize,
}

#[derive(Debug)]
pub struct Limits {
    pub memory_bytes: usize,
    pub table_elements: usize,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(MemoryLimitExceeded { desired, cap: self.memory_bytes }.into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
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
