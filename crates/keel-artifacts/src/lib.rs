//! Artifact storage: validated artifact paths and the stores that hold artifact bytes.
//!
//! Every path a client sends is parsed once into an [`ArtifactPath`], which cannot name anything
//! outside the artifact root; stores only ever accept that type.

pub mod local;
pub mod path;
pub mod uri;

pub use local::{FileInfo, LocalArtifactStore};
pub use path::ArtifactPath;
pub use uri::proxied_path;
