//! Webots' cloud protocol ("doc §N" in this module cites `docs/upstream/webots-servers.md`),
//! spoken by the session server and the simulation server: everything both must write or read the
//! same way, the frames and answers each one writes, and the originals' notice texts, so that wire
//! compatibility with the Python originals is checked in one place. What stays in the roles: their
//! HTML pages, and the simulation server's set-up errors
//! (`roles::simulation_server::project::SetupError`), whose first texts are also the original's.
//!
//! - [`pyfloat`]: numbers as Python reads (`float()`) and writes (`str(float)`) them.
//! - [`address`]: a server's address, `host:port` or `host/port`, behind `ws(s)://` or `http(s)://`.
//! - [`load`]: the `/load` body both servers write and the session server reads.
//! - [`client`]: the simulation server's `/client` WebSocket frames, in and out.
//! - [`directory`]: the simulation server's announcement to webots.cloud (`notify`).
//! - [`session`]: the session server's answers (`/session`, availability frames, CORS headers).
//! - [`alert`]: the session server's state-change notices about simulation servers.

pub mod address;
pub mod alert;
pub mod client;
pub mod directory;
pub mod load;
pub mod pyfloat;
pub mod session;
