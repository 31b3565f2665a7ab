//! Snapshots taken apart and put back together, for tests that build snapshots which are
//! well framed but say something wrong. Shared by the snapshot test modules.

pub fn crc(bytes: &[u8]) -> u32 {
    // CRC-32 (IEEE, reflected), bit by bit: an independent implementation of the spec's
    // checksum, so the tests check the format, not crc32fast against itself.
    let mut crc = u32::MAX;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The kind of the journal position section (optional: bit 31 set).
pub const JOURNAL_POSITION: u32 = 0x8000_0001;

/// A snapshot taken apart: header and sections (kind, payload), reassembled with fresh
/// checksums, to build snapshots that are well framed but say something wrong.
#[derive(Clone, Debug)]
pub struct Parts {
    pub header: Vec<u8>,
    pub sections: Vec<(u32, Vec<u8>)>,
}

impl Parts {
    pub fn split(bytes: &[u8]) -> Parts {
        let header = bytes[..12].to_vec();
        let mut sections = Vec::new();
        let mut at = 12;
        while at < bytes.len() {
            let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
            let payload = bytes[at + 12..at + 12 + len].to_vec();
            let stored =
                u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(stored, crc(&bytes[at..at + 12 + len]), "the spec's CRC-32");
            sections.push((kind, payload));
            at += 16 + len;
        }
        Parts { header, sections }
    }

    pub fn join(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for (kind, payload) in &self.sections {
            let start = out.len();
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(payload);
            let c = crc(&out[start..]);
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    /// Fixes the end section's count after sections were added or removed.
    pub fn recount(&mut self) {
        let n = self.sections.len() as u32 - 1;
        if let Some((_, p)) = self.sections.last_mut() {
            *p = n.to_le_bytes().to_vec();
        }
    }

    /// The same snapshot with `sections` inserted before the end section.
    pub fn with(&self, sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut p = self.clone();
        let end = p.sections.pop().unwrap();
        p.sections.extend_from_slice(sections);
        p.sections
            .push((end.0, (p.sections.len() as u32).to_le_bytes().to_vec()));
        p.join()
    }

    /// The same snapshot without its journal position section (stores built by different
    /// sequences of changes hold the same state at different positions).
    pub fn without_journal(bytes: &[u8]) -> Vec<u8> {
        let mut p = Parts::split(bytes);
        p.sections.retain(|(kind, _)| *kind != JOURNAL_POSITION);
        p.recount();
        p.join()
    }

    pub fn kinds(&self) -> Vec<u32> {
        self.sections.iter().map(|(k, _)| *k).collect()
    }

    /// Byte offset of section `i`.
    pub fn offset(&self, i: usize) -> usize {
        12 + self.sections[..i]
            .iter()
            .map(|(_, p)| 16 + p.len())
            .sum::<usize>()
    }
}

/// Asserts that every single-byte corruption of `bytes` (four patterns per byte) is
/// refused by `load` without a panic, and so is every truncation.
pub fn assert_every_damage_refused<T, E>(bytes: &[u8], load: impl Fn(&[u8]) -> Result<T, E>) {
    let mut copy = bytes.to_vec();
    for i in 0..bytes.len() {
        for pattern in [0x01u8, 0x80, 0xFF, 0x5A] {
            copy[i] = bytes[i] ^ pattern;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&copy[..])));
            match r {
                Ok(Err(_)) => {}
                Ok(Ok(_)) => panic!("byte {i} ^ {pattern:#04x} loaded"),
                Err(_) => panic!("byte {i} ^ {pattern:#04x} panicked"),
            }
        }
        copy[i] = bytes[i];
    }
    for len in 0..bytes.len() {
        assert!(load(&bytes[..len]).is_err(), "truncated to {len} bytes");
    }
}
