//! A large room: `welcome` lists a first page of people, the rest come with
//! `people`, and joins and departures are batched into `presence` frames;
//! every client's view of who is here must still end up exact.

use std::collections::BTreeMap;

use futures::future::join_all;
use futures::{stream, StreamExt};
use serde_json::{json, Value};

use crate::support::{names, test_config, Client, TestServer};

/// What one client believes about who is in the room, kept only from what
/// the server told it.
struct View {
    client: Client,
    people: BTreeMap<u64, String>,
    /// Pages still to ask for.
    next: Option<u64>,
    /// A lazy view pages on only at the end, as a list nobody scrolls.
    lazy: bool,
    lazy_at_start: bool,
    /// How many people the room says it has.
    count: u64,
}

impl View {
    async fn join(server: &TestServer, name: &str, lazy: bool) -> Self {
        let (client, welcome) = Client::join(server, name).await;
        let mut view = View {
            client,
            people: BTreeMap::new(),
            next: None,
            lazy,
            lazy_at_start: lazy,
            count: welcome["people"].as_u64().expect("people"),
        };
        view.page(&welcome["users"], &welcome["people_next"]).await;
        view
    }

    async fn page(&mut self, users: &Value, next: &Value) {
        for user in users.as_array().expect("users") {
            self.people.insert(
                user["id"].as_u64().expect("id"),
                user["name"].as_str().expect("name").to_owned(),
            );
        }
        self.next = next.as_u64();
        if self.lazy {
            return;
        }
        if let Some(after) = self.next {
            self.client
                .send(json!({"type": "people", "after": after}))
                .await;
        }
    }

    /// Applies frames until the chat message `marker` arrives: everything
    /// the room announced before it has been applied by then.
    async fn follow_until(&mut self, marker: &str) {
        let mut marked = false;
        while !(marked && self.next.is_none()) {
            let frame = self.client.next().await;
            match frame["type"].as_str() {
                Some("joined") => {
                    self.count += 1;
                    self.add(&frame["user"]);
                }
                Some("left") => {
                    self.count -= 1;
                    self.remove(&frame["user"]);
                }
                Some("presence") => {
                    self.count = frame["people"].as_u64().expect("people");
                    for user in frame["joined"].as_array().expect("joined") {
                        self.add(user);
                    }
                    for user in frame["left"].as_array().expect("left") {
                        self.remove(user);
                    }
                }
                Some("people") => {
                    let (users, next) = (frame["users"].clone(), frame["next"].clone());
                    self.page(&users, &next).await;
                }
                Some("message") if frame["text"] == marker => {
                    marked = true;
                    // A lazy view now reads the rest of the list.
                    if self.lazy {
                        self.lazy = false;
                        if let Some(after) = self.next {
                            self.client
                                .send(json!({"type": "people", "after": after}))
                                .await;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn add(&mut self, user: &Value) {
        self.people.insert(
            user["id"].as_u64().expect("id"),
            user["name"].as_str().expect("name").to_owned(),
        );
    }

    fn remove(&mut self, user: &Value) {
        self.people.remove(&user["id"].as_u64().expect("id"));
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.people.values().cloned().collect();
        names.sort();
        names
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_of_who_is_here_is_exact_after_a_churn_of_hundreds() {
    let server = TestServer::start(test_config()).await;
    // 300 join at once (past the batching threshold).
    // (64 handshakes at a time: well under the cap on pending connections.)
    let first: Vec<View> = stream::iter(0..300)
        .map(|n| {
            let server = &server;
            async move { View::join(server, &format!("p{n:03}"), n % 2 == 1).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let welcome_sizes: Vec<usize> = first.iter().map(|v| v.people.len()).collect();
    assert!(
        welcome_sizes.iter().all(|&n| n <= 100),
        "welcome lists one page at most"
    );
    // A third leaves while a hundred more arrive.
    let mut staying = Vec::new();
    let mut leaving = Vec::new();
    for (n, view) in first.into_iter().enumerate() {
        if n % 3 == 0 {
            leaving.push(view);
        } else {
            staying.push(view);
        }
    }
    let leave = join_all(leaving.into_iter().map(|mut view| async move {
        view.client.socket.close(None).await.expect("close");
    }));
    let arrive = stream::iter(0..100)
        .map(|n| {
            let server = &server;
            async move { View::join(server, &format!("q{n:03}"), n % 2 == 1).await }
        })
        .buffer_unordered(64)
        .collect::<Vec<View>>();
    let ((), arrived) = futures::join!(async { drop(leave.await) }, arrive);
    let mut views: Vec<View> = staying.into_iter().chain(arrived).collect();
    // Wait until the room itself has settled: 200 + 100.
    let mut stats = server.room.subscribe();
    tokio::time::timeout(
        crate::support::PATIENCE,
        stats.wait_for(|s| s.people == 300),
    )
    .await
    .expect("the room settles in time")
    .expect("stats");

    // A message after everything: each view, once it has it, must be exact.
    views[0]
        .client
        .send(json!({"type": "say", "text": "roll call"}))
        .await;
    let mut expected = names(&server);
    expected.sort();
    assert_eq!(expected.len(), 300);
    join_all(views.iter_mut().map(|view| view.follow_until("roll call"))).await;
    assert!(
        views.iter().any(|v| v.lazy_at_start),
        "some views were lazy"
    );
    for view in &views {
        assert_eq!(view.names(), expected);
        assert_eq!(view.count, 300, "the count each view was told");
    }
}

/// Every id a frame names as gone: a `left` user or a `presence` frame's
/// `left` list.
fn named_as_gone(frame: &Value) -> Vec<u64> {
    match frame["type"].as_str() {
        Some("left") => frame["user"]["id"].as_u64().into_iter().collect(),
        Some("presence") => frame["left"]
            .as_array()
            .expect("left")
            .iter()
            .filter_map(|user| user["id"].as_u64())
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads `client`'s frames until the chat message `marker`; returns every
/// id named as gone on the way and the last count it was told.
async fn gone_until(client: &mut Client, marker: &str, mut count: u64) -> (Vec<u64>, u64) {
    let mut gone = Vec::new();
    loop {
        let frame = client.next().await;
        gone.extend(named_as_gone(&frame));
        match frame["type"].as_str() {
            Some("joined") => count += 1,
            Some("left") => count -= 1,
            Some("presence") => count = frame["people"].as_u64().expect("people"),
            Some("message") if frame["text"] == marker => return (gone, count),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departure_is_named_only_to_those_who_were_shown_the_leaver() {
    let server = TestServer::start(test_config()).await;
    let mut stats = server.room.subscribe();
    // The keeper joins an empty room: it is shown everyone who comes.
    let (mut keeper, _) = Client::join(&server, "keeper").await;
    let mut early: Vec<(Client, Value)> = stream::iter(0..210)
        .map(|n| {
            let server = &server;
            async move { Client::join(server, &format!("a{n:03}")).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    // The room is past the batching threshold: the observer's welcome
    // lists the first page only, and it never pages on.
    let (mut observer, welcome) = Client::join(&server, "observer").await;
    assert!(welcome["people_next"].is_u64(), "more than one page");
    let shown: Vec<u64> = welcome["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|user| user["id"].as_u64())
        .collect();
    let past_first_page = early
        .iter()
        .position(|(_, welcome)| !shown.contains(&welcome["you"]["id"].as_u64().expect("id")))
        .expect("someone past the observer's first page");
    let (mut leaver, leaver_welcome) = early.swap_remove(past_first_page);
    let leaver_id = leaver_welcome["you"]["id"].as_u64().expect("id");
    let settled = stats.wait_for(|s| s.people == 212);
    tokio::time::timeout(crate::support::PATIENCE, settled)
        .await
        .expect("everyone is in")
        .expect("stats");

    leaver.socket.close(None).await.expect("close");
    let gone = stats.wait_for(|s| s.people == 211);
    tokio::time::timeout(crate::support::PATIENCE, gone)
        .await
        .expect("the leaver is gone")
        .expect("stats");
    keeper
        .send(json!({"type": "say", "text": "still here?"}))
        .await;

    let count = welcome["people"].as_u64().expect("people");
    let (named, told) = gone_until(&mut observer, "still here?", count).await;
    assert!(
        !named.contains(&leaver_id),
        "the observer never had the leaver, so it is not named to it"
    );
    assert_eq!(told, 211, "the observer's count is still right");
    let (named, _) = gone_until(&mut keeper, "still here?", 1).await;
    assert!(named.contains(&leaver_id), "the keeper had it: it is named");
    drop(early);
}
