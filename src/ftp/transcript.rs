//! Recording one session's annotated transcript (`ftpcap transcript`),
//! within a memory budget.

use super::command::Command;
use super::reply::Reply;

/// Most bytes (estimated) one session's transcript keeps in memory.
pub const TRANSCRIPT_BUDGET: usize = 8 << 20;

/// One line of an annotated transcript (`ftpcap transcript`).
#[derive(Debug, Clone)]
pub enum TranscriptEntry {
    Command(Command),
    Reply {
        reply: Reply,
        /// The rule the answered command broke (judged at its first reply).
        rule: Option<&'static str>,
    },
    /// A remark in stream order (gaps, encryption).
    Note {
        frame: u64,
        ts: crate::capture::Timestamp,
        text: String,
    },
}

impl TranscriptEntry {
    pub fn frame(&self) -> u64 {
        match self {
            TranscriptEntry::Command(c) => c.origin.frame,
            TranscriptEntry::Reply { reply, .. } => reply.origin.frame,
            TranscriptEntry::Note { frame, .. } => *frame,
        }
    }

    /// Estimated bytes the entry holds: wire bytes plus the entry and
    /// allocation overheads.
    fn size(&self) -> usize {
        256 + match self {
            TranscriptEntry::Command(c) => c.raw.len(),
            TranscriptEntry::Reply { reply, .. } => reply.text().len() + 48 * reply.lines().len(),
            TranscriptEntry::Note { text, .. } => text.len(),
        }
    }
}

/// A session's transcript: recorded only for sessions selected for
/// `ftpcap transcript` ([`TranscriptRecorder::start`]), kept while
/// [`TRANSCRIPT_BUDGET`] lasts; later entries are only counted.
#[derive(Debug, Default)]
pub struct TranscriptRecorder {
    /// None unless recording.
    entries: Option<Vec<TranscriptEntry>>,
    /// Estimated bytes held in `entries`.
    bytes: usize,
    /// Entries not kept once the budget was spent.
    dropped: u64,
}

impl TranscriptRecorder {
    /// Records from now on.
    pub fn start(&mut self) {
        self.entries = Some(Vec::new());
    }

    pub fn is_recording(&self) -> bool {
        self.entries.is_some()
    }

    /// Entries not kept once the budget was spent.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The entries recorded, if recording; recording stops (the count of
    /// dropped entries stays).
    pub fn take(&mut self) -> Option<Vec<TranscriptEntry>> {
        self.entries.take()
    }

    /// Keeps an entry while the memory budget lasts; later ones are only
    /// counted. Nothing when not recording.
    pub fn record(&mut self, entry: TranscriptEntry) {
        let Some(entries) = &mut self.entries else { return };
        let size = entry.size();
        if self.bytes + size > TRANSCRIPT_BUDGET {
            self.dropped += 1;
            return;
        }
        self.bytes += size;
        entries.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn note(text: &str) -> TranscriptEntry {
        TranscriptEntry::Note { frame: 1, ts: Timestamp::default(), text: text.into() }
    }

    #[test]
    fn nothing_is_kept_unless_recording() {
        let mut t = TranscriptRecorder::default();
        t.record(note("x"));
        assert!(!t.is_recording());
        assert!(t.take().is_none());
        assert_eq!(t.dropped(), 0);
    }

    #[test]
    fn memory_is_bounded_and_the_rest_counted() {
        let mut t = TranscriptRecorder::default();
        t.start();
        let text = "A".repeat(1000);
        let n = 2 * TRANSCRIPT_BUDGET / text.len();
        for _ in 0..n {
            t.record(note(&text));
        }
        let dropped = t.dropped();
        let kept = t.take().unwrap();
        assert_eq!(kept.len(), TRANSCRIPT_BUDGET / (256 + text.len()));
        assert_eq!(dropped as usize + kept.len(), n);
        // Taking the entries stops recording; the count stays.
        assert!(!t.is_recording());
        assert_eq!(t.dropped(), dropped);
    }
}
