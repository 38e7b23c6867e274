//! The shop's pages on the wire: which method and path ask for which kind of
//! request. One table, read both ways: the live node routes an incoming
//! request by it, and the load generator writes its shoppers' requests from
//! it, so the two cannot drift apart.

use crate::core::Kind;

/// One page of the live shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub kind: Kind,
    /// `GET` (HEAD is answered as GET) or `POST`.
    pub method: &'static str,
    /// The path, or its prefix when the page takes a product id after it.
    pub path: &'static str,
    pub takes_id: bool,
}

const fn page(kind: Kind, method: &'static str, path: &'static str, takes_id: bool) -> Route {
    Route {
        kind,
        method,
        path,
        takes_id,
    }
}

/// The cookie a live client names its user with. The live shop has no login
/// page: a client that sends it is signed in as that user (the load
/// generator's shoppers sign in as the simulation's do), anyone else as the
/// seed data's first user.
pub const USER_COOKIE: &str = "stratus_user";

/// Every page.
pub const ROUTES: [Route; 8] = [
    page(Kind::Home, "GET", "/", false),
    page(Kind::Product, "GET", "/product/", true),
    page(Kind::ViewCart, "GET", "/cart", false),
    page(Kind::AddToCart, "POST", "/cart/add", false),
    page(Kind::Checkout, "POST", "/checkout", false),
    page(Kind::Account, "GET", "/account", false),
    page(Kind::Orders, "GET", "/account/orders", false),
    page(Kind::Address, "POST", "/account/address", false),
];

/// The page a request asks for, and the id after a page that takes one;
/// None: not a page of the shop.
pub fn route<'a>(method: &str, path: &'a str) -> Option<(Kind, Option<&'a str>)> {
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES.iter().filter(|r| r.method == method).find_map(|r| {
        match (r.takes_id, path.strip_prefix(r.path)) {
            (false, Some("")) => Some((r.kind, None)),
            (true, Some(id)) => Some((r.kind, Some(id))),
            _ => None,
        }
    })
}

/// The page that serves requests of `kind`.
pub fn of(kind: Kind) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.kind == kind)
        .expect("every kind has a page")
}

impl Route {
    /// The path to ask for, with `id` after a page that takes one.
    pub fn path_for(&self, id: u64) -> String {
        if self.takes_id {
            format!("{}{id}", self.path)
        } else {
            self.path.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_both_ways() {
        for k in Kind::ALL {
            let r = of(k);
            let path = r.path_for(7);
            let id = r.takes_id.then_some("7");
            assert_eq!(route(r.method, &path), Some((k, id)), "{k:?}");
        }
        assert_eq!(route("HEAD", "/cart"), Some((Kind::ViewCart, None)));
        assert_eq!(route("GET", "/checkout"), None, "checkout is a POST");
        assert_eq!(route("POST", "/cart"), None);
        assert_eq!(route("GET", "/cartx"), None);
        assert_eq!(route("GET", "/account/orders/"), None);
        assert_eq!(
            route("GET", "/account/address"),
            None,
            "an address change is a POST"
        );
        assert_eq!(route("GET", "/product/"), Some((Kind::Product, Some(""))));
    }
}
