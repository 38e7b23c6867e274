//! The names every part shares: ids of AZs, nodes and shoppers, and the kinds
//! of request a shopper makes. Defined here, below every part, so no part
//! imports another's behaviour to name a thing.

/// An index into the region's AZs (`Region::azs`).
pub type AzIx = usize;

/// A node's id: its index in the fleet's node list, never reused.
pub type NodeId = u32;

/// Index of a shopper in the world's shopper table.
pub type ShopperId = u32;

/// The request kinds a shopper makes. The last three (the account page, order
/// history and an address change) only happen when the workload asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Home,
    Product,
    AddToCart,
    ViewCart,
    Checkout,
    Account,
    Orders,
    Address,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Home,
        Kind::Product,
        Kind::AddToCart,
        Kind::ViewCart,
        Kind::Checkout,
        Kind::Account,
        Kind::Orders,
        Kind::Address,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Home => "home",
            Kind::Product => "product",
            Kind::AddToCart => "add_to_cart",
            Kind::ViewCart => "view_cart",
            Kind::Checkout => "checkout",
            Kind::Account => "account",
            Kind::Orders => "orders",
            Kind::Address => "address",
        }
    }
    /// Pages that may change the cart (adding to it, or emptying it into an
    /// order); every other page only shows it.
    pub fn changes_cart(self) -> bool {
        matches!(self, Kind::AddToCart | Kind::Checkout)
    }
    /// Pages that write to the database.
    pub fn writes(self) -> bool {
        matches!(self, Kind::Checkout | Kind::Address)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}
