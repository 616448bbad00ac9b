//! Stage 2: TCP streams. [`table`] keeps the flows of a capture (eviction,
//! idle sweep); [`reassembly`] turns the segments of one direction into
//! ordered bytes with explicit gaps and overlap conflicts.

pub mod causal;
pub mod closed;
pub mod hash;
pub mod reassembly;
pub mod table;

pub use hash::{BuildFlowHasher, FlowMap};
pub use reassembly::{Origin, OverlapPolicy, Reassembler, ReassemblyStats, StreamEvent};
pub use table::{Endpoint, Evicted, FlowKey, FlowTable, Handshake, Slot, Tracked};
