//! The headless host's rooms, behind the same checks as every host route
//! (loopback, the host token, no `Origin`, JSON):
//!
//! - `GET /host/rooms`: `{rooms, anyone_creates_rooms}`;
//! - `POST /host/rooms` `{name, topic?}`: 201 `{room}`;
//! - `PATCH /host/rooms/{id}` `{name?, topic?, archived?}`: `{room}`;
//! - `DELETE /host/rooms/{id}`: 204, the room and its messages gone;
//! - `POST /host/settings` `{anyone_creates_rooms}`: who may make rooms.
//!
//! Refusals are `{error, message}` with the protocol's codes: 400
//! `invalid_name`, 403 `forbidden` (General stays), 404 `not_found`, 409
//! `name_taken` or `too_many_rooms`, 503 `storage_unavailable`.

use http::StatusCode;
use serde::Deserialize;
use warp::reject::Rejection;
use warp::reply::Response;
use warp::Filter;

use super::host::{json_body, with_status};
use crate::model::RoomId;
use crate::protocol::ErrorCode;
use crate::room::{Refused, RoomEdit};
use crate::share::Sharing;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    name: String,
    #[serde(default)]
    topic: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    anyone_creates_rooms: bool,
}

/// The room routes, each behind `host_only`.
pub(super) fn routes<F>(
    host_only: F,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone
where
    F: Filter<Extract = (Sharing,), Error = Rejection> + Clone + Send + Sync + 'static,
{
    let list = warp::path!("host" / "rooms")
        .and(warp::get())
        .and(host_only.clone())
        .map(|sharing: Sharing| listing(&sharing));
    let create = warp::path!("host" / "rooms")
        .and(warp::post())
        .and(host_only.clone())
        .and(json_body::<NewRoom>())
        .then(|sharing: Sharing, new: NewRoom| async move {
            match sharing
                .room()
                .create_room(&new.name, new.topic.as_deref())
                .await
            {
                Ok(room) => json(&serde_json::json!({ "room": room }), StatusCode::CREATED),
                Err(refused) => refusal(&refused),
            }
        });
    let change = warp::path!("host" / "rooms" / RoomId)
        .and(warp::patch())
        .and(host_only.clone())
        .and(json_body::<RoomEdit>())
        .then(|id: RoomId, sharing: Sharing, edit: RoomEdit| async move {
            match sharing.room().change_room(id, edit).await {
                Ok(room) => json(&serde_json::json!({ "room": room }), StatusCode::OK),
                Err(refused) => refusal(&refused),
            }
        });
    let delete = warp::path!("host" / "rooms" / RoomId)
        .and(warp::delete())
        .and(host_only.clone())
        .then(|id: RoomId, sharing: Sharing| async move {
            match sharing.room().delete_room(id).await {
                Ok(()) => with_status(StatusCode::NO_CONTENT, StatusCode::NO_CONTENT),
                Err(refused) => refusal(&refused),
            }
        });
    let settings = warp::path!("host" / "settings")
        .and(warp::post())
        .and(host_only)
        .and(json_body::<Settings>())
        .map(|sharing: Sharing, settings: Settings| {
            sharing
                .room()
                .set_anyone_creates_rooms(settings.anyone_creates_rooms);
            listing(&sharing)
        });
    list.or(create)
        .unify()
        .or(change)
        .unify()
        .or(delete)
        .unify()
        .or(settings)
        .unify()
}

fn listing(sharing: &Sharing) -> Response {
    let room = sharing.room();
    json(
        &serde_json::json!({
            "rooms": room.rooms(),
            "anyone_creates_rooms": room.anyone_creates_rooms(),
        }),
        StatusCode::OK,
    )
}

fn json(body: &serde_json::Value, status: StatusCode) -> Response {
    with_status(warp::reply::json(body), status)
}

/// A refusal as the host routes answer it.
fn refusal(refused: &Refused) -> Response {
    let code = refused.code();
    let status = match code {
        ErrorCode::InvalidName => StatusCode::BAD_REQUEST,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::NameTaken | ErrorCode::TooManyRooms => StatusCode::CONFLICT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    json(
        &serde_json::json!({ "error": code, "message": refused.to_string() }),
        status,
    )
}
