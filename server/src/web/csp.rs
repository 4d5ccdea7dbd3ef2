//! The one Content-Security-Policy of Hearth's page, for the browser pages
//! the server sends and for the desktop window alike: only the connections
//! differ.

/// The policy for a page that may connect to `connect_src` (CSP sources,
/// e.g. `'self'` or `ws://127.0.0.1:7070`) and show pictures from
/// `'self'` and `img_src` (the room's files, when the page is not served
/// by the room): its own scripts and styles only, no plug-ins, no forms,
/// no framing, no `<base>`.
pub fn content_security_policy(connect_src: &[&str], img_src: &[&str]) -> String {
    let mut images = vec!["'self'", "data:", "blob:"];
    images.extend_from_slice(img_src);
    format!(
        "default-src 'self'; connect-src {}; img-src {}; style-src 'self'; \
         script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        connect_src.join(" "),
        images.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_connections_vary() {
        let page = content_security_policy(&["'self'"], &[]);
        let window = content_security_policy(&["'self'", "ipc:", "ws://127.0.0.1:7071"], &[]);
        assert!(page.contains("connect-src 'self';"));
        assert!(window.contains("connect-src 'self' ipc: ws://127.0.0.1:7071;"));
        assert_eq!(
            page.replace("connect-src 'self';", ""),
            window.replace("connect-src 'self' ipc: ws://127.0.0.1:7071;", "")
        );
        assert!(!window.contains('*'));
    }
}
