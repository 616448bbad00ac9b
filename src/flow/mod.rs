//! Stage 2: TCP streams. [`reassembly`] turns the segments of one direction
//! into ordered bytes with explicit gaps and overlap conflicts.

pub mod hash;
pub mod reassembly;

pub use hash::{BuildFlowHasher, FlowMap};
pub use reassembly::{Origin, OverlapPolicy, Reassembler, ReassemblyLimits, ReassemblyStats, StreamEvent};
