//! What went wrong while reading the evidence: the [`Warning`] kinds with
//! their names and count units, the detail [`Message`]s printed on standard
//! error, and the end-of-run [`Summary`].

use std::collections::BTreeMap;
use std::fmt;

/// One kind of trouble met while analysing a capture. The summary counts
/// each kind (in the unit [`Warning::counts`] names); the first few
/// occurrences per capture also get a detail [`Message`]; the kinds that
/// concern one session are counted again, per session, in the sessions
/// report's `warnings` column under [`Warning::session_key`].
///
/// Declared in the order of their names, which is the order the summary
/// lists them in (a test keeps the two in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Warning {
    BadTimeResolution,
    CaptureResynced,
    CommandNotInHelpList,
    DataConnectionIdle,
    DataConnectionNeverSeen,
    DataTrackingCapHit,
    FlowEvicted,
    FlowTableFull,
    FragmentCapHit,
    FragmentOverlapDiffers,
    FragmentsIncomplete,
    FragmentTooLarge,
    GapInStream,
    IdleFlowClosed,
    LineCutByGap,
    LineOverLengthCap,
    ReplyCodeMismatch,
    OverlapDiffers,
    UndeclaredInterface,
    PendingCapHit,
    ReassemblyCapHit,
    ReplyLineCapHit,
    ReplyLostInGap,
    UnpairedReply,
    RowsOutOfOrder,
    OutOfWindow,
    SessionEncrypted,
    SessionEvicted,
    SubnegotiationAsData,
    TimestampBackwards,
    TotalBufferCapHit,
    TranscriptCapHit,
    UnparsableServerLine,
}

impl Warning {
    pub const ALL: [Warning; 33] = [
        Warning::BadTimeResolution,
        Warning::CaptureResynced,
        Warning::CommandNotInHelpList,
        Warning::DataConnectionIdle,
        Warning::DataConnectionNeverSeen,
        Warning::DataTrackingCapHit,
        Warning::FlowEvicted,
        Warning::FlowTableFull,
        Warning::FragmentCapHit,
        Warning::FragmentOverlapDiffers,
        Warning::FragmentsIncomplete,
        Warning::FragmentTooLarge,
        Warning::GapInStream,
        Warning::IdleFlowClosed,
        Warning::LineCutByGap,
        Warning::LineOverLengthCap,
        Warning::ReplyCodeMismatch,
        Warning::OverlapDiffers,
        Warning::UndeclaredInterface,
        Warning::PendingCapHit,
        Warning::ReassemblyCapHit,
        Warning::ReplyLineCapHit,
        Warning::ReplyLostInGap,
        Warning::UnpairedReply,
        Warning::RowsOutOfOrder,
        Warning::OutOfWindow,
        Warning::SessionEncrypted,
        Warning::SessionEvicted,
        Warning::SubnegotiationAsData,
        Warning::TimestampBackwards,
        Warning::TotalBufferCapHit,
        Warning::TranscriptCapHit,
        Warning::UnparsableServerLine,
    ];

    /// The name in the summary line and in detail messages' context.
    pub fn name(self) -> &'static str {
        match self {
            Warning::BadTimeResolution => "bad time resolution",
            Warning::CaptureResynced => "capture resynchronised after corrupt bytes",
            Warning::CommandNotInHelpList => "command not in server's HELP list",
            Warning::DataConnectionIdle => "data connection idle, closed",
            Warning::DataConnectionNeverSeen => "data connection never seen",
            Warning::DataTrackingCapHit => "data tracking cap hit",
            Warning::FlowEvicted => "flow evicted (flow table full)",
            Warning::FlowTableFull => "flow table full",
            Warning::FragmentCapHit => "fragment cap hit",
            Warning::FragmentOverlapDiffers => "fragment overlap differs",
            Warning::FragmentsIncomplete => "fragmented datagram incomplete",
            Warning::FragmentTooLarge => "fragmented datagram too large",
            Warning::GapInStream => "gap in stream",
            Warning::IdleFlowClosed => "idle flow closed",
            Warning::LineCutByGap => "line cut by a gap",
            Warning::LineOverLengthCap => "line over length cap",
            Warning::ReplyCodeMismatch => "multi-line reply code mismatch",
            Warning::OverlapDiffers => "overlapping bytes differ",
            Warning::UndeclaredInterface => "packet on undeclared interface",

            Warning::PendingCapHit => "pending command cap hit",
            Warning::ReassemblyCapHit => "reassembly cap hit",
            Warning::ReplyLineCapHit => "reply line cap hit",
            Warning::ReplyLostInGap => "reply lost in gap",
            Warning::UnpairedReply => "reply without command",
            Warning::RowsOutOfOrder => "rows out of order",
            Warning::OutOfWindow => "segment out of window",
            Warning::SessionEncrypted => "session encrypted (AUTH TLS)",
            Warning::SessionEvicted => "session evicted (flow table full)",
            Warning::SubnegotiationAsData => "telnet sub-negotiation taken as data",
            Warning::TimestampBackwards => "timestamp earlier than the frame before",
            Warning::TotalBufferCapHit => "total buffer cap hit",
            Warning::TranscriptCapHit => "transcript cap hit",
            Warning::UnparsableServerLine => "unparsable server line",
        }
    }

    /// What one count of this kind in the summary is.
    pub fn counts(self) -> &'static str {
        match self {
            Warning::BadTimeResolution => "interface description",
            Warning::CaptureResynced => "damaged region",
            Warning::UndeclaredInterface | Warning::TimestampBackwards | Warning::FlowTableFull => "frame",
            Warning::DataConnectionNeverSeen | Warning::DataTrackingCapHit => "announced data connection",
            Warning::DataConnectionIdle => "data connection",
            Warning::FlowEvicted => "flow",
            Warning::FragmentCapHit | Warning::FragmentsIncomplete | Warning::FragmentTooLarge => "datagram",
            Warning::FragmentOverlapDiffers => "fragment",
            Warning::GapInStream => "gap",
            Warning::OverlapDiffers => "overlap",
            Warning::RowsOutOfOrder => "row written early",
            Warning::TotalBufferCapHit => "segment",
            // One per session affected; the sessions report has the
            // session's own count.
            Warning::CommandNotInHelpList
            | Warning::IdleFlowClosed
            | Warning::LineOverLengthCap
            | Warning::ReplyCodeMismatch
            | Warning::LineCutByGap
            | Warning::PendingCapHit
            | Warning::ReassemblyCapHit
            | Warning::ReplyLineCapHit
            | Warning::ReplyLostInGap
            | Warning::UnpairedReply
            | Warning::OutOfWindow
            | Warning::SessionEncrypted
            | Warning::SessionEvicted
            | Warning::SubnegotiationAsData
            | Warning::TranscriptCapHit
            | Warning::UnparsableServerLine => "session",
        }
    }

    /// The key of this kind in the sessions report's `warnings` column
    /// (`key=count`, counting lines, replies, gaps… of that session), for
    /// the kinds that are counted per session.
    pub fn session_key(self) -> Option<&'static str> {
        Some(match self {
            Warning::GapInStream => "gaps",
            Warning::ReassemblyCapHit => "reassembly-cap",
            Warning::UnparsableServerLine => "garbage-lines",
            Warning::UnpairedReply => "unpaired-replies",
            Warning::ReplyLostInGap => "replies-lost-in-gap",
            Warning::PendingCapHit => "pending-cap",
            Warning::ReplyCodeMismatch => "code-mismatch",
            Warning::LineOverLengthCap => "long-lines",
            Warning::ReplyLineCapHit => "reply-line-cap",
            Warning::LineCutByGap => "cut-lines",
            Warning::SubnegotiationAsData => "telnet-sb-as-data",
            _ => return None,
        })
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counts by [`Warning`] kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningCounts([u64; Warning::ALL.len()]);

impl Default for WarningCounts {
    fn default() -> Self {
        WarningCounts([0; Warning::ALL.len()])
    }
}

impl WarningCounts {
    pub fn add(&mut self, kind: Warning, n: u64) {
        self.0[kind as usize] += n;
    }

    pub fn get(&self, kind: Warning) -> u64 {
        self.0[kind as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&n| n == 0)
    }

    /// The kinds counted at least once, in the order of their names.
    pub fn iter(&self) -> impl Iterator<Item = (Warning, u64)> + '_ {
        Warning::ALL.iter().map(|&w| (w, self.get(w))).filter(|&(_, n)| n > 0)
    }
}

/// A detail line for standard error: `capture: [session N: ]text`. The
/// session number is kept apart from the text so that the driver can shift
/// it when captures analysed in parallel are put back in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub capture: String,
    pub session: Option<u64>,
    pub text: String,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.session {
            Some(id) => write!(f, "{}: session {id}: {}", self.capture, self.text),
            None => write!(f, "{}: {}", self.capture, self.text),
        }
    }
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub captures: u64,
    pub frames: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub sessions: u64,
    pub replies_by_code: BTreeMap<u16, u64>,
    pub rows: u64,
    pub warnings: WarningCounts,
    /// Frames not analysed, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Summary {
    /// Adds another run's counts (parallel jobs).
    pub fn merge(&mut self, o: &Summary) {
        self.captures += o.captures;
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.tcp_segments += o.tcp_segments;
        self.sessions += o.sessions;
        self.rows += o.rows;
        for (k, v) in &o.replies_by_code {
            *self.replies_by_code.entry(*k).or_insert(0) += v;
        }
        for (k, v) in o.warnings.iter() {
            self.warnings.add(k, v);
        }
        for (k, v) in &o.skipped {
            *self.skipped.entry(k).or_insert(0) += v;
        }
    }

    /// The short end-of-run summary for standard error.
    pub fn text(&self) -> String {
        let code = |c: u16| self.replies_by_code.get(&c).copied().unwrap_or(0);
        let mut out = format!(
            "ftpcap: {} capture(s), {} frames, {} bytes, {} FTP session(s), {} × 214, {} × 503, {} row(s)\n",
            self.captures,
            self.frames,
            self.bytes,
            self.sessions,
            code(214),
            code(503),
            self.rows
        );
        if !self.warnings.is_empty() {
            let parts: Vec<String> = self.warnings.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            out.push_str(&format!("ftpcap: warnings: {}\n", parts.join(", ")));
        }
        if !self.skipped.is_empty() {
            let parts: Vec<String> = self.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            out.push_str(&format!("ftpcap: frames skipped: {}\n", parts.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_declared_in_the_order_of_their_names() {
        for (i, w) in Warning::ALL.iter().enumerate() {
            assert_eq!(*w as usize, i, "{w:?} out of place in ALL");
        }
        let names: Vec<&str> = Warning::ALL.iter().map(|w| w.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn session_keys_are_distinct() {
        let mut keys: Vec<&str> = Warning::ALL.iter().filter_map(|w| w.session_key()).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn messages_name_their_session() {
        let m = Message { capture: "a.pcap".into(), session: Some(3), text: "gap".into() };
        assert_eq!(m.to_string(), "a.pcap: session 3: gap");
        let m = Message { session: None, ..m };
        assert_eq!(m.to_string(), "a.pcap: gap");
    }
}
