//! The one wasmtime `Engine`: pooling allocator, epoch interruption, and the
//! thread that ticks the epoch.

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

/// How often the epoch advances. Every running guest yields to the scheduler
/// at each tick, so this is also the time slice of a CPU-bound guest.
pub const EPOCH_TICK: Duration = Duration::from_micros(250);

pub fn build(config: &RuntimeConfig) -> wasmtime::Result<Engine> {
    let slots = config.max_instances;
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
        .table_elements(100_000);
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
    spawn_epoch_ticker(&engine)?;
    Ok(engine)
}

/// Ticks the epoch from a plain thread, which ends when the engine is gone.
fn spawn_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new().name("sonde-epoch".into()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    })?;
    Ok(())
}
