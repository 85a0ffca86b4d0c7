//! Integration tests of keel-auth (one test binary, as in every Keel crate).

mod differential;
