//! Carts and the items in them: what the shop holds and what a shopper knows.
//!
//! The same type is the server's cart (in a node's memory, a cookie or the
//! store) and the shopper's ground truth, so a loss is found by comparing two
//! values of it item by item.

use crate::rng::Rng;
use smallvec::SmallVec;

/// Clothing sizes, as stored in a cart line.
pub const SIZES: [&str; 6] = ["XS", "S", "M", "L", "XL", "XXL"];
/// Colours, as stored in a cart line.
pub const COLOURS: [&str; 8] = [
    "black", "white", "navy", "grey", "red", "green", "beige", "olive",
];
const FITS: [&str; 4] = ["Slim", "Classic", "Relaxed", "Tailored"];
const FABRICS: [&str; 6] = ["Cotton", "Linen", "Wool", "Denim", "Flannel", "Jersey"];
const GARMENTS: [&str; 8] = [
    "Oxford Shirt",
    "Crew Tee",
    "Chino",
    "Hoodie",
    "Overshirt",
    "Polo",
    "Cardigan",
    "Jacket",
];

/// One line of a cart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    pub product: u32,
    pub size: u8,
    pub colour: u8,
    pub qty: u16,
    pub price_cents: u32,
}

impl Item {
    /// A random item from a catalogue of `catalog` products.
    pub fn random(rng: &mut Rng, catalog: u32) -> Item {
        let product = rng.below(u64::from(catalog)) as u32;
        Item {
            product,
            size: rng.below(SIZES.len() as u64) as u8,
            colour: rng.below(COLOURS.len() as u64) as u8,
            qty: 1,
            price_cents: price_of(product),
        }
    }

    /// Bytes of the line in the cart's JSON (`Cart::json_len`).
    fn json_len(&self) -> usize {
        ITEM_JSON_FRAME.len()
            + COLOURS[usize::from(self.colour) % COLOURS.len()].len()
            + digits(self.price_cents.into())
            + digits(self.product.into())
            + digits(self.qty.into())
            + SIZES[usize::from(self.size) % SIZES.len()].len()
            + title_len(self.product)
    }

    fn same_line(&self, o: &Item) -> bool {
        self.product == o.product && self.size == o.size && self.colour == o.colour
    }
}

/// The catalogue price of a product: fixed per product, $9.99 to $149.99.
pub fn price_of(product: u32) -> u32 {
    let h = product.wrapping_mul(2_654_435_761) >> 8;
    999 + (h % 141) * 100
}

/// The product's display name, as a naive cookie cart stores it.
pub fn title_of(product: u32) -> String {
    let mut s = String::with_capacity(title_len(product));
    push_title(&mut s, product);
    s
}

/// Appends [`title_of`]`(product)` to `s`, without a string of its own: a
/// cookie cart writes one per line whenever the cart changes.
pub fn push_title(s: &mut String, product: u32) {
    let [fit, fabric, garment] = title_words(product);
    s.push_str(fit);
    s.push(' ');
    s.push_str(fabric);
    s.push(' ');
    s.push_str(garment);
}

/// The three words of a product's title.
const fn title_words(product: u32) -> [&'static str; 3] {
    let p = product as usize;
    [
        FITS[p % FITS.len()],
        FABRICS[(p / 4) % FABRICS.len()],
        GARMENTS[(p / 24) % GARMENTS.len()],
    ]
}

/// `title_of(product).len()`, without building it: sized on every store
/// write, so read from a table of the titles' one cycle.
fn title_len(product: u32) -> usize {
    usize::from(TITLE_LENS[product as usize % TITLE_CYCLE])
}

/// Products apart by this many have titles of the same words.
const TITLE_CYCLE: usize = FITS.len() * FABRICS.len() * GARMENTS.len();

/// [`title_of`]'s length for each product of one cycle, worked out once at
/// compile time from [`title_words`]' rule.
const TITLE_LENS: [u8; TITLE_CYCLE] = {
    let mut lens = [0u8; TITLE_CYCLE];
    let mut p = 0;
    while p < TITLE_CYCLE {
        let [fit, fabric, garment] = title_words(p as u32);
        lens[p] = (fit.len() + fabric.len() + garment.len() + 2) as u8;
        p += 1;
    }
    lens
};

/// Decimal digits of `n`.
pub fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// One item as the live shop writes it to Redis, values left empty: what
/// every item's JSON holds besides its values.
const ITEM_JSON_FRAME: &str =
    r#"{"colour":"","price_cents":,"product":,"qty":,"size":"","title":""}"#;

/// Quotes in one item's JSON: escaped once more when the cart is a string
/// inside another JSON document (the durable table's item).
pub const ITEM_JSON_QUOTES: usize = 18;

/// Lines a cart holds without a heap allocation. Most carts are this small,
/// and a cart inline in the store's entry or the shopper's record saves a
/// pointer chase on every request.
pub const INLINE_LINES: usize = 4;

/// A shopping cart: lines in the order they were first added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cart {
    pub items: SmallVec<[Item; INLINE_LINES]>,
}

/// Copied as a block: `SmallVec`'s own clone pushes item by item, and a
/// cart is copied on most requests (the page that shows it, the shopper's
/// ground truth, each store write and its replicas).
impl Clone for Cart {
    fn clone(&self) -> Cart {
        Cart {
            items: SmallVec::from_slice(&self.items),
        }
    }

    fn clone_from(&mut self, source: &Cart) {
        self.items.clear();
        self.items.extend_from_slice(&source.items);
    }
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes of the cart as the session store holds it: the JSON array the
    /// live shop's `--store-url` writes (`stratus-live`'s `item_json`, which
    /// a test there holds this to), computed without building it.
    pub fn json_len(&self) -> usize {
        let items: usize = self.items.iter().map(Item::json_len).sum();
        2 + items + self.items.len().saturating_sub(1)
    }

    /// [`Cart::json_len`], given that of `before`: only the lines that
    /// differ from `before`'s at the same place are measured. A store write
    /// changes one line of a cart or adds one, so it measures one line
    /// instead of all of them.
    pub fn json_len_after(&self, before: &Cart, before_len: usize) -> usize {
        let (new, old) = (&self.items[..], &before.items[..]);
        let mut len = before_len + new.len().saturating_sub(1);
        len -= old.len().saturating_sub(1);
        for k in 0..new.len().max(old.len()) {
            match (new.get(k), old.get(k)) {
                (Some(a), Some(b)) if a == b => {}
                (a, b) => {
                    len += a.map_or(0, Item::json_len);
                    len -= b.map_or(0, Item::json_len);
                }
            }
        }
        len
    }

    /// Number of pieces (quantities summed).
    pub fn count(&self) -> u32 {
        self.items.iter().map(|i| u32::from(i.qty)).sum()
    }

    /// Adds an item, merging with an existing line for the same product, size and colour.
    pub fn add(&mut self, item: Item) {
        match self.items.iter_mut().find(|i| i.same_line(&item)) {
            Some(line) => line.qty = line.qty.saturating_add(item.qty),
            None => self.items.push(item),
        }
    }

    /// Pieces in `self` (the truth) that `server` does not hold.
    pub fn missing_from(&self, server: &Cart) -> u32 {
        self.items
            .iter()
            .map(|t| {
                let held = server
                    .items
                    .iter()
                    .filter(|s| s.same_line(t))
                    .map(|s| s.qty)
                    .sum::<u16>();
                u32::from(t.qty.saturating_sub(held))
            })
            .sum()
    }
}

/// One of product `p` at its price (size 2, colour 1): the item tests and
/// examples add when which item does not matter.
pub fn item(p: u32) -> Item {
    Item {
        product: p,
        size: 2,
        colour: 1,
        qty: 1,
        price_cents: price_of(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_missing() {
        let mut truth = Cart::default();
        truth.add(item(1));
        truth.add(item(1));
        truth.add(item(2));
        assert_eq!(truth.items.len(), 2);
        assert_eq!(truth.count(), 3);
        let mut server = Cart::default();
        server.add(item(1));
        assert_eq!(truth.missing_from(&server), 2);
        assert_eq!(truth.missing_from(&truth), 0);
        assert_eq!(Cart::default().missing_from(&server), 0);
    }

    #[test]
    fn json_len_counts_every_character() {
        let mut c = Cart::default();
        assert_eq!(c.json_len(), "[]".len());
        c.add(item(30));
        let one = r#"[{"colour":"white","price_cents":"#.len()
            + digits(price_of(30).into())
            + r#","product":30,"qty":1,"size":"M","title":""#.len()
            + title_of(30).len()
            + r#""}]"#.len();
        assert_eq!(c.json_len(), one);
        c.add(item(30));
        c.add(item(1234));
        let mut other = Cart::default();
        other.add(item(1234));
        // Two lines (the first now of quantity 2), a comma, one pair of brackets.
        assert_eq!(c.json_len(), one + 1 + other.json_len() - 2);
        assert_eq!(
            (digits(0), digits(9), digits(10), digits(999)),
            (1, 1, 2, 3)
        );
        for p in (0..1000).chain([1234, u32::MAX]) {
            assert_eq!(title_len(p), title_of(p).len());
        }
    }

    #[test]
    fn prices_in_range() {
        for p in 0..1000 {
            let c = price_of(p);
            assert!((999..=14999).contains(&c));
        }
        assert!(!title_of(7).is_empty());
    }

    /// A random line: few products and sizes, so that edits merge lines.
    fn line() -> impl proptest::strategy::Strategy<Value = Item> {
        use proptest::prelude::*;
        (0..6u32, 0..3u8, 0..3u8, 1..12u16, 0..20_000u32).prop_map(
            |(product, size, colour, qty, price_cents)| Item {
                product: product * 997,
                size,
                colour,
                qty,
                price_cents,
            },
        )
    }

    proptest::proptest! {
        /// Measuring only the lines that changed gives the whole cart's
        /// length, whatever the edit: lines added or merged, removed from
        /// anywhere, changed in place, or the cart emptied.
        #[test]
        fn json_len_after_an_edit_is_json_len(
            before in proptest::collection::vec(line(), 0..8),
            added in proptest::collection::vec(line(), 0..3),
            remove in proptest::option::of(0..8usize),
            change in proptest::option::of((0..8usize, line())),
            empty in proptest::bool::ANY,
        ) {
            let mut old = Cart::default();
            for i in before {
                old.add(i);
            }
            let mut new = old.clone();
            for i in added {
                new.add(i);
            }
            if let Some(k) = remove.filter(|&k| k < new.items.len()) {
                new.items.remove(k);
            }
            if let Some((k, i)) = change.filter(|&(k, _)| k < new.items.len()) {
                new.items[k] = i;
            }
            if empty {
                new.items.clear();
            }
            proptest::prop_assert_eq!(new.json_len_after(&old, old.json_len()), new.json_len());
        }
    }
}
