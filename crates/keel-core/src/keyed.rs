//! Keeping the last item given for each key, in linear time: requests may name a tag or param
//! key many times, and the last value wins, as in the reference's `{t.key: t.value for t in tags}`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// One item per key — the last one given — in the order keys first appeared. Linear in the
/// number of items (a hash per item), whatever the number of repeats.
pub fn last_per_key<T>(items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    let mut slots: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    // For each distinct key in first-seen order, the index of its last item.
    let mut last: Vec<usize> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match slots.entry(key(item)) {
            Entry::Occupied(slot) => last[*slot.get()] = i,
            Entry::Vacant(slot) => {
                slot.insert(last.len());
                last.push(i);
            }
        }
    }
    drop(slots);
    if last.len() == items.len() {
        return items;
    }
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    last.into_iter().filter_map(|i| items[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_first_order() {
        let items = vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        assert_eq!(
            last_per_key(items, |(k, _)| k),
            vec![("a", 3), ("b", 5), ("c", 4)]
        );
        let unique = vec![("x", 1), ("y", 2)];
        assert_eq!(last_per_key(unique.clone(), |(k, _)| k), unique);
        assert!(last_per_key(Vec::<(&str, i32)>::new(), |(k, _)| k).is_empty());
    }

    #[test]
    fn many_repeats_stay_linear() {
        // 200,000 items over 100,000 keys: a per-item linear search would take minutes.
        let items: Vec<(String, usize)> = (0..200_000)
            .map(|i| (format!("k{}", i % 100_000), i))
            .collect();
        let kept = last_per_key(items, |(k, _)| k.as_str());
        assert_eq!(kept.len(), 100_000);
        assert_eq!(kept[0], ("k0".to_owned(), 100_000));
    }
}
