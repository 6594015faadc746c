//! Prints the median and p95 time of an Argon2id hash and verify with the service's parameters
//! (m=19456 KiB, t=2, p=1), built with the release profile, so `make bench` can report the hash apart
//! from the rest of an endpoint's latency.

use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

const RUNS: usize = 20;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), argon2::password_hash::Error> {
    let params = Params::new(19_456, 2, 1, None)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"Bench-password-9";
    let (mut hashes, mut verifies) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let started = Instant::now();
        let phc = argon2.hash_password(password, &SaltString::generate(&mut OsRng))?.to_string();
        hashes.push(started.elapsed().as_secs_f64() * 1000.0);
        let parsed = PasswordHash::new(&phc)?;
        let started = Instant::now();
        argon2.verify_password(password, &parsed)?;
        verifies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for (name, mut times) in [("hash", hashes), ("verify", verifies)] {
        times.sort_by(f64::total_cmp);
        println!("argon2id {name} p50_ms={:.1} p95_ms={:.1}", percentile(&times, 0.5), percentile(&times, 0.95));
    }
    Ok(())
}
