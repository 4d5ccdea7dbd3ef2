//! `--check-people`: after the crowd has joined, whether every reader counts
//! the room right, and whether the whole people list pages out exactly.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::time::{sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::clients::{open, Reader};
use crate::report::{round3, PeopleReport};
use crate::support::{health, millis_f64, wire, Ws};
use crate::Ctx;

/// Longest the readers' counts may take to agree with the room's (a
/// `presence` batch goes out every 200 ms).
const COUNT_WAIT: Duration = Duration::from_secs(10);

/// Waits until every open reader counts as many people as `/healthz` says
/// are joined (or `COUNT_WAIT` passes), then has one more client page
/// through the whole list.
pub async fn check(ctx: &Ctx, readers: &[Reader]) -> PeopleReport {
    let started = Instant::now();
    let mut report = PeopleReport::default();
    loop {
        let joined = health(ctx.addr, &ctx.host).await.ok().map(|h| h.joined);
        let (exact, wrong) = tally(readers, joined);
        report.expected = joined;
        report.readers_exact = exact;
        report.readers_wrong = wrong;
        if (wrong == 0 && joined.is_some()) || started.elapsed() >= COUNT_WAIT {
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    report.count_wait_ms = round3(millis_f64(started.elapsed()));
    match audit(ctx).await {
        Ok(audit) => {
            report.listed = Some(audit.listed);
            report.listed_distinct = Some(audit.distinct);
            report.listed_with_prefix = Some(audit.with_prefix);
            report.auditor_count = Some(audit.count);
        }
        Err(err) => report.audit_error = Some(format!("{err:#}")),
    }
    report.own_readers = readers.len();
    report
}

/// How many open readers count `joined` people, and how many count otherwise.
fn tally(readers: &[Reader], joined: Option<u64>) -> (usize, usize) {
    let open = readers.iter().filter(|r| !r.stats.ended.load(Relaxed));
    let mut exact = 0;
    let mut wrong = 0;
    for reader in open {
        if Some(reader.stats.people.load(Relaxed)) == joined {
            exact += 1;
        } else {
            wrong += 1;
        }
    }
    (exact, wrong)
}

/// What one client saw when it paged through the whole list.
struct Audit {
    /// Entries listed, duplicates included.
    listed: usize,
    /// Distinct ids listed.
    distinct: usize,
    /// Distinct ids whose name has this load generator's prefix (the
    /// auditor's own included).
    with_prefix: usize,
    /// The room's count as the auditor knows it at the end.
    count: u64,
}

/// Joins one more client and pages through the people list with `people`
/// until `next` is null.
async fn audit(ctx: &Ctx) -> Result<Audit> {
    let deadline = ctx.phase_deadline();
    let mut ws = open(ctx.addr, &ctx.url, false, &ctx.client_options()).await?;
    let name = format!("{}audit", ctx.cli.name_prefix);
    let welcome = wire::join(&mut ws, &name).await?;
    let mut count = welcome["people"]
        .as_u64()
        .context("welcome without people")?;
    // Every entry listed counts; the map keeps one per id.
    let mut listed = 0;
    let mut people = BTreeMap::new();
    listed += collect(&welcome["users"], &mut people)?;
    let mut next = welcome["people_next"].clone();
    while !next.is_null() {
        let page = timeout_at(deadline, next_page(&mut ws, &next, &mut count))
            .await
            .context("paging the people list timed out")??;
        listed += collect(&page["users"], &mut people)?;
        next = page["next"].clone();
    }
    let _ = ws.close(None).await;
    let prefix = ctx.cli.name_prefix.as_str();
    Ok(Audit {
        listed,
        distinct: people.len(),
        with_prefix: people.values().filter(|n| n.starts_with(prefix)).count(),
        count,
    })
}

/// Asks for the page after `after` and returns it; keeps `count` up to date
/// from `presence` frames meanwhile, and asks again after a rate-limit
/// refusal.
async fn next_page(ws: &mut Ws, after: &Value, count: &mut u64) -> Result<Value> {
    let ask = json!({ "type": "people", "after": after }).to_string();
    ws.send(Message::text(ask.clone())).await?;
    loop {
        let Some(item) = ws.next().await else {
            bail!("the connection ended while paging");
        };
        let Message::Text(text) = item? else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str())?;
        match frame["type"].as_str() {
            Some("people") => return Ok(frame),
            Some("presence") => *count = frame["people"].as_u64().unwrap_or(*count),
            Some("joined") => *count += 1,
            Some("left") => *count = count.saturating_sub(1),
            Some("error") if frame["code"] == "rate_limited" => {
                sleep(Duration::from_secs(1)).await;
                ws.send(Message::text(ask.clone())).await?;
            }
            Some("error") => bail!("people refused: {}", text.as_str()),
            _ => {}
        }
    }
}

/// Adds the people of a `users` array by id; returns how many it listed.
fn collect(users: &Value, people: &mut BTreeMap<u64, String>) -> Result<usize> {
    let users = users.as_array().context("users is not a list")?;
    for user in users {
        let id = user["id"].as_u64().context("a user without an id")?;
        people.insert(id, user["name"].as_str().unwrap_or_default().to_owned());
    }
    Ok(users.len())
}
