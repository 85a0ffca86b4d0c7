//! Random, human-friendly run names ("brave-owl-417") and random IDs.

const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "daring",
    "eager", "fair", "fast", "fierce", "gentle", "glad", "grand", "honest", "humble", "keen",
    "kind", "lively", "loyal", "lucid", "merry", "mighty", "nimble", "noble", "polite", "proud",
    "quick", "quiet", "rare", "rustic", "sharp", "shy", "silent", "smart", "steady", "sunny",
    "swift", "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
];

const NOUNS: &[&str] = &[
    "ant", "bass", "bear", "bee", "bird", "boar", "carp", "cat", "colt", "crab", "crane", "crow",
    "deer", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "goat", "gull", "hare", "hawk",
    "heron", "ibis", "jay", "koala", "lark", "lynx", "mink", "mole", "moth", "newt", "owl",
    "panda", "perch", "pike", "quail", "ram", "robin", "seal", "shrew", "sloth", "snail", "swan",
    "toad", "trout", "vole", "wasp", "whale", "wolf", "wren", "yak",
];

/// A fresh random 128-bit value.
fn random_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// A name like "brave-owl-417".
pub fn random_run_name() -> String {
    let r = random_u128();
    let adjective = ADJECTIVES[(r % ADJECTIVES.len() as u128) as usize];
    let noun = NOUNS[((r >> 32) % NOUNS.len() as u128) as usize];
    let number = (r >> 64) % 1000;
    format!("{adjective}-{noun}-{number}")
}

/// A run ID: 32 lowercase hex characters, as MLflow uses.
pub fn new_run_id() -> String {
    new_uuid()
}

/// A logged model ID: `m-` and 32 lowercase hex characters, as MLflow uses.
pub fn new_logged_model_id() -> String {
    format!("m-{}", new_uuid())
}

/// A generic opaque ID (datasets and other internal rows).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A numeric experiment ID that sorts roughly by creation time and is unique across replicas:
/// the creation millisecond followed by six random digits (fits in an i64 for millennia).
pub fn new_experiment_id(now_millis: i64) -> String {
    let random = (random_u128() % 1_000_000) as i64;
    (now_millis.max(0) * 1_000_000 + random).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_have_three_parts() {
        let name = random_run_name();
        assert_eq!(name.split('-').count(), 3, "{name}");
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let a = new_run_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_run_id());
        let e = new_experiment_id(1_700_000_000_000);
        assert!(e.parse::<i64>().is_ok());
        assert!(e.starts_with("1700000000000"));
    }
}
