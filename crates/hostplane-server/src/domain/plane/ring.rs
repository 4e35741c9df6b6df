//! The consistent-hash ring that shares hosts out among the live management nodes.
//!
//! Each node stands at [`VNODES`] points of a 64-bit ring (the hash of `node-uuid#i`); a host
//! belongs to the node of the first point at or after the hash of its uuid. Every node builds
//! the same ring from the same set of live nodes, so they agree on owners without talking.
//! Adding a node moves hosts only to it, losing one moves only its hosts, and with 500 points
//! per node the shares stay within a few percent of even (ZStack's
//! `ResourceDestinationMakerImpl` uses the same scheme and the same number).

use sha2::{Digest, Sha256};

/// Points per node on the ring.
pub const VNODES: u32 = 500;

#[derive(Debug, Clone, Default)]
pub struct Ring {
    /// The nodes, sorted.
    nodes: Vec<String>,
    /// (point, index into `nodes`), sorted by point.
    points: Vec<(u64, u32)>,
}

fn hash(s: &str) -> u64 {
    let d = Sha256::digest(s.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

impl Ring {
    pub fn new(nodes: impl IntoIterator<Item = String>) -> Ring {
        let mut nodes: Vec<String> = nodes.into_iter().collect();
        nodes.sort();
        nodes.dedup();
        let mut points = Vec::with_capacity(nodes.len() * VNODES as usize);
        for (i, n) in nodes.iter().enumerate() {
            for v in 0..VNODES {
                points.push((hash(&format!("{n}#{v}")), i as u32));
            }
        }
        points.sort_unstable();
        Ring { nodes, points }
    }

    /// The node a key (a host uuid) belongs to; `None` on an empty ring.
    pub fn owner(&self, key: &str) -> Option<&str> {
        if self.points.is_empty() {
            return None;
        }
        let h = hash(key);
        let i = self.points.partition_point(|p| p.0 < h) % self.points.len();
        Some(&self.nodes[self.points[i].1 as usize])
    }

    /// The nodes on the ring, sorted.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    pub fn contains(&self, node: &str) -> bool {
        self.nodes
            .binary_search_by(|n| n.as_str().cmp(node))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|_| crate::ids::new_uuid()).collect()
    }

    fn shares(r: &Ring, keys: &[String]) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for k in keys {
            *m.entry(r.owner(k).unwrap().to_string()).or_default() += 1;
        }
        m
    }

    #[test]
    fn shares_are_close_to_even() {
        let nodes = keys(3);
        let r = Ring::new(nodes.clone());
        let ks = keys(30_000);
        let s = shares(&r, &ks);
        for n in &nodes {
            let share = s[n] as f64 / 10_000.0;
            assert!((0.85..1.15).contains(&share), "{n}: {share}");
        }
    }

    #[test]
    fn losing_a_node_moves_only_its_hosts_and_adding_one_only_to_it() {
        let nodes = keys(3);
        let ks = keys(5_000);
        let all = Ring::new(nodes.clone());
        let two = Ring::new(nodes[..2].to_vec());
        for k in &ks {
            let before = all.owner(k).unwrap();
            let after = two.owner(k).unwrap();
            if before != nodes[2] {
                assert_eq!(before, after, "a host of a surviving node moved");
            }
        }
        // The same rings read the other way round: a node joins.
        let mut moved = 0;
        for k in &ks {
            if two.owner(k) != all.owner(k) {
                assert_eq!(
                    all.owner(k).unwrap(),
                    nodes[2],
                    "a host moved between old nodes"
                );
                moved += 1;
            }
        }
        assert!(moved > 1_000, "the new node got {moved} of 5,000");
    }

    #[test]
    fn the_order_of_nodes_does_not_matter() {
        let nodes = keys(4);
        let mut rev = nodes.clone();
        rev.reverse();
        let (a, b) = (Ring::new(nodes), Ring::new(rev));
        for k in keys(200) {
            assert_eq!(a.owner(&k), b.owner(&k));
        }
        assert!(Ring::default().owner("x").is_none());
        assert!(a.contains(&a.nodes()[1].clone()));
    }
}
