//! What the operator's programs do, as a library: `partners` (src/main.rs) and `keys`
//! (src/bin/keys.rs), and the end-to-end suite that runs the rotations against moto.

pub mod rotation;
pub mod samconfig;
