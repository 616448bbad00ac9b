//! Stage 3: the FTP control protocol.
//!
//! [`lines`] frames the byte streams into lines, [`command`] and [`reply`]
//! parse them, [`session`] pairs replies with commands, and [`rules`] is the
//! command-sequence checker that judges every command.

pub mod command;
pub mod dataaddr;
pub mod identify;
pub mod lines;
pub mod reply;
pub mod rules;
pub mod session;

pub use command::Command;
pub use reply::Reply;
pub use session::{Exchange, Session, SessionLimits, StopReason};
