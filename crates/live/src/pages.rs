//! The shop's pages as a browser or a program sees them: small HTML pages a
//! person can click through, or JSON when the request's Accept header asks.
//! What a page says comes from `shop::Response`; nothing here decides it.

use serde_json::{Value, json};
use std::fmt::Write;
use stratus_model::cart::{COLOURS, Cart, Item, SIZES, price_of, title_of};
use stratus_model::scenario::Kind;
use stratus_model::shop::Response;

/// Products the catalogue page lists.
const FEATURED: u32 = 12;

/// Who answered: shown on every page so a shopper sees which node and AZ
/// served them (and when that changes).
pub struct Served<'a> {
    pub node: u32,
    pub az: &'a str,
    pub strategy: &'a str,
}

fn money(cents: u32) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

pub fn item_json(i: &Item) -> Value {
    json!({
        "product": i.product,
        "title": title_of(i.product),
        "size": SIZES[usize::from(i.size)],
        "colour": COLOURS[usize::from(i.colour)],
        "qty": i.qty,
        "price_cents": i.price_cents,
    })
}

/// The cart back from a page's JSON `cart` array (what the load generator
/// compares with its ground truth).
pub fn cart_from_json(v: &Value) -> Option<Cart> {
    let mut cart = Cart::default();
    for it in v.as_array()? {
        let name = |k: &str| it.get(k).and_then(Value::as_str);
        let num = |k: &str| it.get(k).and_then(Value::as_u64);
        cart.items.push(Item {
            product: u32::try_from(num("product")?).ok()?,
            size: SIZES.iter().position(|s| Some(*s) == name("size"))? as u8,
            colour: COLOURS.iter().position(|s| Some(*s) == name("colour"))? as u8,
            qty: u16::try_from(num("qty")?).ok()?,
            price_cents: u32::try_from(num("price_cents")?).ok()?,
        });
    }
    Some(cart)
}

/// A page's JSON.
pub fn page_json(kind: Kind, r: &Response, who: &Served<'_>, product: Option<u32>) -> Value {
    let mut v = json!({
        "page": kind.name(),
        "node": who.node,
        "az": who.az,
        "strategy": who.strategy,
        "badge": r.badge,
    });
    if let Some(c) = &r.cart {
        v["cart"] = c.items.iter().map(item_json).collect();
    }
    if kind == Kind::Checkout {
        v["ordered"] = r.ordered.into();
    }
    if let Some(id) = r.order_id {
        v["order_id"] = id.into();
    }
    if let Some(ids) = &r.orders {
        v["orders"] = ids.clone().into();
    }
    if let Some(e) = r.cookie_rejected {
        v["cookie_rejected"] = e.to_string().into();
    }
    match (kind, product) {
        (Kind::Home, _) => {
            v["products"] = (0..FEATURED)
                .map(|p| json!({ "product": p, "title": title_of(p), "price_cents": price_of(p) }))
                .collect();
        }
        (Kind::Product, Some(p)) => {
            v["product"] = json!({ "product": p, "title": title_of(p), "price_cents": price_of(p),
                                   "sizes": SIZES, "colours": COLOURS });
        }
        _ => {}
    }
    v
}

fn head(s: &mut String, title: &str, r: &Response, who: &Served<'_>) {
    let _ = write!(
        s,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title} · MyClothes</title></head>\n<body>\n\
         <header><a href=\"/\">MyClothes</a> · <a href=\"/cart\" id=\"badge\">Cart ({badge})</a> · \
         <a href=\"/account\">Account</a>\
         <small> served by node-{node} in {az}, sessions: {strategy}</small></header>\n<main>\n<h1>{title}</h1>\n",
        badge = r.badge,
        node = who.node,
        az = who.az,
        strategy = who.strategy
    );
    if let Some(e) = r.cookie_rejected {
        let _ = writeln!(
            s,
            "<p class=\"warn\">Your cart cookie was refused ({e}); it is treated as empty.</p>"
        );
    }
}

fn add_form(s: &mut String, p: u32) {
    let _ = write!(
        s,
        "<form method=\"post\" action=\"/cart/add\"><input type=\"hidden\" name=\"product\" value=\"{p}\">"
    );
    s.push_str("<select name=\"size\">");
    for z in SIZES {
        let _ = write!(
            s,
            "<option{}>{z}</option>",
            if z == "M" { " selected" } else { "" }
        );
    }
    s.push_str("</select><select name=\"colour\">");
    for c in COLOURS {
        let _ = write!(s, "<option>{c}</option>");
    }
    let _ = write!(
        s,
        "</select><button type=\"submit\" id=\"add-{p}\">Add to cart</button></form>"
    );
}

fn cart_table(s: &mut String, c: &Cart) {
    if c.is_empty() {
        s.push_str("<p id=\"empty\">Your cart is empty.</p>\n");
        return;
    }
    s.push_str("<table id=\"cart\"><tr><th>Item</th><th>Size</th><th>Colour</th><th>Qty</th><th>Price</th></tr>\n");
    let mut total = 0u64;
    for i in &c.items {
        total += u64::from(i.price_cents) * u64::from(i.qty);
        let _ = writeln!(
            s,
            "<tr class=\"line\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            title_of(i.product),
            SIZES[usize::from(i.size)],
            COLOURS[usize::from(i.colour)],
            i.qty,
            money(i.price_cents)
        );
    }
    let _ = writeln!(
        s,
        "</table>\n<p>Total: {}</p>",
        money(u32::try_from(total).unwrap_or(u32::MAX))
    );
}

/// A page's HTML.
pub fn page_html(kind: Kind, r: &Response, who: &Served<'_>, product: Option<u32>) -> String {
    let mut s = String::with_capacity(2048);
    match kind {
        Kind::Home => {
            head(&mut s, "Catalogue", r, who);
            s.push_str("<ul>\n");
            for p in 0..FEATURED {
                let _ = writeln!(
                    s,
                    "<li><a href=\"/product/{p}\">{}</a> {}</li>",
                    title_of(p),
                    money(price_of(p))
                );
            }
            s.push_str("</ul>\n");
        }
        Kind::Product => {
            let p = product.unwrap_or(0);
            head(&mut s, &title_of(p), r, who);
            let _ = writeln!(s, "<p>{}</p>", money(price_of(p)));
            add_form(&mut s, p);
        }
        Kind::AddToCart | Kind::ViewCart => {
            head(&mut s, "Your cart", r, who);
            cart_table(&mut s, r.cart.as_ref().unwrap_or(&Cart::default()));
            s.push_str("<form method=\"post\" action=\"/checkout\"><button type=\"submit\" id=\"checkout\">Check out</button></form>\n");
        }
        Kind::Checkout => {
            head(
                &mut s,
                if r.ordered {
                    "Thank you"
                } else {
                    "Nothing to buy"
                },
                r,
                who,
            );
            if let Some(c) = r.cart.as_ref().filter(|c| !c.is_empty()) {
                s.push_str("<p id=\"ordered\">Your order:</p>\n");
                cart_table(&mut s, c);
            }
        }
        Kind::Account => {
            head(&mut s, "Your account", r, who);
            s.push_str("<p><a href=\"/account/orders\">Your orders</a></p>\n");
        }
        Kind::Orders => {
            head(&mut s, "Your orders", r, who);
            match r.orders.as_deref() {
                Some([]) | None => s.push_str("<p id=\"orders\">No orders yet.</p>\n"),
                Some(ids) => {
                    s.push_str("<ul id=\"orders\">\n");
                    for id in ids {
                        let _ = writeln!(s, "<li>Order {id}</li>");
                    }
                    s.push_str("</ul>\n");
                }
            }
        }
        Kind::Address => {
            head(&mut s, "Your address", r, who);
            s.push_str("<p id=\"address\">Your address was changed.</p>\n");
        }
    }
    s.push_str("</main></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_json_round_trips() {
        let mut c = Cart::default();
        c.add(Item {
            product: 7,
            size: 2,
            colour: 3,
            qty: 2,
            price_cents: price_of(7),
        });
        let r = Response {
            cart: Some(c.clone()),
            badge: 2,
            ..Default::default()
        };
        let who = Served {
            node: 1,
            az: "a",
            strategy: "store",
        };
        let v = page_json(Kind::ViewCart, &r, &who, None);
        assert_eq!(cart_from_json(&v["cart"]), Some(c));
        assert!(page_html(Kind::ViewCart, &r, &who, None).contains("class=\"line\""));
        assert_eq!(cart_from_json(&json!([{ "product": 1 }])), None);
    }
}
