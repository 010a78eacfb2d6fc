//! The availability WebSocket on `/` (doc §2.2): `1` or `0` as soon as a client connects, then
//! the new value each time it changes, never the same value twice in a row. Client messages are
//! logged and ignored, as in the original.
//!
//! Each client follows the poller's `watch` channel on its own, so a slow client delays nobody and
//! a client that missed a quick `1 → 0 → 1` while busy is not sent a value it already has.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::watch;

use crate::protocol::webots::session;

/// Upgrades the request; any Origin is accepted, as the original's `check_origin` does.
pub fn upgrade(ws: WebSocketUpgrade, availability: watch::Receiver<bool>) -> Response {
    ws.on_upgrade(move |socket| follow(socket, availability))
}

fn frame(available: bool) -> Message {
    Message::Text(session::availability_frame(available).into())
}

async fn follow(mut socket: WebSocket, mut availability: watch::Receiver<bool>) {
    tracing::info!("availability client connected");
    let mut sent = *availability.borrow_and_update();
    if socket.send(frame(sent)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            changed = availability.changed() => {
                if changed.is_err() {
                    // The poller has stopped: the server is shutting down. Its clients read only
                    // `0`/`1` texts, so the reason goes in the close frame alone.
                    let close = CloseFrame {
                        code: close_code::AWAY,
                        reason: session::SHUTDOWN_CLOSE_REASON.into(),
                    };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
                let now = *availability.borrow_and_update();
                if now != sent {
                    if socket.send(frame(now)).await.is_err() {
                        break;
                    }
                    sent = now;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    tracing::info!(message = %text.as_str(), "ignored client message");
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::info!("availability client disconnected");
}
