//! An interpreter's root stack: the values an interpreter keeps for its frames
//! (locals, operands), each word marked as a reference or not. Every thread has
//! one ([`super::Thread::root_stack`]); the substrate reports its reference words
//! as roots of every collection, and a moving collector updates them in place,
//! so an interpreter built on it holds every reference precisely without a root
//! scanner of its own.

/// Value words and, for each, whether it holds a reference (a null reference is
/// a 0 word marked as a reference).
#[derive(Debug, Default)]
pub struct RootStack {
    /// The values, bottom first.
    pub words: Vec<u64>,
    /// `true` where `words` holds a reference.
    pub is_ref: Vec<bool>,
}

impl RootStack {
    /// Pushes a value; `is_ref` says whether the collector must treat it as a
    /// reference.
    #[inline]
    pub fn push(&mut self, word: u64, is_ref: bool) {
        self.words.push(word);
        self.is_ref.push(is_ref);
    }

    /// Pops the top value.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        self.is_ref.pop();
        self.words.pop()
    }

    /// The number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether it holds no value.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Drops every value above the first `len`.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.words.truncate(len);
        self.is_ref.truncate(len);
    }

    /// Calls `visit` on the address of each non-null reference word.
    pub(crate) fn for_each_ref_slot(&self, visit: &mut dyn FnMut(*const u64)) {
        for (w, r) in self.words.iter().zip(self.is_ref.iter()) {
            if *r && *w != 0 {
                visit(w as *const u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_non_null_references_only() {
        let mut rs = RootStack::default();
        rs.push(0x1000, true);
        rs.push(42, false);
        rs.push(0, true);
        rs.push(0x2000, true);
        let mut seen = Vec::new();
        rs.for_each_ref_slot(&mut |p| seen.push(unsafe { *p }));
        assert_eq!(seen, [0x1000, 0x2000]);
        rs.truncate(2);
        assert_eq!(rs.pop(), Some(42));
        assert_eq!(rs.len(), 1);
        assert!(!rs.is_empty());
    }
}
