//! ToyVM: the Toy language personality built on the vmkit substrate.

pub mod engine;
pub mod interp;
pub mod jit;
pub mod lang;
pub mod runtime;
