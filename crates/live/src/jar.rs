//! A shopper's cookie jar, as a browser keeps one: cookies by name, replaced
//! by each Set-Cookie, deleted by `Max-Age=0`, and a cookie over the browser's
//! size limit ignored (the old one stays).

use super::proxy::LB_COOKIE;
use stratus_model::route::USER_COOKIE;
use stratus_model::session::cookie::{COOKIE_NAME, browser_keeps};

#[derive(Default, Debug)]
pub struct Jar {
    cookies: Vec<(String, String)>,
    ignored: u64,
}

impl Jar {
    /// Applies one Set-Cookie header; `max_bytes` is the per-cookie limit
    /// (name, '=' and value), as the simulation counts it.
    pub fn set(&mut self, header: &str, max_bytes: usize) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|kv| kv.trim().split_once('=')) else {
            return;
        };
        if !browser_keeps(name, value.len(), max_bytes as u64) {
            self.ignored += 1;
            return;
        }
        let delete = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
        self.cookies.retain(|(n, _)| n != name);
        if !delete {
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }

    /// Holds the cookie naming the shopper's user (`route::USER_COOKIE`), as
    /// a browser holds the one a login page set.
    pub fn sign_in(&mut self, user: u32) {
        self.cookies.retain(|(n, _)| n != USER_COOKIE);
        self.cookies
            .push((USER_COOKIE.to_string(), user.to_string()));
    }

    /// The Cookie header to send (empty: none).
    pub fn header(&self) -> String {
        let mut s = String::new();
        for (n, v) in &self.cookies {
            if !s.is_empty() {
                s.push_str("; ");
            }
            s.push_str(n);
            s.push('=');
            s.push_str(v);
        }
        s
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Set-Cookies ignored for their size since the last call.
    pub fn take_ignored(&mut self) -> u64 {
        std::mem::take(&mut self.ignored)
    }

    /// The node the balancer's stickiness cookie names, if any.
    pub fn lb_target(&self) -> Option<u32> {
        self.get(LB_COOKIE)?.split('-').next()?.parse().ok()
    }

    /// Whether the jar holds a cart cookie.
    pub fn has_cart(&self) -> bool {
        self.get(COOKIE_NAME).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_delete_and_oversize() {
        let mut j = Jar::default();
        j.set("sid=ab; Path=/; HttpOnly", 4096);
        j.set("AWSALB=3-999; Max-Age=86400; Path=/", 4096);
        assert_eq!(j.header(), "sid=ab; AWSALB=3-999");
        assert_eq!(j.lb_target(), Some(3));
        j.set("sid=cd", 4096);
        assert_eq!(j.get("sid"), Some("cd"));
        j.set(&format!("cart={}", "x".repeat(5000)), 4096);
        assert!(!j.has_cart());
        assert_eq!(j.take_ignored(), 1);
        j.set("sid=; Max-Age=0", 4096);
        assert_eq!(j.get("sid"), None);
    }
}
