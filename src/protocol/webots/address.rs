//! A Webots server's address in its two forms (doc §2.3, §3.6): `host:port`, or `host/port` behind
//! a TLS proxy that maps `/<port>/` paths to local ports (`portRewrite`); and the schemes put in
//! front of it, chosen by the `ssl` key alone (the NEW originals' rule, doc §5.1).

/// `host:port`, or `host/port` with `port_rewrite`.
pub fn host_port(host: &str, port: u16, port_rewrite: bool) -> String {
    let separator = if port_rewrite { '/' } else { ':' };
    format!("{host}{separator}{port}")
}

/// `ws:` or `wss:`, with the colon, as the originals write it.
pub fn websocket_scheme(ssl: bool) -> &'static str {
    if ssl {
        "wss:"
    } else {
        "ws:"
    }
}

/// `http` or `https`, without the colon.
pub fn http_scheme(ssl: bool) -> &'static str {
    if ssl {
        "https"
    } else {
        "http"
    }
}

/// `ws(s)://<address>`, no trailing slash: the `/session` answer and the `webots:` frame's URL.
pub fn websocket_url(ssl: bool, address: &str) -> String {
    format!("{}//{address}", websocket_scheme(ssl))
}

/// `http(s)://<address>`, no trailing slash: where `/load` and `/monitor` are reached.
pub fn http_url(ssl: bool, address: &str) -> String {
    format!("{}://{address}", http_scheme(ssl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_schemes() {
        assert_eq!(host_port("localhost", 2000, false), "localhost:2000");
        assert_eq!(
            host_port("cyberbotics1.epfl.ch", 2000, true),
            "cyberbotics1.epfl.ch/2000"
        );
        assert_eq!(
            websocket_url(false, "localhost:2000"),
            "ws://localhost:2000"
        );
        assert_eq!(websocket_url(true, "h/2000"), "wss://h/2000");
        assert_eq!(http_url(true, "h/2000"), "https://h/2000");
        assert_eq!(http_url(false, "h:2000"), "http://h:2000");
    }
}
