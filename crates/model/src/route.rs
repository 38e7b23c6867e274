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

/// Every page. The account pages (orders, address) are served by one page,
/// `/account`.
pub const ROUTES: [Route; 6] = [
    page(Kind::Home, "GET", "/", false),
    page(Kind::Product, "GET", "/product/", true),
    page(Kind::ViewCart, "GET", "/cart", false),
    page(Kind::AddToCart, "POST", "/cart/add", false),
    page(Kind::Checkout, "POST", "/checkout", false),
    page(Kind::Account, "GET", "/account", false),
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
    let kind = match kind {
        Kind::Orders | Kind::Address => Kind::Account,
        k => k,
    };
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
            let want = match k {
                Kind::Orders | Kind::Address => Kind::Account,
                k => k,
            };
            let id = r.takes_id.then_some("7");
            assert_eq!(route(r.method, &path), Some((want, id)), "{k:?}");
        }
        assert_eq!(route("HEAD", "/cart"), Some((Kind::ViewCart, None)));
        assert_eq!(route("GET", "/checkout"), None, "checkout is a POST");
        assert_eq!(route("POST", "/cart"), None);
        assert_eq!(route("GET", "/cartx"), None);
        assert_eq!(route("GET", "/product/"), Some((Kind::Product, Some(""))));
    }
}
