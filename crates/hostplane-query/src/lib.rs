//! hostplane-query: ZStack's query language. (Being written; see the crate's README.)
