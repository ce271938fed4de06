//! The one wasmtime `Engine`: pooling allocator, epoch interruption, and the
//! thread that ticks the epoch.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeConfig;

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
