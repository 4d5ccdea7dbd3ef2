//! The verdict on the well-behaved clients' messages: complete, unique,
//! and in one order everywhere.

use std::collections::{HashMap, HashSet};

use crate::steady::Steady;
use crate::support::lock;

/// The verdict on the well-behaved clients' messages.
#[derive(Debug, Default, serde::Serialize)]
pub struct Delivery {
    /// Markers the well-behaved clients sent after all of them had joined.
    #[serde(rename = "sent")]
    pub steady_sent: usize,
    /// Sender tasks that stopped on a write error.
    pub send_errors: usize,
    /// (client, marker) pairs never received.
    pub missing: usize,
    /// A few of them, for the failure message.
    #[serde(skip)]
    pub missing_samples: Vec<String>,
    /// Markers a client received more than once.
    pub duplicates: usize,
    /// Places where a client's message id did not increase.
    pub id_not_increasing: usize,
    /// Gaps in a client's id sequence.
    pub id_gaps: usize,
    /// Message ids seen by some well-behaved clients but not all.
    pub ids_not_seen_by_all: usize,
    /// Ids whose text differs between clients.
    pub id_text_conflicts: usize,
    /// Markers all clients saw (the set order is compared over).
    #[serde(rename = "common_markers")]
    pub common: usize,
    /// Clients whose order of the common markers differs from the first client's.
    pub order_mismatches: usize,
    /// Distinct message ids seen in total.
    pub distinct_ids: usize,
    /// Fewest messages one client received.
    pub per_client_min: usize,
    /// Most messages one client received.
    pub per_client_max: usize,
}

/// Checks completeness, uniqueness and order of what the well-behaved clients saw.
pub fn check_delivery(steady: &[Steady], sent: &[Vec<String>], send_errors: usize) -> Delivery {
    let mut out = Delivery {
        steady_sent: sent.iter().map(Vec::len).sum(),
        send_errors,
        ..Delivery::default()
    };
    let logs: Vec<Vec<(u64, String)>> = steady
        .iter()
        .map(|s| lock(&s.seen).messages.clone())
        .collect();
    let all_sent: Vec<&String> = sent.iter().flatten().collect();
    let mut id_text: HashMap<u64, &str> = HashMap::new();
    let mut id_count: HashMap<u64, usize> = HashMap::new();
    let mut text_count: HashMap<&str, usize> = HashMap::new();
    for (client, log) in steady.iter().zip(&logs) {
        let texts: HashSet<&str> = log.iter().map(|(_, t)| t.as_str()).collect();
        for marker in &all_sent {
            if !texts.contains(marker.as_str()) {
                out.missing += 1;
                if out.missing_samples.len() < 5 {
                    out.missing_samples
                        .push(format!("{} never got {marker}", client.name));
                }
            }
        }
        out.duplicates += log.len() - texts.len();
        for pair in log.windows(2) {
            if pair[1].0 <= pair[0].0 {
                out.id_not_increasing += 1;
            } else if pair[1].0 != pair[0].0 + 1 {
                out.id_gaps += 1;
            }
        }
        for (id, text) in log {
            *id_count.entry(*id).or_default() += 1;
            match id_text.get(id) {
                Some(known) if *known != text.as_str() => out.id_text_conflicts += 1,
                Some(_) => {}
                None => {
                    id_text.insert(*id, text.as_str());
                }
            }
        }
        for text in texts {
            *text_count.entry(text).or_default() += 1;
        }
    }
    out.distinct_ids = id_count.len();
    out.ids_not_seen_by_all = id_count.values().filter(|&&n| n < steady.len()).count();
    let common: HashSet<&str> = text_count
        .into_iter()
        .filter(|&(_, n)| n == steady.len())
        .map(|(t, _)| t)
        .collect();
    out.common = common.len();
    let filtered = |log: &Vec<(u64, String)>| -> Vec<String> {
        log.iter()
            .filter(|(_, t)| common.contains(t.as_str()))
            .map(|(_, t)| t.clone())
            .collect()
    };
    if let Some((first, rest)) = logs.split_first() {
        let reference = filtered(first);
        out.order_mismatches = rest.iter().filter(|log| filtered(log) != reference).count();
    }
    out.per_client_min = logs.iter().map(Vec::len).min().unwrap_or(0);
    out.per_client_max = logs.iter().map(Vec::len).max().unwrap_or(0);
    out
}

impl Delivery {
    /// What is wrong with the messages, one line per kind of problem.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.steady_sent == 0 {
            failures.push("the well-behaved clients sent nothing".to_owned());
        }
        if self.send_errors > 0 {
            let n = self.send_errors;
            failures.push(format!("{n} well-behaved senders failed to write"));
        }
        if self.missing > 0 {
            failures.push(format!(
                "{} (client, marker) deliveries missing, e.g. {:?}",
                self.missing, self.missing_samples
            ));
        }
        for (count, what) in [
            (self.duplicates, "duplicate deliveries"),
            (
                self.id_not_increasing,
                "message ids not strictly increasing",
            ),
            (self.id_gaps, "gaps in message id sequences"),
            (
                self.ids_not_seen_by_all,
                "message ids not seen by every well-behaved client",
            ),
            (
                self.id_text_conflicts,
                "message ids with different texts on different clients",
            ),
            (
                self.order_mismatches,
                "well-behaved clients disagreeing on message order",
            ),
        ] {
            if count > 0 {
                failures.push(format!("{count} {what}"));
            }
        }
        failures
    }
}
