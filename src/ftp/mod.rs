//! Stage 3: the FTP control protocol.
//!
//! [`lines`] frames the byte streams into lines, [`command`] and [`reply`]
//! parse them, [`pairing`] says which command each reply answers, [`rules`]
//! is the command-sequence checker that judges every command, [`session`]
//! drives them for one control connection and [`transcript`] records what a
//! selected session said.

pub mod command;
pub mod dataaddr;
pub mod identify;
pub mod lines;
pub mod pairing;
pub mod reply;
pub mod rules;
pub mod session;
pub mod transcript;

pub use command::Command;
pub use reply::Reply;
pub use session::{Exchange, Session, StopReason};
