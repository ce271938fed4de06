//! The one wasmtime `Engine`: pooling allocator, epoch interruption, and the
//! thread that ticks the epoch while guests run.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeConfig;

/// How the pooling allocator gives a slot back after a check.
///
/// By default wasmtime `madvise`s a freed slot's memory and tables away, so
/// the next check faults every page back in, and each `madvise` on this
/// multi-threaded process sends TLB-shootdown interrupts to the other core:
/// in the first profiles a fifth of all samples. Sonde's default keeps the
/// pages a check touched resident and resets them in place, finding them
/// with Linux's `PAGEMAP_SCAN` (6.7+; else the low addresses are `memset`).
/// `cargo bench --bench runtime` measures both side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolTuning {
    /// Bytes of each linear memory reset in place instead of decommitted.
    pub memory_keep_resident: usize,
    /// Bytes of each table reset in place instead of decommitted.
    pub table_keep_resident: usize,
    /// Decommits gathered into one batch (1: none gathered).
    pub decommit_batch_size: usize,
    /// Find dirty pages with `PAGEMAP_SCAN` where the kernel has it.
    pub pagemap_scan: bool,
}

impl PoolTuning {
    /// wasmtime's own defaults: decommit everything, one by one.
    pub const WASMTIME: Self =
        Self { memory_keep_resident: 0, table_keep_resident: 0, decommit_batch_size: 1, pagemap_scan: false };
}

impl Default for PoolTuning {
    fn default() -> Self {
        Self {
            memory_keep_resident: 4 << 20,
            table_keep_resident: 64 << 10,
            decommit_batch_size: 32,
            pagemap_scan: true,
        }
    }
}

/// Table elements one check may hold, all of its tables together (each
/// costs the host a pointer or two); the pool's bound on each table too.
pub const TABLE_ELEMENTS: usize = 100_000;

pub fn build(config: &RuntimeConfig) -> wasmtime::Result<(Engine, Ticker)> {
    // Freed slots wait in per-core decommit queues, up to (batch - 1) per
    // queue, before they can be handed out again: room for those beyond
    // `max_instances`, so that many checks at once never find the pool full.
    let queues = std::thread::available_parallelism().map_or(1, usize::from).min(16);
    let queued = queues * config.pool.decommit_batch_size.saturating_sub(1);
    let slots = config.max_instances.saturating_add(u32::try_from(queued).unwrap_or(u32::MAX));
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_memories(slots)
        .total_tables(slots * 4)
        .total_core_instances(slots * 4)
        .total_stacks(slots)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_memory_size(config.memory_limit)
        .table_elements(TABLE_ELEMENTS);
    let tuning = config.pool;
    pool.linear_memory_keep_resident(tuning.memory_keep_resident)
        .table_keep_resident(tuning.table_keep_resident)
        .decommit_batch_size(tuning.decommit_batch_size)
        .pagemap_scan(if tuning.pagemap_scan { Enabled::Auto } else { Enabled::No });

    let mut c = Config::new();
    c.epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .max_wasm_stack(config.wasm_stack)
        .async_stack_size(config.wasm_stack + 1024 * 1024)
        .parallel_compilation(true);
    let engine = Engine::new(&c)?;
    let ticker = Ticker::spawn(&engine, config.time_slice)?;
    Ok((engine, ticker))
}

/// The thread that ticks the epoch, every time slice while any guest may be
/// running and not at all while none is: an idle service does not wake up
/// thousands of times a second.
#[derive(Debug, Clone)]
pub struct Ticker(Arc<TickerState>);

#[derive(Debug)]
struct TickerState {
    /// Stores alive (each may run a guest).
    live: AtomicUsize,
    /// Ticks so far (what the tests watch).
    ticks: AtomicU64,
    thread: OnceLock<std::thread::Thread>,
}

/// Held by every store: keeps the epoch ticking while it lives.
#[derive(Debug)]
pub struct Ticking(Arc<TickerState>);

impl Ticker {
    /// Ticks `engine` every `slice`, from a plain thread that ends when the
    /// engine is gone.
    fn spawn(engine: &Engine, slice: Duration) -> std::io::Result<Self> {
        let weak = engine.weak();
        let state = Arc::new(TickerState {
            live: AtomicUsize::new(0),
            ticks: AtomicU64::new(0),
            thread: OnceLock::new(),
        });
        let ticking = Arc::clone(&state);
        let handle = std::thread::Builder::new().name("sonde-epoch".into()).spawn(move || {
            while let Some(engine) = weak.upgrade() {
                if ticking.live.load(Ordering::Acquire) == 0 {
                    drop(engine);
                    // Woken by the next store; the timeout lets the thread
                    // notice a dropped engine.
                    std::thread::park_timeout(Duration::from_secs(1));
                    continue;
                }
                engine.increment_epoch();
                ticking.ticks.fetch_add(1, Ordering::Relaxed);
                drop(engine);
                std::thread::sleep(slice);
            }
        })?;
        // Set before any store can hold the ticker (it is not returned yet).
        let _ = state.thread.set(handle.thread().clone());
        Ok(Self(state))
    }

    /// Keeps the epoch ticking until the returned guard is dropped.
    pub fn hold(&self) -> Ticking {
        if self.0.live.fetch_add(1, Ordering::AcqRel) == 0
            && let Some(thread) = self.0.thread.get()
        {
            thread.unpark();
        }
        Ticking(Arc::clone(&self.0))
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_ticks_only_while_a_store_is_held() {
        let engine = Engine::default();
        let ticker = Ticker::spawn(&engine, Duration::from_micros(100)).expect("ticker");
        let ticks = || ticker.0.ticks.load(Ordering::Acquire);
        std::thread::sleep(Duration::from_millis(20));
        let idle = ticks();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(ticks(), idle, "ticked with no store alive");
        let held = ticker.hold();
        std::thread::sleep(Duration::from_millis(50));
        assert!(ticks() > idle + 10, "only {} ticks in 50 ms with a store alive", ticks() - idle);
        drop(held);
        std::thread::sleep(Duration::from_millis(20));
        let stopped = ticks();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(ticks(), stopped, "kept ticking after the last store");
    }
}
