//! Stage 1: capture files to TCP segments.
//!
//! [`reader`] streams pcap/pcapng records with constant memory; [`link`]
//! decodes link, IP and TCP headers, through the tunnels [`tunnel`] knows;
//! [`fragments`] puts fragmented IP datagrams back together; [`time`]
//! formats capture timestamps.

pub mod fragments;
pub mod link;
pub mod reader;
pub mod time;
pub mod tunnel;

pub use link::{decode_tcp, decode_tcp_wanted, SkipReason, TcpFlags, TcpSegment};
pub use reader::{CaptureProblem, CaptureReader, Format, Frame, ReadWarning};
pub use time::Timestamp;
